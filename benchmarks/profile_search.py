"""Where HypernetSearchCV's time goes, in units of one plain fit of the net.

Times a plain skorch fit (the unit of cost) and HypernetSearchCV's fit in the
same process, interleaved, and splits the search into its phases: the
training steps, the hyper steps, the warm-up scan, scoring the candidate rows
with hypernet weights, verifying candidates with real fits of the net on every
fold (``verify``), and the refit. Variants switch off one speed-up at a time, so
each change's before/after is measured side by side (see benchmarks/NOTES.md)::

    python benchmarks/profile_search.py --workload digits --repeats 3
    python benchmarks/profile_search.py --workload large --variants default skorch-scoring
    python benchmarks/profile_search.py hyper_steps_per_epoch=4 --variants default --save
    python benchmarks/profile_search.py --bounds all --repeats 2 --save
    python benchmarks/profile_search.py --bounds per-class per-out-weight --repeats 1
    python benchmarks/profile_search.py --bounds all --variants default stacked-verify

``--bounds`` profiles the weight-decay searches of ``many_hyperparameters.py`` (400
rows of digits, its nets and decay forms) from 1 to 9,472 hyperparameters, plus one
decay per weight of the MNIST 784-10 model of ``mnist_per_input.py`` (7,840), each
with its own plain fit: ``scalar`` (MLP 64-128-10, 1), ``per-class`` (linear 64-10,
``PerUnit`` on ``out.weight``, 10), ``per-hidden-unit`` (MLP, ``PerUnit`` on
``hidden.weight``, 128), ``per-out-weight`` (MLP, ``PerWeight`` on ``out.weight``,
1,280), ``per-weight`` (MLP, ``PerWeight`` on ``*.weight``, 9,472),
``mnist-per-weight`` (7,840); ``all`` is every one. ``--workload`` is then ignored,
and ``--variants`` defaults to ``default``.

Variants: ``default``; ``loop`` (the folds train one by one, not stacked);
``foreach`` (foreach Adam instead of fused); ``skorch-scoring`` (rows scored
through skorch's row-by-row DataLoader, not slices); ``stacked-verify`` (one speed-up
switched on: ``verify_fits="stacked"``, the real fits of every candidate x fold trained
in one vectorized run). ``keyword=value`` arguments set
HypernetSearchCV's parameters. Reported: the median over ``--repeats`` of each phase,
divided by the median plain fit; each phase's time excludes the timed phases it
calls; "other" is the rest. "candidate rows verified" counts the rows of
``cv_results_`` scored by real fits, with their ``source``; "verify per row" is the
real fits' time per such row (about 2 plain fits at ``cv=3``). ``--save`` writes
``benchmarks/results/<tag>.md`` and ``.json``; the tag is ``--tag``, by default
``profile_<workload>[_<settings>]`` (``profile_many[_<settings>]`` with ``--bounds``).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import scipy.stats
import torch
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
import many_hyperparameters as many  # noqa: E402
from provenance import metadata, save  # noqa: E402
from search_variants import parse_value  # noqa: E402
from workloads import WORKLOADS, Workload  # noqa: E402

from skhyper import HypernetSearchCV, _folds, _train  # noqa: E402
from skhyper import _search as search_module  # noqa: E402

try:  # absent from commits before the stacked folds (NOTES.md profiles old commits too)
    from skhyper import _stack
except ImportError:
    _stack = None

VARIANTS = ("default", "loop", "foreach", "skorch-scoring", "stacked-verify")
#: Variants that set a parameter of the search rather than patch the library.
VARIANT_SETTINGS = {"stacked-verify": {"verify_fits": "stacked"}}
VERIFY = "verify (real fits)"
PHASES = {
    "train steps": (_train.HyperTrainer, ("_train_step", "_train_step_stacked")),
    "hyper steps": (_train.HyperTrainer, ("_hyper_step",)),
    "warm-up scan": (_train.HyperTrainer, ("_scan_box",)),
    "candidate scoring": (search_module.HypernetSearchCV, ("_score_point",)),
    VERIFY: (search_module.HypernetSearchCV, ("_verify", "_verify_stacked")),
    "refit": (search_module.HypernetSearchCV, ("_refit",)),
}
#: the table's columns: (header, key of a run's record, how a cell reads)
COLUMNS = (
    ("hyperparameters", "hyperparameters", "count"),
    ("total (plain fits)", "total", "units"),
    ("training steps", "train steps", "units"),
    ("hyper steps", "hyper steps", "units"),
    ("warm-up scan", "warm-up scan", "units"),
    ("hypernet scoring", "candidate scoring", "units"),
    ("verify real fits", VERIFY, "units"),
    ("candidate rows verified", "candidate rows verified", "rows"),
    ("verify per row", "verify per row", "units"),
    ("refit", "refit", "units"),
    ("other", "other", "units"),
)
#: ``--bounds``: (data, net, row of ``many_hyperparameters.SCALING_ROWS``: the decay form)
BOUNDS = {
    "scalar": ("digits", "MLP 64-128-10", 0),
    "per-class": ("digits", "linear 64-10", 1),
    "per-hidden-unit": ("digits", "MLP 64-128-10", 2),
    "per-out-weight": ("digits", "MLP 64-128-10", 3),
    "per-weight": ("digits", "MLP 64-128-10", 4),
    "mnist-per-weight": ("MNIST", "linear 784-10", 3),
}


def mnist_net(**overrides):
    """``mnist_per_input.py``'s 784-10 net (imported here: old commits lack PerInput)."""
    from mnist_per_input import net

    return net(**overrides)


