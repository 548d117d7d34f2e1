"""sklearn's callbacks (``set_callbacks``) during ``HypernetSearchCV.fit``: the task tree.

``fit`` opens the callback context that ``BaseSearchCV.fit`` opens, with these tasks::

    fit
    |-- hyper-training            one leaf per epoch ("epoch")
    |-- scoring                   one leaf per row and fold ("candidate-split-scoring")
    |-- verify                    verify > 0: one leaf per real fit, handed to sklearn's
    |                             _fit_and_score as GridSearchCV hands it its fits
    `-- refit-with-best-params    refit: the refit's net gets the context, as in BaseSearchCV

``ProgressBar`` draws a bar per non-leaf task. ``ScoringMonitor`` scores each
(row, fold) leaf: its ``fitted_estimator`` is the search with that fold's net,
carrying the final hypernet's weights at the row's point, as ``best_estimator_``,
and its ``X``, ``y`` are the fold's training rows, as in sklearn's
``_fit_and_score``; with the search's scorer and ``return_train_score=True`` it
logs ``cv_results_``'s ``split{k}_train_score`` of the hypernet-scored rows.
"""

from __future__ import annotations

import contextlib

from sklearn.utils import _safe_indexing


def callback_metadata(params):
    """The metadata sklearn hands the callback hooks: the sample weights, if any."""
    sample_weight = params.get("sample_weight")
    return None if sample_weight is None else {"sample_weight": sample_weight}


def open_root(search, X, y, metadata):
    """The root ``fit`` task of ``search``'s callbacks (their ``setup`` runs here)."""
    n_tasks = 2 + (search.verify > 0) + (search.refit is not False)
    root = search._init_callback_context(max_subtasks=n_tasks)
    return root.call_on_fit_task_begin(estimator=search, X=X, y=y, metadata=metadata)


@contextlib.contextmanager
def subtask(parent, search, task_name, max_subtasks=0, sequential_subtasks=True):
    """A task under ``parent``, begun on entry and ended when the block succeeds."""
    context = parent.subcontext(task_name=task_name, max_subtasks=max_subtasks,
                                sequential_subtasks=sequential_subtasks)
    context.call_on_fit_task_begin(estimator=search)
    yield context
    context.call_on_fit_task_end(estimator=search)


def epoch_done(context, search):
    """One epoch of hyper-training, as a leaf of ``context`` (the loop reports an
    epoch when it ends, so the leaf begins and ends then)."""
    leaf = context.subcontext(task_name="epoch")
    leaf.call_on_fit_task_begin(estimator=search)
    leaf.call_on_fit_task_end(estimator=search)


def row_scored(context, search, fold_estimator, record, X, y, train, fit_params,
               task_name="candidate-split-scoring", task_id=None):
    """One (row, fold) scored, as a leaf ``task_name`` of ``context``:
    ``fitted_estimator`` is ``search`` with ``fold_estimator`` (the fold's net at the
    row's point) as its ``best_estimator_``; ``X``, ``y`` are the fold's training
    rows (``task_id``: the leaf's place among parallel siblings). Everything is
    built only if a callback asks for it."""
    leaf = (context.subcontext(task_name=task_name) if task_id is None
            else context.subcontext(task_name=task_name, task_id=task_id))
    metadata = callback_metadata(fit_params)
    if metadata is not None:
        metadata = {"sample_weight": _safe_indexing(metadata["sample_weight"], train)}
    hooks = dict(
        X=lambda: _safe_indexing(X, train), y=lambda: _safe_indexing(y, train),
        metadata=metadata,
        reconstruction_attributes=lambda: _as_best(search, fold_estimator, record),
    )
    leaf.call_on_fit_task_begin(estimator=search, **hooks)
    leaf.call_on_fit_task_end(estimator=search, **hooks)


def _as_best(search, fold_estimator, record):
    """The attributes that make a copy of ``search`` predict and score as
    ``fold_estimator`` (sklearn's callbacks build ``fitted_estimator`` from them)."""
    scorers = search._get_scorers()[0]
    return {
        "best_estimator_": fold_estimator,
        "scorer_": scorers._scorers if hasattr(scorers, "_scorers") else scorers,
        "multimetric_": isinstance(record["test_scores"], dict),
        "refit": search.refit or True,  # predict/score need a refit search
    }
