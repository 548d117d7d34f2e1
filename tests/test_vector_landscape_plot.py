"""The landscape and the plots with vector keys (PerLayer, PerUnit, PerWeight):
real tiny skorch nets, real torch, matplotlib's Agg backend."""

import copy
import math

import numpy as np
import pytest
import torch
from helpers import classification_data, make_classifier
from scipy.stats import loguniform
from sklearn.model_selection import KFold

from skhyper import HypernetSearchCV, PerLayer, PerUnit, PerWeight

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from skhyper import plot  # noqa: E402

WD = "optimizer__weight_decay"
LOW, HIGH = 1e-5, 1.0


def _fit(block, **extra):
    X, y = classification_data(120)
    bounds = {WD: block, "module__dropout": (0.0, 0.5), **extra}
    search = HypernetSearchCV(make_classifier(max_epochs=3), bounds, cv=KFold(3),
                              scoring="neg_log_loss", random_state=0).fit(X, y)
    return search, X, y


@pytest.fixture(scope="module")
def per_unit():
    """16 hidden units + 3 classes = 19 decays, and a scalar dropout."""
    return _fit(PerUnit(loguniform(LOW, HIGH), params="*.weight"))


@pytest.fixture(scope="module")
def per_layer():
    return _fit(PerLayer((LOW, HIGH, "log")))


@pytest.fixture(scope="module")
def per_weight():
    return _fit(PerWeight(loguniform(LOW, HIGH), params="*.weight"))


def _block(search):
    (block,) = search.search_space_.blocks
    return block


def _own_loss(search, X, y, k, shared_decay):
    """Fold ``k``'s validation loss with every decay at ``shared_decay`` and the other
    keys at best_params_, computed apart from skhyper's landscape code: t built by
    hand, the hypernet's weights run through the fold module by functional_call, and
    the NLL of the log-probabilities as skorch's classifier takes it."""
    space = search.search_space_
    t = []
    for dim, part in zip(space.dimensions, space.slices()):
        value = shared_decay if dim.key == WD else search.best_params_[dim.key]
        if dim.log:
            u = (math.log(value) - math.log(dim.low)) / (math.log(dim.high) - math.log(dim.low))
        else:
            u = (value - dim.low) / (dim.high - dim.low)
        t += [u] * (part.stop - part.start)
    hypernet = search.hypernets_[k]
    module = search.fold_estimators_[k].module_
    module.eval()
    test = search.split_indices_[k][1]
    with torch.no_grad():
        weights = hypernet(torch.tensor(t, dtype=next(hypernet.parameters()).dtype))
        assert set(weights) == {name for name, _ in module.named_parameters()}
        proba = torch.func.functional_call(module, weights, (torch.as_tensor(X[test]),))
        eps = torch.finfo(proba.dtype).eps
        return float(torch.nn.functional.nll_loss(torch.log(proba + eps),
                                                  torch.as_tensor(y[test])))


# -- the landscape ------------------------------------------------------------
def test_a_shared_value_is_the_hypernets_own_loss_at_the_expanded_t(per_unit):
    search, X, y = per_unit
    decays = [1e-4, 3e-3, 0.5]
    table = search.predicted_loss(X, y, {WD: decays})
    for k in range(3):
        own = [_own_loss(search, X, y, k, v) for v in decays]
        np.testing.assert_allclose(table[f"split{k}_loss"], own, rtol=1e-5)
    assert len(set(np.round(table["mean_loss"], 6))) == 3  # the decay matters


def test_a_shared_value_sweeps_the_whole_block_and_keeps_the_other_keys(per_unit):
    search, X, y = per_unit
    table = search.predicted_loss(X, y, {WD: np.geomspace(LOW, HIGH, 5)})
    block = _block(search)
    for point, v in zip(table["params"], np.geomspace(LOW, HIGH, 5)):
        assert point["module__dropout"] == search.best_params_["module__dropout"]
        assert sorted(point[WD]) == sorted(block.names)  # the structure, as best_params_
        np.testing.assert_allclose(block.flat(point[WD]), v, rtol=1e-12)
        assert point[WD]["out.weight"].shape == (3,)


