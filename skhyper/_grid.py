"""Lists in ``param_bounds`` are grid axes, as in ``GridSearchCV``: the layer above
the continuous search.

A ``param_bounds`` whose values are lists (or arrays) next to ranges, or a list of
such dicts, is expanded into combinations, in ``ParameterGrid``'s order: each
combination holds every list at one value (:attr:`Combination.fixed`) and the
ranges (:attr:`Combination.bounds`). A combination with ranges gets its own
continuous search (a clone of the :class:`~skhyper.HypernetSearchCV` with the
combination set on its estimator, on the same CV splits and seed); one without
is a plain candidate, fitted for real on every fold as ``GridSearchCV`` fits it.

``cv_results_`` then holds one row per combination, at its best real-fit point;
``hypernet_results_`` holds every combination's visited points, with a
``combination`` column that indexes ``cv_results_``. The best combination is
chosen as ``GridSearchCV`` chooses (rank 1, or the ``refit`` callable), and
refit. The trainer never sees a grid: each search trains its own stack of folds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from joblib import Parallel
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid
from sklearn.model_selection._search import _yield_masked_array_for_each_param
from sklearn.model_selection._validation import (
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)

from . import _callbacks
from ._scoring import SCORED_BY_REAL_FITS, with_scored_by, with_source
from .exceptions import SkhyperWarning

#: The ``source`` of a row fitted for real as GridSearchCV fits it (no range to tune).
GRID_SOURCE = "grid"


def is_axis(spec):
    """Whether one ``param_bounds`` value is a grid axis (a list or an array)."""
    return isinstance(spec, (list, np.ndarray))


def grids_of(param_bounds):
    """``param_bounds`` as a list of dicts (one dict is a list of one)."""
    return list(param_bounds) if isinstance(param_bounds, list) else [param_bounds]


def has_axes(param_bounds):
    """Whether ``param_bounds`` is a grid: a list of dicts, or a dict with a list."""
    if isinstance(param_bounds, list):
        return True
    return isinstance(param_bounds, dict) and any(is_axis(v) for v in param_bounds.values())


def check_grids(param_bounds):
    """Raise if a list ``param_bounds`` is not a list of non-empty dicts."""
    bad = [i for i, grid in enumerate(grids_of(param_bounds))
           if not isinstance(grid, dict) or not grid]
    if bad or not grids_of(param_bounds):
        raise TypeError(
            "param_bounds as a list must hold dicts, one grid each, as GridSearchCV's "
            f"param_grid does, e.g. [{{'lr': [0.01, 0.1]}}, {{'max_epochs': [10, 20]}}]; "
            f"entries {bad} are not non-empty dicts." if bad else
            "param_bounds is an empty list: give at least one dict, e.g. "
            "[{'optimizer__weight_decay': (1e-6, 1e-1, 'log'), 'lr': [0.01, 0.1]}]."
        )


@dataclass
class Combination:
    """One point of the grid axes, and the ranges searched by gradient there.

    Attributes
    ----------
    fixed : dict
        Each grid axis at one value, as ``set_params`` takes it.
    bounds : dict
        The ranges (empty: a plain candidate, fitted for real only).
    """

    fixed: dict
    bounds: dict = field(default_factory=dict)


def combinations(param_bounds):
    """Every combination of the grid axes, in ``GridSearchCV``'s candidate order.

    Examples
    --------
    >>> grid = {"lr": [0.1, 0.01], "module__dropout": (0.0, 0.5)}
    >>> for c in combinations(grid):
    ...     print(c.fixed, c.bounds)
    {'lr': 0.1} {'module__dropout': (0.0, 0.5)}
    {'lr': 0.01} {'module__dropout': (0.0, 0.5)}
    """
    out = []
    for grid in grids_of(param_bounds):
        axes = {key: list(spec) for key, spec in grid.items() if is_axis(spec)}
        ranges = {key: spec for key, spec in grid.items() if not is_axis(spec)}
        for fixed in ParameterGrid(axes) if axes else [{}]:
            out.append(Combination(fixed, ranges))
    return out


def fit_grid(search, ranks, X, y, prepared):
    """Fit every combination of ``search.param_bounds``; the fitted attributes.

    Parameters
    ----------
    search : HypernetSearchCV
        The search being fitted (its settings; it is not changed here).
    ranks : Ranks
        The processes of this ``fit``.
    X, y : the data.
    prepared : dict
        What the search prepared once for every combination: ``splits``,
        ``scorers``, ``refit_metric``, ``routed``, ``params`` (the fit params),
        ``seed``, ``verify_seed`` (the real fits'), ``device``, ``root`` (the
        callbacks' root context) and ``comm`` (the processes' collectives).

    Returns
    -------
    dict
        ``cv_results_`` (one row per combination), ``hypernet_results_``,
        ``grid_searches_`` (per combination, its fitted continuous search or None),
        ``verify_fits_`` and the rest of what ``fit`` sets; ``best_*`` when refit says so.
    """
    combos = combinations(search.param_bounds)
    searched = [i for i, c in enumerate(combos) if c.bounds]
    plain = [i for i, c in enumerate(combos) if not c.bounds]
    subs = _fit_searches(search, ranks, X, y, [combos[i] for i in searched], prepared)
    rows = [None] * len(combos)
    for i, sub in zip(searched, subs):
        rows[i] = _best_row(sub, combos[i].fixed, prepared["refit_metric"])
    plain_rows = prepared["comm"].on_root(  # on rank 0, then broadcast
        lambda: _fit_plain(search, X, y, [combos[i].fixed for i in plain], prepared))
    for i, row in zip(plain, plain_rows):
        rows[i] = row
    by_index = dict(zip(searched, subs))
    return {
        "cv_results_": rows_table(rows),
        "hypernet_results_": _visited(subs, searched, combos),
        "grid_searches_": [by_index.get(i) for i in range(len(combos))],
        "verify_fits_": _verify_fits(subs, plain),
        "search_time_": float(sum(sub.search_time_ for sub in subs)),
        "n_splits_": len(prepared["splits"]),
        "split_indices_": prepared["splits"],
    }


def _verify_fits(subs, plain):
    """How the grid's real fits trained: ``"stacked"`` where every combination's
    did, ``"skorch"`` where any went through skorch (combinations without a range
    always do), None without real fits."""
    ways = {sub.verify_fits_ for sub in subs} | ({"skorch"} if plain else set())
    ways.discard(None)
    if not ways:
        return None
    return "stacked" if ways == {"stacked"} else "skorch"


def _fit_searches(search, ranks, X, y, combos, prepared):
    """One continuous search per combination, in turn; ``n_jobs`` parallelizes each
    search's real fits, as it does without lists. (Not the searches themselves: a
    fitted search returned by a joblib worker pickles its skorch nets with plain
    pickle, which fails for a module class defined in the user's ``__main__``.)"""
    fitted = []
    for i, combo in enumerate(combos):
        if search.verbose > 0:
            shown = ", ".join(f"{k}={v!r}" for k, v in combo.fixed.items())
            print(f"HypernetSearchCV: combination {i + 1} of {len(combos)}: {shown}")
        fitted.append(_fit_one(_sub_search(search, combo, prepared), X, y,
                               prepared["params"], ranks))
    return fitted


