"""Shared fixtures: seeded torch, tiny data, tiny skorch nets."""

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
    rng = np.random.RandomState(0)
    X = rng.randn(150, 8).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return X, y


@pytest.fixture
def classifier():
    return make_classifier()
