"""Issue 20's scalar target, read from saved suite runs: is the real CV at
HypernetSearchCV's ``best_params_`` within max(1%, 2 seed-sd) of GridSearchCV 5x5's
best real CV?

The suite (``benchmarks/suite.py``) runs every searcher on the same data, folds and
seeds and saves, per workload and seed, each searcher's ``best_cv_loss``:
``-best_score_``, real fits for every method (for HypernetSearchCV the real fits of
its chosen row, at ``best_params_``). This script trains nothing: it reads those
files and, per workload, puts HypernetSearchCV's best real CV beside GridSearchCV's,

* ``gap``: the relative excess of the mean over seeds, ``(hyper - grid) / grid``
  (positive: HypernetSearchCV's point scores worse);
* ``tolerance``: max(1%, 2 x the sd over seeds of HypernetSearchCV's best real CV,
  relative to the grid's mean);
* per seed, the paired gap (the same data and folds for both searches).

GridSearchCV's number is the best of 25 noisy real-fit scores, so it reads a little
too good (selection on the folds); the test losses in the suite's tables are the
check on that. Run::

    python benchmarks/scalar_target.py --save

The default runs are the suite's five workloads at the current code and trust.py's
two further shapes, run by the suite as::

    python benchmarks/suite.py --workloads deep_digits wide_regression --methods grid hypernet \
        --seeds 0 1 2 --unit-repeats 1 --save --tag suite_trust_shapes
    python benchmarks/scalar_target.py benchmarks/results/suite_stacked.json  # other runs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import RESULTS, save  # noqa: E402

DEFAULT_RUNS = [RESULTS / "suite_issue20_a.json", RESULTS / "suite_issue20_b.json",
                RESULTS / "suite_trust_shapes.json"]
SEARCHES = {"hypernet": "HypernetSearchCV", "hypernet_path": "path only (before issue 20)"}


def oldest(commits):
    """The commit of ``commits`` with the earliest commit time."""
    def when(commit):
        out = subprocess.run(["git", "log", "-1", "--format=%ct", commit], cwd=RESULTS,
                             capture_output=True, text=True)
        return int(out.stdout.strip() or 0)
    return min(commits, key=when)


def best_cv_by_seed(rows, workload, method):
    """``{seed: best_cv_loss}`` of ``method`` on ``workload``."""
    return {row["seed"]: row["best_cv_loss"] for row in rows
            if row["workload"] == workload and row["method"] == method}


def compare(rows, workload, method):
    """The gap, the tolerance and the paired per-seed gaps of ``method`` against the grid."""
    grid = best_cv_by_seed(rows, workload, "grid")
    ours = best_cv_by_seed(rows, workload, method)
    seeds = sorted(set(grid) & set(ours))
    g = np.array([grid[s] for s in seeds])
    h = np.array([ours[s] for s in seeds])
    sd = float(np.std(h, ddof=1)) if len(seeds) > 1 else float("nan")
    gap = float((h.mean() - g.mean()) / g.mean())
    tolerance = max(0.01, 2 * sd / float(g.mean()))
    return {"seeds": seeds, "grid": g.tolist(), "ours": h.tolist(), "grid_mean": float(g.mean()),
            "ours_mean": float(h.mean()), "ours_sd": sd, "gap": gap, "tolerance": tolerance,
            "within": bool(gap <= tolerance),
            "paired": ((h - g) / g).tolist()}


def table(comparisons):
    lines = ["| workload | search | GridSearchCV 5x5 best CV | its best CV (mean ± sd) | gap | "
             "tolerance | within | per seed gap |", "|---|---|---|---|---|---|---|---|"]
    for (workload, method), c in comparisons.items():
        per_seed = ", ".join(f"{p:+.1%}" for p in c["paired"])
        lines.append(f"| {workload} | {SEARCHES[method]} | {c['grid_mean']:.4f} | "
                     f"{c['ours_mean']:.4f} ± {c['ours_sd']:.4f} | {c['gap']:+.1%} | "
                     f"{c['tolerance']:.1%} | {'yes' if c['within'] else 'no'} | {per_seed} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", type=Path, default=DEFAULT_RUNS,
                        help="suite results (.json); default: the suite at the current code")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--tag", default="scalar_target")
    args = parser.parse_args(argv)
    rows, sources = [], []
    for path in args.runs:
        data = json.loads(path.read_text())
        rows += data["rows"]
        sources.append({"file": path.name, "command": data["metadata"]["command"],
                        "git_commit": data["metadata"]["git_commit"]})
    workloads = list(dict.fromkeys(row["workload"] for row in rows))
    methods = [m for m in SEARCHES if any(row["method"] == m for row in rows)]
    comparisons = {(w, m): compare(rows, w, m) for w in workloads for m in methods
                   if best_cv_by_seed(rows, w, m) and best_cv_by_seed(rows, w, "grid")}
    text = table(comparisons)
    print(text)
    if args.save:
        # the numbers are the suite runs': the oldest run's commit is this file's
        meta = {"command": " ".join(["python", "benchmarks/scalar_target.py",
                                     *(argv if argv is not None else sys.argv[1:])]),
                "git_commit": oldest([s["git_commit"] for s in sources]),
                "uncommitted_skhyper_files": [], "read_from": sources}
        save(args.tag, meta, text,
             {"comparisons": [{"workload": w, "method": m, **c}
                              for (w, m), c in comparisons.items()]})
    return comparisons


if __name__ == "__main__":
    main()
