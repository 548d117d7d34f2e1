"""The README's quickstart runs as written, in a fresh interpreter."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def quickstart_code():
    """The first Python block of the README's "Quickstart" section."""
    text = README.read_text()
    section = text[text.index("## Quickstart"):]
    section = section[: section.index("\n## ", 1)]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_quickstart_is_a_complete_script(tmp_path):
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart_code())
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.strip()
    # it prints best_params_ (both keys, inside their bounds) and best_score_ (an accuracy)
    params, score = re.fullmatch(r"(\{.*\}) (\S+)", printed).groups()
    found = eval(params)  # a dict of floats, printed by the script above
    assert set(found) == {"optimizer__weight_decay", "module__dropout"}
    assert 1e-6 <= found["optimizer__weight_decay"] <= 1e-1
    assert 0.0 <= found["module__dropout"] <= 0.8
    assert 0.5 < float(score) <= 1.0


def test_user_guide_own_net_recipe_runs(tmp_path):
    """The user guide's "Your own net" script, as written."""
    text = (README.parent / "docs" / "user_guide.md").read_text()
    section = text[text.index("## Your own net"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    script = tmp_path / "own_net.py"
    script.write_text(code)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    params, score = re.fullmatch(r"(\{.*\}) (\S+)", done.stdout.strip()).groups()
    found = eval(params)
    assert 0.0 <= found["neuralnetregressor__module__dropout"] <= 0.6
    assert float(score) > 0.2  # R^2 of the diabetes targets, far above a constant's 0


@pytest.mark.slow
def test_the_mixed_grid_paragraph_runs_after_the_quickstart(tmp_path):
    """The README's "replace GridSearchCV" block, run after the quickstart it builds on:
    lists are grid axes (one row per combination), ranges tuned, every key found."""
    text = README.read_text()
    start = text.index("Replace `GridSearchCV(net, grid)`")
    block = re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)
    script = tmp_path / "mixed.py"
    script.write_text(quickstart_code() + block + "\nprint(len(search.cv_results_['params']),"
                      " sorted(search.best_params_))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr
    n_rows, keys = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert int(n_rows) == 4  # 2 learning rates x 2 epoch counts
    assert eval(keys) == sorted(["net__lr", "net__max_epochs", "net__module__dropout",
                                 "net__optimizer__weight_decay"])
