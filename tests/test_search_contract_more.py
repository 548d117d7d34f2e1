"""More of GridSearchCV's contract that HypernetSearchCV keeps.

Complements ``test_search_contract.py``: the ``cv`` forms, ``groups``,
``error_score``, fit params, ``sample_weight`` routed to scorers, the input
types skorch accepts, the reprs, joblib, ``verbose`` and nested cross-validation. Every parametrized
test runs with the same assertions on ``GridSearchCV`` (the reference) and on
``HypernetSearchCV``, with tiny real skorch nets (no mocks).

Both searches score the (candidate, split) pairs in the same order, candidate
by candidate and, within one, split by split (GridSearchCV with ``n_jobs=None``
runs sequentially); the recording scorers below rely on that order.
"""

import helpers
import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from helpers import make_classifier
from sklearn.base import clone
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from skorch.helper import SliceDict
from torch import nn

from skhyper import HypernetSearchCV

SEARCHERS = [GridSearchCV, HypernetSearchCV]
IDS = lambda c: c.__name__  # noqa: E731
KEY = "optimizer__weight_decay"
LOW, HIGH = 1e-4, 1e-2
N_ROWS = 120
NET = dict(max_epochs=3, batch_size=32, lr=1e-2, optimizer=torch.optim.Adam,
           train_split=None, verbose=0)


def make_search(cls, estimator=None, key=KEY, **kwargs):
    """The same search as GridSearchCV (a grid) or HypernetSearchCV (a range)."""
    estimator = make_classifier(max_epochs=3) if estimator is None else estimator
    kwargs.setdefault("cv", 3)
    if cls is GridSearchCV:
        return GridSearchCV(estimator, {key: [LOW, HIGH]}, **kwargs)
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("n_candidates", 3)
    return HypernetSearchCV(estimator, {key: (LOW, HIGH, "log")}, **kwargs)


def classification_data(n=N_ROWS):
    return helpers.classification_data(n)


def split_keys(results):
    return sorted(k for k in results if k.startswith("split"))


def scored_rows(search):
    """``(table, row)`` of every row the search scored on every fold, in the order it
    scored them: GridSearchCV's grid points; HypernetSearchCV's hypernet-scored rows
    (``hypernet_results_``), then the rows it verified with real fits (``cv_results_``)."""
    tables = [search.cv_results_]
    if isinstance(search, HypernetSearchCV):
        tables = [search.hypernet_results_] + ([search.cv_results_] if search.verify else [])
    return [(table, row) for table in tables for row in range(len(table["params"]))]


def n_rows(search):
    return len(scored_rows(search))


class RecordingScorer:
    """A callable ``scoring=``: accuracy, recording what each call received."""

    def __init__(self):
        self.X, self.y = [], []

    def __call__(self, estimator, X, y):
        self.X.append(X)
        self.y.append(np.asarray(y).copy())
        return accuracy_score(y, estimator.predict(X))


def assert_scored_splits(scorer, search, X, y, splits):
    """Call ``i`` of the scorer scored the test rows of split ``i % n_splits``."""
    n_splits = len(splits)
    assert len(scorer.X) == n_rows(search) * n_splits
    for i, (X_seen, y_seen) in enumerate(zip(scorer.X, scorer.y)):
        test = splits[i % n_splits][1]
        np.testing.assert_array_equal(np.asarray(X_seen), X[test])
        np.testing.assert_array_equal(y_seen, y[test])