DATA = {"digits": many.digits_400, "MNIST": many.mnist_500}
NETS = {"MLP 64-128-10": many.mlp_net, "linear 64-10": many.linear_net,
        "linear 784-10": mnist_net}


def decay_bounds(form, glob):
    """``many_hyperparameters``' weight-decay box: one loguniform decay, or a vector form."""
    decay = scipy.stats.loguniform(many.LOW, many.HIGH)
    if form is not None:
        decay = many.vector_api()[form](decay, params=glob)
    return {"optimizer__weight_decay": decay}


def bounds_workload(name):
    """The ``--bounds`` workload ``name``: its data, net and decay box."""
    data, net, row = BOUNDS[name]
    label, form, glob = many.SCALING_ROWS[row]
    return Workload(name=f"{data} {net}, {label}", data=lambda seed=0: DATA[data](),
                    make_net=NETS[net], bounds=decay_bounds(form, glob), grid={})


def patched(patches):
    """A context that sets each ``(object, attribute, value)`` and restores it after."""
    stack = contextlib.ExitStack()
    for obj, attr, value in patches:
        stack.enter_context(mock.patch.object(obj, attr, value))
    return stack


def phase_timers(seconds):
    """A context accumulating the wall time spent in each phase's methods into ``seconds``,
    less the time of the timed methods they call (no phase counts twice)."""
    nested = []  # per timed call in progress, the seconds of the timed calls inside it
    patches = []
    for phase, (cls, names) in PHASES.items():
        for name in names:
            if not hasattr(cls, name):  # an older commit (see NOTES.md) lacks it
                continue
            original = getattr(cls, name)

            def timed(*args, _original=original, _phase=phase, **kwargs):
                nested.append(0.0)
                begin = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    elapsed = time.perf_counter() - begin
                    inner = nested.pop()
                    seconds[_phase] = seconds.get(_phase, 0.0) + elapsed - inner
                    if nested:
                        nested[-1] += elapsed

            patches.append((cls, name, timed))
    return patched(patches)


def variant(name):
    """A context that switches off one speed-up."""
    return patched({
        "default": [],
        "loop": [(_stack.FoldStack, "supports", staticmethod(lambda folds: False))]
        if _stack else [],
        "foreach": [(_folds.inspect, "signature", _signature_without_fused)],
        "skorch-scoring": [(search_module, "fast_inference", contextlib.nullcontext)],
        "stacked-verify": [],
    }[name])


_inspect_signature = _folds.inspect.signature


def _signature_without_fused(fn):
    sig = _inspect_signature(fn)
    params = [p for name, p in sig.parameters.items() if name != "fused"]
    return sig.replace(parameters=params)


def verified_rows(search):
    """How many rows of ``cv_results_`` real fits scored, and their sources."""
    results = search.cv_results_
    scored_by = results.get("scored_by", [])
    sources = results.get("source", ["?"] * len(scored_by))
    real = [source for by, source in zip(scored_by, sources) if by == "real fits"]
    counts = Counter(real)
    return len(real), ", ".join(s if n == 1 else f"{s} x{n}" for s, n in counts.items())


def counts(search, run):
    """``run`` with the search's hyperparameters, its verified rows and their cost."""
    run["hyperparameters"] = sum(many.n_values(v) for v in search.best_params_.values())
    run["candidate rows verified"], run["sources"] = verified_rows(search)
    if run["candidate rows verified"]:
        run["verify per row"] = run.get(VERIFY, 0.0) / run["candidate rows verified"]
    return run


def timed_search(workload, name, cv, scoring, seed, settings, X, y):
    """One search's phases in seconds, under variant ``name``, with its counts."""
    seconds = {}
    params = {**(settings or {}), **VARIANT_SETTINGS.get(name, {})}
    search = HypernetSearchCV(workload.make_net(), workload.bounds, cv=cv,
                              scoring=scoring, random_state=seed, **params)
    with variant(name), phase_timers(seconds):
        begin = time.perf_counter()
        search.fit(X, y)
        seconds["total"] = time.perf_counter() - begin
    seconds["other"] = seconds["total"] - sum(seconds.get(p, 0.0) for p in PHASES)
    return counts(search, seconds)


