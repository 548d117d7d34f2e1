"""Workloads shared by the benchmark scripts: data, a net factory and a box.

Each workload returns ``(X_train, X_test, y_train, y_test)``, builds a fresh
skorch net, and names the hyperparameter box that all searchers explore.

Workloads: ``digits``, ``breast_cancer``, ``small_digits`` (classification on
sklearn's small data sets), ``large`` (a 20,000 x 50 ``make_classification``,
15,000 training rows) and ``regression`` (``load_diabetes``, a skorch
``NeuralNetRegressor``). All share the box weight decay in (1e-6, 1e-1, log) x
dropout in (0, 0.8) and its 5x5 grid. :func:`variant` gives a workload with 1,
2 or 4 hyperparameters on one logits net, for the scaling table;
:func:`synthetic_data` draws training sets of any size from ``large``'s
generator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier, NeuralNetRegressor
from torch import nn


class MLPClassifierModule(nn.Module):
    """A one-hidden-layer MLP with dropout, returning class probabilities."""

    def __init__(self, n_in=64, n_hidden=128, n_out=10, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, X):
        return torch.softmax(self.out(self.dropout(torch.relu(self.hidden(X)))), dim=-1)


class MLPModule(nn.Module):
    """A one-hidden-layer MLP returning raw outputs (logits, or a regression value).

    Three tunable knobs, all active in training mode only: ``input_dropout``
    and ``dropout`` (dropout layers on the inputs and the hidden units) and
    ``noise``, the standard deviation of Gaussian noise added to the inputs.
    """

    def __init__(self, n_in=64, n_hidden=128, n_out=10, dropout=0.0, input_dropout=0.0,
                 noise=0.0):
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        self.hidden = nn.Linear(n_in, n_hidden)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(n_hidden, n_out)
        self.noise = float(noise)

    def forward(self, X):
        if self.training and self.noise > 0:
            X = X + self.noise * torch.randn_like(X)
        return self.out(self.dropout(torch.relu(self.hidden(self.input_dropout(X)))))


def grid_for(bounds, n_points=5):
    """``n_points`` values per key over ``bounds``: geomspace for log keys, else linspace."""
    grid = {}
    for key, (low, high, *scale) in bounds.items():
        space = np.geomspace if scale == ["log"] else np.linspace
        grid[key] = [float(v) for v in space(low, high, n_points)]
    return grid


BOX = {"optimizer__weight_decay": (1e-6, 1e-1, "log"), "module__dropout": (0.0, 0.8)}


@dataclass
class Workload:
    name: str
    data: Callable
    make_net: Callable
    bounds: dict
    grid: dict
    task: str = "classification"  # or "regression"


def digits_data(seed=0):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def mlp_net(n_in, n_hidden, n_out, max_epochs, batch_size, **overrides):
    """A skorch MLP classifier trained with Adam, lr 1e-3, on all rows it is given.

    ``module=``, ``criterion=`` and ``net_class=`` (e.g. ``NeuralNetRegressor``)
    may be overridden like any other parameter.
    """
    params = dict(
        module__n_in=n_in, module__n_hidden=n_hidden, module__n_out=n_out,
        max_epochs=max_epochs, batch_size=batch_size, lr=1e-3, optimizer=torch.optim.Adam,
        train_split=None, verbose=0,
    )
    params.update(overrides)
    module = params.pop("module", MLPClassifierModule)
    net_class = params.pop("net_class", NeuralNetClassifier)
    return net_class(module, **params)


def digits_net(**overrides):
    return mlp_net(64, 128, 10, **{"max_epochs": 40, "batch_size": 64, **overrides})


DIGITS = Workload(
    name="digits",
    data=digits_data,
    make_net=digits_net,
    bounds=BOX,
    grid=grid_for(BOX),
)

def breast_cancer_data(seed=0):
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), y_train, y_test)


def breast_cancer_net(**overrides):
    return mlp_net(30, 128, 2, **{"max_epochs": 40, "batch_size": 64, **overrides})


BREAST_CANCER = Workload(
    name="breast_cancer",
    data=breast_cancer_data,
    make_net=breast_cancer_net,
    bounds=DIGITS.bounds,
    grid=DIGITS.grid,
)


def small_digits_data(seed=0):
    """300 training rows of load_digits: a wide net overfits them."""
    X_train, X_test, y_train, y_test = digits_data(seed)
    return X_train[:300], X_test, y_train[:300], y_test


def small_digits_net(**overrides):
    return mlp_net(64, 512, 10, **{"max_epochs": 150, "batch_size": 32, **overrides})


SMALL_DIGITS = Workload(
    name="small_digits",
    data=small_digits_data,
    make_net=small_digits_net,
    bounds=DIGITS.bounds,
    grid=DIGITS.grid,
)


SYNTHETIC_POOL = 37_000  # 32,000 training rows at most (the scaling table) + 5,000 test rows
SYNTHETIC_TEST = 5_000


def synthetic_data(seed=0, n_train=15_000):
    """``n_train`` training rows and 5,000 test rows of one ``make_classification`` draw.

    The generator always draws the same 37,000 x 50 pool for a seed (20
    informative features, 4 classes, 5% flipped labels), so training sets of
    different sizes come from the same distribution; the last 5,000 rows are
    the test set. Standardised on the training rows.
    """
    if n_train > SYNTHETIC_POOL - SYNTHETIC_TEST:
        raise ValueError(f"n_train={n_train} exceeds the pool's training rows")
    X, y = make_classification(
        n_samples=SYNTHETIC_POOL, n_features=50, n_informative=20, n_redundant=10,
        n_classes=4, flip_y=0.05, random_state=seed,
    )
    X_train, y_train = X[:n_train], y[:n_train]
    X_test, y_test = X[-SYNTHETIC_TEST:], y[-SYNTHETIC_TEST:]
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), y_train, y_test)


def large_net(**overrides):
    return mlp_net(50, 128, 4, **{"max_epochs": 10, "batch_size": 256, **overrides})


LARGE = Workload(
    name="large",
    data=synthetic_data,
    make_net=large_net,
    bounds=BOX,
    grid=DIGITS.grid,
)


def diabetes_data(seed=0):
    """``load_diabetes``: features standardised, targets standardised float32 (n, 1)."""
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    mean, sd = y_train.mean(), y_train.std()
    scale_y = lambda t: ((t - mean) / sd).astype(np.float32).reshape(-1, 1)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), scale_y(y_train), scale_y(y_test))


def diabetes_net(**overrides):
    return mlp_net(10, 64, 1, **{
        "max_epochs": 100, "batch_size": 32, "module": MLPModule,
        "net_class": NeuralNetRegressor, **overrides,
    })


REGRESSION = Workload(
    name="regression",
    data=diabetes_data,
    make_net=diabetes_net,
    bounds=BOX,
    grid=DIGITS.grid,
    task="regression",
)

WORKLOADS = {w.name: w for w in (DIGITS, BREAST_CANCER, SMALL_DIGITS, LARGE, REGRESSION)}


# The trust shapes (benchmarks/trust.py): a deeper net on fewer rows, and a wide
# regression; the suite runs them on request (--workloads deep_digits wide_regression).

class DeepMLP(nn.Module):
    """Two hidden layers with dropout after each, returning class probabilities."""

    def __init__(self, n_in=64, n_hidden=512, n_out=10, dropout=0.0):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(n_hidden, n_hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(n_hidden, n_out),
        )

    def forward(self, X):
        return torch.softmax(self.layers(X), dim=-1)


def deep_digits_data(seed=0):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 16.0).astype(np.float32), y, test_size=0.25, random_state=seed, stratify=y)
    return X_train[:300], X_test, y_train[:300], y_test


def wide_regression_data(seed=0):
    X, y = make_regression(n_samples=900, n_features=20, n_informative=10, noise=30.0,
                           random_state=seed)
    y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)
    X_train, X_test, y_train, y_test = train_test_split(X.astype(np.float32), y,
                                                        train_size=400, random_state=seed)
    return X_train, X_test, y_train, y_test


DEEP_DIGITS = Workload(
    name="deep_digits", data=deep_digits_data,
    make_net=lambda **o: mlp_net(64, 512, 10, **{"module": DeepMLP, "max_epochs": 100,
                                                 "batch_size": 32, **o}),
    bounds=BOX, grid=grid_for(BOX))
WIDE_REGRESSION = Workload(
    name="wide_regression", data=wide_regression_data,
    make_net=lambda **o: mlp_net(20, 512, 1, **{
        "module": MLPModule, "net_class": NeuralNetRegressor,
        "max_epochs": 100, "batch_size": 32, **o}),
    bounds=BOX, grid=grid_for(BOX), task="regression")

TRUST_SHAPES = {w.name: w for w in (DEEP_DIGITS, WIDE_REGRESSION)}

# The two extra keys of the 4-hyperparameter variant: input dropout, then label smoothing
# (classification, CrossEntropyLoss on logits) or Gaussian input noise (regression).
INPUT_DROPOUT = ("module__input_dropout", (0.0, 0.5))
FOURTH_KEY = {
    "classification": ("criterion__label_smoothing", (0.0, 0.3)),
    "regression": ("module__noise", (0.0, 0.5)),
}


def variant_bounds(task, n_hyperparameters):
    """The box of a 1-, 2- or 4-hyperparameter variant (weight decay first)."""
    if n_hyperparameters not in (1, 2, 4):
        raise ValueError(f"n_hyperparameters must be 1, 2 or 4; got {n_hyperparameters}")
    bounds = dict(list(BOX.items())[:n_hyperparameters])
    if n_hyperparameters == 4:
        bounds.update([INPUT_DROPOUT, FOURTH_KEY[task]])
    return bounds


def _logits_net(make_net, task, **overrides):
    extra = {"module": MLPModule}
    if task == "classification":
        extra["criterion"] = nn.CrossEntropyLoss  # skorch applies softmax in predict_proba
    return make_net(**{**extra, **overrides})


def variant(workload, n_hyperparameters):
    """``workload`` with 1, 2 or 4 hyperparameters, all on the same :class:`MLPModule` net.

    1: weight decay; 2: weight decay and dropout (the usual box); 4: plus
    ``module__input_dropout`` in (0, 0.5) and ``criterion__label_smoothing`` in
    (0, 0.3) (classification, ``CrossEntropyLoss`` on logits) or
    ``module__noise`` in (0, 0.5) (regression). Keys not tuned keep the net's
    defaults (0). The grid is the 5-point grid per key.
    """
    bounds = variant_bounds(workload.task, n_hyperparameters)
    return replace(
        workload,
        name=f"{workload.name}-{n_hyperparameters}hp",
        make_net=partial(_logits_net, workload.make_net, workload.task),
        bounds=bounds,
        grid=grid_for(bounds),
    )


def with_rows(workload, n_train):
    """``large``-style workload on ``n_train`` rows of :func:`synthetic_data`'s generator."""
    return replace(workload, name=f"{workload.name}-{n_train}",
                   data=partial(synthetic_data, n_train=n_train))
