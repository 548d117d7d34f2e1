"""One decay per input feature (PerInput, the ARD prior as a weight decay; issue 22).

The oracle is the data: on make_classification with its informative columns first
(``shuffle=False``), the useless columns should get the larger decays. Measured as
the rank correlation between each column's decay and its being useless, per seed
(the workload is ``benchmarks/per_input_ranking.py``'s).
"""

import sys
from functools import cache
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from per_input_ranking import N_FEATURES, per_input_search, ranking  # noqa: E402

per_input_search = cache(per_input_search)  # the plot test draws the seed-0 search again


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_useless_columns_get_larger_decays_than_informative_ones(seed):
    search = per_input_search(seed)
    decays = search.best_params_["optimizer__weight_decay"]["hidden.weight"]
    assert decays.shape == (1, N_FEATURES)  # one per column, shaped to broadcast
    rho, informative, useless = ranking(search)
    # python benchmarks/per_input_ranking.py prints these for seeds 0-4
    assert rho > 0.4, (rho, decays)
    assert useless > 1.5 * informative, decays


def test_plot_block_values_draws_one_bar_per_input_feature():
    pytest.importorskip("matplotlib")
    from skhyper.plot import plot_block_values

    ax = plot_block_values(per_input_search(0))
    assert len(ax.patches) == N_FEATURES
    assert ax.get_xlabel() == "input (index within its tensor)"
    assert "PerInput, 12 values" in ax.get_title()
