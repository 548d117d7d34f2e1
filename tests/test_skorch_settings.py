"""Hyper-training honours the skorch net's own training settings (issue 11, section 2),
or warns, naming the setting, where it has no meaning there."""

import copy
import warnings

import numpy as np
import pytest
import torch
from helpers import TinyClassifier, classification_data, make_classifier
from sklearn.model_selection import StratifiedKFold
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    EpochScoring,
    GradientNormClipping,
    LRScheduler,
)
from skorch.dataset import ValidSplit
from torch.optim.lr_scheduler import ReduceLROnPlateau, StepLR

import skhyper._search
from skhyper import HypernetSearchCV
from skhyper._refit import DecayCallback
from skhyper._train import HyperTrainer, clip_grad_norms
from skhyper.exceptions import SkhyperWarning

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log")}


@pytest.fixture
def trainers(monkeypatch):
    """The HyperTrainers a search runs, with each fold's hypernet state at the start."""
    seen = []

    class Recording(HyperTrainer):
        def run(self, t_start):
            self.initial = [copy.deepcopy(f.hypernet.state_dict()) for f in self.folds]
            seen.append(self)
            return super().run(t_start)

    monkeypatch.setattr(skhyper._search, "HyperTrainer", Recording)
    return seen


def _search(net, **kw):
    """A search that runs hyper-training only: no refit and no verify fits (several nets
    here are settings that a real skorch fit refuses, e.g. EarlyStopping on valid_loss
    without a validation split)."""
    return HypernetSearchCV(net, BOUNDS, cv=3, random_state=0, refit=False, verify=0, **kw)


def test_valid_split_trains_on_the_rows_skorch_keeps(trainers):
    X, y = classification_data(150)
    net = make_classifier(train_split=ValidSplit(5, stratified=True))
    search = _search(net).fit(X, y)
    [trainer] = trainers
    for fold, (train, test) in zip(trainer.folds, search.split_indices_):
        # skorch's ValidSplit(5) keeps the first StratifiedKFold(5) split's train part
        keep, _ = next(StratifiedKFold(5).split(X[train], y[train]))
        np.testing.assert_array_equal(fold.X_train.numpy(), X[train][keep])
        assert fold.n_val == len(test)  # the CV fold's validation rows stay the objective
    plain = _search(make_classifier(train_split=None)).fit(X, y)
    assert not np.array_equal(plain.trajectory_["val_loss"], search.trajectory_["val_loss"])


def test_predefined_style_split_keeps_every_row(trainers):
    X, y = classification_data(90)

    def every_row_trains(dataset, y):  # as skorch's predefined_split: train on all
        return dataset, None

    search = _search(make_classifier(train_split=every_row_trains)).fit(X, y)
    for fold, (train, _) in zip(trainers[0].folds, search.split_indices_):
        assert fold.n_train == len(train)


def test_non_callable_train_split_warns():
    X, y = classification_data(90)
    with pytest.warns(SkhyperWarning, match="train_split"):
        _search(make_classifier(train_split=0.2)).fit(X, y)


@pytest.mark.parametrize("step_every", ["epoch", "batch"])
def test_lr_scheduler_policy_steps_the_hypernet_optimizer(trainers, step_every):
    X, y = classification_data(150)
    lr, epochs = 1e-2, 6
    net = make_classifier(lr=lr, max_epochs=epochs, batch_size=50, callbacks=[
        LRScheduler(StepLR, step_size=2, gamma=0.5, step_every=step_every)])
    search = _search(net).fit(X, y)
    [trainer] = trainers
    steps_per_epoch = int(np.ceil(min(len(tr) for tr, _ in search.split_indices_) / 50))
    n_steps = epochs if step_every == "epoch" else epochs * steps_per_epoch
    expected = lr * 0.5 ** (n_steps // 2)  # StepLR's closed form
    groups = trainer.schedulers[0].scheduler.optimizer.param_groups
    assert groups[0]["lr"] == pytest.approx(expected)
    assert groups[1]["lr"] == pytest.approx(expected * search.response_lr_factor)


def test_reduce_on_plateau_gets_the_training_loss_or_warns(trainers):
    X, y = classification_data(90)
    net = make_classifier(callbacks=[LRScheduler(ReduceLROnPlateau, monitor="train_loss")])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkhyperWarning)
        # about the found point, not the settings (test_bounds.py)
        warnings.filterwarnings("ignore", "best_params_: .* lies at", SkhyperWarning)
        _search(net).fit(X, y)
    assert trainers[0].schedulers[0].takes_loss
    net = make_classifier(callbacks=[LRScheduler(ReduceLROnPlateau, monitor="valid_loss")])
    with pytest.warns(SkhyperWarning, match="valid_loss"):
        _search(net).fit(X, y)


