"""Never worse than the simple answer: the many-hyperparameter searches over splits (issue 20).

The workloads of ``benchmarks/many_hyperparameters.py`` (load_digits, 400 stratified
training rows, ``StandardScaler`` on them, 3-fold ``StratifiedKFold(shuffle=True,
random_state=0)``), but over several train/test splits: split seed ``s`` draws the
400 training rows with ``train_test_split(..., random_state=s)``.

* ``per_class``: a linear 64-10 softmax model, 10 decays,
  ``PerUnit(loguniform(1e-5, 1), params="out.weight")``;
* ``per_weight``: an MLP 64-128-10, 9,472 decays,
  ``PerWeight(loguniform(1e-5, 1), params="*.weight")``.

Per split: the untuned net and ``GridSearchCV`` over one scalar decay (11 log-spaced
points in 1e-5..1). Per split and search seed: each ``HypernetSearchCV`` variant
below, side by side in one run:

* ``before``: ``verify_sources=("path",), select="best"`` (the search before issue
  20: real fits of the best path row only);
* ``candidates``: the default sources ``("path", "scan", "shared")``, ``select="best"``;
* ``default``: the defaults (the same sources, ``select="regularized"``);
* ``stronger``: the default sources plus ``"stronger"``, ``select="regularized"``;
* ``horizon``: the defaults with one hyper step per epoch instead of two, so the
  hypernets train twice as long between hyper steps (a longer horizon).
* ``prior_x6``: the defaults with the hyperprior six times its ``"auto"`` strength
  (0.75 per class, 710 per weight).
* ``stacked``: the defaults with ``verify_fits="stacked"``, the real fits of every
  candidate x fold trained in one vectorized run instead of one skorch fit each.

(The variants ``anchored`` and ``anchored_10``, a block hyperprior pulling toward the
scan's shared value, ran at commit f263a81 and were removed with that option:
``benchmarks/results/splits_anchored_per_*.md``, docs/design.md.)

Test log-loss: the mean over refit seeds 0-2 (``--refit-seeds``) of plain fits at the
chosen point on the 400 training rows (the same for every method), its sd over those
seeds the "refit sd". Also: the search's cost in plain fits of the untuned net
(median of 3 timed before the split's searches), the share of decays within 5% of a
bound (``_bounds.AT_BOUND``), and which candidate the real fits chose.

Targets (issue 20): per class, the mean over splits and seeds beats GridSearchCV's
scalar decay, and on no split is the search (mean over search seeds) worse than the
untuned net by more than one refit sd; per weight, on no split worse than the scalar
grid plus one refit sd.

Usage::

    python benchmarks/splits.py --quick                 # 1 split, 1 seed, about 1 minute
    python benchmarks/splits.py --save                  # split seeds 0-4 x seeds 0-2
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from many_hyperparameters import GRID, HIGH, LOW, N_CLASSES, SCORING, linear_net, make_cv, mlp_net  # noqa: E402,I001
from provenance import metadata, save  # noqa: E402

from skhyper import HypernetSearchCV, PerUnit, PerWeight, with_params  # noqa: E402
from skhyper._bounds import AT_BOUND  # noqa: E402
from skhyper._search import AUTO_SHRINKAGE  # noqa: E402

WORKLOADS = {
    "per_class": (linear_net, lambda b: PerUnit(b, params="out.weight")),
    "per_weight": (mlp_net, lambda b: PerWeight(b, params="*.weight")),
}
VARIANTS = {
    "before": {"verify_sources": ("path",), "select": "best"},
    "candidates": {"select": "best"},
    "default": {},
    "stronger": {"verify_sources": ("path", "scan", "shared", "stronger")},
    "horizon": {"hyper_steps_per_epoch": 1},
    "stacked": {"verify_fits": "stacked"},
    # six times the "auto" strength (AUTO_SHRINKAGE x decays / 400 rows) of the workload
    "prior_x6": lambda workload: {"shrinkage": 6 * AUTO_SHRINKAGE * N_DECAYS[workload] / 400},
}
N_DECAYS = {"per_class": 10, "per_weight": 9472}


def variant_settings(name, workload):
    """A variant's HypernetSearchCV keywords on ``workload``."""
    settings = VARIANTS[name]
    return settings(workload) if callable(settings) else settings


