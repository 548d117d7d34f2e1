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
from helpers import classification_data, width_dropout_pipeline
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV, ParamBoundsError, UnsupportedHyperparameterError
from skhyper._keys import check_keys

pipeline = width_dropout_pipeline


# the grid a GridSearchCV user brings, as skorch's documentation writes one
MIGRATED = {
    "net__lr": [0.01, 0.02],
    "net__max_epochs": [2, 3],
    "net__module__num_units": [4, 8],
    "net__module__dropout": [0, 0.5],
    "net__optimizer__weight_decay": [1e-5, 1e-3],
}
# the same user's first try at ranges: three keys no range can tune, a misspelled
# key, a range on another step, and a list value the module does not take
BAD = {
    "net__lr": (0.01, 0.02),
    "net__max_epochs": (2, 3),
    "net__module__num_units": (4, 8),
    "net__modul__dropout": (0.0, 0.5),
    "scale__with_mean": (True, False),
    "net__module__dropout": ["none", 0.5],
}
X, Y = classification_data(90)


def error_for(param_bounds):
    search = HypernetSearchCV(pipeline(), param_bounds, cv=2, random_state=0)
    with pytest.raises((TypeError, ValueError)) as excinfo:
        search.fit(X, Y)
    assert not hasattr(search, "best_params_")
    return str(excinfo.value), excinfo.type


def test_the_migrated_grid_needs_no_change(no_training, capsys):
    """Lists are grid axes: the grid a GridSearchCV user brings is a plain grid search
    (no hyper-training, which no_training refuses), and says once per list on a
    tunable key that a range would tune it by gradient."""
    search = HypernetSearchCV(pipeline(), MIGRATED, cv=2).fit(X, Y)
    assert len(search.cv_results_["params"]) == 32
    out = capsys.readouterr().out.splitlines()
    assert [line.split("]")[0] for line in out] == [
        "param_bounds['net__module__dropout'", "param_bounds['net__optimizer__weight_decay'"]
    assert "a range {'net__optimizer__weight_decay': (1e-05, 0.001, 'log')}" in out[1]


def test_bad_keys_get_one_error_naming_every_key(no_training):
    message, kind = error_for(BAD)
    assert kind is ParamBoundsError
    assert issubclass(kind, TypeError) and issubclass(kind, UnsupportedHyperparameterError)
    assert message.startswith(f"param_bounds has {len(BAD)} problems")
    lines = message.splitlines()[1:]
    assert len(lines) == len(BAD)
    for line, key in zip(lines, BAD):
        assert f"'{key}'" in line.split(":")[0]
    # no fix nests the search: keys like lr need none now
    assert "estimator__" not in message and "GridSearchCV(search" not in message


def axes(message):
    """The grid axes the message offers as fixes, ``{'KEY': [...]}``, as dicts."""
    return [ast.literal_eval(m) for m in re.findall(r"(\{'[\w_]+': \[[^\]]*\]\})", message)]


def test_the_fixes_in_the_message_build_a_search_that_fits():
    message, _ = error_for({key: BAD[key] for key in list(BAD)[:3]} | {
        "scale__with_mean": (True, False), "net__module__dropout": (0.0, 0.5)})
    fixed = {k: v for axis in axes(message) for k, v in axis.items()}
    assert fixed == {"net__lr": [0.01, 0.02], "net__max_epochs": [2, 3],
                     "net__module__num_units": [4, 8], "scale__with_mean": [True, False]}
    search = HypernetSearchCV(pipeline(), {**fixed, "net__module__dropout": (0.0, 0.5)},
                              cv=2, random_state=0, verify=1).fit(X, Y)
    assert len(search.cv_results_["params"]) == 16
    assert set(search.best_params_) == set(fixed) | {"net__module__dropout"}
    net = search.best_estimator_.named_steps["net"]
    assert net.lr == search.best_params_["net__lr"]
    assert np.isfinite(search.best_score_)


def test_a_misspelled_and_a_foreign_key_are_told_with_the_pipeline_prefix(no_training):
    message, kind = error_for({"net__modul__dropout": (0.0, 0.5),
                               "scale__with_mean": (True, False),
                               "net__lr": (0.01, 0.1)})
    assert kind is ParamBoundsError
    assert "Did you mean 'net__module__dropout'?" in message
    assert "a list in param_bounds: {'scale__with_mean': [True, False]}" in message
    assert "{'net__lr': [0.01, 0.1]}" in message
    assert "e.g. 'net__optimizer__weight_decay'" in message


