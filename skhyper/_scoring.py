"""Scoring a fitted hypernet's weights: one fold's net at one point, as sklearn scores.

Both the estimator (``_search``: the rows of ``cv_results_``) and the
landscape (``_landscape``: ``virtual_grid_search``) score through here, so
neither imports the other for it.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.model_selection._validation import _score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _check_method_params

from ._folds import load_weights
from ._inference import fast_inference

#: ``cv_results_["scored_by"]`` of a row scored with a hypernet's weights at its point.
SCORED_BY_HYPERNET = "hypernet"
#: ``cv_results_["scored_by"]`` of a row scored by real fits of the net (``verify``).
SCORED_BY_REAL_FITS = "real fits"


def with_scored_by(results, source):
    """``results`` (a ``cv_results_``-shaped dict) with a ``scored_by`` column saying
    what scored its rows: :data:`SCORED_BY_HYPERNET` or :data:`SCORED_BY_REAL_FITS`."""
    results["scored_by"] = np.array([source] * len(results["params"]), dtype=object)
    return results


def with_source(results, source):
    """``results`` with a ``source`` column saying where each row's point came from
    (``_candidates.SOURCES``; one label for every row, or a list, one per row)."""
    n_rows = len(results["params"])
    labels = [source] * n_rows if isinstance(source, str) else list(source)
    results["source"] = np.array(labels, dtype=object)
    return results


def score_at(hypernet, estimator, t, X, y, split, scorers, score_params, fit_time,
             error_score, return_train_score):
    """Score the hypernet's weights at unit coordinates ``t`` on one split.

    The weights are copied into the fold's ``estimator`` (its net, or the last
    step of its fitted Pipeline) and the scorers applied as sklearn's
    ``_fit_and_score`` would; returns its record.
    """
    ref = next(hypernet.parameters())
    with torch.no_grad():
        weights = hypernet(torch.as_tensor(t, dtype=ref.dtype, device=ref.device))
    return score_weights(weights, estimator, X, y, split, scorers, score_params, fit_time,
                         error_score, return_train_score)


def score_weights(weights, estimator, X, y, split, scorers, score_params, fit_time,
                  error_score, return_train_score):
    """Score the module parameters ``weights`` on one split, through the fold's
    ``estimator`` (see :func:`score_at`); returns its record."""
    load_weights(estimator, weights)
    net = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    with fast_inference(net):
        return _score_split(estimator, X, y, split, scorers, score_params, fit_time,
                            error_score, return_train_score)


def _score_split(estimator, X, y, split, scorers, score_params, fit_time, error_score,
                 return_train_score):
    train, test = split
    begin = time.perf_counter()
    record = {
        "test_scores": _score(
            estimator, _safe_indexing(X, test), _safe_indexing(y, test), scorers,
            _check_method_params(X, score_params, indices=test), error_score,
        ),
        "n_test_samples": len(test),
        "fit_time": fit_time,
        "fit_error": None,
    }
    record["score_time"] = time.perf_counter() - begin
    if return_train_score:
        record["train_scores"] = _score(
            estimator, _safe_indexing(X, train), _safe_indexing(y, train), scorers,
            _check_method_params(X, score_params, indices=train), error_score,
        )
    return record
