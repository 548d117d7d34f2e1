"""Targets: how each hyperparameter key reaches the training loss.

A target is a small object that knows one hyperparameter's route into
training. Before each training forward the loop calls :meth:`set_train`
with the sampled value and adds :meth:`penalty` to the loss; before each
validation forward it calls :meth:`set_eval`. The validation loss is then
free of the hyperparameter, which reaches it only through the weights the
hypernet generates.

Built in: ``optimizer__weight_decay`` (an L2 penalty; with vector bounds,
one decay per layer, unit or weight), ``module__NAME`` and
``criterion__NAME``: as in skorch, the constructor argument ``NAME``, set
where the built module or criterion keeps it (a dropout-like child's ``p``,
a float attribute read in ``forward``, ``label_smoothing``; see ``_locate``).
Register your own with :func:`register_target`.
"""

from __future__ import annotations

import difflib
import inspect
import numbers
import warnings

import torch

from ._locate import factory_of, grid_axis_fix, locate_argument, takes_argument
from .exceptions import SkhyperWarning, UnsupportedHyperparameterError

_REGISTRY = []  # (matcher, target class), consulted before the built-ins


class HyperTarget:
    """Base class of targets. Subclasses override the hooks they need.

    Parameters
    ----------
    key : str
        The net's own parameter name (without any Pipeline step prefix).

    Examples
    --------
    A noise level that a custom module reads as ``self.noise`` in forward:

    >>> class InputNoise(HyperTarget):
    ...     def set_train(self, net, value):
    ...         net.module_.noise = value
    ...     def set_eval(self, net):
    ...         net.module_.noise = 0.0
    >>> register_target("module__noise", InputNoise)
    >>> unregister_target("module__noise")
    """

    #: Whether larger values regularize more (weight decay, dropout, label
    #: smoothing, input noise). Among candidates that real CV cannot tell apart,
    #: ``select="regularized"`` prefers larger values of such keys; set it to
    #: False in a target for which that is not so, and the rule ignores the key.
    larger_regularizes = True

    def __init__(self, key):
        self.key = key

    def check(self, net):
        """Raise :class:`UnsupportedHyperparameterError` if ``net`` cannot take it."""

    def check_bounds(self, net, low, high):
        """Raise ``ValueError`` if ``[low, high]`` leaves the hyperparameter's domain."""

    def set_train(self, net, value):
        """Put ``value`` in place before a training forward."""

    def set_eval(self, net):
        """Make the hyperparameter inert before a validation forward."""

    def penalty(self, value, weights):
        """A term added to the training loss (``None`` for none)."""
        return None

    def check_effect(self, net, forward, low, high):
        """Raise if ``value`` does not change the training forward.

        ``forward()`` runs one seeded training-mode forward of ``net`` on a
        small batch and returns its output.
        """

    def _out_of_domain(self, low, high, domain, fix):
        raise ValueError(
            f"param_bounds[{self.key!r}] = ({low!r}, {high!r}) leaves the valid domain "
            f"{domain} of {self.key}. {fix}"
        )

    def __repr__(self):
        return f"{type(self).__name__}({self.key!r})"


class WeightDecay(HyperTarget):
    """``optimizer__weight_decay`` as the penalty ``(value / 2) * sum ||w||^2``.

    This is the loss whose gradient torch's SGD and Adam ``weight_decay``
    adds, over every learnable parameter, so the refit with the found value
    optimizes the same objective.
    """

    def check(self, net):
        optimizer = net.optimizer
        if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.AdamW):
            warnings.warn(
                "optimizer__weight_decay: AdamW's decoupled weight decay has no "
                "loss form, so the search tunes an L2 penalty (Adam-style decay) "
                "while the refit uses AdamW's decoupled decay; the found value may "
                "not transfer. Use optimizer=torch.optim.Adam to tune it exactly.",
                SkhyperWarning,
                stacklevel=2,
            )

    def check_bounds(self, net, low, high):
        if low < 0:
            self._out_of_domain(low, high, ">= 0", "Give bounds with low >= 0, e.g. "
                                "(1e-5, 1e-1, 'log').")

    def penalty(self, value, weights):
        return 0.5 * value * sum(w.pow(2).sum() for w in weights.values())


class BlockWeightDecay(WeightDecay):
    """``optimizer__weight_decay`` with vector bounds: one decay per layer, unit or
    weight of the block's tensors, as ``(1 / 2) * sum_i decay_i * w_i^2``.

    Its gradient ``decay * w`` is what torch's coupled ``weight_decay`` adds,
    element by element, so the refit (:func:`skhyper.with_params`) optimizes
    the same objective. Tensors outside the block keep the net's own decay.

    Parameters
    ----------
    key : str
    block : Block
        The resolved block (its tensors and their layout).
    """

    def __init__(self, key, block):
        super().__init__(key)
        self.block = block

    def penalty(self, value, weights):
        # value: the block's decays, a tensor of shape (block.size,)
        return 0.5 * sum(
            (slot.take(value) * weights[slot.name].pow(2)).sum() for slot in self.block.slots
        )


