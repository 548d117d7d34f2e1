"""More bad inputs (issue 11, section 4): each raises before training, naming the
parameter, its value and the fix, and leaves no fitted attribute.

As in ``test_errors.py``, a failing fit runs on a fresh search and on one whose
previous fit succeeded; ``HyperTrainer.run`` is replaced by a function that fails
the test, so an error raised during training instead of before it shows up.
"""

import signal
import warnings

import numpy as np
import pytest
import scipy.sparse
import torch
from helpers import TinyClassifier, classification_data, make_classifier
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet, NeuralNetClassifier
from skorch.callbacks import Callback
from torch import nn

from skhyper import HypernetSearchCV, PerUnit, SkhyperWarning

WD = "optimizer__weight_decay"
GOOD = {WD: (1e-4, 1e-2, "log")}
X_CLF, Y_CLF = classification_data()


class Logits(nn.Module):
    """Returns logits (no softmax)."""

    def __init__(self, n_in=8, n_out=3):
        super().__init__()
        self.lin = nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.lin(X)


def assert_unfitted(search, X=X_CLF):
    leftovers = sorted(k for k in vars(search) if k.endswith("_") and not k.startswith("_"))
    assert leftovers == [], f"fitted attributes left after a failed fit: {leftovers}"
    if not hasattr(search.estimator, "fit"):
        return  # a bare torch module: sklearn's tags (check_is_fitted, predict) refuse it
    with pytest.raises(NotFittedError):
        check_is_fitted(search)
    if hasattr(search, "predict"):  # no predict without refit
        with pytest.raises(NotFittedError):
            search.predict(X)
    if isinstance(search.estimator, NeuralNet):  # fit never initializes the user's net
        assert not search.estimator.initialized_


def fails(search, exc, match, X=X_CLF, y=Y_CLF):
    with pytest.raises(exc, match=match) as excinfo:
        search.fit(X, y)
    assert_unfitted(search, X)
    return excinfo


# -- warm-up and epochs ---------------------------------------------------------------
def test_warmup_covering_every_epoch(build, no_training):
    search = build(make_classifier(max_epochs=10), warmup_fraction=0.96)
    fails(search, ValueError,
          r"warmup_fraction=0\.96 with the net's max_epochs=10 .*no hyperparameter step.*"
          r"Lower warmup_fraction \(fewer warm-up epochs\) or raise max_epochs")


def test_zero_epochs(build, no_training):
    fails(build(make_classifier(max_epochs=0)), ValueError,
          r"max_epochs=0: .*positive integer.*set_params\(max_epochs=20\)")


def test_warmup_leaving_one_epoch_is_fine():
    search = HypernetSearchCV(make_classifier(max_epochs=2), GOOD, cv=2, warmup_fraction=0.3,
                              random_state=0).fit(X_CLF, Y_CLF)
    assert (search.trajectory_["phase"] == "local").any()


# -- bounds outside a target's domain -----------------------------------------------
OUT_OF_DOMAIN = {
    "dropout": ({"module__dropout": (0.0, 1.5)}, {},
                r"param_bounds\['module__dropout'\] = \(0\.0, 1\.5\): skorch builds "
                r"TinyClassifier with dropout as a constructor argument, and "
                r"TinyClassifier\(dropout=1\.5\) failed.*between 0 and 1.*Give bounds"),
    "label-smoothing": ({"criterion__label_smoothing": (0.0, 2.0)},
                        {"criterion": nn.CrossEntropyLoss},
                        r"param_bounds\['criterion__label_smoothing'\] = \(0\.0, 2\.0\) leaves "
                        r"the valid domain \[0, 1\] of criterion__label_smoothing\. Give bounds "
                        r"inside it"),
    "negative-decay": ({WD: (-0.1, 0.1)}, {},
                       r"param_bounds\['optimizer__weight_decay'\] = \(-0\.1, 0\.1\) leaves the "
                       r"valid domain >= 0 of optimizer__weight_decay\. Give bounds with "
                       r"low >= 0"),
    "negative-vector-decay": ({WD: PerUnit((-0.1, 0.1), params="out.weight")}, {},
                              r"param_bounds\['optimizer__weight_decay'\] = \(-0\.1, 0\.1\) "
                              r"leaves the valid domain >= 0.*low >= 0"),
}


@pytest.mark.parametrize("case", list(OUT_OF_DOMAIN))
def test_bounds_outside_the_targets_domain(build, no_training, case):
    bounds, net_params, match = OUT_OF_DOMAIN[case]
    fails(build(make_classifier(**net_params), bounds), ValueError, match)


def test_dropout_bounds_inside_the_domain_are_fine():
    search = HypernetSearchCV(make_classifier(max_epochs=2), {"module__dropout": (0.0, 0.8)},
                              cv=2, random_state=0).fit(X_CLF, Y_CLF)
    assert 0.0 <= search.best_params_["module__dropout"] <= 0.8


