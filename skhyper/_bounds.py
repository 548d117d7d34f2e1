"""Found values at a bound: which keys, and the message that says how to widen them.

A value that ends on a bound of its range says "the best may lie beyond it"
(or that the search drifted there where the objective is flat): the user
should know, and know the fix, rather than read it as an optimum.
"""

from __future__ import annotations

import numpy as np

from ._blocks import Block
from ._space import format_value

#: A value within this share of its (log-)range from a bound lies at that bound
#: (``lambda_hat`` itself is kept 1% from the walls).
AT_BOUND = 0.05
#: A block is reported when at least this share of its values lies at one bound.
BLOCK_SHARE = 0.1


def _widened(dim, side):
    """The bounds of ``dim`` widened past ``side`` ("lower" or "upper"), as a tuple."""
    if dim.log:
        low, high = (dim.low / 10, dim.high) if side == "lower" else (dim.low, dim.high * 10)
        return f"({low:.3g}, {high:.3g}, 'log')"
    half = (dim.high - dim.low) / 2
    low, high = (dim.low - half, dim.high) if side == "lower" else (dim.low, dim.high + half)
    return f"({low:.3g}, {high:.3g})"


def _fix(dim, side):
    bound = dim.low if side == "lower" else dim.high
    if not dim.log and side == "lower" and bound == 0:
        return ("0 is as low as the range goes: the search found no benefit in this "
                "hyperparameter (if the key can go below 0, widen the range)")
    return f"widen the range past it if the best may lie beyond, e.g. {{{dim.key!r}: " \
           f"{_widened(dim, side)}}}"


def values_at_bounds(space, t):
    """Messages for the keys whose values at unit coordinates ``t`` lie at a bound.

    A scalar key is reported when its value lies within :data:`AT_BOUND` of a
    bound; a block when at least :data:`BLOCK_SHARE` of its values do, with the
    share. Each message names the key, the value, the bound and the fix.

    Examples
    --------
    >>> from skhyper._space import parse_bounds
    >>> space = parse_bounds({"optimizer__weight_decay": (1e-6, 1e-2, "log")})
    >>> print(values_at_bounds(space, [0.01])[0])  # doctest: +NORMALIZE_WHITESPACE
    optimizer__weight_decay=1.1e-06 lies at the lower bound 1e-06 of its range
    (within 5% of its log-range): widen the range past it if the best may lie beyond,
    e.g. {'optimizer__weight_decay': (1e-07, 0.01, 'log')}
    """
    t = np.asarray(t, dtype=float).reshape(-1)
    messages = []
    for entry, dim, part in zip(space.entries, space.dimensions, space.slices()):
        coords = t[part]
        scale = "log-range" if dim.log else "range"
        for side, near in (("lower", coords <= AT_BOUND), ("upper", coords >= 1 - AT_BOUND)):
            bound = format_value(dim.low if side == "lower" else dim.high)
            if isinstance(entry, Block):
                share = float(near.mean())
                if share < BLOCK_SHARE:
                    continue
                what = (f"{dim.key}: {near.sum()} of its {near.size} values ({share:.0%}) lie "
                        f"at the {side} bound {bound}")
            else:
                if not near[0]:
                    continue
                value = format_value(float(dim.from_unit(float(coords[0]))))
                what = f"{dim.key}={value} lies at the {side} bound {bound} of its range"
            messages.append(f"{what} (within {AT_BOUND:.0%} of its {scale}): {_fix(dim, side)}")
    return messages
