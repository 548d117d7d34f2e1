"""Where one decay per input pays: many useless features (issue 22).

The workload is this project's own (data seed 2026 + the search seed, not the
issue's numbers): ``make_classification(1000, 200, n_informative=8,
n_redundant=0, shuffle=False)`` (the informative columns first), 400 stratified
training rows and 600 test rows, ``StandardScaler`` fitted on the training rows,
float32, ``cv = StratifiedKFold(3, shuffle=True, random_state=0)``. The net is an
MLP 200-64-2 (``self.hidden``, ReLU, ``self.out``, logits, ``CrossEntropyLoss``),
Adam lr 1e-3, 40 epochs, batch 32: with 400 rows and 200 inputs it overfits
without decay.

Searches, per seed (torch seeded with it before each):

* the untuned net (no decay);
* ``GridSearchCV`` over one scalar ``optimizer__weight_decay`` (11 log-spaced
  points in 1e-5..1);
* ``HypernetSearchCV`` with ``PerInput(loguniform(1e-5, 1), params="hidden.weight")``:
  one decay per input feature (ARD), 200 hyperparameters;
* ``RandomizedSearchCV`` and ``OptunaSearchCV`` (TPE) over the same 200-dim box,
  through :class:`PerInputDecayNet` (whose training loss adds
  ``sum_j 0.5 * decay_j * ||hidden.weight[:, j]||^2``, the loss whose gradient
  torch's decay adds), at equal wall time and at 10x HypernetSearchCV's.

Reported: cost in plain fits (wall time over one plain fit of the untuned net),
the searcher's own CV log-loss (``-best_score_``: real fits for every method), the
refit's test log-loss and accuracy, mean ± sd over seeds; for the per-input search,
the share of its 200 decays within 5% of a bound (log range) and the Spearman
correlation between a column's decay and its being useless (positive: the useless
columns got the larger decays). Run::

    python benchmarks/useless_features.py --seeds 0 1 2 --save
    python benchmarks/useless_features.py --quick       # seed 0, 3x peers, minutes

With ``--stacked``, the per-input search runs a second time with
``verify_fits="stacked"`` right after the default one, in the same process (the
row "HypernetSearchCV PerInput, verify_fits='stacked'"); with ``--peer-factor 0``
the sampling searches are left out::

    python benchmarks/useless_features.py --peer-factor 0 --stacked --save \
        --tag useless_features_stacked
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_per_input import parse_settings  # noqa: E402
from per_input_peers import PerInputDecayNet, decay_buffer, run_peers  # noqa: E402
from provenance import metadata, save  # noqa: E402
from suite import timed  # noqa: E402

from skhyper import HypernetSearchCV, PerInput  # noqa: E402

N_FEATURES, N_INFORMATIVE = 200, 8
LOW, HIGH = 1e-5, 1.0
SCORING = "neg_log_loss"
NET_KWARGS = dict(criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, lr=1e-3,
                  max_epochs=40, batch_size=32, train_split=None, verbose=0)


class MLP(nn.Module):
    def __init__(self, n_in=N_FEATURES, n_hidden=64):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, 2)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


class DecayedMLP(MLP):
    """MLP whose constructor takes one decay per input, ``decay_0 .. decay_199``, so
    that sampling searches can set them (``module__decay_j``)."""

    def __init__(self, n_in=N_FEATURES, n_hidden=64, **decays):
        super().__init__(n_in, n_hidden)
        decay_buffer(self, n_in, decays)

    def decayed_weight(self):
        return self.hidden.weight


def plain_net(**overrides):
    return NeuralNetClassifier(MLP, **{**NET_KWARGS, **overrides})


def peer_net(**overrides):
    return PerInputDecayNet(DecayedMLP, **{**NET_KWARGS, **overrides})


def make_cv():
    return StratifiedKFold(3, shuffle=True, random_state=0)


def data(seed):
    X, y = make_classification(1000, N_FEATURES, n_informative=N_INFORMATIVE, n_redundant=0,
                               shuffle=False, random_state=2026 + seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, stratify=y,
                                                        random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), y_train, y_test)


def test_metrics(estimator, X_test, y_test):
    proba = estimator.predict_proba(X_test)
    return {"test_loss": float(log_loss(y_test, proba, labels=[0, 1])),
            "test_accuracy": float(accuracy_score(y_test, proba.argmax(1)))}


def ard_summary(search):
    """Share of the per-input decays at a bound, and their rank correlation with
    uselessness (the informative columns are the first ``N_INFORMATIVE``)."""
    decays = np.asarray(search.best_params_["optimizer__weight_decay"]["hidden.weight"],
                        dtype=float).ravel()
    logs = (np.log10(decays) - np.log10(LOW)) / (np.log10(HIGH) - np.log10(LOW))
    useless = np.arange(N_FEATURES) >= N_INFORMATIVE
    return {"at_bound": float(np.mean((logs < 0.05) | (logs > 0.95))),
            "spearman": float(scipy.stats.spearmanr(decays, useless).statistic),
            "median_informative": float(np.median(decays[~useless])),
            "median_useless": float(np.median(decays[useless]))}


def run_seed(seed, peer_factor, grid_points, settings=None, stacked=False):
    X_train, X_test, y_train, y_test = data(seed)
    torch.manual_seed(seed)
    plain_net(max_epochs=1).fit(X_train, y_train)  # warm-up
    torch.manual_seed(seed)
    untuned, unit = timed(lambda: plain_net().fit(X_train, y_train))
    rows = {"untuned": {"cost": 1.0, "cv_loss": float(-cross_val_score(
        plain_net(), X_train, y_train, cv=make_cv(), scoring=SCORING).mean()),
        **test_metrics(untuned, X_test, y_test)}}

    def record(name, search, seconds, **extra):
        rows[name] = {"cost": seconds / unit, "cv_loss": float(-search.best_score_),
                      **test_metrics(search, X_test, y_test), **extra}
        print(f"  seed {seed}: {name}: {seconds / unit:.1f} plain fits, "
              f"test {rows[name]['test_loss']:.4f}", flush=True)

    grid = {"optimizer__weight_decay": [float(v) for v in np.geomspace(LOW, HIGH, grid_points)]}
    torch.manual_seed(seed)
    search, seconds = timed(lambda: GridSearchCV(plain_net(), grid, cv=make_cv(),
                                                 scoring=SCORING).fit(X_train, y_train))
    record("GridSearchCV scalar", search, seconds)
    bounds = {"optimizer__weight_decay": PerInput(scipy.stats.loguniform(LOW, HIGH),
                                                  params="hidden.weight")}
    variants = {"HypernetSearchCV PerInput": settings or {}}
    if stacked:
        variants["HypernetSearchCV PerInput, verify_fits='stacked'"] = {
            **(settings or {}), "verify_fits": "stacked"}
    seconds_of = {}
    for name, keywords in variants.items():
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the bound warnings: their share is reported
            search, seconds_of[name] = timed(lambda k=keywords: HypernetSearchCV(
                plain_net(), bounds, cv=make_cv(), scoring=SCORING,
                random_state=seed, **k).fit(X_train, y_train))
        record(name, search, seconds_of[name], **ard_summary(search))
    hyper_seconds = seconds_of["HypernetSearchCV PerInput"]
    if peer_factor:  # 0: no sampling searches
        run_peers(record, peer_net, N_FEATURES, (X_train, y_train), seed,
                  hyper_seconds - unit, peer_factor, cv=make_cv(), scoring=SCORING, low=LOW,
                  high=HIGH)
    return rows


def table(by_seed):
    names = list(next(iter(by_seed.values())))
    lines = ["| search | cost (plain fits) | CV log-loss | test log-loss | test accuracy |",
             "|---|---|---|---|---|"]

    def cell(name, key, digits):
        values = [rows[name][key] for rows in by_seed.values()]
        sd = f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else ""
        return f"{np.mean(values):.{digits}f}{sd}"

    for name in names:
        lines.append(f"| {name} | {cell(name, 'cost', 1)} | {cell(name, 'cv_loss', 4)} | "
                     f"{cell(name, 'test_loss', 4)} | {cell(name, 'test_accuracy', 4)} |")
    ard = "HypernetSearchCV PerInput"
    lines += ["", "| seed | share of the 200 decays at a bound | Spearman (decay, useless) | "
              "median decay, informative | median decay, useless |", "|---|---|---|---|---|"]
    for seed, rows in by_seed.items():
        r = rows[ard]
        lines.append(f"| {seed} | {r['at_bound']:.2f} | {r['spearman']:.2f} | "
                     f"{r['median_informative']:.3g} | {r['median_useless']:.3g} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--peer-factor", type=float, default=10.0,
                        help="the sampling searches' second budget (0: none)")
    parser.add_argument("--grid-points", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="seed 0, peers at 3x, 5 points")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--tag", default="useless_features")
    parser.add_argument("--settings", nargs="*", default=[], metavar="KEY=VALUE",
                        help="HypernetSearchCV keyword arguments, e.g. shrinkage=15")
    parser.add_argument("--stacked", action="store_true",
                        help="also the per-input search with verify_fits='stacked'")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.peer_factor, args.grid_points = [0], 3.0, 5
    torch.set_num_threads(1)
    settings = parse_settings(args.settings)
    by_seed = {seed: run_seed(seed, args.peer_factor, args.grid_points, settings, args.stacked)
               for seed in args.seeds}
    text = table(by_seed)
    print(text)
    if args.save:
        save(args.tag, metadata("useless_features.py", argv), text, {"by_seed": by_seed})
    return by_seed


if __name__ == "__main__":
    main()
