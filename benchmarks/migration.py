"""A GridSearchCV user's grid, as it is (issue 21): GridSearchCV, HypernetSearchCV
and OptunaSearchCV side by side on skorch's own kind of grid.

The workload is the migration a new user tried: ``make_classification(1000, 20,
n_informative=10)``, a Pipeline of ``StandardScaler`` and a skorch
``NeuralNetClassifier`` whose module (skorch's documentation example) takes
``num_units`` and ``dropout``. Each seed draws its own data and its own 75/25
train/test split.

* ``GridSearchCV`` runs the grid as skorch's documentation writes it: lr, epochs,
  units, dropout and weight decay, two values each (32 candidates).
* ``HypernetSearchCV`` keeps lr, epochs and units as lists (8 combinations, one
  continuous search each) and turns dropout and decay into ranges.
* ``OptunaSearchCV`` (TPE) samples the same mixed space for 32 trials.

All three use the same CV (``--cv``, default 5) and score accuracy. Reported per
seed: wall time as a ratio to GridSearchCV's in the same run, best real CV
accuracy (``best_score_``: real fits for all three), and test accuracy of the
refit; and what the grid costs against one combination's search alone. Run::

    python benchmarks/migration.py --seeds 0 1 2 --save

``--quick`` runs one seed with ``cv=3`` (a smoke run, minutes). ``--n-jobs 2`` gives
every search two workers (HypernetSearchCV then runs its combinations in parallel).
``--stacked`` adds HypernetSearchCV with ``verify_fits="stacked"`` (the real fits of
each combination's candidates in one vectorized run) to the same run::

    python benchmarks/migration.py --seeds 0 1 2 --stacked --save --tag migration_stacked
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import metadata, save  # noqa: E402
from suite import optuna_available  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402

#: the grid of the migration, as skorch's documentation writes one (32 candidates)
GRID = {
    "net__lr": [0.01, 0.02],
    "net__max_epochs": [10, 20],
    "net__module__num_units": [10, 20],
    "net__module__dropout": [0, 0.5],
    "net__optimizer__weight_decay": [0, 1e-4],
}
#: the same search for HypernetSearchCV: the shaping keys stay lists, the rest ranges
MIXED = {
    "net__lr": [0.01, 0.02],
    "net__max_epochs": [10, 20],
    "net__module__num_units": [10, 20],
    "net__module__dropout": (0.0, 0.5),
    "net__optimizer__weight_decay": (1e-6, 1e-3, "log"),
}
N_TRIALS = 32


class MyModule(nn.Module):
    """skorch's documentation example: a width and a dropout."""

    def __init__(self, num_units=10, dropout=0.5):
        super().__init__()
        self.dense0 = nn.Linear(20, num_units)
        self.dropout = nn.Dropout(dropout)
        self.dense1 = nn.Linear(num_units, 10)
        self.output = nn.Linear(10, 2)

    def forward(self, X):
        X = self.dropout(torch.relu(self.dense0(X)))
        return torch.softmax(self.output(torch.relu(self.dense1(X))), dim=-1)


def pipeline():
    net = NeuralNetClassifier(MyModule, max_epochs=10, lr=0.1, train_split=None, verbose=0)
    return Pipeline([("scale", StandardScaler()), ("net", net)])


def data(seed):
    X, y = make_classification(1000, 20, n_informative=10, random_state=seed)
    return train_test_split(X.astype(np.float32), y, test_size=0.25, stratify=y,
                            random_state=seed)


def optuna_search(cv, seed, n_jobs):
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    space = {key: CategoricalDistribution(values) for key, values in MIXED.items()
             if isinstance(values, list)}
    space["net__module__dropout"] = FloatDistribution(0.0, 0.5)
    space["net__optimizer__weight_decay"] = FloatDistribution(1e-6, 1e-3, log=True)
    return OptunaSearchCV(pipeline(), space, n_trials=N_TRIALS, cv=cv, random_state=seed,
                          n_jobs=n_jobs)


def searches(cv, seed, n_jobs, stacked=False):
    out = {
        "GridSearchCV": GridSearchCV(pipeline(), GRID, cv=cv, n_jobs=n_jobs),
        "HypernetSearchCV": HypernetSearchCV(pipeline(), MIXED, cv=cv, random_state=seed,
                                             n_jobs=n_jobs),
    }
    if stacked:
        out["HypernetSearchCV, verify_fits='stacked'"] = HypernetSearchCV(
            pipeline(), MIXED, cv=cv, random_state=seed, n_jobs=n_jobs, verify_fits="stacked")
    if optuna_available():
        out["OptunaSearchCV"] = optuna_search(cv, seed, n_jobs)
    return out


