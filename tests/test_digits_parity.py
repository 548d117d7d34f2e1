"""Parity with GridSearchCV on the issue's digits workload (slow: about 3 minutes).

The oracle is a real 5x5 GridSearchCV on the same net and folds. From the
default start and from each corner of the box, the point HypernetSearchCV
finds must have a real CV log-loss within 10% of GridSearchCV's best, and the
refit model's test log-loss must be within 0.01 of GridSearchCV's. The
hypernets' virtual grid search over the same 25 points must rank them like the
real grid (Spearman >= 0.8). A default search's best_score_ must be within 5% of
the real CV at best_params_ beyond two seed-sd of it (issue 10's target), and its
virtual grid within 15% of the real one at the points near its path.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

from skhyper import HypernetSearchCV

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from digits_vs_grid import CORNERS  # noqa: E402
from workloads import DIGITS  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits():
    X_train, X_test, y_train, y_test = DIGITS.data(0)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    torch.manual_seed(0)
    grid = GridSearchCV(DIGITS.make_net(), DIGITS.grid, cv=cv, scoring="neg_log_loss")
    grid.fit(X_train, y_train)
    return X_train, X_test, y_train, y_test, cv, grid


@pytest.mark.parametrize("start", [None, *CORNERS])
def test_found_point_matches_grid_search(digits, start):
    X_train, X_test, y_train, y_test, cv, grid = digits
    net = DIGITS.make_net(**CORNERS.get(start, {}))
    search = HypernetSearchCV(net, DIGITS.bounds, cv=cv, scoring="neg_log_loss", random_state=0)
    search.fit(X_train, y_train)

    real_cv = -cross_val_score(
        DIGITS.make_net(**search.best_params_), X_train, y_train, cv=cv, scoring="neg_log_loss"
    ).mean()
    assert real_cv <= 1.10 * -grid.best_score_, (search.best_params_, real_cv)
    if start is None:
        test_loss = log_loss(y_test, search.predict_proba(X_test))
        assert test_loss <= log_loss(y_test, grid.predict_proba(X_test)) + 0.01


def test_default_search_reports_what_real_fits_give(digits):
    """Issue 10's targets: by default best_score_ is within 5% of the real CV at
    best_params_ (the mean over 3 torch seeds), counting only the error beyond 2 seed-sd.
    With verify=1 (the default) it is one such real CV itself: measured 0.1% off the
    3-seed mean here (-0.1461 against -0.1460 +- 0.0008), within the seed noise.
    The virtual grid is within 15% of the real grid where it says it knows the box
    (near_path): measured 8-10% on seeds 0-2 (benchmarks/trust.py, 4x4 grid)."""
    X_train, _, y_train, _, cv, grid = digits
    search = HypernetSearchCV(DIGITS.make_net(), DIGITS.bounds, cv=cv, scoring="neg_log_loss",
                              random_state=0).fit(X_train, y_train)
    real = []
    for seed in range(3):
        torch.manual_seed(seed)
        real.append(cross_val_score(DIGITS.make_net(**search.best_params_), X_train, y_train,
                                    cv=cv, scoring="neg_log_loss").mean())
    mean, sd = np.mean(real), np.std(real)
    beyond = max(0.0, abs(search.best_score_ - mean) - 2 * sd) / abs(mean)
    print(f"best_score_ {search.best_score_:.4f}, real CV {mean:.4f} +- {sd:.4f}: "
          f"{beyond:.1%} beyond 2 sd")
    assert search.cv_results_["scored_by"][search.best_index_] == "real fits"
    assert beyond <= 0.05

    virtual = search.virtual_grid_search(X_train, y_train, grid.cv_results_["params"])
    near = np.asarray(virtual["near_path"])
    predicted = np.asarray(virtual["mean_test_score"])[near]
    real_grid = np.asarray(grid.cv_results_["mean_test_score"])[near]
    error = np.mean(np.abs(predicted - real_grid) / np.abs(real_grid))
    print(f"virtual grid near the path ({near.sum()} of {near.size} points): {error:.1%} off")
    assert near.any() and error <= 0.15


def test_virtual_grid_search_ranks_the_real_grid(digits):
    X_train, _, y_train, _, cv, grid = digits
    # the landscape settings (docs: "Landscapes"): an MLP hypernet that keeps
    # sampling the whole box
    search = HypernetSearchCV(DIGITS.make_net(), DIGITS.bounds, cv=cv, scoring="neg_log_loss",
                              random_state=0, hypernet="mlp", global_share=0.1)
    search.fit(X_train, y_train)
    virtual = search.virtual_grid_search(X_train, y_train, grid.cv_results_["params"])
    rho = spearmanr(virtual["mean_test_score"], grid.cv_results_["mean_test_score"]).statistic
    print(f"virtual vs real 5x5 grid on digits: Spearman {rho:.3f}")
    assert rho >= 0.8  # measured 0.89 (seed 0) and 0.91 (seed 1)
