"""Search space: bounds, their parsing, and the maps between values and coordinates.

Three coordinate systems are used for each hyperparameter:

* the *value* the estimator sees (``optimizer__weight_decay=1e-4``);
* the *unit* coordinate ``t`` in ``[0, 1]``, linear in the value or in its
  logarithm; the hypernet reads ``t``;
* the *search* coordinate ``u = logit(t)``, unconstrained, in which
  ``lambda_hat`` moves by gradient descent, so values always stay inside the
  bounds.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from ._blocks import Block, is_block

#: Unit coordinates are kept this far from 0 and 1 so that logit stays finite.
UNIT_MARGIN = 0.01


@dataclass(frozen=True)
class Dimension:
    """One continuous hyperparameter: its key and its bounds.

    Parameters
    ----------
    key : str
        The estimator's own parameter name, e.g. ``"optimizer__weight_decay"``.
    low, high : float
        Inclusive bounds, ``low < high``.
    log : bool
        Whether the search is linear in ``log(value)`` rather than in ``value``.

    Examples
    --------
    >>> dim = Dimension("optimizer__weight_decay", 1e-6, 1e-1, log=True)
    >>> round(dim.to_unit(1e-6), 6), round(dim.to_unit(1e-1), 6)
    (0.0, 1.0)
    >>> round(dim.from_unit(0.5), 8)  # the geometric middle
    0.00031623
    """

    key: str
    low: float
    high: float
    log: bool = False

    def _ends(self):
        if self.log:
            return math.log(self.low), math.log(self.high)
        return self.low, self.high

    def to_unit(self, value):
        """Map a value inside the bounds to its unit coordinate in ``[0, 1]``."""
        lo, hi = self._ends()
        x = math.log(value) if self.log else value
        return (x - lo) / (hi - lo)

    def from_unit(self, t):
        """Map a unit coordinate (float or tensor) back to a value."""
        lo, hi = self._ends()
        x = lo + t * (hi - lo)
        if isinstance(x, torch.Tensor):
            return torch.exp(x) if self.log else x
        return math.exp(x) if self.log else x

    def contains(self, value):
        """Whether ``value`` is a real number within the bounds (inclusive)."""
        return (
            isinstance(value, numbers.Real)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


class SearchSpace:
    """The box of hyperparameters searched, in a fixed key order.

    Each key is a scalar :class:`Dimension` or, for vector bounds
    (:class:`~skhyper.PerUnit` and friends), a block of coordinates that
    share one set of bounds. A space with vector bounds is known only once
    the module exists: :meth:`resolve` gives it its blocks. The unit vector
    ``t`` concatenates every key's coordinates in key order.

    Parameters
    ----------
    entries : list of Dimension or (Dimension, BlockBounds) or Block

    Examples
    --------
    >>> space = parse_bounds({"module__dropout": (0.0, 0.8)})
    >>> space.values_from_unit([0.5])
    {'module__dropout': 0.4}
    """

    def __init__(self, entries):
        self.entries = list(entries)

    # -- structure ------------------------------------------------------------
    @property
    def keys(self):
        return [self._dim(e).key for e in self.entries]

    @property
    def dimensions(self):
        """Each key's scalar bounds (a block's values all share them)."""
        return [self._dim(e) for e in self.entries]

    @property
    def blocks(self):
        """The resolved blocks (vector keys)."""
        return [e for e in self.entries if isinstance(e, Block)]

    @property
    def needs_resolving(self):
        return any(isinstance(e, tuple) for e in self.entries)

    @staticmethod
    def _dim(entry):
        if isinstance(entry, Block):
            return entry.dim
        return entry[0] if isinstance(entry, tuple) else entry

    def _sizes(self):
        if self.needs_resolving:
            raise RuntimeError("vector bounds are resolved against the module first")
        return [e.size if isinstance(e, Block) else 1 for e in self.entries]

    def __len__(self):
        """The number of hyperparameters (coordinates of ``t``)."""
        return sum(self._sizes())

    def slices(self):
        """Each key's ``slice`` of the coordinate vector."""
        out, start = [], 0
        for size in self._sizes():
            out.append(slice(start, start + size))
            start += size
        return out

    def resolve(self, named_shapes):
        """The space with its vector bounds laid out over the module's parameters.

        Parameters
        ----------
        named_shapes : dict of str -> tuple
            The module's learnable parameters' names and shapes.
        """
        entries, offset = [], 0
        for entry in self.entries:
            if isinstance(entry, tuple):
                dim, spec = entry
                entry = spec.resolve(dim.key, dim, named_shapes, offset)
            offset += entry.size if isinstance(entry, Block) else 1
            entries.append(entry)
        return SearchSpace(entries)

    # -- values and coordinates ---------------------------------------------
    def values_from_unit(self, t):
        """Values, clipped into the bounds, for unit coordinates ``t``: a float
        per scalar key, a structure (see :meth:`Block.structure`) per block."""
        t = np.asarray(t, dtype=float).reshape(-1)
        out = {}
        for entry, part in zip(self.entries, self.slices()):
            dim = self._dim(entry)
            values = np.clip(from_unit_array(dim, t[part]), dim.low, dim.high)
            if isinstance(entry, Block):
                out[dim.key] = entry.structure(values)
            else:
                out[dim.key] = float(values[0])
        return out

    def train_values(self, t):
        """The values of a unit-coordinate tensor ``t`` for the training loss:
        a float per scalar key (one host sync for them all), a tensor of the
        block's values per vector key (no sync)."""
        scalars = [i for i, e in enumerate(self.entries) if not isinstance(e, Block)]
        parts = self.slices()
        host = t[[parts[i].start for i in scalars]].tolist() if scalars else []
        out = dict(zip((self.keys[i] for i in scalars), host))
        for entry, part in zip(self.entries, parts):
            if isinstance(entry, Block):
                dim = entry.dim
                out[dim.key] = dim.from_unit(t[part]).clamp(dim.low, dim.high)
            else:
                dim = entry
                out[dim.key] = float(min(max(dim.from_unit(out[dim.key]), dim.low), dim.high))
        return {key: out[key] for key in self.keys}

    def unit_from_values(self, values):
        """Unit coordinates (numpy array) of a dict of values (a block's value may
        be its structure or one number for all its coordinates)."""
        parts = []
        for entry in self.entries:
            dim = self._dim(entry)
            value = values[dim.key]
            flat = entry.flat(value) if isinstance(entry, Block) else np.array([value], float)
            parts.append(to_unit_array(dim, flat))
        return np.concatenate(parts)

    def expand_shared(self, shared):
        """Full unit coordinates from one coordinate per key, shape ``(..., n)``: a
        block's coordinates all take its key's shared value."""
        shared = np.asarray(shared, dtype=float)
        sizes = self._sizes()
        return np.repeat(shared, sizes, axis=-1)

    def start_unit(self, current_values):
        """Unit coordinates of the starting point.

        A hyperparameter starts at the estimator's own value when that value
        lies within the bounds, else at the middle of its range (in search
        coordinates); a block starts with every coordinate there. Coordinates
        are kept ``UNIT_MARGIN`` away from the walls so that the search
        coordinate ``logit(t)`` is finite.
        """
        t = [
            dim.to_unit(current_values[dim.key])
            if dim.contains(current_values.get(dim.key))
            else 0.5
            for dim in self.dimensions
        ]
        return np.clip(self.expand_shared(t), UNIT_MARGIN, 1 - UNIT_MARGIN)

    def grid_unit(self, max_points=64, random_state=None):
        """Unit coordinates of a coarse cover of the box, shape (n_points, n).

        The cover is over one coordinate per key (a block's coordinates share
        one value: the cover looks for each block's best shared value, the
        one direction a few points can cover in many dimensions). A regular
        grid while it fits in ``max_points`` with at least 3 points per axis
        (at most 7), else ``max_points`` uniform random points.
        """
        d = len(self.entries)
        per_axis = min(7, int(math.floor(max_points ** (1.0 / d) + 1e-9)))
        if per_axis >= 3:
            axis = np.linspace(0.0, 1.0, per_axis)
            mesh = np.meshgrid(*([axis] * d), indexing="ij")
            points = np.stack([m.ravel() for m in mesh], axis=1)
        else:
            rng = np.random.default_rng(random_state)
            points = rng.uniform(size=(max_points, d))
        return np.clip(self.expand_shared(points), UNIT_MARGIN, 1 - UNIT_MARGIN)

    def describe(self, t):
        """A short readable summary of the values at ``t`` (for messages)."""
        return {k: format_value(v) for k, v in self.values_from_unit(t).items()}


