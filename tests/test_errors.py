"""Bad inputs get a clear error naming the parameter or value, and leave no fitted state.

Every failing fit is run twice: on a fresh ``HypernetSearchCV`` and on one
whose previous fit succeeded (then reconfigured with ``set_params``); after
the failure neither may carry any fitted attribute.
"""

import math

import numpy as np
import pytest
import torch
from helpers import classification_data, make_classifier, make_linear_regressor, regression_data
from scipy.stats import norm
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetClassifier
from torch import nn

from skhyper import (
    HypernetSearchCV,
    SkhyperWarning,
    TrainingDivergedError,
    UnsupportedHyperparameterError,
)

WD = "optimizer__weight_decay"
GOOD = {WD: (1e-4, 1e-2, "log")}

FITTED_ATTRS = (
    "cv_results_", "hypernet_results_", "trajectory_", "best_index_", "best_params_",
    "best_score_", "best_estimator_", "refit_time_", "scorer_", "n_splits_",
    "multimetric_", "feature_names_in_", "hypernets_", "search_time_", "classes_",
    "n_features_in_",
)


# -- tiny modules -------------------------------------------------------------------
class UnusedScale(nn.Module):
    """Stores a float ``scale`` that forward never reads."""

    def __init__(self, n_in=8, n_out=3, scale=0.5):
        super().__init__()
        self.scale = scale
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, X):
        return torch.softmax(self.lin(X), dim=-1)


class StoredWidth(nn.Module):
    """Stores its integer width as ``self.n_hidden``."""

    def __init__(self, n_in=8, n_hidden=16, n_out=3):
        super().__init__()
        self.n_hidden = n_hidden
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, X):
        return torch.softmax(self.out(torch.relu(self.hidden(X))), dim=-1)


def tiny_net(module, **overrides):
    params = dict(max_epochs=2, batch_size=32, lr=1e-2, optimizer=torch.optim.Adam,
                  train_split=None, verbose=0)
    params.update(overrides)
    return NeuralNetClassifier(module, **params)


# -- data -----------------------------------------------------------------------
X_CLF, Y_CLF = classification_data()


# -- the two starting states (fixtures fitted_once and build: conftest.py) ---------
def assert_unfitted(search, X=X_CLF):
    leftovers = sorted(k for k in vars(search) if k.endswith("_") and not k.startswith("_"))
    assert leftovers == [], f"fitted attributes left after a failed fit: {leftovers}"
    for name in FITTED_ATTRS:
        assert not hasattr(search, name), name
    with pytest.raises(NotFittedError):
        check_is_fitted(search)
    if hasattr(search, "predict"):
        with pytest.raises(NotFittedError):
            search.predict(X)
    if isinstance(search.estimator, NeuralNet):  # fit never initializes the user's net
        assert not search.estimator.initialized_


def fails(search, exc, match, X=X_CLF, y=Y_CLF):
    with pytest.raises(exc, match=match) as excinfo:
        search.fit(X, y)
    assert_unfitted(search, X if len(X) else X_CLF)
    return excinfo


# -- param_bounds ---------------------------------------------------------------
BAD_BOUNDS = {
    "low-above-high": (
        {WD: (1e-2, 1e-4)}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] = \(0\.01, 0\.0001\): low must be "
        r"smaller than high",
    ),
    "low-equals-high": (
        {WD: (1e-3, 1e-3, "log")}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] = \(0\.001, 0\.001\): low must be smaller",
    ),
    "log-zero-low": (
        {WD: (0.0, 1e-2, "log")}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] = \(0\.0, 0\.01, 'log'\): a log scale "
        r"needs low > 0",
    ),
    "log-negative-low": (
        {WD: (-1.0, 1e-2, "log")}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] = \(-1\.0, 0\.01, 'log'\): a log scale "
        r"needs low > 0",
    ),
    "nan-low": (
        {WD: (math.nan, 1e-2)}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\]: low=nan is not finite",
    ),
    "inf-high": (
        {WD: (1e-4, math.inf, "log")}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\]: high=inf is not finite",
    ),
    "string-bound": (
        {WD: ("small", 1e-2)}, TypeError,
        r"param_bounds\['optimizer__weight_decay'\]: low must be a number; got 'small'",
    ),
    "empty-list": (
        {WD: []}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] is an empty list: a grid axis needs at "
        r"least one value",
    ),
    "4-tuple": (
        {WD: (1e-4, 1e-2, "log", 10)}, TypeError,
        r"param_bounds\['optimizer__weight_decay'\] must be \(low, high\), \(low, high, "
        r"'log'\).*got \(0\.0001, 0\.01, 'log', 10\)",
    ),
    "1-tuple": (
        {WD: (1e-4,)}, TypeError,
        r"param_bounds\['optimizer__weight_decay'\] must be \(low, high\)",
    ),
    "unknown-scale": (
        {WD: (1e-4, 1e-2, "logarithmic")}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] has scale 'logarithmic'; use 'linear' "
        r"or 'log'",
    ),
    "scipy-norm": (
        {WD: norm(1e-3, 1e-4)}, ValueError,
        r"param_bounds\['optimizer__weight_decay'\] is a scipy\.stats norm distribution; "
        r"only uniform and loguniform",
    ),
    "empty-dict": ({}, ValueError, r"param_bounds is empty"),
    "not-a-dict": (
        (WD, (1e-4, 1e-2)), InvalidParameterError,
        r"The 'param_bounds' parameter of HypernetSearchCV must be an instance of 'dict' "
        r"or an instance of 'list'",
    ),
    "list-of-pairs": (
        [(WD, (1e-4, 1e-2))], TypeError,
        r"param_bounds as a list must hold dicts, one grid each, as GridSearchCV's "
        r"param_grid does.*entries \[0\] are not non-empty dicts",
    ),
    "empty-list-of-grids": ([], TypeError, r"param_bounds is an empty list: give at least one"),
    "non-str-key": ({1: (0.0, 1.0)}, TypeError, r"param_bounds keys must be parameter names"),
}


