"""HypernetSearchCV keeps GridSearchCV's contract.

Every test runs, with the same assertions, on ``GridSearchCV`` (the
reference) and on ``HypernetSearchCV``, with tiny real skorch nets (no
mocks). Only the constructor differs: a grid of values for one, a range for
the other.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import classification_data, make_classifier, make_linear_regressor, regression_data
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skhyper import HypernetSearchCV

SEARCHERS = [GridSearchCV, HypernetSearchCV]
KEY = "optimizer__weight_decay"
LOW, HIGH = 1e-4, 1e-2
N_SPLITS = 3

# Attributes of a fitted sklearn search, as documented for GridSearchCV.
REFIT_ONLY = ("best_estimator_", "refit_time_", "classes_")
ALWAYS = ("cv_results_", "scorer_", "n_splits_", "multimetric_")
BEST = ("best_index_", "best_params_", "best_score_")


def make_search(cls, estimator=None, key=KEY, **kwargs):
    """The same search as GridSearchCV (a grid) or HypernetSearchCV (a range).

    HypernetSearchCV verifies its 2 best rows with real fits (and the other candidates
    of ``verify_sources``), so that both tables hold at least two rows of real fits
    (the grid has two points), and picks the best of them as GridSearchCV does
    (``select="best"``; the default's tie rule is tested in test_candidates.py)."""
    estimator = make_classifier(max_epochs=4) if estimator is None else estimator
    kwargs.setdefault("cv", N_SPLITS)
    if cls is GridSearchCV:
        return GridSearchCV(estimator, {key: [LOW, HIGH]}, **kwargs)
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("verify", 2)
    kwargs.setdefault("select", "best")
    return HypernetSearchCV(estimator, {key: (LOW, HIGH, "log")}, **kwargs)


def expected_keys(metrics=("score",), n_splits=N_SPLITS, train=False, key=KEY,
                  cls=GridSearchCV):
    """GridSearchCV's cv_results_ key scheme for one searched parameter; for
    HypernetSearchCV, plus the ``scored_by`` and ``source`` columns."""
    keys = {
        "mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time",
        f"param_{key}", "params",
    }
    if cls is HypernetSearchCV:
        keys |= {"scored_by", "source"}
    sets = ("test", "train") if train else ("test",)
    for metric in metrics:
        for s in sets:
            keys |= {f"split{k}_{s}_{metric}" for k in range(n_splits)}
            keys |= {f"mean_{s}_{metric}", f"std_{s}_{metric}"}
        keys.add(f"rank_test_{metric}")
    return keys


def public_fitted(est):
    return sorted(k for k in vars(est) if k.endswith("_") and not k.startswith("_"))


def assert_attrs(search, present=(), absent=()):
    for name in present:
        assert hasattr(search, name), f"{type(search).__name__} lacks {name}"
    for name in absent:
        assert not hasattr(search, name), f"{type(search).__name__} has {name}"


# -- cv_results_ --------------------------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "scoring, refit, train, metrics",
    [
        (None, True, False, ("score",)),
        ("neg_log_loss", True, False, ("score",)),
        (["neg_log_loss", "accuracy"], "accuracy", False, ("neg_log_loss", "accuracy")),
        (None, True, True, ("score",)),
        (["neg_log_loss", "accuracy"], "accuracy", True, ("neg_log_loss", "accuracy")),
    ],
    ids=["single", "single-named", "multi", "single-train", "multi-train"],
)
def test_cv_results_keys_and_dataframe(cls, scoring, refit, train, metrics):
    X, y = classification_data()
    search = make_search(cls, scoring=scoring, refit=refit, return_train_score=train).fit(X, y)
    results = search.cv_results_
    assert set(results) == expected_keys(metrics, train=train, cls=cls)
    assert set(pd.DataFrame(results).columns) == expected_keys(metrics, train=train, cls=cls)

    n_rows = len(results["params"])
    assert n_rows >= 2
    for key, value in results.items():
        assert len(value) == n_rows, key
    column = results[f"param_{KEY}"]
    assert isinstance(column, np.ma.MaskedArray)
    assert not np.ma.getmaskarray(column).any()
    for metric in metrics:
        ranks = results[f"rank_test_{metric}"]
        assert ranks.dtype.kind == "i" and ranks.min() == 1
        assert np.all(np.isfinite(results[f"mean_test_{metric}"]))
    assert search.multimetric_ is (len(metrics) > 1)
    assert search.n_splits_ == N_SPLITS


