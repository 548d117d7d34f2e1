"""Check that every number the docs quote comes from a results file written on the current code.

Covered: README.md, docs/user_guide.md and docs/benchmarks.md (``COVERED``). Not
covered: docs/design.md and benchmarks/NOTES.md, dated logs whose entries state
the commit and command they were measured with, and docs/testing.md, whose tables
a script writes.

The rules:

1. A *results file* is a file under ``benchmarks/results/``. It records the commit
   it ran on: ``git_commit`` or ``commit`` in a JSON file (at the top or under
   ``metadata``), the same in the header comment of a ``.md`` or ``commit <sha>`` in
   its first lines; a ``.md`` without one takes its ``.json`` twin's
   (``benchmarks/provenance.py`` writes both).
2. A results file is *stale* when the skhyper package at its commit differs from
   the one at HEAD (Python compared as syntax trees without docstrings, so edits to
   docstrings and comments do not count), or when it ran on uncommitted changes.
   Commits listed in ``benchmarks/neutral_commits.txt`` (``NEUTRAL``), each with the
   evidence that it changes no result (e.g. checks that only refuse invalid input,
   and a benchmark re-run that printed the same numbers), do not make results stale;
   nor do commits that touched none of the files that now differ (a change a later
   commit undid leaves its file equal to HEAD's).
3. Every number in a covered file must be held by a results file at the precision
   the docs print it: ``0.183`` is held by ``0.1828``, ``18.0x`` by ``18.04``, an
   unsigned number also by its negative. Where a section (a heading with its
   subsections) cites results files by path (``benchmarks/results/suite_a.md``),
   its numbers are looked up in those; elsewhere in all of them. A number printed
   with few digits (``3``, ``0.2``) can be held by chance: citing narrows the chance.
4. A number held by stale files only passes where its section or a parent section
   names the commit such a file records ("measured at commit 020d1ee"); a section
   that cites a stale file must name its commit. Stale numbers are dated, not silent.
5. Not checked: code spans and blocks (commands, parameter values), link targets,
   HTML comments, and the phrases ``NOT_MEASURED`` lists (sizes given as inputs,
   versions, dates, citations, references), each with the reason.

Usage::

    python benchmarks/check_docs_numbers.py      # exit status 1 on any failure
    python benchmarks/check_docs_numbers.py -v   # also list every stale results file
"""

from __future__ import annotations

import ast
import bisect
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
COVERED = ["README.md", "docs/user_guide.md", "docs/benchmarks.md"]
CODE = "skhyper"  # the code that the results describe
NEUTRAL = ROOT / "benchmarks" / "neutral_commits.txt"  # commits that change no result

# Phrases whose numbers are not measurements; blanked out before numbers are read.
NOT_MEASURED = [
    (r"\b\d{4}-\d\d-\d\d\b", "a date"),
    (r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b", "a commit"),
    (r"(?:\b[A-Z][a-z]+ |et al\. |^)(?:19|20)\d\d\b|\bFig\. \d+", "a citation"),
    (r"\b(?:torch|Python) \d+(?:\.\d+)+\+?", "a version"),
    (r"BSD-3-Clause", "the license"),
    (r"\b(?:issue|decisions?) \d+(?:-\d+)?", "a reference to an issue or a design decision"),
    (r"\b\d+(?:-\d+){2,}\b|\b\d+-\d+ (?=softmax|MLP)", "a layer layout (64-128-10)"),
    (r"\b\d+x\d+\b|\b\d[\d,]*(?: training rows)? x \d[\d,]*", "a grid or a shape (5x5, 64 x 128)"),
    (r"\bseeds? \d+(?:(?:,| and| to) \d+)*|\b\d+ seeds?\b|\(\d+ seed\(s\)", "the seeds"),
    (r"\b\d[\d,]*(?:-| )(?:[\w-]+ ){0,2}rows?\b", "a data size given as input"),
    (r"\b\d+(?:-unit| hidden units| epochs| features| classes| candidates| points"
     r"| (?:CPU )?cores)\b|\bbatch \d+|\blr \d[\d.e-]*\d|\b\d+-core\b|\b\d+ torch thread"
     r"|\b\d-D\b", "a setting of the workload or the machine"),
    (r"(?<![\d.])\d+(?: and \d+)? minutes|\b\d+ min \d+ s\b|, \d+ s\)",
     "how long a command ran, to plan a re-run"),
    (r"\b\d+ to [\d,]+ hyperparameters|\b\d[\d,]* (?:[\w-]+ )?(?:decays|hyperparameters)\b",
     "the number of hyperparameters searched"),
    (r"(?:asks for|target(?: of)?)(?: at most)? \d[\d/.= ]*%?", "a target an issue set"),
    (r"more than 64x|\b64-point|10,000-dimensional|\b1% of the|reset to 0\b",
     "a constant of the code"),
    (r"\(\d+ plain fits?'? ", "a term of the cost model (2 plain fits' worth of rows)"),
]

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:e([-+]?\d+))?"
                    r"(?![\w.]*\d)(?![A-Za-wyz_])")  # a suffix: only x (18.0x)
