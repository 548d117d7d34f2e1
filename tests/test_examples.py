"""Every example in examples/ runs to the end (slow: about a minute in all)."""

import runpy
from pathlib import Path

import pytest
import torch

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples may write their plots to the working folder
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out.strip(), f"{path.name} printed nothing"


@pytest.mark.slow
def test_demo_prints_the_comparison_and_writes_the_landscape(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from skhyper._demo import main

    png = tmp_path / "landscape.png"
    results = main(["--grid-size", "2", "--plot", str(png)])
    out = capsys.readouterr().out
    assert "HypernetSearchCV" in out and "GridSearchCV 2x2" in out
    assert [name for name, *_ in results] == ["HypernetSearchCV", "GridSearchCV 2x2"]
    assert png.stat().st_size > 10_000


@pytest.mark.slow
def test_benchmark_scripts_smoke(capsys, tmp_path):
    """The GPU check's device path and the suite's table, on the CPU and tiny sizes
    (their real runs are in docs/benchmarks.md)."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    import gpu_check
    import suite

    threads = torch.get_num_threads()  # the suite sets its own
    assert gpu_check.main(["--device", "cpu", "--rows", "1000", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "folds batched in one vmap step: True" in out
    assert "unpickle on a CPU-only process: predicts" in out  # not "FAILED"
    assert "torchrun world size 1, rank 0: search" in out
    result = suite.main(["--workloads", "breast_cancer", "--seeds", "0", "--points", "2",
                         "--max-epochs", "2", "--methods", "grid", "optuna", "hypernet",
                         "--out", str(tmp_path), "--tag", "smoke"])
    torch.set_num_threads(threads)
    labels = {r["label"] for r in result["aggregates"]}
    assert {"GridSearchCV 2x2", "HypernetSearchCV"} <= labels
    try:
        import optuna_integration  # noqa: F401  (the "bench" extra, installed in CI)
    except ImportError:
        return
    assert "OptunaSearchCV 4" in labels
    assert (tmp_path / "smoke.md").read_text().count("|") > 10
