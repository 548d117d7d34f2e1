"""Benchmark suite: HypernetSearchCV against GridSearchCV, RandomizedSearchCV and OptunaSearchCV.

Per workload (``benchmarks/workloads.py``) and seed, everything runs in one
process on the same folds (``StratifiedKFold(3)`` for classification,
``KFold(3)`` for regression, shuffled with the seed), with torch seeded the
same way before each method:

* ``untuned``: a plain fit of the net with its default hyperparameters,
  timed after a one-epoch warm-up fit (``--unit-repeats N``: the median of N
  such fits). Its wall time is the **unit of cost**; its test metrics are the
  untuned baseline. The unit is re-measured after every method, and each
  method's cost divides by the mean of the plain fits just before and after
  it (shared hosts drift).
* ``grid``: ``GridSearchCV`` over the k x k grid of the box (k = ``--points``,
  5 by default: 25 candidates).
* ``random``: ``RandomizedSearchCV``, k^2 candidates from ``scipy.stats``
  ``loguniform`` / ``uniform`` over the same box, seeded.
* ``optuna``: ``optuna_integration.OptunaSearchCV``, k^2 trials over
  ``FloatDistribution``s of the same box (TPE, seeded, logging silenced);
  skipped with a message if optuna is not installed.
* ``hypernet``: ``HypernetSearchCV(random_state=seed)``; its budget is set by
  the net's epochs, not by k.
* ``hypernet_path``: the same with ``verify_sources=("path",), select="best"``:
  real fits of the path's best row only, as the search chose before issue 20.
* ``hypernet_stacked``: the same with ``verify_fits="stacked"``: its real fits
  trained in one vectorized run instead of one skorch fit each.

All searchers score with ``neg_log_loss`` (classification) or
``neg_mean_squared_error`` (regression) and refit. Reported per method: wall
time (search + refit), cost in plain fits, best params, best CV loss (the
searcher's own ``-best_score_``; HypernetSearchCV's comes from real fits of its
best point, ``verify=1``, the default since issue 10; hypernet-scored before), test
log-loss and accuracy (or test MSE and R^2, on standardised targets). The
markdown shows mean +- sd over seeds; the JSON holds every row too.

``--memory``: per workload (first seed), a plain fit and a HypernetSearchCV fit
(with refit), each in a fresh spawned process: peak RSS (``ru_maxrss``) above the
baseline after data loading and a one-epoch warm-up fit (on Linux the peak is
reset to the current RSS there, via ``/proc/self/clear_refs``, so that the
imports' transient peak does not hide the fit's), and the analytic parameter
memory of ``search.hypernets_[0]`` against the net's ``module_`` (about 2x for
the structured hypernet).

``--scaling`` (every seed of ``--seeds``): HypernetSearchCV's cost (in plain
fits on the same data) against the training-set size (rows of ``large``'s
generator, same net, 2 hyperparameters) and against the number of
hyperparameters (1, 2, 4; ``workloads.variant``), next to GridSearchCV's
analytic cost with 5 points per axis: 5^d candidates x cv fits on (cv-1)/cv of
the rows + 1 refit = 5^d * (cv-1) + 1 plain fits (not run).

``--quick`` (smoke run, a few minutes on 2 cores): ``--workloads digits --seeds
0 --points 3``, i.e. digits only, seed 0, all methods, a 3x3 grid and 9
random / Optuna candidates; with ``--scaling``, rows 2000 and 8000 and the
hyperparameter count at 2000 rows. Explicit options override these.

Usage::

    python benchmarks/suite.py --quick
    python benchmarks/suite.py                                  # every workload, seeds 0 1 2
    python benchmarks/suite.py --workloads digits regression --methods grid hypernet
    python benchmarks/suite.py --workloads large --memory --scaling --seeds 0
    python benchmarks/suite.py --workloads deep_digits wide_regression --methods grid hypernet
    python benchmarks/suite.py --no-comparison --scaling        # the scaling table only

Nothing is written unless asked: ``--save`` writes ``benchmarks/results/<tag>.json``
and ``<tag>.md`` (tag ``suite``, or ``suite_quick`` with ``--quick``), ``--out DIR``
writes them to ``DIR``; both record the commit they ran on.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import sys
import time
import warnings
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import scipy.stats
import sklearn
import skorch
import torch
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, r2_score
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from provenance import RESULTS  # noqa: E402
from provenance import metadata as metadata_of_run  # noqa: E402
from workloads import LARGE, TRUST_SHAPES, WORKLOADS, grid_for, variant, with_rows  # noqa: E402

#: what ``--workloads`` takes: the five (the default) and, on request, trust.py's shapes
RUNNABLE = {**WORKLOADS, **TRUST_SHAPES}

from skhyper import HypernetSearchCV  # noqa: E402

CV = 3
METHODS = ("grid", "random", "optuna", "hypernet", "hypernet_path", "hypernet_stacked")
#: HypernetSearchCV's settings per method: as it chose before issue 20 (real fits of the
#: path's best row only), and with its real fits stacked
HYPERNET_SETTINGS = {
    "hypernet": {},
    "hypernet_path": {"verify_sources": ("path",), "select": "best"},
    "hypernet_stacked": {"verify_fits": "stacked"},
}
TASKS = {  # scoring, loss name, score name
    "classification": ("neg_log_loss", "log-loss", "accuracy"),
    "regression": ("neg_mean_squared_error", "MSE", "R^2"),
}
QUICK = {"workloads": ["digits"], "seeds": [0], "points": 3,
         "scaling_rows": [2000, 8000], "scaling_d_rows": 2000}
DEFAULTS = {"workloads": list(WORKLOADS), "seeds": [0, 1, 2], "points": 5,
            "scaling_rows": [2000, 8000, 32000], "scaling_d_rows": 8000}


# -- the searchers -------------------------------------------------------------------------


def label(method, points):
    n = points * points
    return {
        "untuned": "untuned (plain fit)",
        "grid": f"GridSearchCV {points}x{points}",
        "random": f"RandomizedSearchCV {n}",
        "optuna": f"OptunaSearchCV {n}",
        "hypernet": "HypernetSearchCV",
        "hypernet_path": "HypernetSearchCV, path only (before issue 20)",
        "hypernet_stacked": "HypernetSearchCV, verify_fits='stacked'",
    }[method]


def n_candidates(workload, points):
    return points ** len(workload.bounds)


def scipy_distributions(bounds):
    return {
        key: scipy.stats.loguniform(low, high) if scale == ["log"]
        else scipy.stats.uniform(low, high - low)
        for key, (low, high, *scale) in bounds.items()
    }


def optuna_available():
    try:
        import optuna  # noqa: F401
        import optuna_integration  # noqa: F401
    except ImportError:
        return False
    return True


def make_optuna(net, workload, cv, scoring, points, seed):
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # optuna_integration reports CV scores through the deprecated optuna.terminator, per trial
    warnings.filterwarnings("ignore", message=".*optuna.terminator", category=FutureWarning)
    distributions = {
        key: FloatDistribution(low, high, log=scale == ["log"])
        for key, (low, high, *scale) in workload.bounds.items()
    }
    return OptunaSearchCV(net, distributions, cv=cv, scoring=scoring, refit=True,
                          n_trials=n_candidates(workload, points), random_state=seed)


def make_search(method, workload, cv, points, seed):
    """A fresh, unfitted searcher of ``method`` over ``workload``'s box."""
    net = workload.make_net()
    scoring = TASKS[workload.task][0]
    if method == "grid":
        grid = workload.grid if points == 5 else grid_for(workload.bounds, points)
        return GridSearchCV(net, grid, cv=cv, scoring=scoring, refit=True)
    if method == "random":
        return RandomizedSearchCV(net, scipy_distributions(workload.bounds), cv=cv,
                                  scoring=scoring, refit=True, random_state=seed,
                                  n_iter=n_candidates(workload, points))
    if method == "optuna":
        return make_optuna(net, workload, cv, scoring, points, seed)
    if method in HYPERNET_SETTINGS:
        return HypernetSearchCV(net, workload.bounds, cv=cv, scoring=scoring, refit=True,
                                random_state=seed, **HYPERNET_SETTINGS[method])
    raise ValueError(method)


