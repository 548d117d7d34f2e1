"""Sampling searches over one decay per input column: the peers of ``PerInput``.

``RandomizedSearchCV`` and ``OptunaSearchCV`` (TPE) cannot reach skhyper's vector
keys, so they search ``module__decay_0 .. module__decay_{n-1}``: a module built with
:func:`decay_buffer` stores them, and :class:`PerInputDecayNet` adds
``sum_j 0.5 * decay_j * ||W[:, j]||^2`` to the training loss, ``W`` being the
module's ``decayed_weight()`` (the penalty ``PerInput`` puts on that weight). Used by
``useless_features.py`` and ``mnist_per_input.py``; :func:`run_peers` gives each
peer the search's wall time ("equal time") and ``factor`` times it.
"""

from __future__ import annotations

import warnings

import scipy.stats
import torch
from sklearn.model_selection import RandomizedSearchCV, cross_val_score
from skorch import NeuralNetClassifier
from suite import optuna_available, timed


def decay_buffer(module, n_inputs, decays):
    """Register ``module.decays``: ``decays["decay_j"]`` for each input ``j`` (0 if absent)."""
    module.register_buffer("decays", torch.tensor(
        [float(decays.get(f"decay_{j}", 0.0)) for j in range(n_inputs)]))


class PerInputDecayNet(NeuralNetClassifier):
    """The training loss adds ``sum_j 0.5 * decay_j * ||W[:, j]||^2`` for the module's
    ``decayed_weight()`` ``W`` and its buffer ``decays``."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if training:
            weight = self.module_.decayed_weight()
            loss = loss + 0.5 * (self.module_.decays * weight.pow(2).sum(dim=0)).sum()
        return loss


def sampling_search(kind, make_net, n_inputs, n_trials, seed, cv, scoring, low, high):
    """``RandomizedSearchCV`` (``kind="random"``) or ``OptunaSearchCV`` over one
    log-uniform decay in ``[low, high]`` per input."""
    keys = [f"module__decay_{j}" for j in range(n_inputs)]
    if kind == "random":
        space = {k: scipy.stats.loguniform(low, high) for k in keys}
        return RandomizedSearchCV(make_net(), space, n_iter=n_trials, cv=cv, scoring=scoring,
                                  random_state=seed)
    import optuna
    from optuna.distributions import FloatDistribution
    from optuna_integration import OptunaSearchCV

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*optuna.terminator", category=FutureWarning)
    space = {k: FloatDistribution(low, high, log=True) for k in keys}
    return OptunaSearchCV(make_net(), space, n_trials=n_trials, cv=cv, scoring=scoring,
                          random_state=seed)


def run_peers(record, make_net, n_inputs, data, seed, budget, factor, *, cv, scoring, low,
              high):
    """Fit each sampling search at equal time and ``factor`` x time, and ``record`` it.

    ``budget`` is the skhyper search's wall time less one plain fit (both refit once);
    a trial's time is one ``cross_val_score`` of the peer's net. ``record(name,
    search, seconds, n_trials=...)`` stores a fitted search's row.
    """
    X_train, y_train = data
    torch.manual_seed(seed)
    _, trial = timed(lambda: cross_val_score(make_net(), X_train, y_train, cv=cv,
                                             scoring=scoring))
    kinds = ["random"] + (["optuna"] if optuna_available() else [])
    for scale in (1.0, factor):
        n_trials = max(1, int(scale * budget / trial))
        for kind in kinds:
            torch.manual_seed(seed)
            search, seconds = timed(lambda k=kind, n=n_trials: sampling_search(
                k, make_net, n_inputs, n, seed, cv, scoring, low, high).fit(X_train, y_train))
            label = "RandomizedSearchCV" if kind == "random" else "OptunaSearchCV (TPE)"
            when = "equal time" if scale == 1.0 else f"{scale:g}x time"
            record(f"{label}, {when}", search, seconds, n_trials=n_trials)
