"""``verify_fits="stacked"``: the verify rows' real fits, trained in one vectorized run.

The oracle is skorch's own fit. Fold ``k``'s fits start, in both modes, from the
module initialized under the verify seed plus ``k``; where training draws nothing
else (rows in order, no dropout), a stacked fit must end where skorch's fit of the
same fold ends, so every split score of every candidate row must agree to float
precision.
"""

import warnings

import numpy as np
import pytest
import torch
from helpers import (
    TinyClassifier,
    classification_data,
    make_classifier,
    make_linear_regressor,
    regression_data,
)
from scipy.stats import loguniform
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler
from skorch.dataset import ValidSplit
from torch.optim.lr_scheduler import StepLR

from skhyper import HypernetSearchCV, PerUnit
from skhyper.exceptions import SkhyperWarning


def _split_scores(search):
    return np.array([search.cv_results_[f"split{k}_test_score"] for k in range(search.n_splits_)])


def _both(estimator, bounds, X, y, **params):
    """The same search fitted with skorch's fits and with stacked fits."""
    searches = {}
    for mode in ("skorch", "stacked"):
        search = HypernetSearchCV(estimator, bounds, random_state=0, verify_fits=mode,
                                  **{"cv": 3, **params})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            searches[mode] = search.fit(X, y)
        assert not [w for w in caught if "verify_fits" in str(w.message)]  # no fallback
    return searches["skorch"], searches["stacked"]


PER_UNIT = {"optimizer__weight_decay": PerUnit(loguniform(1e-4, 1.0), params="hidden.weight")}
SCALAR = {"optimizer__weight_decay": (1e-5, 1e-1, "log")}


@pytest.mark.parametrize("optimizer, extra", [
    (torch.optim.SGD, {"optimizer__momentum": 0.9, "lr": 0.1}),
    (torch.optim.Adam, {}),
])
@pytest.mark.parametrize("bounds", [SCALAR, PER_UNIT], ids=["scalar", "per-unit"])
def test_stacked_fits_end_where_skorchs_fits_end(optimizer, extra, bounds):
    X, y = classification_data(151)  # folds of 101 and 100 rows: two batch counts
    net = make_classifier(optimizer=optimizer, max_epochs=6, batch_size=25, **extra)
    skorch_fits, stacked = _both(net, bounds, X, y, scoring="neg_log_loss")
    assert stacked.verify_fits_ == "stacked" and skorch_fits.verify_fits_ == "skorch"
    assert list(stacked.cv_results_["source"]) == list(skorch_fits.cv_results_["source"])
    np.testing.assert_allclose(_split_scores(stacked), _split_scores(skorch_fits), atol=2e-5)
    assert stacked.best_index_ == skorch_fits.best_index_


def test_stacked_fits_follow_the_nets_split_clipping_schedule_and_whole_batches():
    """skorch's default train_split (the fits train on its train part), gradient
    clipping, a learning-rate policy and batch_size=-1 (each fold in one batch) on
    a regressor."""
    X, y = regression_data(120)
    net = make_linear_regressor(5, train_split=ValidSplit(4), callbacks=[
        GradientNormClipping(gradient_clip_value=0.5),
        LRScheduler(policy=StepLR, step_size=2, gamma=0.5)])
    skorch_fits, stacked = _both(net, SCALAR, X, y)
    assert stacked.verify_fits_ == "stacked"
    np.testing.assert_allclose(_split_scores(stacked), _split_scores(skorch_fits), atol=2e-5)


def test_stacked_fits_with_shuffled_rows_and_dropout_score_as_skorchs_do():
    """Shuffling and dropout draw differently in the two modes, so the fits differ;
    they must still be the same fits in distribution (a row order that lost its
    labels, or dropout left on in scoring, would be far off)."""
    X, y = classification_data(300)
    net = make_classifier(max_epochs=15, iterator_train__shuffle=True, module__dropout=0.2)
    bounds = {"module__dropout": (0.0, 0.5), **PER_UNIT}
    skorch_fits, stacked = _both(net, bounds, X, y, scoring="neg_log_loss")
    assert stacked.verify_fits_ == "stacked"
    gap = stacked.cv_results_["mean_test_score"] - skorch_fits.cv_results_["mean_test_score"]
    assert np.all(np.abs(gap) < 0.05 * np.abs(skorch_fits.cv_results_["mean_test_score"]))


class _OwnStep(NeuralNetClassifier):
    def train_step(self, batch, **fit_params):
        return super().train_step(batch, **fit_params)


