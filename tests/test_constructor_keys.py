"""``module__NAME`` and ``criterion__NAME`` mean what skorch means: a constructor argument.

skorch passes ``module__p=0.3`` to the module's ``__init__`` (``set_params``
re-initializes the module), so ``GridSearchCV(net, {"module__p": [...]})`` tunes
the ``p`` of ``self.drop = nn.Dropout(p)``. HypernetSearchCV must take the same
key, find where the argument lands in the built module, and refuse before
training any key whose refit ``set_params`` would fail or that shapes the net.
"""

import numpy as np
import pytest
import torch
from helpers import classification_data
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from torch import nn

from skhyper import HypernetSearchCV
from skhyper._targets import resolve_target
from skhyper.exceptions import UnsupportedHyperparameterError

X, Y = classification_data()
LOW, HIGH = 0.05, 0.5


class DropMLP(nn.Module):
    """The issue's module: the constructor argument ``p`` lands in ``self.drop.p``.

    In training mode, forward records the dropout rate it ran with (``seen``).
    """

    seen = []

    def __init__(self, n_in=8, n_out=3, p=0.5):
        super().__init__()
        self.hidden = nn.Linear(n_in, 32)
        self.drop = nn.Dropout(p)
        self.out = nn.Linear(32, n_out)

    def forward(self, X):
        if self.training:
            DropMLP.seen.append(self.drop.p)
        return torch.softmax(self.out(self.drop(torch.relu(self.hidden(X)))), dim=-1)


def net(module=DropMLP, **params):
    defaults = dict(max_epochs=4, batch_size=32, lr=1e-2, optimizer=torch.optim.Adam,
                    train_split=None, verbose=0)
    return NeuralNetClassifier(module, **{**defaults, **params})


def search_of(cls, estimator, key="module__p"):
    if cls is GridSearchCV:
        return GridSearchCV(estimator, {key: [LOW, HIGH]}, cv=3)
    return HypernetSearchCV(estimator, {key: (LOW, HIGH)}, cv=3, random_state=0)


@pytest.mark.parametrize("cls", [GridSearchCV, HypernetSearchCV])
def test_both_searches_tune_a_constructor_argument(cls):
    DropMLP.seen.clear()
    search = search_of(cls, net()).fit(X, Y)
    p = search.best_params_["module__p"]
    assert LOW <= p <= HIGH
    # the refit is set_params(module__p=p): the module is built with that rate
    assert search.best_estimator_.module_.drop.p == pytest.approx(p)
    assert f"param_{'module__p'}" in search.cv_results_
    # training ran at rates across the range, not at the module's default 0.5 only
    trained = np.array(DropMLP.seen)
    assert trained.min() >= LOW - 1e-9 and trained.max() <= HIGH + 1e-9
    assert len(np.unique(trained.round(6))) > 1


def test_located_like_skorch_builds_it():
    fitted = net().initialize()
    target = resolve_target("module__p", fitted, bounds=(LOW, HIGH))
    assert target.locations == [("drop", "p")]
    target.set_train(fitted, 0.3)
    assert fitted.module_.drop.p == 0.3


class TwoDropouts(nn.Module):
    """One argument in two layers and an attribute: the search must set all three."""

    def __init__(self, p=0.5):
        super().__init__()
        self.rate = p
        self.lin = nn.Linear(8, 3)
        self.drop_in = nn.Dropout(p)
        self.drop_out = nn.Dropout(p)

    def forward(self, X):
        return torch.softmax(self.drop_out(self.lin(self.drop_in(X))) * (1 - self.rate), -1)


def test_an_argument_in_several_places_is_set_everywhere():
    fitted = net(TwoDropouts).initialize()
    target = resolve_target("module__p", fitted, bounds=(LOW, HIGH))
    assert sorted(target.locations) == [("", "rate"), ("drop_in", "p"), ("drop_out", "p")]
    target.set_train(fitted, 0.2)
    module = fitted.module_
    assert (module.rate, module.drop_in.p, module.drop_out.p) == (0.2, 0.2, 0.2)


def test_probing_leaves_torchs_rng_alone():
    fitted = net().initialize()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    resolve_target("module__p", fitted, bounds=(LOW, HIGH))
    assert torch.equal(state, torch.random.get_rng_state())


# -- keys that must be refused before training ------------------------------------------
class SkorchReadmeModule(nn.Module):
    """As in skorch's README: the dropout is an attribute, not a constructor argument."""

    def __init__(self, num_units=10, nonlin=nn.ReLU()):  # noqa: B008 (as in the README)
        super().__init__()
        self.dense0 = nn.Linear(8, num_units)
        self.nonlin = nonlin
        self.dropout = nn.Dropout(0.5)
        self.output = nn.Linear(num_units, 3)

    def forward(self, X):
        return torch.softmax(self.output(self.dropout(self.nonlin(self.dense0(X)))), dim=-1)


