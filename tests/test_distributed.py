"""The same script under torchrun: folds across processes (gloo on the CPU).

Each test launches ``python -m torch.distributed.run --standalone`` on
``tests/distributed_script.py`` (a user's script, unchanged from one process)
and compares what every rank fitted with the single-process fit of the same
search (same ``random_state``) in this process: the oracle.
"""

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from distributed_script import fit_search, key_outputs

from skhyper._distributed import check_world_size

SCRIPT = Path(__file__).with_name("distributed_script.py")

#: Seconds a launch may take before the test calls it hung (a run takes ~10 s on 2 cores).
LAUNCH_TIMEOUT = 120

# Without dropout every random draw of the loop (the sampled t's, each fold's row
# order and validation rows, each fold's initialization) comes from generators
# seeded from the search's seed and the fold's index, so a rank computes the same
# floats as the single process, up to the order of float reductions: the folds'
# stack is 1 or 2 folds wide on a rank and 2 or 4 in one process (vmap's batched
# matmuls), and the hypergradient is all-reduced. In float32, one such reordering
# moves a loss by ~1e-7 relative; the run takes 4 hyper steps x 4 epochs.
EXACT = {"rtol": 1e-5, "atol": 1e-6}
# With dropout, the masks come from each process's torch RNG, which a rank consumes
# differently from the single process: the path agrees only statistically (measured:
# 1e-3 relative on best_params_, 5e-3 on the mean test scores).
DROPOUT = {"rtol": 2e-2, "atol": 3e-2}


def launch(tmp_path, nproc, cv, *extra, env=None, monitor_interval=None):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}"]
    if monitor_interval is not None:
        command.append(f"--monitor-interval={monitor_interval}")
    command += [str(SCRIPT), str(tmp_path), str(cv), *extra]
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    full_env.pop("SKHYPER_TEST_FAIL_RANK", None) if env is None else None
    return subprocess.run(command, env=full_env, capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT)


def rank_outputs(tmp_path, nproc):
    outputs = []
    for rank in range(nproc):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            outputs.append(pickle.load(f))
    return outputs


def assert_same_search(fitted, oracle, tol):
    assert fitted["trajectory_len"] == oracle["trajectory_len"]
    assert fitted["n_hypernets"] == fitted["n_fold_estimators"] == oracle["n_hypernets"]
    assert fitted["batched_folds"] == oracle["batched_folds"]
    assert fitted["best_params"].keys() == oracle["best_params"].keys()
    for key, value in oracle["best_params"].items():
        np.testing.assert_allclose(fitted["best_params"][key], value, **tol)
    np.testing.assert_allclose(fitted["trajectory_t"], oracle["trajectory_t"], **tol)
    np.testing.assert_allclose(fitted["mean_test_score"], oracle["mean_test_score"], **tol)
    np.testing.assert_allclose(fitted["refit_prediction"], oracle["refit_prediction"], **tol)


@pytest.mark.parametrize("cv, draws", [(2, False), (4, True)])
def test_two_processes_fit_the_single_process_search(tmp_path, cv, draws):
    # cv=4: two folds per rank, stacked; draws: the module consumes torch's RNG
    # (its output unchanged), so the loop's draws must not come from it
    run = launch(tmp_path, 2, cv, *(["draws"] if draws else []))
    assert run.returncode == 0, run.stderr[-3000:]
    torch.manual_seed(123)  # the single-process fit must not depend on the caller's RNG
    oracle = key_outputs(fit_search(cv, draws=draws))
    ranks = rank_outputs(tmp_path, 2)
    for fitted in ranks:
        assert fitted["group_destroyed"]  # fit destroyed the process group it made
        assert_same_search(fitted, oracle, EXACT)
    # one lambda_hat everywhere: the ranks' paths are bit-identical
    np.testing.assert_array_equal(ranks[0]["trajectory_t"], ranks[1]["trajectory_t"])
    assert ranks[0]["params"] == ranks[1]["params"]


