"""Vector bounds: one key expanded into a block of hyperparameters.

``PerLayer``, ``PerUnit`` and ``PerWeight`` wrap any scalar bounds that
``param_bounds`` accepts and say how many hyperparameters the key stands for:
one per parameter tensor, per output unit (first dimension) of each tensor, per
input (second dimension: a column of a linear layer's weight, an input channel of
a convolution's) or per element. Which tensors is a glob pattern (or a list of them) over the
module's ``named_parameters()`` names, matched with :func:`fnmatch.fnmatch` as
skorch matches ``optimizer__param_groups``.

A block is *resolved* once the module exists (:meth:`BlockBounds.resolve`):
it then knows its tensors, their shapes and where each tensor's values sit in
the block's flat vector. Each tensor's part is a :class:`Slot`, which maps a
flat vector of the block to a tensor that broadcasts against the parameter
(the same map serves the decay values in the penalty and the hyperparameter
shift in the hypernet).
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .exceptions import UnsupportedHyperparameterError

_FORMS = {"layer": "PerLayer", "unit": "PerUnit", "input": "PerInput", "weight": "PerWeight"}


def _shown_bounds(bounds):
    """``bounds`` as the user wrote them: a frozen scipy distribution as its call,
    e.g. ``loguniform(1e-05, 1)`` (its own repr is an object address)."""
    dist = getattr(bounds, "dist", None)
    if dist is None or not hasattr(bounds, "args"):
        return repr(bounds)
    args = [repr(a) for a in bounds.args] + [f"{k}={v!r}" for k, v in bounds.kwds.items()]
    return f"{dist.name}({', '.join(args)})"


class BlockBounds:
    """Base class of the vector bounds (see :class:`PerLayer`)."""

    form = None

    def __init__(self, bounds, params="*"):
        self.bounds = bounds
        self.params = params

    def __repr__(self):
        return f"{type(self).__name__}({_shown_bounds(self.bounds)}, params={self.params!r})"

    def __eq__(self, other):
        return (type(self) is type(other)
                and _shown_bounds(self.bounds) == _shown_bounds(other.bounds)
                and self.params == other.params)

    def __hash__(self):
        return hash((type(self).__name__, _shown_bounds(self.bounds), repr(self.params)))

    def patterns(self, key):
        """``params`` as a list of glob patterns, with a clear error for bad input."""
        patterns = [self.params] if isinstance(self.params, str) else self.params
        if (not isinstance(patterns, list | tuple) or not patterns
                or not all(isinstance(p, str) for p in patterns)):
            raise TypeError(
                f"param_bounds[{key!r}] = {self!r}: params must be a glob pattern or a "
                "non-empty list of them over the module's parameter names, e.g. "
                "'out.weight', '*.weight' or ['hidden.weight', 'out.weight']."
            )
        return list(patterns)

    def resolve(self, key, dim, named_shapes, offset):
        """The resolved :class:`Block` of this key over the module's parameters.

        Parameters
        ----------
        key : str
            The key as given in ``param_bounds``.
        dim : Dimension
            The parsed scalar bounds every value of the block shares.
        named_shapes : dict of str -> tuple
            The module's learnable parameters' names and shapes, in order.
        offset : int
            Where the block starts in the search's flat coordinate vector.
        """
        patterns = self.patterns(key)
        names = [n for n in named_shapes if any(fnmatch.fnmatch(n, p) for p in patterns)]
        if not names:
            raise ValueError(
                f"param_bounds[{key!r}] = {self!r} matches none of the module's "
                f"parameters {list(named_shapes)}. Give a pattern over these names, e.g. "
                f"params={next(iter(named_shapes), 'out.weight')!r} or params='*.weight'."
            )
        flat = [n for n in names if len(named_shapes[n]) < 2] if self.form == "input" else []
        if flat:
            raise ValueError(
                f"param_bounds[{key!r}] = {self!r} matches {flat} (shapes "
                f"{[tuple(named_shapes[n]) for n in flat]}), which have no input dimension: "
                "PerInput gives one value per column of a weight (its second dimension). "
                "Match weights only, e.g. params='hidden.weight' or params='*.weight'."
            )
        slots, start = [], 0
        for name in names:
            slot = Slot(name, tuple(named_shapes[name]), start, self.form)
            slots.append(slot)
            start = slot.stop
        return Block(key, dim, self.form, slots, offset)


class PerLayer(BlockBounds):
    """One hyperparameter per matched parameter tensor, all with the same bounds.

    Parameters
    ----------
    bounds : tuple or frozen scipy.stats distribution
        Any scalar form that ``param_bounds`` accepts: ``(low, high)``,
        ``(low, high, "log")``, ``uniform(...)`` or ``loguniform(...)``.
    params : str or list of str, default="*"
        Glob patterns over the module's ``named_parameters()`` names.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> PerLayer(loguniform(1e-5, 1e-1), params="*.weight").params
    '*.weight'
    """

    form = "layer"


class PerUnit(BlockBounds):
    """One hyperparameter per output unit (first dimension) of each matched tensor.

    On the output layer's weight, that is one per class. Parameters as in
    :class:`PerLayer`.

    Examples
    --------
    >>> PerUnit((1e-5, 1.0, "log"), params="out.weight")
    PerUnit((1e-05, 1.0, 'log'), params='out.weight')
    """

    form = "unit"


class PerInput(BlockBounds):
    """One hyperparameter per input (second dimension) of each matched weight.

    On a linear layer's weight, of shape ``(n_out, n_in)``, one per column: per input
    feature on the first layer, the automatic relevance determination (ARD) prior
    written as a weight decay; on a convolution's, one per input channel. The
    matched tensors need two dimensions or more. Parameters as in :class:`PerLayer`.

    ``best_params_`` holds each tensor's values shaped to broadcast against it,
    ``(1, n_in)`` for a linear weight, so that :func:`~skhyper.with_params` and
    :class:`~skhyper.DecayCallback` apply them per column, even for a square weight.

    Examples
    --------
    >>> PerInput((1e-5, 1.0, "log"), params="hidden.weight")
    PerInput((1e-05, 1.0, 'log'), params='hidden.weight')
    """

    form = "input"


class PerWeight(BlockBounds):
    """One hyperparameter per element of each matched tensor.

    Parameters as in :class:`PerLayer`.

    Examples
    --------
    >>> PerWeight((1e-5, 1.0, "log"), params=["hidden.weight", "out.weight"]).form
    'weight'
    """

    form = "weight"


@dataclass(frozen=True)
class Slot:
    """One parameter tensor's part of a block: values ``[start, stop)`` of the
    block's flat vector, laid out per tensor, per unit or per element."""

    name: str
    shape: tuple
    start: int
    form: str

    @property
    def count(self):
        if self.form == "layer" or not self.shape:
            return 1
        if self.form == "input":
            return self.shape[1]
        return self.shape[0] if self.form == "unit" else math.prod(self.shape)

    @property
    def stop(self):
        return self.start + self.count

    @property
    def broadcast_shape(self):
        """The shape a slot's values take to broadcast against the parameter."""
        if self.form == "weight" or not self.shape:
            return self.shape
        if self.form == "unit":
            return (self.shape[0],) + (1,) * (len(self.shape) - 1)
        if self.form == "input":
            return (1, self.shape[1]) + (1,) * (len(self.shape) - 2)
        return (1,) * len(self.shape)

    def take(self, vector, base=0):
        """This slot's values of ``vector`` (``(..., n)``; the slot starts at
        ``base + start``), shaped to broadcast against ``(..., *shape)``."""
        part = vector[..., base + self.start : base + self.stop]
        return part.reshape(tuple(part.shape[:-1]) + self.broadcast_shape)