# -- 1. cv: an int, a splitter, an iterable of (train, test) --------------------
def custom_splits(n=N_ROWS):
    """Two splits with unequal test sizes that do not cover every row."""
    rng = np.random.RandomState(3)
    perm = rng.permutation(n)
    return [(perm[:70], perm[70:110]), (perm[40:], perm[:33])]


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
@pytest.mark.parametrize("kind", ["none", "int", "splitter", "list", "generator"])
def test_cv_forms(cls, kind):
    X, y = classification_data()
    if kind == "none":  # the default: 5-fold, StratifiedKFold for a classifier
        cv, splits = None, list(StratifiedKFold(5).split(X, y))
    elif kind == "int":  # a classifier gets StratifiedKFold, unshuffled
        cv, splits = 3, list(StratifiedKFold(3).split(X, y))
    elif kind == "splitter":
        cv = KFold(4, shuffle=True, random_state=0)
        splits = list(cv.split(X))
    else:
        splits = custom_splits()
        cv = list(splits) if kind == "list" else (pair for pair in splits)
    scorer = RecordingScorer()
    search = make_search(cls, cv=cv, scoring=scorer).fit(X, y)
    n_splits = len(splits)
    assert search.n_splits_ == n_splits
    assert split_keys(search.cv_results_) == sorted(f"split{k}_test_score"
                                                    for k in range(n_splits))
    assert_scored_splits(scorer, search, X, y, splits)
    for k in range(n_splits):
        assert np.all(np.isfinite(search.cv_results_[f"split{k}_test_score"]))
    assert search.best_estimator_.predict(X).shape == (N_ROWS,)


class MiscountingKFold(KFold):
    """Announces one split more than it yields."""

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits + 1


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_cv_split_and_get_n_splits_must_agree(cls):
    X, y = classification_data()
    with pytest.raises(ValueError, match="inconsistent results. Expected 4 splits, got 3"):
        make_search(cls, cv=MiscountingKFold(3)).fit(X, y)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_empty_cv_iterable(cls):
    X, y = classification_data()
    with pytest.raises(ValueError, match="Was the CV iterator empty"):
        make_search(cls, cv=[]).fit(X, y)


