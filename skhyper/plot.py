"""Plots of a fitted search: its path and the landscape its hypernets predict.

Needs matplotlib (``pip install "skhyper[plot]"``). Each function draws on the
given Axes (or a new one) and returns it.
"""

from __future__ import annotations

import numpy as np

from ._space import parse_bounds


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "skhyper.plot needs matplotlib; install it with pip install \"skhyper[plot]\"."
        ) from exc
    return plt


def _axes(ax):
    return ax if ax is not None else _pyplot().subplots()[1]


def plot_trajectory(search, ax=None):
    """Each hyperparameter (in unit coordinates, 0 = low bound, 1 = high) and the
    batch validation loss over the hyperparameter steps; the scan that ends the
    warm-up is marked.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    space = parse_bounds(search.param_bounds)
    traj = search.trajectory_
    steps = traj["step"]
    for dim in space.dimensions:
        values = traj[f"param_{dim.key}"]
        ax.plot(steps, [dim.to_unit(v) for v in values], label=dim.key)
    ax.set_xlabel("training step")
    ax.set_ylabel("position in the bounds (0 = low, 1 = high)")
    scans = steps[traj["phase"] == "scan"]
    for step in scans:
        ax.axvline(step, color="grey", linestyle=":", label="end of warm-up (scan)")
    loss_ax = ax.twinx()
    loss_ax.plot(steps, traj["val_loss"], color="black", alpha=0.4, label="validation loss")
    loss_ax.set_ylabel("validation loss (batch, at lambda_hat)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_landscape(search, X, y, keys=None, resolution=15, grid_results=None, ax=None):
    """The hypernets' predicted validation loss along one hyperparameter, or as a
    heat map over two, with the search path and ``best_params_`` on it.

    Parameters
    ----------
    search : fitted HypernetSearchCV
    X, y : the data the search was fitted on
    keys : list of one or two keys of ``param_bounds``; default: the first two
    resolution : points per axis
    grid_results : dict, optional
        A real ``GridSearchCV.cv_results_`` over the same keys; its points are
        drawn as crosses labelled with their real mean test score.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    space = parse_bounds(search.param_bounds)
    keys = list(keys or space.keys[:2])
    dims = [next(d for d in space.dimensions if d.key == k) for k in keys]
    axes_values = [
        np.array([d.from_unit(t) for t in np.linspace(0, 1, resolution)]) for d in dims
    ]
    if len(dims) == 1:
        table = search.predicted_loss(X, y, [{keys[0]: v} for v in axes_values[0]])
        ax.plot(axes_values[0], table["mean_loss"], label="predicted (mean of folds)")
        ax.axvline(search.best_params_[keys[0]], color="red", linestyle="--", label="best")
        ax.set_ylabel("predicted validation loss")
    else:
        points = [{keys[0]: a, keys[1]: b} for b in axes_values[1] for a in axes_values[0]]
        loss = search.predicted_loss(X, y, points)["mean_loss"].reshape(resolution, resolution)
        mesh = ax.pcolormesh(axes_values[0], axes_values[1], loss, shading="auto", cmap="viridis")
        ax.figure.colorbar(mesh, ax=ax, label="predicted validation loss")
        path = search.trajectory_
        ax.plot(path[f"param_{keys[0]}"], path[f"param_{keys[1]}"], color="white",
                marker=".", markersize=3, linewidth=1, label="search path")
        ax.plot(search.best_params_[keys[0]], search.best_params_[keys[1]], marker="*",
                color="red", markersize=14, linestyle="none", label="best_params_")
        ax.set_ylabel(keys[1])
        if dims[1].log:
            ax.set_yscale("log")
    if grid_results is not None:
        _draw_real_points(ax, grid_results, keys)
    ax.set_xlabel(keys[0])
    if dims[0].log:
        ax.set_xscale("log")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_train_validation(search, X, y, key, resolution=15, ax=None):
    """Predicted training and validation loss along ``key`` (others at
    ``best_params_``): where the two curves part, the net starts to overfit.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    space = parse_bounds(search.param_bounds)
    dim = next(d for d in space.dimensions if d.key == key)
    values = [dim.from_unit(t) for t in np.linspace(0, 1, resolution)]
    points = [{key: v} for v in values]
    for rows in ("training", "validation"):
        table = search.predicted_loss(X, y, points, rows=rows)
        ax.plot(values, table["mean_loss"], marker=".", label=f"{rows} loss (predicted)")
    ax.axvline(search.best_params_[key], color="red", linestyle="--", label="best")
    ax.set_xlabel(key)
    ax.set_ylabel("loss (net's criterion, mean of folds)")
    if dim.log:
        ax.set_xscale("log")
    ax.legend(loc="best", fontsize="small")
    return ax


def _draw_real_points(ax, grid_results, keys):
    xs = np.asarray(grid_results[f"param_{keys[0]}"], dtype=float)
    scores = np.asarray(grid_results["mean_test_score"], dtype=float)
    if len(keys) == 1:
        ax.plot(xs, -scores, "kx", label="real CV (GridSearchCV)")
        return
    ys = np.asarray(grid_results[f"param_{keys[1]}"], dtype=float)
    ax.plot(xs, ys, "kx", markersize=8, label="real CV points (GridSearchCV)")
    losses = -scores if np.all(scores <= 0) else scores  # neg_* scorers: show the loss
    for x, y_, value in zip(xs, ys, losses):
        ax.annotate(f"{value:.3f}", (x, y_), textcoords="offset points", xytext=(4, 4),
                    fontsize="x-small", color="white")