def _fit_one(sub, X, y, params, ranks):
    """One combination's search. Its best point is not the grid's answer, so its
    "at a bound" warnings wait: the grid warns for the best combination only."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="best_params_: ", category=SkhyperWarning)
        return sub._fit_search(ranks, X, y, **params)


def _sub_search(search, combo, prepared):
    """A clone of ``search`` for one combination: its values set on the estimator,
    its ranges as ``param_bounds``, on the same splits and seed, without a refit."""
    estimator = clone(search.estimator).set_params(**combo.fixed)
    sub = clone(search).set_params(
        estimator=estimator, param_bounds=combo.bounds, cv=prepared["splits"],
        random_state=prepared["seed"], refit=False, verbose=max(search.verbose - 1, 0))
    sub._keys_checked = True  # the grid's check_keys saw every key and value
    return sub


def _best_row(sub, fixed, refit_metric):
    """The combination's row: its search's chosen real-fit row, with the grid values."""
    results = sub.cv_results_
    if hasattr(sub, "best_index_"):
        index = sub.best_index_
    else:  # multimetric: the best of the refit metric (without one, of the first metric)
        ranks = [key for key in results if key.startswith("rank_test_")]
        key = f"rank_test_{refit_metric}"
        index = int(np.argmin(results[key if key in results else ranks[0]]))
    return table_row(results, index, {**fixed, **results["params"][index]})


def _fit_plain(search, X, y, candidates, prepared):
    """Real fits of the candidates without a range on every fold, as GridSearchCV
    fits them (seeded as the continuous searches' real fits are); their rows."""
    if not candidates:
        return []
    splits = prepared["splits"]
    parallel = Parallel(n_jobs=search.n_jobs, pre_dispatch=search.pre_dispatch)
    with _callbacks.subtask(prepared["root"], search, "verify",
                            max_subtasks=len(candidates) * len(splits),
                            sequential_subtasks=False) as context:
        out = search._verify_fits(parallel, candidates, splits, X, y, prepared["scorers"],
                                  prepared["routed"], prepared["verify_seed"],
                                  prepared["device"], context)
    _warn_or_raise_about_fit_failures(out, search.error_score)
    if callable(search.scoring):
        _insert_error_scores(out, search.error_score)
    table = with_source(with_scored_by(search._format_results(candidates, len(splits), out),
                                       SCORED_BY_REAL_FITS), GRID_SOURCE)
    return [table_row(table, i, params) for i, params in enumerate(candidates)]


def _visited(subs, searched, combos):
    """Every continuous search's ``hypernet_results_`` rows in one table, each
    with its combination's values and a ``combination`` column."""
    rows = []
    for i, sub in zip(searched, subs):
        table = sub.hypernet_results_
        for j, params in enumerate(table["params"]):
            rows.append({**table_row(table, j, {**combos[i].fixed, **params}),
                         "combination": i})
    return rows_table(rows) if rows else {"params": [], "combination": np.array([], int)}


def table_row(table, i, params):
    """Row ``i`` of a ``cv_results_``-shaped ``table`` as a dict, with ``params`` for its
    parameters (``param_*`` and ``rank_*`` are left out: :func:`rows_table` remakes them)."""
    row = {key: column[i] for key, column in table.items()
           if not key.startswith(("param_", "rank_")) and key != "params"}
    row["params"] = params
    return row


def rows_table(rows):
    """A ``cv_results_``-shaped dict from rows (dicts of one value per column), its
    columns in GridSearchCV's order: ``param_*`` masked columns and ``rank_test_*``
    recomputed as sklearn does.

    Examples
    --------
    >>> table = rows_table([{"params": {"lr": 0.1}, "mean_test_score": 0.8},
    ...                     {"params": {"lr": 0.2}, "mean_test_score": 0.9}])
    >>> table["rank_test_score"].tolist(), table["param_lr"].tolist()
    ([2, 1], [0.1, 0.2])
    """
    params = [row["params"] for row in rows]
    times = [key for key in rows[0] if key.endswith(("_fit_time", "_score_time"))]
    table = {key: np.array([row[key] for row in rows], dtype=float) for key in times}
    table.update(_yield_masked_array_for_each_param(params))  # as GridSearchCV's
    table["params"] = params
    for key in rows[0]:
        if key in table:
            continue
        values = [row[key] for row in rows]
        kind = object if any(isinstance(v, str) for v in values) else None
        table[key] = np.array(values, dtype=kind)
        metric = key[len("std_test_"):] if key.startswith("std_test_") else None
        if metric is not None and f"mean_test_{metric}" in table:
            table[f"rank_test_{metric}"] = _rank(table[f"mean_test_{metric}"])
    for key in [k for k in table if k.startswith("mean_test_")]:
        table.setdefault(f"rank_test_{key[len('mean_test_'):]}", _rank(table[key]))
    return table


def _rank(means):
    """Rank 1 for the highest mean score; a NaN ties with the worst (as sklearn)."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return np.ones(len(means), dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)
