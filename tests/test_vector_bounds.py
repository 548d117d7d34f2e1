"""Vector hyperparameters: one weight decay per layer, per unit or per weight.

Oracles: central finite differences of the hypergradient (float64), the
stacked step against the folds one by one, the explicit penalty sum, a skorch
net whose *loss* carries the per-element penalty (for the refit route), and
the search's own ``best_params_`` refitted through the documented call.
"""

import pickle

import numpy as np
import pytest
import torch
from helpers import TinyClassifier, classification_data, make_classifier
from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier

from skhyper import (
    DecayCallback,
    HypernetSearchCV,
    PerInput,
    PerLayer,
    PerUnit,
    PerWeight,
    UnsupportedHyperparameterError,
    with_params,
)
from skhyper._folds import FoldBuilder
from skhyper._space import parse_bounds
from skhyper._stack import FoldStack
from skhyper._train import hypergradient, run_module

# TinyClassifier(n_in=8, n_hidden=16, n_out=3): hidden.weight (16, 8), hidden.bias (16,),
# out.weight (3, 16), out.bias (3,)
N_WEIGHTS = 16 * 8 + 3 * 16


def fitted_block_search(bounds=None, **kwargs):
    X, y = classification_data()
    bounds = bounds or {"optimizer__weight_decay": PerUnit((1e-5, 1e-1, "log"),
                                                          params="out.weight")}
    params = dict(cv=3, random_state=0, n_candidates=3)
    params.update(kwargs)
    return HypernetSearchCV(make_classifier(), bounds, **params).fit(X, y), X, y


# -- the space ------------------------------------------------------------------

@pytest.mark.parametrize("spec, size", [
    (PerLayer((1e-5, 1.0, "log")), 4),
    (PerLayer((1e-5, 1.0, "log"), params="*.weight"), 2),
    (PerUnit((1e-5, 1.0, "log"), params="out.weight"), 3),
    (PerUnit((1e-5, 1.0, "log"), params=["hidden.weight", "out.bias"]), 16 + 3),
    (PerInput((1e-5, 1.0, "log"), params="hidden.weight"), 8),
    (PerInput((1e-5, 1.0, "log"), params="*.weight"), 8 + 16),
    (PerWeight((1e-5, 1.0, "log"), params="*.weight"), N_WEIGHTS),
])
def test_blocks_resolve_to_one_coordinate_per_layer_unit_or_weight(spec, size):
    builder = FoldBuilder(make_classifier(), parse_bounds({"optimizer__weight_decay": spec}),
                          "structured")
    assert len(builder.space) == size


def test_values_round_trip_through_unit_coordinates():
    builder = FoldBuilder(make_classifier(), parse_bounds({
        "module__dropout": (0.0, 0.5),
        "optimizer__weight_decay": PerWeight((1e-5, 1.0, "log"), params="out.weight"),
    }), "structured")
    space = builder.space
    t = np.random.RandomState(0).uniform(0.05, 0.95, size=len(space))
    values = space.values_from_unit(t)
    decays = values["optimizer__weight_decay"]
    assert list(decays) == ["out.weight"] and decays["out.weight"].shape == (3, 16)
    assert 1e-5 <= decays["out.weight"].min() and decays["out.weight"].max() <= 1.0
    np.testing.assert_allclose(space.unit_from_values(values), t, rtol=1e-9)
    # one number stands for the whole block
    shared = space.unit_from_values({"module__dropout": 0.25, "optimizer__weight_decay": 1e-3})
    np.testing.assert_allclose(shared[1:], np.log(1e-3 / 1e-5) / np.log(1e5))


def test_block_penalty_is_the_explicit_per_element_sum_and_others_keep_the_nets_decay():
    net = make_classifier(optimizer__weight_decay=0.02)
    builder = FoldBuilder(net, parse_bounds({
        "optimizer__weight_decay": PerUnit((1e-5, 1.0, "log"), params="out.weight")}),
        "structured")
    X, y = classification_data(60)
    fold, _ = builder.build(X, y, np.arange(40), np.arange(40, 60), [0.5] * 3)
    weights = fold.hypernet(torch.full((3,), 0.5))
    decays = torch.tensor([1e-3, 1e-2, 1e-1])
    penalty = fold.penalty({"optimizer__weight_decay": decays}, weights)
    expected = 0.5 * (decays[:, None] * weights["out.weight"] ** 2).sum()
    expected = expected + 0.5 * 0.02 * sum(  # the net's own decay on the other tensors
        weights[n].pow(2).sum() for n in ("hidden.weight", "hidden.bias", "out.bias"))
    torch.testing.assert_close(penalty, expected)


