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
