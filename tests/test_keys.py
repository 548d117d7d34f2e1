"""Every bad key of param_bounds in one error, with fixes that work where the user stands
(issue 21, section 3).

The oracle for "a fix that works" is the fix itself: the test reads the ranges and the
outer grids out of the error message, builds the search they describe and fits it.
"""

import ast
import re

import numpy as np
import pytest
import torch
from helpers import classification_data
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV, ParamBoundsError, UnsupportedHyperparameterError


class Module(nn.Module):
    """The module of skorch's GridSearchCV example: a width and a dropout."""

    def __init__(self, num_units=10, dropout=0.5):
        super().__init__()
        self.dense0 = nn.Linear(8, num_units)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(num_units, 3)

    def forward(self, X):
        return torch.softmax(self.output(self.dropout(torch.relu(self.dense0(X)))), dim=-1)


def pipeline():
    net = NeuralNetClassifier(Module, max_epochs=2, lr=0.02, optimizer=torch.optim.Adam,
                              train_split=None, verbose=0)
    return Pipeline([("scale", StandardScaler()), ("net", net)])


# the grid a GridSearchCV user brings, as skorch's documentation writes one
MIGRATED = {
    "net__lr": [0.01, 0.02],
    "net__max_epochs": [2, 3],
    "net__module__num_units": [4, 8],
    "net__module__dropout": [0, 0.5],
    "net__optimizer__weight_decay": [1e-5, 1e-3],
}
X, Y = classification_data(90)


def error_for(param_bounds):
    search = HypernetSearchCV(pipeline(), param_bounds, cv=2, random_state=0)
    with pytest.raises((TypeError, ValueError)) as excinfo:
        search.fit(X, Y)
    assert not hasattr(search, "best_params_")
    return str(excinfo.value), excinfo.type


def test_a_migrated_grid_gets_one_error_naming_every_key(no_training):
    message, kind = error_for(MIGRATED)
    assert kind is ParamBoundsError
    assert issubclass(kind, TypeError) and issubclass(kind, UnsupportedHyperparameterError)
    assert message.startswith("param_bounds has 5 problems")
    lines = message.splitlines()[1:]
    assert len(lines) == 5
    for line, key in zip(lines, MIGRATED):
        assert line.startswith(f"- '{key}'") or line.startswith(f"- param_bounds['{key}']")
        # the outer grid names the key with its step prefix and the user's own list
        assert f"{{'estimator__{key}': {MIGRATED[key]!r}}}" in line
    # one piece of advice per key: the untunable lists are never told to become ranges
    for line in lines[:3]:
        assert "Give the range" not in line
    for line in lines[3:]:
        assert "Give the range" in line


def outer_grids(message):
    return [ast.literal_eval(m) for m in re.findall(r"GridSearchCV\(search, (\{.*?\})\)", message)]


def ranges(message):
    return [ast.literal_eval(m) for m in re.findall(r"Give the range, e\.g\. (\{.*?\})", message)]


def test_the_fixes_in_the_message_build_a_search_that_fits():
    message, _ = error_for(MIGRATED)
    bounds = {k: v for r in ranges(message) for k, v in r.items()}
    assert bounds == {"net__module__dropout": (0, 0.5),
                      "net__optimizer__weight_decay": (1e-5, 1e-3, "log")}
    outer = {k: v for g in outer_grids(message)[:3] for k, v in g.items()}
    assert outer == {"estimator__net__lr": [0.01, 0.02], "estimator__net__max_epochs": [2, 3],
                     "estimator__net__module__num_units": [4, 8]}
    search = HypernetSearchCV(pipeline(), bounds, cv=2, random_state=0, verify=0)
    fitted = GridSearchCV(search, outer, cv=2).fit(X, Y)
    assert set(fitted.best_params_) == set(outer)
    inner = fitted.best_estimator_
    assert set(inner.best_params_) == set(bounds)
    assert inner.best_estimator_.named_steps["net"].lr == fitted.best_params_["estimator__net__lr"]
    assert np.isfinite(fitted.best_score_)


def test_a_misspelled_and_a_foreign_key_are_told_with_the_pipeline_prefix(no_training):
    message, kind = error_for({"net__modul__dropout": (0.0, 0.5),
                               "scale__with_mean": [True, False],
                               "net__lr": (0.01, 0.1)})
    assert kind is ParamBoundsError
    assert "Did you mean 'net__module__dropout'?" in message
    assert "GridSearchCV(search, {'estimator__scale__with_mean': [True, False]})" in message
    # a range for an untunable key has no list to show
    assert "GridSearchCV(search, {'estimator__net__lr': [...]})" in message
    assert "e.g. 'net__optimizer__weight_decay'" in message


def test_the_suggested_spelling_works():
    message, _ = error_for({"net__modul__dropout": (0.0, 0.5)})
    [suggested] = re.findall(r"Did you mean '(\w+)'\?", message)
    search = HypernetSearchCV(pipeline(), {suggested: (0.0, 0.5)}, cv=2, random_state=0,
                              verify=0, refit=False).fit(X, Y)
    assert set(search.best_params_) == {"net__module__dropout"}


def test_one_problem_keeps_its_own_error_type(no_training):
    message, kind = error_for({"net__module__num_units": (4, 8)})
    assert kind is UnsupportedHyperparameterError
    assert "GridSearchCV(search, {'estimator__net__module__num_units': [...]})" in message


def test_checking_the_keys_draws_nothing_from_the_caller_s_rng():
    """The check builds modules (module__ keys are located by building them twice);
    the seeds the search and the refit draw afterwards must not move."""
    from skhyper._keys import check_keys

    before = torch.get_rng_state()
    check_keys(pipeline(), {"net__module__dropout": (0.1, 0.5)})
    assert torch.equal(before, torch.get_rng_state())


class Activation(nn.Module):
    """A module whose constructor takes a string: tunable only by trying each value."""

    def __init__(self, act="relu", dropout=0.1):
        super().__init__()
        self.lin, self.act, self.drop = nn.Linear(8, 3), act, nn.Dropout(dropout)

    def forward(self, X):
        h = self.lin(self.drop(X))
        return torch.softmax(torch.relu(h) if self.act == "relu" else torch.tanh(h), dim=-1)


def test_lists_of_strings_classes_and_numpy_numbers_get_pasteable_fixes(no_training):
    net = NeuralNetClassifier(Activation, max_epochs=2, train_split=None, verbose=0)
    search = HypernetSearchCV(net, {"module__act": ["relu", "tanh"],
                                    "optimizer": [torch.optim.SGD, torch.optim.Adam],
                                    "module__dropout": np.array([0.1, 0.3])}, cv=2)
    with pytest.raises(ParamBoundsError) as excinfo:
        search.fit(X, Y)
    act, optimizer, dropout = str(excinfo.value).splitlines()[1:]
    assert "not one. Try them with a GridSearchCV" in act and "Give the range" not in act
    assert "{'estimator__optimizer': [torch.optim.sgd.SGD, torch.optim.adam.Adam]}" in optimizer
    assert "e.g. {'module__dropout': (0.1, 0.3)}" in dropout
    grid = ast.literal_eval(re.search(r"GridSearchCV\(search, (\{.*?\})\)", dropout).group(1))
    assert grid == {"estimator__module__dropout": [0.1, 0.3]}
