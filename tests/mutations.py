"""Mutation check: break the search on purpose and make sure the tests notice.

Run from the repository root::

    python tests/mutations.py            # every break, 2 at a time
    python tests/mutations.py --list     # the breaks and the tests meant to catch them
    python tests/mutations.py --only leak --only order

Each break is a named list of exact ``(file, old text, new text)`` edits of the
package source. For each one the script copies ``skhyper/`` into a temporary
directory, applies the edits (an edit whose old text is not found exactly once is an
error that names the break and the file: a refactor of the source must show up as a
broken mutation, not as one that silently passes), and runs a fast subset of the test
suite against that copy. The copy comes first on ``sys.path``; a small pytest plugin
checks, after collection, that every imported ``skhyper`` module is the copy's.

The check fails (exit 1) if a break survives (no test fails) or if one of the tests
named as its catcher (``catchers``: the tests that assert the broken behaviour) still
passes; it exits 2 if the subset fails on the unbroken copy or an edit no longer
applies. It prints a table: break -> the tests that failed under it.

This file is not a test module (pytest collects ``test_*.py`` only; the doctest
collection imports it, which runs nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

# The fast subset run against each mutant (about 20 s on 2 cores).
SUBSET = [
    "test_search_strength.py",
    "test_ridge_oracle.py",
    "test_hypergradient.py",
    "test_search.py",
    "test_loop_options.py",
    "test_landscape.py",
    "test_vector_bounds.py",
    "test_ridge_per_feature.py",
    "test_skorch_settings.py",
    "test_candidates.py",
    "test_bounds.py",
    "test_inputs.py",
    "test_keys.py",
    "test_grid.py",
    "test_stacked_fits.py",
]


@dataclass
class Edit:
    file: str  # relative to the package directory
    old: str
    new: str


@dataclass
class Break:
    name: str
    what: str
    edits: list
    catchers: list = field(default_factory=list)  # tests that must fail under it


S = "test_search_strength.py::"
V = "test_vector_bounds.py::"
C = "test_candidates.py::"
G = "test_grid.py::"
F = "test_stacked_fits.py::"
BREAKS = [
    Break(
        "no-hyper-step", "the hyper step is a no-op (lambda_hat moves only by the scan)",
        [Edit("_train.py", "        hyper_optimizer.step()\n",
              "        pass  # MUTANT: no hyper step\n")],
        [S + "test_hyper_steps_reach_an_interior_optimum_the_scan_never_saw[linear]",
         "test_search.py::test_trajectory_goes_downhill_on_the_closed_form_cv_curve",
         "test_ridge_oracle.py::test_search_lands_near_closed_form_optimum[0]"],
    ),
    Break(
        "flipped-hypergradient", "the hypergradient's sign is flipped (lambda_hat climbs)",
        [Edit("_train.py", "    (grad,) = torch.autograd.grad(total, [u])\n",
              "    (grad,) = torch.autograd.grad(-total, [u])  # MUTANT\n")],
        [S + "test_hyper_steps_reach_an_interior_optimum_the_scan_never_saw[linear]",
         "test_search.py::test_trajectory_goes_downhill_on_the_closed_form_cv_curve"],
    ),
    Break(
        "hypernet-ignores-t", "the hypernets ignore t (weights constant in the hyperparameters)",
        [Edit("_hypernet.py",
              "    def forward(self, t):\n        context = self._context(t - self.center)\n",
              "    def forward(self, t):\n"
              "        context = self._context((t - self.center) * 0)  # MUTANT\n"),
         Edit("_hypernet.py", 'context = self._context(t - buffers["center"])',
              'context = self._context((t - buffers["center"]) * 0)  # MUTANT'),
         Edit("_hypernet.py", "self.out(torch.tanh(self.hidden(2 * t - 1)))",
              "self.out(torch.tanh(self.hidden(0 * t)))  # MUTANT"),
         Edit("_hypernet.py", 'params["hidden.weight"], 2 * t - 1)',
              'params["hidden.weight"], 0 * t)  # MUTANT')],
        [S + "test_hypernet_weights_change_with_t_as_the_best_response_does",
         S + "test_hyper_steps_reach_an_interior_optimum_the_scan_never_saw[linear]"],
    ),
    Break(
        "scan-keeps-start", "the warm-up scan does not move the start",
        [Edit("_train.py",
              "            u_hat.copy_(torch.logit(torch.as_tensor(best, dtype=u_hat.dtype)))\n",
              "            pass  # MUTANT: the scan keeps the start\n")],
        [S + "test_warmup_scan_moves_the_start_to_a_better_point"],
    ),
    Break(
        "no-penalty", "the weight-decay penalty never enters the training loss",
        [Edit("_train.py", "            total = total + loss + fold.penalty(values, weights)\n",
              "            total = total + loss  # MUTANT: no penalty\n"),
         Edit("_train.py", "        total = fold_losses.sum() + penalty\n",
              "        total = fold_losses.sum()  # MUTANT: no penalty\n")],
        [S + "test_decay_penalty_shrinks_the_hypernet_weights_as_ridge_does",
         "test_ridge_oracle.py::test_search_lands_near_closed_form_optimum[0]"],
    ),
    Break(
        "module-attribute-unset",
        "a module attribute (dropout's p, a float read in forward) is never set in training",
        [Edit("_targets.py",
              "    def set_train(self, net, value):\n"
              "        for holder, attr in self._holders(net):\n"
              "            setattr(holder, attr, float(value))\n\n    def check_effect",
              "    def set_train(self, net, value):\n"
              "        for holder, attr in self._holders(net):\n"
              "            pass  # MUTANT: never set\n\n    def check_effect")],
        [S + "test_dropout_rate_is_set_before_every_training_forward",
         "test_search.py::test_float_module_attribute_moves_to_the_closed_form_optimum"],
    ),
    Break(
        "train-mode-validation-per-fold",
        "validation runs in training mode (the per-fold path: scan, small folds)",
        [Edit("_train.py", "    fold.set_eval()\n    fold.module.eval()\n",
              "    fold.set_eval()\n    fold.module.train()  # MUTANT\n")],
        [S + "test_validation_loss_is_the_eval_mode_loss[per-fold]"],
    ),
    Break(
        "train-mode-validation-stacked",
        "validation runs in training mode (the stacked path: folds of >= 256 rows)",
        [Edit("_stack.py", "            fold.set_eval()\n            fold.module.eval()\n",
              "            fold.set_eval()\n            fold.module.train()  # MUTANT\n")],
        [S + "test_validation_loss_is_the_eval_mode_loss[stacked]"],
    ),
    Break(
        "leak", "validation rows leak into a fold's training rows",
        [Edit("_folds.py",
              "        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)\n",
              "        train = np.concatenate([train, test])  # MUTANT: leak\n"
              "        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)\n")],
        [S + "test_validation_rows_never_reach_the_folds_training"],
    ),
    Break(
        "rows-reversed", "cv_results_ rows come out in reverse order (params and scores together)",
        [Edit("_search.py", '            candidates = self._candidate_points(hyper["result"])\n',
              '            candidates = self._candidate_points(hyper["result"])[::-1]'
              '  # MUTANT\n')],
        [S + "test_rows_are_the_path_in_order_and_rescore_independently"],
    ),
    Break(
        "rows-misaligned", "cv_results_ rows' params come out in another order than their scores",
        [Edit("_search.py",
              "        candidate_params = [builder.space.values_from_unit(t) "
              "for t in candidates]\n",
              "        candidate_params = [builder.space.values_from_unit(t) "
              "for t in candidates[::-1]]  # MUTANT\n")],
        [S + "test_rows_are_the_path_in_order_and_rescore_independently"],
    ),
    # issue 10: numbers that match real fits by default
    Break(
        "verify-off", "best_score_ is the hypernet-scored row again (verify=0 by default)",
        [Edit("_search.py", "        verify=1,\n", "        verify=0,  # MUTANT\n")],
        ["test_ridge_oracle.py::test_search_lands_near_closed_form_optimum[0]"],
    ),
    Break(
        "rows-shuffled", "hyper-training shuffles the rows though the net (skorch) does not",
        [Edit("_skorch_settings.py",
              '    settings.shuffle = bool(given.get("shuffle", False))\n',
              "    settings.shuffle = True  # MUTANT\n")],
        ["test_skorch_settings.py::test_rows_are_in_order_unless_the_net_shuffles[None]"],
    ),
    # vector keys (PerLayer / PerUnit / PerWeight)
    Break(
        "block-penalty-shared", "a block's penalty uses its mean decay, not each element's",
        [Edit("_targets.py", "            (slot.take(value) * weights[slot.name].pow(2)).sum()",
              "            (value.mean() * weights[slot.name].pow(2)).sum()  # MUTANT")],
        [V + "test_block_penalty_is_the_explicit_per_element_sum_and_others_keep_the_nets_decay",
         "test_ridge_per_feature.py::test_per_feature_decays_beat_the_best_shared_decay"
         "_of_the_closed_form[0]"],
    ),
    Break(
        "no-own-response", "a block's elements do not respond to their own coordinate",
        [Edit("_hypernet.py",
              "        return weight * torch.expm1(-torch.nn.functional.softplus(diagonal) * e)",
              "        return 0 * weight  # MUTANT: no per-element response")],
        [V + "test_each_block_coordinate_moves_its_own_weights_in_the_hypernet"],
    ),
    # issue 20: real fits choose among distinct candidates; values at a bound say so
    Break(
        "no-scan-candidate", "the real fits never see the scan's pick",
        [Edit("_candidates.py", '    if "scan" in sources and scan_point is not None:\n',
              '    if False:  # MUTANT: no scan candidate\n')],
        [C + "test_on_a_flat_objective_the_search_does_not_report_the_weak_end_of_its"
         "_candidates[0]"],
    ),
    Break(
        "ties-to-the-weaker", "a tie goes to the less regularized row",
        [Edit("_candidates.py",
              "strengths[i] < strengths[chosen] + DISTINCT:",
              "strengths[i] > strengths[chosen] - DISTINCT:  # MUTANT")],
        [C + "test_a_tie_within_one_paired_standard_error_goes_to_the_more_regularized_row"],
    ),
    Break(
        "seeds-per-candidate", "each candidate's fits draw other seeds (no common random numbers)",
        [Edit("_search.py", "None if seed is None else seed + k, device,",
              "None if seed is None else seed + i, device,  # MUTANT")],
        [C + "test_every_candidate_row_is_real_fits_from_common_seeds"],
    ),
    Break(
        "no-bound-warning", "a value at a bound goes unsaid",
        [Edit("_bounds.py", "AT_BOUND = 0.05\n", "AT_BOUND = -1.0  # MUTANT\n")],
        ["test_bounds.py::test_a_search_ending_at_a_bound_warns_with_the_pipeline_key_and"
         "_prints_it"],
    ),
    Break(
        "verify-on-tuned-rows", "verify_rows='held_out' scores the real fits on the tuned half",
        [Edit("_search.py", "proposals, builder.space, X, y, held_out, scorers",
              "proposals, builder.space, X, y, tuning, scorers")],
        [C + "test_every_candidate_row_is_real_fits_from_common_seeds"],
    ),
    Break(
        "1d-target-broadcasts", "a regressor's 1-D y trains against an (n, 1) output",
        [Edit("_checks.py", "    if isinstance(net, NeuralNetRegressor) and y_train.dim() == 1",
              "    if False and y_train.dim() == 1")],
        ["test_inputs.py::test_a_1d_target_for_an_n_by_1_output_is_refused_with_the_reshape"],
    ),
    Break(
        "labels-unchecked", "string and float class labels reach torch",
        [Edit("_checks.py", "    if not _trains_on_class_indices(net):\n        return\n    labels",
              "    if True:  # MUTANT\n        return\n    labels")],
        ["test_inputs.py::test_string_labels_are_refused_and_the_label_encoder_fix_works",
         "test_inputs.py::test_integer_valued_float_labels_are_refused_with_astype"],
    ),
    Break(
        "dataframe-columns-unchecked", "a DataFrame reaches a forward that takes no columns",
        [Edit("_checks.py", "    if unknown:\n", "    if False:  # MUTANT\n")],
        ["test_inputs.py::test_a_dataframe_whose_columns_forward_does_not_take_is_refused"],
    ),
    Break(
        "one-key-per-error", "param_bounds' problems are told one run at a time",
        [Edit("_keys.py", "    if len(problems) == 1:\n", "    if problems:  # MUTANT\n")],
        ["test_keys.py::test_bad_keys_get_one_error_naming_every_key"],
    ),
    Break(
        "fix-without-step-prefix", "a fix names the net's key where the user wrote the step's",
        [Edit("_keys.py", "    if step_name is None:\n        return message\n",
              "    if True:  # MUTANT\n        return message\n")],
        ["test_keys.py::test_a_misspelled_and_a_foreign_key_are_told_with_the_pipeline_prefix",
         "test_keys.py::test_the_suggested_spelling_works"],
    ),
    Break(
        "unprefixed-key-as-axis", "a Pipeline key without the net's prefix is offered as an axis",
        [Edit("_keys.py", "        unplaced = _unplaced_key(key, step_name, estimator, fresh)\n"
                          "        if unplaced is not None:\n            return unplaced, None\n"
                          "        return ValueError(",
              "        return ValueError(  # MUTANT")],
        ["test_keys.py::test_a_net_key_without_the_step_prefix_is_told_where_it_goes"],
    ),
    Break(
        "int32-labels-reach-torch", "int32 class labels reach torch's loss",
        [Edit("_checks.py", "    if labels.dtype in (np.int64, np.uint8) and labels.min() >= 0:",
              "    if labels.dtype.kind in 'iu' and labels.min() >= 0:  # MUTANT")],
        ["test_inputs.py::test_integer_labels_torch_cannot_take_are_refused_with_astype[int32]"],
    ),
    Break(
        "binary-labels-unchecked", "a binary classifier trains on labels not coded 0/1",
        [Edit("_checks.py", "        _check_binary_targets(y)\n", "        pass  # MUTANT\n")],
        ["test_inputs.py::test_binary_labels_not_coded_0_1_are_refused_with_the_encoding"
         "[1.0-2.0]"],
    ),
    Break(
        "lists-are-errors", "a list in param_bounds is not a grid axis",
        [Edit("_grid.py", "    return isinstance(param_bounds, dict) and any(is_axis(v) for v in ",
              "    return False and any(is_axis(v) for v in ")],
        [G + "test_a_list_only_grid_scores_as_gridsearchcv_fits",
         G + "test_a_mixed_grid_has_one_row_per_combination_at_its_search_s_best_point"],
    ),
    Break(
        "grid-row-without-its-values", "a combination's row forgets the lists' values",
        [Edit("_grid.py", 'table_row(results, index, {**fixed, **results["params"][index]})',
              'table_row(results, index, dict(results["params"][index]))')],
        [G + "test_a_mixed_grid_has_one_row_per_combination_at_its_search_s_best_point"],
    ),
    Break(
        "grid-seeds-differ", "each combination's search draws its own seed",
        [Edit("_grid.py", 'random_state=prepared["seed"], refit=False',
              'random_state=None, refit=False')],
        [G + "test_every_combination_s_search_uses_the_same_splits_and_seed"],
    ),
    Break(
        "grid-ranks-stale", "the grid's rank_test_* are not recomputed over the combinations",
        [Edit("_grid.py", '    return rankdata(-filled, method="min").astype(np.int32)',
              '    return np.ones(len(means), dtype=np.int32)  # MUTANT')],
        [G + "test_a_list_only_grid_scores_as_gridsearchcv_fits"],
    ),
    Break(
        "per-input-as-rows", "PerInput's values scale rows (output units), not columns",
        [Edit("_blocks.py", "            return (1, self.shape[1]) + (1,) * (len(self.shape) - 2)",
              "            return (self.shape[1],) + (1,) * (len(self.shape) - 1)")],
        [V + "test_per_input_values_are_columns_even_on_a_square_weight"],
    ),
    Break(
        "refit-drops-vector-decay", "with_params leaves a vector decay out of the refit",
        [Edit("_refit.py", "        estimator.set_params(**extra)\n",
              "        pass  # MUTANT: the refit ignores the vector decay\n")],
        [V + "test_with_params_trains_the_same_objective_as_a_loss_penalty[decays0]",
         V + "test_best_estimator_equals_the_documented_call"],
    ),
    Break(
        "stacked-fits-without-decay", "the stacked verify fits leave the candidates' decays out",
        [Edit("_stacked_fits.py", "        total = penalties.sum()\n",
              "        total = 0 * penalties.sum()  # MUTANT\n")],
        [F + "test_stacked_fits_end_where_skorchs_fits_end[per-unit-SGD-extra0]",
         F + "test_stacked_fits_end_where_skorchs_fits_end[per-unit-Adam-extra1]"],
    ),
    Break(
        "stacked-fits-rows-lose-labels", "a stacked fit's shuffled rows take another row's label",
        [Edit("_stacked_fits.py", "        X, y = self._data.X[batch], self._data.y[batch]\n",
              "        X, y = self._data.X[batch], self._data.y[batch.sort(dim=1).values]\n")],
        [F + "test_stacked_fits_with_shuffled_rows_and_dropout_score_as_skorchs_do"],
    ),
    Break(
        "stacked-fits-unseeded", "the stacked fits' dropout draws from the caller's RNG",
        [Edit("_search.py",
              "            with propagate_interrupts(), _seeded_torch(device, seed):\n",
              "            with propagate_interrupts():  # MUTANT\n")],
        [F + "test_stacked_fits_with_dropout_are_reproducible_under_a_fixed_random_state"],
    ),
    Break(
        "stacked-fits-one-batch-count", "members whose folds have one batch less stack anyway",
        [Edit("_stacked_fits.py", "math.ceil(n / size), n // size)", "0, 0)")],
        [F + "test_stacked_fits_end_where_skorchs_fits_end[scalar-SGD-extra0]"],
    ),
    Break(
        "grid-says-stacked-when-mixed", "a grid whose plain points fit through skorch says stacked",
        [Edit("_grid.py", 'return "stacked" if ways == {"stacked"} else "skorch"',
              'return "stacked" if "stacked" in ways else "skorch"  # MUTANT')],
        [F + "test_a_grid_with_lists_says_how_its_real_fits_trained"],
    ),
]

GUARD = '''\
"""Written by tests/mutations.py: fail the run unless skhyper is imported from the copy."""
import os
import sys

import pytest


def pytest_collection_finish(session):
    copy = os.environ["SKHYPER_MUTANT_DIR"]
    mods = {n: m for n, m in sys.modules.items() if n == "skhyper" or n.startswith("skhyper.")}
    wrong = sorted(n for n, m in mods.items()
                   if not os.path.realpath(getattr(m, "__file__", "") or "").startswith(copy))
    with open(os.path.join(copy, "imported.txt"), "w") as f:
        f.write(repr(getattr(mods.get("skhyper"), "__file__", None)))
    if not mods or wrong:
        pytest.exit(f"skhyper not imported from the mutant copy {copy}: {wrong or 'none'}", 3)
'''


class MutationError(Exception):
    pass


def apply(brk, package):
    for edit in brk.edits:
        path = package / edit.file
        text = path.read_text()
        count = text.count(edit.old)
        if count != 1:
            raise MutationError(
                f"break {brk.name!r}: in skhyper/{edit.file} the text to replace occurs "
                f"{count} times (exactly 1 needed); the source changed, so update this "
                f"break's edit in tests/mutations.py. Text:\n{edit.old}"
            )
        path.write_text(text.replace(edit.old, edit.new))


def run_subset(brk, source, subset, timeout):
    """Copy the package, apply ``brk`` (None: unbroken), run the subset; returns a dict."""
    with tempfile.TemporaryDirectory(prefix="skhyper-mutant-") as tmp:
        tmp = os.path.realpath(tmp)
        package = Path(tmp) / "skhyper"
        shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
        if brk is not None:
            apply(brk, package)
        Path(tmp, "_mutation_guard.py").write_text(GUARD)
        report = Path(tmp, "report.xml")
        env = {**os.environ, "PYTHONPATH": tmp, "SKHYPER_MUTANT_DIR": tmp,
               "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", *[str(TESTS / f) for f in subset], "-q",
               "-p", "no:cacheprovider", "-p", "_mutation_guard", f"--junitxml={report}",
               "-o", "junit_family=xunit1"]
        begin = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": True, "failed": [], "seconds": time.perf_counter() - begin}
        seconds = time.perf_counter() - begin
        imported = Path(tmp, "imported.txt")
        if proc.returncode == 3 or not imported.exists() or not report.exists():
            raise MutationError(
                f"{brk.name if brk else 'unbroken copy'}: the run did not import skhyper "
                f"from the copy, or did not report (exit {proc.returncode}):\n"
                f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            )
        failed, total = [], 0
        for case in ET.parse(report).iter("testcase"):
            total += 1
            if case.find("failure") is not None or case.find("error") is not None:
                module = case.get("file") or case.get("classname", "").split(".")[-1] + ".py"
                failed.append(f"{Path(module).name}::{case.get('name')}")
        return {"timeout": False, "failed": failed, "total": total, "seconds": seconds,
                "imported": imported.read_text()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", default=str(ROOT / "skhyper"),
                        help="the package directory to copy (default: this checkout's)")
    parser.add_argument("--only", action="append", help="run only the named break(s)")
    parser.add_argument("--list", action="store_true", help="list the breaks and exit")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per run")
    args = parser.parse_args(argv)

    breaks = [b for b in BREAKS if not args.only or b.name in args.only]
    if args.only and len(breaks) != len(set(args.only)):
        parser.error(f"unknown break in {args.only}; known: {[b.name for b in BREAKS]}")
    if args.list:
        for b in BREAKS:
            print(f"{b.name}: {b.what}")
            for c in b.catchers:
                print(f"    must fail: {c}")
        return 0
    source = Path(args.package).resolve()
    begin = time.perf_counter()
    # every edit must apply before anything runs
    broken = []
    for b in breaks:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copytree(source, Path(tmp) / "skhyper",
                            ignore=shutil.ignore_patterns("__pycache__"))
            try:
                apply(b, Path(tmp) / "skhyper")
            except MutationError as err:
                broken.append(str(err))
    if broken:
        print("MUTATION CHECK BROKEN:", *broken, sep="\n\n", file=sys.stderr)
        return 2

    print(f"Mutation check: {len(breaks)} breaks of {source}, subset: {', '.join(SUBSET)}",
          flush=True)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        try:
            futures = {None: pool.submit(run_subset, None, source, SUBSET, args.timeout)}
            futures.update({b.name: pool.submit(run_subset, b, source, SUBSET, args.timeout)
                            for b in breaks})
            results = {name: f.result() for name, f in futures.items()}
        except MutationError as err:
            print(f"MUTATION CHECK BROKEN: {err}", file=sys.stderr)
            return 2

    base = results.pop(None)
    print(f"unbroken copy: {base['total']} tests, {len(base['failed'])} failed "
          f"({base['seconds']:.0f} s; skhyper imported from {base['imported']})")
    if base["timeout"] or base["failed"]:
        print("The subset must pass on the unbroken package first:", *base["failed"],
              sep="\n  ", file=sys.stderr)
        return 2

    problems = []
    rows = []
    for b in breaks:
        r = results[b.name]
        if r["timeout"]:
            rows.append((b.name, "caught (timed out)", ["(the run timed out)"]))
            continue
        missed = [c for c in b.catchers if c not in r["failed"]]
        if not r["failed"]:
            problems.append(f"{b.name}: SURVIVED (no test failed)")
        for c in missed:
            problems.append(f"{b.name}: its catcher {c} passed")
        status = "caught" if r["failed"] and not missed else "SURVIVED" if not r["failed"] \
            else "caught, not by its catcher"
        rows.append((b.name, f"{status} ({len(r['failed'])}/{r['total']} failed, "
                             f"{r['seconds']:.0f} s)", r["failed"]))

    print()
    print("| break | result | failing tests (its catchers in bold) |")
    print("|---|---|---|")
    for b, (name, status, failed) in zip(breaks, rows):
        ordered = [t for t in failed if t in b.catchers] + [t for t in failed
                                                            if t not in b.catchers]
        shown = [f"**{t}**" if t in b.catchers else t for t in ordered]
        print(f"| {name} | {status} | {'; '.join(shown) or '-'} |")
    print(f"\nTotal {time.perf_counter() - begin:.0f} s.")
    if problems:
        print("\nMUTATION CHECK FAILED:", *problems, sep="\n  ")
        return 1
    print("Every break was caught by the tests that assert its behaviour.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
