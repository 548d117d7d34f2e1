"""HypernetSearchCV against GridSearchCV (5x5) on load_digits, side by side.

The issue-2 comparison: an MLP 64-128-10 with dropout, Adam lr 1e-3, 40
epochs, batch 64, cv=3, tuning weight decay in (1e-6, 1e-1, log) and dropout
in (0, 0.8). Everything runs in one process on the same folds, so the
reported numbers are ratios measured together:

* cost = wall time (search + refit) / one plain fit of the net on the
  training set (the unit of cost);
* test log-loss and accuracy on a held-out quarter of the data;
* with ``--corners``: the search started from each corner of the box, and
  the real 3-fold CV log-loss of the point it found (3 real fits), to
  compare with GridSearchCV's best real CV log-loss.

Usage::

    python benchmarks/digits_vs_grid.py            # default start, seed 0
    python benchmarks/digits_vs_grid.py --corners  # plus the 4 corner starts
    python benchmarks/digits_vs_grid.py --seeds 0 1 2 --out benchmarks/results/digits.json

``--out PATH`` writes ``{"metadata": ..., "rows": [...]}`` (the command and the commit it
ran on, ``benchmarks/provenance.py``) and the printed table next to it (``PATH`` with
``.md``); without it nothing is written.
    python benchmarks/digits_vs_grid.py --workload small_digits  # regularization matters

Workloads (``benchmarks/workloads.py``): ``digits`` (the issue's), ``small_digits``
(300 training rows, 512 hidden units, 150 epochs: overfits without regularization)
and ``breast_cancer``; all share the same box and 5x5 grid.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402

CORNERS = {
    "corner wd=1e-6 p=0": {"optimizer__weight_decay": 1e-6, "module__dropout": 0.0},
    "corner wd=1e-6 p=0.8": {"optimizer__weight_decay": 1e-6, "module__dropout": 0.8},
    "corner wd=0.1 p=0": {"optimizer__weight_decay": 0.1, "module__dropout": 0.0},
    "corner wd=0.1 p=0.8": {"optimizer__weight_decay": 0.1, "module__dropout": 0.8},
}


def timed(fn):
    begin = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - begin


def evaluate(name, estimator, seconds, unit, data, extra=None):
    X_train, X_test, y_train, y_test = data
    proba = estimator.predict_proba(X_test)
    row = {
        "method": name,
        "seconds": seconds,
        "cost_units": seconds / unit,
        "test_log_loss": float(log_loss(y_test, proba)),
        "test_accuracy": float(accuracy_score(y_test, proba.argmax(1))),
    }
    if hasattr(estimator, "best_params_"):
        row["best_params"] = {k: float(v) for k, v in estimator.best_params_.items()}
        row["best_cv_log_loss"] = float(-estimator.best_score_)
    row.update(extra or {})
    return row


def real_cv_log_loss(workload, params, data, cv):
    X_train, _, y_train, _ = data
    net = workload.make_net(**params)
    return float(-cross_val_score(net, X_train, y_train, cv=cv, scoring="neg_log_loss").mean())


def run_seed(workload, seed, corners):
    data = workload.data(seed)
    X_train, _, y_train, _ = data
    cv = StratifiedKFold(3, shuffle=True, random_state=seed)
    torch.manual_seed(seed)
    workload.make_net(max_epochs=2).fit(X_train, y_train)  # warm up torch before timing
    rows = []

    torch.manual_seed(seed)
    plain, unit = timed(lambda: workload.make_net().fit(X_train, y_train))
    rows.append(evaluate("plain fit (untuned)", plain, unit, unit, data))

    torch.manual_seed(seed)
    grid = GridSearchCV(workload.make_net(), workload.grid, cv=cv, scoring="neg_log_loss")
    grid, seconds = timed(lambda: grid.fit(X_train, y_train))
    rows.append(evaluate("GridSearchCV 5x5", grid, seconds, unit, data))
    grid_best = -grid.best_score_

    starts = {"HypernetSearchCV": {}}
    if corners:
        starts.update({f"HypernetSearchCV {k}": v for k, v in CORNERS.items()})
    for name, start in starts.items():
        torch.manual_seed(seed)
        search = HypernetSearchCV(
            workload.make_net(**start), workload.bounds, cv=cv, scoring="neg_log_loss",
            random_state=seed,
        )
        search, seconds = timed(lambda s=search: s.fit(X_train, y_train))
        torch.manual_seed(seed)
        real = real_cv_log_loss(workload, search.best_params_, data, cv)
        rows.append(evaluate(name, search, seconds, unit, data, {
            "real_cv_log_loss": real,
            "real_cv_vs_grid_best": real / grid_best,
        }))
    for row in rows:
        row["seed"] = seed
        row["workload"] = workload.name
    return rows


def markdown(rows):
    lines = [
        "| seed | method | cost (plain fits) | time ratio vs grid | best params "
        "| CV log-loss (search's own) | real CV log-loss | test log-loss | test acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    grid_seconds = {r["seed"]: r["seconds"] for r in rows if r["method"].startswith("Grid")}
    for r in rows:
        best = r.get("best_params", {})
        params = ", ".join(f"{k.split('__')[-1]}={v:.3g}" for k, v in best.items())
        grid_real = r.get("best_cv_log_loss") if r["method"].startswith("Grid") else None
        real = r.get("real_cv_log_loss", grid_real)
        lines.append(
            f"| {r['seed']} | {r['method']} | {r['cost_units']:.1f} | "
            f"{r['seconds'] / grid_seconds[r['seed']]:.3f} | {params} | "
            f"{r.get('best_cv_log_loss', float('nan')):.4f} | "
            f"{real if real is None else format(real, '.4f')} | {r['test_log_loss']:.4f} | "
            f"{r['test_accuracy']:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--corners", action="store_true", help="also start from the 4 corners")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    workload = WORKLOADS[args.workload]
    meta = metadata("digits_vs_grid.py", argv)  # before the run: the code it imported
    rows = [row for seed in args.seeds for row in run_seed(workload, seed, args.corners)]
    print(f"# {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {args.threads} thread(s)")
    print("# python benchmarks/digits_vs_grid.py " + " ".join(argv or sys.argv[1:]))
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"metadata": meta, "rows": rows}, indent=1))
        args.out.with_suffix(".md").write_text(f"<!-- {json.dumps(meta)} -->\n\n"
                                               f"{markdown(rows)}\n")
    return rows


if __name__ == "__main__":
    main()
