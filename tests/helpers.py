"""Tiny skorch nets and data shared by the tests (real torch, no mocks)."""

import numpy as np
import torch
from skorch import NeuralNetClassifier, NeuralNetRegressor
from torch import nn

torch.set_num_threads(1)


class TinyClassifier(nn.Module):
    """A small MLP with a dropout child, returning probabilities."""

    def __init__(self, n_in=8, n_hidden=16, n_out=3, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, X):
        return torch.softmax(self.out(self.dropout(torch.relu(self.hidden(X)))), dim=-1)


class WidthDropout(nn.Module):
    """The module of skorch's GridSearchCV example: a width and a dropout."""

    def __init__(self, num_units=10, dropout=0.5):
        super().__init__()
        self.dense0 = nn.Linear(8, num_units)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(num_units, 3)

    def forward(self, X):
        return torch.softmax(self.output(self.dropout(torch.relu(self.dense0(X)))), dim=-1)


def width_dropout_pipeline(max_epochs=2):
    """A migrating user's Pipeline: a scaler, then ``WidthDropout`` as step ``net``."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    net = NeuralNetClassifier(WidthDropout, max_epochs=max_epochs, lr=0.02,
                              optimizer=torch.optim.Adam, train_split=None, verbose=0)
    return Pipeline([("scale", StandardScaler()), ("net", net)])


def make_classifier(module=TinyClassifier, **overrides):
    params = dict(
        module__n_in=8, module__n_out=3, max_epochs=4, batch_size=32, lr=1e-2,
        optimizer=torch.optim.Adam, train_split=None, verbose=0,
    )
    params.update(overrides)
    return NeuralNetClassifier(module, **params)


def make_linear_regressor(n_features, **overrides):
    params = dict(
        module__in_features=n_features, module__out_features=1, max_epochs=5,
        batch_size=-1, lr=0.05, optimizer=torch.optim.Adam, train_split=None, verbose=0,
    )
    params.update(overrides)
    return NeuralNetRegressor(nn.Linear, **params)


def classification_data(n=150):
    """Tiny 3-class data: two informative directions and a threshold."""
    rng = np.random.RandomState(0)
    X = rng.randn(n, 8).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return X, y


def regression_data(n=150, p=5):
    """Tiny linear regression data with noise; y of shape (n, 1)."""
    rng = np.random.RandomState(1)
    X = rng.randn(n, p).astype(np.float32)
    y = (X @ rng.randn(p, 1) + 0.3 * rng.randn(n, 1)).astype(np.float32)
    return X, y
