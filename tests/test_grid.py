"""Lists in param_bounds are grid axes, as in GridSearchCV (issue 21, sections 1-2).

The oracle for a list-only grid is GridSearchCV on the same grid: the same candidates,
and with a module whose initialization draws nothing, the same scores. A mixed grid is
checked against its own parts: each row is its combination's continuous search.
"""

import pickle

import numpy as np
import pytest
import torch
from helpers import (
    TinyClassifier,
    classification_data,
    make_classifier,
    width_dropout_pipeline,
)
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skhyper import HypernetSearchCV
from skhyper._refit import with_params

X, Y = classification_data(90)
CV = StratifiedKFold(3, shuffle=True, random_state=0)


class FixedInit(TinyClassifier):
    """TinyClassifier whose initial weights come from their own seed: a fit draws
    nothing from the torch RNG (no dropout, no shuffling), so two searches that fit
    the same candidate on the same rows get the same score."""

    def __init__(self, **kwargs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            super().__init__(**kwargs)


def fixed_init_net(**overrides):
    return make_classifier(FixedInit, **overrides)


LIST_GRID = {"lr": [0.003, 0.03], "max_epochs": [2, 4], "module__n_hidden": [4, 8]}
SEARCHERS = [GridSearchCV, HypernetSearchCV]


def list_search(cls, grid=LIST_GRID, **kwargs):
    return cls(fixed_init_net(), grid, cv=CV, **kwargs)


@pytest.fixture(scope="module")
def list_fitted():
    return {cls: list_search(cls).fit(X, Y) for cls in SEARCHERS}


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_a_list_only_grid_has_gridsearchcv_s_candidates_rows_and_attributes(cls, list_fitted):
    search = list_fitted[cls]
    reference = list_fitted[GridSearchCV]
    assert search.cv_results_["params"] == reference.cv_results_["params"]  # and order
    extra = {"scored_by", "source"} if cls is HypernetSearchCV else set()
    assert set(search.cv_results_) == set(reference.cv_results_) | extra
    for name in ("best_index_", "best_params_", "best_score_", "best_estimator_",
                 "refit_time_", "classes_", "n_splits_", "multimetric_", "scorer_"):
        assert hasattr(search, name), name
    assert set(search.best_params_) == set(LIST_GRID)
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))


def test_a_list_only_grid_scores_as_gridsearchcv_fits():
    grid = GridSearchCV(fixed_init_net(), LIST_GRID, cv=CV).fit(X, Y)
    search = HypernetSearchCV(fixed_init_net(), LIST_GRID, cv=CV).fit(X, Y)
    for k in range(3):
        np.testing.assert_allclose(search.cv_results_[f"split{k}_test_score"],
                                   grid.cv_results_[f"split{k}_test_score"])
    np.testing.assert_array_equal(search.cv_results_["rank_test_score"],
                                  grid.cv_results_["rank_test_score"])
    assert search.best_params_ == grid.best_params_
    assert set(search.cv_results_["source"]) == {"grid"}
    assert set(search.cv_results_["scored_by"]) == {"real fits"}
    assert search.hypernet_results_["params"] == []  # nothing was hyper-trained


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_a_list_of_grids_masks_the_keys_a_grid_lacks(cls):
    grids = [{"lr": [0.003, 0.03]}, {"max_epochs": [2, 3]}]
    search = list_search(cls, grids).fit(X, Y)
    assert search.cv_results_["params"] == [{"lr": 0.003}, {"lr": 0.03},
                                            {"max_epochs": 2}, {"max_epochs": 3}]
    assert search.cv_results_["param_lr"].mask.tolist() == [False, False, True, True]


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_multimetric_refit_and_callable_refit_pick_as_gridsearchcv(cls):
    scoring = {"acc": "accuracy", "nll": "neg_log_loss"}
    search = list_search(cls, scoring=scoring, refit="nll").fit(X, Y)
    assert search.best_index_ == int(np.argmin(search.cv_results_["rank_test_nll"]))
    assert search.best_score_ == search.cv_results_["mean_test_nll"][search.best_index_]

    def worst(results):
        return int(np.argmax(results["rank_test_score"]))

    search = list_search(cls, refit=worst).fit(X, Y)
    assert search.best_index_ == worst(search.cv_results_)
    assert not hasattr(search, "best_score_")