@pytest.mark.parametrize("net, params, named", [
    (make_classifier(callbacks=[EarlyStopping(monitor="train_loss")]), {}, "EarlyStopping"),
    (_OwnStep(TinyClassifier, module__n_in=8, module__n_out=3, max_epochs=2,
              train_split=None, verbose=0), {}, "train_step"),
    (make_classifier(optimizer=torch.optim.AdamW), {}, "AdamW"),
    (make_classifier(), {"verify_rows": "held_out"}, "verify_rows"),
], ids=["early-stopping", "own-train-step", "adamw", "held-out-rows"])
def test_a_net_that_trains_otherwise_fits_through_skorch_and_says_why(net, params, named):
    X, y = classification_data()
    search = HypernetSearchCV(net, SCALAR, cv=3, random_state=0, verify_fits="stacked",
                              **params)
    with pytest.warns(SkhyperWarning, match=f"verify_fits='stacked'.*{named}"):
        search.fit(X, y)
    assert search.verify_fits_ == "skorch"
    assert np.all(search.cv_results_["scored_by"] == "real fits")


def test_verify_fits_is_none_without_real_fits_and_checked():
    X, y = classification_data()
    search = HypernetSearchCV(make_classifier(max_epochs=2), SCALAR, cv=3, verify=0,
                              verify_fits="stacked", random_state=0).fit(X, y)
    assert search.verify_fits_ is None
    with pytest.raises(ValueError, match="verify_fits"):
        HypernetSearchCV(make_classifier(), SCALAR, verify_fits="fast").fit(X, y)


def test_stacked_fits_with_dropout_are_reproducible_under_a_fixed_random_state():
    X, y = classification_data()
    net = make_classifier(max_epochs=3, iterator_train__shuffle=True, module__dropout=0.3)
    scores = []
    for _ in range(2):
        search = HypernetSearchCV(net, {"module__dropout": (0.1, 0.5), **SCALAR}, cv=3,
                                  random_state=0, verify_fits="stacked")
        torch.manual_seed(len(scores))  # the caller's RNG differs between the fits
        scores.append(_split_scores(search.fit(X, y)))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_stacked_fits_on_folds_of_very_different_sizes():
    """Explicit splits whose training parts differ threefold, each fit on its whole
    fold in one batch: they stack, padded to the longest, and end as skorch's do."""
    X, y = regression_data(150)
    rows = np.arange(150)
    cv = [(rows[:90], rows[90:120]), (rows[:30], rows[120:]), (rows[60:150], rows[:30])]
    skorch_fits, stacked = _both(make_linear_regressor(5), SCALAR, X, y, cv=cv)
    assert stacked.verify_fits_ == "stacked"
    np.testing.assert_allclose(_split_scores(stacked), _split_scores(skorch_fits), atol=2e-5)


def test_a_grid_with_lists_says_how_its_real_fits_trained():
    """Each combination's search stacks its fits, and the grid's rows are skorch's;
    a combination without a range is a plain grid point, fitted through skorch."""
    X, y = classification_data()
    grid = {"lr": [0.05, 0.1], **SCALAR}
    skorch_fits, stacked = _both(make_classifier(max_epochs=3), grid, X, y)
    assert [sub.verify_fits_ for sub in stacked.grid_searches_] == ["stacked"] * 2
    assert (skorch_fits.verify_fits_, stacked.verify_fits_) == ("skorch", "stacked")
    np.testing.assert_allclose(_split_scores(stacked), _split_scores(skorch_fits), atol=2e-5)
    with_plain_point = HypernetSearchCV(make_classifier(max_epochs=3), [grid, {"lr": [0.2]}],
                                        cv=3, random_state=0, verify_fits="stacked").fit(X, y)
    assert with_plain_point.verify_fits_ == "skorch"


class _Branchy(TinyClassifier):
    """A forward with a Python branch on the data: skorch trains it, vmap cannot."""

    def forward(self, X):
        out = super().forward(X)
        return out if out.abs().sum() >= 0 else -out


def test_a_module_vmap_cannot_run_falls_back_to_skorchs_fits_and_says_so():
    X, y = classification_data()
    searches = {}
    for mode in ("skorch", "stacked"):
        search = HypernetSearchCV(make_classifier(module=_Branchy), SCALAR, cv=3,
                                  random_state=0, verify_fits=mode)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            searches[mode] = search.fit(X, y)
    said = [str(w.message) for w in caught if "verify_fits" in str(w.message)]
    assert len(said) == 1 and "the stacked fits failed (RuntimeError: vmap" in said[0]
    assert searches["stacked"].verify_fits_ == "skorch"
    np.testing.assert_array_equal(_split_scores(searches["stacked"]),
                                  _split_scores(searches["skorch"]))
