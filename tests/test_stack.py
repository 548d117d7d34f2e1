"""The stacked folds (one vectorized step) against the folds run one by one."""

import numpy as np
import pytest
import torch
from helpers import TinyClassifier, classification_data, make_classifier
from sklearn.model_selection import KFold
from skorch import NeuralNetClassifier

from skhyper import HypernetSearchCV
from skhyper._folds import FoldBuilder
from skhyper._space import parse_bounds
from skhyper._stack import FoldStack
from skhyper._train import hypergradient, run_module

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.8)}


def build_folds(n_splits=3, n_rows=90, hypernet="structured"):
    torch.manual_seed(0)
    X, y = classification_data(n_rows)
    space = parse_bounds(BOUNDS)
    builder = FoldBuilder(make_classifier(), space, hypernet)
    splits = list(KFold(n_splits, shuffle=True, random_state=0).split(X))
    folds = [builder.build(X, y, tr, te, [0.4, 0.6])[0] for tr, te in splits]
    torch.manual_seed(0)
    for fold in folds:  # distinct hypernets, with a response that is not zero
        with torch.no_grad():
            for p in fold.hypernet.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return space, folds


@pytest.mark.parametrize("hypernet", ["structured", "linear", "mlp"])
def test_stacked_losses_and_gradients_match_the_folds_one_by_one(hypernet):
    # every built-in hypernet computes the stacked weights with batched tensor
    # operations (stacked_forward)
    space, folds = build_folds(hypernet=hypernet)
    stack = FoldStack(folds)
    t = torch.tensor([0.3, 0.0])  # dropout 0: the forward is deterministic
    values = space.values_from_unit(t.tolist())
    for fold in folds:
        fold.set_train(values)
    rows = stack.epoch_rows()[:, :16]
    losses, penalty = stack.losses(rows, t, values)
    (losses.sum() + penalty).backward()
    expected_penalty = 0.0

    for k, fold in enumerate(folds):
        local = rows[k] - sum(f.n_train for f in folds[:k])
        weights = fold.hypernet(t)
        X = fold.X_train[local]
        loss = fold.loss(run_module(fold.module, weights, X), fold.y_train[local], X, True)
        total = loss + fold.penalty(values, weights)
        torch.testing.assert_close(losses[k], loss)
        expected_penalty = expected_penalty + fold.penalty(values, weights)
        params = list(fold.hypernet.parameters())
        grads = torch.autograd.grad(total, params)
        for (name, stacked), grad in zip(stack.params.items(), grads):
            torch.testing.assert_close(stacked.grad[k], grad, msg=name)
    torch.testing.assert_close(penalty, expected_penalty)


@pytest.mark.parametrize("hypernet", ["structured", "mlp"])
def test_hypergradient_of_the_stack_matches_the_loop(hypernet):
    space, folds = build_folds(n_rows=120, hypernet=hypernet)
    stack = FoldStack(folds)
    u = torch.tensor([0.3, -0.2])
    n_val = min(f.n_val for f in folds)
    loss_loop, grad_loop = hypergradient(folds, u, max_rows=None)
    loss_stack, grad_stack = hypergradient(folds, u, max_rows=n_val, stack=stack)
    # all validation rows of each fold, in another order: the same losses
    assert loss_stack == pytest.approx(loss_loop, rel=1e-5)
    torch.testing.assert_close(grad_stack, grad_loop, rtol=1e-4, atol=1e-7)


def test_fold_hypernets_view_the_stack_until_unstacked():
    _, folds = build_folds()
    stack = FoldStack(folds)
    name = next(iter(stack.params))
    with torch.no_grad():
        stack.params[name][1].add_(1.0)  # an optimizer step on fold 1
    assert torch.equal(dict(folds[1].hypernet.named_parameters())[name], stack.params[name][1])
    stack.unstack()
    with torch.no_grad():
        stack.params[name][1].add_(1.0)
    own = dict(folds[1].hypernet.named_parameters())[name]
    assert not torch.equal(own, stack.params[name][1])
    assert own.untyped_storage().nbytes() == own.numel() * own.element_size()


def test_epoch_rows_cover_each_fold_once_per_epoch():
    _, folds = build_folds(n_rows=91)  # folds of 60 and 61 training rows
    rows = FoldStack(folds).epoch_rows()
    offset = 0
    for k, fold in enumerate(folds):
        own = np.unique(rows[k].numpy())
        np.testing.assert_array_equal(own, np.arange(offset, offset + fold.n_train))
        offset += fold.n_train


class ItemInForward(TinyClassifier):
    """``.item()`` in forward: cannot run under vmap, so the folds train one by one."""

    def forward(self, X):
        if X.abs().max().item() > 1e9:
            raise ValueError("huge input")
        return super().forward(X)


def test_module_that_vmap_cannot_run_trains_fold_by_fold():
    X, y = classification_data(90)
    net = make_classifier(max_epochs=3).set_params(module=ItemInForward)
    search = HypernetSearchCV(net, BOUNDS, cv=3, random_state=0).fit(X, y)
    assert not search.batched_folds_
    assert np.isfinite(search.best_score_)


def test_plain_module_trains_folds_in_one_step_and_owns_its_hypernets():
    X, y = classification_data(90)
    search = HypernetSearchCV(make_classifier(max_epochs=3), BOUNDS, cv=3, random_state=0)
    search.fit(X, y)
    assert search.batched_folds_
    for hypernet in search.hypernets_:  # no fold keeps a view of the stacked tensors
        for p in hypernet.parameters():
            assert p.untyped_storage().nbytes() == p.numel() * p.element_size()


@pytest.mark.parametrize("hypernet", ["structured", "linear", "mlp"])
def test_stacked_recenter_matches_each_fold_recentered(hypernet):
    _, folds = build_folds(hypernet=hypernet)
    _, alone = build_folds(hypernet=hypernet)  # the same folds, not stacked
    stack = FoldStack(folds)
    t = torch.tensor([0.7, 0.2])
    stack.recenter(t)
    for fold, single in zip(folds, alone):
        single.hypernet.recenter(t)
        for mine, expected in zip(fold.hypernet.state_dict().values(),
                                  single.hypernet.state_dict().values()):
            torch.testing.assert_close(mine, expected)


def test_a_hypernet_without_stacked_forward_runs_under_vmap():
    space, folds = build_folds(hypernet="mlp")
    stack = FoldStack(folds)
    t = torch.tensor([0.3, 0.6])
    batched = stack._hypernet.stacked_forward(stack.params, stack.buffers, t)
    vmapped = stack._vmapped_hypernet(stack.params, stack.buffers, t)
    for name in batched:
        torch.testing.assert_close(batched[name], vmapped[name])


class TupleOutput(TinyClassifier):
    """Returns ``(probabilities, hidden features)``, as some skorch modules do."""

    def forward(self, X):
        return super().forward(X), X.sum(dim=1)


class FirstOutputClassifier(NeuralNetClassifier):
    def get_loss(self, y_pred, y_true, *args, **kwargs):
        return super().get_loss(y_pred[0], y_true, *args, **kwargs)


def test_tuple_outputs_reach_the_loss_fold_by_fold():
    X, y = classification_data(90)
    net = FirstOutputClassifier(
        TupleOutput, module__n_in=8, module__n_out=3, max_epochs=3, batch_size=32, lr=1e-2,
        optimizer=torch.optim.Adam, train_split=None, verbose=0,
    )
    search = HypernetSearchCV(net, BOUNDS, cv=3, random_state=0, scoring="accuracy")
    search.fit(X, y)
    assert search.batched_folds_
    assert np.isfinite(search.best_score_)
