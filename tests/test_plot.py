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
    assert {"search path", "best_params_", "real CV points (GridSearchCV)"} <= labels
    assert ax.get_xscale() == "log"
    ax.figure.savefig(tmp_path / "landscape.png")
    assert (tmp_path / "landscape.png").stat().st_size > 0


def test_landscape_along_one_hyperparameter(fitted):
    search, X, y = fitted
    ax = plot.plot_landscape(search, X, y, keys=["module__dropout"], resolution=4)
    (curve,) = [line for line in ax.get_lines() if line.get_label().startswith("predicted")]
    assert len(curve.get_xdata()) == 4


def test_train_validation_curves(fitted):
    search, X, y = fitted
    ax = plot.plot_train_validation(search, X, y, "optimizer__weight_decay", resolution=4)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "training loss (predicted)" in labels and "validation loss (predicted)" in labels
