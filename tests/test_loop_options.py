"""Options of the hyper-training loop: global_share, early stopping, box sampling."""

import numpy as np
import pytest
import torch
from helpers import classification_data, make_classifier
from sklearn.model_selection import GridSearchCV

from skhyper import HypernetSearchCV
from skhyper._space import parse_bounds
from skhyper._train import HyperTrainer, LoopConfig

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.8)}


def trainer(**config):
    defaults = dict(n_epochs=10, warmup_epochs=3, warmup_sampling="global", batch_size=8,
                    hyper_lr=0.05, hyper_steps_per_epoch=2, perturb_scale=0.1,
                    make_optimizer=torch.optim.Adam)
    return HyperTrainer([], parse_bounds(BOUNDS), LoopConfig(**{**defaults, **config}))


def test_global_share_is_the_fraction_of_local_steps_sampled_over_the_box():
    torch.manual_seed(0)
    for share, expected in [(0.0, 0.0), (0.25, 0.25), (1.0, 1.0)]:
        loop = trainer(global_share=share)
        steps = [loop._step_is_global(False) for _ in range(4000)]
        assert np.mean(steps) == pytest.approx(expected, abs=0.03)
        assert loop._step_is_global(True)  # the warm-up always samples the box


def test_box_samples_cover_the_box_evenly_and_repeat_with_the_seed():
    def draws(seed):
        torch.manual_seed(seed)
        loop = trainer()
        u = torch.zeros(2)
        return torch.stack([loop._sample_t(u, global_phase=True) for _ in range(64)]).numpy()

    first = draws(0)
    np.testing.assert_array_equal(first, draws(0))
    assert not np.array_equal(first, draws(1))
    # a scrambled Sobol sequence puts 4 of 64 points in each cell of a 4x4 grid
    cells = np.floor(np.clip(first, 0, 0.999) * 4).astype(int)
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    assert counts.min() >= 3 and counts.max() <= 5, counts


def test_early_stopping_stops_a_settled_search_and_not_before_half():
    X, y = classification_data(120)
    # weight decay only, with the real-fit optimum at the lower wall (real fits below).
    # A local warm-up (no scan) leaves the way down to the hyper steps: lambda_hat
    # must reach the wall and rest there before the search may stop; a frozen
    # lambda_hat would "settle" at once, at the start (0.32, the box's middle).
    bounds = {"optimizer__weight_decay": (1e-1, 1.0, "log")}
    net = make_classifier(max_epochs=60, lr=0.05)
    real = GridSearchCV(net, {"optimizer__weight_decay": [0.1, 1.0]}, cv=3,
                        scoring="neg_log_loss").fit(X, y)
    real_loss = -real.cv_results_["mean_test_score"]
    assert real_loss[0] < real_loss[1]  # measured 0.48 against 1.01
    options = dict(cv=3, random_state=0, warmup_sampling="local", hyper_lr=0.2)
    stopped = HypernetSearchCV(net, bounds, early_stopping=True, **options).fit(X, y)
    # measured over random_state 0-5: stopped after 38-53 epochs
    assert 30 <= stopped.n_epochs_ < 60
    assert stopped.trajectory_["epoch"].max() < stopped.n_epochs_
    path = stopped.trajectory_["param_optimizer__weight_decay"]
    assert path[0] == pytest.approx(np.sqrt(0.1))
    # the last point in unit coordinates (log10(wd / 0.1)): measured 0.010-0.017 over
    # random_state 0-5 (the wall, kept 1% inside the box, is 0.01); asked: in the
    # lowest 5% of the box, a margin of 2.9x
    assert np.log10(path[-1] / 0.1) < 0.05, path[-1]
    full = HypernetSearchCV(net, bounds, **options).fit(X, y)
    assert full.n_epochs_ == 60
    # the refit trains the net's own max_epochs either way
    assert len(stopped.best_estimator_.history) == 60
