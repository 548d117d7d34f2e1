"""Closed forms and workloads for the oracle tests (no test collected here).

The ridge problem: a linear module with MSE and an L2 penalty (or Gaussian input
noise, which is ridge in expectation) has a closed-form best response, so the true
cross-validated loss of any hyperparameter value is exact. The searches below are the
workloads of ``test_ridge_oracle.py``, ``test_search_strength.py`` and the
ridge-based tests of ``test_search.py`` and ``test_landscape.py``;
``benchmarks/strength_margins.py`` runs the same functions over seeds to measure the
spread that each test's tolerance is set from.
"""

import functools

import numpy as np
import torch
from helpers import make_linear_regressor
from sklearn.model_selection import KFold
from skorch import NeuralNetRegressor
from torch import nn

from skhyper import HypernetSearchCV

LOW, HIGH = 1e-3, 10.0  # the decay box of the ridge searches (log scale)
KEY = "optimizer__weight_decay"


def ridge_problem(seed=0, n=90, p=30, noise=2.0):
    """Data where the validation curve of the decay has an interior optimum."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    w = rng.randn(p) * 0.3
    y = X @ w + noise * rng.randn(n)
    return X.astype(np.float32), y.reshape(-1, 1).astype(np.float32)


def best_response(X, y, wd, penalize_bias=True):
    """argmin of ``mean((X w + b - y)^2) + (wd / 2) * (||w||^2 [+ b^2])``.

    Setting the gradient to zero gives ``(Xa^T Xa + (n wd / 2) D) theta = Xa^T y``
    with ``Xa = [X, 1]`` and ``D`` the identity (without the bias entry when the bias
    is not penalized). Returns ``theta = [w, b]`` (float64).
    """
    Xa = np.hstack([X, np.ones((len(X), 1))]).astype(np.float64)
    D = np.eye(Xa.shape[1])
    if not penalize_bias:
        D[-1, -1] = 0.0
    A = Xa.T @ Xa + 0.5 * len(X) * wd * D
    return np.linalg.solve(A, Xa.T @ y.astype(np.float64)).ravel()


def cv_loss(X, y, splits, wd, penalize_bias=True):
    """The true k-fold validation MSE of the decay ``wd`` (exact fits)."""
    losses = []
    for train, test in splits:
        theta = best_response(X[train], y[train], wd, penalize_bias)
        Xa = np.hstack([X[test], np.ones((len(test), 1))])
        losses.append(np.mean((Xa @ theta - y[test].ravel()) ** 2))
    return float(np.mean(losses))


def true_optimum(X, y, splits, low=LOW, high=HIGH, penalize_bias=True, n_grid=400):
    """The decay minimizing :func:`cv_loss` on a fine log grid, and the curve."""
    grid = np.geomspace(low, high, n_grid)
    curve = np.array([cv_loss(X, y, splits, wd, penalize_bias) for wd in grid])
    return grid[np.argmin(curve)], curve


def to_unit(value, low=LOW, high=HIGH):
    """Unit coordinate of ``value`` in a log-scaled box."""
    return float(np.log(value / low) / np.log(high / low))


def from_unit(t, low=LOW, high=HIGH):
    return float(low * np.exp(t * np.log(high / low)))


def theta_at(hypernet, t):
    """The linear module's ``[weight, bias]`` that ``hypernet`` gives at unit ``t``."""
    with torch.no_grad():
        weights = hypernet(torch.tensor([t], dtype=torch.float32))
    return np.concatenate([weights["weight"].numpy().ravel(), weights["bias"].numpy()])


@functools.cache
def ridge_search(seed=0, random_state=0, start=None, warmup_sampling="global",
                 hypernet="linear", max_epochs=400):
    """The ridge workload: 3-fold search of the decay over ``(LOW, HIGH)``, log scale.

    ``start`` sets the net's own decay, which is where the search starts (the default
    net has none inside the box: the search starts at the box's middle).
    Returns ``(search, X, y, splits, wd_star)``. Cached: the tests that read the same
    search share one fit (they must not change it).
    """
    X, y = ridge_problem(seed)
    cv = KFold(3, shuffle=True, random_state=seed)
    splits = list(cv.split(X))
    wd_star, _ = true_optimum(X, y, splits)
    net_kwargs = {} if start is None else {KEY: start}
    net = make_linear_regressor(X.shape[1], max_epochs=max_epochs, lr=0.05, **net_kwargs)
    search = HypernetSearchCV(
        net, {KEY: (LOW, HIGH, "log")}, cv=cv, scoring="neg_mean_squared_error",
        hypernet=hypernet, warmup_sampling=warmup_sampling, random_state=random_state,
    ).fit(X, y)
    return search, X, y, splits, wd_star


def ridge_from_the_upper_wall(seed=0, random_state=0, hypernet="linear"):
    """The ridge search started at the upper wall with a local warm-up: no scan, so
    only the hyper steps can bring the decay down to the interior optimum."""
    return ridge_search(seed, random_state, start=HIGH, warmup_sampling="local",
                        hypernet=hypernet)