class ModuleAttribute(HyperTarget):
    """``module__NAME``: a constructor argument of the module, or a float attribute.

    As in skorch, ``module__NAME`` is first the module's constructor argument
    ``NAME``: ``locations`` are then where the built module keeps it (found by
    :func:`~skhyper._locate.locate_argument`, e.g. ``[("drop", "p")]`` for
    ``self.drop = nn.Dropout(p)``). Without ``locations``, ``NAME`` is the
    module's attribute: a dropout-like child (its ``p``) or a float.

    Module attributes are set before each training forward and are expected
    to act in training mode only (as dropout does); validation runs the
    module in eval mode.
    """

    def __init__(self, key, locations=None):
        super().__init__(key)
        self.locations = locations

    @property
    def name(self):
        return self.key.split("__", 1)[1]

    def _holders(self, net):
        """``[(object, attribute)]`` pairs that hold the value in ``net.module_``."""
        if self.locations is not None:
            return [(net.module_.get_submodule(path), attr) for path, attr in self.locations]
        return [self._holder(net)]

    def _holder(self, net):
        attr = getattr(net.module_, self.name)
        return (attr, "p") if isinstance(attr, torch.nn.Module) else (net.module_, self.name)

    def check(self, net):
        if self.locations is not None:
            return  # located by building the module: float attributes by construction
        module = net.module_
        if not hasattr(module, self.name):
            raise UnsupportedHyperparameterError(
                f"{self.key!r}: the initialized module {type(module).__name__} has no "
                f"attribute {self.name!r}. The search sets module_.{self.name} (or "
                f"module_.{self.name}.p for a dropout layer) before each training "
                f"step, so store the constructor argument as self.{self.name} and "
                "read it in forward (e.g. F.dropout(x, self.dropout, self.training))."
            )
        attr = getattr(module, self.name)
        if isinstance(attr, torch.nn.Module):
            if not isinstance(getattr(attr, "p", None), float):
                raise UnsupportedHyperparameterError(
                    f"{self.key!r}: module_.{self.name} is a {type(attr).__name__} "
                    "without a float attribute 'p'; only dropout-like layers can be "
                    "tuned this way. Register a target for it with "
                    "skhyper.register_target."
                )
        elif isinstance(attr, bool) or not isinstance(attr, (float, int)):
            raise UnsupportedHyperparameterError(
                f"{self.key!r}: module_.{self.name} is {attr!r}, not a float the "
                "module reads at forward time."
            )
        elif isinstance(attr, int):
            raise UnsupportedHyperparameterError(
                f"{self.key!r} is an integer ({attr!r}): it likely changes the "
                "network's shape, so no best response exists for it. "
                f"{grid_axis_fix(self.key)}."
            )

    def check_bounds(self, net, low, high):
        dropout_like = any(attr == "p" and holder is not net.module_
                           for holder, attr in self._holders(net))
        if dropout_like:
            # a dropout-like layer: torch refuses p outside [0, 1]; p = 1 drops everything
            if low < 0 or high >= 1:
                self._out_of_domain(low, high, "[0, 1) (the dropout probability p)",
                                    "Give bounds inside it, e.g. (0.0, 0.8).")

    def set_train(self, net, value):
        for holder, attr in self._holders(net):
            setattr(holder, attr, float(value))

    def check_effect(self, net, forward, low, high):
        holders = self._holders(net)
        originals = [getattr(holder, attr) for holder, attr in holders]
        try:
            outputs = []
            for value in (low, high):
                self.set_train(net, value)
                outputs.append(forward())
        finally:
            for (holder, attr), original in zip(holders, originals):
                setattr(holder, attr, original)
        if torch.equal(outputs[0], outputs[1]):
            raise UnsupportedHyperparameterError(
                f"{self.key!r}: changing module_.{self.name} from {low!r} to "
                f"{high!r} does not change the module's training output, so it is "
                "not read at forward time (perhaps it only configured a layer in "
                f"__init__). Store it as self.{self.name} and read it in forward, or "
                f"keep the dropout layer as self.{self.name} = nn.Dropout(...)."
            )


