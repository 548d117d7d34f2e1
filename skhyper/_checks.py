"""Input checks of HypernetSearchCV.fit: clear errors before any training.

Each check names the parameter (or input), its value and the fix. They run
before hyper-training, so a bad input costs no training time.
"""

from __future__ import annotations

import contextlib
import inspect
import numbers
import signal
import threading
import warnings

import numpy as np
import scipy.sparse
import torch
from skorch import NeuralNetBinaryClassifier, NeuralNetClassifier, NeuralNetRegressor

from ._train import run_module, take
from .exceptions import SkhyperWarning


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


def check_list_rows(X):
    """A list of rows is refused: skorch reads a list as several inputs, one per item."""
    if not isinstance(X, (list, tuple)) or not len(X):
        return
    first = X[0]
    row = isinstance(first, numbers.Number) or (
        isinstance(first, (list, tuple)) and all(isinstance(v, numbers.Number) for v in first))
    if row:
        raise TypeError(
            f"X is a {type(X).__name__} of {len(X)} rows; skorch reads a list as several "
            "inputs (one per item, each passed to forward), not as rows. Pass an array: "
            "np.asarray(X, dtype=np.float32)."
        )


def check_target_frame(y):
    """A pandas DataFrame ``y`` is refused: skorch turns it into a dict of its
    columns, which no criterion takes (skorch's own fit fails on it too)."""
    if type(y).__name__ != "DataFrame" or not hasattr(y, "columns"):
        return
    columns = list(y.columns)
    raise TypeError(
        f"y is a pandas DataFrame with {len(columns)} column(s) {columns[:3]}: skorch turns "
        "a DataFrame into a dict of its columns, which the net's criterion cannot take "
        "(skorch's fit fails on it too). Pass an array: y.to_numpy(dtype=np.float32) for "
        "a regressor's (n, k) target, or one column, y.iloc[:, 0].to_numpy(), for class "
        "labels."
    )


_LABEL_ENCODER_STEPS = (
    "encoder = sklearn.preprocessing.LabelEncoder(); fit the search on "
    "encoder.fit_transform(y) and read its predictions with "
    "encoder.inverse_transform(search.predict(X))."
)
_LABEL_ENCODER_FIX = f"Encode them first: {_LABEL_ENCODER_STEPS}"


def _trains_on_class_indices(net):
    """A NeuralNetClassifier whose criterion takes class indices (NLLLoss, CrossEntropyLoss)."""
    criterion = net.criterion if isinstance(net.criterion, type) else type(net.criterion)
    return isinstance(net, NeuralNetClassifier) and issubclass(
        criterion, (torch.nn.NLLLoss, torch.nn.CrossEntropyLoss))


def check_class_labels(net, y):
    """Labels a NeuralNetClassifier cannot train on, refused before training.

    skorch's classifier trains on integer class indices and ``predict`` returns
    indices; string, float or negative labels fail inside torch (or train on the
    wrong classes), so the error names the labels and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch import NeuralNetClassifier
    >>> from torch import nn
    >>> net = NeuralNetClassifier(nn.Linear, module__in_features=2, module__out_features=2)
    >>> check_class_labels(net, np.array([0, 1, 1]))
    >>> check_class_labels(net, np.array(["cat", "dog"]))
    Traceback (most recent call last):
    ...
    TypeError: y: NeuralNetClassifier trains on integer class indices 0..n_classes-1 ...
    """
    if isinstance(net, NeuralNetBinaryClassifier):
        _check_binary_targets(y)
    if not _trains_on_class_indices(net):
        return
    labels = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == 1:
        raise ValueError(
            f"y has shape {labels.shape}: NeuralNetClassifier's "
            f"{getattr(net.criterion, '__name__', type(net.criterion).__name__)} takes one "
            "class label per row, a 1-D y (torch refuses a column). Pass y.ravel()."
        )
    if labels.ndim != 1 or not labels.size or labels.dtype.kind == "c":
        return  # complex data: X's checks refuse it as sklearn's estimators do
    kind = labels.dtype.kind
    if labels.dtype in (np.int64, np.uint8) and labels.min() >= 0:
        return  # the index types torch's NLLLoss and CrossEntropyLoss take
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v)
                      for v in np.unique(labels)[:4])
    if kind in "iu" and labels.min() >= 0:
        what, fix = (f"{labels.dtype} labels", "torch's NLLLoss and CrossEntropyLoss take "
                     "int64 indices (skorch's fit fails on these too). Pass y.astype(np.int64).")
    elif kind in "fb" and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)) \
            and labels.min() >= 0:
        what, fix = f"{labels.dtype} labels", "Pass y.astype(np.int64)."
    elif kind == "f":
        what = "non-integer values"
        fix = ("For a continuous target use NeuralNetRegressor; for classes, encode "
               f"them: {_LABEL_ENCODER_STEPS}")
    elif kind in "iu":
        what, fix = "negative labels", _LABEL_ENCODER_FIX
    elif kind in "US":
        what, fix = "string labels", _LABEL_ENCODER_FIX
    else:
        what, fix = f"labels of type {type(labels.flat[0]).__name__}", _LABEL_ENCODER_FIX
    raise TypeError(
        f"y: NeuralNetClassifier trains on integer class indices 0..n_classes-1 (and "
        f"predict returns them), but y holds {what} ({shown}). {fix}"
    )


