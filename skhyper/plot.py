"""Plots of a fitted search: its path, the values it found and the landscape its
hypernets predict.

Needs matplotlib (``pip install "skhyper[plot]"``). Each function draws on the
given Axes (or a new one) and returns it. A vector key (:class:`~skhyper.PerLayer`,
:class:`~skhyper.PerUnit`, :class:`~skhyper.PerWeight`) is drawn as its spread
along the path (:func:`plot_trajectory`), as its found values
(:func:`plot_block_values`), and in the landscape along the block's shared value
(:func:`plot_landscape`, :func:`plot_train_validation`).
"""

from __future__ import annotations

import numpy as np

from ._blocks import _FORMS, Block
from ._landscape import fitted_space
from ._space import from_unit_array, to_unit_array


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


def _entry(space, key):
    """The space's entry (Dimension or Block) of ``key``, with a clear error."""
    for entry, entry_key in zip(space.entries, space.keys):
        if entry_key == key:
            return entry
    raise ValueError(f"{key!r} is not a key of the searched space {space.keys}.")


def _shared(value):
    """A scalar value as a float; a block's structure as the median of its values."""
    if isinstance(value, dict):
        return float(np.median(np.concatenate([np.ravel(v) for v in value.values()])))
    return float(value)


def _axis_label(entry, key):
    if isinstance(entry, Block):
        return f"{key} (shared value of its {entry.size} values)"
    return key


def _sweep(dim, resolution):
    """``resolution`` values evenly spaced in the unit coordinate of ``dim``."""
    return np.clip(from_unit_array(dim, np.linspace(0, 1, resolution)), dim.low, dim.high)


def _mark_best(ax, entry, value):
    """The best value on a 1-D landscape: a line, and for a block its range."""
    if not isinstance(entry, Block):
        ax.axvline(value, color="red", linestyle="--", label="best")
        return
    flat = entry.flat(value)
    ax.axvspan(flat.min(), flat.max(), color="red", alpha=0.12, linewidth=0,
               label="best_params_ (range of the block)")
    ax.axvline(np.median(flat), color="red", linestyle="--",
               label="best_params_ (median of the block)")