def test_per_input_values_are_columns_even_on_a_square_weight():
    """PerInput's values broadcast per column: the penalty, best_params_'s shape and
    the refit's DecayCallback all scale a column, never a row, when n_out == n_in."""
    net = make_classifier(module__n_in=16)  # hidden.weight (16, 16)
    builder = FoldBuilder(net, parse_bounds({
        "optimizer__weight_decay": PerInput((1e-5, 1.0, "log"), params="hidden.weight")}),
        "structured")
    X, y = classification_data(60)
    X = np.hstack([X, X])
    fold, scorer = builder.build(X, y, np.arange(40), np.arange(40, 60), [0.5] * 16)
    weights = fold.hypernet(torch.full((16,), 0.5))
    decays = torch.linspace(1e-3, 1.0, 16)
    penalty = fold.penalty({"optimizer__weight_decay": decays}, weights)
    expected = 0.5 * (decays[None, :] * weights["hidden.weight"] ** 2).sum()
    torch.testing.assert_close(penalty, expected)
    value = builder.space.entries[0].structure(decays.numpy())["hidden.weight"]
    assert value.shape == (1, 16)
    callback = DecayCallback({"hidden.weight": value}).initialize()
    w = scorer.module_.hidden.weight
    torch.testing.assert_close(callback._decay_for("hidden.weight", w) * w,
                               decays[None, :].to(w.dtype) * w)


def test_per_input_refuses_tensors_without_an_input_dimension():
    match = r"'hidden\.bias'.*no input dimension.*params='\*\.weight'"
    with pytest.raises(ValueError, match=match):
        FoldBuilder(make_classifier(), parse_bounds({
            "optimizer__weight_decay": PerInput((1e-5, 1.0, "log"), params="hidden.*")}),
            "structured")


# -- the hypernet ---------------------------------------------------------------------

def test_structured_hypernet_stays_within_4x_the_net_for_thousands_of_hyperparameters():
    X, y = classification_data(60)
    builder = FoldBuilder(make_classifier(module__n_hidden=64), parse_bounds({
        "optimizer__weight_decay": PerWeight((1e-5, 1.0, "log"), params="*.weight"),
        "module__dropout": (0.0, 0.5),
    }), "structured")
    assert len(builder.space) == 64 * 8 + 3 * 64 + 1
    fold, scorer = builder.build(X, y, np.arange(40), np.arange(40, 60), [0.5] * len(builder.space))
    n_net = sum(p.numel() for p in scorer.module_.parameters())
    n_hyper = sum(p.numel() for p in fold.hypernet.parameters())
    assert n_hyper <= 4 * n_net, n_hyper / n_net


def test_linear_hypernet_refuses_a_size_that_grows_with_thousands_of_hyperparameters():
    X, y = classification_data()
    bounds = {"optimizer__weight_decay": PerWeight((1e-5, 1.0, "log"), params="*.weight")}
    with pytest.raises(ValueError, match="hypernet='structured'"):
        HypernetSearchCV(make_classifier(), bounds, hypernet="linear", cv=2).fit(X, y)


def test_each_block_coordinate_moves_its_own_weights_in_the_hypernet():
    X, y = classification_data(60)
    builder = FoldBuilder(make_classifier(), parse_bounds({
        "optimizer__weight_decay": PerUnit((1e-5, 1.0, "log"), params="out.weight")}),
        "structured")
    fold, _ = builder.build(X, y, np.arange(40), np.arange(40, 60), [0.5] * 3)
    hypernet = fold.hypernet
    with torch.no_grad():  # no mixing: only each unit's own response is left
        for p in hypernet.mixing:
            p.zero_()
        rate = torch.tensor([0.5, 1.0, 2.0])
        hypernet.diagonal[0].copy_(torch.log(torch.expm1(rate))[:, None].expand(3, 16))
    base = hypernet(torch.full((3,), 0.5))["out.weight"]
    moved = hypernet(torch.tensor([0.5, 0.9, 0.5]))["out.weight"]
    # closed form of the shrinkage response: unit 1 scales by exp(-rate * 0.4), the
    # units whose decay did not move keep their weights exactly
    torch.testing.assert_close(moved[1], base[1] * torch.exp(-rate[1] * 0.4))
    torch.testing.assert_close(moved[[0, 2]], base[[0, 2]], rtol=0, atol=0)


