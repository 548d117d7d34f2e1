"""The hypergradient (what moves lambda_hat) against central finite differences, in float64."""

import numpy as np
import torch
from helpers import TinyClassifier
from sklearn.model_selection import KFold
from skorch import NeuralNetClassifier

from skhyper._folds import FoldBuilder
from skhyper._space import parse_bounds
from skhyper._train import hypergradient


class Float64Classifier(TinyClassifier):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.double()


def test_hypergradient_matches_finite_differences():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 8)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    net = NeuralNetClassifier(
        Float64Classifier, module__n_in=8, module__n_out=3, train_split=None, verbose=0
    )
    space = parse_bounds(
        {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.8)}
    )
    builder = FoldBuilder(net, space, "structured")
    splits = list(KFold(2, shuffle=True, random_state=0).split(X))
    folds = [builder.build(X, y, tr, te, [0.4, 0.6])[0] for tr, te in splits]
    torch.manual_seed(0)
    for fold in folds:  # move away from the initial V = 0 so both directions matter
        with torch.no_grad():
            for p in fold.hypernet.parameters():
                p.add_(0.3 * torch.randn_like(p))

    u = torch.tensor([0.3, -0.2], dtype=torch.float64)
    _, grad = hypergradient(folds, u)
    eps = 1e-5
    numeric = []
    for i in range(len(u)):
        step = torch.zeros_like(u)
        step[i] = eps
        plus, _ = hypergradient(folds, u + step)
        minus, _ = hypergradient(folds, u - step)
        numeric.append((plus - minus) / (2 * eps))
    np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-6, atol=1e-9)
    assert np.all(np.abs(numeric) > 1e-6), "both hyperparameters must reach the loss"
