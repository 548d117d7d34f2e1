"""Does shuffling the training rows change what a real fit scores? (design decision 21)

skorch's DataLoader keeps the rows in order unless ``iterator_train__shuffle=True``.
Hyper-training used to shuffle anyway; the numbers it reports stand for real fits of
the net, which do not. This script measures the gap on one workload: the real
3-fold CV score of the same net at the same points, trained with the rows in order
(skorch's default) and shuffled, over torch seeds.

    python benchmarks/shuffle_effect.py                       # digits, seeds 0-2
    python benchmarks/shuffle_effect.py --workload small_digits --save

``--save`` writes ``benchmarks/results/shuffle_effect_<workload>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata, save  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

#: The box's low corner (where the digits search ends), its middle, and strong dropout
#: (where GridSearchCV ends on small_digits).
POINTS = [
    {"optimizer__weight_decay": 1e-6, "module__dropout": 0.0},
    {"optimizer__weight_decay": 3e-4, "module__dropout": 0.4},
    {"optimizer__weight_decay": 1e-6, "module__dropout": 0.8},
]


def real_cv(workload, X, y, cv, point, shuffle, seeds):
    scoring = "neg_log_loss" if workload.task == "classification" else "neg_mean_squared_error"
    scores = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = workload.make_net(iterator_train__shuffle=shuffle, **point)
        scores.append(-cross_val_score(net, X, y, cv=cv, scoring=scoring).mean())
    return float(np.mean(scores)), float(np.std(scores))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("shuffle_effect.py", argv)
    workload = WORKLOADS[args.workload]
    X, _, y, _ = workload.data(0)
    kind = StratifiedKFold if workload.task == "classification" else KFold
    cv = kind(3, shuffle=True, random_state=0)
    lines = ["| point | CV loss, rows in order (skorch's default) | CV loss, shuffled | "
             "shuffled / in order |", "|---|---|---|---|"]
    rows = []
    for point in POINTS:
        ordered = real_cv(workload, X, y, cv, point, False, args.seeds)
        shuffled = real_cv(workload, X, y, cv, point, True, args.seeds)
        rows.append({"point": point, "in_order": ordered, "shuffled": shuffled})
        name = ", ".join(f"{k.split('__')[-1]}={v:g}" for k, v in point.items())
        lines.append(f"| {name} | {ordered[0]:.4f} +- {ordered[1]:.4f} | "
                     f"{shuffled[0]:.4f} +- {shuffled[1]:.4f} | {shuffled[0] / ordered[0]:.2f} |")
    text = "\n".join(lines + ["", f"{args.workload}, 3-fold CV, torch seeds {args.seeds} "
                                  "(mean +- sd over seeds)"])
    print(text)
    if args.save:
        save(f"shuffle_effect_{args.workload}", meta, text, {"rows": rows})


if __name__ == "__main__":
    main()
