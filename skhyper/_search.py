"""HypernetSearchCV: the estimator. Orchestration only.

Validate, split, build the folds, run the hyper-training loop, score the
points it visited, build ``cv_results_``, refit, delegate. The method lives
in ``_train`` (the loop), ``_hypernet`` (weights as a function of the
hyperparameters) and ``_targets`` (how each hyperparameter enters the loss).
"""

from __future__ import annotations

import contextlib
import numbers
import time
import warnings
from collections import Counter

import numpy as np
import torch
from joblib import Parallel, delayed
from joblib.parallel import (
    LokyBackend,
    MultiprocessingBackend,
    SequentialBackend,
    ThreadingBackend,
    get_active_backend,
)
from sklearn.base import clone, is_classifier
from sklearn.callback import with_callbacks
from sklearn.model_selection import check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _fit_and_score,
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_method_params, _num_samples
from tqdm.auto import tqdm

from . import _callbacks
from ._blocks import Block
from ._bounds import values_at_bounds
from ._candidates import SOURCES, distinct_candidates, most_regularized_tie, regularization_strength
from ._checks import (
    check_class_labels,
    check_dense,
    check_device,
    check_estimator_kind,
    check_list_rows,
    check_splits,
    check_target_frame,
    propagate_interrupts,
)
from ._distributed import Ranks, fold_seed
from ._folds import (
    FoldBuilder,
    batch_size_of,
    check_finite,
    check_net_params,
    optimizer_factory,
    split_estimator,
)
from ._grid import check_grids, fit_grid, has_axes
from ._holdout import can_halve, validation_halves
from ._hypernet import HYPERNETS
from ._keys import check_keys
from ._landscape import predicted_loss, virtual_grid_search
from ._refit import with_params
from ._scoring import (
    SCORED_BY_HYPERNET,
    SCORED_BY_REAL_FITS,
    score_at,
    score_weights,
    with_scored_by,
    with_source,
)
from ._skorch_settings import read_settings
from ._space import format_value, from_unit_array, parse_bounds
from ._stacked_fits import initial_weights, train_candidates, why_not_stacked
from ._train import HyperTrainer, LoopConfig
from .exceptions import SkhyperWarning

_FITTED = (
    "cv_results_", "hypernet_results_", "trajectory_", "best_index_", "best_params_",
    "best_score_", "best_estimator_", "refit_time_", "scorer_", "n_splits_",
    "multimetric_", "feature_names_in_", "hypernets_", "search_time_",
    "fold_estimators_", "split_indices_", "batched_folds_", "n_epochs_", "search_space_",
    "shrinkage_", "at_bounds_", "verify_splits_", "grid_searches_", "verify_fits_",
)


#: What a grid's search takes from its best combination's continuous search.
_FROM_BEST_COMBINATION = (
    "trajectory_", "hypernets_", "fold_estimators_", "verify_splits_", "batched_folds_",
    "n_epochs_", "search_space_", "shrinkage_",
)

#: shrinkage="auto" is this times the number of vector-key hyperparameters per data row.
AUTO_SHRINKAGE = 5.0


@contextlib.contextmanager
def _seeded_torch(device, seed):
    """Seed torch inside the block and give the caller's RNG state back afterwards.

    With ``seed=None`` the block uses (and advances) the caller's RNG, as
    GridSearchCV's fits do.
    """
    if seed is None:
        yield
        return
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        fork = torch.random.fork_rng(devices=[index])
    else:
        fork = torch.random.fork_rng(devices=[])
    with fork:
        torch.manual_seed(seed)
        yield


def _seeded_fit_and_score(seed, device, *args, **kwargs):
    """sklearn's ``_fit_and_score`` with torch seeded (``seed=None``: as it is)."""
    with _seeded_torch(device, seed):
        return _fit_and_score(*args, **kwargs)


def _seeded_refit(seed, device, estimator, X, y, fit_params, callback_ctx, caller):
    """Fit ``estimator`` with torch seeded (``seed=None``: as it is): one joblib task.

    The net gets ``callback_ctx`` during its fit, as ``BaseSearchCV``'s refit does.
    Returns the fitted estimator and its fit time, measured where it ran.
    """
    metadata = _callbacks.callback_metadata(fit_params)
    with _seeded_torch(device, seed), propagate_interrupts():  # skorch's fit swallows Ctrl-C
        with callback_ctx.propagate_callback_context(estimator):
            callback_ctx.call_on_fit_task_begin(estimator=caller, X=X, y=y, metadata=metadata)
            begin = time.perf_counter()
            estimator.fit(X, y, **fit_params)
            refit_time = time.perf_counter() - begin
        callback_ctx.call_on_fit_task_end(estimator=caller, X=X, y=y, metadata=metadata)
        return estimator, refit_time


#: joblib's own backends, which run on this machine. One refit gains nothing from a
#: worker there (a loky worker would also get only a share of the CPU threads), so
#: under them the refit stays in this process; any other backend (Dask, Ray) gets it.
_LOCAL_BACKENDS = (SequentialBackend, ThreadingBackend, LokyBackend, MultiprocessingBackend)


def _counted(n, noun):
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 fold", "3 folds"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _sources_counted(sources):
    """Candidate rows by source, in order of first appearance: "2 path rows, 1 scan row"."""
    return ", ".join(_counted(n, f"{source} row") for source, n in Counter(sources).items())


def _refit_parallel(n_jobs):
    """The ``Parallel`` that runs the refit: the active backend unless it is local."""
    backend, _ = get_active_backend()
    return Parallel(n_jobs=1 if type(backend) in _LOCAL_BACKENDS else n_jobs)


