"""One weight decay per class: PerUnit on the output weight of a softmax model.

A linear softmax model on load_digits (400 training rows) gets ten decays, one
per row of ``out.weight`` (one per digit), as in Lorraine & Duvenaud (2018,
Fig. 8), next to the same search over one scalar decay and the untuned net.
Each point found is refitted with three torch seeds (``skhyper.with_params``)
and scored on the held-out rows (one refit's test loss moves with its seed,
hence the spread). With matplotlib, the decays are drawn per class
(``per_class_decay.png``). About 10 seconds on one CPU core.
"""

import time

import numpy as np
import torch
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV, PerUnit, with_params


class Softmax(nn.Module):
    """Logits of a linear model; skorch applies softmax for predict_proba."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(64, 10)

    def forward(self, X):
        return self.out(X)


torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, stratify=y,
                                                    random_state=0)
scaler = StandardScaler().fit(X_train)  # fitted on the training rows only
X_train, X_test = (scaler.transform(a).astype(np.float32) for a in (X_train, X_test))

net = NeuralNetClassifier(Softmax, criterion=nn.CrossEntropyLoss, max_epochs=60,
                          batch_size=32, lr=1e-2, optimizer=torch.optim.Adam,
                          train_split=None, verbose=0)
boxes = {
    "scalar decay": {"optimizer__weight_decay": loguniform(1e-5, 1)},
    "per-class decay": {"optimizer__weight_decay": PerUnit(loguniform(1e-5, 1),
                                                           params="out.weight")},
}
found = {"untuned net": ({}, 0.0)}
for name, box in boxes.items():
    begin = time.perf_counter()
    search = HypernetSearchCV(net, box, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                              scoring="neg_log_loss", random_state=0).fit(X_train, y_train)
    found[name] = (search.best_params_, time.perf_counter() - begin)

print(f"{'method':<16} {'search s':>8}  test log-loss over 3 refit seeds")
for name, (params, seconds) in found.items():
    losses = []
    for seed in range(3):
        torch.manual_seed(seed)
        refit = with_params(net, params).fit(X_train, y_train)
        losses.append(log_loss(y_test, refit.predict_proba(X_test)))
    print(f"{name:<16} {seconds:8.1f}  {np.mean(losses):.4f} +- {np.std(losses):.4f}")
print("scalar decay found: {:.2e}".format(found["scalar decay"][0]["optimizer__weight_decay"]))
decays = search.best_params_["optimizer__weight_decay"]["out.weight"]
print("per-class decays (digits 0-9):", np.array2string(decays, precision=2))

try:
    import matplotlib

    matplotlib.use("Agg")
    from skhyper.plot import plot_block_values
except ImportError:
    print("(install matplotlib for the plot)")
else:
    ax = plot_block_values(search)
    ax.set_xlabel("digit (row of out.weight)")
    ax.figure.savefig("per_class_decay.png", dpi=100, bbox_inches="tight")
    print("wrote per_class_decay.png")