# -- refit variants -------------------------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_refit_true_attributes(cls, fitted):
    search, X, y = fitted
    assert_attrs(search, present=ALWAYS + BEST + REFIT_ONLY, absent=("feature_names_in_",))
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    assert search.cv_results_["rank_test_score"][search.best_index_] == 1
    np.testing.assert_array_equal(search.classes_, np.unique(y))
    check_is_fitted(search)


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_refit_false_single_metric(cls):
    X, y = classification_data()
    search = make_search(cls, refit=False).fit(X, y)
    assert_attrs(search, present=ALWAYS + BEST, absent=REFIT_ONLY)
    assert search.best_score_ == search.cv_results_["mean_test_score"][search.best_index_]
    for method in ("predict", "predict_proba", "decision_function", "transform"):
        assert not hasattr(search, method)
    with pytest.raises(AttributeError, match="refit=False"):
        search.score(X, y)
    with pytest.raises(AttributeError, match="has no attribute 'predict'") as excinfo:
        search.predict(X)
    assert "refit=False" in str(excinfo.value.__cause__)


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_refit_false_multi_metric(cls):
    X, y = classification_data()
    search = make_search(cls, scoring=["neg_log_loss", "accuracy"], refit=False).fit(X, y)
    assert_attrs(search, present=ALWAYS, absent=BEST + REFIT_ONLY)
    assert search.multimetric_ is True
    assert set(search.scorer_) == {"neg_log_loss", "accuracy"}


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_refit_str_multi_metric(cls):
    X, y = classification_data()
    search = make_search(cls, scoring=["neg_log_loss", "accuracy"], refit="accuracy").fit(X, y)
    assert_attrs(search, present=ALWAYS + BEST + REFIT_ONLY)
    results = search.cv_results_
    assert search.best_score_ == results["mean_test_accuracy"][search.best_index_]
    assert results["rank_test_accuracy"][search.best_index_] == 1
    assert search.best_params_ == results["params"][search.best_index_]
    assert set(search.scorer_) == {"neg_log_loss", "accuracy"}
    # score() uses the refit metric, as GridSearchCV does.
    assert search.score(X, y) == pytest.approx(accuracy_score(y, search.predict(X)))


def two_metrics(estimator, X, y):
    proba = estimator.predict_proba(X)
    return {"acc": accuracy_score(y, proba.argmax(axis=1)),
            "nll": -log_loss(y, proba, labels=[0, 1, 2])}


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("refit", ["acc", False])
def test_callable_multimetric_scoring(cls, refit):
    X, y = classification_data()
    search = make_search(cls, scoring=two_metrics, refit=refit).fit(X, y)
    assert set(search.cv_results_) == expected_keys(("acc", "nll"), cls=cls)
    assert search.multimetric_ is True
    if refit:
        assert_attrs(search, present=ALWAYS + BEST + REFIT_ONLY)
        assert search.best_score_ == search.cv_results_["mean_test_acc"][search.best_index_]
    else:
        assert_attrs(search, present=ALWAYS, absent=BEST + REFIT_ONLY)


def pick_worst(cv_results):
    return int(np.argmin(cv_results["mean_test_score"]))


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_callable_refit(cls):
    X, y = classification_data()
    search = make_search(cls, refit=pick_worst).fit(X, y)
    assert len(search.cv_results_["params"]) >= 2  # so that the choice matters
    assert_attrs(search, present=ALWAYS + REFIT_ONLY + ("best_index_", "best_params_"),
                 absent=("best_score_",))
    assert search.best_index_ == pick_worst(search.cv_results_)
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    assert search.best_estimator_.get_params()[KEY] == search.best_params_[KEY]


