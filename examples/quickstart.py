"""Quickstart: tune weight decay and dropout of a skorch MLP on load_breast_cancer.

Runs in about 10 seconds on one CPU core.
"""

import numpy as np
import torch
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV


class MLP(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(30, 64)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(64, 2)

    def forward(self, X):
        return torch.softmax(self.out(self.dropout(torch.relu(self.hidden(X)))), dim=-1)


X, y = load_breast_cancer(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

net = NeuralNetClassifier(MLP, max_epochs=30, lr=1e-3, optimizer=torch.optim.Adam,
                          train_split=None, verbose=0)
search = HypernetSearchCV(
    make_pipeline(StandardScaler(), net),  # the scaler is fitted per fold, on training rows only
    {"neuralnetclassifier__optimizer__weight_decay": loguniform(1e-6, 1e-1),
     "neuralnetclassifier__module__dropout": (0.0, 0.8)},
    cv=3, scoring="neg_log_loss", random_state=0,
)
search.fit(X_train, y_train)

print("best params:", search.best_params_)
print("CV log-loss (real fits at best_params_):", round(-search.best_score_, 4))
print("test accuracy:", round(float((search.predict(X_test) == y_test).mean()), 4))