@pytest.mark.parametrize("cls", SEARCHERS, ids=lambda c: c.__name__)
def test_a_fitted_grid_pickles_and_clones_unfitted(cls, list_fitted):
    search = list_fitted[cls]
    again = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(again.predict(X), search.predict(X))
    assert not hasattr(clone(search), "cv_results_")


# -- a mixed grid: lists and ranges in one dict, in a Pipeline ------------------------


def pipeline():
    return width_dropout_pipeline(max_epochs=3)


MIXED = {
    "net__lr": [0.01, 0.03],
    "net__module__num_units": [4, 8],
    "net__module__dropout": (0.0, 0.5),
    "net__optimizer__weight_decay": (1e-5, 1e-2, "log"),
}


@pytest.fixture(scope="module")
def mixed():
    return HypernetSearchCV(pipeline(), MIXED, cv=CV, random_state=0).fit(X, Y)


def test_a_mixed_grid_has_one_row_per_combination_at_its_search_s_best_point(mixed):
    results = mixed.cv_results_
    combos = [(lr, units) for lr in (0.01, 0.03) for units in (4, 8)]
    assert [(p["net__lr"], p["net__module__num_units"]) for p in results["params"]] == combos
    assert all(set(p) == set(MIXED) for p in results["params"])
    for i, sub in enumerate(mixed.grid_searches_):
        net = sub.estimator.named_steps["net"]
        assert (net.lr, net.module__num_units) == combos[i]
        # the row is the real-fit row its own search chose, with the grid's values
        assert results["mean_test_score"][i] == sub.cv_results_["mean_test_score"][sub.best_index_]
        assert results["params"][i] == {**dict(zip(("net__lr", "net__module__num_units"),
                                                   combos[i])),
                                        **sub.best_params_}
        assert results["source"][i] == sub.cv_results_["source"][sub.best_index_]
    assert set(results["scored_by"]) == {"real fits"}
    assert mixed.best_index_ == int(np.argmin(results["rank_test_score"]))
    assert set(mixed.best_params_) == set(MIXED)


def test_every_combination_s_search_uses_the_same_splits_and_seed(mixed):
    seeds = {sub.random_state for sub in mixed.grid_searches_}
    assert len(seeds) == 1 and isinstance(seeds.pop(), int)
    for sub in mixed.grid_searches_:
        for (a, b), (c, d) in zip(sub.split_indices_, mixed.split_indices_):
            np.testing.assert_array_equal(a, c)
            np.testing.assert_array_equal(b, d)


def test_hypernet_results_keep_every_visited_point_with_its_combination(mixed):
    visited = mixed.hypernet_results_
    counts = [len(sub.hypernet_results_["params"]) for sub in mixed.grid_searches_]
    assert len(visited["params"]) == sum(counts)
    assert np.bincount(visited["combination"]).tolist() == counts
    for params, i in zip(visited["params"], visited["combination"]):
        assert params["net__lr"] == mixed.cv_results_["params"][i]["net__lr"]


def test_the_refit_trains_the_best_combination_with_its_tuned_values(mixed):
    net = mixed.best_estimator_.named_steps["net"]
    best = mixed.best_params_
    assert net.lr == best["net__lr"]
    assert net.module__num_units == best["net__module__num_units"]
    assert net.module_.dense0.out_features == best["net__module__num_units"]
    assert net.module__dropout == best["net__module__dropout"]
    expected = with_params(pipeline(), best).named_steps["net"].get_params(deep=False)
    assert net.optimizer__weight_decay == expected["optimizer__weight_decay"]


def test_the_landscape_methods_read_the_best_combination_s_hypernets(mixed):
    points = {"net__module__dropout": [0.1, 0.3]}
    loss = mixed.predicted_loss(X, Y, points)["mean_loss"]
    best = mixed.grid_searches_[mixed.best_index_]
    np.testing.assert_allclose(loss, best.predicted_loss(X, Y, points)["mean_loss"])


def test_multimetric_without_refit_keeps_one_row_per_combination():
    """As GridSearchCV with two metrics and refit=False: no best_*, every row kept."""
    scoring = {"acc": "accuracy", "nll": "neg_log_loss"}
    search = HypernetSearchCV(make_classifier(max_epochs=2), {"lr": [0.01, 0.03],
                              "module__dropout": (0.0, 0.5)}, cv=CV, scoring=scoring,
                              refit=False, random_state=0).fit(X, Y)
    assert [p["lr"] for p in search.cv_results_["params"]] == [0.01, 0.03]
    assert {"rank_test_acc", "rank_test_nll"} <= set(search.cv_results_)
    assert not hasattr(search, "best_params_")


