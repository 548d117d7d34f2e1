"""The landscape: what the trained hypernets predict at any point of the box.

After a search, each fold's hypernet gives weights for every hyperparameter value
in the bounds for the price of a forward pass. These functions evaluate them at
points the user gives: the net's own validation loss (:func:`predicted_loss`) or
the user's scorers, as a table shaped like ``GridSearchCV.cv_results_``
(:func:`virtual_grid_search`, a grid search at no training cost).

A point's value for a vector key (:class:`~skhyper.PerUnit` and friends) is one
number, the whole block at that shared value, or a structure as ``best_params_``
holds it (``{parameter name: float or array}``). Points are read against
``search.search_space_``, the space the search was fitted with.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._blocks import Block
from ._folds import net_keys, split_estimator, to_tensors
from ._scoring import SCORED_BY_HYPERNET, score_at, with_scored_by
from ._space import to_unit_array
from ._targets import resolve_target
from ._train import run_module


def fitted_space(search):
    """The resolved :class:`~skhyper._space.SearchSpace` the search was fitted with."""
    check_is_fitted(search, "search_space_")
    return search.search_space_


def landscape_points(search, points):
    """Full parameter dicts for ``points``: a param grid (dict of lists) or a
    list of dicts; keys left out take ``best_params_`` (or the middle of the box).

    A vector key's value may be one number (the whole block at that value) or
    its structure; the returned dicts hold the structure (as ``best_params_``
    does), so that ``with_params(net, point)`` trains exactly that point.
    """
    space = fitted_space(search)
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
        values = {**default, **point}
        full.append({
            entry_key: _checked_value(entry, values[entry_key])
            for entry, entry_key in zip(space.entries, space.keys)
        })
    return space, full


def _checked_value(entry, value):
    """A point's value for one key, inside the bounds (values within rounding of a
    bound are moved onto it): a float, or a block's structure."""
    if not isinstance(entry, Block):
        if not _is_number(value):
            raise TypeError(
                f"{entry.key} is a scalar hyperparameter; its value must be a number, "
                f"got {value!r}."
            )
        return float(_inside(entry, np.array([float(value)]), lambda i: entry.key)[0])
    if not isinstance(value, dict) and not _is_number(value):
        raise TypeError(
            f"{entry.key} is a block of {entry.size} hyperparameters: give one number "
            f"(the whole block at that value) or a dict {{parameter name: values}} "
            f"over {entry.names}, as best_params_ holds it; got {type(value).__name__}."
        )
    flat = entry.flat(value)  # checks the structure's names and sizes
    if not isinstance(value, dict):
        shared = _inside(entry.dim, flat[:1], lambda i: entry.key)[0]
        return entry.structure(np.full(entry.size, shared))
    return entry.structure(_inside(entry.dim, flat, lambda i: _element_name(entry, i)))


def _is_number(value):
    return isinstance(value, numbers.Real | np.ndarray) and np.ndim(value) == 0 \
        and not isinstance(value, bool)


def _inside(dim, flat, name_of):
    """``flat`` with values within rounding of a bound moved onto it; an error
    naming the first value outside the bounds."""
    flat = np.asarray(flat, dtype=float).copy()
    for bound in (dim.low, dim.high):
        near = np.isclose(flat, bound, rtol=1e-9, atol=0.0)
        flat[near] = bound
    outside = ~((flat >= dim.low) & (flat <= dim.high))  # NaN is outside too
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        more = int(outside.sum()) - 1
        others = f" (and {more} more of the block's values)" if more else ""
        raise ValueError(
            f"{name_of(i)}={float(flat[i])!r} lies outside the searched bounds "
            f"({dim.low!r}, {dim.high!r}){others}; the hypernets know nothing there."
        )
    return flat


def _element_name(block, i):
    """``key['name'][index]`` of the ``i``-th value of a block's flat vector."""
    slot = next(s for s in block.slots if s.start <= i < s.stop)
    local = i - slot.start
    if block.form == "layer":
        return f"{block.key}[{slot.name!r}]"
    if block.form == "unit" or len(slot.shape) <= 1:
        return f"{block.key}[{slot.name!r}][{local}]"
    if block.form == "input":
        return f"{block.key}[{slot.name!r}][:, {local}]"
    return f"{block.key}[{slot.name!r}][{', '.join(map(str, np.unravel_index(local, slot.shape)))}]"


#: a point is near the path within this many ``perturb_scale`` (RMS, unit coordinates)
NEAR_PATH = 2.0