def test_a_net_key_without_the_step_prefix_is_told_where_it_goes(no_training):
    """In a Pipeline, a net key written as for a bare net (a range or a list) gets
    the prefixed key as the fix, and that fix fits; a key naming neither a step nor
    a parameter of the net says so; a parameter of the Pipeline itself is a grid axis."""
    message, kind = error_for({"optimizer__weight_decay": (1e-5, 1e-1, "log"),
                               "lr": [0.01, 0.02], "foo__bar": (0, 1)})
    assert kind is ParamBoundsError
    lines = message.splitlines()[1:]
    assert lines[0] == ("- param_bounds key 'optimizer__weight_decay' names no step of the "
                        "Pipeline (its steps: 'scale', 'net'); it is a parameter of the net, "
                        "whose keys carry its step name in a Pipeline: use "
                        "'net__optimizer__weight_decay'.")
    assert lines[1].endswith("use 'net__lr'.")
    assert "'foo__bar' names no step of the Pipeline (its steps: 'scale', 'net') and no " \
           "parameter of its net 'net'" in lines[2]
    fixed = {re.search(r"use '(\w+)'", line)[1]: value for line, value in
             zip(lines, [(1e-5, 1e-1, "log"), [0.01, 0.02]])}
    search = HypernetSearchCV(pipeline(), fixed, cv=2, random_state=0, verify=0,
                              refit=False)
    assert set(search.param_bounds) == {"net__optimizer__weight_decay", "net__lr"}
    check_keys(pipeline(), fixed)  # the fixes pass the check
    check_keys(pipeline(), {"memory": [None], "net__module__dropout": (0.0, 0.5)})


def test_the_suggested_spelling_works():
    message, _ = error_for({"net__modul__dropout": (0.0, 0.5)})
    [suggested] = re.findall(r"Did you mean '(\w+)'\?", message)
    search = HypernetSearchCV(pipeline(), {suggested: (0.0, 0.5)}, cv=2, random_state=0,
                              verify=0, refit=False).fit(X, Y)
    assert set(search.best_params_) == {"net__module__dropout"}


def test_one_problem_keeps_its_own_error_type(no_training):
    message, kind = error_for({"net__module__num_units": (4, 8)})
    assert kind is UnsupportedHyperparameterError
    assert "{'net__module__num_units': [4, 8]}" in message


def test_a_list_value_the_net_does_not_take_is_refused_before_training(no_training):
    message, kind = error_for({"net__module__width": [4, 8], "net__lr": [0.01, 0.1]})
    assert kind is TypeError
    assert message.startswith("param_bounds['net__module__width'] = [4, 8]: the estimator "
                              "does not take net__module__width=4")
    message, kind = error_for({"net__module__dropout": [], "scale__nonsense": [1]})
    assert kind is ParamBoundsError
    assert "param_bounds['net__module__dropout'] is an empty list" in message
    assert "scale__nonsense=1" in message


def test_checking_the_keys_draws_nothing_from_the_caller_s_rng():
    """The check builds modules (module__ keys are located by building them twice);
    the seeds the search and the refit draw afterwards must not move."""
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


def test_lists_of_strings_classes_and_numpy_numbers_are_grid_axes(no_training, capsys):
    net = NeuralNetClassifier(Activation, max_epochs=2, train_split=None, verbose=0)
    search = HypernetSearchCV(net, {"module__act": ["relu", "tanh"],
                                    "optimizer": [torch.optim.SGD, torch.optim.Adam],
                                    "module__dropout": np.array([0.1, 0.3])}, cv=2)
    search.fit(X, Y)  # no range: a plain grid, no hyper-training
    assert len(search.cv_results_["params"]) == 8
    assert search.best_params_["optimizer"] in (torch.optim.SGD, torch.optim.Adam)
    [note] = capsys.readouterr().out.splitlines()
    assert note.startswith("param_bounds['module__dropout'] = [0.1, 0.3] is searched as a grid")
