"""Candidates for real fits: where they come from, and how real fits choose one.

The hypernets propose, real fits dispose. The points the real fits (``verify``)
score come from different places, so that a search whose path drifted where
real CV is flat still has its simple answer among them:

* ``"path"``: the best hypernet-scored rows of the search path (its end, mostly);
* ``"scan"``: the start of the local phase, the best point of the coarse scan of
  the box after the warm-up (every block at one shared value: the scalar
  search's answer as the hypernets saw it);
* ``"shared"``: the best path row with every block collapsed to its shared
  value (the mean of its unit coordinates): the block's scalar counterpart;
* ``"stronger"``: the best path row with every regularizing key moved a fifth
  of its (log-)range toward stronger regularization.

Candidates closer than :data:`DISTINCT` (in unit coordinates) are one row.
Among the real-fit rows, ``select="regularized"`` takes the most regularized
row that real CV cannot tell from the best (:func:`most_regularized_tie`).
"""

from __future__ import annotations

import warnings

import numpy as np

from ._blocks import Block
from ._space import UNIT_MARGIN

#: The sources ``verify_sources`` accepts, in the order their rows appear.
SOURCES = ("path", "scan", "shared", "stronger")
#: Two candidates closer than this in every unit coordinate are the same row.
DISTINCT = 0.01
#: How far (in unit coordinates) the ``"stronger"`` candidate moves each key.
STRONGER_STEP = 0.2


def shared_point(space, t):
    """``t`` with every block's coordinates at their mean (scalar keys unchanged)."""
    t = np.array(t, dtype=float).reshape(-1)
    for entry, part in zip(space.entries, space.slices()):
        if isinstance(entry, Block):
            t[part] = t[part].mean()
    return t


def stronger_point(space, t, upward):
    """``t`` moved :data:`STRONGER_STEP` toward stronger regularization on every key
    whose larger values regularize more (``upward``, one bool per key)."""
    t = np.array(t, dtype=float).reshape(-1)
    for part, up in zip(space.slices(), upward):
        if up:
            t[part] = np.minimum(t[part] + STRONGER_STEP, 1.0 - UNIT_MARGIN)
    return t


def regularization_strength(space, t, upward):
    """How strongly ``t`` regularizes: the sum over the keys whose larger values
    regularize more of each key's mean unit coordinate."""
    t = np.asarray(t, dtype=float).reshape(-1)
    return float(sum(t[part].mean() for part, up in zip(space.slices(), upward) if up))


def distinct_candidates(space, path_points, scan_point, sources, upward):
    """The candidates of the real fits, as ``[(t, source label)]``.

    Parameters
    ----------
    space : SearchSpace
    path_points : list of ndarray
        The ``verify`` best hypernet-scored rows of the path, best first.
    scan_point : ndarray or None
        The scan's pick (None without a global warm-up).
    sources : sequence of str
        Which of :data:`SOURCES` to take, always with ``"path"``'s rows first.
    upward : list of bool
        Per key, whether larger values regularize more.

    The path's rows stay apart (each is a row of ``hypernet_results_``); another
    candidate within :data:`DISTINCT` of an earlier one joins its row, whose label
    then names both sources (``"path+shared"``).
    """
    proposed = []
    if "path" in sources or not path_points:
        proposed += [(t, "path") for t in path_points]
    else:
        proposed.append((path_points[0], "path"))
    best = np.asarray(path_points[0], dtype=float) if path_points else None
    if "scan" in sources and scan_point is not None:
        proposed.append((scan_point, "scan"))
    if "shared" in sources and best is not None and space.blocks:
        proposed.append((shared_point(space, best), "shared"))
    if "stronger" in sources and best is not None and any(upward):
        proposed.append((stronger_point(space, best, upward), "stronger"))
    rows = []
    for t, label in proposed:
        t = np.asarray(t, dtype=float).reshape(-1)
        if label == "path":  # the path's rows are distinct rows of hypernet_results_
            rows.append((t, [label]))
            continue
        for i, (kept, labels) in enumerate(rows):
            if np.max(np.abs(kept - t)) < DISTINCT:
                if label not in labels:
                    rows[i] = (kept, labels + [label])
                break
        else:
            rows.append((t, [label]))
    return [(t, "+".join(labels)) for t, labels in rows]


def most_regularized_tie(split_scores, strengths):
    """The row to report: the most regularized row real CV cannot tell from the best.

    A row ties with the best-scoring row when the mean of their per-fold score
    differences is within one standard error of it (paired over the folds: every
    candidate is fitted on the same folds from the same seeds, so the folds'
    own difficulty cancels out). Among the best row and its ties, the one with
    the largest regularization strength wins; a row must be stronger by at least
    :data:`DISTINCT` to count as stronger (a block at its shared value is as strong
    as the block), so equal strengths keep the best.

    Parameters
    ----------
    split_scores : ndarray of shape (n_rows, n_splits)
        Scores, greater is better (NaN for a failed fit).
    strengths : sequence of float
        Each row's :func:`regularization_strength`.

    Examples
    --------
    >>> scores = np.array([[0.90, 0.80, 0.85], [0.89, 0.81, 0.84], [0.70, 0.60, 0.65]])
    >>> most_regularized_tie(scores, [0.2, 0.6, 0.9])
    1
    """
    scores = np.asarray(split_scores, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row of failed fits: NaN
        means = np.nanmean(scores, axis=1)
    finite = np.isfinite(means)
    if not finite.any():
        return 0
    best = int(np.nanargmax(np.where(finite, means, -np.inf)))
    chosen = best
    for i in range(len(scores)):
        if i == best or not finite[i] or strengths[i] < strengths[chosen] + DISTINCT:
            continue  # not more regularized (a shared block value is as strong as the block)
        gap = scores[best] - scores[i]
        gap = gap[np.isfinite(gap)]
        if gap.size == 0:
            continue
        standard_error = gap.std(ddof=1) / np.sqrt(gap.size) if gap.size > 1 else 0.0
        if gap.mean() <= standard_error:
            chosen = i
    return chosen
