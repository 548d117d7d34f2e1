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

    Parameters
    ----------
    dimensions : list of Dimension

    Examples
    --------
    >>> space = parse_bounds({"module__dropout": (0.0, 0.8)})
    >>> space.values_from_unit([0.5])
    {'module__dropout': 0.4}
    """

    def __init__(self, dimensions):
        self.dimensions = list(dimensions)

    def __len__(self):
        return len(self.dimensions)

    @property
    def keys(self):
        return [dim.key for dim in self.dimensions]

    def values_from_unit(self, t):
        """Plain-float values, clipped into the bounds, for unit coordinates ``t``."""
        t = np.asarray(t, dtype=float).reshape(-1)
        return {
            dim.key: float(min(max(dim.from_unit(float(ti)), dim.low), dim.high))
            for dim, ti in zip(self.dimensions, t)
        }

    def unit_from_values(self, values):
        """Unit coordinates (numpy array) of a dict of values."""
        return np.array([dim.to_unit(values[dim.key]) for dim in self.dimensions])

    def start_unit(self, current_values):
        """Unit coordinates of the starting point.

        A hyperparameter starts at the estimator's own value when that value
        lies within the bounds, else at the middle of its range (in search
        coordinates). Coordinates are kept ``UNIT_MARGIN`` away from the walls
        so that the search coordinate ``logit(t)`` is finite.
        """
        t = [
            dim.to_unit(current_values[dim.key])
            if dim.contains(current_values.get(dim.key))
            else 0.5
            for dim in self.dimensions
        ]
        return np.clip(np.array(t, dtype=float), UNIT_MARGIN, 1 - UNIT_MARGIN)

    def grid_unit(self, max_points=64, random_state=None):
        """Unit coordinates of a coarse cover of the box, shape (n_points, d).

        A regular grid while it fits in ``max_points`` with at least 3 points
        per axis (at most 7), else ``max_points`` uniform random points.
        """
        d = len(self)
        per_axis = min(7, int(math.floor(max_points ** (1.0 / d) + 1e-9)))
        if per_axis >= 3:
            axis = np.linspace(0.0, 1.0, per_axis)
            mesh = np.meshgrid(*([axis] * d), indexing="ij")
            points = np.stack([m.ravel() for m in mesh], axis=1)
        else:
            rng = np.random.default_rng(random_state)
            points = rng.uniform(size=(max_points, d))
        return np.clip(points, UNIT_MARGIN, 1 - UNIT_MARGIN)


def parse_bounds(param_bounds):
    """Parse ``param_bounds`` into a :class:`SearchSpace`, with clear errors.

    Parameters
    ----------
    param_bounds : dict
        Maps parameter names to ``(low, high)``, ``(low, high, "log")``,
        ``(low, high, "linear")``, or a frozen ``scipy.stats.uniform`` /
        ``scipy.stats.loguniform``.

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
    return SearchSpace(_parse_one(key, spec) for key, spec in param_bounds.items())


def _parse_one(key, spec):
    if not isinstance(key, str):
        raise TypeError(f"param_bounds keys must be parameter names (str); got {key!r}.")
    if hasattr(spec, "dist") and hasattr(spec, "support"):
        return _parse_scipy(key, spec)
    if isinstance(spec, (list, np.ndarray)):
        raise TypeError(
            f"param_bounds[{key!r}] is a list {list(spec)!r}: HypernetSearchCV "
            "searches a continuous range, not a grid. Give the range as a tuple "
            f"(low, high) or (low, high, 'log'), e.g. ({min(spec, default=0)!r}, "
            f"{max(spec, default=1)!r})."
        )
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