class CriterionAttribute(HyperTarget):
    """``criterion__NAME``: a float attribute of the criterion.

    Set to the sampled value for training and to ``neutral`` (0.0) for the
    validation loss, e.g. ``criterion__label_smoothing``.
    """

    neutral = 0.0

    def __init__(self, key, locations=None):
        super().__init__(key)
        self.locations = locations

    @property
    def name(self):
        return self.key.split("__", 1)[1]

    def _holders(self, net):
        if self.locations is not None:
            root = net.criterion_
            return [(root.get_submodule(path) if path else root, attr)
                    for path, attr in self.locations]
        return [(net.criterion_, self.name)]

    def check(self, net):
        if self.locations is not None:
            return
        criterion = net.criterion_
        attr = getattr(criterion, self.name, None)
        if not isinstance(attr, float):
            raise UnsupportedHyperparameterError(
                f"{self.key!r}: the criterion {type(criterion).__name__} has no "
                f"float attribute {self.name!r} (found {attr!r}). Use a criterion "
                "that stores it, e.g. criterion=torch.nn.CrossEntropyLoss with "
                "criterion__label_smoothing."
            )

    #: closed domains of known criterion attributes
    domains = {"label_smoothing": (0.0, 1.0)}

    def check_bounds(self, net, low, high):
        names = {attr for _, attr in self.locations} if self.locations else {self.name}
        domain = next((self.domains[n] for n in sorted(names) if n in self.domains), None)
        if domain is not None and not (domain[0] <= low and high <= domain[1]):
            self._out_of_domain(low, high, f"[{domain[0]:g}, {domain[1]:g}]",
                                "Give bounds inside it, e.g. (0.0, 0.3).")

    def set_train(self, net, value):
        for holder, attr in self._holders(net):
            setattr(holder, attr, float(value))

    def set_eval(self, net):
        for holder, attr in self._holders(net):
            setattr(holder, attr, self.neutral)


def register_target(key, target_class):
    """Route a hyperparameter key to a target of your own.

    Parameters
    ----------
    key : str or callable
        An exact key of the net (``"module__noise"``), or a predicate
        ``key -> bool``. Registered targets are consulted before the built-ins.
    target_class : type
        A subclass of :class:`HyperTarget`, called with the key.
    """
    if not (isinstance(target_class, type) and issubclass(target_class, HyperTarget)):
        raise TypeError(
            f"target_class must be a subclass of skhyper.HyperTarget; got {target_class!r}."
        )
    _REGISTRY.append((key, target_class))


def unregister_target(key):
    """Remove the targets registered under ``key``."""
    _REGISTRY[:] = [(k, cls) for k, cls in _REGISTRY if k != key]


# Keys that are never best-response hyperparameters, with the reason.
_OPTIMIZER_REASON = (
    "it shapes the optimizer, not the training loss, so the weights have no "
    "best response to it"
)
_NOT_TUNABLE = {
    "lr": _OPTIMIZER_REASON,
    "max_epochs": "it sets the training budget, not the training loss",
    "batch_size": "it is discrete and shapes the optimizer",
}


def resolve_target(key, net, bounds=None):
    """The target for ``key`` of a skorch ``net``, or a clear error.

    ``module__NAME`` and ``criterion__NAME`` are resolved as skorch reads them:
    ``NAME`` is a constructor argument, and the target sets the attributes the
    built component keeps it in (found by building it with the two ``bounds``).
    A ``NAME`` the constructor does not take is refused, since the refit's
    ``set_params`` would fail on it.

    Parameters
    ----------
    key : str
        The net's own parameter name, e.g. ``"module__dropout"``.
    net : skorch.NeuralNet
        An initialized net (its ``module_`` and ``criterion_`` exist).
    bounds : (float, float), optional
        The searched range; its ends are the probe values of a constructor
        argument (default ``(0.25, 0.5)``).

    Returns
    -------
    HyperTarget
    """
    for matcher, cls in _REGISTRY:
        if (matcher == key) if isinstance(matcher, str) else matcher(key):
            return cls(key)
    prefix, _, name = key.partition("__")
    if key == "optimizer__weight_decay":
        return WeightDecay(key)
    if prefix in ("module", "criterion") and name:
        return _component_target(key, prefix, name, net, bounds)
    known_optimizer_arg = prefix == "optimizer" and name in _optimizer_args(net)
    if key not in net.get_params(deep=False) and not known_optimizer_arg:
        _raise_unknown(key, net)
    reason = _NOT_TUNABLE.get(key)
    if reason is None and prefix == "optimizer":
        reason = _OPTIMIZER_REASON
    reason = reason or "it does not enter the training loss"
    raise UnsupportedHyperparameterError(
        f"{key!r} cannot be tuned by gradient: {reason}. {grid_axis_fix(key)}; or "
        "register a target for it with skhyper.register_target."
    )


def _optimizer_args(net):
    try:
        return set(inspect.signature(net.optimizer).parameters) - {"params"}
    except (TypeError, ValueError):
        return set()