class ScaledWidth(nn.Module):
    """A float argument that sets a layer's width."""

    def __init__(self, width=1.0):
        super().__init__()
        self.hidden = nn.Linear(8, max(1, int(16 * width)))
        self.out = nn.Linear(max(1, int(16 * width)), 3)

    def forward(self, X):
        return torch.softmax(self.out(torch.relu(self.hidden(X))), dim=-1)


class OptionalDropout(nn.Module):
    """``p`` decides whether a layer exists."""

    def __init__(self, p=0.0):
        super().__init__()
        self.lin = nn.Linear(8, 3)
        self.drop = nn.Dropout(p) if p > 0.1 else nn.Identity()

    def forward(self, X):
        return torch.softmax(self.lin(self.drop(X)), dim=-1)


class KeepProbability(nn.Module):
    """Stores ``1 - p``: not the argument itself."""

    def __init__(self, p=0.5):
        super().__init__()
        self.keep = 1.0 - p
        self.lin = nn.Linear(8, 3)

    def forward(self, X):
        mask = (torch.rand_like(X) < self.keep).float() if self.training else 1.0
        return torch.softmax(self.lin(X * mask), dim=-1)


class InitOnly(nn.Module):
    """``init_scale`` is used in __init__ only."""

    def __init__(self, init_scale=0.1):
        super().__init__()
        self.lin = nn.Linear(8, 3)
        nn.init.normal_(self.lin.weight, std=init_scale)

    def forward(self, X):
        return torch.softmax(self.lin(X), dim=-1)


REFUSED = {
    "not-an-argument": (
        Pipeline([("scale", StandardScaler()), ("net", net(SkorchReadmeModule))]),
        "net__module__dropout",
        # the key as the user wrote it, the Pipeline step included
        r"'net__module__dropout': SkorchReadmeModule.__init__ takes no argument 'dropout', so the "
        r"refit's set_params\(module__dropout=...\) would fail.*Add the argument to "
        r"SkorchReadmeModule.__init__"),
    "shapes": (net(ScaledWidth), "module__width",
               r"'module__width': building ScaledWidth with width=0.05 and width=0.5 gives "
               r"different parameter shapes.*GridSearchCV"),
    "structure": (net(OptionalDropout), "module__p",
                  r"'module__p': building OptionalDropout with p=0.05 and p=0.5 gives "
                  r"different layers"),
    "transformed": (net(KeepProbability), "module__p",
                    r"'module__p': changing p from 0.05 to 0.5 changes KeepProbability's "
                    r"keep: 0.95 -> 0.5, which is not the argument itself.*self.p = p"),
    "not-located": (net(InitOnly), "module__init_scale",
                    r"'module__init_scale': building InitOnly .* gives modules with the same "
                    r"attributes, so init_scale cannot be located"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_before_training(no_training, case):
    estimator, key, match = REFUSED[case]
    search = HypernetSearchCV(estimator, {key: (LOW, HIGH)}, cv=3)
    with pytest.raises(UnsupportedHyperparameterError, match=match):
        search.fit(X, Y)
    assert not hasattr(search, "best_params_")


def test_the_refused_key_would_break_gridsearchcv_refit_too():
    """The oracle for 'not-an-argument': skorch itself cannot build that module."""
    estimator, key, _ = REFUSED["not-an-argument"]
    with pytest.raises(TypeError, match="unexpected keyword argument 'dropout'"):
        GridSearchCV(estimator, {key: [LOW, HIGH]}, cv=2, error_score="raise").fit(X, Y)


# -- criterion__NAME ------------------------------------------------------------------
class SmoothedNLL(nn.Module):
    """A criterion whose argument ``eps`` is kept as ``self.smoothing``."""

    def __init__(self, eps=0.0):
        super().__init__()
        self.smoothing = eps

    def forward(self, probs, target):
        log_probs = torch.log(probs.clamp_min(1e-7))
        nll = nn.functional.nll_loss(log_probs, target)
        return (1 - self.smoothing) * nll - self.smoothing * log_probs.mean()


def test_criterion_argument_stored_under_another_name():
    search = HypernetSearchCV(net(criterion=SmoothedNLL), {"criterion__eps": (0.0, 0.3)},
                              cv=3, random_state=0).fit(X, Y)
    eps = search.best_params_["criterion__eps"]
    assert 0.0 <= eps <= 0.3
    assert search.best_estimator_.criterion_.smoothing == pytest.approx(eps)
    fitted = net(criterion=SmoothedNLL).initialize()
    target = resolve_target("criterion__eps", fitted, bounds=(0.0, 0.3))
    assert target.locations == [("", "smoothing")]
    target.set_train(fitted, 0.2)
    assert fitted.criterion_.smoothing == 0.2
    target.set_eval(fitted)  # the validation loss is the plain NLL
    assert fitted.criterion_.smoothing == 0.0