class HypernetSearchCV(BaseSearchCV):
    """Tune a skorch net's continuous hyperparameters through hypernetworks.

    Instead of fitting the net once per candidate and fold like
    ``GridSearchCV``, it trains, per CV fold, a hypernetwork that outputs the
    net's weights as a function of the hyperparameters, and moves the
    hyperparameters by gradient descent on the mean validation loss of the
    folds (Lorraine & Duvenaud 2018; MacKay et al. 2019; Bae & Grosse 2020).

    Parameters
    ----------
    estimator : skorch NeuralNet or Pipeline ending in one
        The net to tune. Its ``max_epochs``, ``batch_size``, ``optimizer``,
        ``lr`` and ``device`` also drive the hyper-training of each fold.
    param_bounds : dict or list of dicts
        Maps the estimator's own parameter names to ranges, tuned by gradient,
        or to lists, grid axes as in ``GridSearchCV`` (any key the estimator
        takes: ``lr``, ``max_epochs``, a layer size, a Pipeline step's
        parameter). With lists, each combination of them gets its own search of
        the ranges (one row of ``cv_results_`` each), and a combination without a
        range is fitted for real as ``GridSearchCV`` fits it; a list of dicts is a
        list of such grids (see the user guide, "Lists: your GridSearchCV grid").
        Ranges: ``(low, high)``,
        ``(low, high, "log")`` or a frozen ``scipy.stats.uniform`` /
        ``loguniform``. Supported keys: ``optimizer__weight_decay``,
        ``module__NAME`` and ``criterion__NAME`` as skorch reads them, a
        constructor argument (``p`` of ``__init__(self, p=0.5)``), tuned where
        the built module keeps it (a dropout layer's ``p`` or a float read in
        forward, e.g. ``label_smoothing``), each behind ``step__`` in a Pipeline, and keys
        with a target registered by :func:`skhyper.register_target`.
        ``optimizer__weight_decay`` also takes vector bounds,
        :class:`~skhyper.PerLayer`, :class:`~skhyper.PerUnit` or
        :class:`~skhyper.PerWeight` (one decay per tensor, output unit or
        weight); ``best_params_`` then holds a dict per vector key and the refit
        is :func:`skhyper.with_params` ``(estimator, best_params_)``.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, \
return_train_score
        As in ``GridSearchCV``. ``verbose=1`` shows a progress bar over the
        epochs (current hyperparameters and losses) and a summary line;
        ``verbose>=2`` adds each fold's training loss every epoch. ``scoring``
        ranks the points the search visited; the differentiable objective is
        always the net's own criterion. ``n_jobs`` parallelizes the
        verification fits (with grid axes, each combination's in turn, and the
        candidates without a range). They follow joblib's active backend, and so
        does the refit when that backend is not a local one: under
        ``joblib.parallel_backend("dask")`` both run on the Dask cluster's
        workers, seeded inside each task (docs/scaling_out.md).
        ``error_score`` applies to scoring and verification fits; a
        hyper-training that diverges always raises.
    random_state : int, RandomState instance or None, default=None
        Seeds the nets' initialization and the search; when not None, also
        the refit and the verification fits, so ``fit`` is idempotent. torch's
        global RNG is left as it was, except that with ``None`` the refit and
        verification fits draw from it, as GridSearchCV's fits do.
    hypernet : {"structured", "linear", "mlp"}, default="structured"
        The best-response model: structured per-unit scaling (about 2x the
        net's parameters), linear in the hyperparameters, or a small MLP.
    warmup_fraction : float in [0, 1), default=0.3
        Fraction of the epochs spent training the hypernets before any
        hyperparameter step.
    warmup_sampling : {"global", "local"}, default="global"
        During the warm-up, sample hyperparameters uniformly over the whole
        box ("global", then start from the best point of a coarse scan of
        the box as predicted by the hypernets) or around the starting point.
    hyper_lr : float, default=0.05
        Adam learning rate of the hyperparameters in search coordinates
        (``logit`` of the unit coordinate).
    hyper_steps_per_epoch : int, default=2
        Hyperparameter steps per epoch after the warm-up.
    early_stopping : bool, default=False
        Stop hyper-training once the search has settled: past half of
        ``max_epochs``, when over the last tenth of the epochs the
        hyperparameters moved less than 1% of the box (in unit coordinates)
        and the validation loss at them stopped improving. The rows are then
        scored by hypernets trained for ``n_epochs_`` epochs; the refit still
        trains ``max_epochs``. False trains the hypernets for ``max_epochs``.
    response_lr_factor : float, default=10.0
        Learning rate of the hypernets' response parameters (how the weights
        move with the hyperparameters) as a multiple of the net's ``lr``; the
        rest of the hypernets train at the net's ``lr``.
    perturb_scale : float, default=0.1
        Standard deviation, in unit coordinates (the box scaled to
        ``[0, 1]`` per hyperparameter, log-scaled where asked), of the
        perturbation around the current hyperparameters when training the
        hypernets; reflected at the walls.
    global_share : float in [0, 1], default=0.0
        After the warm-up, the probability that a training step samples its
        hyperparameters uniformly over the whole box instead of around the
        current point (one draw per step, shared by all folds). Keeps the
        hypernets' model of the whole box for :meth:`predicted_loss` and
        :meth:`virtual_grid_search`: with ``hypernet="mlp"``, ``0.1`` ranked a
        5x5 digits grid with Spearman 0.89-0.91 against GridSearchCV (see the
        user guide, "The landscape after a search").
    n_candidates : int, default=10
        The most points of the search path that become rows of ``cv_results_``
        (the hyperparameters at the end of evenly spaced epochs after the
        warm-up, always including the last). A maximum: with fewer epochs
        after the warm-up there are fewer points to pick, and a point the path
        repeats (the hyperparameters did not move between picked epochs) is
        one row.
    verify : int, default=1
        Real fits decide. The ``verify`` best hypernet-scored rows of the search
        path, and the other candidates of ``verify_sources``, are fitted for real
        on every fold (the net's own ``fit``, as ``GridSearchCV`` runs it, fold
        ``k`` from the same seed for every candidate), and ``cv_results_`` (hence
        ``best_score_``) holds those real fits, comparable with a
        ``GridSearchCV``'s; all the hypernet-scored rows stay in
        ``hypernet_results_``. Each candidate costs ``cv`` fits on the training
        folds (about 2 plain fits at ``cv=3``). ``verify=0`` skips them:
        ``cv_results_`` is then ``hypernet_results_``, scores of hypernet weights
        that can be off real fits in either direction (the best row by up to 13%
        on the workloads of ``benchmarks/trust.py``; the user guide, "What
        ``best_score_`` means"); its ``scored_by`` column says so.
    verify_sources : tuple of str, default=("path", "scan", "shared")
        Where the real fits' candidates come from, besides the path's ``verify``
        best rows (``"path"``): ``"scan"``, the best point of the coarse scan of
        the box after the warm-up (every block at one shared value: the scalar
        search's answer); ``"shared"``, the best path row with each block at its
        shared value (with vector keys only); ``"stronger"``, the best path row
        moved a fifth of each range toward stronger regularization. A candidate
        within 1% of the box of an earlier one is the same row. So the search
        never reports a point that real fits score below its own scalar candidate
        (under ``select="best"``; see the user guide, "Candidates and ties").
    verify_rows : {"all", "held_out"}, default="all"
        Which validation rows the real fits are scored on. ``"all"``: each fold's
        validation rows, as ``GridSearchCV`` scores. ``"held_out"``: each fold's
        validation rows are split in two at random (by class for a classifier);
        the hyper steps and ``hypernet_results_`` use one half, the real fits score
        the other, which the search never tuned on, so that ``best_score_`` is not
        optimistic when many hyperparameters fit the validation rows. The price:
        a noisier score (half the rows) and a search tuned on half the rows. With
        more vector-key hyperparameters than rows, ``"all"`` warns (see the user
        guide, "How honest ``best_score_`` is with many hyperparameters").
    verify_fits : {"skorch", "stacked"}, default="skorch"
        How the real fits of ``verify`` train. ``"skorch"``: each is the net's own
        ``fit``, run as ``GridSearchCV`` runs it (``n_jobs``, joblib's backend).
        ``"stacked"``: every candidate x fold trains at once, as the hyper-training's
        folds do: the module from the same initialization, the fold's training
        rows after the net's ``train_split``, the net's optimizer, batch size,
        epochs, shuffling, gradient clipping and learning-rate policy, and the
        candidate's decays. Where training draws nothing else (rows in order, no
        dropout) the fits end where skorch's end, to float precision; with
        shuffled rows or dropout they are the same fits in distribution. Cheaper
        where skorch's per-fit overhead dominates (small nets on a CPU; measured
        in docs/benchmarks.md, "Where the search's time goes"). A net that trains
        otherwise (its own training step, an optimizer other than SGD, Adam,
        RMSprop or Adagrad, early stopping or another callback that acts, buffers
        such as batch norm's) fits through skorch, with a warning that says why;
        ``verify_fits_`` says which ran.
    select : {"regularized", "best"}, default="regularized"
        How ``best_index_`` is chosen among the real-fit rows. ``"best"``: the
        best mean score, as ``GridSearchCV`` picks. ``"regularized"``: the most
        regularized row that real CV cannot tell from the best (its mean score
        within one standard error of the paired per-fold differences; larger
        values of every key count as stronger regularization, see
        :attr:`HyperTarget.larger_regularizes`). ``rank_test_*`` stay by score,
        so ``best_index_`` may be a tied row ranked below 1. Ignored with
        ``verify=0`` or a callable ``refit``.
    shrinkage : float >= 0 or "auto", default="auto"
        Strength of a hyperprior on vector keys (:class:`~skhyper.PerLayer`,
        :class:`~skhyper.PerUnit`, :class:`~skhyper.PerWeight`): the hyper steps
        also descend ``shrinkage / 2 * mean_i (t_i - mean(t))^2`` of each block
        (unit coordinates), pulling a block's values toward their shared value,
        so that thousands of them cannot fit the validation rows one by one.
        ``"auto"`` is ``5 * n / n_rows`` for ``n`` vector-key hyperparameters and
        ``n_rows`` rows of ``X``: 0 without vector keys, about 0.1 for one decay
        per class of digits, about 100 for one per weight of a digits MLP (see
        the user guide, "Many hyperparameters"). A much larger value makes
        ``best_score_`` honest where thousands of decays would fit the
        validation rows, by pulling them to nearly one shared value (see the
        user guide, "How honest ``best_score_`` is with many hyperparameters").

    Attributes
    ----------
    cv_results_ : dict of numpy (masked) ndarrays
        ``GridSearchCV``'s key scheme, plus ``scored_by`` and ``source``. By
        default (``verify=1``) one row per distinct candidate (the best point of
        the search path, the scan's pick, each block's shared value), scored by
        real fits on every fold (``scored_by`` is ``"real fits"``); ``source``
        says where each row's point came from (``"path"``, ``"scan"``,
        ``"shared"``, ``"stronger"``, joined by ``+`` when they coincide). With
        ``verify=0``, the rows of ``hypernet_results_``. With grid axes, one row
        per combination: the row its own search chose (``source`` ``"grid"``
        for a combination without a range).
    grid_searches_ : list
        With grid axes only: per combination (in the order of ``cv_results_``),
        its fitted search (a :class:`HypernetSearchCV` over the ranges, with the
        combination set on its estimator), or None for a combination without a
        range. ``trajectory_``, ``hypernets_``, ``fold_estimators_``,
        ``search_space_`` and the landscape methods are the best combination's.
    at_bounds_ : list of str
        For each key of ``best_params_`` whose value (or at least a tenth of a
        block's values) lies within 5% of a bound of its range, a message naming
        the key, the bound and the bounds that widen it; each is also issued as a
        :class:`~skhyper.SkhyperWarning` and, with ``verbose=1``, printed in the
        summary. Empty when nothing lies at a bound.
    hypernet_results_ : dict
        The points the search visited, each scored on every fold by the scorers
        applied to the net with the final hypernet's weights at that point
        (``scored_by`` is ``"hypernet"``, ``source`` is ``"path"``). With grid
        axes, every combination's points, with a ``combination`` column that
        indexes ``cv_results_``.
    trajectory_ : dict of ndarrays
        Every hyperparameter step: ``epoch``, ``step``, ``phase``
        ("start", "scan", "local"), ``val_loss`` (the mean fold validation
        loss on the batch of that step) and one column per hyperparameter.
    best_estimator_, best_score_, best_params_, best_index_, scorer_, \
n_splits_, refit_time_, multimetric_
        As in ``GridSearchCV``.
    hypernets_ : list of torch.nn.Module
        The trained hypernet of each fold, on the CPU (so a search fitted on
        a GPU unpickles anywhere).
    search_time_ : float
        Seconds spent in hyper-training (all folds together; with grid axes, all
        combinations).
    search_space_ : SearchSpace
        The box searched, with vector keys laid out over the module's
        parameters; ``len(search_space_)`` is the number of hyperparameters.
    shrinkage_ : float
        The hyperprior strength used (``shrinkage``, with ``"auto"`` resolved).
    n_epochs_ : int
        Epochs of hyper-training: ``max_epochs``, or fewer when
        ``early_stopping`` stopped the search once it had settled.
    batched_folds_ : bool
        Whether the folds trained together, in one vectorized step per batch
        (``torch.func.vmap``; the fast path). False when the data are dicts,
        forward takes fit params, or the module cannot run under ``vmap``
        (e.g. it calls ``.item()``): the folds then train one after the other.
    fold_estimators_ : list
        Per fold, the net (or the Pipeline with its preprocessing fitted on the
        fold's training rows) that carries the hypernet's weights when scored.
    split_indices_ : list of (train, test) arrays
        The splits of hyper-training: the CV splits, or with held-out verify rows
        (``verify_rows``) each fold's training rows and the half of its validation
        rows the hyper steps used.
    verify_splits_ : list of (train, test) arrays
        The splits of the real fits: the CV splits, or each fold's training rows and
        the held-out half of its validation rows.
    verify_fits_ : {"skorch", "stacked"} or None
        How the real fits trained (see ``verify_fits``); None with ``verify=0``.
        With lists, ``"stacked"`` only where every combination's fits trained
        stacked (``grid_searches_`` has each combination's).

    See Also
    --------
    sklearn.model_selection.GridSearchCV : Exhaustive search, one fit per
        candidate and fold.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch import NeuralNetRegressor
    >>> from skhyper import HypernetSearchCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randn(120, 5).astype("float32")
    >>> y = (X @ rng.randn(5, 1) + 0.5 * rng.randn(120, 1)).astype("float32")
    >>> net = NeuralNetRegressor(torch.nn.Linear, module__in_features=5,
    ...     module__out_features=1, max_epochs=10, lr=0.05, verbose=0,
    ...     optimizer=torch.optim.Adam, train_split=None)
    >>> search = HypernetSearchCV(net, {"optimizer__weight_decay": (1e-4, 1.0, "log")},
    ...                           cv=3, random_state=0).fit(X, y)
    >>> sorted(search.best_params_)
    ['optimizer__weight_decay']
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_bounds": [dict, list],
        "random_state": ["random_state"],
        "hypernet": [StrOptions(set(HYPERNETS))],
        "warmup_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "warmup_sampling": [StrOptions({"global", "local"})],
        "hyper_lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "hyper_steps_per_epoch": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "perturb_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "global_share": [Interval(numbers.Real, 0, 1, closed="both")],
        "response_lr_factor": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_candidates": [Interval(numbers.Integral, 1, None, closed="left")],
        "verify": [Interval(numbers.Integral, 0, None, closed="left")],
        "shrinkage": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "verify_sources": [list, tuple],
        "select": [StrOptions({"regularized", "best"})],
        "verify_rows": [StrOptions({"all", "held_out"})],
        "verify_fits": [StrOptions({"skorch", "stacked"})],
    }

    def __init__(
        self,
        estimator,
        param_bounds,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        random_state=None,
        hypernet="structured",
        warmup_fraction=0.3,
        warmup_sampling="global",
        hyper_lr=0.05,
        hyper_steps_per_epoch=2,
        early_stopping=False,
        perturb_scale=0.1,
        global_share=0.0,
        response_lr_factor=10.0,
        n_candidates=10,
        verify=1,
        shrinkage="auto",
        verify_sources=("path", "scan", "shared"),
        select="regularized",
        verify_rows="all",
        verify_fits="skorch",
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_bounds = param_bounds
        self.random_state = random_state
        self.hypernet = hypernet
        self.warmup_fraction = warmup_fraction
        self.warmup_sampling = warmup_sampling
        self.hyper_lr = hyper_lr
        self.hyper_steps_per_epoch = hyper_steps_per_epoch
        self.early_stopping = early_stopping
        self.perturb_scale = perturb_scale
        self.global_share = global_share
        self.response_lr_factor = response_lr_factor
        self.n_candidates = n_candidates
        self.verify = verify
        self.shrinkage = shrinkage
        self.verify_sources = verify_sources
        self.select = select
        self.verify_rows = verify_rows
        self.verify_fits = verify_fits

    def predicted_loss(self, X, y, points, rows="validation"):
        """The hypernets' predicted validation loss at ``points``, per fold and mean.

        Parameters
        ----------
        X, y : the data the search was fitted on.
        points : dict of lists (a param grid) or list of dicts
            Keys left out take ``best_params_``; e.g. ``{"module__dropout":
            np.linspace(0, 0.8, 9)}`` is a sweep of dropout at the best decay.
            A vector key takes one number (its whole block at that shared
            value) or a structure as ``best_params_`` holds it.
        rows : {"validation", "training"}, default="validation"
            Score each fold's validation rows, or its training rows.

        Returns
        -------
        dict
            ``params``, ``split{k}_loss`` and ``mean_loss`` (arrays over points).
        """
        return predicted_loss(self, X, y, points, rows)

    def virtual_grid_search(self, X, y, param_grid):
        """A grid search at no training cost: ``param_grid`` scored with the
        hypernets' weights, as a table shaped like ``GridSearchCV.cv_results_``.

        Parameters
        ----------
        X, y : the data the search was fitted on.
        param_grid : dict of lists or list of dicts
            Points inside the bounds; keys left out take ``best_params_``. A
            vector key takes one number (its whole block at that value) or a
            structure as ``best_params_`` holds it.

        Returns
        -------
        dict
            Keys as in ``cv_results_`` (``params``, ``param_*``,
            ``split{k}_test_*``, ``mean_test_*``, ``rank_test_*``...).
        """
        return virtual_grid_search(self, X, y, param_grid)

    def _run_search(self, evaluate_candidates):
        """Not used: :meth:`fit` replaces the candidate loop by hyper-training."""
        raise NotImplementedError("HypernetSearchCV.fit does not evaluate candidates.")

    # -- fit ----------------------------------------------------------------
    @with_callbacks  # tears down the callbacks of set_callbacks, as BaseSearchCV.fit does
    def fit(self, X, y=None, **params):
        """Hyper-train on every CV fold, score the visited points, and refit.

        Parameters
        ----------
        X : array-like, tensor, DataFrame or skorch SliceDict
            Training data, in any in-memory form the net accepts (a
            DataFrame's columns and a SliceDict's keys reach ``forward`` as
            keyword arguments, as in skorch).
        y : array-like
            Targets, as the net expects them.
        **params : dict
            Passed to the net's ``fit`` (refit and verification fits), the
            scorers and the CV splitter, as in ``GridSearchCV``.

        Returns
        -------
        self : HypernetSearchCV

        Notes
        -----
        Callbacks set with ``set_callbacks`` (``sklearn.callback.ProgressBar``,
        ``ScoringMonitor``) see the tasks ``hyper-training`` (one per epoch),
        ``scoring`` (one per row and fold), ``verify`` (one per real fit) and
        ``refit-with-best-params``; see the user guide, "Progress and callbacks".

        Distributed: under ``torchrun --nproc_per_node=N`` (or in an initialized
        ``torch.distributed`` process group) the same call trains the folds across
        the N processes (N at most ``cv``: rank ``r`` holds folds ``r, r + N, ...``;
        N a multiple of ``cv``: each fold's batches split over ``N / cv`` ranks)
        and every process ends with the same fitted search; see
        docs/scaling_out.md.
        """
        with Ranks() as ranks:  # one process without torchrun (see _distributed)
            return self._fit_search(ranks, X, y, **params)

    def _fit_search(self, ranks, X, y=None, **params):
        for name in _FITTED:
            self.__dict__.pop(name, None)
        check_estimator_kind(self.estimator)
        self._validate_params()
        if has_axes(self.param_bounds):  # lists are grid axes: one search per combination
            return self._fit_grid(ranks, X, y, **params)
        if not getattr(self, "_keys_checked", False):  # a grid checked its keys already
            check_keys(self.estimator, self.param_bounds)  # every problem at once
        builder = FoldBuilder(self.estimator, parse_bounds(self.param_bounds), self.hypernet)
        scorers, refit_metric = self._get_scorers()
        if isinstance(y, (list, tuple)):
            y = np.asarray(y)  # as sklearn's estimators read a list of targets
        X, y = indexable(X, y)
        self._check_data(X, y, builder.prefix, builder.net)
        check_net_params(builder.net, self.warmup_fraction)
        settings = read_settings(builder.net)  # warns before training
        params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(params)
        splits = self._splits(X, y, routed.splitter.split)
        comm = ranks.start(len(splits), builder.net.device)  # checks the world size
        splits = comm.broadcast_object(splits)  # a shuffling splitter: rank 0's splits
        seed = comm.broadcast_object(self._seed())
        # With a fixed random_state the refit and the verification fits are seeded
        # too (fit is then idempotent); else they draw from the caller's torch RNG.
        fixed = self.random_state is not None
        device = builder.net.device
        metadata = _callbacks.callback_metadata(params)
        root = _callbacks.open_root(self, X, y, metadata)
        tuning, held_out = self._validation_rows(builder, splits, y, seed)
        with _seeded_torch(device, seed):
            hyper, search_time = self._hypertrain(builder, X, y, tuning, routed.estimator.fit,
                                                  root, settings, comm, seed)
            fit_time = search_time / len(splits)
            candidates = self._candidate_points(hyper["result"])
            out = self._score_rows(hyper, candidates, X, y, tuning, scorers, routed, fit_time,
                                   root)
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        candidate_params = [builder.space.values_from_unit(t) for t in candidates]
        hypernet_results = with_source(with_scored_by(
            self._format_results(candidate_params, len(splits), out), SCORED_BY_HYPERNET), "path")
        results = hypernet_results
        multimetric = isinstance(out[0]["test_scores"], dict)
        if callable(self.scoring) and multimetric:
            self._check_refit_for_multimetric(out[0]["test_scores"])
            refit_metric = self.refit
        verify_fits = None
        if self.verify:
            proposals = self._proposals(builder, hypernet_results, candidates, hyper["result"],
                                        refit_metric)
            verify_seed = seed + 1 if fixed else None
            results = None
            if self._can_stack_verify(builder, hyper, comm):
                results = self._verify_stacked(proposals, builder, hyper, X, y, held_out,
                                               scorers, routed, verify_seed, device, root,
                                               settings)
            verify_fits = "skorch" if results is None else "stacked"
            if results is None:
                results = comm.on_root(lambda: self._verify(
                    proposals, builder.space, X, y, held_out, scorers, routed,
                    verify_seed, device, root))  # on rank 0, then broadcast
        hypernets, fold_estimators = self._gather_folds(hyper)
        fitted = {
            "hypernet_results_": hypernet_results,
            "cv_results_": results,
            "trajectory_": self._trajectory_table(builder.space, hyper["result"]),
            "hypernets_": hypernets,
            "fold_estimators_": fold_estimators,
            "split_indices_": tuning,
            "verify_splits_": held_out,
            "verify_fits_": verify_fits,
            "search_time_": search_time,
            "batched_folds_": hyper["result"].batched_folds,
            "search_space_": builder.space,
            "shrinkage_": self._shrinkage(builder.space, _num_samples(X)),
            "n_epochs_": hyper["result"].n_epochs,
            "n_splits_": len(splits),
            "multimetric_": multimetric,
            "scorer_": scorers._scorers if hasattr(scorers, "_scorers") else scorers,
        }
        if self.refit or not multimetric:
            fitted.update(self._best(results, refit_metric, builder))
            fitted["at_bounds_"] = self._warn_at_bounds(builder.space, fitted["best_params_"])
        if self.refit:
            fitted.update(comm.on_root(lambda: self._refit(  # on rank 0, then broadcast
                fitted["best_params_"], X, y, routed, seed + 2 if fixed else None, device, root)))
        self.__dict__.update(fitted)
        root.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        if self.verbose > 0:
            self._print_summary()
        return self

    def _fit_grid(self, ranks, X, y=None, **params):
        """``param_bounds`` with lists: every key checked, then one continuous search
        per combination of the lists (``_grid``), the best refit."""
        check_grids(self.param_bounds)
        for note in check_keys(self.estimator, self.param_bounds):  # every problem at once
            print(note)
        scorers, refit_metric = self._get_scorers()
        if isinstance(y, (list, tuple)):
            y = np.asarray(y)
        X, y = indexable(X, y)
        prefix, _, net = split_estimator(self.estimator)
        self._check_data(X, y, prefix, net)  # once, before any combination trains
        fit_params = _check_method_params(X, params=params)
        routed = self._get_routed_params_for_fit(fit_params)
        splits = self._splits(X, y, routed.splitter.split)
        device = net.device
        comm = ranks.start(len(splits), device)  # checks the world size, as a search does
        splits = comm.broadcast_object(splits)  # under torchrun: rank 0's splits and seed
        seed = comm.broadcast_object(self._seed())
        inner_seed = clone(self).set_params(random_state=seed)._seed()  # each search's
        fixed = self.random_state is not None
        metadata = _callbacks.callback_metadata(fit_params)
        root = _callbacks.open_root(self, X, y, metadata)
        prepared = {"splits": splits, "scorers": scorers, "refit_metric": refit_metric,
                    "routed": routed, "params": params, "seed": seed,
                    "verify_seed": inner_seed + 1, "device": device, "root": root,
                    "comm": comm}
        fitted = fit_grid(self, ranks, X, y, prepared)
        results = fitted["cv_results_"]
        multimetric = "mean_test_score" not in results
        if callable(self.scoring) and multimetric:
            self._check_refit_for_multimetric(
                {key[len("mean_test_"):]: None for key in results if key.startswith("mean_test_")})
            refit_metric = self.refit
        fitted.update(multimetric_=multimetric,
                      scorer_=scorers._scorers if hasattr(scorers, "_scorers") else scorers)
        if self.refit or not multimetric:
            fitted.update(self._best_combination(results, refit_metric, fitted))
        if self.refit:
            fitted.update(comm.on_root(lambda: self._refit(  # on rank 0, then broadcast
                fitted["best_params_"], X, y, routed, inner_seed + 2 if fixed else None,
                device, root)))
        self.__dict__.update(fitted)
        root.call_on_fit_task_end(estimator=self, X=X, y=y, metadata=metadata)
        if self.verbose > 0:
            self._print_summary()
        return self

    def _best_combination(self, results, refit_metric, fitted):
        """The best row of a grid, as GridSearchCV picks it, and what its combination's
        continuous search knows (its hypernets, for the landscape methods)."""
        best_index = self._select_best_index(self.refit, refit_metric, results)
        best = {"best_index_": best_index, "best_params_": results["params"][best_index]}
        if not callable(self.refit):
            best["best_score_"] = results[f"mean_test_{refit_metric}"][best_index]
        sub = fitted["grid_searches_"][best_index]
        best["at_bounds_"] = []
        if sub is not None:
            best.update({name: getattr(sub, name) for name in _FROM_BEST_COMBINATION
                         if hasattr(sub, name)})
            tuned = {key: best["best_params_"][key] for key in sub.search_space_.keys}
            best["at_bounds_"] = self._warn_at_bounds(sub.search_space_, tuned, stacklevel=7)
        return best

    def _splits(self, X, y, split_params):
        """The CV splits, checked as GridSearchCV checks them."""
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **split_params))
        n_splits = cv.get_n_splits(X, y, **split_params)
        if not splits:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no candidates?"
            )
        if len(splits) != n_splits:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {n_splits} splits, got {len(splits)}"
            )
        check_splits(splits)
        return splits

    def _validation_rows(self, builder, splits, y, seed):
        """``(tuning splits, verify splits)``: the CV splits twice, or with
        ``verify_rows="held_out"`` each fold's validation rows halved between the
        hyper steps and the real fits (docs/design.md, decision 28)."""
        if self.verify_rows != "held_out" or not self.verify:
            self._warn_if_tuned_rows_score(builder, _num_samples(y))
            return splits, splits
        if not can_halve(splits):
            short = [k for k, (_, test) in enumerate(splits) if len(test) < 2]
            raise ValueError(
                f"verify_rows='held_out' halves each fold's validation rows, but fold(s) "
                f"{short} have fewer than 2. Use fewer folds (cv) or verify_rows='all'."
            )
        stratify = is_classifier(self.estimator) and np.ndim(y) == 1
        return validation_halves(splits, y, seed, stratify)

    def _warn_if_tuned_rows_score(self, builder, n_rows):
        """Warn where ``best_score_`` on the tuned rows is known to read optimistic:
        vector keys with more hyperparameters than rows."""
        n_vector = sum(block.size for block in builder.space.blocks)
        if self.verify and n_vector > n_rows:
            warnings.warn(
                f"The vector keys hold {n_vector:,} hyperparameters for {n_rows:,} rows of "
                "X. Tuned on each fold's validation rows, they can fit those rows, and "
                "best_score_ (real fits scored on the same rows) can read optimistic: by "
                "36% on a 500-row MNIST sample with 7,840 decays (docs/benchmarks.md). "
                "verify_rows='held_out' scores the real fits on validation rows the "
                "hyper steps never saw.", SkhyperWarning, stacklevel=5)

    def _best(self, results, refit_metric, builder):
        """``best_index_``, ``best_params_`` and (unless refit is callable) ``best_score_``.

        With real-fit rows and ``select="regularized"``, the most regularized row that
        real CV cannot tell from the best (``_candidates.most_regularized_tie``); else
        as GridSearchCV picks (rank 1, or the ``refit`` callable's choice).
        """
        if self.select == "regularized" and self.verify and not callable(self.refit):
            best_index = self._most_regularized_tie(results, refit_metric, builder)
        else:
            best_index = self._select_best_index(self.refit, refit_metric, results)
        best = {"best_index_": best_index, "best_params_": results["params"][best_index]}
        if not callable(self.refit):
            best["best_score_"] = results[f"mean_test_{refit_metric}"][best_index]
        return best

    def _check_data(self, X, y, prefix, net):
        check_dense(X)
        check_list_rows(X)
        if y is None:
            raise ValueError(
                "HypernetSearchCV needs targets y: the validation loss that guides "
                "the search is the net's criterion on (X, y)."
            )
        check_target_frame(y)
        if _num_samples(X) == 0:
            raise ValueError("Found an empty X (0 samples); HypernetSearchCV needs data.")
        shape = getattr(X, "shape", ())
        if len(shape) == 2 and shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={tuple(shape)}) while a minimum of 1 "
                "is required by HypernetSearchCV."
            )
        if prefix is None:
            check_finite(X, "X")  # a Pipeline may impute: its output is checked per fold
        check_finite(y, "y")
        check_class_labels(net, y)
        check_device(net)

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _hypertrain(self, builder, X, y, splits, fit_params, root, settings, comm, seed):
        net = builder.net
        start = builder.space.start_unit(self.estimator.get_params())
        n_epochs = int(net.max_epochs)
        warmup_epochs = int(round(self.warmup_fraction * n_epochs))
        if self.verbose > 0:
            warmup = f"{warmup_epochs} of warm-up" if warmup_epochs else "no warm-up"
            print(f"Hyper-training {_counted(len(splits), 'fold')} for "
                  f"{_counted(n_epochs, 'epoch')} ({warmup}) over "
                  f"{_counted(len(builder.space), 'hyperparameter')} "
                  f"({', '.join(builder.space.keys)})")
        built = {}
        for k in comm.fold_ids:  # this process's folds, each initialized from its own seed
            train, test = splits[k]
            with _seeded_torch(net.device, fold_seed(seed, k, "init")):
                built[k] = builder.build(
                    X, y, train, test, start, check=(k == comm.fold_ids[0]),
                    fit_params=_check_method_params(X, fit_params, indices=train),
                    train_rows=settings.train_rows)
        folds = [fold for fold, _ in built.values()]
        n_train = [n for part in comm.gather_objects([f.n_train for f in folds]) for n in part]
        config = LoopConfig(
            n_epochs=n_epochs,
            warmup_epochs=warmup_epochs,
            warmup_sampling=self.warmup_sampling,
            batch_size=batch_size_of(net, min(n_train)),
            hyper_lr=self.hyper_lr,
            hyper_steps_per_epoch=self.hyper_steps_per_epoch,
            early_stopping=self.early_stopping,
            perturb_scale=self.perturb_scale,
            global_share=self.global_share,
            shrinkage=self._shrinkage(builder.space, _num_samples(X)),
            response_lr_factor=self.response_lr_factor,
            make_optimizer=optimizer_factory(net),
            schedulers=settings.schedulers,
            clip_norms=settings.clip_norms,
            shuffle=settings.shuffle,
            drop_last=settings.drop_last,
            seed=seed,
        )
        with (
            tqdm(total=n_epochs, disable=self.verbose < 1, desc="HypernetSearchCV") as bar,
            _callbacks.subtask(root, self, "hyper-training", max_subtasks=n_epochs) as context,
        ):
            on_epoch_end = self._progress(bar, builder.space, warmup_epochs, context)
            trainer = HyperTrainer(folds, builder.space, config, on_epoch_end, comm=comm)
            begin = time.perf_counter()
            result = trainer.run(start)
            search_time = time.perf_counter() - begin
        hyper = {  # another process's folds are None here
            "folds": [built[k][0] if k in built else None for k in range(len(splits))],
            "scorer_estimators": [built[k][1] if k in built else None for k in range(len(splits))],
            "result": result,
            "comm": comm,
        }
        return hyper, search_time

    @staticmethod
    def _gather_folds(hyper):
        """Every fold's hypernet (on the CPU) and scoring estimator, on every process."""
        mine = {k: (fold.hypernet.cpu(), estimator)
                for k, (fold, estimator) in enumerate(zip(hyper["folds"],
                                                          hyper["scorer_estimators"]))
                if fold is not None and hyper["comm"].validates}
        merged = {}
        for part in hyper["comm"].gather_objects(mine):
            merged.update(part)
        keys = sorted(merged)
        return [merged[k][0] for k in keys], [merged[k][1] for k in keys]

    def _shrinkage(self, space, n_rows):
        """The hyperprior's strength: as given, or for ``"auto"`` 5 x the number of
        vector-key hyperparameters per row of data (docs/design.md, decision 19)."""
        if self.shrinkage != "auto":
            return float(self.shrinkage)
        return AUTO_SHRINKAGE * sum(block.size for block in space.blocks) / n_rows

    def _progress(self, bar, space, warmup_epochs, context):
        """The loop's ``on_epoch_end``: the ``verbose`` bar and lines, and one
        ``epoch`` task of the callbacks. A warm-up epoch takes no hyperparameter
        step, so it shows its phase and training loss only (no validation loss
        exists yet, and the hyperparameters do not move)."""
        def on_epoch_end(epoch, t_hat, train_loss, val_loss, fold_losses):
            folds = ", ".join(f"{loss:.4f}" for loss in fold_losses)
            if epoch < warmup_epochs:
                bar.set_postfix({"phase": "warm-up", "train_loss": f"{train_loss:.4f}"})
                line = f"[epoch {epoch + 1}, warm-up] training loss per fold: {folds}"
            else:
                shown = space.describe(t_hat)
                bar.set_postfix({"phase": "search", **shown, "train_loss": f"{train_loss:.4f}",
                                 "val_loss": f"{val_loss:.4f}"})
                line = (f"[epoch {epoch + 1}] training loss per fold: {folds}; "
                        f"validation loss {val_loss:.4f}; {shown}")
            bar.update(1)
            if self.verbose >= 2:
                bar.write(line)
            _callbacks.epoch_done(context, self)

        return on_epoch_end

    def _candidate_points(self, result):
        """The unit coordinates that become rows: evenly spaced epoch-end points."""
        points = [t for _, t in result.epoch_points] or [result.t_hat]
        picks = np.unique(np.round(np.linspace(0, len(points) - 1, self.n_candidates)).astype(int))
        chosen = []
        for i in picks:
            if not any(np.array_equal(points[i], c) for c in chosen):
                chosen.append(points[i])
        return chosen

    def _score_rows(self, hyper, candidates, X, y, splits, scorers, routed, fit_time, root):
        """Score every candidate on every fold: the rows' records, in row-major order,
        each a ``candidate-split-scoring`` task of the callbacks. Each process scores
        its own folds; the records are gathered."""
        mine = {}
        n_tasks = len(candidates) * len(splits)
        with _callbacks.subtask(root, self, "scoring", max_subtasks=n_tasks) as context:
            for i, t in enumerate(candidates):
                for k, split in enumerate(splits):
                    if hyper["folds"][k] is None or not hyper["comm"].validates:
                        continue  # another process's fold, or this fold's other process
                    mine[i, k] = self._score_point(hyper, t, X, y, split, k, scorers, routed,
                                                   fit_time)
                    _callbacks.row_scored(context, self, hyper["scorer_estimators"][k],
                                          mine[i, k], X, y, split[0], routed.estimator.fit)
        records = {}
        for part in hyper["comm"].gather_objects(mine):
            records.update(part)
        return [records[i, k] for i in range(len(candidates)) for k in range(len(splits))]

    def _score_point(self, hyper, t, X, y, split, k, scorers, routed, fit_time):
        return score_at(
            hyper["folds"][k].hypernet, hyper["scorer_estimators"][k], t, X, y, split,
            scorers, routed.scorer.score, fit_time, self.error_score, self.return_train_score,
        )

    def _proposals(self, builder, hypernet_results, candidates, result, refit_metric):
        """The real fits' candidates, ``[(t, source)]``: the ``verify`` best
        hypernet-scored rows of the path, then the other ``verify_sources``
        (``_candidates``), each distinct point once."""
        self._check_sources()
        metric = refit_metric if f"rank_test_{refit_metric}" in hypernet_results else next(
            key[len("rank_test_"):] for key in hypernet_results if key.startswith("rank_test_")
        )
        order = np.argsort(hypernet_results[f"rank_test_{metric}"], kind="stable")
        path = [candidates[i] for i in order[: self.verify]]
        scan = None
        if result.warmup_scan is not None:
            scan_losses = result.warmup_scan["val_loss"]
            scan = result.warmup_scan["t"][int(np.nanargmin(scan_losses))]
        return distinct_candidates(builder.space, path, scan, self.verify_sources,
                                   self._upward(builder))

    def _check_sources(self):
        sources = list(self.verify_sources)
        unknown = [s for s in sources if s not in SOURCES]
        if unknown or not sources:
            raise ValueError(
                f"The 'verify_sources' parameter of HypernetSearchCV must be a non-empty "
                f"list of {', '.join(map(repr, SOURCES))}; got {self.verify_sources!r} "
                f"({'unknown: ' + ', '.join(map(repr, unknown)) if unknown else 'empty'}). "
                f"E.g. verify_sources=('path', 'scan', 'shared')."
            )

    @staticmethod
    def _upward(builder):
        """Per key, whether its larger values regularize more (its target says)."""
        return [bool(getattr(target, "larger_regularizes", True))
                for target in builder._targets(builder.net)]

    def _most_regularized_tie(self, results, refit_metric, builder):
        metric = refit_metric if f"mean_test_{refit_metric}" in results else "score"
        n_splits = sum(1 for key in results if key.startswith("split")
                       and key.endswith(f"_test_{metric}"))
        scores = np.column_stack([results[f"split{k}_test_{metric}"] for k in range(n_splits)])
        upward = self._upward(builder)
        strengths = [regularization_strength(builder.space,
                                             builder.space.unit_from_values(params), upward)
                     for params in results["params"]]
        return most_regularized_tie(scores, strengths)

    def _warn_at_bounds(self, space, best_params, stacklevel=5):
        """Warn (``SkhyperWarning``) for each key of ``best_params`` at a bound."""
        messages = values_at_bounds(space, space.unit_from_values(best_params))
        for message in messages:
            warnings.warn(f"best_params_: {message}.", SkhyperWarning, stacklevel=stacklevel)
        return messages

    def _verify(self, proposals, space, X, y, splits, scorers, routed, seed, device, root):
        """Real fits, on every fold, of the candidates ``proposals`` (``[(t, source)]``).

        With a ``seed``, the fits of fold ``k`` are seeded with ``seed + k`` whatever
        the candidate (common random numbers: candidates differ by their
        hyperparameters, not their initialization, and each fit is reproducible
        whichever worker runs it); else the fits draw from the caller's torch RNG in
        turn. Each fit is a task of the callbacks under ``verify``, as GridSearchCV's are.
        """
        candidate_params = [space.values_from_unit(t) for t, _ in proposals]
        parallel = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)
        n_fits = len(candidate_params) * len(splits)
        with (
            propagate_interrupts(),  # skorch's fit swallows Ctrl-C
            _callbacks.subtask(root, self, "verify", max_subtasks=n_fits,
                               sequential_subtasks=False) as context,
        ):
            out = self._verify_fits(parallel, candidate_params, splits, X, y, scorers,
                                    routed, seed, device, context)
        _warn_or_raise_about_fit_failures(out, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        results = with_scored_by(self._format_results(candidate_params, len(splits), out),
                                 SCORED_BY_REAL_FITS)
        return with_source(results, [source for _, source in proposals])

    def _can_stack_verify(self, builder, hyper, comm):
        """Whether the verify fits train stacked (``verify_fits="stacked"``): when
        the net's training is what ``_stacked_fits`` runs; else a warning says why
        the fits go through skorch."""
        if self.verify_fits != "stacked":
            return False
        backend = get_active_backend()[0]
        reasons = why_not_stacked(builder.net, hyper["folds"], getattr(comm, "world_size", 1),
                                  self.verify_rows)
        if not isinstance(backend, _LOCAL_BACKENDS):
            reasons.append(f"joblib's active backend is {type(backend).__name__}")
        if reasons:
            warnings.warn(
                "verify_fits='stacked': the real fits go through skorch one by one, "
                f"because {'; '.join(reasons)}.", SkhyperWarning, stacklevel=4)
        return not reasons

    def _verify_stacked(self, proposals, builder, hyper, X, y, splits, scorers, routed, seed,
                        device, root, settings):
        """The real fits of ``_verify``, every candidate x fold trained at once
        (``_stacked_fits``), scored on each fold as ``_verify`` scores them; ``None``
        (with a warning) where the fits cannot stack after all: the search then fits
        through skorch.

        With a ``seed``, fold ``k``'s fits start from the module initialized under
        ``seed + k`` and draw their batches from a generator seeded so, whatever the
        candidate (as ``_verify`` seeds its fits), and the training's other draws
        (dropout) come from torch seeded with ``seed``: ``fit`` is reproducible.
        """
        folds, net = hyper["folds"], builder.net
        inits = []
        for k in range(len(folds)):
            with _seeded_torch(device, None if seed is None else seed + k):
                inits.append(initial_weights(net, folds[0].y_train.device))
        points = [t for t, _ in proposals]
        try:  # seeded as a whole too: dropout draws from torch's RNG
            with propagate_interrupts(), _seeded_torch(device, seed):
                fits = train_candidates(points, builder.space, folds, net, settings, inits,
                                        seed)
        except Exception as error:  # e.g. a module vmap cannot run, or a diverged fit
            warnings.warn(
                "verify_fits='stacked': the real fits go through skorch one by one, because "
                f"the stacked fits failed ({type(error).__name__}: {error}).",
                SkhyperWarning, stacklevel=4)
            return None
        estimators = hyper["scorer_estimators"]
        records = {}
        with _callbacks.subtask(root, self, "verify", max_subtasks=len(fits),
                                sequential_subtasks=False) as context:
            for i, k, weights, fit_time in fits:
                records[i, k] = score_weights(
                    weights, estimators[k], X, y, splits[k], scorers, routed.scorer.score,
                    fit_time, self.error_score, self.return_train_score)
                _callbacks.row_scored(context, self, estimators[k], records[i, k], X, y,
                                      splits[k][0], routed.estimator.fit,
                                      task_name="candidate-split-evaluation",
                                      task_id=i * len(splits) + k)
        out = [records[i, k] for i in range(len(points)) for k in range(len(splits))]
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        candidate_params = [builder.space.values_from_unit(t) for t in points]
        results = with_scored_by(self._format_results(candidate_params, len(splits), out),
                                 SCORED_BY_REAL_FITS)
        return with_source(results, [source for _, source in proposals])

    def _verify_fits(self, parallel, candidate_params, splits, X, y, scorers, routed, seed,
                     device, context):
        tasks = [(params, split) for params in candidate_params for split in enumerate(splits)]
        # made ahead of the parallel loop, as BaseSearchCV makes them (a context made
        # in a worker would not reach this process's tree)
        leaves = [context.subcontext(task_name="candidate-split-evaluation", task_id=i)
                  for i in range(len(tasks))]
        return parallel(
            delayed(_seeded_fit_and_score)(
                None if seed is None else seed + k, device, with_params(self.estimator, params),
                X, y, train=train, test=test, parameters=None,
                scorer=scorers, fit_params=routed.estimator.fit,
                score_params=routed.scorer.score, return_train_score=self.return_train_score,
                return_n_test_samples=True, return_times=True, return_parameters=False,
                error_score=self.error_score, verbose=self.verbose,
                caller=self, callback_ctx=leaves[i],
            )
            for i, (params, (k, (train, test))) in enumerate(tasks)
        )

    def _refit(self, best_params, X, y, routed, seed, device, root):
        """The refit at ``best_params``, seeded inside its task, on joblib's active
        backend when that is a cluster's (``_refit_parallel``), else in this process;
        the ``refit-with-best-params`` task of the callbacks."""
        estimator = with_params(self.estimator, clone(best_params, safe=False))
        context = root.subcontext(task_name="refit-with-best-params")
        [(estimator, refit_time)] = _refit_parallel(self.n_jobs)(
            [delayed(_seeded_refit)(seed, device, estimator, X, y, routed.estimator.fit,
                                    context, self)]
        )
        fitted = {"best_estimator_": estimator, "refit_time_": refit_time}
        if hasattr(estimator, "feature_names_in_"):
            fitted["feature_names_in_"] = estimator.feature_names_in_
        return fitted

    @staticmethod
    def _trajectory_table(space, result):
        traj = result.trajectory
        table = {
            "epoch": np.asarray(traj["epoch"]),
            "step": np.asarray(traj["step"]),
            "phase": np.asarray(traj["phase"]),
            "val_loss": np.asarray(traj["val_loss"], dtype=float),
        }
        t = np.asarray(traj["t"], dtype=float).reshape(len(traj["t"]), -1)
        for entry, dim, part in zip(space.entries, space.dimensions, space.slices()):
            values = np.clip(from_unit_array(dim, t[:, part]), dim.low, dim.high)
            # a scalar key: one value per step; a vector key: (n_steps, block size)
            table[f"param_{dim.key}"] = values if isinstance(entry, Block) else values[:, 0]
        return table

    def _print_summary(self):
        if not hasattr(self, "best_params_"):
            return
        if hasattr(self, "grid_searches_"):
            return self._print_grid_summary()
        found = ", ".join(f"{k}={format_value(v)}" for k, v in self.best_params_.items())
        score = getattr(self, "best_score_", float("nan"))
        n_rows = len(self.hypernet_results_["params"])
        rows = (f"{_counted(n_rows, 'point')} scored on {_counted(self.n_splits_, 'fold')} "
                f"after {self.search_time_:.1f}s of hyper-training")
        if n_rows < self.n_candidates:
            rows += (f" (fewer than n_candidates={self.n_candidates}: the path has fewer "
                     "distinct epoch-end points)")
        if self.verify:
            sources = self.cv_results_["source"]
            stacked = ", stacked" if self.verify_fits_ == "stacked" else ""
            rows += (f"; {_counted(len(sources), 'candidate')} fitted for real{stacked} "
                     f"({_sources_counted(sources)})")
            source = f"from real fits, the {self.cv_results_['source'][self.best_index_]} row"
            if self.best_index_ != int(np.argmin(self.cv_results_[self._rank_key()])):
                source += (", the most regularized within one standard error of the best "
                           "(select='regularized')")
        else:
            source = "from the hypernets' weights; verify=1 re-scores it with real fits"
        print(f"HypernetSearchCV: {rows}; best {found} (score {score:.4f} {source})")
        for message in getattr(self, "at_bounds_", []):
            print(f"HypernetSearchCV: at a bound: {message}")

    def _print_grid_summary(self):
        found = ", ".join(f"{k}={format_value(v)}" for k, v in self.best_params_.items())
        score = getattr(self, "best_score_", float("nan"))
        searched = sum(sub is not None for sub in self.grid_searches_)
        plain = len(self.grid_searches_) - searched
        stacked = [sub for sub in self.grid_searches_
                   if sub is not None and sub.verify_fits_ == "stacked"]
        fits = f", the real fits of {len(stacked)} stacked" if stacked else ""
        parts = [f"{_counted(searched, 'combination')} searched by gradient "
                 f"({self.search_time_:.1f}s of hyper-training{fits})"] if searched else []
        if plain:
            parts.append(f"{_counted(plain, 'combination')} fitted for real on every fold, "
                         "as GridSearchCV fits them")
        print(f"HypernetSearchCV: a grid of {_counted(len(self.grid_searches_), 'combination')}"
              f": {'; '.join(parts)}; best {found} (score {score:.4f} from real fits, the "
              f"{self.cv_results_['source'][self.best_index_]} row)")
        for message in getattr(self, "at_bounds_", []):
            print(f"HypernetSearchCV: at a bound: {message}")

    def _rank_key(self):
        """The ``rank_test_*`` column of the metric that chose ``best_index_``."""
        metric = self.refit if isinstance(self.refit, str) else "score"
        key = f"rank_test_{metric}"
        return key if key in self.cv_results_ else next(
            k for k in self.cv_results_ if k.startswith("rank_test_"))
