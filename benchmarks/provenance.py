"""Write a benchmark's results with the commit they ran on (the scripts' ``--save``).

``save(tag, ...)`` writes ``benchmarks/results/<tag>.md`` (the printed table, under a
one-line header) and ``<tag>.json`` (the raw numbers under ``"metadata"``). The header
records the command, the commit of the skhyper package that was imported (the
checkout it was imported from, so a worktree of another commit on ``PYTHONPATH``
records that commit) and the skhyper files that differed from it.
``benchmarks/check_docs_numbers.py`` reads the commit back to tell stale results
from fresh ones. Nothing is written without ``--save``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

import skhyper

RESULTS = Path(__file__).resolve().parent / "results"


def _git(cwd, *args):
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def metadata(script, argv=None):
    """The command, the imported skhyper's commit and its uncommitted files, date, versions."""
    package = Path(skhyper.__file__).resolve().parent
    argv = sys.argv[1:] if argv is None else argv
    dirty = _git(package, "status", "--porcelain", "--", ".").splitlines()
    return {
        "command": " ".join(["python", f"benchmarks/{script}", *argv]),
        "git_commit": _git(package, "rev-parse", "HEAD") or None,
        "uncommitted_skhyper_files": [line[3:] for line in dirty],
        "skhyper_imported_from": str(package),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "platform": f"{platform.machine()}, {torch.get_num_threads()} torch thread(s)",
        "torch": torch.__version__,
    }


def save(tag, meta, text, data):
    """Write ``results/<tag>.md`` (header + ``text``) and ``results/<tag>.json``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{tag}.md").write_text(f"<!-- {json.dumps(meta)} -->\n\n{text}\n")
    (RESULTS / f"{tag}.json").write_text(
        json.dumps({"metadata": meta, **data}, indent=1, default=float) + "\n")
    print(f"wrote benchmarks/results/{tag}.md and {tag}.json")
