"""What ``verbose`` prints: the warm-up shown as such, counts that read as English."""

import re

import numpy as np
import pytest
from helpers import make_classifier

from skhyper import HypernetSearchCV

BOUNDS = {"optimizer__weight_decay": (1e-4, 1e-1, "log")}


def test_warm_up_epochs_show_their_phase_and_no_validation_loss(classification_data, capsys):
    """Warm-up epochs take no hyper step, so they have no validation loss to show:
    the bar says "warm-up" and shows none, the search epochs show theirs."""
    X, y = classification_data
    HypernetSearchCV(make_classifier(max_epochs=6), BOUNDS, cv=2, warmup_fraction=0.5,
                     verbose=1, refit=False, random_state=0).fit(X, y)
    captured = capsys.readouterr()
    assert "nan" not in captured.out + captured.err
    assert "(3 of warm-up)" in captured.out
    frames = [f for f in re.split(r"[\r\n]", captured.err) if "phase=" in f]
    warm = [f for f in frames if "phase=warm-up" in f]
    searching = [f for f in frames if "phase=search" in f]
    assert warm and searching and len(warm) + len(searching) == len(frames)
    assert not any("val_loss" in f for f in warm)
    assert all("val_loss" in f and "optimizer__weight_decay" in f for f in searching)


def test_verbose_two_lines_name_the_warm_up(classification_data, capsys):
    X, y = classification_data
    HypernetSearchCV(make_classifier(max_epochs=6), BOUNDS, cv=2, warmup_fraction=0.5,
                     verbose=2, refit=False, random_state=0).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if "per fold" in line]
    assert [line.split("]")[0] for line in lines] == [
        "[epoch 1, warm-up", "[epoch 2, warm-up", "[epoch 3, warm-up",
        "[epoch 4", "[epoch 5", "[epoch 6"]
    assert not any("nan" in line or "validation" in line for line in lines[:3])
    assert all("validation loss" in line for line in lines[3:])


ONE_SPLIT = [(np.arange(0, 100), np.arange(100, 150))]


@pytest.mark.parametrize("settings, counts", [
    (dict(cv=ONE_SPLIT, n_candidates=1, max_epochs=1, warmup_fraction=0.0),
     ["1 fold for 1 epoch (no warm-up) over 1 hyperparameter", "1 point scored on 1 fold"]),
    (dict(cv=2, n_candidates=2, max_epochs=4, warmup_fraction=0.0, verify=2),
     ["2 folds for 4 epochs (no warm-up) over 2 hyperparameters",
      "2 points scored on 2 folds", "2 candidates fitted for real (2 path rows)",
      "from real fits, the path row"]),
], ids=["singular", "plural"])
def test_summary_counts_read_as_english(classification_data, capsys, settings, counts):
    X, y = classification_data
    bounds = dict(BOUNDS)
    if settings["cv"] == 2:
        bounds["module__dropout"] = (0.0, 0.5)
    params = dict(settings)
    net = make_classifier(max_epochs=params.pop("max_epochs"))
    HypernetSearchCV(net, bounds, verbose=1, random_state=0, **params).fit(X, y)
    out = capsys.readouterr().out
    for count in counts:
        assert count in out, out
    assert not re.search(r"\b1 (points|folds|epochs|hyperparameters)\b", out)
    assert not re.search(r"\b([02-9]|\d\d+) (point|fold|epoch|hyperparameter)\b", out)


@pytest.mark.parametrize("verify_fits", ["skorch", "stacked"])
def test_summary_says_how_the_real_fits_trained(classification_data, capsys, verify_fits):
    X, y = classification_data
    HypernetSearchCV(make_classifier(max_epochs=3), BOUNDS, cv=2, verbose=1, random_state=0,
                     verify_fits=verify_fits).fit(X, y)
    out = capsys.readouterr().out
    assert ("fitted for real, stacked (" in out) == (verify_fits == "stacked"), out
    assert "fitted for real" in out
    grid = {**BOUNDS, "lr": [0.01, 0.02]}
    HypernetSearchCV(make_classifier(max_epochs=3), grid, cv=2, verbose=1, random_state=0,
                     verify_fits=verify_fits).fit(X, y)
    out = capsys.readouterr().out
    assert ("hyper-training, the real fits of 2 stacked)" in out) == (
        verify_fits == "stacked"), out


def test_summary_says_when_fewer_rows_than_n_candidates(classification_data, capsys):
    """n_candidates is a maximum: 2 epochs after the warm-up give at most 2 rows."""
    X, y = classification_data
    search = HypernetSearchCV(make_classifier(max_epochs=4), BOUNDS, cv=2, n_candidates=10,
                              warmup_fraction=0.5, verbose=1, random_state=0).fit(X, y)
    assert len(search.hypernet_results_["params"]) <= 2
    assert "fewer than n_candidates=10" in capsys.readouterr().out
