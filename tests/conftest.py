"""Shared fixtures: seeded torch, tiny data, tiny skorch nets."""

import helpers
import numpy as np
import pytest
import torch
from helpers import make_classifier

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture
def classification_data():
    return helpers.classification_data()


@pytest.fixture
def classifier():
    return make_classifier()


@pytest.fixture(scope="session")
def _fitted_cache():
    return {}


@pytest.fixture
def fitted(request, cls, _fitted_cache):
    """One search per test module and searcher class, fitted with that module's
    ``make_search`` on its ``classification_data``, shared by read-only tests."""
    key = (request.module.__name__, cls)
    if key not in _fitted_cache:
        X, y = request.module.classification_data()
        _fitted_cache[key] = (request.module.make_search(cls).fit(X, y), X, y)
    return _fitted_cache[key]