def _unique_legend(ax, handle_axes, replace=None, **kwargs):
    """One legend entry per label over the artists of ``handle_axes`` (``replace``
    maps a label to the handle to show for it)."""
    seen = {}
    for other in handle_axes:
        for handle, label in zip(*other.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    seen.update({label: handle for label, handle in (replace or {}).items() if label in seen})
    return ax.legend(list(seen.values()), list(seen), **kwargs)


def plot_trajectory(search, ax=None):
    """Each hyperparameter (in unit coordinates, 0 = low bound, 1 = high) and the
    batch validation loss over the hyperparameter steps; the scan that ends the
    warm-up is marked.

    A vector key is drawn as its spread over the steps: the median of its
    values (a line) and their range (a shaded band), labelled e.g.
    ``"optimizer__weight_decay (10 values: median, range)"``.

    Parameters
    ----------
    search : fitted HypernetSearchCV
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    space = fitted_space(search)
    traj = search.trajectory_
    steps = traj["step"]
    bands = {}
    for entry, dim in zip(space.entries, space.dimensions):
        unit = to_unit_array(dim, np.asarray(traj[f"param_{dim.key}"], dtype=float))
        if isinstance(entry, Block):
            label = f"{dim.key} ({entry.size} values: median, range)"
            (line,) = ax.plot(steps, np.median(unit, axis=1), label=label)
            bands[label] = (ax.fill_between(steps, unit.min(axis=1), unit.max(axis=1),
                                            color=line.get_color(), alpha=0.25, linewidth=0),
                            line)
        else:
            ax.plot(steps, unit, label=dim.key)
    ax.set_xlabel("training step")
    ax.set_ylabel("position in the bounds (0 = low, 1 = high)")
    ax.set_ylim(-0.03, 1.03)
    scans = steps[traj["phase"] == "scan"]
    for step in scans:
        ax.axvline(step, color="grey", linestyle=":", label="end of warm-up (scan)")
    loss_ax = ax.twinx()
    loss_ax.plot(steps, traj["val_loss"], color="black", alpha=0.4, label="validation loss")
    loss_ax.set_ylabel("validation loss (batch, at lambda_hat)")
    # above the axes, off the data; a block's entry shows its band and median together
    _unique_legend(ax, [ax, loss_ax], replace=bands, loc="lower left",
                   bbox_to_anchor=(0, 1.01), ncol=2, fontsize="small", frameon=False)
    return ax


def plot_block_values(search, key=None, ax=None):
    """The values a search found for a vector key (``best_params_[key]``).

    One bar per tensor (:class:`~skhyper.PerLayer`), one bar per output unit
    grouped and coloured by tensor (:class:`~skhyper.PerUnit`; on the output
    layer's weight, one bar per class), or a histogram of all the values,
    stacked by tensor (:class:`~skhyper.PerWeight`). The bounds are marked;
    log bounds give a log value axis.

    Parameters
    ----------
    search : fitted HypernetSearchCV
        A search with at least one vector key in ``param_bounds``.
    key : str, optional
        The vector key to draw; default: the first one.
    ax : matplotlib Axes, optional
        Where to draw; default: a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> from skhyper import HypernetSearchCV, PerUnit
    >>> from skhyper.plot import plot_block_values
    >>> search = HypernetSearchCV(  # doctest: +SKIP
    ...     net, {"optimizer__weight_decay": PerUnit(loguniform(1e-5, 1), params="out.weight")},
    ...     cv=3, scoring="neg_log_loss").fit(X, y)
    >>> ax = plot_block_values(search)  # doctest: +SKIP
    >>> ax.figure.savefig("per_class_decay.png")  # doctest: +SKIP
    """
    space = fitted_space(search)
    blocks = space.blocks
    if key is None:
        if not blocks:
            raise ValueError(
                "plot_block_values draws a vector key (PerLayer, PerUnit, PerInput, "
                f"PerWeight), but every key of this search is scalar: {space.keys}."
            )
        block = blocks[0]
    else:
        block = _entry(space, key)
        if not isinstance(block, Block):
            raise ValueError(
                f"{key!r} is a scalar key; plot_block_values draws a vector key. "
                f"This search's vector keys: {[b.key for b in blocks]}."
            )
    if not hasattr(search, "best_params_"):
        raise ValueError("plot_block_values draws best_params_; this search has none "
                         "(refit=False with several metrics).")
    ax = _axes(ax)
    value = search.best_params_[block.key]
    dim = block.dim
    if block.form == "weight":
        _draw_histogram(ax, block, value)
    else:
        _draw_bars(ax, block, value)
    ax.set_title(f"{block.key}: {_FORMS[block.form]}, {block.size} values (best_params_)",
                 fontsize="medium")
    if dim.log:
        (ax.set_xscale if block.form == "weight" else ax.set_yscale)("log")
    return ax


def _draw_bars(ax, block, value):
    dim = block.dim
    if block.form == "layer":
        heights = np.array([value[name] for name in block.names], dtype=float)
        ax.bar(np.arange(len(heights)), heights - dim.low, bottom=dim.low,
               color=[f"C{i}" for i in range(len(heights))])
        ax.set_xticks(np.arange(len(heights)), block.names,
                      rotation=30 if len(heights) > 4 else 0, ha="right" if len(heights) > 4
                      else "center")
        ax.set_xlabel("parameter tensor")
    else:
        noun, short = ("input", "input") if block.form == "input" else ("output unit", "unit")
        start, ticks, tick_labels = 0, [], []
        for i, slot in enumerate(block.slots):
            heights = np.asarray(value[slot.name], dtype=float).reshape(-1)
            where = start + np.arange(len(heights))
            ax.bar(where, heights - dim.low, bottom=dim.low, width=0.8, color=f"C{i}",
                   label=f"{slot.name} ({len(heights)} {short}s)")
            every = max(1, int(np.ceil(len(heights) / 10)))
            ticks += list(where[::every])
            tick_labels += [str(j) for j in range(0, len(heights), every)]
            start += len(heights) + max(1, len(heights) // 10)  # a gap between tensors
        ax.set_xticks(ticks, tick_labels, fontsize="small")
        ax.set_xlabel(f"{noun} (index within its tensor)")
    ax.axhline(dim.low, color="grey", linestyle="--", linewidth=1, label="bounds")
    ax.axhline(dim.high, color="grey", linestyle="--", linewidth=1)
    if dim.log:
        span = dim.high / dim.low
        ax.set_ylim(dim.low / span ** 0.03, dim.high * span ** 0.18)  # room for the legend
    else:
        span = dim.high - dim.low
        ax.set_ylim(dim.low - 0.03 * span, dim.high + 0.18 * span)
    ax.set_ylabel(f"{block.key.split('__')[-1]} (found)")
    ax.legend(loc="upper left", fontsize="small", ncol=3, frameon=False)


def _draw_histogram(ax, block, value):
    dim = block.dim
    edges = (np.geomspace(dim.low, dim.high, 41) if dim.log
             else np.linspace(dim.low, dim.high, 41))
    parts = [np.ravel(np.asarray(value[name], dtype=float)) for name in block.names]
    counts, _, _ = ax.hist(parts, bins=edges, stacked=True,
                           label=[f"{n} ({p.size} weights)" for n, p in zip(block.names, parts)],
                           color=[f"C{i}" for i in range(len(parts))])
    top = np.max(counts)
    ax.axvline(dim.low, color="grey", linestyle="--", linewidth=1, label="bounds")
    ax.axvline(dim.high, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(0, top * 1.45 + 1)  # room for the legend
    if dim.log:
        span = dim.high / dim.low
        ax.set_xlim(dim.low / span ** 0.04, dim.high * span ** 0.04)
    else:
        span = dim.high - dim.low
        ax.set_xlim(dim.low - 0.04 * span, dim.high + 0.04 * span)
    ax.set_xlabel(f"{block.key.split('__')[-1]} (found)")
    ax.set_ylabel("number of weights")
    ax.legend(loc="upper center", fontsize="small", ncol=2, framealpha=1.0)


def plot_landscape(search, X, y, keys=None, resolution=15, grid_results=None, ax=None):
    """The hypernets' predicted validation loss along one hyperparameter, or as a
    heat map over two, with the search path and ``best_params_`` on it.

    A vector key is swept along its shared value (the whole block at one
    value, the other keys at ``best_params_``); its found values are marked by
    their median and range, and the path by the median of the block.

    Parameters
    ----------
    search : fitted HypernetSearchCV
    X, y : the data the search was fitted on
    keys : list of one or two keys of ``param_bounds``; default: the first two
    resolution : points per axis
    grid_results : dict, optional
        A real ``GridSearchCV.cv_results_`` over the same keys; its points are
        drawn as crosses labelled with their real mean test score (the loss, for
        a ``neg_*`` scorer), and its best point (rank 1) is ringed in red.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The heat map's colours are on a log scale (linear if a predicted loss is
    <= 0) and end at the ``COLOUR_QUANTILE`` (0.75) quantile of the predicted
    loss, as its colour bar says: the worst corner of the box would otherwise
    take the whole scale. The legend sits above the axes, off the data; put a
    title in ``fig.suptitle`` and save with ``bbox_inches="tight"``.

    Where the hypernets did not train (``near_path`` False in
    :meth:`~skhyper.HypernetSearchCV.predicted_loss`: farther than twice
    ``perturb_scale`` from every point of the search path) the heat map is
    hatched and a curve's background shaded: the values there are guesses,
    often far from real fits (docs/benchmarks.md, "Landscape"). The star's
    label says what scored ``best_params_`` (``cv_results_["scored_by"]``).
    """
    ax = _axes(ax)
    hatched = None
    space = fitted_space(search)
    keys = list(keys or space.keys[:2])
    entries = [_entry(space, k) for k in keys]
    dims = [space.dimensions[space.keys.index(k)] for k in keys]
    axes_values = [_sweep(d, resolution) for d in dims]
    if len(dims) == 1:
        table = search.predicted_loss(X, y, [{keys[0]: v} for v in axes_values[0]])
        ax.plot(axes_values[0], table["mean_loss"], label="predicted (mean of folds)")
        _shade_far_from_path(ax, axes_values[0], ~table["near_path"])
        _mark_best(ax, entries[0], search.best_params_[keys[0]])
        ax.set_ylabel("predicted validation loss")
    else:
        points = [{keys[0]: a, keys[1]: b} for b in axes_values[1] for a in axes_values[0]]
        table = search.predicted_loss(X, y, points)
        loss = table["mean_loss"].reshape(resolution, resolution)
        norm, scale = _colour_norm(loss)
        mesh = ax.pcolormesh(axes_values[0], axes_values[1], loss, shading="auto", cmap="viridis",
                             norm=norm)
        bar = ax.figure.colorbar(mesh, ax=ax, extend="max",
                                 label=f"predicted validation loss ({scale})")
        for axis in (bar.ax.yaxis.set_major_formatter, bar.ax.yaxis.set_minor_formatter):
            axis("{x:.2g}")  # plain numbers, not 2x10^-1
        path = [_path(search.trajectory_[f"param_{k}"]) for k in keys]
        from matplotlib import patheffects

        ax.plot(path[0], path[1], color="white", marker=".", markersize=3, linewidth=1,
                label="search path",  # outlined: visible on the map and in the legend
                path_effects=[patheffects.Stroke(linewidth=2.5, foreground="black"),
                              patheffects.Normal()])
        hatched = _hatch_far_from_path(ax, axes_values,
                                       ~table["near_path"].reshape(resolution, resolution))
        ax.plot(_shared(search.best_params_[keys[0]]), _shared(search.best_params_[keys[1]]),
                marker="*", color="red", markersize=14, linestyle="none",
                label=_best_label(search))
        ax.set_ylabel(_axis_label(entries[1], keys[1]))
        if dims[1].log:
            ax.set_yscale("log")
    if grid_results is not None:
        _draw_real_points(ax, grid_results, keys)
    ax.set_xlabel(_axis_label(entries[0], keys[0]))
    if dims[0].log:
        ax.set_xscale("log")
    # above the axes, off the data (a title then goes in fig.suptitle)
    handles, labels = ax.get_legend_handles_labels()
    if hatched is not None:
        handles, labels = handles + [hatched], labels + [hatched.get_label()]
    ax.legend(handles, labels, loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2,
              fontsize="small", frameon=False)
    return ax


#: The heat map's colours end at this quantile of the predicted loss: the worst
#: corner of the box (often far from anything the search visits) would otherwise
#: take most of the scale and leave the visited region one flat colour.
COLOUR_QUANTILE = 0.75


#: What the landscape plots say of a region far from where the hypernets trained.
FAR_LABEL = "far from the search path: a guess (near_path False)"


def _hatch_far_from_path(ax, axes_values, far):
    """Hatch the cells of a heat map whose points are far from the search path;
    returns the legend's entry for the hatching (None if nothing is hatched)."""
    if not far.any():
        return None
    from matplotlib.patches import Patch

    with _pyplot().rc_context({"hatch.color": "0.55", "hatch.linewidth": 0.8}):
        ax.contourf(axes_values[0], axes_values[1], far.astype(float), levels=[0.5, 1.5],
                    colors="none", hatches=["///"])
    return Patch(facecolor="none", edgecolor="grey", hatch="///", label=FAR_LABEL)


def _shade_far_from_path(ax, values, far):
    """Shade the stretches of a curve whose points are far from the search path."""
    if far.any():
        ax.fill_between(values, 0, 1, where=far, transform=ax.get_xaxis_transform(),
                        color="grey", alpha=0.2, linewidth=0, label=FAR_LABEL)


def _best_label(search):
    """``best_params_``, and what scored it (``cv_results_["scored_by"]``)."""
    scored_by = search.cv_results_.get("scored_by")
    if scored_by is None or not hasattr(search, "best_index_"):
        return "best_params_"
    return f"best_params_ (scored by {scored_by[search.best_index_]})"


def _colour_norm(loss):
    """A log colour scale (a linear one if a loss is <= 0) clipped at ``COLOUR_QUANTILE``,
    and the words for the colour bar's label."""
    from matplotlib.colors import LogNorm, Normalize

    low, high = float(np.min(loss)), float(np.quantile(loss, COLOUR_QUANTILE))
    high = max(high, np.nextafter(low, np.inf))
    clipped = f"clipped at its {COLOUR_QUANTILE:.0%} quantile"
    if low > 0:
        return LogNorm(vmin=low, vmax=high), f"log scale, {clipped}"
    return Normalize(vmin=low, vmax=high), clipped


def _path(values):
    """A key's column of ``trajectory_``; a block's as the median over the block."""
    values = np.asarray(values, dtype=float)
    return np.median(values, axis=1) if values.ndim == 2 else values


def plot_train_validation(search, X, y, key, resolution=15, ax=None):
    """Predicted training and validation loss along ``key`` (others at
    ``best_params_``; a vector key along its shared value): where the two
    curves part, the net starts to overfit.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    space = fitted_space(search)
    entry = _entry(space, key)
    dim = space.dimensions[space.keys.index(key)]
    values = _sweep(dim, resolution)
    points = [{key: v} for v in values]
    for rows in ("training", "validation"):
        table = search.predicted_loss(X, y, points, rows=rows)
        ax.plot(values, table["mean_loss"], marker=".", label=f"{rows} loss (predicted)")
    _mark_best(ax, entry, search.best_params_[key])
    ax.set_xlabel(_axis_label(entry, key))
    ax.set_ylabel("loss (net's criterion, mean of folds)")
    if dim.log:
        ax.set_xscale("log")
    ax.legend(loc="best", fontsize="small")
    return ax


def _grid_column(grid_results, key):
    """A ``param_<key>`` column of cv_results_ as floats (a structure: its median)."""
    column = np.ma.getdata(grid_results[f"param_{key}"])
    if column.dtype == object:
        return np.array([_shared(v) for v in column], dtype=float)
    return np.asarray(column, dtype=float)


def _draw_real_points(ax, grid_results, keys):
    xs = _grid_column(grid_results, keys[0])
    scores = np.asarray(grid_results["mean_test_score"], dtype=float)
    if len(keys) == 1:
        ax.plot(xs, -scores, "kx", label="real CV (GridSearchCV)")
        best = _grid_best(grid_results)
        ax.plot(xs[best], -scores[best], marker="o", markersize=12, markerfacecolor="none",
                markeredgecolor="red", markeredgewidth=2, linestyle="none",
                label="GridSearchCV's best (real CV)")
        return
    ys = _grid_column(grid_results, keys[1])
    ax.plot(xs, ys, "kx", markersize=8, label="real CV points (GridSearchCV)")
    best = _grid_best(grid_results)
    ax.plot(xs[best], ys[best], marker="o", markersize=14, markerfacecolor="none",
            markeredgecolor="red", markeredgewidth=2, linestyle="none",
            label="GridSearchCV's best (real CV)")
    losses = -scores if np.all(scores <= 0) else scores  # neg_* scorers: show the loss
    from matplotlib import patheffects

    outline = [patheffects.withStroke(linewidth=2, foreground="black")]  # legible on any colour
    for x, y_, value in zip(xs, ys, losses):
        # the last column and the top row label inwards, so no label leaves the axes
        right, top = x >= xs.max(), y_ >= ys.max()
        ax.annotate(f"{value:.3f}", (x, y_), textcoords="offset points",
                    xytext=(-5 if right else 5, -5 if top else 5),
                    ha="right" if right else "left", va="top" if top else "bottom",
                    fontsize="x-small", color="white", path_effects=outline)


def _grid_best(grid_results):
    """The index of a ``cv_results_``'s best row (rank 1 of ``mean_test_score``)."""
    return int(np.argmin(np.asarray(grid_results["rank_test_score"])))