# -- the hypergradient and the stacked step -------------------------------------------

class Float64Classifier(TinyClassifier):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.double()


def float64_folds(bounds, n_splits=2):
    rng = np.random.RandomState(0)
    X = rng.randn(60, 8)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    net = NeuralNetClassifier(Float64Classifier, module__n_in=8, module__n_out=3,
                              train_split=None, verbose=0)
    builder = FoldBuilder(net, parse_bounds(bounds), "structured")
    splits = list(KFold(n_splits, shuffle=True, random_state=0).split(X))
    n = len(builder.space)
    folds = [builder.build(X, y, tr, te, [0.5] * n)[0] for tr, te in splits]
    torch.manual_seed(0)
    for fold in folds:  # away from V = D = 0, so every coordinate reaches the loss
        with torch.no_grad():
            for p in fold.hypernet.parameters():
                p.add_(0.3 * torch.randn_like(p))
    return builder.space, folds


@pytest.mark.parametrize("block", [PerUnit, PerInput])
def test_vector_hypergradient_matches_finite_differences(block):
    space, folds = float64_folds({
        "optimizer__weight_decay": block((1e-5, 1e-1, "log"), params=["hidden.weight",
                                                                      "out.weight"]),
        "module__dropout": (0.0, 0.8),
    })
    u = torch.as_tensor(np.random.RandomState(1).uniform(-1, 1, len(space)))
    _, grad = hypergradient(folds, u)
    eps = 1e-6
    numeric = np.empty(len(u))
    for i in range(len(u)):
        step = torch.zeros_like(u)
        step[i] = eps
        numeric[i] = (hypergradient(folds, u + step)[0]
                      - hypergradient(folds, u - step)[0]) / (2 * eps)
    # float64 central differences: truncation O(eps^2) and rounding O(1e-16 / eps)
    np.testing.assert_allclose(grad.numpy(), numeric, rtol=1e-5, atol=1e-9)
    assert np.all(np.abs(numeric) > 1e-8), "every coordinate must reach the loss"


def test_stacked_step_with_a_block_matches_the_folds_one_by_one():
    torch.manual_seed(0)
    space, folds = float64_folds(
        {"optimizer__weight_decay": PerWeight((1e-5, 1e-1, "log"), params="out.weight"),
         "module__dropout": (0.0, 0.8)}, n_splits=3)
    stack = FoldStack(folds)
    t = torch.rand(len(space), dtype=torch.float64)
    t[-1] = 0.0  # dropout (the last key) 0: a deterministic forward
    values = space.train_values(t)
    for fold in folds:
        fold.set_train(values)
    rows = stack.epoch_rows()[:, :12]
    losses, penalty = stack.losses(rows, t, values)
    (losses.sum() + penalty).backward()
    for k, fold in enumerate(folds):
        local = rows[k] - sum(f.n_train for f in folds[:k])
        weights = fold.hypernet(t)
        X = fold.X_train[local]
        loss = fold.loss(run_module(fold.module, weights, X), fold.y_train[local], X, True)
        torch.testing.assert_close(losses[k], loss)
        grads = torch.autograd.grad(loss + fold.penalty(values, weights),
                                    list(fold.hypernet.parameters()))
        for (name, stacked), grad in zip(stack.params.items(), grads):
            torch.testing.assert_close(stacked.grad[k], grad, msg=name)


# -- the refit route --------------------------------------------------------------------