# -- batch size and epochs of the net --------------------------------------------------
@pytest.mark.parametrize("params, match", [
    ({"batch_size": 0}, r"The net's batch_size=0: it must be a positive integer, or -1"),
    ({"batch_size": -5}, r"The net's batch_size=-5: it must be a positive integer, or -1"),
    ({"iterator_train__batch_size": 0},
     r"The net's iterator_train__batch_size=0: it must be a positive integer"),
    ({"max_epochs": 2.5}, r"The net's max_epochs=2\.5: .*positive integer.*max_epochs=20"),
], ids=["batch-0", "batch-negative", "iterator-batch-0", "epochs-float"])
def test_bad_net_batch_size_or_epochs(build, no_training, params, match):
    fails(build(make_classifier(**params)), ValueError, match)


# -- cv ----------------------------------------------------------------------------------
def test_cv_split_with_an_empty_test_fold(build, no_training):
    rows = np.arange(len(X_CLF))
    cv = [(rows[:100], rows[100:]), (rows, rows[:0])]
    fails(build(cv=cv), ValueError,
          r"cv split 1 has an empty test fold \(150 training, 0 test rows\).*Check the cv "
          r"argument")


# -- data ----------------------------------------------------------------------------
def test_float64_X(build, no_training):
    fails(build(), TypeError,
          r"X has dtype float64 but the module's parameters are float32.*Cast X first, "
          r"e\.g\. X\.astype\(np\.float32\)", X=X_CLF.astype(np.float64))


def test_raw_load_digits(build, no_training):
    X, y = load_digits(return_X_y=True)
    assert X.dtype == np.float64
    net = make_classifier(module__n_in=64, module__n_out=10)
    fails(build(net), TypeError, r"X has dtype float64.*X\.astype\(np\.float32\)", X=X, y=y)


def test_a_pipeline_step_that_outputs_float64_gets_a_casting_step(build, no_training):
    """The user's X is float32, but a step outputs float64 (as OneHotEncoder does):
    casting X cannot help, so the fix is a last step that casts, and that step fits."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    widen = ("widen", FunctionTransformer(np.asarray, kw_args={"dtype": np.float64}))
    pipe = Pipeline([widen, ("net", make_classifier())])
    bounds = {"net__optimizer__weight_decay": (1e-4, 1e-2, "log")}
    fails(build(pipe, bounds), TypeError,
          r"X reaches the net as float64 after the Pipeline's steps, but the module's "
          r"parameters are float32.*end the steps with a cast: \('to_float32', "
          r"sklearn\.preprocessing\.FunctionTransformer\(np\.asarray, "
          r"kw_args=\{'dtype': np\.float32\}\)\)")


def test_the_casting_step_fits():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    widen = ("widen", FunctionTransformer(np.asarray, kw_args={"dtype": np.float64}))
    cast = ("to_float32", FunctionTransformer(np.asarray, kw_args={"dtype": np.float32}))
    pipe = Pipeline([widen, cast, ("net", make_classifier(max_epochs=2))])
    search = HypernetSearchCV(pipe, {"net__optimizer__weight_decay": (1e-4, 1e-2, "log")},
                              cv=2, random_state=0).fit(X_CLF, Y_CLF)
    assert np.isfinite(search.best_score_)


def test_sparse_X(build, no_training):
    excinfo = fails(build(), TypeError,
                    r"X is a scipy sparse matrix .*HypernetSearchCV needs dense arrays\. "
                    r"Convert it first with X\.toarray\(\)",
                    X=scipy.sparse.csr_matrix(X_CLF))
    assert "accept_sparse" not in str(excinfo.value)


# -- device ------------------------------------------------------------------------------
NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")


@NO_GPU
@pytest.mark.parametrize("grid", [False, True], ids=["ranges", "lists"])
def test_a_cuda_device_without_a_gpu(build, no_training, grid):
    bounds = {**GOOD, "lr": [0.01, 0.02]} if grid else GOOD
    fails(build(make_classifier(device="cuda"), bounds), ValueError,
          r"The net's device='cuda', but this torch \(.*\) sees no CUDA GPU "
          r"\(torch\.cuda\.is_available\(\) is False\)\. Train on the CPU with "
          r"net\.set_params\(device='cpu'\)")


def test_a_device_torch_does_not_know(build, no_training):
    fails(build(make_classifier(device="gpu")), ValueError,
          r"The net's device='gpu' is not a torch device .*"
          r"net\.set_params\(device='cpu'\) or device='cuda'")


# -- module and criterion ----------------------------------------------------------------
def test_logits_with_nll_loss(build, no_training):
    net = NeuralNetClassifier(Logits, max_epochs=2, lr=1e-2, optimizer=torch.optim.Adam,
                              train_split=None, verbose=0)
    fails(build(net), ValueError,
          r"criterion=NLLLoss: .*not a probability distribution.*"
          r"criterion=torch\.nn\.CrossEntropyLoss.*end the module with torch\.softmax")


def test_logits_with_cross_entropy_are_fine():
    net = NeuralNetClassifier(Logits, criterion=nn.CrossEntropyLoss, max_epochs=2, lr=1e-2,
                              optimizer=torch.optim.Adam, train_split=None, verbose=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = HypernetSearchCV(net, GOOD, cv=2, random_state=0).fit(X_CLF, Y_CLF)
    assert hasattr(search, "best_estimator_")
    assert not [w for w in caught if "returns probabilities" in str(w.message)]


def test_probabilities_with_cross_entropy_warn_of_the_double_softmax():
    """CrossEntropyLoss on a module that already returns probabilities trains (on the
    softmax of probabilities) and skorch's predict_proba squashes them: no error, so
    the search warns once, before training, with both fixes."""
    net = make_classifier(criterion=nn.CrossEntropyLoss, max_epochs=2)  # ends in softmax
    with pytest.warns(SkhyperWarning, match=r"TinyClassifier returns probabilities .*"
                      r"Return logits \(drop the final softmax\), or keep the softmax with "
                      r"criterion=torch\.nn\.NLLLoss") as caught:
        HypernetSearchCV(net, GOOD, cv=2, random_state=0).fit(X_CLF, Y_CLF)
    assert len([w for w in caught if "returns probabilities" in str(w.message)]) == 1


@pytest.mark.parametrize("estimator", [TinyClassifier, TinyClassifier()],
                         ids=["class", "instance"])
def test_bare_torch_module(build, estimator):
    fails(build(estimator), TypeError,
          r"estimator=TinyClassifier is a bare torch\.nn\.Module; HypernetSearchCV needs a "
          r"skorch net\. Wrap it with skorch, e\.g\. NeuralNetClassifier\(TinyClassifier, "
          r"\.\.\.\)")


# -- interrupts ------------------------------------------------------------------------
class SigintAtEpoch(Callback):
    """Sends this process a SIGINT (a Ctrl-C) at the end of an epoch of a real fit."""

    def on_epoch_end(self, net, **kwargs):
        signal.raise_signal(signal.SIGINT)


class StopAtEpoch(Callback):
    """Stops training as skorch's EarlyStopping does: a KeyboardInterrupt, no signal."""

    def on_epoch_end(self, net, **kwargs):
        raise KeyboardInterrupt