def test_a_structure_with_equal_values_is_the_shared_value(per_unit, per_layer):
    for search, X, y in (per_unit, per_layer):
        block = _block(search)
        equal = block.structure(np.full(block.size, 2e-3))
        shared, structured = (search.predicted_loss(X, y, [{WD: value}])
                              for value in (2e-3, equal))
        for key in [f"split{k}_loss" for k in range(3)] + ["mean_loss"]:
            np.testing.assert_array_equal(structured[key], shared[key])


def test_best_params_reproduce_the_rows_of_the_search(per_unit):
    """A point given as best_params_' structure (here the best hypernet-scored row's,
    which real fits may not choose) is the search's own row: the NLL criterion and
    sklearn's log_loss scorer at the same weights."""
    search, X, y = per_unit
    rows = search.hypernet_results_
    best = int(np.argmin(rows["rank_test_score"]))  # the path's candidate for verify
    table = search.predicted_loss(X, y, [rows["params"][best]])
    for k in range(3):
        assert table[f"split{k}_loss"][0] == pytest.approx(
            -rows[f"split{k}_test_score"][best], rel=1e-3)
    assert table["mean_loss"][0] == pytest.approx(-rows["mean_test_score"][best], rel=1e-3)


def test_virtual_grid_search_over_a_shared_value(per_unit):
    search, X, y = per_unit
    grid = {WD: [1e-4, 1e-2], "module__dropout": [0.0, 0.4]}
    virtual = search.virtual_grid_search(X, y, grid)
    assert len(virtual["params"]) == 4
    cells = virtual[f"param_{WD}"]
    assert all(isinstance(cell, dict) for cell in cells)  # as cv_results_ holds them
    loss = search.predicted_loss(X, y, grid)
    np.testing.assert_allclose(-virtual["mean_test_score"], loss["mean_loss"], rtol=1e-3)


def test_points_outside_the_bounds_name_the_key_the_value_and_the_bounds(per_unit, per_weight):
    search, X, y = per_unit
    block = _block(search)
    with pytest.raises(ValueError, match=r"optimizer__weight_decay=2\.0 lies outside the "
                                         r"searched bounds \(1e-05, 1\.0\);"):
        search.predicted_loss(X, y, [{WD: 2.0}])
    bad = block.structure(np.full(block.size, 1e-3))
    bad["out.weight"][1] = 3.0
    bad["out.weight"][2] = 5.0
    with pytest.raises(ValueError, match=r"optimizer__weight_decay\['out\.weight'\]\[1\]=3\.0 "
                                         r"lies outside the searched bounds \(1e-05, 1\.0\) "
                                         r"\(and 1 more"):
        search.predicted_loss(X, y, [{WD: bad}])
    bad["out.weight"][:] = np.nan
    with pytest.raises(ValueError, match=r"\['out\.weight'\]\[0\]=nan lies outside"):
        search.virtual_grid_search(X, y, [{WD: bad}])
    with pytest.raises(ValueError, match=r"maps each of \['hidden\.weight', 'out\.weight'\]"):
        search.predicted_loss(X, y, [{WD: {"out.weight": np.full(3, 1e-3)}}])
    with pytest.raises(ValueError, match=r"\['out\.weight'\] needs 3 values"):
        search.predicted_loss(X, y, [{WD: {**bad, "out.weight": [1e-3, 1e-3]}}])
    with pytest.raises(TypeError, match=r"block of 19 hyperparameters: give one number"):
        search.predicted_loss(X, y, [{WD: np.full(19, 1e-3)}])
    with pytest.raises(ValueError, match=r"module__dropout=0\.9 lies outside"):
        search.predicted_loss(X, y, [{"module__dropout": 0.9}])

    search, X, y = per_weight
    bad = _block(search).structure(np.full(_block(search).size, 1e-3))
    bad["hidden.weight"][2, 5] = 1e-7
    with pytest.raises(ValueError, match=r"\['hidden\.weight'\]\[2, 5\]=1e-07 lies outside"):
        search.predicted_loss(X, y, [{WD: bad}])


