"""Every example in examples/ runs to the end (slow: about a minute in all)."""

import runpy
from pathlib import Path

import pytest

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