@pytest.mark.parametrize("params", [{}, {"verify": 1, "refit": False}],
                         ids=["refit", "verify"])
def test_ctrl_c_during_a_real_fit_propagates(build, params):
    # Python's own Ctrl-C handler, as in a terminal: a process started in the
    # background by a non-interactive shell ignores SIGINT, and the search then
    # rightly leaves it ignored
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        search = build(make_classifier(max_epochs=2, callbacks=[SigintAtEpoch()]), **params)
        with pytest.raises(KeyboardInterrupt, match="interrupted during a net's fit"):
            search.fit(X_CLF, Y_CLF)
        assert_unfitted(search)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)


def test_ctrl_c_during_the_stacked_real_fits_propagates(build, monkeypatch):
    """A Ctrl-C in the second step of the stacked verify fits (Python's own handler,
    as in a terminal) stops the search there and leaves nothing fitted: the stacked
    path does not take it for a failure to fall back from."""
    from skhyper import _stacked_fits

    steps = []
    step = _stacked_fits.StackedFits._step

    def step_then_ctrl_c(self, *args):
        steps.append(1)
        if len(steps) == 2:
            signal.raise_signal(signal.SIGINT)
        return step(self, *args)

    monkeypatch.setattr(_stacked_fits.StackedFits, "_step", step_then_ctrl_c)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        search = build(make_classifier(max_epochs=2), verify_fits="stacked")
        with pytest.raises(KeyboardInterrupt):
            search.fit(X_CLF, Y_CLF)
        assert len(steps) == 2  # interrupted in the stacked fits, not after them
        assert_unfitted(search)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)


def test_a_callbacks_keyboard_interrupt_still_stops_training_as_in_skorch():
    net = make_classifier(max_epochs=3, callbacks=[StopAtEpoch()])
    search = HypernetSearchCV(net, GOOD, cv=2, random_state=0).fit(X_CLF, Y_CLF)
    assert len(search.best_estimator_.history) == 1


# -- predicted_loss uses the fitted bounds ----------------------------------------------
def test_predicted_loss_uses_the_bounds_the_search_was_fitted_with():
    search = HypernetSearchCV(make_classifier(max_epochs=2), GOOD, cv=2,
                              random_state=0).fit(X_CLF, Y_CLF)
    points = {WD: [1e-4, 1e-3, 1e-2]}
    before = search.predicted_loss(X_CLF, Y_CLF, points)
    space = search.search_space_
    search.set_params(param_bounds={WD: (0.5, 1.0)})
    after = search.predicted_loss(X_CLF, Y_CLF, points)
    assert search.search_space_ is space
    assert [d.high for d in search.search_space_.dimensions] == [1e-2]
    np.testing.assert_array_equal(after["mean_loss"], before["mean_loss"])
    with pytest.raises(ValueError, match="lies outside the searched bounds"):
        search.predicted_loss(X_CLF, Y_CLF, {WD: [0.7]})  # inside the new bounds only
