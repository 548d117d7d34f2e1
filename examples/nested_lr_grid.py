"""A learning-rate grid next to a weight-decay range, two ways.

The learning rate shapes the optimizer, so the weights have no best response to it
and a hypernet cannot tune it. Give it as a list, as in GridSearchCV: a grid axis,
with one search of the weight decay per learning rate. The older way, a GridSearchCV
around the search (HypernetSearchCV is an estimator), still works; it reruns the
whole inner search on every outer fold, so it costs several times more. Runs in
about a minute on one CPU core.
"""

import time

import numpy as np
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(13, 32), nn.ReLU(), nn.Linear(32, 3))

    def forward(self, X):
        return torch.softmax(self.layers(X), dim=-1)


X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)

net = NeuralNetClassifier(Net, max_epochs=30, optimizer=torch.optim.Adam,
                          train_split=None, verbose=0)

# one dict: the list is a grid axis, the range is tuned by gradient
begin = time.perf_counter()
search = HypernetSearchCV(net, {"lr": [1e-3, 1e-2],
                                "optimizer__weight_decay": (1e-5, 1e-1, "log")},
                          cv=3, scoring="neg_log_loss", random_state=0)
search.fit(X, y)
print(f"grid axis: best {search.best_params_}, CV log-loss "
      f"{-search.best_score_:.4f} ({time.perf_counter() - begin:.0f} s)")

# nested: a GridSearchCV around the search
begin = time.perf_counter()
inner = HypernetSearchCV(net, {"optimizer__weight_decay": (1e-5, 1e-1, "log")},
                         cv=3, scoring="neg_log_loss", random_state=0)
outer = GridSearchCV(inner, {"estimator__lr": [1e-3, 1e-2]}, cv=3, scoring="neg_log_loss")
outer.fit(X, y)
print(f"nested: best learning rate {outer.best_params_['estimator__lr']}, its weight "
      f"decay {outer.best_estimator_.best_params_}, outer CV log-loss "
      f"{-outer.best_score_:.4f} ({time.perf_counter() - begin:.0f} s)")