KEY = "optimizer__weight_decay"


def digits_split(split_seed):
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=400, stratify=y, random_state=split_seed)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), y_train, y_test)


def test_losses(estimator, data, seeds):
    """Test log-loss of plain fits of ``estimator`` on the training rows, one per seed."""
    X_train, X_test, y_train, y_test = data
    losses = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = clone(estimator).fit(X_train, y_train)
        losses.append(log_loss(y_test, net.predict_proba(X_test), labels=np.arange(N_CLASSES)))
    return np.array(losses)


def plain_seconds(make_net, X, y, repeats=3):
    make_net(max_epochs=1).fit(X, y)
    times = []
    for _ in range(repeats):
        torch.manual_seed(0)
        begin = time.perf_counter()
        make_net().fit(X, y)
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def share_at_bound(values):
    flat = np.concatenate([np.ravel(v) for v in values.values()]) if isinstance(
        values, dict) else np.array([values])
    unit = (np.log(flat) - np.log(LOW)) / (np.log(HIGH) - np.log(LOW))
    return float(np.mean((unit <= AT_BOUND) | (unit >= 1 - AT_BOUND)))


def geometric_mean(values):
    flat = np.concatenate([np.ravel(v) for v in values.values()]) if isinstance(
        values, dict) else np.array([values])
    return float(np.exp(np.mean(np.log(flat))))


def candidate_rows(search):
    """Each real-fit row: where it came from, its decays' geometric mean, its CV loss."""
    results = search.cv_results_
    return [{"source": str(source), "decay": geometric_mean(params[KEY]),
             "cv_loss": float(-score)}
            for source, params, score in zip(results["source"], results["params"],
                                             results["mean_test_score"])]


def run_split(workload, split_seed, seeds, refit_seeds, variants, grid):
    make_net, block = WORKLOADS[workload]
    data = digits_split(split_seed)
    X, _, y, _ = data
    unit = plain_seconds(make_net, X, y)
    records = []
    untuned = test_losses(make_net(), data, refit_seeds)
    records.append({"method": "untuned", "split": split_seed, "seed": None,
                    "test": float(untuned.mean()), "refit_sd": float(untuned.std(ddof=1))})
    torch.manual_seed(0)
    begin = time.perf_counter()
    grid_search = GridSearchCV(make_net(), {KEY: grid}, cv=make_cv(), scoring=SCORING).fit(X, y)
    grid_cost = (time.perf_counter() - begin) / unit
    decay = grid_search.best_params_[KEY]
    losses = test_losses(make_net(**{KEY: decay}), data, refit_seeds)
    records.append({"method": "grid", "split": split_seed, "seed": None, "decay": decay,
                    "test": float(losses.mean()), "refit_sd": float(losses.std(ddof=1)),
                    "cv_loss": -grid_search.best_score_, "cost": grid_cost})
    print(f"{workload} split {split_seed}: untuned {untuned.mean():.4f}, grid {decay:.2g} "
          f"{losses.mean():.4f} (plain fit {unit:.2f}s)", flush=True)
    for seed in seeds:
        for name in variants:
            torch.manual_seed(seed)
            search = HypernetSearchCV(
                make_net(), {KEY: block(scipy.stats.loguniform(LOW, HIGH))}, cv=make_cv(),
                scoring=SCORING, random_state=seed, **variant_settings(name, workload))
            begin = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                search.fit(X, y)
            cost = (time.perf_counter() - begin) / unit
            values = search.best_params_[KEY]
            losses = test_losses(with_params(make_net(), search.best_params_), data,
                                 refit_seeds)
            row = {"method": name, "split": split_seed, "seed": seed,
                   "test": float(losses.mean()), "refit_sd": float(losses.std(ddof=1)),
                   "cv_loss": -search.best_score_, "cost": cost,
                   "at_bound": share_at_bound(values), "decay": geometric_mean(values),
                   "source": str(search.cv_results_["source"][search.best_index_]),
                   "n_candidates": len(search.cv_results_["params"]),
                   "candidates": candidate_rows(search)}
            records.append(row)
            print(f"  seed {seed} {name:>10}: test {row['test']:.4f} (sd {row['refit_sd']:.4f}) "
                  f"cv {row['cv_loss']:.4f} decay {row['decay']:.2g} at bound "
                  f"{row['at_bound']:.0%} from {row['source']} of {row['n_candidates']}, "
                  f"{cost:.1f} plain fits", flush=True)
    return records