COMMIT = re.compile(r"\bcommit\b[\"':\s]+([0-9a-f]{7,40})\b")
CITED = re.compile(r"benchmarks/results/([\w.-]*\w)")


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout


# -- results files: their numbers, their commit, stale or not ---------------------------------


def numbers_in(text):
    """Every number in ``text`` as floats (thousands separators dropped)."""
    return [float(m.group().replace(",", "")) for m in NUMBER.finditer(text)]


def json_numbers(value):
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)]
    if isinstance(value, str):
        return numbers_in(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [x for item in items for x in json_numbers(item)]


def recorded(path):
    """``(commit, uncommitted skhyper files)`` a results file records, or ``(None, [])``."""
    text = path.read_text()
    if path.suffix == ".json":
        data = json.loads(text)
        for meta in (data.get("metadata", {}), data) if isinstance(data, dict) else ():
            commit = meta.get("git_commit") or meta.get("commit")
            if commit:
                return commit, meta.get("uncommitted_skhyper_files", [])
        return None, []
    head = "\n".join(text.splitlines()[:3])
    match = COMMIT.search(head) or re.search(r'"git_commit": "([0-9a-f]{7,40})"', head)
    dirty = re.search(r'"uncommitted_skhyper_files": \[([^\]]*)\]', head)
    if match:
        return match.group(1), json.loads(f"[{dirty.group(1)}]") if dirty else []
    twin = path.with_suffix(".json")
    return recorded(twin) if twin.exists() else (None, [])


def without_docstrings(source):
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = node.body[0].value if isinstance(node.body[0], ast.Expr) else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


@cache
def code_at(commit):
    """``{path: normalized code}`` of the package at ``commit``; None if git lacks it."""
    if not git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}").strip():
        return None
    code = {}
    for path in git("ls-tree", "-r", "--name-only", commit, "--", CODE).split():
        if path.endswith(".py"):
            code[path] = without_docstrings(git("show", f"{commit}:{path}"))
        else:
            code[path] = git("rev-parse", f"{commit}:{path}")
    return code


@cache
def neutral_commits():
    """``{sha: reason}`` of ``NEUTRAL``: commits declared not to change any result."""
    out = {}
    for line in NEUTRAL.read_text().splitlines() if NEUTRAL.exists() else []:
        sha, _, reason = line.partition(" ")
        if sha and not sha.startswith("#"):
            out[git("rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}").strip() or sha] = (
                reason.strip())
    return out


def results_changing_commits(commit, paths):
    """The commits since ``commit`` that changed the code of ``paths`` (the files that
    differ from HEAD's), less those that ``NEUTRAL`` declares results-neutral. A commit
    that touched only other files, or whose change a later one undid, cannot account
    for the difference."""
    neutral = neutral_commits()
    since = git("rev-list", f"{commit}..HEAD", "--", *paths).split()
    return [c for c in since if c not in neutral
            and any(code_at(f"{c}^").get(p) != code_at(c).get(p) for p in paths)]


def staleness(commit, dirty):
    """None when the results describe HEAD's code, else why not."""
    if commit is None:
        return "records no commit"
    code = code_at(commit)
    if code is None:
        return f"records commit {commit}, which this clone lacks (fetch the history)"
    head = code_at("HEAD")
    changed = sorted(p for p in set(code) | set(head) if code.get(p) != head.get(p))
    if changed and results_changing_commits(commit, changed):
        return f"commit {commit[:7]}: {CODE}/ code changed since ({', '.join(changed)})"
    if dirty:
        return f"commit {commit[:7]}, run with uncommitted changes to {', '.join(dirty)}"
    return None


class Results:
    def __init__(self, path):
        self.name = path.relative_to(ROOT).as_posix()
        self.stem = path.stem
        text = path.read_text()
        values = json_numbers(json.loads(text)) if path.suffix == ".json" else numbers_in(text)
        self.values = sorted(set(values))
        self.commit, dirty = recorded(path)
        self.stale = staleness(self.commit, dirty)
        self.label = f"{path.name}@{self.commit[:7] if self.commit else '?'}"

    def holds(self, value, half):
        """Whether a number within ``half`` of ``value`` (or of ``-value``) is here."""
        candidates = (value, -value) if value > 0 else (value,)
        for v in candidates:
            i = bisect.bisect_left(self.values, v - half)
            if i < len(self.values) and self.values[i] <= v + half:
                return True
        return False

    def dated_by(self, commits):
        return self.commit is not None and any(
            self.commit.startswith(c) or c.startswith(self.commit) for c in commits)


