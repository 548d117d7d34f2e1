"""How well the hypernets rank a grid: virtual grid search vs a real GridSearchCV.

Fits GridSearchCV 5x5 and HypernetSearchCV on the same workload and folds, scores
the same 25 points with the hypernets (``virtual_grid_search``, no training) and
prints the Spearman rank correlation of the two ``mean_test_score`` columns, with
the table side by side, and the size of one fold's hypernet against the net's.

Usage::

    python benchmarks/virtual_grid_ranking.py --workload digits --seed 0
    python benchmarks/virtual_grid_ranking.py --seed 1 hypernet=mlp global_share=0.1 --save

``--save`` writes ``benchmarks/results/virtual_grid_<workload>_seed<seed>[_<settings>]``
``.md`` and ``.json`` (``benchmarks/provenance.py``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from scipy.stats import spearmanr
from sklearn.model_selection import GridSearchCV, StratifiedKFold

sys.path.insert(0, str(Path(__file__).parent))
from provenance import metadata, save  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="digits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("settings", nargs="*", help="HypernetSearchCV keyword=value pairs")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("virtual_grid_ranking.py", argv)  # before the run: the code it imported
    workload = WORKLOADS[args.workload]
    settings = {k: float(v) if v.replace(".", "", 1).isdigit() else v
                for k, v in (s.split("=", 1) for s in args.settings)}
    X_train, _, y_train, _ = workload.data(args.seed)
    cv = StratifiedKFold(3, shuffle=True, random_state=args.seed)
    torch.manual_seed(args.seed)
    grid = GridSearchCV(workload.make_net(), workload.grid, cv=cv, scoring="neg_log_loss")
    grid.fit(X_train, y_train)
    search = HypernetSearchCV(workload.make_net(), workload.bounds, cv=cv,
                              scoring="neg_log_loss", random_state=args.seed, **settings)
    search.fit(X_train, y_train)
    virtual = search.virtual_grid_search(X_train, y_train, grid.cv_results_["params"])
    rho = spearmanr(virtual["mean_test_score"], grid.cv_results_["mean_test_score"]).statistic
    n_net = sum(p.numel() for p in search.best_estimator_.module_.parameters())
    n_hypernet = sum(p.numel() for p in search.hypernets_[0].parameters())
    lines = ["| point | virtual CV log-loss | real CV log-loss |", "|---|---|---|"]
    for params, v, r in zip(grid.cv_results_["params"], virtual["mean_test_score"],
                            grid.cv_results_["mean_test_score"]):
        point = ", ".join(f"{k.split('__')[-1]}={float(x):.3g}" for k, x in params.items())
        lines.append(f"| {point} | {-v:.4f} | {-r:.4f} |")
    lines += ["", f"Spearman rank correlation (virtual vs real): {rho:.3f}", "",
              f"One fold's hypernet: {n_hypernet} parameters, {n_hypernet / n_net:.1f}x the "
              f"net's {n_net}"]
    text = "\n".join(lines)
    print(text)
    if args.save:
        tag = "_".join([f"virtual_grid_{args.workload}_seed{args.seed}",
                        *(s.replace("=", "-") for s in args.settings)])
        save(tag, meta, text, {
            "spearman": rho, "net_parameters": n_net, "hypernet_parameters": n_hypernet,
            "points": [{k: float(x) for k, x in p.items()} for p in grid.cv_results_["params"]],
            "virtual_cv_log_loss": [-v for v in virtual["mean_test_score"]],
            "real_cv_log_loss": [-r for r in grid.cv_results_["mean_test_score"]],
        })


if __name__ == "__main__":
    main()