def table(workload, records, variants):
    splits = sorted({r["split"] for r in records})
    by = {}
    for r in records:
        by.setdefault((r["method"], r["split"]), []).append(r)
    lines = [f"### {workload}: test log-loss per split (mean over search seeds; each point "
             "the mean of 3 refit seeds)", "",
             "| method | " + " | ".join(f"split {s}" for s in splits)
             + " | mean | cost (plain fits) | decays at a bound | chosen from |",
             "|---|" + "---|" * (len(splits) + 4)]
    for method in ["untuned", "grid", *variants]:
        rows = [r for r in records if r["method"] == method]
        cells = [f"{np.mean([r['test'] for r in by[(method, s)]]):.4f}" for s in splits]
        cost = np.mean([r["cost"] for r in rows]) if "cost" in rows[0] else float("nan")
        bound = (f"{np.mean([r['at_bound'] for r in rows]):.0%}" if "at_bound" in rows[0]
                 else "")
        sources = {}
        for r in rows:
            if "source" in r:
                sources[r["source"]] = sources.get(r["source"], 0) + 1
        chosen = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
        lines.append(f"| {method} | " + " | ".join(cells)
                     + f" | {np.mean([r['test'] for r in rows]):.4f} | {cost:.1f} | {bound} | "
                     f"{chosen} |")
    lines += ["", targets(workload, records, variants, splits, by)]
    return "\n".join(lines)


def targets(workload, records, variants, splits, by):
    out = []
    for method in variants:
        worst = []
        for s in splits:
            mine = by[(method, s)]
            test = np.mean([r["test"] for r in mine])
            sd = np.mean([r["refit_sd"] for r in mine])
            ref = "untuned" if workload == "per_class" else "grid"
            limit = by[(ref, s)][0]["test"] + sd
            worst.append((test - limit, s))
        over = [(gap, s) for gap, s in worst if gap > 0]
        mean = np.mean([r["test"] for r in records if r["method"] == method])
        grid = np.mean([r["test"] for r in records if r["method"] == "grid"])
        ref = "the untuned net" if workload == "per_class" else "the scalar grid"
        line = (f"- {method}: mean {mean:.4f} vs grid {grid:.4f} "
                f"({'beats' if mean < grid else 'does not beat'} it); splits worse than "
                f"{ref} + one refit sd: "
                + (", ".join(f"split {s} by {gap:.4f}" for gap, s in over) or "none"))
        out.append(line)
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS),
                        default=list(WORKLOADS))
    parser.add_argument("--split-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--refit-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--quick", action="store_true", help="split 0, seed 0, 5 grid points")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--tag", default="splits")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    grid = GRID
    if args.quick:
        args.split_seeds, args.seeds, grid = [0], [0], GRID[::2]
    meta = metadata("splits.py", argv)  # the code that runs, before anything can change
    texts, data = [], {}
    for workload in args.workloads:
        records = []
        for split_seed in args.split_seeds:
            records += run_split(workload, split_seed, args.seeds, args.refit_seeds,
                                 args.variants, grid)
        texts.append(table(workload, records, args.variants))
        data[workload] = records
        print(texts[-1], flush=True)
    if args.save:
        save(args.tag, meta, "\n\n".join(texts), data)


if __name__ == "__main__":
    main()
