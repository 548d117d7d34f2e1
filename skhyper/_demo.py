"""The demo behind ``python -m skhyper``: tune a net on load_digits, compare with GridSearchCV."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from torch import nn

from ._search import HypernetSearchCV, _counted


class DigitsMLP(nn.Module):
    """64-128-10 MLP with dropout, returning class probabilities."""

    def __init__(self, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(64, 128)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(128, 10)

    def forward(self, X):
        return torch.softmax(self.out(self.dropout(torch.relu(self.hidden(X)))), dim=-1)


def make_net(**params):
    from skorch import NeuralNetClassifier

    return NeuralNetClassifier(
        DigitsMLP, max_epochs=40, batch_size=64, lr=1e-3, optimizer=torch.optim.Adam,
        train_split=None, verbose=0, **params,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skhyper",
        description="Tune weight decay and dropout of an MLP on load_digits with "
        "HypernetSearchCV, and compare with GridSearchCV on the same net and folds.",
    )
    parser.add_argument("--grid-size", type=int, default=4,
                        help="GridSearchCV points per hyperparameter (default 4)")
    parser.add_argument("--plot", default="skhyper_landscape.png",
                        help="where to write the landscape PNG (needs matplotlib; "
                        "default skhyper_landscape.png, '' for none)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    bounds = {"optimizer__weight_decay": (1e-6, 1e-1, "log"), "module__dropout": (0.0, 0.8)}
    grid = {
        "optimizer__weight_decay": list(np.geomspace(1e-6, 1e-1, args.grid_size)),
        "module__dropout": list(np.linspace(0.0, 0.8, args.grid_size)),
    }
    print(f"load_digits: {len(X_train)} training rows, {len(X_test)} test rows; "
          "MLP 64-128-10, Adam lr 1e-3, 40 epochs, cv=3\n")

    results, searches = [], []
    for name, search in [
        # an MLP hypernet that keeps 10% of its training samples spread over the
        # whole box: its landscape ranks the grid like the real one (see
        # docs/benchmarks.md, "Landscape"); the default structured hypernet is
        # lighter but accurate only near the search path
        ("HypernetSearchCV", HypernetSearchCV(make_net(), bounds, cv=cv,
                                              scoring="neg_log_loss", random_state=0,
                                              hypernet="mlp", global_share=0.1)),
        (f"GridSearchCV {args.grid_size}x{args.grid_size}",
         GridSearchCV(make_net(), grid, cv=cv, scoring="neg_log_loss")),
    ]:
        print(f"running {name} ...", flush=True)
        torch.manual_seed(0)
        begin = time.perf_counter()
        search.fit(X_train, y_train)
        seconds = time.perf_counter() - begin
        searches.append(search)
        proba = search.predict_proba(X_test)
        results.append((name, seconds, search.best_params_, -search.best_score_,
                        log_loss(y_test, proba), accuracy_score(y_test, proba.argmax(1))))

    print(f"\n{'method':<20} {'seconds':>8} {'weight_decay':>13} {'dropout':>8} "
          f"{'CV log-loss':>12} {'test log-loss':>14} {'test acc':>9}")
    for name, seconds, params, cv_loss, test_loss, acc in results:
        print(f"{name:<20} {seconds:8.1f} {params['optimizer__weight_decay']:13.3g} "
              f"{params['module__dropout']:8.3f} {cv_loss:12.4f} {test_loss:14.4f} {acc:9.4f}")
    ratio = results[1][1] / results[0][1]
    print(f"\nHypernetSearchCV took 1/{ratio:.1f} of GridSearchCV's time, the real fits that "
          "score its best point included:\nboth CV log-losses come from real fits on the "
          "same folds (verify=1, the default).")
    print_virtual_grid(searches[0], searches[1], X_train, y_train)
    if args.plot:
        write_landscape(args.plot, searches[0], searches[1], X_train, y_train)
    return results


def print_virtual_grid(search, grid, X, y):
    """How the hypernets' virtual grid search compares with the real grid: its ranking
    (Spearman) and its level (relative error), near the search path and far from it."""
    virtual = search.virtual_grid_search(X, y, grid.cv_results_["params"])
    predicted = np.asarray(virtual["mean_test_score"])
    real = np.asarray(grid.cv_results_["mean_test_score"])
    rho = spearmanr(predicted, real).statistic
    error = np.abs(predicted - real) / np.abs(real)
    near = np.asarray(virtual["near_path"])
    print(f"The hypernets' virtual grid search (no training) ranks the {len(real)} grid points "
          f"with Spearman {rho:.2f} against GridSearchCV's real CV scores;")
    for where, mask in (("near the search path", near), ("far from it", ~near)):
        if mask.any():
            print(f"  {_counted(int(mask.sum()), 'point')} {where}: mean |predicted - real| / "
                  f"|real| {error[mask].mean():.0%}")


def write_landscape(path, search, grid, X, y):
    """The predicted landscape with the search path and the grid's real CV crosses."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from .plot import plot_landscape
    except ImportError:
        print('\n(no landscape plot: install matplotlib, e.g. pip install "skhyper[plot]")')
        return
    ax = plot_landscape(search, X, y, grid_results=grid.cv_results_)
    ax.figure.suptitle("HypernetSearchCV on load_digits: predicted CV log-loss")
    ax.figure.set_size_inches(7.5, 6)
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    print(f"\nwrote {path}: the hypernets' predicted CV log-loss over weight decay x "
          "dropout, the search path (white), best_params_ (red star), GridSearchCV's "
          "real CV log-loss (crosses) and its best point (red ring); hatched: far from "
          "the path, where the prediction is a guess")