@dataclass
class Block:
    """A resolved vector key: its shared bounds and the slots of its tensors.

    ``offset`` is where the block starts in the search's coordinate vector.
    """

    key: str
    dim: Any
    form: str
    slots: list
    offset: int

    @property
    def size(self):
        return self.slots[-1].stop

    @property
    def names(self):
        return [slot.name for slot in self.slots]

    def structure(self, flat):
        """The user-facing value of a flat vector of values: a dict
        ``{parameter name: float}`` (per layer) or ``{name: ndarray}`` shaped
        ``(n_units,)`` (per unit), ``(1, n_inputs, 1, ...)`` (per input) or like the
        parameter (per weight)."""
        flat = np.asarray(flat, dtype=float)
        out = {}
        for slot in self.slots:
            part = flat[slot.start : slot.stop]
            if self.form == "layer":
                out[slot.name] = float(part[0])
            elif self.form == "unit":
                out[slot.name] = part.copy()
            elif self.form == "input":  # shaped to broadcast per column, never per row
                out[slot.name] = part.reshape(slot.broadcast_shape).copy()
            else:
                out[slot.name] = part.reshape(slot.shape).copy()
        return out

    def flat(self, value):
        """The flat vector of a block value: a structure as :meth:`structure`
        returns, or one number for the whole block."""
        if not isinstance(value, dict):
            return np.full(self.size, float(value))
        missing = set(self.names) - set(value)
        extra = set(value) - set(self.names)
        if missing or extra:
            raise ValueError(
                f"{self.key}: a value of this {_FORMS[self.form]} block maps each of "
                f"{self.names} to its values; got the names {sorted(value)}."
            )
        parts = []
        for slot in self.slots:
            part = np.asarray(value[slot.name], dtype=float).reshape(-1)
            if part.size != slot.count:
                raise ValueError(
                    f"{self.key}[{slot.name!r}] needs {slot.count} values "
                    f"({_FORMS[self.form]} of a tensor of shape {slot.shape}); got {part.size}."
                )
            parts.append(part)
        return np.concatenate(parts)


def is_block(spec):
    """Whether a ``param_bounds`` value is vector bounds."""
    return isinstance(spec, BlockBounds)


def check_block_key(key, net_key, spec):
    """Vector bounds are for the net's ``optimizer__weight_decay`` only.

    ``key`` is the key as the user wrote it (with any Pipeline step prefix),
    ``net_key`` the net's own name for it.
    """
    if net_key != "optimizer__weight_decay":
        raise UnsupportedHyperparameterError(
            f"{key!r}: vector bounds ({type(spec).__name__}) are supported for "
            "optimizer__weight_decay only; give this key scalar bounds such as (low, high)."
        )