# -- one workload and seed -------------------------------------------------------------------


def timed(fn):
    begin = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - begin


def make_cv(task, seed):
    splitter = StratifiedKFold if task == "classification" else KFold
    return splitter(CV, shuffle=True, random_state=seed)


def test_metrics(task, estimator, X_test, y_test):
    if task == "regression":
        pred = estimator.predict(X_test)
        return {"test_loss": float(mean_squared_error(y_test, pred)),
                "test_score": float(r2_score(y_test, pred))}
    proba = estimator.predict_proba(X_test)
    classes = getattr(estimator, "classes_", np.arange(proba.shape[1]))
    return {"test_loss": float(log_loss(y_test, proba, labels=classes)),
            "test_score": float(accuracy_score(y_test, classes[proba.argmax(1)]))}


def plain_fit_unit(workload, X_train, y_train, seed, repeats=1):
    """The untuned net fitted plainly, and the median seconds of ``repeats`` such fits
    (each seeded alike), timed after a one-epoch warm-up fit."""
    torch.manual_seed(seed)
    workload.make_net(max_epochs=1).fit(X_train, y_train)
    times = []
    for _ in range(repeats):
        torch.manual_seed(seed)
        net, seconds = timed(lambda: workload.make_net().fit(X_train, y_train))
        times.append(seconds)
    return net, float(np.median(times))


