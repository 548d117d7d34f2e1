"""From a skorch net (or a Pipeline ending in one) and a CV split to the loop's folds.

This is where skorch is used for what it is good at: building the module
and criterion from the net's parameters, its device, and its ``get_loss``
(e.g. NeuralNetClassifier takes the log of probabilities for NLLLoss). Each
fold gets its own freshly initialized net; that net, with the hypernet's
weights copied in, is also what the user's scorers see.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import torch
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from skorch import NeuralNet
from skorch.utils import to_tensor

from ._blocks import Block, check_block_key
from ._checks import check_columns_reach_forward, probe_module
from ._hypernet import HypernetLayout, make_hypernet
from ._targets import BlockWeightDecay, WeightDecay, resolve_target
from ._train import Fold, run_module, take


def split_estimator(estimator):
    """Return ``(prefix, step_name, net)`` of a net or of a Pipeline ending in one.

    ``prefix`` is the Pipeline of the steps before the net (``None`` for a
    bare net) and ``step_name`` the net's step name (``None`` likewise).
    """
    if isinstance(estimator, NeuralNet):
        return None, None, estimator
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[-1][1], NeuralNet):
        name, net = estimator.steps[-1]
        return estimator[:-1], name, net
    raise TypeError(
        "HypernetSearchCV needs a skorch net (NeuralNetClassifier, NeuralNetRegressor, "
        "NeuralNet) or a sklearn Pipeline whose last step is one; got "
        f"{type(estimator).__name__}. Wrap your torch module with skorch, e.g. "
        "NeuralNetClassifier(MyModule, ...)."
    )


def net_keys(keys, step_name):
    """Strip the Pipeline step prefix from ``param_bounds`` keys, with clear errors."""
    if step_name is None:
        return list(keys)
    prefix = f"{step_name}__"
    out = []
    for key in keys:
        if not key.startswith(prefix):
            raise ValueError(
                f"param_bounds key {key!r} does not point at the Pipeline's net step "
                f"{step_name!r}; only the net's hyperparameters can be tuned, e.g. "
                f"'{prefix}optimizer__weight_decay'. Search preprocessing as a grid "
                f"axis instead, a list in param_bounds: {{{key!r}: [...]}}."
            )
        out.append(key[len(prefix) :])
    return out


def to_tensors(X, device):
    """In-memory array data (numpy, torch, pandas, dict of arrays) as tensors."""
    if isinstance(X, torch.utils.data.Dataset):
        raise TypeError(
            "HypernetSearchCV needs in-memory array data (numpy arrays, torch "
            "tensors, pandas objects or dicts of arrays); got a torch Dataset. "
            "Pass the arrays instead."
        )
    if isinstance(X, dict):
        return {k: to_tensors(v, device) for k, v in X.items()}
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        # as skorch's Dataset does: a DataFrame reaches forward as one keyword per column
        return {k: to_tensors(X[k].to_numpy().reshape(-1, 1), device) for k in X}
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and not X.flags.writeable:  # pandas' copy-on-write views
        X = X.copy()
    return to_tensor(X, device=device)


def check_finite(X, name="X"):
    """Raise a clear error if numeric ``X`` holds NaN or infinity."""
    if isinstance(X, dict):
        for key, value in X.items():
            check_finite(value, f"{name}[{key!r}]")
        return
    if hasattr(X, "toarray"):  # scipy sparse
        X = X.data
    data = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if data.dtype.kind in "fc" and not np.isfinite(data).all():
        raise ValueError(
            f"Input {name} contains NaN or infinity ({int((~np.isfinite(data)).sum())} "
            "values). Impute or drop them first, e.g. with a Pipeline starting with "
            "sklearn.impute.SimpleImputer."
        )


def batch_size_of(net, n_rows):
    """The training batch size the net would use (``-1`` means the whole set)."""
    size = net.get_params_for("iterator_train").get("batch_size", net.batch_size)
    if not isinstance(size, numbers.Integral) or size == -1 or size > n_rows:
        return n_rows
    return int(size)


def check_net_params(net, warmup_fraction):
    """Clear errors for net parameters that would make the search fail or do nothing.

    ``max_epochs`` must be a positive integer, ``batch_size`` (and
    ``iterator_train__batch_size``) a positive integer or -1, and the warm-up
    (``round(warmup_fraction * max_epochs)`` epochs) must leave at least one
    epoch of hyperparameter steps.
    """
    epochs = net.max_epochs
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise ValueError(
            f"The net's max_epochs={epochs!r}: HypernetSearchCV trains the hypernets for "
            "max_epochs epochs and needs a positive integer. Set it on the net, e.g. "
            "net.set_params(max_epochs=20)."
        )
    sizes = {"batch_size": net.batch_size}
    given = net.get_params_for("iterator_train")
    if "batch_size" in given:
        sizes["iterator_train__batch_size"] = given["batch_size"]
    for name, size in sizes.items():
        if size is None:
            continue
        integral = isinstance(size, numbers.Integral) and not isinstance(size, bool)
        if not integral or (size < 1 and size != -1):
            raise ValueError(
                f"The net's {name}={size!r}: it must be a positive integer, or -1 for "
                f"the whole training set. Set it on the net, e.g. {name}=128."
            )
    warmup = int(round(warmup_fraction * int(epochs)))
    if warmup >= epochs:
        raise ValueError(
            f"warmup_fraction={warmup_fraction!r} with the net's max_epochs={epochs!r} "
            f"makes the warm-up cover all {int(epochs)} epochs, so no hyperparameter step "
            "would happen. Lower warmup_fraction (fewer warm-up epochs) or raise max_epochs."
        )


def optimizer_factory(net):
    """``params -> optimizer`` of the net's optimizer class and settings.

    The optimizer's own ``weight_decay`` is set to 0: decay enters the loss
    as an explicit penalty on the generated weights instead.
    """
    kwargs = dict(net.get_params_for("optimizer"))
    kwargs.setdefault("lr", net.lr)
    kwargs["weight_decay"] = 0.0
    accepted = inspect.signature(net.optimizer).parameters
    fusable = torch.device(net.device).type in ("cpu", "cuda")
    if "fused" in accepted and "foreach" not in kwargs and fusable:
        # one fused kernel for all the hypernet tensors (a third of the foreach
        # step's time on the CPU; see benchmarks/NOTES.md)
        kwargs.setdefault("fused", True)
    elif "foreach" in accepted and not kwargs.get("fused"):
        # one multi-tensor update for the many small hypernet tensors of all folds
        # (torch picks it by default on CUDA only; on the CPU it halves the step time)
        kwargs.setdefault("foreach", True)

    def make(params):
        return net.optimizer(params, **kwargs)

    return make


class FoldBuilder:
    """Builds the loop's :class:`Fold` for each split, and scores points on it.

    Parameters
    ----------
    estimator : NeuralNet or Pipeline
    space : SearchSpace
        Keys as given by the user (with any Pipeline prefix). Vector bounds
        are resolved here against a freshly initialized module; ``self.space``
        is the resolved space.
    hypernet : str
        Name of the hypernet kind.
    """

    def __init__(self, estimator, space, hypernet):
        self.prefix, self.step_name, self.net = split_estimator(estimator)
        self.hypernet = hypernet
        self.keys = net_keys(space.keys, self.step_name)
        if space.needs_resolving:
            for user_key, key, entry in zip(space.keys, self.keys, space.entries):
                if isinstance(entry, tuple):
                    check_block_key(user_key, key, entry[1])
            module = clone(self.net).initialize().module_
            space = space.resolve({
                name: tuple(p.shape) for name, p in module.named_parameters() if p.requires_grad
            })
        self.space = space
        self._resolved = None

    def fixed_weight_decay(self):
        """The net's own optimizer weight decay on the tensors no tuned decay
        covers (0 when a scalar decay is tuned, or unset)."""
        scalar_tuned = any(
            key == "optimizer__weight_decay" and not isinstance(entry, Block)
            for key, entry in zip(self.keys, self.space.entries)
        )
        if scalar_tuned:
            return 0.0
        return float(self.net.get_params_for("optimizer").get("weight_decay", 0.0))

    def _targets(self, net):
        """The keys' targets, resolved once (a constructor argument is located by
        building the module with its two bounds) and shared by every fold."""
        if self._resolved is None:
            self._resolved = [
                BlockWeightDecay(key, entry) if isinstance(entry, Block)
                else resolve_target(key, net, bounds=(dim.low, dim.high))
                for key, entry, dim in zip(self.keys, self.space.entries, self.space.dimensions)
            ]
        return self._resolved

    def build(self, X, y, train, test, t_center, fit_params=None, check=False,
              train_rows=None):
        """Return ``(fold, scoring_estimator)`` for one split.

        The net is cloned and initialized; the Pipeline's preprocessing (if
        any) is fitted on the training part only. ``fit_params`` (already
        sliced to ``train``) reach the module's forward as skorch passes them,
        or, in a Pipeline, the steps they name. ``train_rows(net, X, y)``, if
        given, picks the rows of the training part the hypernet trains on (the
        net's ``train_split``; ``None`` from it keeps every row).
        """
        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
        y_train, y_test = _safe_indexing(y, train), _safe_indexing(y, test)
        net_params, prefix_params = self._split_fit_params(fit_params or {})
        steps = []
        if self.prefix is not None:
            prefix = clone(self.prefix)
            X_train = prefix.fit_transform(X_train, y_train, **prefix_params)
            X_test = prefix.transform(X_test)
            for data in (X_train, X_test):
                check_finite(data, "X after the Pipeline's preprocessing")
            steps = list(prefix.steps)
        net = clone(self.net).initialize()
        if hasattr(net, "check_data"):
            net.check_data(X_train, y_train)  # sets classes_ for classifiers
        keep = train_rows(net, X_train, y_train) if train_rows is not None else None
        if keep is not None:  # the refit's net trains on its train_split's train part
            X_train, y_train = _safe_indexing(X_train, keep), _safe_indexing(y_train, keep)
        if check:
            check_columns_reach_forward(net.module_, X_train, net_params)
        device = net.device
        data = [to_tensors(a, device) for a in (X_train, y_train, X_test, y_test)]
        targets = self._targets(net)
        if check:
            self._check_targets(net, targets, data[0], net_params, data[1])
        fold = self._fold(net, targets, t_center, *data, forward_kwargs=net_params)
        scorer_est = Pipeline(steps + [(self.step_name, net)]) if steps else net
        return fold, scorer_est

    def _split_fit_params(self, fit_params):
        """``(net's, preprocessing's)`` fit params; a Pipeline names its steps."""
        if self.step_name is None:
            return dict(fit_params), {}
        prefix = f"{self.step_name}__"
        net_params = {k[len(prefix):]: v for k, v in fit_params.items() if k.startswith(prefix)}
        others = {k: v for k, v in fit_params.items() if not k.startswith(prefix)}
        return net_params, others

    def _check_targets(self, net, targets, X_train, forward_kwargs, y_train=None):
        rows = take(X_train, slice(0, 16))
        weights = dict(net.module_.named_parameters())

        def forward():
            torch.manual_seed(0)
            net.module_.train()
            with torch.no_grad():
                out = run_module(net.module_, weights, rows, forward_kwargs)
            return out[0] if isinstance(out, tuple) else out

        for target, dim in zip(targets, self.space.dimensions):
            target.check(net)
            target.check_bounds(net, dim.low, dim.high)
        probe_module(net, X_train, forward_kwargs, y_train, preprocessed=self.prefix is not None)
        for target, dim in zip(targets, self.space.dimensions):
            target.check_effect(net, forward, dim.low, dim.high)

    def _fold(self, net, targets, t_center, X_train, y_train, X_val, y_val, forward_kwargs):
        params = dict(net.module_.named_parameters())
        layout = HypernetLayout.of(self.space)
        hypernet = make_hypernet(self.hypernet, params, len(self.space), t_center, layout)
        keys = self.space.keys
        fixed = self.fixed_weight_decay()
        covered = {name for block in self.space.blocks for name in block.names}

        def set_train(values):
            for key, target in zip(keys, targets):
                target.set_train(net, values[key])

        def set_eval():
            for target in targets:
                target.set_eval(net)

        def penalty(values, weights):
            total = 0.0
            if fixed:
                free = {n: w for n, w in weights.items() if n not in covered}
                total = WeightDecay("").penalty(fixed, free)
            for key, target in zip(keys, targets):
                term = target.penalty(values[key], weights)
                if term is not None:
                    total = total + term
            return total

        def loss(y_pred, y_true, X, training):
            return net.get_loss(y_pred, y_true, X=X, training=training)

        return Fold(hypernet, net.module_, loss, set_train, set_eval, penalty,
                    X_train, y_train, X_val, y_val, forward_kwargs)


def load_weights(scoring_estimator, weights):
    """Copy generated ``weights`` into the module of a fold's scoring estimator."""
    net = scoring_estimator[-1] if isinstance(scoring_estimator, Pipeline) else scoring_estimator
    with torch.no_grad():
        for name, param in net.module_.named_parameters():
            param.copy_(weights[name])
