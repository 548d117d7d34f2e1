"""The refit route of vector hyperparameters: a skorch net configured with them.

A scalar best point refits as in GridSearchCV, ``clone(net).set_params(**best)``.
A vector weight decay (one value per layer, unit or weight) has no single
``optimizer__weight_decay`` that skorch could take, so :func:`with_params`
routes it through what skorch and torch already have: per-tensor decays
become ``optimizer__param_groups`` entries, and per-unit or per-weight decays
a small callback, :class:`DecayCallback`, that adds ``decay * w`` to each
gradient before the optimizer step, which is exactly what torch's coupled
``weight_decay`` adds and the gradient of the penalty the search trained with.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import clone
from skorch.callbacks import Callback

from ._folds import split_estimator

#: The name under which with_params adds its callback to the net.
CALLBACK_NAME = "skhyper_weight_decay"


class DecayCallback(Callback):
    """Elementwise L2 decay of named parameters, applied to their gradients.

    On each training step (``on_grad_computed``, after ``backward`` and before
    the optimizer step) it adds ``decays[name] * w`` to the gradient of the
    parameter ``name``: the gradient of ``(1 / 2) * sum(decays[name] * w ** 2)``,
    as torch's SGD/Adam ``weight_decay`` adds it for one scalar decay.

    Parameters
    ----------
    decays : dict of str -> float or array-like
        Parameter name (as in ``module.named_parameters()``) to its decay, a
        number or an array that broadcasts against the parameter (one value
        per output unit, shape ``(n_out,)``, or one per element).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetRegressor
    >>> X = np.random.RandomState(0).randn(32, 3).astype("float32")
    >>> y = X[:, :1] * 2
    >>> net = NeuralNetRegressor(torch.nn.Linear, module__in_features=3,
    ...     module__out_features=1, max_epochs=2, train_split=None, verbose=0,
    ...     callbacks=[DecayCallback({"weight": np.array([0.1, 0.0, 1.0])})]).fit(X, y)
    """

    def __init__(self, decays):
        self.decays = decays

    def initialize(self):
        self.tensors_ = {}
        return self

    def _decay_for(self, name, param):
        cached = self.tensors_.get(name)
        if cached is None or cached.device != param.device or cached.dtype != param.dtype:
            value = torch.as_tensor(np.asarray(self.decays[name], dtype=float),
                                    dtype=param.dtype, device=param.device)
            if value.dim() == 1 and param.dim() > 1 and value.numel() == param.shape[0]:
                value = value.reshape((-1,) + (1,) * (param.dim() - 1))  # per output unit
            cached = self.tensors_[name] = value
        return cached

    def on_train_begin(self, net, **kwargs):
        names = {name for name, _ in net.module_.named_parameters()}
        unknown = sorted(set(self.decays) - names)
        if unknown:
            raise ValueError(
                f"DecayCallback: {unknown} are not parameters of the module; its "
                f"parameters are {sorted(names)}."
            )

    def on_grad_computed(self, net, named_parameters, training=False, **kwargs):
        if not training:
            return
        with torch.no_grad():
            for name, param in named_parameters:
                if name in self.decays and param.grad is not None:
                    param.grad.add_(self._decay_for(name, param) * param)


def with_params(estimator, params):
    """A clone of ``estimator`` configured with ``params``, vector decays included.

    This is how :class:`~skhyper.HypernetSearchCV` builds ``best_estimator_``
    (and its ``verify`` fits): ``with_params(net, search.best_params_).fit(X, y)``
    trains with exactly the penalties the search found. Scalar values go
    through ``set_params``, as in ``GridSearchCV``. A vector
    ``optimizer__weight_decay`` (a dict ``{parameter name: value}`` as
    ``best_params_`` holds it) becomes:

    * ``optimizer__param_groups`` entries ``(name, {"weight_decay": value})``
      for one decay per tensor (skorch's own per-parameter settings);
    * for one decay per unit or per element, a group ``(name,
      {"weight_decay": 0.0})`` and a :class:`DecayCallback` named
      ``"skhyper_weight_decay"`` that adds the decays to the gradients.

    Tensors the dict does not name keep the net's own ``weight_decay``.

    Parameters
    ----------
    estimator : skorch net or Pipeline ending in one
    params : dict
        Keys as in ``param_bounds`` (with the Pipeline step prefix if any).

    Returns
    -------
    estimator : an unfitted clone

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> net = NeuralNetClassifier(torch.nn.Linear, module__in_features=4,
    ...                           module__out_features=3)
    >>> refit = with_params(net, {"optimizer__weight_decay": {"weight": 1e-3, "bias": 0.0}})
    >>> refit.optimizer__param_groups
    [('weight', {'weight_decay': 0.001}), ('bias', {'weight_decay': 0.0})]
    """
    estimator = clone(estimator)
    _, step_name, net = split_estimator(estimator)
    prefix = "" if step_name is None else f"{step_name}__"
    scalar, groups, decays = {}, [], {}
    for key, value in params.items():
        if not isinstance(value, dict):
            scalar[key] = value
            continue
        if key != f"{prefix}optimizer__weight_decay":
            raise ValueError(
                f"with_params: {key!r} has a vector value (a dict); only "
                f"'{prefix}optimizer__weight_decay' takes one."
            )
        for name, decay in value.items():
            if np.ndim(decay) == 0:
                groups.append((name, {"weight_decay": float(decay)}))
            else:
                groups.append((name, {"weight_decay": 0.0}))
                decays[name] = np.asarray(decay, dtype=float)
    estimator.set_params(**scalar)
    if groups:
        own = net.get_params_for("optimizer").get("param_groups", [])
        taken = {name for name, _ in groups}
        clash = [pattern for pattern, _ in own if pattern in taken]
        if clash:
            raise ValueError(
                f"with_params: the net already sets optimizer__param_groups for {clash}; "
                "the tuned decays need their own groups for these tensors. Remove them "
                "from the net's optimizer__param_groups."
            )
        extra = {f"{prefix}optimizer__param_groups": groups + list(own)}
        if decays:
            callbacks = net.callbacks
            if callbacks == "disable":
                raise ValueError(
                    "with_params: the net has callbacks='disable', but a per-unit or "
                    "per-weight decay is applied by a callback; use callbacks=None."
                )
            callbacks = [cb for cb in (callbacks or [])
                         if not (isinstance(cb, tuple) and cb[0] == CALLBACK_NAME)]
            extra[f"{prefix}callbacks"] = callbacks + [(CALLBACK_NAME, DecayCallback(decays))]
        estimator.set_params(**extra)
    return estimator
