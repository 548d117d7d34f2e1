"""The per-feature ridge oracle over many data seeds: what share of the closed-form
gain of one decay per feature (best shared decay -> true CV optimum) the search earns.

The problem and its closed-form CV loss are the ones of
``tests/test_ridge_per_feature.py`` (half the features carry signal, half are
noise). Prints one line per data seed and the mean, for each ``shrinkage``.

Usage::

    python benchmarks/ridge_per_feature.py                        # seeds 0-9, auto
    python benchmarks/ridge_per_feature.py --shrinkage 0 1 auto
    python benchmarks/ridge_per_feature.py --shrinkage 0 1 10 auto --save  # results/
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers import make_linear_regressor  # noqa: E402
from provenance import metadata, save  # noqa: E402
from test_ridge_per_feature import (  # noqa: E402
    per_feature_cv_loss,
    shared_and_optimal_losses,
    sparse_ridge_problem,
)

from skhyper import HypernetSearchCV, PerWeight  # noqa: E402

LOW, HIGH = 1e-3, 10.0


def captured_gain(seed, shrinkage):
    X, y = sparse_ridge_problem(seed)
    p = X.shape[1]
    cv = KFold(3, shuffle=True, random_state=seed)
    splits = list(cv.split(X))
    best_shared, optimum = shared_and_optimal_losses(X, y, splits, LOW, HIGH)
    search = HypernetSearchCV(
        make_linear_regressor(p, max_epochs=400, lr=0.05),
        {"optimizer__weight_decay": PerWeight((LOW, HIGH, "log"), params="weight")},
        cv=cv, scoring="neg_mean_squared_error", random_state=seed, shrinkage=shrinkage,
    ).fit(X, y)
    found = per_feature_cv_loss(X, y, splits,
                                search.best_params_["optimizer__weight_decay"]["weight"].ravel())
    return (best_shared - found) / (best_shared - optimum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--shrinkage", nargs="+", default=["auto"],
                        type=lambda v: v if v == "auto" else float(v))
    parser.add_argument("--save", action="store_true",
                        help="also write benchmarks/results/ridge_per_feature.{md,json}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("ridge_per_feature.py", argv)
    lines, runs = [], {}
    print(f"commit {meta['git_commit']}; share of the closed-form per-feature gain earned "
          "per data seed")
    for shrinkage in args.shrinkage:
        gains = [captured_gain(seed, shrinkage) for seed in args.seeds]
        runs[str(shrinkage)] = gains
        cells = " ".join(f"{g:.2f}" for g in gains)
        lines.append(f"shrinkage={shrinkage}: {cells}  (mean {np.mean(gains):.2f}, "
                     f"min {min(gains):.2f}, max {max(gains):.2f})")
        print(lines[-1], flush=True)
    if args.save:
        save("ridge_per_feature", meta, "\n".join(lines), {"seeds": args.seeds, "gains": runs})


if __name__ == "__main__":
    main()