class NoisyLinear(nn.Module):
    """A linear regressor with Gaussian input noise of std ``noise`` in training.

    In expectation over the noise the training loss is
    ``mean((X w + b - y)^2) + noise^2 ||w||^2``: ridge with ``wd = 2 noise^2`` and an
    unpenalized bias, so the noise has a closed-form best response too.
    """

    def __init__(self, n_in=30, noise=0.0):
        super().__init__()
        self.noise = noise
        self.layer = nn.Linear(n_in, 1)

    def forward(self, X):
        if self.training:
            X = X + self.noise * torch.randn_like(X)
        return self.layer(X)


NOISE_LOW, NOISE_HIGH = 0.05, 3.0


def noise_cv_loss(X, y, splits, noise):
    return cv_loss(X, y, splits, 2 * noise**2, penalize_bias=False)


def noise_search(seed=0, random_state=0):
    """3-fold search of NoisyLinear's input noise on the ridge data (log scale).
    Returns ``(search, X, y, splits, noise_star)``."""
    X, y = ridge_problem(seed)
    cv = KFold(3, shuffle=True, random_state=seed)
    splits = list(cv.split(X))
    grid = np.geomspace(NOISE_LOW, NOISE_HIGH, 300)
    noise_star = grid[np.argmin([noise_cv_loss(X, y, splits, s) for s in grid])]
    net = NeuralNetRegressor(
        NoisyLinear, module__n_in=X.shape[1], max_epochs=400, batch_size=-1, lr=0.05,
        optimizer=torch.optim.Adam, train_split=None, verbose=0,
    )
    search = HypernetSearchCV(
        net, {"module__noise": (NOISE_LOW, NOISE_HIGH, "log")}, cv=cv,
        scoring="neg_mean_squared_error", hypernet="linear", refit=False,
        random_state=random_state,
    ).fit(X, y)
    return search, X, y, splits, noise_star


def random_label_data(n=90, seed=0):
    """Features and labels drawn independently: no model does better than chance
    (1/2) on rows it did not train on, and a big enough one memorizes its own."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 8).astype(np.float32)
    y = rng.randint(0, 2, n).astype(np.int64)
    return X, y


# -- measures shared by the tests and benchmarks/strength_margins.py ---------------

DELTA = 0.1  # unit coordinates: the perturbation scale the hypernets are trained over


def response_agreement(hypernet, X, y, train, t, delta=DELTA):
    """How the hypernet's weights move from ``t - delta`` to ``t + delta`` against how
    the closed-form best response moves: ``(cosine, norm ratio)`` of the two moves."""
    moved = theta_at(hypernet, t + delta) - theta_at(hypernet, t - delta)
    expected = (best_response(X[train], y[train], from_unit(t + delta))
                - best_response(X[train], y[train], from_unit(t - delta)))
    cosine = moved @ expected / (np.linalg.norm(moved) * np.linalg.norm(expected))
    return float(cosine), float(np.linalg.norm(moved) / np.linalg.norm(expected))


def penalty_agreement(hypernet, X, y, train, wd, delta=DELTA):
    """The hypernet's weights at ``wd`` against the closed forms: relative distance to
    the ridge solution, to the unpenalized least-squares one, and the hypernet's norm
    ratio between ``t + delta`` and ``t - delta`` (t the unit coordinate of ``wd``),
    plain and over the closed form's."""
    t = to_unit(wd)
    theta = theta_at(hypernet, t)
    ridge = best_response(X[train], y[train], wd)
    plain = best_response(X[train], y[train], 0.0)
    rel_ridge = np.linalg.norm(theta - ridge) / np.linalg.norm(ridge)
    rel_plain = np.linalg.norm(theta - plain) / np.linalg.norm(plain)
    norms = [np.linalg.norm(theta_at(hypernet, t + d)) for d in (-delta, delta)]
    closed = [np.linalg.norm(best_response(X[train], y[train], from_unit(t + d)))
              for d in (-delta, delta)]
    shrink = norms[1] / norms[0]
    return {"rel_ridge": float(rel_ridge), "rel_plain": float(rel_plain),
            "shrink": float(shrink), "shrink_over_closed": float(shrink / (closed[1] / closed[0]))}


def landscape_against_exact(search, X, y, splits, offsets=(-0.1, -0.05, 0.0, 0.05, 0.1)):
    """The search's predicted CV loss and the exact (closed-form) one at unit offsets
    around the found decay."""
    t = to_unit(search.best_params_[KEY])
    units = np.clip(t + np.array(offsets), 0.0, 1.0)
    points = [{KEY: from_unit(u)} for u in units]
    predicted = search.predicted_loss(X, y, points)["mean_loss"]
    exact = np.array([cv_loss(X, y, splits, p[KEY]) for p in points])
    return predicted, exact


def downhill_path(search):
    """The decay at the start and after each hyper step of a search without scan."""
    traj = search.trajectory_
    return traj[f"param_{KEY}"][np.isin(traj["phase"], ["start", "local"])]
