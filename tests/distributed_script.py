"""A user's script, run under torchrun by tests/test_distributed.py (not collected).

``python -m torch.distributed.run --standalone --nproc_per_node=N
tests/distributed_script.py OUT_DIR CV [dropout] [draws] [grid] [stacked]`` fits one
HypernetSearchCV,
unchanged from a single-process script, and writes this rank's key outputs to
``OUT_DIR/rank<RANK>.pkl``. :func:`fit_search` is also what the test runs in
one process, as the oracle.

With ``SKHYPER_TEST_FAIL_RANK=r`` and ``SKHYPER_TEST_FAIL_AFTER=n``, rank ``r``'s
module raises in its ``n``-th training forward (the failure test).
"""

import os
import pickle
import sys
import warnings

import numpy as np
import torch
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1)}


class Net(nn.Module):
    """A tiny MLP; ``dropout > 0`` adds a dropout layer (its masks use torch's RNG).

    ``draws=True`` adds ``0 *`` a uniform draw to the input: the output is unchanged
    but every forward consumes torch's RNG, differently on each rank (its share of
    the folds) than in one process, as dropout does.
    """

    def __init__(self, dropout=0.0, draws=False):
        super().__init__()
        self.hidden, self.out = nn.Linear(8, 16), nn.Linear(16, 3)
        self.drop = nn.Dropout(dropout)
        self.draws = draws
        self.calls = 0

    def forward(self, X):
        fail_rank = os.environ.get("SKHYPER_TEST_FAIL_RANK")
        if self.training and fail_rank is not None and os.environ.get("RANK") == fail_rank:
            self.calls += 1
            if self.calls >= int(os.environ["SKHYPER_TEST_FAIL_AFTER"]):
                raise RuntimeError(f"planted failure in forward call {self.calls}")
        if self.draws:
            X = X + 0 * torch.rand_like(X)
        return torch.softmax(self.out(self.drop(torch.relu(self.hidden(X)))), dim=-1)


def data(n=240):
    rng = np.random.RandomState(0)
    X = rng.randn(n, 8).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return X, y


def fit_search(cv, dropout=0.0, draws=False, grid=False, verify_fits="skorch"):
    """The search every run fits: 6 epochs (2 of warm-up), 4 candidate rows, a refit;
    with ``grid``, a learning-rate list next to the range (two searches)."""
    net = NeuralNetClassifier(Net, module__dropout=dropout, module__draws=draws,
                              max_epochs=6, batch_size=32,
                              lr=1e-2, optimizer=torch.optim.Adam, train_split=None, verbose=0)
    bounds = {**BOUNDS, "lr": [1e-2, 3e-2]} if grid else BOUNDS
    search = HypernetSearchCV(net, bounds, cv=cv, scoring="neg_log_loss", n_candidates=4,
                              hyper_lr=0.3, random_state=0, verify_fits=verify_fits)
    return search.fit(*data())


def key_outputs(search):
    """What the test compares across ranks and with one process."""
    return {
        "best_params": search.best_params_,
        "mean_test_score": np.asarray(search.cv_results_["mean_test_score"]),
        "params": search.cv_results_["params"],
        "trajectory_len": len(search.trajectory_["step"]),
        "trajectory_t": np.asarray(search.trajectory_["param_optimizer__weight_decay"]),
        "n_hypernets": len(search.hypernets_),
        "n_fold_estimators": len(search.fold_estimators_),
        "batched_folds": search.batched_folds_,
        "refit_prediction": search.predict_proba(data()[0][:5]),
        "verify_fits": search.verify_fits_,
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    out_dir, cv = sys.argv[1], int(sys.argv[2])
    dropout = 0.3 if "dropout" in sys.argv[3:] else 0.0
    draws = "draws" in sys.argv[3:]
    grid = "grid" in sys.argv[3:]
    verify_fits = "stacked" if "stacked" in sys.argv[3:] else "skorch"
    rank = os.environ["RANK"]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outputs = key_outputs(fit_search(cv, dropout, draws, grid, verify_fits))
    except Exception as exc:  # the failure test reads what each rank raised
        with open(os.path.join(out_dir, f"rank{rank}.error"), "w") as f:
            f.write(f"{type(exc).__name__}: {exc}")
        raise
    outputs["group_destroyed"] = not torch.distributed.is_initialized()
    outputs["warnings"] = [str(w.message) for w in caught]
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(outputs, f)