class LossPenaltyClassifier(NeuralNetClassifier):
    """Per-element decays added to the *loss*: an independent route to the same
    objective as the DecayCallback's gradient term."""

    def __init__(self, *args, decays=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.decays = decays

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training and self.decays:
            params = dict(self.module_.named_parameters())
            for name, decay in self.decays.items():
                d = torch.as_tensor(np.asarray(decay), dtype=params[name].dtype)
                if d.dim() == 1 and params[name].dim() > 1:
                    d = d[:, None]
                loss = loss + 0.5 * (d * params[name] ** 2).sum()
        return loss


@pytest.mark.parametrize("decays", [
    {"out.weight": np.array([0.0, 0.05, 0.5])},                      # per unit
    {"hidden.weight": np.linspace(0, 0.3, 128).reshape(16, 8), "out.bias": 0.2},  # per weight
    {"hidden.weight": 0.1, "out.weight": 0.01},                       # per layer
    {"hidden.weight": np.linspace(0, 0.3, 8).reshape(1, 8)},         # per input
])
def test_with_params_trains_the_same_objective_as_a_loss_penalty(decays):
    X, y = classification_data()
    base = dict(module__n_in=8, module__n_out=3, max_epochs=3, batch_size=32, lr=1e-2,
                optimizer=torch.optim.Adam, train_split=None, verbose=0)
    torch.manual_seed(0)
    ours = with_params(NeuralNetClassifier(TinyClassifier, **base),
                       {"optimizer__weight_decay": decays}).fit(X, y)
    torch.manual_seed(0)
    oracle = LossPenaltyClassifier(TinyClassifier, decays=decays, **base).fit(X, y)
    for (name, p), q in zip(ours.module_.named_parameters(), oracle.module_.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=name)
    untouched = NeuralNetClassifier(TinyClassifier, **base)
    torch.manual_seed(0)
    untouched.fit(X, y)
    assert not torch.allclose(untouched.module_.out.weight, ours.module_.out.weight)


def test_with_params_uses_param_groups_per_layer_and_a_callback_per_unit():
    net = make_classifier()
    per_layer = with_params(net, {"optimizer__weight_decay": {"out.weight": 0.1}})
    assert per_layer.optimizer__param_groups == [("out.weight", {"weight_decay": 0.1})]
    per_unit = with_params(net, {"optimizer__weight_decay": {"out.weight": np.ones(3)}})
    assert per_unit.optimizer__param_groups == [("out.weight", {"weight_decay": 0.0})]
    (name, callback), = per_unit.callbacks
    assert name == "skhyper_weight_decay" and isinstance(callback, DecayCallback)
    assert net.callbacks is None  # the estimator given is not changed


def test_best_estimator_equals_the_documented_call():
    search, X, y = fitted_block_search()
    refit = with_params(make_classifier(), search.best_params_)
    for key in ("optimizer__param_groups",):
        assert getattr(refit, key) == getattr(search.best_estimator_, key)
    decays = dict(refit.callbacks)["skhyper_weight_decay"].decays
    np.testing.assert_array_equal(
        decays["out.weight"], search.best_params_["optimizer__weight_decay"]["out.weight"])
    torch.manual_seed(3)
    a = refit.fit(X, y)
    torch.manual_seed(3)
    b = clone(search.best_estimator_).fit(X, y)
    for p, q in zip(a.module_.parameters(), b.module_.parameters()):
        torch.testing.assert_close(p, q)


def test_vector_key_in_a_pipeline_refits_through_the_step():
    X, y = classification_data()
    pipe = Pipeline([("scale", StandardScaler()), ("net", make_classifier())])
    bounds = {"net__optimizer__weight_decay": PerUnit(loguniform(1e-5, 1e-1),
                                                      params="out.weight")}
    search = HypernetSearchCV(pipe, bounds, cv=2, random_state=0, n_candidates=2).fit(X, y)
    decays = search.best_params_["net__optimizer__weight_decay"]["out.weight"]
    assert decays.shape == (3,)
    net = search.best_estimator_.named_steps["net"]
    np.testing.assert_array_equal(dict(net.callbacks)["skhyper_weight_decay"].decays["out.weight"],
                                  decays)
    assert search.score(X, y) > 0.5


# -- the results ---------------------------------------------------------------------------

def test_results_hold_one_structure_per_row_in_gridsearchs_key_scheme():
    search, X, y = fitted_block_search({
        "optimizer__weight_decay": PerUnit((1e-5, 1e-1, "log"), params="out.weight"),
        "module__dropout": (0.0, 0.5),
    })
    results = search.cv_results_
    column = results["param_optimizer__weight_decay"]
    assert column.dtype == object and column.shape == (len(results["params"]),)
    for cell, params in zip(column, results["params"]):
        assert set(cell) == {"out.weight"} and cell["out.weight"].shape == (3,)
        assert cell is params["optimizer__weight_decay"]
    assert results["param_module__dropout"].dtype.kind == "f"
    assert search.trajectory_["param_optimizer__weight_decay"].shape[1] == 3
    assert search.trajectory_["param_module__dropout"].ndim == 1
    assert len(search.search_space_) == 4


@pytest.mark.parametrize("block", [PerUnit((1e-5, 1e-1, "log"), params="out.weight"),
                                   PerInput((1e-5, 1e-1, "log"), params="out.weight")])
def test_vector_search_pickles_and_clones(block):
    search, X, y = fitted_block_search({"optimizer__weight_decay": block})
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict_proba(X), search.predict_proba(X))
    np.testing.assert_array_equal(
        again.best_params_["optimizer__weight_decay"]["out.weight"],
        search.best_params_["optimizer__weight_decay"]["out.weight"])
    fresh = clone(search)
    assert fresh.param_bounds == search.param_bounds
    assert not hasattr(fresh, "best_params_")