# -- best_params_ and delegation ------------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_best_params_keys_and_types(cls, fitted):
    search, X, y = fitted
    assert set(search.best_params_) == {KEY}
    value = search.best_params_[KEY]
    assert type(value) is float  # a plain float, not a numpy scalar or a tensor
    assert LOW <= value <= HIGH
    for params in search.cv_results_["params"]:
        assert set(params) == {KEY} and type(params[KEY]) is float
    assert search.best_estimator_.get_params()[KEY] == value


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_delegation_matches_best_estimator(cls, fitted):
    search, X, y = fitted
    best = search.best_estimator_
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_allclose(search.predict_proba(X), best.predict_proba(X))
    assert search.score(X, y) == pytest.approx(best.score(X, y))
    assert search.predict(X).shape == (len(X),)
    assert search.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_scoring_none_uses_estimator_score(cls):
    X, y = classification_data()
    search = make_search(cls, scoring=None).fit(X, y)
    results = search.cv_results_
    # The classifier's own score is accuracy: each fold's score counts hits of 50 rows.
    for k in range(N_SPLITS):
        hits = results[f"split{k}_test_score"] * 50
        np.testing.assert_allclose(hits, np.round(hits), atol=1e-9)
        scores = results[f"split{k}_test_score"]
        assert np.all((scores >= 0) & (scores <= 1))
    assert search.score(X, y) == pytest.approx(accuracy_score(y, search.predict(X)))


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_regressor_scoring_none_and_is_regressor(cls):
    X, y = regression_data()
    search = make_search(cls, make_linear_regressor(X.shape[1], max_epochs=3)).fit(X, y)
    assert is_regressor(search) and not is_classifier(search)
    pred = search.predict(X)
    np.testing.assert_allclose(pred, search.best_estimator_.predict(X))
    assert search.score(X, y) == pytest.approx(r2_score(y, pred), rel=1e-5)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# -- sklearn protocol ---------------------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_clone_of_fitted_is_unfitted(cls, fitted):
    search, X, y = fitted
    copy = clone(search)
    assert type(copy) is cls
    assert public_fitted(copy) == []
    assert_attrs(copy, absent=ALWAYS + BEST + REFIT_ONLY)
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert not copy.estimator.initialized_
    original = search.get_params(deep=False)
    cloned = copy.get_params(deep=False)
    assert set(original) == set(cloned)
    for name, value in original.items():
        if name != "estimator":
            assert cloned[name] is value or cloned[name] == value, name


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_get_params_deep_and_is_classifier(cls):
    search = make_search(cls, make_classifier(max_epochs=3))
    params = search.get_params(deep=True)
    assert params["estimator__max_epochs"] == 3
    assert params["cv"] == N_SPLITS
    assert is_classifier(search) and not is_regressor(search)
    search.set_params(estimator__max_epochs=2)
    assert search.estimator.max_epochs == 2


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_pickle_roundtrip(cls, fitted):
    search, X, y = fitted
    loaded = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), search.predict_proba(X))
    assert loaded.best_params_ == search.best_params_
    assert set(loaded.cv_results_) == set(search.cv_results_)


# -- composition ----------------------------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_pipeline_as_estimator(cls):
    X, y = classification_data()
    columns = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X * 10 + 3, columns=columns)
    pipe = make_pipeline(StandardScaler(), make_classifier(max_epochs=2))
    key = f"neuralnetclassifier__{KEY}"
    search = make_search(cls, pipe, key=key).fit(frame, y)
    assert set(search.cv_results_) == expected_keys(key=key, cls=cls)
    assert set(search.best_params_) == {key}
    assert type(search.best_params_[key]) is float
    assert isinstance(search.best_estimator_, Pipeline)
    assert search.best_estimator_.get_params()[key] == search.best_params_[key]
    np.testing.assert_array_equal(search.feature_names_in_, columns)
    np.testing.assert_array_equal(search.predict(frame), search.best_estimator_.predict(frame))
    assert is_classifier(search)


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_search_inside_pipeline(cls):
    X, y = classification_data()
    pipe = make_pipeline(StandardScaler(), make_search(cls)).fit(X * 10 + 3, y)
    search = pipe[-1]
    assert set(search.best_params_) == {KEY}
    assert pipe.predict(X * 10 + 3).shape == (len(X),)
    assert 0 <= pipe.score(X * 10 + 3, y) <= 1


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_cross_val_score(cls):
    X, y = classification_data()
    scores = cross_val_score(make_search(cls), X, y, cv=2)
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_nested_in_grid_search(cls):
    X, y = classification_data()
    outer = GridSearchCV(make_search(cls), {"estimator__lr": [1e-3, 1e-2]}, cv=2).fit(X, y)
    assert set(outer.best_params_) == {"estimator__lr"}
    inner = outer.best_estimator_
    assert type(inner) is cls
    assert inner.estimator.lr == outer.best_params_["estimator__lr"]
    assert set(inner.best_params_) == {KEY}
    assert inner.best_estimator_.lr == outer.best_params_["estimator__lr"]
    np.testing.assert_array_equal(outer.predict(X), inner.predict(X))