def format_value(value):
    """A float as ``'0.000316'``; a block's structure as its median and range."""
    if not isinstance(value, dict):
        return f"{value:.3g}"
    flat = np.concatenate([np.ravel(v) for v in value.values()])
    if flat.size == 1:
        return f"{flat[0]:.3g}"
    return (f"median {np.median(flat):.3g} in [{flat.min():.3g}, {flat.max():.3g}] "
            f"({flat.size} values)")


def from_unit_array(dim, t):
    """:meth:`Dimension.from_unit` of a numpy array of unit coordinates."""
    lo, hi = dim._ends()
    x = lo + np.asarray(t, dtype=float) * (hi - lo)
    return np.exp(x) if dim.log else x


def to_unit_array(dim, values):
    lo, hi = dim._ends()
    values = np.asarray(values, dtype=float)
    x = np.log(values) if dim.log else values
    return (x - lo) / (hi - lo)


def parse_bounds(param_bounds):
    """Parse ``param_bounds`` into a :class:`SearchSpace`, with clear errors.

    Parameters
    ----------
    param_bounds : dict
        Maps parameter names to ``(low, high)``, ``(low, high, "log")``,
        ``(low, high, "linear")``, a frozen ``scipy.stats.uniform`` /
        ``scipy.stats.loguniform``, or vector bounds wrapping one of these
        (:class:`~skhyper.PerLayer`, :class:`~skhyper.PerUnit`,
        :class:`~skhyper.PerWeight`).

    Returns
    -------
    SearchSpace

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> space = parse_bounds({"optimizer__weight_decay": loguniform(1e-5, 1e-1)})
    >>> space.dimensions[0]
    Dimension(key='optimizer__weight_decay', low=1e-05, high=0.1, log=True)
    """
    if not isinstance(param_bounds, dict):
        raise TypeError(
            "param_bounds must be a dict mapping parameter names to bounds, e.g. "
            "{'optimizer__weight_decay': (1e-6, 1e-1, 'log')}; "
            f"got {type(param_bounds).__name__} {param_bounds!r}."
        )
    if not param_bounds:
        raise ValueError(
            "param_bounds is empty: give at least one hyperparameter, e.g. "
            "{'optimizer__weight_decay': (1e-6, 1e-1, 'log')}."
        )
    return SearchSpace(_parse_entry(key, spec) for key, spec in param_bounds.items())