def test_vector_search_is_reproducible_with_random_state():
    a, X, y = fitted_block_search()
    b, _, _ = fitted_block_search()
    np.testing.assert_array_equal(a.best_params_["optimizer__weight_decay"]["out.weight"],
                                  b.best_params_["optimizer__weight_decay"]["out.weight"])


def test_shrinkage_pulls_a_blocks_values_together():
    spread = {}
    for strength in (0.0, 1e4):
        search, _, _ = fitted_block_search(
            {"optimizer__weight_decay": PerWeight((1e-5, 1e-1, "log"), params="out.weight")},
            shrinkage=strength, hyper_lr=0.2)
        t = search.trajectory_["param_optimizer__weight_decay"][-1]
        spread[strength] = np.std(np.log(t))
    assert spread[1e4] < 0.5 * spread[0.0], spread


# -- errors ----------------------------------------------------------------------------------

def test_vector_bounds_on_other_keys_are_refused_before_training():
    X, y = classification_data()
    with pytest.raises(UnsupportedHyperparameterError, match="optimizer__weight_decay only"):
        HypernetSearchCV(make_classifier(), {"module__dropout": PerUnit((0.0, 0.5))},
                         cv=2).fit(X, y)


def test_a_pattern_that_matches_no_parameter_names_the_parameters():
    X, y = classification_data()
    with pytest.raises(ValueError, match="matches none of the module's parameters.*out.weight"):
        HypernetSearchCV(make_classifier(), {"optimizer__weight_decay": PerUnit(
            (1e-5, 1.0, "log"), params="output.weight")}, cv=2).fit(X, y)


@pytest.mark.parametrize("params", [3, [], ["out.weight", 1]])
def test_bad_params_patterns_are_refused(params):
    X, y = classification_data()
    with pytest.raises(TypeError, match="params must be a glob pattern"):
        HypernetSearchCV(make_classifier(), {"optimizer__weight_decay": PerLayer(
            (1e-5, 1.0, "log"), params=params)}, cv=2).fit(X, y)


def test_bad_block_bounds_are_refused_like_scalar_ones():
    X, y = classification_data()
    with pytest.raises(ValueError, match="low must be smaller than high"):
        HypernetSearchCV(make_classifier(), {"optimizer__weight_decay": PerUnit(
            (1.0, 1e-5, "log"), params="out.weight")}, cv=2).fit(X, y)


def test_with_params_refuses_a_vector_value_for_another_key():
    with pytest.raises(ValueError, match="only 'optimizer__weight_decay' takes one"):
        with_params(make_classifier(), {"module__dropout": {"x": 0.1}})


def test_vector_bounds_read_as_written_and_compare_by_value():
    """A scipy distribution shows as its call (its own repr is an object address),
    in the errors too; two bounds written alike are equal and hash alike."""
    bounds = PerUnit(loguniform(1e-5, 1), params="out.weight")
    assert repr(bounds) == "PerUnit(loguniform(1e-05, 1), params='out.weight')"
    assert repr(PerWeight(uniform(loc=0, scale=0.5))) == (
        "PerWeight(uniform(loc=0, scale=0.5), params='*')")
    twin = PerUnit(loguniform(1e-5, 1), params="out.weight")
    assert bounds == twin and hash(bounds) == hash(twin)
    assert bounds != PerUnit(loguniform(1e-4, 1), params="out.weight")
    assert bounds != PerLayer(loguniform(1e-5, 1), params="out.weight")
