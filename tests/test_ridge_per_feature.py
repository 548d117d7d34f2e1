"""Ridge oracle for vector hyperparameters: one decay per feature.

A linear net with MSE and a per-feature L2 penalty has the closed-form best
response ``theta = (Xa^T Xa + (n / 2) diag(decays, 0))^-1 Xa^T y``, so the CV
loss is a known function of the decays, and its numerical minimum is the true
CV optimum.
"""

import numpy as np
import pytest
from helpers import make_linear_regressor
from scipy.optimize import minimize
from sklearn.model_selection import KFold

from skhyper import HypernetSearchCV, PerWeight


def sparse_ridge_problem(seed, n=120, p=8, noise=1.5):
    """Half the features carry signal, half are noise: one decay per feature
    (small on the signal, large on the noise) beats any shared decay."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    w = np.zeros(p)
    w[: p // 2] = rng.choice([-1, 1], p // 2) * 1.5
    y = X @ w + noise * rng.randn(n)
    return X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def per_feature_cv_loss(X, y, splits, decays):
    """The closed-form CV loss of one decay per feature (the bias is not decayed)."""
    losses = []
    for train, test in splits:
        Xa = np.hstack([X[train], np.ones((len(train), 1))]).astype(np.float64)
        A = Xa.T @ Xa + 0.5 * len(train) * np.diag(np.append(decays, 0.0))
        theta = np.linalg.solve(A, Xa.T @ y[train].astype(np.float64))
        Xt = np.hstack([X[test], np.ones((len(test), 1))])
        losses.append(np.mean((Xt @ theta - y[test]) ** 2))
    return np.mean(losses)


def shared_and_optimal_losses(X, y, splits, low, high):
    """The closed-form CV loss at the best shared decay (a fine grid) and at the best
    per-feature decays (L-BFGS-B from there, within the bounds)."""
    p = X.shape[1]
    shared = np.geomspace(low, high, 200)
    shared_losses = [per_feature_cv_loss(X, y, splits, np.full(p, d)) for d in shared]
    optimum = minimize(
        lambda z: per_feature_cv_loss(X, y, splits, np.exp(z)),
        np.full(p, np.log(shared[int(np.argmin(shared_losses))])), method="L-BFGS-B",
        bounds=[(np.log(low), np.log(high))] * p,
    ).fun
    return min(shared_losses), optimum


@pytest.mark.parametrize("seed", [0, 3])
def test_per_feature_decays_beat_the_best_shared_decay_of_the_closed_form(seed):
    X, y = sparse_ridge_problem(seed)
    p = X.shape[1]
    cv = KFold(3, shuffle=True, random_state=seed)
    splits = list(cv.split(X))
    low, high = 1e-3, 10.0
    best_shared, optimum = shared_and_optimal_losses(X, y, splits, low, high)
    assert optimum < best_shared - 0.05, "the oracle needs per-feature decays to matter"

    net = make_linear_regressor(p, max_epochs=400, lr=0.05)
    search = HypernetSearchCV(
        net, {"optimizer__weight_decay": PerWeight((low, high, "log"), params="weight")},
        cv=cv, scoring="neg_mean_squared_error", random_state=seed,
    ).fit(X, y)
    found = search.best_params_["optimizer__weight_decay"]["weight"].ravel()
    found_loss = per_feature_cv_loss(X, y, splits, found)
    start = search.trajectory_["param_optimizer__weight_decay"][1]  # after the scan
    assert np.ptp(start) == 0, "the scan starts the block at one shared value"
    # The share of the per-feature gain (best shared -> true optimum) the search
    # earns, with the default shrinkage="auto": measured 0.03-0.96 over data seeds
    # 0-9 (mean 0.66; 0.38 and 0.52 on seeds 0 and 3). A search that climbs, or
    # stops at the scan's shared value, earns <= 0.
    captured = (best_shared - found_loss) / (best_shared - optimum)
    assert captured > 0.15, captured
    assert found_loss < per_feature_cv_loss(X, y, splits, start)