# -- 2. groups reach the splitter ------------------------------------------------
class RecordingGroupKFold(GroupKFold):
    """GroupKFold that records the groups it receives and the splits it yields."""

    def split(self, X, y=None, groups=None):
        self.seen_groups.append(None if groups is None else np.asarray(groups).copy())
        for train, test in super().split(X, y, groups):
            self.seen_splits.append((train, test))
            yield train, test


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
@pytest.mark.parametrize("routing", [False, True], ids=["plain", "routing"])
def test_groups_reach_the_splitter(cls, routing):
    X, y = classification_data()
    groups = np.repeat(np.arange(12), N_ROWS // 12)
    cv = RecordingGroupKFold(3)
    cv.seen_groups, cv.seen_splits = [], []
    scorer = RecordingScorer()
    with sklearn.config_context(enable_metadata_routing=routing):
        search = make_search(cls, cv=cv, scoring=scorer).fit(X, y, groups=groups)
    assert cv.seen_groups, "the splitter was never asked to split"
    for seen in cv.seen_groups:
        np.testing.assert_array_equal(seen, groups)
    splits = cv.seen_splits[-3:]
    assert search.n_splits_ == 3
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
    tests = [set(groups[test]) for _, test in splits]
    assert set.union(*tests) == set(groups)
    assert sum(len(t) for t in tests) == len(set(groups))  # no group in two test folds
    assert_scored_splits(scorer, search, X, y, splits)


# -- 3. error_score for a scorer that fails on one split ---------------------------
class FailsOnce(RecordingScorer):
    """Raises on its first call (the first candidate's first split), then scores."""

    def __call__(self, estimator, X, y):
        if not self.X:
            self.X.append(X)
            raise RuntimeError("scorer broke on purpose")
        return super().__call__(estimator, X, y)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_error_score_nan_warns_and_stores_nan(cls):
    X, y = classification_data()
    # without a warm-up, lambda_hat moves from the middle of the box at every
    # hyper step (rather than possibly resting at a wall), so there are >= 2 rows
    extra = {} if cls is GridSearchCV else {"warmup_fraction": 0.0}
    search = make_search(cls, scoring=FailsOnce(), error_score=np.nan, **extra)
    with pytest.warns(UserWarning, match="Scoring failed"):
        search.fit(X, y)
    results = scored_rows(search)[0][0]  # the table of the first row scored
    n_results = len(results["params"])
    assert n_results >= 2
    assert np.isnan(results["split0_test_score"][0])
    assert np.isnan(results["mean_test_score"][0])
    assert np.all(np.isfinite(results["split0_test_score"][1:]))
    for k in (1, 2):
        assert np.all(np.isfinite(results[f"split{k}_test_score"]))
    # A nan mean ranks last; the best row is a finite one.
    assert results["rank_test_score"][0] == n_results
    assert np.isfinite(search.best_score_)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_error_score_raise_propagates(cls):
    X, y = classification_data()
    search = make_search(cls, scoring=FailsOnce(), error_score="raise")
    with pytest.raises(RuntimeError, match="scorer broke on purpose"):
        search.fit(X, y)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_error_score_number_is_stored(cls):
    X, y = classification_data()
    search = make_search(cls, scoring=FailsOnce(), error_score=-1.5)
    with pytest.warns(UserWarning, match="Scoring failed.*set to -1.5"):
        search.fit(X, y)
    results = scored_rows(search)[0][0]  # the table of the first row scored
    assert results["split0_test_score"][0] == -1.5
    assert results["mean_test_score"][0] == pytest.approx(
        (-1.5 + results["split1_test_score"][0] + results["split2_test_score"][0]) / 3
    )
    assert np.all(results["split0_test_score"][1:] >= 0)


# -- 4. fit params reach the net's forward ---------------------------------------
class ScaledClassifier(nn.Module):
    """Takes an extra forward keyword, as skorch passes fit params to forward."""

    calls = []  # (module, training, scale) of every forward

    def __init__(self, n_in=8, n_out=3):
        super().__init__()
        self.hidden = nn.Linear(n_in, 16)
        self.out = nn.Linear(16, n_out)

    def forward(self, X, scale=1.0):
        ScaledClassifier.calls.append((self, self.training, scale))
        return torch.softmax(scale * self.out(torch.relu(self.hidden(X))), dim=-1)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
@pytest.mark.parametrize("in_pipeline", [False, True], ids=["net", "pipeline"])
def test_fit_params_reach_forward(cls, in_pipeline):
    X, y = classification_data()
    ScaledClassifier.calls.clear()
    try:
        net = NeuralNetClassifier(ScaledClassifier, **NET)
        if in_pipeline:  # a Pipeline takes step-prefixed fit params
            estimator = make_pipeline(StandardScaler(), net)
            search = make_search(cls, estimator, key=f"neuralnetclassifier__{KEY}")
            search.fit(X, y, neuralnetclassifier__scale=0.5)
            refit_module = search.best_estimator_[-1].module_
        else:
            search = make_search(cls, net).fit(X, y, scale=0.5)
            refit_module = search.best_estimator_.module_
        training = [(module, scale) for module, is_training, scale in ScaledClassifier.calls
                    if is_training]
        refit = [scale for module, scale in training if module is refit_module]
    finally:
        ScaledClassifier.calls.clear()
    assert training and all(scale == 0.5 for _, scale in training)
    assert len({id(module) for module, _ in training}) >= 4  # 3 folds and the refit
    # The refit net's forward received the fit param on every training batch
    # (3 epochs of ceil(120 / 32) = 4 batches).
    assert refit == [0.5] * 12


class GatedDropout(nn.Module):
    """Dropout that only acts when the fit param ``use_dropout`` asks for it."""

    def __init__(self, n_in=8, n_out=3, dropout=0.0):
        super().__init__()
        self.hidden = nn.Linear(n_in, 16)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(16, n_out)

    def forward(self, X, use_dropout=False):
        h = torch.relu(self.hidden(X))
        if use_dropout:
            h = self.dropout(h)
        return torch.softmax(self.out(h), dim=-1)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_fit_params_reach_the_module_hyperparameter_check(cls):
    X, y = classification_data()
    net = NeuralNetClassifier(GatedDropout, **NET)
    if cls is GridSearchCV:
        search = GridSearchCV(net, {"module__dropout": [0.0, 0.5]}, cv=3)
    else:
        search = HypernetSearchCV(net, {"module__dropout": (0.0, 0.5)}, cv=3,
                                  n_candidates=3, random_state=0)
    search.fit(X, y, use_dropout=True)
    assert 0.0 <= search.best_params_["module__dropout"] <= 0.5
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# -- 5. sample_weight routed to the scorers ---------------------------------------
class WeightedAccuracy:
    """``accuracy_score`` recording ``(y_true, sample_weight, score)`` per call."""

    def __init__(self):
        self.calls = []

    def __call__(self, y_true, y_pred, sample_weight=None):
        score = accuracy_score(y_true, y_pred, sample_weight=sample_weight)
        self.calls.append((np.asarray(y_true).copy(), sample_weight, y_pred, score))
        return score


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
@pytest.mark.parametrize("train", [False, True], ids=["test", "test-and-train"])
def test_sample_weight_routed_to_scorer(cls, train):
    X, y = classification_data()
    w = np.ones(N_ROWS)
    w[::3] = 0.0  # zero every third row
    splits = list(StratifiedKFold(3).split(X, y))
    metric = WeightedAccuracy()
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(metric).set_score_request(sample_weight=True)
        # The net does not request sample_weight: it must not reach its fit
        # (skorch would pass it to forward, which takes no such argument).
        search = make_search(cls, cv=splits, scoring=scorer, return_train_score=train)
        search.fit(X, y, sample_weight=w)
    rows_scored = scored_rows(search)
    # Per (candidate, split): the test scoring, then (with train) the train scoring.
    sets = ("test", "train") if train else ("test",)
    assert len(metric.calls) == len(rows_scored) * len(splits) * len(sets)
    for i, (y_true, weight, y_pred, score) in enumerate(metric.calls):
        pair, s = divmod(i, len(sets))
        candidate, k = divmod(pair, len(splits))
        results, row = rows_scored[candidate]
        rows = splits[k][1] if sets[s] == "test" else splits[k][0]
        np.testing.assert_array_equal(y_true, y[rows])
        assert weight is not None and len(weight) == len(rows)
        np.testing.assert_array_equal(weight, w[rows])  # zeros included
        assert score == pytest.approx(accuracy_score(y_true, y_pred, sample_weight=w[rows]))
        assert results[f"split{k}_{sets[s]}_score"][row] == pytest.approx(score)


# -- 6. inputs: tensors, SliceDict, DataFrame ------------------------------------
class NamedInputs(nn.Module):
    """A module whose forward takes named inputs, as skorch passes dicts."""

    def __init__(self, n_a=4, n_b=4, n_out=3):
        super().__init__()
        self.a_in = nn.Linear(n_a, 16)
        self.b_in = nn.Linear(n_b, 16)
        self.out = nn.Linear(16, n_out)

    def forward(self, a, b):
        return torch.softmax(self.out(torch.relu(self.a_in(a) + self.b_in(b))), dim=-1)


def make_inputs(kind):
    X, y = classification_data()
    if kind == "tensor":
        return torch.from_numpy(X), y, make_classifier(max_epochs=3), torch.Tensor
    if kind == "tensor-Xy":
        return torch.from_numpy(X), torch.from_numpy(y), make_classifier(max_epochs=3), torch.Tensor
    if kind == "slicedict":
        net = NeuralNetClassifier(NamedInputs, **NET)
        return SliceDict(a=X[:, :4], b=X[:, 4:]), y, net, SliceDict
    # skorch passes each DataFrame column to forward as a keyword, shaped (n, 1)
    net = NeuralNetClassifier(NamedInputs, module__n_a=1, module__n_b=1, **NET)
    frame = pd.DataFrame({"a": X[:, 0] + X[:, 1], "b": X[:, 2]})
    return frame, y, net, pd.DataFrame


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
@pytest.mark.parametrize("kind", ["tensor", "tensor-Xy", "slicedict", "dataframe"])
def test_input_types(cls, kind):
    X, y, net, input_type = make_inputs(kind)
    scorer = RecordingScorer()
    search = make_search(cls, net, scoring=scorer).fit(X, y)
    results = search.cv_results_
    assert split_keys(results) == ["split0_test_score", "split1_test_score",
                                   "split2_test_score"]
    assert np.all(np.isfinite(results["mean_test_score"]))
    # The scorers see the test rows in the type the caller passed.
    assert len(scorer.X) == 3 * n_rows(search)
    assert all(isinstance(seen, input_type) for seen in scorer.X)
    assert sum(len(seen) for seen in scorer.X[:3]) == N_ROWS
    pred = search.predict(X)
    assert pred.shape == (N_ROWS,)
    np.testing.assert_array_equal(pred, search.best_estimator_.predict(X))
    assert search.predict_proba(X).shape == (N_ROWS, 3)
    assert 0 <= search.score(X, y) <= 1


# -- 7-9. reprs, joblib, verbose -----------------------------------------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_repr_and_html_repr(cls, fitted):
    search, X, y = fitted
    grid_name = "param_grid" if cls is GridSearchCV else "param_bounds"
    for est in (make_search(cls), search):
        text = repr(est)
        assert text.startswith(f"{cls.__name__}(")
        assert "estimator=" in text and grid_name in text and KEY in text
        html = est._repr_html_()
        assert cls.__name__ in html
        assert "NeuralNetClassifier" in html
    assert "Fitted" in search._repr_html_()
    assert "Not fitted" in make_search(cls)._repr_html_()


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_joblib_roundtrip(cls, fitted, tmp_path):
    search, X, y = fitted
    path = tmp_path / "search.joblib"
    joblib.dump(search, path)
    loaded = joblib.load(path)
    assert type(loaded) is cls
    np.testing.assert_array_equal(loaded.predict(X), search.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), search.predict_proba(X))
    assert loaded.best_params_ == search.best_params_
    assert loaded.best_score_ == search.best_score_
    np.testing.assert_array_equal(loaded.cv_results_["mean_test_score"],
                                  search.cv_results_["mean_test_score"])


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_verbose_mentions_the_folds(cls, capsys):
    X, y = classification_data()
    make_search(cls, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "3 folds" in line]
    assert lines, out
    if cls is HypernetSearchCV:  # a start line and a summary line
        assert len(lines) == 2, out
        assert "best" in lines[-1] and KEY in lines[-1]


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_verbose_zero_is_silent(cls, capsys):
    X, y = classification_data()
    make_search(cls, verbose=0).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


