"""How far the search's own CV loss is from real fits as the number of
hyperparameters grows, and what the ``shrinkage`` hyperprior does to it.

For each block size on the digits MLP (64-128-10, 400 training rows; the
workloads of ``many_hyperparameters.py``) and each shrinkage strength, it runs
HypernetSearchCV (default settings otherwise, but ``verify=0``: the gap measured
is that of the hypernet-scored rows, which ``verify=1`` replaces with real fits)
and reports:

* ``search CV``: ``-best_score_``, the log-loss of the best row scored with the
  hypernets' weights on the validation folds (what the search optimized);
* ``real CV``: real 3-fold fits at ``best_params_`` (``with_params``), mean of 2
  torch seeds;
* ``test``: the refit's log-loss on the held-out rows;
* the gaps ``real - search`` (how optimistic the search's number is) and
  ``test - search``.

Usage::

    python benchmarks/validation_gap.py              # seeds 0 1, shrinkage 0 1 100 auto
    python benchmarks/validation_gap.py --quick      # one seed, three rows
    python benchmarks/validation_gap.py --save       # also write benchmarks/results/
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_hyperparameters import (  # noqa: E402
    HIGH,
    LOW,
    SCALING_ROWS,
    SCORING,
    digits_400,
    make_cv,
    mlp_net,
    real_cv_loss,
    test_metrics,
)
from provenance import metadata, save  # noqa: E402
from scipy.stats import loguniform  # noqa: E402

import skhyper  # noqa: E402
from skhyper import HypernetSearchCV, with_params  # noqa: E402


def strength(text):
    return text if text == "auto" else float(text)


def bounds_of(form, glob):
    if form is None:
        return loguniform(LOW, HIGH)
    return getattr(skhyper, form)(loguniform(LOW, HIGH), params=glob)


def one_run(row, shrinkage, seed, data):
    X_train, X_test, y_train, y_test = data
    name, form, glob = row
    search = HypernetSearchCV(
        mlp_net(), {"optimizer__weight_decay": bounds_of(form, glob)}, cv=make_cv(),
        scoring=SCORING, random_state=seed, shrinkage=shrinkage, verify=0,
    ).fit(X_train, y_train)
    real = real_cv_loss(with_params(mlp_net(), search.best_params_), X_train, y_train, [0, 1])
    return {
        "row": name, "n_hyper": len(search.search_space_), "shrinkage": shrinkage,
        "shrinkage_used": search.shrinkage_,
        "seed": seed, "search_cv": float(-search.best_score_), "real_cv": real,
        "test": test_metrics(search, X_test, y_test)["test_loss"],
    }


def table(runs):
    lines = [
        "| decays | hyperparameters | shrinkage | search CV | real CV | test | "
        "real - search | test - search |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = sorted({(r["n_hyper"], r["row"], r["shrinkage"]) for r in runs},
                  key=lambda k: (k[0], k[1], str(k[2])))
    for n, name, shrinkage in keys:
        rs = [r for r in runs if (r["n_hyper"], r["row"], r["shrinkage"]) == (n, name, shrinkage)]
        mean = {k: np.mean([r[k] for r in rs]) for k in ("search_cv", "real_cv", "test")}
        lines.append(
            f"| {name} | {n:,} | {label(shrinkage, rs)} | {mean['search_cv']:.4f} | "
            f"{mean['real_cv']:.4f} | {mean['test']:.4f} | "
            f"{mean['real_cv'] - mean['search_cv']:+.4f} | "
            f"{mean['test'] - mean['search_cv']:+.4f} |"
        )
    return "\n".join(lines)


def label(shrinkage, runs):
    if shrinkage == "auto":
        return f"auto ({runs[0]['shrinkage_used']:.3g})"
    return f"{shrinkage:g}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--shrinkage", type=strength, nargs="+", default=[0.0, 1.0, 100.0, "auto"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [SCALING_ROWS[i] for i in (0, 1, 4)] if args.quick else list(SCALING_ROWS)
    seeds = args.seeds[:1] if args.quick else args.seeds
    data = digits_400()
    begin = time.perf_counter()
    runs = []
    for row in rows:
        for shrinkage in args.shrinkage:
            for seed in seeds:
                runs.append(one_run(row, shrinkage, seed, data))
                print(json.dumps(runs[-1]), flush=True)
    text = table(runs)
    meta = metadata("validation_gap.py", argv)
    print(f"\n{text}\n\n({time.perf_counter() - begin:.0f} s, commit {meta['git_commit']}, "
          f"seeds {seeds})")
    if args.save:
        save("validation_gap", meta, text, {"seeds": seeds, "runs": runs})


if __name__ == "__main__":
    main()