def test_two_processes_per_fold_split_its_batches_as_one_process_does(tmp_path):
    # 4 processes, cv=2: each fold's batches split over 2 processes, whose gradients
    # are summed; each process's share of a batch weighs by its size, so the step is
    # the whole batch's (float reduction order aside: EXACT)
    run = launch(tmp_path, 4, 2)
    assert run.returncode == 0, run.stderr[-3000:]
    oracle = key_outputs(fit_search(2))
    ranks = rank_outputs(tmp_path, 4)
    for fitted in ranks:
        assert_same_search(fitted, oracle, EXACT)
    for fitted in ranks[1:]:
        np.testing.assert_array_equal(fitted["trajectory_t"], ranks[0]["trajectory_t"])


def test_two_processes_fit_a_grid_as_one_process_does(tmp_path):
    """Grid axes under torchrun: every combination's search shares the folds across
    the ranks, the grid's splits and seed come from rank 0, and every rank ends with
    the single process's rows and refit."""
    run = launch(tmp_path, 2, 2, "grid")
    assert run.returncode == 0, run.stderr[-3000:]
    oracle = key_outputs(fit_search(2, grid=True))
    ranks = rank_outputs(tmp_path, 2)
    for fitted in ranks:
        assert [p["lr"] for p in fitted["params"]] == [1e-2, 3e-2]  # a row per combination
        assert_same_search(fitted, oracle, EXACT)


@pytest.mark.parametrize("grid", [False, True], ids=["ranges", "grid"])
def test_stacked_fits_across_processes_fall_back_to_skorchs(tmp_path, grid):
    """verify_fits="stacked" under torchrun: each rank holds only its own folds, so
    the real fits go through skorch, with a warning that says why, and every rank
    ends with the single process's search with skorch's fits."""
    run = launch(tmp_path, 2, 2, "stacked", *(["grid"] if grid else []))
    assert run.returncode == 0, run.stderr[-3000:]
    oracle = key_outputs(fit_search(2, grid=grid))
    for fitted in rank_outputs(tmp_path, 2):
        assert_same_search(fitted, oracle, EXACT)
        assert fitted["verify_fits"] == oracle["verify_fits"] == "skorch"
        assert any("verify_fits='stacked': the real fits go through skorch one by one, "
                   "because the search runs across processes" in w
                   for w in fitted["warnings"])


def test_two_processes_with_dropout_fit_the_single_process_search(tmp_path):
    run = launch(tmp_path, 2, 4, "dropout")
    assert run.returncode == 0, run.stderr[-3000:]
    oracle = key_outputs(fit_search(4, dropout=0.3))
    ranks = rank_outputs(tmp_path, 2)
    for fitted in ranks:
        assert_same_search(fitted, oracle, DROPOUT)
    np.testing.assert_array_equal(ranks[0]["trajectory_t"], ranks[1]["trajectory_t"])


def test_a_failing_rank_stops_every_rank_with_its_error(tmp_path):
    # rank 1's module raises in its 12th training forward (epoch 3 of 6): the other
    # rank is then waiting in a collective and must raise too, not hang until the
    # collectives' timeout (set to 60 s here; the launch's limit is LAUNCH_TIMEOUT)
    env = {"SKHYPER_TEST_FAIL_RANK": "1", "SKHYPER_TEST_FAIL_AFTER": "12",
           "SKHYPER_DISTRIBUTED_TIMEOUT": "60"}
    run = launch(tmp_path, 2, 2, env=env, monitor_interval=1)
    assert run.returncode != 0
    for rank in range(2):
        error = (tmp_path / f"rank{rank}.error").read_text()
        assert error.startswith("DistributedFitError: ")
        assert "rank 1 of 2 failed: RuntimeError: planted failure in forward call 12" in error
        assert not (tmp_path / f"rank{rank}.pkl").exists()


@pytest.mark.parametrize("world_size, n_folds", [(3, 2), (6, 4)])
def test_a_world_size_that_cannot_share_the_folds_is_a_clear_error(world_size, n_folds):
    with pytest.raises(ValueError, match=rf"cv={n_folds} folds among {world_size} processes"
                       ) as info:
        check_world_size(world_size, n_folds)
    assert f"launch 1 to {n_folds}, or a multiple of {n_folds}" in str(info.value)


@pytest.mark.parametrize("world_size, n_folds", [(1, 5), (3, 5), (5, 5), (4, 2), (8, 4)])
def test_world_sizes_that_share_the_folds_pass(world_size, n_folds):
    check_world_size(world_size, n_folds)
