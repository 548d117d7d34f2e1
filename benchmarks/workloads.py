"""Workloads shared by the benchmark scripts: data, a net factory and a box.

Each workload returns ``(X_train, X_test, y_train, y_test)``, builds a fresh
skorch net, and names the hyperparameter box that all searchers explore.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
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


@dataclass
class Workload:
    name: str
    data: Callable
    make_net: Callable
    bounds: dict
    grid: dict


def digits_data(seed=0):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def mlp_net(n_in, n_hidden, n_out, max_epochs, batch_size, **overrides):
    """A skorch MLP classifier trained with Adam, lr 1e-3, on all rows it is given."""
    params = dict(
        module__n_in=n_in, module__n_hidden=n_hidden, module__n_out=n_out,
        max_epochs=max_epochs, batch_size=batch_size, lr=1e-3, optimizer=torch.optim.Adam,
        train_split=None, verbose=0,
    )
    params.update(overrides)
    return NeuralNetClassifier(MLPClassifierModule, **params)


def digits_net(**overrides):
    return mlp_net(64, 128, 10, **{"max_epochs": 40, "batch_size": 64, **overrides})


DIGITS = Workload(
    name="digits",
    data=digits_data,
    make_net=digits_net,
    bounds={"optimizer__weight_decay": (1e-6, 1e-1, "log"), "module__dropout": (0.0, 0.8)},
    grid={
        "optimizer__weight_decay": list(np.geomspace(1e-6, 1e-1, 5)),
        "module__dropout": list(np.linspace(0.0, 0.8, 5)),
    },
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

WORKLOADS = {w.name: w for w in (DIGITS, BREAST_CANCER, SMALL_DIGITS)}