@pytest.mark.parametrize("bounds, exc, match", BAD_BOUNDS.values(), ids=BAD_BOUNDS.keys())
def test_bad_bounds(build, bounds, exc, match):
    fails(build(bounds=bounds), exc, match)


# -- the estimator and its keys ----------------------------------------------------
def test_estimator_not_a_skorch_net(build):
    fails(build(LogisticRegression(), {"C": (0.1, 10.0, "log")}), TypeError,
          r"needs a skorch net .*got LogisticRegression")


@pytest.mark.parametrize(
    "key, suggestion",
    [
        ("optimizer__weight_decy", "optimizer__weight_decay"),
        ("optimzer__weight_decay", "optimizer__weight_decay"),
        ("module__dropuot", "module__dropout"),
    ],
)
def test_misspelled_key_suggests_the_right_one(build, key, suggestion):
    fails(build(bounds={key: (1e-4, 1e-2)}), UnsupportedHyperparameterError,
          rf"'{key}'.*Did you mean '{suggestion}'\?")


UNSUPPORTED = {
    "lr": ({"lr": (1e-4, 1e-1, "log")}, r"'lr' cannot be tuned by gradient: it "
           r"shapes the optimizer.*grid axis.*\{'lr': \[0\.0001, 0\.1\]\}"),
    "max_epochs": ({"max_epochs": (2.0, 10.0)}, r"'max_epochs' cannot be tuned by "
                   r"gradient: it sets the training budget.*\{'max_epochs': \[2\.0, 10\.0\]\}"),
    "batch_size": ({"batch_size": (8.0, 64.0)}, r"'batch_size' cannot be tuned by "
                   r"gradient: it is discrete.*grid axis"),
    "optimizer__momentum": (
        {"optimizer__momentum": (0.0, 0.9)},
        r"'optimizer__momentum' cannot be tuned by gradient: it shapes the "
        r"optimizer.*\{'optimizer__momentum': \[0\.0, 0\.9\]\}",
    ),
}