def profile(workload, variants, repeats, seed, settings=None):
    """The plain fits' seconds and, per variant, one record per search."""
    X_train, _, y_train, _ = workload.data(seed)
    classifier = hasattr(workload.make_net(), "predict_proba")
    splitter = StratifiedKFold if classifier else KFold
    cv = splitter(3, shuffle=True, random_state=seed)
    scoring = "neg_log_loss" if classifier else "neg_mean_squared_error"
    workload.make_net(max_epochs=2).fit(X_train, y_train)  # warm torch up
    plain, runs = [], {v: [] for v in variants}
    for _ in range(repeats):
        begin = time.perf_counter()
        workload.make_net().fit(X_train, y_train)
        plain.append(time.perf_counter() - begin)
        for name in variants:
            runs[name].append(timed_search(workload, name, cv, scoring, seed, settings,
                                           X_train, y_train))
    return plain, runs


def column(runs, key):
    """``key``'s values over ``runs``: a phase never entered took 0 s; the verified rows'
    cost is absent where there were none."""
    if key in PHASES:
        return [run.get(key, 0.0) for run in runs]
    return [run[key] for run in runs if key in run]


def cell(runs, key, kind, unit):
    values = column(runs, key)
    if not values:
        return "-"
    value = statistics.median(values)
    if kind == "units":
        return f"{value / unit:.2f}"
    if kind == "rows" and runs[-1].get("sources"):
        return f"{value:g} ({runs[-1]['sources']})"
    return f"{value:,.0f}"


def table(rows):
    """One line per (workload, variant): ``rows`` of ``(workload, variant, unit, runs)``."""
    headers = ["workload", "variant", COLUMNS[0][0], "plain fit (s)", *(c[0] for c in COLUMNS[1:])]
    lines = ["| " + " | ".join(headers) + " |", "|---" * len(headers) + "|"]
    for workload, name, unit, runs in rows:
        cells = [cell(runs, key, kind, unit) for _, key, kind in COLUMNS]
        cells.insert(1, f"{unit:.2f}")
        lines.append(f"| {workload} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


@dataclass
class Profiled:
    workload: str
    variant: str
    plain_fit_seconds: float
    plain_fits: list
    runs: list


def profile_all(workloads, variants, args, settings):
    """Every workload's plain fits and searches, one after the other."""
    profiled = []
    for workload in workloads:
        plain, runs = profile(workload, variants, args.repeats, args.seed, settings)
        unit = statistics.median(plain)
        profiled += [Profiled(workload.name, v, unit, plain, runs[v]) for v in variants]
        print(f"  {workload.name}: plain fit {unit:.2f}s, searches "
              + ", ".join(f"{statistics.median(r['total'] for r in runs[v]):.1f}s"
                          for v in variants), flush=True)
    return profiled


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--bounds", nargs="+", choices=[*BOUNDS, "all"],
                        help="many-hyperparameter workloads instead of --workload")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS,
                        help="default: all four, or 'default' with --bounds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("settings", nargs="*", help="HypernetSearchCV keyword=value pairs")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    parser.add_argument("--tag", help="the results' file name (default: profile_<workload>"
                        "[_<settings>], profile_many[_<settings>] with --bounds)")
    args = parser.parse_args(argv)
    if args.bounds and "all" in args.bounds:
        args.bounds = list(BOUNDS)
    if args.variants is None:
        args.variants = ["default"] if args.bounds else list(VARIANTS)
    if args.tag is None:
        args.tag = "_".join([f"profile_{'many' if args.bounds else args.workload}",
                             *(s.replace("=", "-") for s in args.settings)])
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    meta = metadata("profile_search.py", argv)  # before the run: the code it imported
    settings = {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.settings)}
    workloads = ([bounds_workload(b) for b in args.bounds] if args.bounds
                 else [WORKLOADS[args.workload]])
    profiled = profile_all(workloads, args.variants, args, settings)
    text = "\n".join([
        f"# {time.strftime('%Y-%m-%d')}, torch {torch.__version__}, {args.threads} thread(s); "
        f"cells in plain fits of each workload's net (medians of {args.repeats})",
        "# python benchmarks/profile_search.py " + " ".join(argv or sys.argv[1:]),
        table([(p.workload, p.variant, p.plain_fit_seconds, p.runs) for p in profiled])])
    print(text)
    if args.save:
        save(args.tag, meta, text, {"rows": [vars(p) for p in profiled]})


if __name__ == "__main__":
    main()
