"""One weight decay per weight: PerWeight on the weight matrices of an MLP.

``PerWeight(loguniform(1e-5, 1), params="*.weight")`` on a 64-128-10 MLP on
load_digits (400 training rows) is 9,472 hyperparameters, one per element of
``hidden.weight`` and ``out.weight`` (the biases keep the net's own decay),
as in Lorraine & Duvenaud (2018, Fig. 6). It runs next to the same search over
one scalar decay and the untuned net; each point found is refitted with three
torch seeds (``skhyper.with_params``: a skorch callback adds the decays to the
gradients) and scored on the held-out rows. With thousands of hyperparameters
a search can fit its own validation folds, so judge it by the test column.
With matplotlib, the search path (the decays' median and range) and a
histogram of the decays found are drawn (``per_weight_decay.png``). About 15
seconds on one CPU core.
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

from skhyper import HypernetSearchCV, PerWeight, with_params


class MLP(nn.Module):
    """64-128-10 with ReLU, returning logits (skorch applies softmax for predict_proba)."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(64, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, X):
        return self.out(torch.relu(self.hidden(X)))


torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=400, stratify=y,
                                                    random_state=0)
scaler = StandardScaler().fit(X_train)  # fitted on the training rows only
X_train, X_test = (scaler.transform(a).astype(np.float32) for a in (X_train, X_test))

net = NeuralNetClassifier(MLP, criterion=nn.CrossEntropyLoss, max_epochs=60, batch_size=32,
                          lr=1e-3, optimizer=torch.optim.Adam, train_split=None, verbose=0)
boxes = {
    "scalar decay": {"optimizer__weight_decay": loguniform(1e-5, 1)},
    "per-weight decay": {"optimizer__weight_decay": PerWeight(loguniform(1e-5, 1),
                                                              params="*.weight")},
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
for tensor, decay in search.best_params_["optimizer__weight_decay"].items():  # arrays
    print(f"  {tensor:<14} {decay.size} decays, median {np.median(decay):.2e}, "
          f"5-95% {np.percentile(decay, 5):.2e} to {np.percentile(decay, 95):.2e}")

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhyper.plot import plot_block_values, plot_trajectory
except ImportError:
    print("(install matplotlib for the plots)")
else:
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    plot_trajectory(search, ax=left)
    plot_block_values(search, ax=right)
    fig.tight_layout()
    fig.savefig("per_weight_decay.png", dpi=100)
    print("wrote per_weight_decay.png")