def _check_binary_targets(y):
    """skorch's NeuralNetBinaryClassifier trains BCEWithLogitsLoss on float targets in
    [0, 1] (the probability of class 1): integer labels fail inside torch, and values
    outside [0, 1] train silently on a loss that means nothing."""
    labels = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    kind = labels.dtype.kind
    encode = ("Encode the two classes as 0.0 and 1.0, e.g. "
              "y = (y == positive_label).astype(np.float32).")
    head = "y: NeuralNetBinaryClassifier trains on float targets in [0, 1] (the probability"
    if not labels.size or kind not in "iufb":
        what = "string labels" if kind in "US" else f"{labels.dtype} values"
        raise TypeError(f"{head} of class 1), but y holds {what}. {encode}")
    values = np.unique(labels)
    shown = ", ".join(repr(v.item()) for v in values[:4]) + (", ..." if len(values) > 4 else "")
    if values.min() < 0 or values.max() > 1:
        raise ValueError(f"{head} of class 1), but y holds {shown}: its BCEWithLogitsLoss "
                         f"would train on a loss that means nothing. {encode}")
    if kind != "f":
        raise TypeError(f"{head} of class 1), but y holds {labels.dtype} labels ({shown}): "
                        "torch's BCEWithLogitsLoss fails on them (skorch's fit too). Pass "
                        "y.astype(np.float32).")


def check_columns_reach_forward(module, X, forward_kwargs):
    """A DataFrame reaches ``forward`` one keyword per column (as in skorch): refuse
    one whose columns ``forward`` does not take, naming them and the fix."""
    if not (hasattr(X, "columns") and hasattr(X, "to_numpy")):
        return
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    columns = [str(c) for c in X.columns]
    unknown = [c for c in columns if c not in params and c not in forward_kwargs]
    if unknown:
        takes = ", ".join(params)
        shown = ", ".join(repr(c) for c in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise TypeError(
            f"X is a pandas DataFrame: skorch passes each of its columns to "
            f"{type(module).__name__}.forward as a keyword argument, but forward({takes}) "
            f"does not take {shown}. Pass X.to_numpy(dtype=np.float32) instead (in a "
            "Pipeline, a step that outputs an array), or write forward to take the "
            "columns by name."
        )


def check_device(net):
    """The net's ``device`` must be one this torch can train on (``None``: skorch
    leaves the module where it is)."""
    device = net.device
    if device is None:
        return
    try:
        where = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as error:
        raise ValueError(
            f"The net's device={device!r} is not a torch device ({error}). Set one on the "
            "net, e.g. net.set_params(device='cpu') or device='cuda'."
        ) from None
    fix = ("Train on the CPU with net.set_params(device='cpu'), or run where torch has "
           "that device")
    if where.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The net's device={device!r}, but this torch ({torch.__version__}) sees no CUDA "
            f"GPU (torch.cuda.is_available() is False). {fix} (a CUDA build of torch on a "
            "machine with a GPU)."
        )
    if where.type == "cuda" and (where.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"The net's device={device!r}, but torch sees {torch.cuda.device_count()} CUDA "
            f"device(s), numbered from 0. Use one of them, e.g. device='cuda:0'."
        )
    if where.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"The net's device={device!r}, but torch.backends.mps.is_available() is False "
            f"here. {fix} (Apple silicon with an MPS build of torch)."
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


