"""Shared fixtures: seeded torch, tiny data, tiny skorch nets."""

import copy
import sys

import helpers
import numpy as np
import pytest
import torch
from helpers import make_classifier

from skhyper import HypernetSearchCV

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(autouse=True, scope="module")
def _close_figures():
    """Close the figures a test module drew (pyplot keeps every one open otherwise;
    module-scoped fixtures may hold a figure across its tests)."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


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


# -- the two starting states of the error tests ---------------------------------
ERROR_TEST_BOUNDS = {"optimizer__weight_decay": (1e-4, 1e-2, "log")}


@pytest.fixture(scope="module")
def fitted_once():
    """A search fitted once on the tiny data, for errors raised after a success."""
    search = HypernetSearchCV(make_classifier(max_epochs=2), ERROR_TEST_BOUNDS, cv=3,
                              random_state=0)
    return search.fit(*helpers.classification_data())


@pytest.fixture(params=["fresh", "after-success"])
def build(request, fitted_once):
    """``build(estimator, bounds, **params)``: a search, fresh or previously fitted."""

    def _build(estimator=None, bounds=ERROR_TEST_BOUNDS, **params):
        estimator = make_classifier(max_epochs=2) if estimator is None else estimator
        params.setdefault("cv", 3)
        if request.param == "fresh":
            return HypernetSearchCV(estimator, bounds, **params)
        search = copy.deepcopy(fitted_once)
        assert hasattr(search, "best_params_") and hasattr(search, "cv_results_")
        return search.set_params(estimator=estimator, param_bounds=bounds, **params)

    return _build


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if hyper-training starts (a refusal must come before it)."""
    from skhyper._train import HyperTrainer

    def run(self, *args, **kwargs):
        raise AssertionError("hyper-training started: the error came too late")

    monkeypatch.setattr(HyperTrainer, "run", run)