def search_row(method, search, seconds):
    row = {"seconds": seconds}
    row["best_params"] = {k: float(v) for k, v in search.best_params_.items()}
    row["best_cv_loss"] = float(-search.best_score_)
    row["refit_seconds"] = getattr(search, "refit_time_", None)
    if method.startswith("hypernet"):
        row["hyper_training_seconds"] = search.search_time_
    return row


def run_seed(workload, seed, methods, points, repeats=1):
    """Rows for the untuned net and each method on one seed's split and folds.

    Each method's unit of cost is the mean of a plain fit timed right before it
    and one right after it, so that a host whose speed drifts (shared CPUs)
    divides like by like.
    """
    X_train, X_test, y_train, y_test = workload.data(seed)
    cv = make_cv(workload.task, seed)
    net, unit = plain_fit_unit(workload, X_train, y_train, seed, repeats)
    rows = [{"method": "untuned", "seconds": unit, "unit_seconds": unit,
             **test_metrics(workload.task, net, X_test, y_test)}]
    for method in methods:
        search = make_search(method, workload, cv, points, seed)
        torch.manual_seed(seed)
        search, seconds = timed(lambda s=search: s.fit(X_train, y_train))
        after = plain_fit_unit(workload, X_train, y_train, seed, repeats)[1]
        method_unit = (unit + after) / 2
        rows.append({"method": method, **search_row(method, search, seconds),
                     "unit_seconds": method_unit,
                     **test_metrics(workload.task, search, X_test, y_test)})
        print(f"  {workload.name} seed {seed}: {label(method, points)} {seconds:.1f}s "
              f"({seconds / method_unit:.1f} plain fits)", flush=True)
        unit = after
    for row in rows:
        row.update(workload=workload.name, task=workload.task, seed=seed, label=label(
            row["method"], points), cost_units=row["seconds"] / row["unit_seconds"])
    return rows


# -- aggregation and markdown ---------------------------------------------------------------

NUMERIC = ("cost_units", "seconds", "best_cv_loss", "test_loss", "test_score")


