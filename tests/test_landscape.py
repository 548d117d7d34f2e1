"""The landscape API: the hypernets' predictions at points the user gives."""

import numpy as np
import pytest
from helpers import make_classifier
from oracles import landscape_against_exact, ridge_search
from sklearn.model_selection import GridSearchCV, KFold

from skhyper import HypernetSearchCV

BOUNDS = {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "module__dropout": (0.0, 0.5)}
GRID = {"optimizer__weight_decay": [1e-4, 1e-2], "module__dropout": [0.0, 0.25, 0.5]}


@pytest.fixture(scope="module")
def fitted(classification_data_module):
    X, y = classification_data_module
    cv = KFold(3, shuffle=True, random_state=0)
    search = HypernetSearchCV(make_classifier(), BOUNDS, cv=cv, scoring="neg_log_loss",
                              random_state=0).fit(X, y)
    return search, X, y


@pytest.fixture(scope="module")
def classification_data_module():
    rng = np.random.RandomState(0)
    X = rng.randn(150, 8).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1).astype(np.int64)
    return X, y


def test_virtual_grid_search_has_grid_search_keys(fitted):
    search, X, y = fitted
    virtual = search.virtual_grid_search(X, y, GRID)
    real = GridSearchCV(make_classifier(max_epochs=1), GRID, cv=3, scoring="neg_log_loss").fit(X, y)
    # GridSearchCV's keys, plus what scored the rows and where the hypernets were trained
    assert set(virtual) == set(real.cv_results_) | {"scored_by", "path_distance", "near_path"}
    assert set(virtual["scored_by"]) == {"hypernet"}
    assert [sorted(p.items()) for p in virtual["params"]] == [
        sorted(p.items()) for p in real.cv_results_["params"]]


def test_virtual_grid_reproduces_the_rows_of_the_search(fitted):
    """Scoring the visited points again gives the hypernet-scored rows."""
    search, X, y = fitted
    rows = search.hypernet_results_
    virtual = search.virtual_grid_search(X, y, rows["params"])
    for k in range(3):
        np.testing.assert_allclose(virtual[f"split{k}_test_score"],
                                   rows[f"split{k}_test_score"], rtol=1e-6)


def test_predicted_loss_is_the_criterion_the_scorer_sees(fitted):
    """The net's NLL criterion (skorch get_loss) and sklearn's log_loss scorer are two
    computations of the same number at the same weights."""
    search, X, y = fitted
    rows = search.hypernet_results_
    best = rows["params"].index(search.best_params_)  # the row verify re-scored
    table = search.predicted_loss(X, y, [search.best_params_])
    for k in range(3):
        assert table[f"split{k}_loss"][0] == pytest.approx(
            -rows[f"split{k}_test_score"][best], rel=1e-3)
    assert table["mean_loss"][0] == pytest.approx(-rows["mean_test_score"][best], rel=1e-3)


def test_sweep_of_one_hyperparameter_fixes_the_others_at_the_best(fitted):
    search, X, y = fitted
    table = search.predicted_loss(X, y, {"module__dropout": np.linspace(0, 0.5, 4)})
    assert len(table["mean_loss"]) == 4
    decays = {p["optimizer__weight_decay"] for p in table["params"]}
    assert decays == {search.best_params_["optimizer__weight_decay"]}


def test_points_outside_the_bounds_or_keys_are_refused(fitted):
    search, X, y = fitted
    with pytest.raises(ValueError, match=r"module__dropout=0.9 lies outside"):
        search.predicted_loss(X, y, [{"module__dropout": 0.9}])
    with pytest.raises(ValueError, match=r"\['lr'\] are not keys of param_bounds"):
        search.virtual_grid_search(X, y, {"lr": [0.1]})


def test_training_rows_fit_better_than_validation_rows(fitted):
    """On its own training rows the net's loss is lower than on held-out rows."""
    search, X, y = fitted
    train = search.predicted_loss(X, y, [search.best_params_], rows="training")
    val = search.predicted_loss(X, y, [search.best_params_])
    assert train["mean_loss"][0] < val["mean_loss"][0]
    with pytest.raises(ValueError, match="rows must be 'validation' or 'training'"):
        search.predicted_loss(X, y, [search.best_params_], rows="test")


def test_predicted_loss_matches_exact_fits_near_the_found_point():
    """The landscape against real fits: on the ridge problem the exact fit of every
    decay (closed form) gives the true CV loss, and the hypernets' predicted loss
    follows it over the range they were trained on (t +- 0.1 around the found
    point, a x6.3 span of the decay), its rise at both ends included."""
    search, X, y, splits, _ = ridge_search()
    predicted, exact = landscape_against_exact(search, X, y, splits)
    # measured within 2.7% of the exact CV loss over 12 runs (data seeds 0, 1, 3 x
    # random_state 0-3); 6% leaves a margin of 2.2x
    np.testing.assert_allclose(predicted, exact, rtol=0.06)
    # the exact curve rises by 2.6% or more from the centre to either end (same runs):
    # the prediction must rise too (a landscape flat in the decay would not)
    assert exact[0] > exact[2] and exact[-1] > exact[2]
    assert predicted[0] > predicted[2] and predicted[-1] > predicted[2]


def _rms_to_path(search, point):
    """The RMS unit-coordinate distance of ``point`` to the local-phase path,
    computed here from trajectory_'s values and the bounds (an oracle)."""
    traj = search.trajectory_
    local = np.isin(traj["phase"], ["scan", "local"])
    low_wd, high_wd = np.log(1e-5), np.log(1e-1)
    wd = (np.log(traj["param_optimizer__weight_decay"][local]) - low_wd) / (high_wd - low_wd)
    dropout = traj["param_module__dropout"][local] / 0.5
    p_wd = (np.log(point["optimizer__weight_decay"]) - low_wd) / (high_wd - low_wd)
    p_do = point["module__dropout"] / 0.5
    return np.sqrt(((wd - p_wd) ** 2 + (dropout - p_do) ** 2) / 2).min()


def test_landscape_says_where_the_hypernets_were_trained(fitted):
    search, X, y = fitted
    corners = [{"optimizer__weight_decay": wd, "module__dropout": do}
               for wd in (1e-5, 1e-1) for do in (0.0, 0.5)]
    points = [search.best_params_] + corners
    table = search.predicted_loss(X, y, points)
    expected = np.array([_rms_to_path(search, p) for p in points])
    np.testing.assert_allclose(table["path_distance"], expected, rtol=1e-6, atol=1e-9)
    assert table["path_distance"][0] < 1e-6 and table["near_path"][0]  # a visited point
    far = expected > 2 * search.perturb_scale
    assert far.any(), "the path should leave some corner of this box unvisited"
    np.testing.assert_array_equal(table["near_path"], ~far)
    virtual = search.virtual_grid_search(X, y, points)
    np.testing.assert_allclose(virtual["path_distance"], table["path_distance"])
