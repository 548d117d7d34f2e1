"""Where HypernetSearchCV's time goes, in units of one plain fit of the net.

Times a plain skorch fit (the unit of cost) and HypernetSearchCV's fit in the
same process, interleaved, and splits the search into its phases: the
training steps, the hyper steps, the warm-up scan, scoring the candidate rows
and the refit. Variants switch off one speed-up at a time, so each change's
before/after is measured side by side (see benchmarks/NOTES.md)::

    python benchmarks/profile_search.py --workload digits --repeats 3
    python benchmarks/profile_search.py --workload large --variants default skorch-scoring
    python benchmarks/profile_search.py hyper_steps_per_epoch=4 --variants default --save

Variants: ``default``; ``loop`` (the folds train one by one, not stacked);
``foreach`` (foreach Adam instead of fused); ``skorch-scoring`` (rows scored
through skorch's row-by-row DataLoader, not slices). ``keyword=value`` arguments set
HypernetSearchCV's parameters. Reported: the median over ``--repeats`` of each phase,
divided by the median plain fit. ``--save`` writes
``benchmarks/results/profile_<workload>[_<settings>].md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

import torch
from sklearn.model_selection import KFold, StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata, save  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

from skhyper import HypernetSearchCV, _folds, _train  # noqa: E402
from skhyper import _search as search_module  # noqa: E402

try:  # absent from commits before the stacked folds (NOTES.md profiles old commits too)
    from skhyper import _stack
except ImportError:
    _stack = None

VARIANTS = ("default", "loop", "foreach", "skorch-scoring")
PHASES = {
    "train steps": (_train.HyperTrainer, ("_train_step", "_train_step_stacked")),
    "hyper steps": (_train.HyperTrainer, ("_hyper_step",)),
    "warm-up scan": (_train.HyperTrainer, ("_scan_box",)),
    "candidate scoring": (search_module.HypernetSearchCV, ("_score_point",)),
    "refit": (search_module.HypernetSearchCV, ("_refit",)),
}


def patched(patches):
    """A context that sets each ``(object, attribute, value)`` and restores it after."""
    stack = contextlib.ExitStack()
    for obj, attr, value in patches:
        stack.enter_context(mock.patch.object(obj, attr, value))
    return stack


def phase_timers(seconds):
    """A context accumulating the wall time spent in each phase's methods into ``seconds``."""
    patches = []
    for phase, (cls, names) in PHASES.items():
        for name in names:
            if not hasattr(cls, name):  # an older commit (see NOTES.md) lacks it
                continue
            original = getattr(cls, name)

            def timed(*args, _original=original, _phase=phase, **kwargs):
                begin = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    seconds[_phase] = seconds.get(_phase, 0.0) + time.perf_counter() - begin

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
    }[name])


_inspect_signature = _folds.inspect.signature


def _signature_without_fused(fn):
    sig = _inspect_signature(fn)
    params = [p for name, p in sig.parameters.items() if name != "fused"]
    return sig.replace(parameters=params)


def profile(workload, variants, repeats, seed, settings=None):
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
            seconds = {}
            search = HypernetSearchCV(workload.make_net(), workload.bounds, cv=cv,
                                      scoring=scoring, random_state=seed, **(settings or {}))
            with variant(name), phase_timers(seconds):
                begin = time.perf_counter()
                search.fit(X_train, y_train)
                seconds["total"] = time.perf_counter() - begin
            seconds["other"] = seconds["total"] - sum(
                seconds.get(p, 0.0) for p in PHASES)
            runs[name].append(seconds)
    return statistics.median(plain), runs


def table(unit, runs):
    columns = ["total", *PHASES, "other"]
    lines = ["| variant | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for name, seconds in runs.items():
        cells = [statistics.median(s.get(c, 0.0) for s in seconds) / unit for c in columns]
        lines.append(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("settings", nargs="*", help="HypernetSearchCV keyword=value pairs")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    meta = metadata("profile_search.py", argv)  # before the run: the code it imported
    settings = {k: int(v) if v.isdigit() else float(v)
                for k, v in (s.split("=", 1) for s in args.settings)}
    unit, runs = profile(WORKLOADS[args.workload], args.variants, args.repeats, args.seed,
                         settings)
    text = "\n".join([
        f"# {time.strftime('%Y-%m-%d')}, torch {torch.__version__}, {args.threads} thread(s); "
        f"plain fit {unit:.2f}s; cells in plain fits (medians of {args.repeats})",
        "# python benchmarks/profile_search.py " + " ".join(argv or sys.argv[1:]),
        table(unit, runs)])
    print(text)
    if args.save:
        tag = "_".join([f"profile_{args.workload}", *(s.replace("=", "-") for s in args.settings)])
        save(tag, meta, text, {"plain_fit_seconds": unit, "runs": runs})


if __name__ == "__main__":
    main()