def run_seed(seed, cv, n_jobs=None, stacked=False):
    X_train, X_test, y_train, y_test = data(seed)
    rows = {}
    for name, search in searches(cv, seed, n_jobs, stacked).items():
        torch.manual_seed(seed)
        begin = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bound notes and Optuna's chatter
            search.fit(X_train, y_train)
        seconds = time.perf_counter() - begin
        rows[name] = {
            "seconds": seconds,
            "best_cv": float(search.best_score_),
            "test": float(search.score(X_test, y_test)),
            "best_params": {k: (v if isinstance(v, int | str) else float(v))
                            for k, v in search.best_params_.items()},
        }
    one = {key: values[0] if isinstance(values, list) else values
           for key, values in MIXED.items()}  # the first combination's search alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        begin = time.perf_counter()
        HypernetSearchCV(pipeline().set_params(**{k: v for k, v in one.items()
                                                    if not isinstance(v, tuple)}),
                         {k: v for k, v in one.items() if isinstance(v, tuple)}, cv=cv,
                         random_state=seed).fit(X_train, y_train)
        rows["one combination's search"] = {"seconds": time.perf_counter() - begin}
    plain = pipeline()
    begin = time.perf_counter()
    plain.fit(X_train, y_train)
    rows["plain fit"] = {"seconds": time.perf_counter() - begin}
    return rows


def table(by_seed):
    names = [n for n in next(iter(by_seed.values())) if "best_cv" in next(
        iter(by_seed.values()))[n]]
    lines = ["| seed | search | cost (x GridSearchCV) | cost (plain fits) | best real CV "
             "accuracy | test accuracy |", "|---|---|---|---|---|---|"]
    for seed, rows in by_seed.items():
        grid, plain = rows["GridSearchCV"]["seconds"], rows["plain fit"]["seconds"]
        for name in names:
            r = rows[name]
            lines.append(f"| {seed} | {name} | {r['seconds'] / grid:.2f} | "
                         f"{r['seconds'] / plain:.0f} | {r['best_cv']:.4f} | {r['test']:.4f} |")
    lines += ["", "| search | mean cost (x GridSearchCV) | mean test accuracy | "
              "seed sd of test accuracy |", "|---|---|---|---|"]
    for name in names:
        ratios = [rows[name]["seconds"] / rows["GridSearchCV"]["seconds"]
                  for rows in by_seed.values()]
        tests = [rows[name]["test"] for rows in by_seed.values()]
        sd = np.std(tests, ddof=1) if len(tests) > 1 else float("nan")
        lines.append(f"| {name} | {np.mean(ratios):.2f} | {np.mean(tests):.4f} | {sd:.4f} |")
    n_combinations = int(np.prod([len(v) for v in MIXED.values() if isinstance(v, list)]))
    grows = [rows["HypernetSearchCV"]["seconds"] / rows["one combination's search"]["seconds"]
             for rows in by_seed.values()]
    lines += ["", f"The grid of {n_combinations} combinations costs "
              f"{min(grows):.1f}-{max(grows):.1f} x one combination's search alone "
              "(the first combination, same seed)."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="n_jobs of every search (HypernetSearchCV: its combinations "
                             "in parallel)")
    parser.add_argument("--quick", action="store_true", help="seed 0, cv=3")
    parser.add_argument("--stacked", action="store_true",
                        help="also HypernetSearchCV with verify_fits='stacked'")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--tag", default="migration")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.cv = [0], 3
    torch.set_num_threads(1)
    by_seed = {}
    for seed in args.seeds:
        by_seed[seed] = run_seed(seed, args.cv, args.n_jobs, args.stacked)
        print(f"seed {seed}: " + ", ".join(
            f"{name} {row['seconds']:.1f}s" for name, row in by_seed[seed].items()), flush=True)
    text = table(by_seed)
    print(text)
    for seed, rows in by_seed.items():
        for name, row in rows.items():
            if "best_params" in row:
                print(f"seed {seed} {name}: {row['best_params']}")
    if args.save:
        save(args.tag, metadata("migration.py", argv), text,
             {"by_seed": by_seed, "cv": args.cv, "n_jobs": args.n_jobs})


if __name__ == "__main__":
    main()