def test_set_params_with_the_pipeline_prefix_reaches_every_combination():
    search = HypernetSearchCV(pipeline(), {"net__lr": [0.01]}, cv=CV)
    search.set_params(estimator__net__max_epochs=2,
                      param_bounds={"net__max_epochs": [1, 2], "net__module__dropout": (0, .5)})
    search.set_params(verify=1, random_state=0).fit(X, Y)
    assert [sub.estimator.named_steps["net"].max_epochs
            for sub in search.grid_searches_] == [1, 2]


def test_a_numeric_list_on_a_tunable_key_prints_one_line_and_is_searched(capsys):
    search = HypernetSearchCV(make_classifier(max_epochs=2),
                              {"module__dropout": [0.0, 0.2], "lr": [0.01, 0.02]},
                              cv=CV, verify=1).fit(X, Y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "param_bounds['module__dropout'] = [0.0, 0.2] is searched as a grid axis (one "
        "search per value, as GridSearchCV would); a range {'module__dropout': (0.0, 0.2)} "
        "would tune it by gradient."]
    assert len(search.cv_results_["params"]) == 4
    assert set(search.cv_results_["source"]) == {"grid"}


def test_n_jobs_gives_the_single_worker_result():
    """With n_jobs the combinations still run in turn, their real fits in parallel,
    each seeded by its fold: the result is the single worker's."""
    grid = {"lr": [0.01, 0.03], "module__dropout": (0.0, 0.5)}
    one = HypernetSearchCV(make_classifier(max_epochs=3), grid, cv=CV, random_state=0)
    two = clone(one).set_params(n_jobs=2)
    one.fit(X, Y)
    two.fit(X, Y)
    np.testing.assert_allclose(two.cv_results_["mean_test_score"],
                               one.cv_results_["mean_test_score"])
    assert two.best_params_ == one.best_params_


def test_a_grid_checks_the_data_before_any_combination_trains():
    """A list-only grid trains no hypernet, but its data are checked as a search's:
    string labels are refused with the encoder fix before the first real fit."""
    search = HypernetSearchCV(fixed_init_net(), LIST_GRID, cv=CV)
    labels = np.array(["a", "b", "c"])[Y]
    with pytest.raises(TypeError, match="LabelEncoder"):
        search.fit(X, labels)
    assert not hasattr(search, "cv_results_")
    with pytest.raises(ValueError, match="needs targets y"):
        search.fit(X)


@pytest.mark.parametrize("stop", ["ctrl-c", "error"])
@pytest.mark.parametrize("before", ["fresh", "fitted"])
def test_a_grid_stopped_in_its_second_combination_leaves_nothing_fitted(monkeypatch, stop,
                                                                        before):
    """A Ctrl-C (Python's own handler, as in a terminal) or an error in the second
    combination's hyper-training stops the whole grid, and the search holds no fitted
    attribute: neither the first combination's nor a previous fit's."""
    import signal

    from skhyper import _train

    search = HypernetSearchCV(make_classifier(max_epochs=2),
                              {"optimizer__weight_decay": (1e-4, 1e-2, "log"),
                               "lr": [0.01, 0.02]}, cv=3, random_state=0)
    if before == "fitted":
        search.fit(X, Y)
    runs, run = [], _train.HyperTrainer.run

    def second_combination_stops(self, t_start):
        runs.append(t_start)
        if len(runs) == 2:
            if stop == "error":
                raise RuntimeError("planted failure in the second combination")
            signal.raise_signal(signal.SIGINT)
        return run(self, t_start)

    monkeypatch.setattr(_train.HyperTrainer, "run", second_combination_stops)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(RuntimeError if stop == "error" else KeyboardInterrupt):
            search.fit(X, Y)
    finally:
        signal.signal(signal.SIGINT, outer)
    assert len(runs) == 2
    left = sorted(k for k in vars(search) if k.endswith("_") and not k.startswith("_"))
    assert left == []
    assert not hasattr(search, "best_estimator_") and not hasattr(search, "grid_searches_")