def mean_sd(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return float(np.mean(values)), sd


def params_summary(rows, bounds):
    """Per key, mean and sd over seeds (of log10 for log-scaled keys)."""
    summary = {}
    for key in [k for k in bounds if k in rows[0].get("best_params", {})]:
        log = len(bounds[key]) == 3
        values = [r["best_params"][key] for r in rows]
        mean, sd = mean_sd(np.log10(values) if log else values)
        summary[key] = {"log10": log, "mean": mean, "sd": sd}
    return summary


def aggregate(rows, bounds_by_workload):
    """One record per (workload, method): mean and sd over seeds of each numeric column."""
    groups = {}
    for row in rows:
        groups.setdefault((row["workload"], row["method"]), []).append(row)
    records = []
    for (workload, method), group in groups.items():
        record = {"workload": workload, "method": method, "label": group[0]["label"],
                  "task": group[0]["task"], "n_seeds": len(group)}
        for column in NUMERIC:
            record[column], record[f"{column}_sd"] = mean_sd([r.get(column) for r in group])
        record["best_params"] = params_summary(group, bounds_by_workload[workload])
        records.append(record)
    return records


def fmt(mean, sd, digits=4):
    if mean is None:
        return ""
    text = f"{mean:.{digits}f}"
    return text if sd is None else f"{text} ± {sd:.{digits}f}"


def fmt_params(summary):
    """``weight_decay=10^(-4.20±0.30), dropout=0.310±0.05``: log keys as log10."""
    parts = []
    for key, s in summary.items():
        name = key.split("__")[-1]
        sd = "" if s["sd"] is None else f"±{s['sd']:.2f}"
        parts.append(f"{name}=10^({s['mean']:.2f}{sd})" if s["log10"]
                     else f"{name}={s['mean']:.3f}{sd}")
    return ", ".join(parts)


def comparison_markdown(records):
    lines = []
    for workload in dict.fromkeys(r["workload"] for r in records):
        group = [r for r in records if r["workload"] == workload]
        _, loss, score = TASKS[group[0]["task"]]
        lines += [
            f"### {workload} ({group[0]['n_seeds']} seed(s), mean ± sd)", "",
            f"| method | cost (plain fits) | seconds | best params | best CV {loss} "
            f"| test {loss} | test {score} |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in group:
            lines.append(
                f"| {r['label']} | {fmt(r['cost_units'], r['cost_units_sd'], 1)} | "
                f"{fmt(r['seconds'], r['seconds_sd'], 1)} | {fmt_params(r['best_params'])} | "
                f"{fmt(r['best_cv_loss'], r['best_cv_loss_sd'])} | "
                f"{fmt(r['test_loss'], r['test_loss_sd'])} | "
                f"{fmt(r['test_score'], r['test_score_sd'])} |"
            )
        lines.append("")
    return "\n".join(lines)


# -- memory ---------------------------------------------------------------------------------


def maxrss_bytes():
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def reset_peak_rss():
    """Reset the peak RSS to the current RSS (Linux >= 4.0); False where not possible.

    Without it, the peak after data loading may already hold the imports' transient peak,
    which a small fit never exceeds.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def param_bytes(module):
    return sum(p.numel() * p.element_size() for p in module.parameters())


def memory_probe(workload_name, what, seed, threads, max_epochs):
    """In a fresh process: peak RSS of a plain fit or a HypernetSearchCV fit above the
    baseline after data loading and a one-epoch warm-up fit (the peak is reset to the RSS
    then, where Linux allows); for the search, the parameter bytes of hypernet and net."""
    torch.set_num_threads(threads)
    workload = override_epochs(RUNNABLE[workload_name], max_epochs)
    X_train, _, y_train, _ = workload.data(seed)
    torch.manual_seed(seed)
    workload.make_net(max_epochs=1).fit(X_train, y_train)  # torch's one-off allocations
    out = {"peak_reset": reset_peak_rss()}
    baseline = maxrss_bytes()
    torch.manual_seed(seed)
    if what == "plain":
        workload.make_net().fit(X_train, y_train)
    else:
        search = HypernetSearchCV(workload.make_net(), workload.bounds,
                                  cv=make_cv(workload.task, seed),
                                  scoring=TASKS[workload.task][0], random_state=seed)
        search.fit(X_train, y_train)
        out.update(hypernet_param_bytes=param_bytes(search.hypernets_[0]),
                   net_param_bytes=param_bytes(search.best_estimator_.module_))
    peak = maxrss_bytes()
    return {"baseline_mib": baseline / 2**20, "peak_mib": peak / 2**20,
            "above_baseline_mib": (peak - baseline) / 2**20, **out}


def run_memory(workload_names, seed, threads, max_epochs):
    """Both probes of each workload, each in its own spawned process."""
    context = multiprocessing.get_context("spawn")
    records = []
    for name in workload_names:
        record = {"workload": name, "seed": seed}
        for what in ("plain", "hypernet"):
            with context.Pool(1) as pool:
                result = pool.apply(memory_probe, (name, what, seed, threads, max_epochs))
                pool.close()
                pool.join()
            record.update({f"{what}_{k}": v for k, v in result.items()})
        record["hypernet_param_bytes"] = record.pop("hypernet_hypernet_param_bytes")
        record["net_param_bytes"] = record.pop("hypernet_net_param_bytes")
        record["param_ratio"] = record["hypernet_param_bytes"] / record["net_param_bytes"]
        print(f"  memory {name}: plain +{record['plain_above_baseline_mib']:.1f} MiB, "
              f"search +{record['hypernet_above_baseline_mib']:.1f} MiB", flush=True)
        records.append(record)
    return records


def memory_markdown(records):
    lines = [
        "### Peak memory: HypernetSearchCV vs a plain fit (fresh process each)", "",
        "| workload | baseline RSS (MiB) | plain fit peak above baseline (MiB) "
        "| search peak above baseline (MiB) | net params (KiB) | hypernet params (KiB) "
        "| params ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['workload']} | {r['hypernet_baseline_mib']:.0f} | "
            f"{r['plain_above_baseline_mib']:.1f} | {r['hypernet_above_baseline_mib']:.1f} | "
            f"{r['net_param_bytes'] / 1024:.1f} | {r['hypernet_param_bytes'] / 1024:.1f} | "
            f"{r['param_ratio']:.2f} |"
        )
    return "\n".join(lines + [""])


# -- scaling --------------------------------------------------------------------------------


def grid_cost(n_hyperparameters, points=5, cv=CV):
    """GridSearchCV's analytic cost in plain fits: points^d * cv fits on (cv-1)/cv of the
    rows, plus one refit."""
    return points ** n_hyperparameters * (cv - 1) + 1


def scaling_point(workload, seed, table, n_rows, repeats=1):
    X_train, _, y_train, _ = workload.data(seed)
    _, unit = plain_fit_unit(workload, X_train, y_train, seed, repeats)
    search = make_search("hypernet", workload, make_cv(workload.task, seed), 5, seed)
    torch.manual_seed(seed)
    _, seconds = timed(lambda: search.fit(X_train, y_train))
    unit = (unit + plain_fit_unit(workload, X_train, y_train, seed, repeats)[1]) / 2
    d = len(workload.bounds)
    print(f"  scaling {workload.name}: {seconds:.1f}s, {seconds / unit:.1f} plain fits",
          flush=True)
    return {"table": table, "workload": workload.name, "seed": seed, "n_rows": n_rows,
            "n_hyperparameters": d, "keys": list(workload.bounds), "unit_seconds": unit,
            "seconds": seconds, "cost_units": seconds / unit, "grid_cost_units": grid_cost(d)}


def run_scaling(seeds, rows_list, d_rows, max_epochs, repeats=1):
    base = override_epochs(LARGE, max_epochs)
    records = []
    for seed in seeds:
        for n in rows_list:
            records.append(scaling_point(with_rows(base, n), seed, "rows", n, repeats))
        for d in (1, 2, 4):
            records.append(scaling_point(variant(with_rows(base, d_rows), d), seed,
                                         "hyperparameters", d_rows, repeats))
    return records


def scaling_markdown(records):
    lines = [
        "### HypernetSearchCV cost vs data size and number of hyperparameters", "",
        "Cost in plain fits of the same net on the same rows (mean ± sd over seeds); "
        "GridSearchCV 5 points per axis is analytic: 5^d x (cv-1) + 1.", "",
        "| table | training rows | hyperparameters | plain fit (s) | HypernetSearchCV "
        "(plain fits) | GridSearchCV 5^d (plain fits, analytic) | grid / hypernet |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = {}
    for r in records:
        groups.setdefault((r["table"], r["n_rows"], r["n_hyperparameters"]), []).append(r)
    for (table, n_rows, d), group in groups.items():
        unit = mean_sd([r["unit_seconds"] for r in group])
        cost = mean_sd([r["cost_units"] for r in group])
        grid = group[0]["grid_cost_units"]
        lines.append(f"| {table} | {n_rows} | {d} | {fmt(*unit, 2)} | {fmt(*cost, 1)} | "
                     f"{grid} | {grid / cost[0]:.1f} |")
    return "\n".join(lines + [""])


# -- main -----------------------------------------------------------------------------------


def override_epochs(workload, max_epochs):
    if max_epochs is None:
        return workload
    return replace(workload, make_net=partial(workload.make_net, max_epochs=max_epochs))


def metadata(args, argv):
    provenance = metadata_of_run("suite.py", argv)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "sklearn": sklearn.__version__, "skorch": skorch.__version__}
    if optuna_available():
        import optuna
        versions["optuna"] = optuna.__version__
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "platform": platform.platform(), "machine": platform.machine(),
        "processor": platform.processor(), "cpu_count": multiprocessing.cpu_count(),
        "threads": args.threads, "versions": versions, "git_commit": provenance["git_commit"],
        "uncommitted_skhyper_files": provenance["uncommitted_skhyper_files"],
        "command": provenance["command"],
        "workloads": args.workloads, "seeds": args.seeds, "methods": args.methods,
        "points": args.points, "cv": CV, "max_epochs_override": args.max_epochs,
        "unit_repeats": args.unit_repeats,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", choices=list(RUNNABLE))
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="searchers to compare (the untuned plain fit always runs)")
    parser.add_argument("--points", type=int,
                        help="grid points per axis; random/Optuna get points^d candidates")
    parser.add_argument("--quick", action="store_true",
                        help="digits, seed 0, 3 points per axis (see the docstring)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--unit-repeats", type=int, default=1,
                        help="time the plain fit this many times, take the median (noisy hosts)")
    parser.add_argument("--memory", action="store_true", help="add the peak-memory table")
    parser.add_argument("--scaling", action="store_true", help="add the cost-scaling table")
    parser.add_argument("--scaling-rows", type=int, nargs="+")
    parser.add_argument("--scaling-d-rows", type=int,
                        help="training rows of the hyperparameter-count table")
    parser.add_argument("--no-comparison", action="store_true",
                        help="skip the searcher comparison (memory/scaling tables only)")
    parser.add_argument("--max-epochs", type=int,
                        help="override every net's max_epochs (smoke tests only)")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/<tag>.*")
    parser.add_argument("--out", type=Path, help="write <tag>.json and <tag>.md here instead")
    parser.add_argument("--tag", help="output file stem (default suite or suite_quick)")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.tag = args.tag or ("suite_quick" if args.quick else "suite")
    if args.save and args.out is None:
        args.out = RESULTS
    if "optuna" in args.methods and not optuna_available():
        print("OptunaSearchCV skipped: optuna / optuna-integration not installed "
              "(pip install optuna optuna-integration)")
        args.methods = [m for m in args.methods if m != "optuna"]
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    workloads = [override_epochs(RUNNABLE[name], args.max_epochs) for name in args.workloads]
    begin = time.perf_counter()
    result = {"metadata": metadata(args, argv)}
    sections = [f"<!-- {result['metadata']['command']} -->",
                f"{result['metadata']['date']}, commit {result['metadata']['git_commit']}, "
                f"{platform.machine()}, torch {torch.__version__}, "
                f"{args.threads} torch thread(s)", ""]
    if not args.no_comparison:
        rows = [row for workload in workloads for seed in args.seeds
                for row in run_seed(workload, seed, args.methods, args.points,
                                    args.unit_repeats)]
        result["rows"] = rows
        result["aggregates"] = aggregate(rows, {w.name: w.bounds for w in workloads})
        sections.append(comparison_markdown(result["aggregates"]))
    if args.memory:
        result["memory"] = run_memory(args.workloads, args.seeds[0], args.threads,
                                      args.max_epochs)
        sections.append(memory_markdown(result["memory"]))
    if args.scaling:
        result["scaling"] = run_scaling(args.seeds, args.scaling_rows, args.scaling_d_rows,
                                        args.max_epochs, args.unit_repeats)
        sections.append(scaling_markdown(result["scaling"]))
    result["metadata"]["total_seconds"] = time.perf_counter() - begin
    sections.append(f"Total: {result['metadata']['total_seconds']:.0f} s")
    text = "\n".join(sections)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{args.tag}.json").write_text(json.dumps(result, indent=1))
        (args.out / f"{args.tag}.md").write_text(text + "\n")
        print(f"wrote {args.out / (args.tag + '.json')} and {args.out / (args.tag + '.md')}")
    return result


if __name__ == "__main__":
    main()
