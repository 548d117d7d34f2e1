"""Hyper-training wall time with the folds across 2 processes vs 1 process of 2 threads.

    python benchmarks/distributed.py [--save]        # about 2 minutes on 2 cores

The ``large`` workload (``benchmarks/workloads.py``: 20,000 x 50 training rows,
4 classes, an MLP of 128 hidden units, 10 epochs, batch 256), ``cv=4``, the default
box (dropout, weight decay), ``random_state=0``, no refit. The same search runs

- in this process with 2 torch threads,
- in this process with 1 torch thread (the serial reference: how much the second
  core already gives one process), and
- under ``python -m torch.distributed.run --standalone --nproc_per_node=2`` (gloo),
  each rank with 1 torch thread (``OMP_NUM_THREADS=1``), 2 folds per rank,

on the same 2 cores, one after the other, in ``--repeats`` interleaved rounds (the
median run of each is shown). The time is ``search_time_`` (the
hyper-training only; the slower rank's under torchrun). ``best_params_`` must agree
within a relative 2e-2: the nets have dropout, whose masks come from each process's
torch RNG (docs/scaling_out.md). ``--save`` writes ``benchmarks/results/distributed``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from provenance import metadata, save  # noqa: E402
from workloads import LARGE  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402

N_TRAIN = 20_000
CV = 4
TOLERANCE = 2e-2


def fit_search():
    X, _, y, _ = LARGE.data(seed=0, n_train=N_TRAIN)
    search = HypernetSearchCV(LARGE.make_net(), LARGE.bounds, cv=CV, random_state=0,
                              refit=False)
    search.fit(X, y)
    return {"search_time": search.search_time_,
            "best_params": {k: float(v) for k, v in search.best_params_.items()},
            "batched_folds": bool(search.batched_folds_)}


def worker(out_dir):
    """One rank under torchrun: fit, write this rank's time and best_params_."""
    torch.set_num_threads(1)
    result = fit_search()
    rank = os.environ["RANK"]
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps(result))


def run_distributed():
    with tempfile.TemporaryDirectory() as out_dir:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   "--nproc_per_node=2", __file__, "--worker", out_dir]
        subprocess.run(command, env=env, check=True)
        ranks = [json.loads((Path(out_dir) / f"rank{r}.json").read_text()) for r in range(2)]
    return ranks


def table(single, serial, ranks):
    slower = max(r["search_time"] for r in ranks)
    rows = [
        "| setup | hyper-training wall time (s) | best_params_ |",
        "|---|---|---|",
        f"| 1 process, 2 torch threads | {single['search_time']:.1f} | "
        f"{_params(single['best_params'])} |",
        f"| 1 process, 1 torch thread | {serial['search_time']:.1f} | "
        f"{_params(serial['best_params'])} |",
    ]
    for r, rank in enumerate(ranks):
        rows.append(f"| torchrun, 2 processes of 1 thread: rank {r} | {rank['search_time']:.1f} "
                    f"| {_params(rank['best_params'])} |")
    ratio = single["search_time"] / slower
    return "\n".join(rows), ratio


def _median(results):
    """The run with the median hyper-training time."""
    return sorted(results, key=lambda r: r["search_time"])[len(results) // 2]


def _params(params):
    return ", ".join(f"{k}={v:.4g}" for k, v in params.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of the three setups; each setup's median time is shown")
    parser.add_argument("--worker", metavar="OUT_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    meta = metadata("distributed.py")
    rounds = {"single": [], "serial": [], "ranks": []}
    for _ in range(args.repeats):  # interleaved, so that a drift of the host hits all three
        torch.set_num_threads(2)
        rounds["single"].append(fit_search())
        torch.set_num_threads(1)
        rounds["serial"].append(fit_search())
        rounds["ranks"].append(run_distributed())
    single, serial = _median(rounds["single"]), _median(rounds["serial"])
    ranks = sorted(rounds["ranks"], key=lambda rs: max(r["search_time"] for r in rs))[
        len(rounds["ranks"]) // 2]
    text, ratio = table(single, serial, ranks)
    slower = max(r["search_time"] for r in ranks)
    agree = all(
        np.isclose(rank["best_params"][k], v, rtol=TOLERANCE)
        for rank in ranks for k, v in single["best_params"].items()
    )
    text += (f"\n\nspeed-up of 2 processes over 1 process of 2 threads: {ratio:.2f}x "
             f"(target 1.5x); best_params_ agree within a relative {TOLERANCE:g}: "
             f"{'yes' if agree else 'NO'}\n"
             f"the second core as a second thread of one process: "
             f"{serial['search_time'] / single['search_time']:.2f}x over 1 thread; "
             f"as a second process: {serial['search_time'] / slower:.2f}x")
    print(text)
    if args.save:
        save("distributed", meta, text,
             {"single": single, "serial": serial, "ranks": ranks, "speedup": ratio,
              "params_agree": agree, "n_train": N_TRAIN, "cv": CV, "rounds": rounds})


if __name__ == "__main__":
    main()
