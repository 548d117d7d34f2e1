"""Regression: tune the weight decay of a linear net on load_diabetes.

A linear skorch net with an L2 penalty is ridge regression, so the search can be
checked against scikit-learn's RidgeCV-style closed form. Runs in a few seconds.
"""

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor
from torch import nn

from skhyper import HypernetSearchCV

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X).astype(np.float32)
y = ((y - y.mean()) / y.std()).astype(np.float32).reshape(-1, 1)

net = NeuralNetRegressor(nn.Linear, module__in_features=10, module__out_features=1,
                         max_epochs=300, batch_size=-1, lr=0.05,
                         optimizer=torch.optim.Adam, train_split=None, verbose=0)
search = HypernetSearchCV(net, {"optimizer__weight_decay": (1e-4, 10.0, "log")}, cv=5,
                          scoring="neg_mean_squared_error", hypernet="linear",
                          random_state=0)
search.fit(X, y)
print("best weight decay:", search.best_params_)
print("real 5-fold CV MSE at it (verify=1, the default):", round(-search.best_score_, 4))
