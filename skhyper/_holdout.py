"""Validation rows the hypergradient never saw: each fold's validation part in two halves.

With many hyperparameters the hyper steps can fit a fold's validation rows (the
hyperparameters become parameters trained on them), and real fits scored on the same
rows then read optimistic. Split each fold's validation rows in two: the hyper steps
(and the hypernet-scored rows) use one half, the real fits of ``verify`` score the
other, so ``best_score_`` is an estimate on rows the search never tuned on.
"""

from __future__ import annotations

import numpy as np

from ._distributed import fold_seed


def validation_halves(splits, y, seed, stratify):
    """``(tuning splits, held-out splits)`` from CV ``splits``.

    Each fold's validation rows are shuffled with a generator seeded from ``seed``
    and the fold's index, then dealt alternately to the two halves; with
    ``stratify`` (a classifier's 1-D ``y``) each class is dealt alternately, so both
    halves keep the fold's class shares. The training rows are unchanged.

    Examples
    --------
    >>> splits = [(np.arange(4), np.arange(4, 10))]
    >>> tune, held = validation_halves(splits, None, 0, stratify=False)
    >>> sorted(np.concatenate([tune[0][1], held[0][1]]).tolist())
    [4, 5, 6, 7, 8, 9]
    >>> len(tune[0][1]), len(held[0][1])
    (3, 3)
    """
    tuning, held_out = [], []
    for k, (train, test) in enumerate(splits):
        rng = np.random.default_rng(fold_seed(seed, k, "held-out"))
        rows = rng.permutation(np.asarray(test))
        if stratify:
            rows = rows[np.argsort(np.asarray(y)[rows], kind="stable")]
        tuning.append((train, np.sort(rows[0::2])))
        held_out.append((train, np.sort(rows[1::2])))
    return tuning, held_out


def can_halve(splits):
    """Whether every fold has at least 2 validation rows to share out."""
    return all(len(test) >= 2 for _, test in splits)