# -- HypernetSearchCV only ------------------------------------------------------
def test_random_state_reproducible():
    X, y = classification_data()
    first = make_search(HypernetSearchCV, random_state=0).fit(X, y)
    second = make_search(HypernetSearchCV, random_state=0).fit(X, y)
    assert first.best_params_ == second.best_params_
    assert first.cv_results_["params"] == second.cv_results_["params"]
    np.testing.assert_array_equal(
        first.cv_results_["mean_test_score"], second.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("train", [False, True])
def test_verify_keeps_the_key_scheme(train):
    X, y = classification_data()
    search = make_search(HypernetSearchCV, verify=2, return_train_score=train).fit(X, y)
    assert set(search.cv_results_) == expected_keys(train=train, cls=HypernetSearchCV)
    assert set(search.hypernet_results_) == expected_keys(train=train, cls=HypernetSearchCV)
    n_rows = len(search.cv_results_["params"])
    assert list(search.cv_results_["scored_by"]) == ["real fits"] * n_rows
    assert set(search.hypernet_results_["scored_by"]) == {"hypernet"}
    # the 2 best path rows, then the scan's pick unless it is one of them
    assert [s.split("+")[0] for s in search.cv_results_["source"][:2]] == ["path"] * 2
    assert n_rows in (2, 3)
    assert search.best_params_ in search.cv_results_["params"]
    assert type(search.best_params_[KEY]) is float


def test_default_best_score_is_real_cv_at_best_params():
    """By default (verify=1) cv_results_ holds real fits of the candidates: best_score_
    is the mean of skorch fits of the net at best_params_ on each fold, scored as
    cross_val_score scores them. The oracle refits them here, each with the seed the
    search gives its verify fits (the search's seed + 1, + the fold's index)."""
    X, y = classification_data()
    search = HypernetSearchCV(make_classifier(max_epochs=4), {KEY: (LOW, HIGH, "log")}, cv=3,
                              scoring="neg_log_loss", random_state=0).fit(X, y)
    results = search.cv_results_
    assert set(results["scored_by"]) == {"real fits"}
    assert results["source"][0].startswith("path")
    assert results["params"][0] in search.hypernet_results_["params"]
    seed = search._seed() + 1
    scores = []
    for k, (train, test) in enumerate(search.split_indices_):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + k)
            net = clone(make_classifier(max_epochs=4)).set_params(**search.best_params_)
            net.fit(X[train], y[train])
        scores.append(-log_loss(y[test], net.predict_proba(X[test]), labels=[0, 1, 2]))
        assert results[f"split{k}_test_score"][search.best_index_] == pytest.approx(
            scores[-1], rel=1e-5)
    assert search.best_score_ == pytest.approx(np.mean(scores), rel=1e-5)


def test_verify_0_reports_the_hypernet_rows_and_says_so():
    X, y = classification_data()
    search = make_search(HypernetSearchCV, verify=0).fit(X, y)
    assert search.cv_results_ is search.hypernet_results_
    assert set(search.cv_results_["scored_by"]) == {"hypernet"}
    assert len(search.cv_results_["params"]) >= 2