# -- 10. Pipeline preprocessing never sees a fold's validation rows -----------------
class RecordingScaler(StandardScaler):
    """A StandardScaler that records the first column of every X it is fitted on."""

    fitted_on = []

    def fit(self, X, y=None, sample_weight=None):
        RecordingScaler.fitted_on.append(np.asarray(X)[:, 0].copy())
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_pipeline_preprocessing_fitted_on_training_rows_only(cls):
    X, y = classification_data()
    cv = KFold(3, shuffle=True, random_state=0)
    RecordingScaler.fitted_on = []
    pipe = make_pipeline(RecordingScaler(), make_classifier(max_epochs=2))
    make_search(cls, pipe, key=f"neuralnetclassifier__{KEY}", cv=cv).fit(X, y)
    splits = list(cv.split(X))
    fold_fits = RecordingScaler.fitted_on[:-1]  # the last fit is the refit on all rows
    assert fold_fits, "the scaler was never fitted per fold"
    for first_column in fold_fits:
        matches = [k for k, (train, _) in enumerate(splits)
                   if np.array_equal(np.sort(first_column), np.sort(X[train, 0]))]
        assert matches, "a fold's scaler saw rows outside that fold's training part"
    np.testing.assert_array_equal(RecordingScaler.fitted_on[-1], X[:, 0])


# -- 11. Nested cross-validation: the estimate of the whole search ----------------
@pytest.mark.parametrize("cls", SEARCHERS, ids=IDS)
def test_nested_cross_validation_is_the_outer_loop_written_out(cls):
    """``cross_val_score(search, ...)`` (the nested estimate the user guide offers
    for many hyperparameters) scores, on each outer test part, a search fitted on
    the outer training part alone, as the loop written out does."""
    X, y = classification_data()
    outer = StratifiedKFold(3, shuffle=True, random_state=1)
    search = make_search(cls, cv=StratifiedKFold(3))
    torch.manual_seed(0)
    nested = cross_val_score(search, X, y, cv=outer)
    torch.manual_seed(0)
    by_hand = [clone(search).fit(X[train], y[train]).score(X[test], y[test])
               for train, test in outer.split(X, y)]
    np.testing.assert_allclose(nested, by_hand)
    assert len(set(np.round(nested, 6))) > 1, "the outer parts should score differently"