def path_units(search):
    """Unit coordinates of the points the hypernets trained around, ``(n, d)``:
    every ``lambda_hat`` of the local phase (from the scan on), and the start
    too when the warm-up sampled around it (``warmup_sampling="local"``)."""
    space = fitted_space(search)
    traj = search.trajectory_
    phases = {"scan", "local"} | ({"start"} if search.warmup_sampling == "local" else set())
    rows = np.flatnonzero(np.isin(traj["phase"], sorted(phases)))
    columns = []
    for dim in space.dimensions:
        values = np.asarray(traj[f"param_{dim.key}"], dtype=float)[rows]
        columns.append(to_unit_array(dim, values.reshape(len(rows), -1)))
    return np.concatenate(columns, axis=1)


def path_distance(search, units):
    """For each point (unit coordinates, ``(n_points, d)``), the RMS distance per
    coordinate to the nearest point the hypernets trained around (``path_units``).

    Local-phase training samples lie around ``lambda_hat`` with standard deviation
    ``perturb_scale`` per coordinate; a point much farther than that from the
    whole path was seen only during the warm-up (or by ``global_share`` steps).
    """
    path = path_units(search)
    units = np.atleast_2d(np.asarray(units, dtype=float))
    if len(path) == 0:
        return np.full(len(units), np.inf)
    gaps = units[:, None, :] - path[None, :, :]
    return np.sqrt((gaps ** 2).mean(axis=2)).min(axis=1)


def _mark_path_distance(search, table, units):
    """Add ``path_distance`` and ``near_path`` (within ``NEAR_PATH`` x
    ``perturb_scale`` of the path) to a landscape table."""
    distance = path_distance(search, units)
    table["path_distance"] = distance
    table["near_path"] = distance <= NEAR_PATH * max(search.perturb_scale, 1e-12)
    return table


def predicted_loss(search, X, y, points, rows="validation"):
    """The hypernets' predicted validation loss (the net's criterion) at ``points``.

    Parameters
    ----------
    search : fitted HypernetSearchCV
    X, y : the data the search was fitted on
    points : dict of lists (a param grid) or list of dicts
        Keys left out take ``best_params_``. A vector key's value is one number
        (the whole block at that shared value, so ``{"optimizer__weight_decay":
        np.geomspace(1e-5, 1, 9)}`` sweeps the block's shared value) or a
        structure as ``best_params_`` holds it.
    rows : {"validation", "training"}
        Each fold's validation rows, or its training rows (the data term of the
        training loss, in eval mode and without penalty).

    Returns
    -------
    dict with ``params`` (list of dicts; a vector key's value as its structure),
    ``split{k}_loss`` and ``mean_loss`` (arrays over the points), and where the
    hypernets were trained: ``path_distance`` (RMS distance per unit coordinate
    to the nearest point of the search path they trained around) and
    ``near_path`` (within twice ``perturb_scale``). A value where ``near_path``
    is False comes from hypernets that saw that region only in the warm-up:
    treat it as a rough guess, and check it with a real fit.
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
        for key, dim in zip(keys, space.dimensions):  # the probe values: the fitted bounds
            resolve_target(key, net, bounds=(dim.low, dim.high)).set_eval(net)
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
    return _mark_path_distance(search, table, units)


def virtual_grid_search(search, X, y, param_grid):
    """Score ``param_grid`` with the hypernets' weights: a ``cv_results_``-shaped table.

    Each row is scored on every fold by the search's scorers (``scorer_``)
    applied to the fold's net carrying the hypernet's weights at that point,
    exactly as the rows of ``hypernet_results_`` are. No training happens. As
    :func:`predicted_loss`, the table also says where the hypernets were trained
    (``path_distance``, ``near_path``).
    """
    check_is_fitted(search, "hypernets_")
    space, params = landscape_points(search, param_grid)
    scorers = search._get_scorers()[0]
    out, units = [], []
    for point in params:
        t = np.clip(space.unit_from_values(point), 0.0, 1.0)
        units.append(t)
        for k, split in enumerate(search.split_indices_):
            out.append(score_at(
                search.hypernets_[k], search.fold_estimators_[k], t, X, y, split, scorers,
                {}, 0.0, search.error_score, search.return_train_score,
            ))
    table = search._format_results(params, len(search.split_indices_), out)
    return _mark_path_distance(search, with_scored_by(table, SCORED_BY_HYPERNET), units)