def test_the_fitted_space_is_used_not_param_bounds(per_unit):
    """A later set_params(param_bounds=...) does not change what the hypernets know."""
    search, X, y = per_unit
    before = search.predicted_loss(X, y, {WD: [1e-3, 1e-1]})["mean_loss"]
    changed = copy.deepcopy(search).set_params(param_bounds={"lr": (0.1, 1.0)})
    np.testing.assert_array_equal(
        changed.predicted_loss(X, y, {WD: [1e-3, 1e-1]})["mean_loss"], before)
    ax = plot.plot_trajectory(changed)
    assert any(WD in line.get_label() for line in ax.get_lines())


# -- the plots -------------------------------------------------------------------
def test_trajectory_shows_a_vector_key_as_median_and_band(per_unit):
    search, _, _ = per_unit
    ax = plot.plot_trajectory(search)
    label = f"{WD} (19 values: median, range)"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert label in lines and "module__dropout" in lines
    dim = search.search_space_.dimensions[0]
    values = search.trajectory_[f"param_{WD}"]
    assert values.shape == (len(search.trajectory_["step"]), 19)
    unit = (np.log(values) - np.log(dim.low)) / (np.log(dim.high) - np.log(dim.low))
    np.testing.assert_allclose(lines[label].get_ydata(), np.median(unit, axis=1), atol=1e-9)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(unit.min(), abs=1e-9)
    assert ys.max() == pytest.approx(unit.max(), abs=1e-9)
    assert label in [t.get_text() for t in ax.get_legend().get_texts()]


def test_block_values_per_unit_one_bar_per_unit(per_unit):
    search, _, _ = per_unit
    ax = plot.plot_block_values(search)
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 19
    found = _block(search).flat(search.best_params_[WD])
    np.testing.assert_allclose([b.get_y() + b.get_height() for b in bars], found, rtol=1e-9)
    assert ax.get_yscale() == "log"
    bounds = sorted({line.get_ydata()[0] for line in ax.get_lines()})
    assert bounds == [LOW, HIGH]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "hidden.weight (16 units)" in legend and "out.weight (3 units)" in legend


def test_block_values_per_layer_one_bar_per_tensor(per_layer):
    search, _, _ = per_layer
    ax = plot.plot_block_values(search, key=WD)
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == _block(search).names
    assert ax.get_yscale() == "log"


def test_block_values_per_weight_is_a_histogram_of_every_value(per_weight):
    search, _, _ = per_weight
    ax = plot.plot_block_values(search)
    assert ax.get_xscale() == "log"
    assert sum(p.get_height() for p in ax.patches) == _block(search).size == 16 * 8 + 3 * 16
    assert sorted({line.get_xdata()[0] for line in ax.get_lines()}) == [LOW, HIGH]


def test_block_values_refuses_a_scalar_key(per_unit):
    search, _, _ = per_unit
    with pytest.raises(ValueError, match="'module__dropout' is a scalar key"):
        plot.plot_block_values(search, key="module__dropout")
    with pytest.raises(ValueError, match="is not a key of the searched space"):
        plot.plot_block_values(search, key="lr")


def test_landscape_of_a_vector_key_sweeps_its_shared_value(per_unit):
    search, X, y = per_unit
    ax = plot.plot_landscape(search, X, y, keys=[WD], resolution=5)
    (curve,) = [line for line in ax.get_lines() if line.get_label().startswith("predicted")]
    np.testing.assert_allclose(curve.get_xdata(), np.geomspace(LOW, HIGH, 5), rtol=1e-9)
    expected = search.predicted_loss(X, y, {WD: np.geomspace(LOW, HIGH, 5)})["mean_loss"]
    np.testing.assert_allclose(curve.get_ydata(), expected, rtol=1e-6)
    assert ax.get_xscale() == "log"
    assert "best_params_ (median of the block)" in [line.get_label() for line in ax.get_lines()]
    assert "shared value of its 19 values" in ax.get_xlabel()


def test_landscape_heat_map_and_train_validation_with_a_vector_key(per_layer):
    search, X, y = per_layer
    ax = plot.plot_landscape(search, X, y, resolution=4)
    assert {"search path", "best_params_ (scored by real fits)"} <= {
        line.get_label() for line in ax.get_lines()}
    ax = plot.plot_train_validation(search, X, y, WD, resolution=4)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "training loss (predicted)" in labels and "validation loss (predicted)" in labels
