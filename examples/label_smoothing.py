"""Label smoothing: tune a criterion attribute (CrossEntropyLoss's label_smoothing).

The smoothing enters the training loss only; the validation loss that guides the
search is computed without it, so it reaches that loss only through the weights.
Runs in about 10 seconds on one CPU core.
"""

import numpy as np
import torch
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV


class Logits(nn.Module):
    """Returns logits: skorch applies softmax for predict_proba with CrossEntropyLoss."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(13, 64), nn.ReLU(), nn.Linear(64, 3))

    def forward(self, X):
        return self.layers(X)


X, y = load_wine(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)

net = NeuralNetClassifier(Logits, criterion=nn.CrossEntropyLoss, max_epochs=40, lr=1e-2,
                          optimizer=torch.optim.Adam, train_split=None, verbose=0)
search = HypernetSearchCV(net, {"criterion__label_smoothing": (0.0, 0.3),
                                "optimizer__weight_decay": (1e-5, 1e-1, "log")},
                          cv=3, scoring="neg_log_loss", random_state=0)
search.fit(X, y)
print("best params:", search.best_params_)
print("the refit net's criterion:", search.best_estimator_.criterion_)