# -- covered docs: their numbers, by section --------------------------------------------------


def blocks(path):
    """Yield ``(first line number, text, cited stems, named commits)`` per block of a doc.

    A block is a paragraph or list (lines up to a blank one), a table row or a heading;
    code blocks are skipped. A section's cited results files are its own or, if it
    cites none, its nearest parent's; its named commits are its own and its parents'.
    """
    lines, in_code = path.read_text().splitlines(), False
    for i, line in enumerate(lines):  # blank out code blocks and list numbering
        fence = line.lstrip().startswith("```")
        lines[i] = "" if in_code or fence else re.sub(r"^(\s*)\d+\. ", r"\1   ", line)
        in_code ^= fence
    heads, own, parts = [], {-1: (set(), set())}, []  # heads: [(level, line index)]
    for i, line in enumerate(lines):
        if m := re.match(r"(#+) ", line):
            heads = [h for h in heads if h[0] < len(m.group(1))] + [(len(m.group(1)), i)]
            own[i] = (set(), set())
        chain = [-1] + [h[1] for h in heads]
        own[chain[-1]][0].update(re.sub(r"\.(md|json)$", "", c) for c in CITED.findall(line))
        own[chain[-1]][1].update(COMMIT.findall(line))
        new_block = not parts or m or line.startswith("|") or not lines[i - 1].strip() or (
            lines[i - 1].startswith(("|", "#")))
        if line.strip():
            if new_block:
                parts.append((i, chain, []))
            parts[-1][2].append(line)
    for i, chain, text in parts:
        cited = next((own[c][0] for c in reversed(chain) if own[c][0]), set())
        yield i + 1, "\n".join(text), cited, set().union(*(own[c][1] for c in chain))


def quoted_numbers(text):
    """``(offset, text, value, half of the last printed digit)`` per number to check."""
    text = text.replace("\n", " ")
    blank = lambda m: " " * len(m.group())
    text = re.sub(r"<!--.*?-->|`[^`]*`|\]\([^)]*\)|https?://\S+", blank, text)
    for pattern, _ in NOT_MEASURED:
        text = re.sub(pattern, blank, text)
    for m in NUMBER.finditer(text):
        decimals, exponent = len(m.group(1) or ""), int(m.group(2) or 0)
        half = 0.5 * 10.0 ** (exponent - decimals)
        yield m.start(), m.group(), float(m.group().replace(",", "")), half


def check(results):
    by_stem = {}
    for r in results:
        by_stem.setdefault(r.stem, []).append(r)
    failures, counts, seen = [], {"fresh": 0, "dated": 0}, set()
    for doc in COVERED:
        for first, block, cited, commits in blocks(ROOT / doc):
            where = f"{doc}:{first}"
            pool = [r for stem in sorted(cited) for r in by_stem.get(stem, [])] or results
            for stem in sorted(cited - set(by_stem)):
                failures.append(f"{where}: cites benchmarks/results/{stem}, which does not exist")
            for r in pool if cited else []:
                key = (doc, tuple(sorted(cited)), tuple(sorted(commits)), r.name)
                if r.stale and not r.dated_by(commits) and key not in seen:
                    seen.add(key)
                    failures.append(f"{where}: its section cites stale {r.label} and does "
                                    "not name that commit")
            for offset, text, value, half in quoted_numbers(block):
                where = f"{doc}:{first + block.count(chr(10), 0, offset)}"
                line = block.splitlines()[block.count(chr(10), 0, offset)]
                holders = [r for r in pool if r.holds(value, half)]
                fresh = [r for r in holders if not r.stale]
                dated = [r for r in holders if r.stale and r.dated_by(commits)]
                if fresh:
                    counts["fresh"] += 1
                elif dated:
                    counts["dated"] += 1
                elif holders:
                    failures.append(f"{where}: {text} is held only by stale results ("
                                    + ", ".join(r.label for r in holders)
                                    + "): re-run, or name the commit in its section")
                else:
                    scope = ", ".join(sorted(cited)) if cited else "any results file"
                    failures.append(f"{where}: {text} is in no results file ({scope}): "
                                    f"{line.strip()[:100]}")
    return failures, counts["fresh"], counts["dated"]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    results = [Results(p) for p in sorted(RESULTS.glob("*")) if p.suffix in (".md", ".json")]
    failures, fresh, dated = check(results)
    stale = [r for r in results if r.stale]
    for failure in failures:
        print(failure)
    for r in stale:
        if "-v" in argv or any(r.label in failure for failure in failures):
            print(f"stale: {r.name}: {r.stale}")
    print(f"{len(COVERED)} files: {fresh} numbers from current results, {dated} from dated "
          f"stale ones, {len(failures)} failures; {len(stale)} of {len(results)} results "
          f"files are stale{'' if '-v' in argv else ' (-v lists them)'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
