"""Nested search: GridSearchCV over the learning rate, HypernetSearchCV over weight decay.

The learning rate shapes the optimizer, so the weights have no best response to it
and a hypernet cannot tune it. A GridSearchCV around the search can, because
HypernetSearchCV is an estimator. Runs in about 30 seconds on one CPU core.
"""

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
inner = HypernetSearchCV(net, {"optimizer__weight_decay": (1e-5, 1e-1, "log")},
                         cv=3, scoring="neg_log_loss", random_state=0)
outer = GridSearchCV(inner, {"estimator__lr": [1e-3, 1e-2]}, cv=3, scoring="neg_log_loss")
outer.fit(X, y)

print("best learning rate:", outer.best_params_["estimator__lr"])
print("its best weight decay:", outer.best_estimator_.best_params_)
print("outer CV log-loss:", round(-outer.best_score_, 4))
