"""Does PerInput decay the useless input features more than the informative ones?

``make_classification(300, 12, n_informative=4, n_redundant=0, shuffle=False)``
puts the informative columns first; an MLP 12-16-2 (logits, Adam lr 1e-2, 60
epochs, batch 32) gets one decay per column of its first layer,
``PerInput(loguniform(1e-5, 1), params="hidden.weight")``, cv=3, the search's
defaults, seeded with the data seed. Per seed: the Spearman rank correlation of a
column's found decay with its being useless, and the median decay of each group.
``tests/test_per_input.py`` runs the same search (seeds 0-2) and asserts the ranking.

Usage::

    python benchmarks/per_input_ranking.py            # seeds 0-4, prints the table
    python benchmarks/per_input_ranking.py --save     # also writes results/per_input_ranking.*
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import loguniform, spearmanr
from sklearn.datasets import make_classification
from skorch import NeuralNetClassifier
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provenance import metadata, save  # noqa: E402

from skhyper import HypernetSearchCV, PerInput  # noqa: E402

N_FEATURES, N_INFORMATIVE = 12, 4


class MLP(nn.Module):
    def __init__(self, n_in=N_FEATURES, n_hidden=16):
        super().__init__()
        self.hidden, self.out = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, 2)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


def per_input_search(seed):
    """The fitted search (no refit) on the seed's data."""
    X, y = make_classification(300, N_FEATURES, n_informative=N_INFORMATIVE, n_redundant=0,
                               shuffle=False, random_state=seed)
    net = NeuralNetClassifier(MLP, criterion=nn.CrossEntropyLoss, max_epochs=60, lr=1e-2,
                              optimizer=torch.optim.Adam, batch_size=32, train_split=None,
                              verbose=0)
    bounds = {"optimizer__weight_decay": PerInput(loguniform(1e-5, 1), params="hidden.weight")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # values at a bound are expected on useless columns
        return HypernetSearchCV(net, bounds, cv=3, random_state=seed,
                                refit=False).fit(X.astype(np.float32), y)


def ranking(search):
    """``(Spearman of decay with uselessness, median informative, median useless)``."""
    decays = search.best_params_["optimizer__weight_decay"]["hidden.weight"].ravel()
    useless = np.arange(N_FEATURES) >= N_INFORMATIVE
    return (float(spearmanr(decays, useless).statistic), float(np.median(decays[~useless])),
            float(np.median(decays[useless])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    meta = metadata("per_input_ranking.py", argv if argv is not None else sys.argv[1:])
    rows = []
    lines = ["| seed | Spearman (decay, useless) | median decay, informative | "
             "median decay, useless |", "|---|---|---|---|"]
    for seed in args.seeds:
        rho, informative, useless = ranking(per_input_search(seed))
        rows.append({"seed": seed, "spearman": rho, "median_informative": informative,
                     "median_useless": useless})
        lines.append(f"| {seed} | {rho:.2f} | {informative:.2e} | {useless:.2e} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if args.save:
        save("per_input_ranking", meta, text, {"rows": rows})
    return rows


if __name__ == "__main__":
    main()
