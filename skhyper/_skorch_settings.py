"""What hyper-training takes from the skorch net's own training settings.

The refit and the ``verify`` fits are plain skorch fits: they honour the net's
``train_split``, callbacks and ``iterator_train__*``. Hyper-training is not a
skorch fit, so :func:`read_settings` inspects the net once, before training,
and turns each setting into a plain value the loop understands (a row filter,
scheduler factories, clip norms, a shuffle flag), warning with a
:class:`~skhyper.exceptions.SkhyperWarning` where a setting has no meaning
there. See the user guide, "What hyper-training takes from your net".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from skorch.callbacks import (
    BatchScoring,
    EarlyStopping,
    EpochScoring,
    EpochTimer,
    GradientNormClipping,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from torch.optim.lr_scheduler import ReduceLROnPlateau

from .exceptions import SkhyperWarning

#: Callbacks that only observe or print: they change nothing the net learns.
_OBSERVERS = (EpochTimer, PrintLog, PassthroughScoring, EpochScoring, BatchScoring, ProgressBar)
#: iterator_train__ keys that only change speed, ignored silently.
_PERFORMANCE_ONLY = {
    "num_workers", "pin_memory", "pin_memory_device", "persistent_workers",
    "prefetch_factor", "timeout", "worker_init_fn", "multiprocessing_context", "in_order",
}
_HONOURED_ITERATOR_KEYS = {"batch_size", "shuffle", "drop_last"}


@dataclass
class TrainingSettings:
    """The net's settings as hyper-training applies them.

    Attributes
    ----------
    train_split : callable or None
        The net's ``train_split`` when it follows skorch's protocol; see
        :meth:`train_rows`.
    schedulers : list of callable
        ``optimizer -> HyperScheduler``, one per ``LRScheduler`` callback.
    clip_norms : list of (float, float)
        ``(max_norm, norm_type)`` per ``GradientNormClipping`` callback.
    shuffle : bool
        ``iterator_train__shuffle`` as the net's DataLoader reads it (skorch's
        default, like torch's, is False: rows in the same order every epoch).
    drop_last : bool
        ``iterator_train__drop_last``.
    """

    train_split: object = None
    schedulers: list = field(default_factory=list)
    clip_norms: list = field(default_factory=list)
    shuffle: bool = False
    drop_last: bool = False

    def train_rows(self, net, X, y):
        """The rows of a fold's training part the net's ``train_split`` keeps for
        training, as skorch's ``get_split_datasets`` would split them (``None``:
        all rows)."""
        if not self.train_split:
            return None
        dataset = net.get_dataset(X, y)
        train, _ = self.train_split(dataset, y)
        if train is dataset:  # e.g. skorch's predefined_split: trains on every row
            return None
        return np.asarray(train.indices)


class HyperScheduler:
    """A skorch ``LRScheduler``'s policy on the hypernets' optimizer.

    Steps every epoch or every batch, as its ``step_every`` says. A policy that
    takes a monitored value (``ReduceLROnPlateau``) gets the hyper-training's
    training loss (mean over the folds) of that epoch or batch.
    """

    def __init__(self, policy, kwargs, step_every, optimizer):
        self.scheduler = policy(optimizer, **kwargs)
        self.step_every = step_every
        self.takes_loss = isinstance(self.scheduler, ReduceLROnPlateau)

    def _step(self, loss):
        if self.takes_loss:
            self.scheduler.step(loss)
        else:
            self.scheduler.step()

    def batch_end(self, loss):
        if self.step_every == "batch":
            self._step(loss)

    def epoch_end(self, loss):
        if self.step_every == "epoch":
            self._step(loss)


def read_settings(net):
    """Inspect ``net`` once, before training: its settings for hyper-training.

    Warns (:class:`~skhyper.exceptions.SkhyperWarning`) for each setting that
    hyper-training cannot honour, naming it and what happens instead.

    Parameters
    ----------
    net : skorch NeuralNet

    Returns
    -------
    TrainingSettings

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNetRegressor
    >>> from skorch.callbacks import GradientNormClipping
    >>> net = NeuralNetRegressor(torch.nn.Linear, module__in_features=3,
    ...     module__out_features=1, train_split=None,
    ...     callbacks=[GradientNormClipping(gradient_clip_value=1.0)])
    >>> read_settings(net).clip_norms
    [(1.0, 2)]
    """
    settings = TrainingSettings(train_split=_train_split(net))
    _read_iterator(net, settings)
    for name, callback in _user_callbacks(net):
        _read_callback(name, callback, settings)
    return settings


def _train_split(net):
    split = net.train_split
    if not split:
        return None
    if not callable(split):
        warnings.warn(
            f"The net's train_split={split!r} is not callable as skorch's "
            "train_split(dataset, y); hyper-training trains each fold's hypernet on all "
            "of the fold's training rows, while the refit splits as skorch does.",
            SkhyperWarning, stacklevel=4,
        )
        return None
    return split


def _read_iterator(net, settings):
    given = net.get_params_for("iterator_train")
    settings.shuffle = bool(given.get("shuffle", False))
    settings.drop_last = bool(given.get("drop_last", False))
    for key in sorted(set(given) - _HONOURED_ITERATOR_KEYS - _PERFORMANCE_ONLY):
        warnings.warn(
            f"The net's iterator_train__{key} is not applied in hyper-training: the "
            "hypernets see the fold's rows as tensors, in batches of the net's "
            f"batch_size; the refit and verify fits use iterator_train__{key}.",
            SkhyperWarning, stacklevel=4,
        )


def _user_callbacks(net):
    """``(name, callback)`` of the callbacks the user added, with any
    ``callbacks__NAME__param`` applied (skorch's defaults left out)."""
    if net.callbacks in (None, "disable") or not net.callbacks:
        return []
    built = clone(net)
    built.initialize_callbacks()
    defaults = {name for name, _ in built.get_default_callbacks()}
    return [(name, cb) for name, cb in built.callbacks_ if name not in defaults]


def _read_callback(name, callback, settings):
    from ._refit import DecayCallback  # skhyper's own: the search sets it itself

    if isinstance(callback, LRScheduler):
        settings.schedulers.append(_scheduler_factory(name, callback))
    elif isinstance(callback, GradientNormClipping):
        if callback.gradient_clip_value is not None:
            settings.clip_norms.append(
                (float(callback.gradient_clip_value), callback.gradient_clip_norm_type))
    elif isinstance(callback, EarlyStopping):
        warnings.warn(
            f"Callback {name!r} (EarlyStopping): hyper-training has no per-fold "
            "valid_loss to monitor, so it trains the hypernets for max_epochs (or stops "
            "by the search's own early_stopping=True); the refit and verify fits still "
            "stop early.", SkhyperWarning, stacklevel=4,
        )
    elif not isinstance(callback, (DecayCallback, *_OBSERVERS)):
        warnings.warn(
            f"Callback {name!r} ({type(callback).__name__}) runs in the refit and verify "
            "fits only: hyper-training does not call the net's callbacks.",
            SkhyperWarning, stacklevel=4,
        )


def _scheduler_factory(name, callback):
    """``optimizer -> HyperScheduler`` of an ``LRScheduler`` callback."""
    callback.initialize()
    policy, kwargs, step_every = callback.policy_, dict(callback.kwargs), callback.step_every
    if step_every not in ("epoch", "batch"):
        raise ValueError(
            f"Callback {name!r}: step_every={step_every!r}; skorch takes 'epoch' or 'batch'."
        )
    plateau = isinstance(policy, type) and issubclass(policy, ReduceLROnPlateau)
    if plateau and callback.monitor != "train_loss":
        warnings.warn(
            f"Callback {name!r} (LRScheduler, ReduceLROnPlateau) monitors "
            f"{callback.monitor!r}, which hyper-training does not have: its policy gets "
            "the hyper-training's training loss (mean over the folds) instead.",
            SkhyperWarning, stacklevel=5,
        )

    def make(optimizer):
        return HyperScheduler(policy, kwargs, step_every, optimizer)

    return make