@pytest.mark.parametrize("bounds, match", UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_key(build, bounds, match):
    net = make_classifier(max_epochs=2, optimizer=torch.optim.SGD, optimizer__momentum=0.5)
    fails(build(net, bounds), UnsupportedHyperparameterError, match)


def test_integer_module_param_not_stored(build):
    fails(build(bounds={"module__n_hidden": (4.0, 32.0)}), UnsupportedHyperparameterError,
          r"'module__n_hidden'.*integer.*shape.*GridSearchCV")


def test_integer_module_attribute(build):
    fails(build(tiny_net(StoredWidth), {"module__n_hidden": (4.0, 32.0)}),
          UnsupportedHyperparameterError,
          r"'module__n_hidden' is an integer \(16\).*shape.*GridSearchCV")


def test_module_attribute_that_does_not_exist(build):
    fails(build(bounds={"module__temperature": (0.1, 2.0)}), UnsupportedHyperparameterError,
          r"'module__temperature': TinyClassifier.__init__ takes no argument 'temperature', "
          r"so the refit's set_params\(module__temperature=...\) would fail.*Add the "
          r"argument to TinyClassifier.__init__")


def test_module_float_never_read_in_forward(build):
    fails(build(tiny_net(UnusedScale), {"module__scale": (0.1, 1.0)}),
          UnsupportedHyperparameterError,
          r"'module__scale': changing module_\.scale from 0\.1 to 1\.0 does not change the "
          r"module's training output")


def test_criterion_without_the_attribute(build):
    fails(build(bounds={"criterion__label_smoothing": (0.0, 0.2)}),
          UnsupportedHyperparameterError,
          r"'criterion__label_smoothing': NLLLoss.__init__ takes no argument "
          r"'label_smoothing'.*criterion=torch.nn.CrossEntropyLoss")


def test_pipeline_key_pointing_at_the_scaler(build):
    pipe = make_pipeline(StandardScaler(), make_classifier(max_epochs=2))
    fails(build(pipe, {"standardscaler__with_std": (0.0, 1.0)}), ValueError,
          r"param_bounds key 'standardscaler__with_std' does not point at the Pipeline's "
          r"net step 'neuralnetclassifier'")


# -- data -------------------------------------------------------------------------
def test_y_none(build):
    fails(build(), ValueError, r"HypernetSearchCV needs targets y", y=None)


def test_empty_X(build):
    fails(build(), ValueError, r"Found an empty X \(0 samples\)", X=X_CLF[:0], y=Y_CLF[:0])


def test_X_y_different_lengths(build):
    fails(build(), ValueError, r"inconsistent numbers of samples: \[150, 100\]",
          y=Y_CLF[:100])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_non_finite_X(build, bad):
    X = X_CLF.copy()
    X[5, 2] = bad
    fails(build(), ValueError, r"Input X contains NaN or infinity \(1 values\)", X=X)


def test_non_finite_X_through_a_pipeline(build):
    X = X_CLF.copy()
    X[5, 2] = np.nan
    pipe = make_pipeline(StandardScaler(), make_classifier(max_epochs=2))
    fails(build(pipe, {f"neuralnetclassifier__{WD}": (1e-4, 1e-2, "log")}), ValueError,
          r"X.*contains NaN or infinity", X=X)


def test_nan_X_through_an_imputing_pipeline_is_fine():
    X = X_CLF.copy()
    X[5, 2] = np.nan
    pipe = make_pipeline(SimpleImputer(), StandardScaler(), make_classifier(max_epochs=2))
    search = HypernetSearchCV(pipe, {f"neuralnetclassifier__{WD}": (1e-4, 1e-2, "log")},
                              cv=3, random_state=0).fit(X, Y_CLF)
    assert np.isfinite(search.best_score_)


def test_non_finite_y(build):
    X, y = regression_data()
    y[3] = np.nan
    fails(build(make_linear_regressor(X.shape[1], max_epochs=2)), ValueError,
          r"y contains NaN", X=X, y=y)


# -- training that diverges ----------------------------------------------------------
def test_diverging_classifier(build):
    net = make_classifier(max_epochs=2, lr=1e6, optimizer=torch.optim.SGD)
    fails(build(net), TrainingDivergedError, r"diverged.*\(lr\)")


def test_diverging_regressor(build):
    X, y = regression_data()
    net = make_linear_regressor(X.shape[1], max_epochs=4, lr=1e6, optimizer=torch.optim.SGD)
    fails(build(net), TrainingDivergedError, r"diverged.*\blr\b", X=X, y=y)


@pytest.mark.filterwarnings("ignore::UserWarning")  # sklearn's "Scoring failed" meanwhile
def test_divergence_in_the_last_step_raises(build):
    X, y = regression_data()
    net = make_linear_regressor(X.shape[1], max_epochs=2, lr=1e6, optimizer=torch.optim.SGD)
    fails(build(net, random_state=0), TrainingDivergedError, r"diverged.*\blr\b", X=X, y=y)


# -- warnings and constructor parameters -------------------------------------------
def test_adamw_weight_decay_warns():
    search = HypernetSearchCV(make_classifier(max_epochs=2, optimizer=torch.optim.AdamW),
                              GOOD, cv=3, random_state=0)
    with pytest.warns(SkhyperWarning, match=r"optimizer__weight_decay: AdamW's decoupled"):
        search.fit(X_CLF, Y_CLF)
    assert set(search.best_params_) == {WD}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"hyper_lr": -1}, r"The 'hyper_lr' parameter of HypernetSearchCV must be a float "
                           r"in the range \(0(\.0)?, inf\)\. Got -1"),
        ({"hyper_lr": 0.0}, r"'hyper_lr' parameter"),
        ({"hypernet": "bogus"}, r"The 'hypernet' parameter .* Got 'bogus'"),
        ({"warmup_fraction": 1.0}, r"'warmup_fraction' parameter"),
        ({"warmup_sampling": "everywhere"}, r"'warmup_sampling' parameter"),
        ({"hyper_steps_per_epoch": 0}, r"'hyper_steps_per_epoch' parameter"),
        ({"perturb_scale": -0.1}, r"'perturb_scale' parameter"),
        ({"n_candidates": 0}, r"'n_candidates' parameter"),
        ({"verify": -1}, r"'verify' parameter"),
        ({"random_state": "seed"}, r"'random_state' parameter"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_constructor_param_constraints(build, params, match):
    fails(build(**params), InvalidParameterError, match)