def _parse_entry(key, spec):
    """A Dimension, or for vector bounds ``(Dimension, BlockBounds)`` to resolve."""
    if is_block(spec):
        if is_block(spec.bounds):
            raise TypeError(f"param_bounds[{key!r}] = {spec!r}: vector bounds do not nest.")
        spec.patterns(key)  # checks params early
        return _parse_one(key, spec.bounds), spec
    return _parse_one(key, spec)


def _parse_one(key, spec):
    if not isinstance(key, str):
        raise TypeError(f"param_bounds keys must be parameter names (str); got {key!r}.")
    if hasattr(spec, "dist") and hasattr(spec, "support"):
        return _parse_scipy(key, spec)
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise TypeError(
            f"param_bounds[{key!r}] must be (low, high), (low, high, 'log') or a "
            f"frozen scipy.stats uniform/loguniform; got {spec!r}."
        )
    scale = spec[2] if len(spec) == 3 else "linear"
    if scale not in ("linear", "log"):
        raise ValueError(
            f"param_bounds[{key!r}] has scale {scale!r}; use 'linear' or 'log'."
        )
    return _checked_dimension(key, spec[0], spec[1], scale == "log")


def _parse_scipy(key, dist):
    name = getattr(dist.dist, "name", type(dist.dist).__name__)
    if name not in ("uniform", "loguniform", "reciprocal"):
        raise ValueError(
            f"param_bounds[{key!r}] is a scipy.stats {name} distribution; only "
            "uniform and loguniform describe a bounded box. Use e.g. "
            "scipy.stats.loguniform(1e-6, 1e-1) or a tuple (low, high)."
        )
    low, high = (float(v) for v in dist.support())
    return _checked_dimension(key, low, high, name != "uniform")


def _checked_dimension(key, low, high, log):
    for name, v in (("low", low), ("high", high)):
        if not isinstance(v, numbers.Real) or isinstance(v, bool):
            raise TypeError(f"param_bounds[{key!r}]: {name} must be a number; got {v!r}.")
        if not math.isfinite(v):
            raise ValueError(
                f"param_bounds[{key!r}]: {name}={v!r} is not finite; give finite bounds."
            )
    if not low < high:
        raise ValueError(
            f"param_bounds[{key!r}] = ({low!r}, {high!r}): low must be smaller than "
            "high. To fix a hyperparameter, set it on the estimator instead."
        )
    if log and low <= 0:
        raise ValueError(
            f"param_bounds[{key!r}] = ({low!r}, {high!r}, 'log'): a log scale needs "
            f"low > 0; use e.g. ({high * 1e-5:g}, {high!r}, 'log') or a linear scale."
        )
    return Dimension(key, float(low), float(high), bool(log))