def _module_arg(net, name):
    """The value of the module's constructor argument ``name`` (given or default)."""
    given = net.get_params_for("module")
    if name in given:
        return given[name]
    module_class = net.module if isinstance(net.module, type) else type(net.module)
    try:
        param = inspect.signature(module_class).parameters.get(name)
    except (TypeError, ValueError):
        param = None
    return None if param is None else param.default


def _component_target(key, prefix, name, net, bounds):
    """The target of ``module__NAME`` / ``criterion__NAME``: skorch's constructor
    argument ``NAME``, located in the built component (see ``_locate``)."""
    target_class = ModuleAttribute if prefix == "module" else CriterionAttribute
    if prefix == "module":
        _check_integer(key, name, net)
    factory = factory_of(getattr(net, prefix))
    takes = takes_argument(factory, name)
    if takes is None:  # the constructor's signature is unknown: the attribute route
        if not hasattr(getattr(net, f"{prefix}_"), name):
            _raise_if_misspelled(key, net)
        return target_class(key)
    if not takes:
        _raise_not_an_argument(key, prefix, name, net, factory)
    probes = (0.25, 0.5) if bounds is None else bounds
    locations = locate_argument(key, factory, net.get_params_for(prefix), name, probes)
    return target_class(key, locations)


def _check_integer(key, name, net):
    """Refuse an integer ``module__NAME`` (a layer size, a count): it shapes the net."""
    value = getattr(net.module_, name, _module_arg(net, name))
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        raise UnsupportedHyperparameterError(
            f"{key!r} is an integer ({value!r}): it likely changes the network's shape, "
            f"so no best response exists for it. {grid_axis_fix(key)}."
        )


def _raise_not_an_argument(key, prefix, name, net, factory):
    """``NAME`` is not a constructor argument: the refit's set_params would fail."""
    close = difflib.get_close_matches(key, _tunable_keys(net), n=1)
    if close and close[0] != key:
        _raise_unknown(key, net)
    label = getattr(factory, "__name__", repr(factory))
    if prefix == "criterion":
        fix = (f"Use a criterion whose constructor takes {name!r} (e.g. "
               "criterion=torch.nn.CrossEntropyLoss with criterion__label_smoothing), "
               f"or add the argument to {label}.__init__.")
    else:
        fix = (f"Add the argument to {label}.__init__, e.g. def __init__(self, ..., "
               f"{name}=0.5), and keep it where forward uses it: self.{name} = "
               f"nn.Dropout({name}), or self.{name} = {name} read in forward.")
    raise UnsupportedHyperparameterError(
        f"{key!r}: {label}.__init__ takes no argument {name!r}, so the refit's "
        f"set_params({key}=...) would fail: skorch passes {prefix}__ keys to the "
        f"{prefix}'s constructor. {fix}"
    )


def _module_float_names(net):
    names = set()
    for attr, value in vars(net.module_).items():
        if isinstance(value, float) and not attr.startswith("_"):
            names.add(attr)
    for attr, child in net.module_.named_children():
        if isinstance(getattr(child, "p", None), float):
            names.add(attr)
    return names


def _float_arguments(component):
    """Constructor arguments of ``component`` with a float default."""
    try:
        params = inspect.signature(factory_of(component)).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if isinstance(p.default, float)}


def _tunable_keys(net):
    """Keys that would be accepted for ``net``: the base of 'did you mean'."""
    keys = {"optimizer__weight_decay"}
    # skorch's module__NAME is a constructor argument; attributes only when the
    # constructor's signature cannot be read
    if takes_argument(factory_of(net.module), "") is None:
        keys.update(f"module__{name}" for name in _module_float_names(net))
    keys.update(f"module__{name}" for name in _float_arguments(net.module))
    keys.update(f"criterion__{name}" for name in _float_arguments(net.criterion))
    keys.update(
        f"criterion__{attr}"
        for attr, value in vars(net.criterion_).items()
        if isinstance(value, float) and not attr.startswith("_")
    )
    keys.update(k for k, _ in _REGISTRY if isinstance(k, str))
    return sorted(keys)


def _raise_if_misspelled(key, net):
    """Raise the unknown-key error when ``key`` is close to a key that would work."""
    if difflib.get_close_matches(key, _tunable_keys(net), n=1):
        _raise_unknown(key, net)


def _raise_unknown(key, net):
    candidates = _tunable_keys(net) + list(net.get_params(deep=False))
    close = difflib.get_close_matches(key, candidates, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise UnsupportedHyperparameterError(
        f"{key!r} is not a parameter of {type(net).__name__}.{hint} Keys are the "
        "net's own parameter names, e.g. 'optimizer__weight_decay', "
        "'module__dropout' or 'criterion__label_smoothing'."
    )
