"""GPU check of the device path: the search with ``net.device="cuda"``.

On a 20,000 x 50 ``make_classification`` MLP (50-256-5, 20 epochs, batch 128),
runs in one process:

1. a plain skorch fit on the GPU (the unit of cost);
2. HypernetSearchCV on the GPU (cv=3, weight decay and dropout);
3. the same search on the CPU with the same seed, on a 4,000-row subset, and on
   the GPU on that subset too, to compare the two paths' found points.

It prints throughput (training rows per second through the hypernets vs the
plain fit, per fold: issue 12's target is at least 0.7) and the CPU/GPU agreement.
Then:

4. the fitted GPU search, pickled, unpickles and predicts in a fresh process that
   sees no GPU (``CUDA_VISIBLE_DEVICES=""``);
5. the distributed path: the same search under ``torchrun --standalone
   --nproc_per_node=W`` for W = 1 and, on a machine with 2 GPUs or more, W = 2
   (NCCL, each rank on ``cuda:LOCAL_RANK``), each rank's ``best_params_`` and
   hyper-training time next to the single process's.

On a machine without CUDA it says so and exits with status 0, so it runs
unchanged anywhere.

Usage::

    python benchmarks/gpu_check.py            # full check (GPU needed)
    python benchmarks/gpu_check.py --rows 4000 --epochs 5   # shorter
    python benchmarks/gpu_check.py --device cpu --rows 2000 --epochs 2  # smoke test, no GPU
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV


class MLP(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(50, 256)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(256, 5)

    def forward(self, X):
        return torch.softmax(self.out(self.dropout(torch.relu(self.hidden(X)))), dim=-1)


BOUNDS = {"optimizer__weight_decay": (1e-6, 1e-1, "log"), "module__dropout": (0.0, 0.8)}


def make_net(device, epochs):
    return NeuralNetClassifier(MLP, max_epochs=epochs, batch_size=128, lr=1e-3,
                               optimizer=torch.optim.Adam, train_split=None, verbose=0,
                               device=device)


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    begin = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - begin


def search(device, X, y, epochs, seed=0):
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    return HypernetSearchCV(make_net(device, epochs), BOUNDS, cv=cv, scoring="neg_log_loss",
                            random_state=seed).fit(X, y)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cuda",
                        help="cuda (default), or cpu to smoke-test this script anywhere")
    parser.add_argument("--worker", metavar="OUT_DIR", help="(internal) one torchrun rank")
    args = parser.parse_args(argv)
    device = args.device
    if args.worker:
        worker(args.worker, device, args.rows, args.epochs)
        return 0
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; nothing to check.")
        return 0
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    print(f"device: {name}, torch {torch.__version__}")
    X, y = make_classification(n_samples=args.rows + 5000, n_features=50, n_informative=30,
                               n_classes=5, random_state=0)
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=5000, random_state=0)

    make_net(device, 1).fit(X_train[:1000], y_train[:1000])  # CUDA context, kernels
    torch.manual_seed(0)
    plain, unit = timed(lambda: make_net(device, args.epochs).fit(X_train, y_train))
    found, seconds = timed(lambda: search(device, X_train, y_train, args.epochs))
    rows_through = 2 / 3 * len(X_train) * 3 * args.epochs  # 3 folds, each 2/3 of the rows
    print(f"plain fit on {device}: {unit:.1f}s ({len(X_train) * args.epochs / unit:,.0f} rows/s), "
          f"test log-loss {log_loss(y_test, plain.predict_proba(X_test)):.4f}")
    print(f"HypernetSearchCV on {device}: {seconds:.1f}s = {seconds / unit:.1f} plain fits "
          f"(search {found.search_time_:.1f}s: {rows_through / found.search_time_:,.0f} "
          f"rows/s through the hypernets; refit {found.refit_time_:.1f}s); best "
          f"{found.best_params_}, test log-loss "
          f"{log_loss(y_test, found.predict_proba(X_test)):.4f}; folds batched in one "
          f"vmap step: {found.batched_folds_}")

    small = slice(0, 4000)
    on_gpu = search(device, X_train[small], y_train[small], args.epochs)
    on_cpu = search("cpu", X_train[small], y_train[small], args.epochs)
    for key in BOUNDS:
        print(f"{key}: {device} {on_gpu.best_params_[key]:.4g}, "
              f"cpu {on_cpu.best_params_[key]:.4g}")
    gap = abs(on_gpu.best_score_ - on_cpu.best_score_)
    print(f"best_score_: {device} {on_gpu.best_score_:.4f}, cpu {on_cpu.best_score_:.4f} "
          f"(difference {gap:.4f}; seeds match, kernels differ, so close, not equal)")
    assert on_gpu.hypernets_[0].center.device.type == "cpu", "hypernets_ must be kept on the CPU"
    per_fold = (rows_through / 3 / found.search_time_) / (len(X_train) * args.epochs / unit)
    print(f"hyper-training throughput per fold / plain fit's: {per_fold:.2f} (target >= 0.7)")
    print(unpickle_without_gpu(found, X_test[:5]))
    worlds = [1, 2] if torch.cuda.device_count() >= 2 else [1]
    for world in worlds:
        for rank in run_torchrun(world, device, args):
            print(f"torchrun world size {world}, rank {rank['rank']}: search "
                  f"{rank['search_time']:.1f}s (single process {on_gpu.search_time_:.1f}s), "
                  f"best {rank['best_params']}")
    return 0


def unpickle_without_gpu(search, X):
    """Unpickle ``search`` and predict in a fresh process that sees no GPU."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.pkl"
        path.write_bytes(pickle.dumps(search))
        # the module class pickles by reference: __main__.MLP when this runs as a script
        code = ("import pickle, sys, numpy, torch, __main__; "
                "assert not torch.cuda.is_available(); "
                f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
                "from gpu_check import MLP; __main__.MLP = MLP; "
                f"s = pickle.load(open({str(path)!r}, 'rb')); "
                f"print(s.predict(numpy.load({str(path)!r} + '.npy')).tolist())")
        np.save(str(path) + ".npy", X)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300)
    if run.returncode != 0:
        return f"unpickle on a CPU-only process FAILED:\n{run.stderr[-2000:]}"
    return (f"unpickle on a CPU-only process: predicts {run.stdout.strip()} "
            f"(here: {search.predict(X).tolist()})")


def run_torchrun(world, device, args):
    """This script's ``--worker`` mode under torchrun: every rank's result."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={world}", __file__, "--worker", out,
                   "--device", device, "--rows", str(args.rows), "--epochs", str(args.epochs)]
        subprocess.run(command, check=True, timeout=600)
        return [json.loads((Path(out) / f"rank{r}.json").read_text()) for r in range(world)]


def worker(out, device, rows, epochs):
    """One rank: the 4,000-row search of step 3, on this rank's device."""
    X, y = make_classification(n_samples=rows + 5000, n_features=50, n_informative=30,
                               n_classes=5, random_state=0)
    X_train, _, y_train, _ = train_test_split(X.astype(np.float32), y, test_size=5000,
                                              random_state=0)
    found = search(device, X_train[:4000], y_train[:4000], epochs)
    rank = os.environ["RANK"]
    result = {"rank": int(rank), "search_time": found.search_time_,
              "best_params": {k: round(float(v), 6) for k, v in found.best_params_.items()}}
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