@pytest.mark.parametrize("stacked", [True, False])
def test_gradient_clipping_bounds_each_hypernets_moves(trainers, stacked):
    X, y = classification_data(90)
    clip, lr, epochs = 1e-4, 0.1, 3
    module = TinyClassifier if stacked else _Unstackable
    net = make_classifier(module=module, lr=lr, max_epochs=epochs, batch_size=30,
                          optimizer=torch.optim.SGD,
                          callbacks=[GradientNormClipping(gradient_clip_value=clip)])
    search = _search(net).fit(X, y)
    assert search.batched_folds_ is stacked
    [trainer] = trainers
    n_steps = epochs * int(np.ceil(max(f.n_train for f in trainer.folds) / 30))
    # plain SGD moves each fold by at most lr (x the response factor) x its clipped norm
    bound = n_steps * lr * search.response_lr_factor * clip
    for fold, start in zip(trainer.folds, trainer.initial):
        moved = torch.cat([(p.detach() - start[n]).flatten()
                           for n, p in fold.hypernet.named_parameters()])
        assert 0 < float(moved.norm()) <= bound * 1.001


def test_stacked_clipping_uses_each_folds_own_norm():
    torch.manual_seed(0)
    grads = [torch.randn(3, 4, 5), torch.randn(3, 7)]
    grads[0][1] *= 100  # one fold with a much larger norm
    stacked = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(stacked, grads):
        p.grad = g.clone()
    clip_grad_norms(stacked, 1.0, 2, n_folds=3)
    for k in range(3):  # torch's clip_grad_norm_ on fold k's slice alone
        alone = [torch.zeros_like(g[k], requires_grad=True) for g in grads]
        for p, g in zip(alone, grads):
            p.grad = g[k].clone()
        torch.nn.utils.clip_grad_norm_(alone, 1.0, norm_type=2)
        for p, a in zip(stacked, alone):
            torch.testing.assert_close(p.grad[k], a.grad)


class _Unstackable(TinyClassifier):
    """Records the first feature of the rows it trains on; ``.tolist()`` makes vmap
    refuse it, so the folds train one by one."""

    seen = []

    def forward(self, X):
        if self.training:
            _Unstackable.seen.append(X[:, 0].tolist())
        return super().forward(X)


@pytest.mark.parametrize("shuffle", [False, None, True])
def test_rows_are_in_order_unless_the_net_shuffles(shuffle):
    """skorch's DataLoader keeps the rows in order unless iterator_train__shuffle=True,
    and so does hyper-training (the refit and verify fits train that way)."""
    X, y = classification_data(60)
    X[:, 0] = np.arange(len(X))  # row ids
    extra = {} if shuffle is None else {"iterator_train__shuffle": shuffle}
    net = make_classifier(module=_Unstackable, max_epochs=2, batch_size=-1, **extra)
    _Unstackable.seen.clear()
    search = _search(net).fit(X, y)
    ordered = [sorted(rows) == rows for rows in _Unstackable.seen if len(rows) > 2]
    assert ordered and not search.batched_folds_
    assert all(ordered) is (shuffle is not True)


def test_stacked_epoch_rows_in_order_without_shuffle(trainers):
    X, y = classification_data(60)
    net = make_classifier(iterator_train__shuffle=False)
    search = _search(net).fit(X, y)
    assert search.batched_folds_
    rows = trainers[0].stack.epoch_rows(shuffle=False) if trainers[0].stack else None
    sizes = [f.n_train for f in trainers[0].folds]
    if rows is None:  # unstacked at the end; rebuild a stack of the trained folds
        from skhyper._stack import FoldStack

        rows = FoldStack(trainers[0].folds).epoch_rows(shuffle=False)
    offset = 0
    for k, size in enumerate(sizes):
        np.testing.assert_array_equal(rows[k, :size].numpy(), np.arange(size) + offset)
        offset += size


@pytest.mark.parametrize("callback, match", [
    (EarlyStopping(), "EarlyStopping.*max_epochs"),
    (Callback(), "Callback.*refit and verify fits only"),
])
def test_callbacks_without_meaning_warn(callback, match):
    X, y = classification_data(90)
    with pytest.warns(SkhyperWarning, match=match):
        _search(make_classifier(callbacks=[callback])).fit(X, y)


def test_collate_fn_warns_and_performance_keys_do_not():
    X, y = classification_data(90)
    net = make_classifier(iterator_train__collate_fn=torch.utils.data.default_collate)
    with pytest.warns(SkhyperWarning, match="iterator_train__collate_fn"):
        _search(net).fit(X, y)
    quiet = make_classifier(iterator_train__num_workers=0, iterator_train__pin_memory=False,
                            callbacks=[EpochScoring("accuracy"),
                                       DecayCallback({"out.bias": 0.0})])
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkhyperWarning)
        # about the found point, not the settings (test_bounds.py)
        warnings.filterwarnings("ignore", "best_params_: .* lies at", SkhyperWarning)
        _search(quiet).fit(X, y)
