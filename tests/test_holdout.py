"""Real fits scored on validation rows the hypergradient never saw (issue 20, section 3)."""

import warnings

import numpy as np
import pytest
from helpers import classification_data, make_classifier
from sklearn.model_selection import StratifiedKFold

import skhyper._search
from skhyper import HypernetSearchCV, PerUnit, PerWeight, SkhyperWarning
from skhyper._holdout import validation_halves
from skhyper._train import HyperTrainer

KEY = "optimizer__weight_decay"
# 16 x 8 + 3 x 16 = 176 decays on 150 rows: more hyperparameters than rows
BLOCK = {KEY: PerWeight((1e-4, 1e-1, "log"), params="*.weight")}
FEW = {KEY: PerUnit((1e-4, 1e-1, "log"), params="out.weight")}  # 3 decays


def test_the_halves_share_out_each_folds_validation_rows_by_class():
    X, y = classification_data(150)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    tuning, held_out = validation_halves(splits, y, seed=0, stratify=True)
    for (train, test), (t_train, tune), (h_train, held) in zip(splits, tuning, held_out):
        assert t_train is train and h_train is train
        assert not np.intersect1d(tune, held).size
        np.testing.assert_array_equal(np.sort(np.concatenate([tune, held])), np.sort(test))
        assert abs(len(tune) - len(held)) <= 1
        for label in np.unique(y[test]):
            assert abs(np.sum(y[tune] == label) - np.sum(y[held] == label)) <= 1
    again, _ = validation_halves(splits, y, seed=0, stratify=True)
    other, _ = validation_halves(splits, y, seed=1, stratify=True)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(tuning, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(tuning, other))


@pytest.fixture
def trainers(monkeypatch):
    seen = []

    class Recording(HyperTrainer):
        def run(self, t_start):
            seen.append(self)
            return super().run(t_start)

    monkeypatch.setattr(skhyper._search, "HyperTrainer", Recording)
    return seen


def fit_quietly(search, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkhyperWarning)
        return search.fit(X, y)


def test_held_out_verify_rows_are_never_seen_by_the_hyper_steps(trainers):
    X, y = classification_data()
    search = fit_quietly(HypernetSearchCV(make_classifier(max_epochs=4), FEW, cv=3,
                                          random_state=0, verify_rows="held_out"), X, y)
    [trainer] = trainers
    for fold, (_, tune), (_, held) in zip(trainer.folds, search.split_indices_,
                                          search.verify_splits_):
        # the loop's validation rows are the tuning half, exactly
        np.testing.assert_array_equal(fold.X_val.numpy(), X[tune])
        assert not np.intersect1d(tune, held).size
        assert len(held) >= len(X) // 3 // 2
    # the rows of cv_results_ are real fits scored on the held-out halves
    # (test_candidates checks their values against skorch fits)
    assert set(search.cv_results_["scored_by"]) == {"real fits"}


def test_more_hyperparameters_than_rows_warn_that_best_score_can_be_optimistic():
    X, y = classification_data()  # 150 rows
    with pytest.warns(SkhyperWarning, match=r"176 hyperparameters for 150 rows.*"
                                            r"verify_rows='held_out'"):
        HypernetSearchCV(make_classifier(max_epochs=2), BLOCK, cv=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SkhyperWarning)
        warnings.filterwarnings("ignore", "best_params_", SkhyperWarning)  # at a bound
        HypernetSearchCV(make_classifier(max_epochs=2), BLOCK, cv=3, random_state=0,
                         verify_rows="held_out").fit(X, y)
        HypernetSearchCV(make_classifier(max_epochs=2), FEW, cv=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("bounds", [{KEY: (1e-4, 1e-1, "log")}, FEW, BLOCK],
                         ids=["scalar", "vector", "more-than-rows"])
def test_by_default_the_real_fits_score_every_validation_row_as_grid_search(bounds):
    X, y = classification_data()
    search = fit_quietly(HypernetSearchCV(make_classifier(max_epochs=4), bounds, cv=3,
                                          random_state=0), X, y)
    for (_, test), (_, scored) in zip(search.split_indices_, search.verify_splits_):
        np.testing.assert_array_equal(test, scored)
    assert search.verify_splits_ is search.split_indices_


def test_held_out_rows_need_two_validation_rows_per_fold():
    X, y = classification_data(30)
    splits = [(np.arange(1, 30), np.array([0])), (np.arange(0, 20), np.arange(20, 30))]
    search = HypernetSearchCV(make_classifier(max_epochs=2), {KEY: (1e-4, 1e-1, "log")},
                              cv=splits, verify_rows="held_out")
    with pytest.raises(ValueError, match=r"verify_rows='held_out'.*fold\(s\) \[0\].*"
                                         r"verify_rows='all'"):
        search.fit(X, y)
    assert not hasattr(search, "cv_results_")
