"""skhyper.plot draws on real fitted searches (matplotlib's Agg backend)."""

import numpy as np
import pytest
from helpers import make_classifier
from sklearn.model_selection import GridSearchCV, KFold

from skhyper import HypernetSearchCV

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from skhyper import plot  # noqa: E402

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.5)}


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 8).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    search = HypernetSearchCV(make_classifier(max_epochs=3), BOUNDS, cv=KFold(3),
                              scoring="neg_log_loss", random_state=0).fit(X, y)
    return search, X, y


def test_trajectory_plot_has_a_line_per_hyperparameter(fitted):
    search, _, _ = fitted
    ax = plot.plot_trajectory(search)
    assert {line.get_label() for line in ax.get_lines()} >= set(BOUNDS)


def test_landscape_heat_map_with_path_best_and_real_points(fitted, tmp_path):
    search, X, y = fitted
    grid = GridSearchCV(make_classifier(max_epochs=1),
                        {"optimizer__weight_decay": [1e-4, 1e-2], "module__dropout": [0.0, 0.5]},
                        cv=KFold(3), scoring="neg_log_loss").fit(X, y)
    ax = plot.plot_landscape(search, X, y, resolution=5, grid_results=grid.cv_results_)
    labels = {line.get_label() for line in ax.get_lines()}
    # the star says what scored best_params_: real fits by default (verify=1)
    assert {"search path", "best_params_ (scored by real fits)",
            "real CV points (GridSearchCV)"} <= labels
    assert ax.get_xscale() == "log"
    ax.figure.savefig(tmp_path / "landscape.png")
    assert (tmp_path / "landscape.png").stat().st_size > 0


def test_landscape_along_one_hyperparameter(fitted):
    search, X, y = fitted
    ax = plot.plot_landscape(search, X, y, keys=["module__dropout"], resolution=4)
    (curve,) = [line for line in ax.get_lines() if line.get_label().startswith("predicted")]
    assert len(curve.get_xdata()) == 4


def test_landscape_marks_where_the_hypernets_did_not_train(fitted):
    """Far from the search path (near_path False) the heat map is hatched and a curve
    shaded, each with its legend entry; none of it where every point is near."""
    search, X, y = fitted
    resolution = 5
    sweep = plot._sweep(search.search_space_.dimensions[1], resolution)
    near = search.predicted_loss(X, y, [{"module__dropout": v} for v in sweep])["near_path"]
    assert not near.all()  # the path never covered all of dropout's range here
    ax = plot.plot_landscape(search, X, y, resolution=resolution)
    assert plot.FAR_LABEL in [text.get_text() for text in ax.get_legend().get_texts()]
    curve = plot.plot_landscape(search, X, y, keys=["module__dropout"], resolution=resolution)
    shaded = [c for c in curve.collections if c.get_label() == plot.FAR_LABEL]
    assert len(shaded) == 1
    # a search whose path covers the box (perturb_scale as wide as the box): nothing marked
    wide = HypernetSearchCV(make_classifier(max_epochs=3), BOUNDS, cv=KFold(3),
                            scoring="neg_log_loss", random_state=0, perturb_scale=1.0,
                            verify=0).fit(X, y)
    ax = plot.plot_landscape(wide, X, y, resolution=resolution)
    assert plot.FAR_LABEL not in [text.get_text() for text in ax.get_legend().get_texts()]
    assert ax.get_lines()[-1].get_label() == "best_params_ (scored by hypernet)"


def test_train_validation_curves(fitted):
    search, X, y = fitted
    ax = plot.plot_train_validation(search, X, y, "optimizer__weight_decay", resolution=4)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "training loss (predicted)" in labels and "validation loss (predicted)" in labels


@pytest.fixture(scope="module")
def landscape(fitted):
    """The demo's figure on the tiny search: a 3x3 real grid whose last column and top
    row sit on the bounds (where labels used to leave the axes), laid out as the demo
    lays it out."""
    search, X, y = fitted
    grid = GridSearchCV(make_classifier(max_epochs=1),
                        {"optimizer__weight_decay": [1e-5, 1e-3, 1e-1],
                         "module__dropout": [0.0, 0.25, 0.5]},
                        cv=KFold(3), scoring="neg_log_loss").fit(X, y)
    ax = plot.plot_landscape(search, X, y, resolution=6, grid_results=grid.cv_results_)
    ax.figure.suptitle("a title")
    ax.figure.set_size_inches(7.5, 6)
    ax.figure.tight_layout()
    ax.figure.canvas.draw()
    return ax, grid


def test_landscape_colours_are_log_and_clipped_so_the_visited_region_is_not_flat(landscape):
    from matplotlib.collections import QuadMesh
    from matplotlib.colors import LogNorm

    ax, _ = landscape
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]  # (the rest: hatching)
    loss = np.asarray(mesh.get_array())
    assert isinstance(mesh.norm, LogNorm)
    assert mesh.norm.vmin == pytest.approx(loss.min())
    assert mesh.norm.vmax == pytest.approx(np.quantile(loss, plot.COLOUR_QUANTILE))
    bar_label = mesh.colorbar.ax.get_ylabel()
    assert "log scale" in bar_label and "clipped at its 75% quantile" in bar_label


def test_landscape_text_stays_inside_the_axes_and_the_figure(landscape):
    """The crosses' score labels lie inside the axes (the right-hand column's used to
    run past the edge), and everything drawn (ticks, labels, legend, colour bar) lies
    inside the figure."""
    ax, grid = landscape
    renderer = ax.figure.canvas.get_renderer()
    inside_axes = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) == len(grid.cv_results_["params"])
    for text in labels:
        box = text.get_window_extent(renderer)
        assert inside_axes.x0 <= box.x0 and box.x1 <= inside_axes.x1, text.get_text()
        assert inside_axes.y0 <= box.y0 and box.y1 <= inside_axes.y1, text.get_text()
    drawn, figure = ax.figure.get_tightbbox(renderer), ax.figure.bbox_inches  # in inches
    assert figure.x0 <= drawn.x0 and drawn.x1 <= figure.x1
    assert figure.y0 <= drawn.y0 and drawn.y1 <= figure.y1


def test_landscape_legend_sits_off_the_data(landscape):
    ax, _ = landscape
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    data = ax.get_window_extent(renderer)
    assert not legend.overlaps(data)
    title = ax.figure.get_suptitle()
    assert title and not legend.overlaps(ax.figure._suptitle.get_window_extent(renderer))


def test_landscape_marks_grid_search_best_point(landscape):
    ax, grid = landscape
    (ring,) = [line for line in ax.get_lines()
               if line.get_label() == "GridSearchCV's best (real CV)"]
    best = grid.best_params_
    assert ring.get_xdata()[0] == pytest.approx(best["optimizer__weight_decay"])
    assert ring.get_ydata()[0] == pytest.approx(best["module__dropout"])
    assert "GridSearchCV's best (real CV)" in [t.get_text() for t in ax.get_legend().get_texts()]
