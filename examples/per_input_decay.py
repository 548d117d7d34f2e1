"""One weight decay per input feature: PerInput, the ARD prior as a weight decay.

Twenty features of which four carry the class (``make_classification`` with
``shuffle=False``: the informative columns come first) and 300 training rows: an
MLP that sees every feature overfits the sixteen useless ones. ``PerInput`` gives
each column of the first layer's weight its own decay, next to one scalar decay and
the untuned net. Each point found is refitted with three torch seeds
(``skhyper.with_params``) and scored on 2,000 held-out rows. With matplotlib, the
decays are drawn per feature (``per_input_decay.png``), the informative ones shaded.
About 20 seconds on one CPU core.
"""

import time
import warnings

import numpy as np
import torch
from scipy.stats import loguniform, spearmanr
from sklearn.datasets import make_classification
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV, PerInput, SkhyperWarning, with_params

N_FEATURES, N_INFORMATIVE = 20, 4


class MLP(nn.Module):
    def __init__(self, n_hidden=32):
        super().__init__()
        self.hidden, self.out = nn.Linear(N_FEATURES, n_hidden), nn.Linear(n_hidden, 2)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))  # logits


torch.set_num_threads(1)
X, y = make_classification(2300, N_FEATURES, n_informative=N_INFORMATIVE, n_redundant=0,
                           shuffle=False, random_state=7)
X_train, X_test, y_train, y_test = train_test_split(X.astype(np.float32), y, train_size=300,
                                                    stratify=y, random_state=7)

net = NeuralNetClassifier(MLP, criterion=nn.CrossEntropyLoss, max_epochs=60, batch_size=32,
                          lr=1e-2, optimizer=torch.optim.Adam, train_split=None, verbose=0)
boxes = {
    "scalar decay": {"optimizer__weight_decay": loguniform(1e-5, 1)},
    "per-input decay": {"optimizer__weight_decay": PerInput(loguniform(1e-5, 1),
                                                            params="hidden.weight")},
}
found = {"untuned net": ({}, 0.0)}
for name, box in boxes.items():
    begin = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkhyperWarning)  # useless columns end at the bound
        search = HypernetSearchCV(net, box, cv=3, scoring="neg_log_loss",
                                  random_state=0).fit(X_train, y_train)
    found[name] = (search.best_params_, time.perf_counter() - begin)

print(f"{'method':<16} {'search s':>8}  test log-loss over 3 refit seeds")
for name, (params, seconds) in found.items():
    losses = []
    for seed in range(3):
        torch.manual_seed(seed)
        refit = with_params(net, params).fit(X_train, y_train)
        losses.append(log_loss(y_test, refit.predict_proba(X_test)))
    print(f"{name:<16} {seconds:8.1f}  {np.mean(losses):.4f} +- {np.std(losses):.4f}")
decays = search.best_params_["optimizer__weight_decay"]["hidden.weight"].ravel()
useless = np.arange(N_FEATURES) >= N_INFORMATIVE
print(f"median decay: informative columns {np.median(decays[~useless]):.2e}, "
      f"useless columns {np.median(decays[useless]):.2e}; rank correlation of decay "
      f"and uselessness {spearmanr(decays, useless).statistic:.2f}")

try:
    import matplotlib

    matplotlib.use("Agg")
    from skhyper.plot import plot_block_values
except ImportError:
    print("(install matplotlib for the plot)")
else:
    ax = plot_block_values(search)
    ax.axvspan(-0.5, N_INFORMATIVE - 0.5, color="0.9", zorder=0)
    ax.text(N_INFORMATIVE / 2 - 0.5, 1.3, "informative", ha="center", fontsize="small")
    ax.set_xlabel("input feature (column of hidden.weight)")
    ax.figure.savefig("per_input_decay.png", dpi=100, bbox_inches="tight")
    print("wrote per_input_decay.png")
