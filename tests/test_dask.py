"""Real fits on a Dask cluster: the verify fits and the refit follow joblib's backend.

A ``LocalCluster`` of two worker processes (one thread each) stands in for a
cluster. The oracle is the same search run in this process with ``n_jobs=1``:
every fit is seeded inside its own task, so where it runs must not change a
number. Worker placement is read from a real skorch callback that records the
process id of every fit into a file.
"""

import os
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from helpers import make_classifier
from sklearn.model_selection import GridSearchCV, KFold
from skorch.callbacks import Callback

from skhyper import HypernetSearchCV

distributed = pytest.importorskip("distributed", reason="the dev extra installs dask[distributed]")

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.5)}


BENCHMARKS = (Path(__file__).parents[1] / "benchmarks").resolve()


@pytest.fixture(scope="module")
def client():
    # the workers start with this process's sys.path: without benchmarks/ (which a
    # benchmark module imported by another test puts first), so that its
    # distributed.py does not shadow dask's distributed package there
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCHMARKS]
    try:
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    finally:
        sys.path[:] = saved
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


class RecordPid(Callback):
    """Append the id of the process that runs each fit to ``path``."""

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, **kwargs):
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()}\n")


def _search(**params):
    return HypernetSearchCV(make_classifier(), BOUNDS, cv=KFold(3, shuffle=True, random_state=0),
                            scoring="neg_log_loss", random_state=0, **params)


def _score_columns(results):
    return [key for key in results
            if key.startswith(("mean_test_", "std_test_", "rank_test_", "split"))]


def test_verify_under_dask_equals_the_single_process_fit(client, classification_data):
    """verify=2 on the cluster gives this process's cv_results_ and refit. Every fit
    is seeded inside its task and both sides run torch on one thread, so the only
    room for a difference is float reordering across processes: rtol=1e-6."""
    X, y = classification_data
    local = _search(verify=2, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = _search(verify=2).fit(X, y)
    assert len(remote.cv_results_["params"]) == 2
    assert remote.cv_results_["params"] == local.cv_results_["params"]
    columns = _score_columns(local.cv_results_)
    assert len(columns) == 3 + 3  # mean, std, rank and the three folds
    for key in columns:
        np.testing.assert_allclose(remote.cv_results_[key], local.cv_results_[key],
                                   rtol=1e-6, err_msg=key)
    assert remote.best_score_ == pytest.approx(local.best_score_, rel=1e-6)
    np.testing.assert_allclose(remote.best_estimator_.predict_proba(X),
                               local.best_estimator_.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_verify_fits_and_refit_run_on_the_workers(client, classification_data, tmp_path):
    """Each of the 3 verify fits per verified row (2 at most) and the refit records
    its process id: all are the workers', none is this process's, and both workers
    got some."""
    X, y = classification_data
    path = tmp_path / "pids.txt"
    net = make_classifier(callbacks=[("pid", RecordPid(str(path)))])
    search = HypernetSearchCV(net, BOUNDS, cv=3, verify=2, random_state=0)
    with joblib.parallel_backend("dask"):
        search.fit(X, y)
    pids = [int(line) for line in path.read_text().split()]
    workers = set(client.run(os.getpid).values())
    n_verified = len(search.cv_results_["params"])
    assert 1 <= n_verified <= 2
    assert len(pids) == n_verified * 3 + 1
    assert set(pids) <= workers
    assert os.getpid() not in pids
    assert len(set(pids)) == 2


def test_outer_grid_over_lr_under_dask_equals_the_sequential_grid(client, classification_data):
    """An outer GridSearchCV over estimator__lr, n_jobs=-1, spreads whole searches
    over the workers and reproduces the sequential outer grid (seeded searches)."""
    X, y = classification_data
    grid = {"estimator__lr": [3e-3, 3e-2]}
    inner = HypernetSearchCV(make_classifier(), BOUNDS, cv=2, verify=1, random_state=0)
    torch.manual_seed(0)
    sequential = GridSearchCV(inner, grid, cv=2, n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        spread = GridSearchCV(inner, grid, cv=2, n_jobs=-1).fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_allclose(spread.cv_results_[key], sequential.cv_results_[key],
                                   rtol=1e-6, err_msg=key)
    assert spread.best_params_ == sequential.best_params_
    assert isinstance(spread.best_estimator_, HypernetSearchCV)
