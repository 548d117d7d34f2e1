"""The landscape: what the trained hypernets predict at any point of the box.

After a search, each fold's hypernet gives weights for every hyperparameter value
in the bounds for the price of a forward pass. These functions evaluate them at
points the user gives: the net's own validation loss (:func:`predicted_loss`) or
the user's scorers, as a table shaped like ``GridSearchCV.cv_results_``
(:func:`virtual_grid_search`, a grid search at no training cost).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._folds import net_keys, split_estimator, to_tensors
from ._space import parse_bounds
from ._targets import resolve_target
from ._train import run_module


def landscape_points(search, points):
    """Full parameter dicts for ``points``: a param grid (dict of lists) or a
    list of dicts; keys left out take ``best_params_`` (or the middle of the box)."""
    space = parse_bounds(search.param_bounds)
    if isinstance(points, dict):
        points = list(ParameterGrid(points))
    default = getattr(search, "best_params_", None) or space.values_from_unit(
        [0.5] * len(space))
    full = []
    for point in points:
        unknown = set(point) - set(space.keys)
        if unknown:
            raise ValueError(
                f"{sorted(unknown)} are not keys of param_bounds {space.keys}; the "
                "landscape is known only over the searched hyperparameters."
            )
        values = {**default, **{k: float(v) for k, v in point.items()}}
        for dim in space.dimensions:
            value = values[dim.key]
            if np.isclose(value, dim.low, rtol=1e-9) or np.isclose(value, dim.high, rtol=1e-9):
                values[dim.key] = value = min(max(value, dim.low), dim.high)  # rounding only
            if not dim.low <= value <= dim.high:
                raise ValueError(
                    f"{dim.key}={values[dim.key]!r} lies outside the searched bounds "
                    f"({dim.low!r}, {dim.high!r}); the hypernets know nothing there."
                )
        full.append({k: values[k] for k in space.keys})
    return space, full


def predicted_loss(search, X, y, points, rows="validation"):
    """The hypernets' predicted validation loss (the net's criterion) at ``points``.

    Parameters
    ----------
    search : fitted HypernetSearchCV
    X, y : the data the search was fitted on
    points : dict of lists (a param grid) or list of dicts
    rows : {"validation", "training"}
        Each fold's validation rows, or its training rows (the data term of the
        training loss, in eval mode and without penalty).

    Returns
    -------
    dict with ``params`` (list of dicts), ``split{k}_loss`` and ``mean_loss``
    (arrays over the points).
    """
    check_is_fitted(search, "hypernets_")
    space, params = landscape_points(search, points)
    units = [np.clip(space.unit_from_values(p), 0.0, 1.0) for p in params]
    table = {"params": params}
    keys = net_keys(space.keys, split_estimator(search.estimator)[1])
    if rows not in ("validation", "training"):
        raise ValueError(f"rows must be 'validation' or 'training'; got {rows!r}.")
    for k, (estimator, split) in enumerate(zip(search.fold_estimators_, search.split_indices_)):
        test = split[1] if rows == "validation" else split[0]
        net = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        X_val = _safe_indexing(X, test)
        if isinstance(estimator, Pipeline):
            X_val = estimator[:-1].transform(X_val)
        X_val = to_tensors(X_val, net.device)
        y_val = to_tensors(_safe_indexing(y, test), net.device)
        for key in keys:
            resolve_target(key, net).set_eval(net)
        hypernet = search.hypernets_[k].to(net.device)
        ref = next(hypernet.parameters())
        losses = []
        net.module_.eval()
        with torch.no_grad():
            for t in units:
                weights = hypernet(torch.as_tensor(t, dtype=ref.dtype, device=ref.device))
                out = run_module(net.module_, weights, X_val)
                losses.append(float(net.get_loss(out, y_val, X=X_val, training=False)))
        hypernet.cpu()
        table[f"split{k}_loss"] = np.array(losses)
    table["mean_loss"] = np.mean([table[f"split{k}_loss"] for k in range(len(search.hypernets_))],
                                 axis=0)
    return table


def virtual_grid_search(search, X, y, param_grid):
    """Score ``param_grid`` with the hypernets' weights: a ``cv_results_``-shaped table.

    Each row is scored on every fold by the search's scorers (``scorer_``)
    applied to the fold's net carrying the hypernet's weights at that point,
    exactly as the rows of ``hypernet_results_`` are. No training happens.
    """
    from ._search import score_at  # the estimator module imports this one

    check_is_fitted(search, "hypernets_")
    space, params = landscape_points(search, param_grid)
    scorers = search._get_scorers()[0]
    out = []
    for point in params:
        t = np.clip(space.unit_from_values(point), 0.0, 1.0)
        for k, split in enumerate(search.split_indices_):
            out.append(score_at(
                search.hypernets_[k], search.fold_estimators_[k], t, X, y, split, scorers,
                {}, 0.0, search.error_score, search.return_train_score,
            ))
    return search._format_results(params, len(search.split_indices_), out)
