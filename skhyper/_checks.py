"""Input checks of HypernetSearchCV.fit: clear errors before any training.

Each check names the parameter (or input), its value and the fix. They run
before hyper-training, so a bad input costs no training time.
"""

from __future__ import annotations

import contextlib
import signal
import threading

import scipy.sparse
import torch
from skorch import NeuralNetClassifier

from ._train import run_module, take


def check_estimator_kind(estimator):
    """A bare torch module (class or instance) gets the hint to wrap it in skorch."""
    is_module_class = isinstance(estimator, type) and issubclass(estimator, torch.nn.Module)
    if is_module_class or isinstance(estimator, torch.nn.Module):
        name = estimator.__name__ if is_module_class else type(estimator).__name__
        raise TypeError(
            f"estimator={name} is a bare torch.nn.Module; HypernetSearchCV needs a skorch "
            f"net. Wrap it with skorch, e.g. NeuralNetClassifier({name}, ...) or "
            f"NeuralNetRegressor({name}, ...), and pass the net as estimator."
        )


def check_dense(X):
    """Sparse X is refused: the hypernets train on dense tensors."""
    if scipy.sparse.issparse(X):
        raise TypeError(
            f"X is a scipy sparse matrix ({type(X).__name__}, shape {X.shape}); "
            "HypernetSearchCV needs dense arrays. Convert it first with X.toarray() "
            "(and .astype(np.float32) for a float32 module)."
        )


def check_splits(splits):
    """Every CV split needs training and validation rows."""
    for k, (train, test) in enumerate(splits):
        for name, rows in (("test", test), ("training", train)):
            if len(rows) == 0:
                raise ValueError(
                    f"cv split {k} has an empty {name} fold ({len(train)} training, "
                    f"{len(test)} test rows); every split needs both. Check the cv "
                    "argument, e.g. use cv=KFold(n_splits) with n_splits <= the number "
                    "of rows."
                )


def _float_dtypes(X):
    tensors = X.values() if isinstance(X, dict) else [X]
    return {t.dtype for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point()}


def probe_module(net, X_train, forward_kwargs, n_rows=16):
    """One eval-mode forward of ``net``'s module on a few training rows.

    Turns a dtype mismatch between X and the module into a clear error, and,
    for a NeuralNetClassifier with NLLLoss (whose ``get_loss`` takes the log of
    the output), refuses outputs that are not probabilities. No RNG is drawn
    and no weight or buffer changes.
    """
    module = net.module_
    rows = take(X_train, slice(0, n_rows))
    weights = dict(module.named_parameters())
    param_dtypes = {p.dtype for p in weights.values() if p.is_floating_point()}
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = run_module(module, weights, rows, forward_kwargs)
    except RuntimeError as error:
        wrong = _float_dtypes(rows) - param_dtypes
        if param_dtypes and wrong:
            have = ", ".join(sorted(str(d).replace("torch.", "") for d in wrong))
            want = sorted(str(d).replace("torch.", "") for d in param_dtypes)[0]
            raise TypeError(
                f"X has dtype {have} but the module's parameters are {want}, so the "
                f"forward fails ({error}). Cast X first, e.g. X.astype(np.{want}), as "
                "skorch expects."
            ) from error
        raise
    finally:
        module.train(was_training)
    _check_probabilities(net, out[0] if isinstance(out, tuple) else out)


def _check_probabilities(net, y_pred):
    if not (isinstance(net, NeuralNetClassifier)
            and isinstance(net.criterion_, torch.nn.NLLLoss)):
        return
    if not isinstance(y_pred, torch.Tensor) or y_pred.dim() < 2 or y_pred.numel() == 0:
        return
    p = y_pred.detach().double()
    negative = bool((p < 0).any())
    sums = p.sum(dim=1)
    off = float((sums - 1).abs().max())
    if negative or off > 1e-3:
        found = f"min {float(p.min()):.3g}" if negative else f"row sums up to {off:.3g} from 1"
        raise ValueError(
            f"criterion={type(net.criterion_).__name__}: NeuralNetClassifier takes the log "
            "of the module's output for NLLLoss, so the module must return probabilities, "
            f"but its output on training rows is not a probability distribution ({found}; "
            "it looks like logits). Use criterion=torch.nn.CrossEntropyLoss for a module "
            "that returns logits, or end the module with torch.softmax(..., dim=-1)."
        )


@contextlib.contextmanager
def propagate_interrupts():
    """Re-raise a Ctrl-C that skorch's ``fit`` swallowed.

    skorch's ``partial_fit`` catches ``KeyboardInterrupt`` and returns the
    half-trained net (its EarlyStopping callback stops training that way). While
    the block runs, a SIGINT is recorded; if one arrived, ``KeyboardInterrupt``
    is raised at the end of the block. A callback's own ``KeyboardInterrupt``
    (no signal) keeps skorch's meaning. Outside the main thread, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    received = []

    def on_sigint(signum, frame):
        received.append(signum)
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    if previous == signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if received:
        raise KeyboardInterrupt(
            "HypernetSearchCV.fit was interrupted during a net's fit (skorch returns a "
            "half-trained net on Ctrl-C); no fitted attribute was set."
        )