def probe_module(net, X_train, forward_kwargs, y_train=None, n_rows=16, preprocessed=False):
    """One eval-mode forward of ``net``'s module on a few training rows.

    Turns a dtype mismatch between X and the module into a clear error, and,
    for a NeuralNetClassifier with NLLLoss (whose ``get_loss`` takes the log of
    the output), refuses outputs that are not probabilities. With ``y_train``,
    refuses targets the output cannot be compared with: a 1-D ``y`` against a
    regressor's ``(n, 1)`` output, class labels past the output's width. No RNG
    is drawn and no weight or buffer changes. ``preprocessed``: ``X_train`` is the
    output of a Pipeline's steps (the fix for a dtype then names a casting step).
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
            if preprocessed:
                raise TypeError(
                    f"X reaches the net as {have} after the Pipeline's steps, but the "
                    f"module's parameters are {want}, so the forward fails ({error}). Cast "
                    f"X before the search, X.astype(np.{want}), where the steps keep its "
                    "dtype; where a step outputs float64 (e.g. OneHotEncoder), end the steps "
                    f"with a cast: ('to_{want}', sklearn.preprocessing.FunctionTransformer("
                    f"np.asarray, kw_args={{'dtype': np.{want}}}))."
                ) from error
            raise TypeError(
                f"X has dtype {have} but the module's parameters are {want}, so the "
                f"forward fails ({error}). Cast X first, e.g. X.astype(np.{want}), as "
                "skorch expects."
            ) from error
        raise
    finally:
        module.train(was_training)
    y_pred = out[0] if isinstance(out, tuple) else out
    _check_probabilities(net, y_pred)
    _warn_about_double_softmax(net, y_pred)
    if isinstance(y_train, torch.Tensor) and isinstance(y_pred, torch.Tensor):
        _check_target_shape(net, y_train, y_pred)
        _check_label_range(net, y_train, y_pred)


def _rows_shape(tensor):
    """``(n, 2)``: a shape with its row count written as n."""
    if tensor.dim() == 1:
        return "(n,)"
    return "(" + ", ".join(["n", *map(str, tensor.shape[1:])]) + ")"


def _check_target_shape(net, y_train, y_pred):
    """A regressor's ``y`` and output must have the same shape per row: a 1-D ``y``
    against an ``(n, 1)`` output broadcasts to an ``(n, n)`` loss, and with an
    element-wise criterion (MSE, L1, Huber) other mismatches broadcast as silently; a
    criterion of its own may take an output shaped otherwise (a mean and a variance)."""
    if isinstance(net, NeuralNetRegressor) and y_train.dim() == 1 and (
            y_pred.dim() == 2 and y_pred.shape[1] == 1):
        raise ValueError(
            f"y is 1-D but {type(net.module_).__name__} returns one column per row "
            f"(shape (n, 1)): {type(net.criterion_).__name__} would broadcast the two to "
            "an (n, n) matrix and train on the wrong loss (torch only warns). Pass "
            "y.reshape(-1, 1), as skorch's NeuralNetRegressor expects, or return "
            "output.squeeze(-1) from forward."
        )
    elementwise = (torch.nn.MSELoss, torch.nn.L1Loss, torch.nn.SmoothL1Loss, torch.nn.HuberLoss)
    if isinstance(net, NeuralNetRegressor) and isinstance(net.criterion_, elementwise) and (
            tuple(y_train.shape[1:]) != tuple(y_pred.shape[1:])):
        raise ValueError(
            f"y has shape {_rows_shape(y_train)} but {type(net.module_).__name__} returns "
            f"shape {_rows_shape(y_pred)}: {type(net.criterion_).__name__} would broadcast "
            "the two and train on the wrong loss (torch only warns). Make them match: the "
            "module's output width, or y's shape (y.reshape(-1, 1) for one target per row, "
            "y.ravel() for an output of shape (n,))."
        )


def _check_label_range(net, y_train, y_pred):
    """Class indices at or past the output's width fail inside the criterion."""
    if not _trains_on_class_indices(net) or y_train.dim() != 1 or y_pred.dim() != 2:
        return
    if y_train.is_floating_point() or not y_train.numel():
        return
    width, top = y_pred.shape[1], int(y_train.max())
    if top >= width:
        raise ValueError(
            f"y: class label {top} is past the {width} columns of "
            f"{type(net.module_).__name__}'s output, and NeuralNetClassifier reads a "
            f"label as the index of its column. If the classes are not 0..{width - 1}, "
            f"encode them first: {_LABEL_ENCODER_STEPS} Else give the module "
            f"{top + 1} outputs."
        )


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


def _warn_about_double_softmax(net, y_pred):
    """A module that returns probabilities under CrossEntropyLoss trains, but on the
    softmax of probabilities, and skorch's predict_proba applies another softmax:
    the fit is worse and the predicted probabilities squashed, with no error."""
    if not (isinstance(net, NeuralNetClassifier)
            and isinstance(net.criterion_, torch.nn.CrossEntropyLoss)):
        return
    if not isinstance(y_pred, torch.Tensor) or y_pred.dim() != 2 or y_pred.shape[1] < 2:
        return
    p = y_pred.detach().double()
    if bool((p < 0).any()) or float((p.sum(dim=1) - 1).abs().max()) > 1e-4:
        return
    warnings.warn(
        f"{type(net.module_).__name__} returns probabilities (its rows are non-negative "
        "and sum to 1), but CrossEntropyLoss applies its own log-softmax, and skorch's "
        "predict_proba another softmax: the search and the refit train on the softmax of "
        "probabilities, and predict_proba squashes them. Return logits (drop the final "
        "softmax), or keep the softmax with criterion=torch.nn.NLLLoss (skorch's default).",
        SkhyperWarning, stacklevel=2)


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

