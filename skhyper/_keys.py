"""Every problem with the keys of ``param_bounds``, found before training and told at once.

A user migrating a ``GridSearchCV`` grid should not find its untunable keys one run
at a time. :func:`check_keys` parses each entry and resolves each key's target on a
freshly initialized net, collects every problem, and raises one error that lists them.
Each fix is written where the user stands: keys keep their Pipeline step prefix, and a
fix that nests the search names the list the user gave, e.g.
``GridSearchCV(search, {'estimator__net__lr': [0.01, 0.02]})``.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import torch
from sklearn.base import clone

from ._blocks import check_block_key, is_block
from ._folds import split_estimator
from ._space import _parse_entry
from ._targets import resolve_target
from .exceptions import ParamBoundsError


def check_keys(estimator, param_bounds):
    """Raise one error naming every key of ``param_bounds`` that cannot be searched.

    Parameters
    ----------
    estimator : NeuralNet or Pipeline ending in one
    param_bounds : dict
        As given to :class:`HypernetSearchCV`.

    Raises
    ------
    TypeError, ValueError or UnsupportedHyperparameterError
        The one problem found, as its check raised it.
    ParamBoundsError
        Two problems or more, one per line (a ``ValueError`` and a ``TypeError``).

    Examples
    --------
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> net = NeuralNetClassifier(torch.nn.Linear, module__in_features=4,
    ...                           module__out_features=2)
    >>> check_keys(net, {"optimizer__weight_decay": (1e-5, 1e-1, "log")})
    >>> check_keys(net, {"lr": [0.01, 0.1], "max_epochs": [10, 20]})
    Traceback (most recent call last):
    ...
    skhyper.exceptions.ParamBoundsError: param_bounds has 2 problems; ...
    """
    if not isinstance(param_bounds, dict) or not param_bounds:
        return  # parse_bounds says what a param_bounds is
    _, step_name, net = split_estimator(estimator)
    # On the CPU, and with the caller's RNG state restored after: building modules
    # to check the keys must not change the seeds that the search and the refit draw.
    # A net that cannot be built fails here as skorch says, once, not once per key.
    with torch.random.fork_rng(devices=[]):
        fresh = clone(net).set_params(device="cpu").initialize()
        problems = [p for key, spec in param_bounds.items()
                    if (p := _problem(key, spec, step_name, fresh)) is not None]
    if len(problems) == 1:
        raise problems[0]
    if problems:
        lines = "\n".join(f"- {p}" for p in problems)
        raise ParamBoundsError(
            f"param_bounds has {len(problems)} problems; each line says how to fix it, "
            f"where you stand:\n{lines}"
        )


def _problem(key, spec, step_name, fresh):
    """The exception for one entry of ``param_bounds``, or None if it can be searched."""
    values = None
    if isinstance(spec, (list, np.ndarray)):
        values = [v.item() if isinstance(v, np.generic) else v for v in spec]
    if not isinstance(key, str):
        return TypeError(f"param_bounds keys must be parameter names (str); got {key!r}.")
    if step_name is not None and not key.startswith(f"{step_name}__"):
        return ValueError(
            f"param_bounds key {key!r} does not point at the Pipeline's net step "
            f"{step_name!r}: only the "
            f"net's hyperparameters are searched, e.g. '{step_name}__optimizer__weight_decay'. "
            f"Tune this step with a GridSearchCV around the search: "
            f"{_nested_fix(key, values)}, and remove {key!r} from param_bounds."
        )
    net_key = key if step_name is None else key[len(step_name) + 2:]
    try:
        if is_block(spec):  # its tensors are resolved against the module later
            _parse_entry(key, spec)
            check_block_key(key, net_key, spec)
        else:
            resolve_target(net_key, fresh, bounds=_bounds_to_probe(key, spec, values))
    except (TypeError, ValueError) as error:
        return type(error)(_for_user(str(error), net_key, key, step_name, values))
    if values is not None:
        return TypeError(_list_message(key, values))
    return None


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(values):
    """``values`` as Python a user can paste: classes and functions by their dotted name."""
    def one(v):
        if isinstance(v, type) or callable(v) and hasattr(v, "__qualname__"):
            return f"{v.__module__}.{v.__qualname__}"
        return repr(v)

    return "[" + ", ".join(one(v) for v in values) + "]"


def _bounds_to_probe(key, spec, values):
    """The range the key's target is resolved with: the parsed bounds, or a list's
    numeric span (None for other lists: the target's default probes)."""
    if values is None:
        entry = _parse_entry(key, spec)
        return (entry.low, entry.high)
    numeric = [v for v in values if _is_number(v)]
    span = (float(min(numeric)), float(max(numeric))) if len(numeric) == len(values) else ()
    return span if len(set(span)) == 2 else None


def _nested_grid(key, values):
    """The outer grid that tunes ``key`` around the search: ``{'estimator__KEY': [...]}``."""
    return f"{{'estimator__{key}': {'[...]' if values is None else _shown(values)}}}"


def _nested_fix(key, values):
    return f"GridSearchCV(search, {_nested_grid(key, values)})"


def _list_message(key, values):
    """A list for a key the search can tune: a numeric range tunes it by gradient."""
    nested = (f"GridSearchCV around the search: {_nested_fix(key, values)}, and remove "
              f"{key!r} from param_bounds.")
    if not all(_is_number(v) for v in values) or len(set(values)) < 2:
        return (f"param_bounds[{key!r}] is a list {_shown(values)}: HypernetSearchCV "
                "tunes a numeric range by gradient, and these are not one. Try them "
                f"with a {nested}")
    low, high = min(values), max(values)
    log = ", 'log'" if low > 0 and high / low >= 10 else ""
    return (
        f"param_bounds[{key!r}] is a list {_shown(values)}: HypernetSearchCV tunes a "
        f"range by gradient, not a grid. Give the range, e.g. "
        f"{{{key!r}: ({low!r}, {high!r}{log})}}, or keep the list in a {nested}"
    )


_NET_KEY = re.compile(r"'((?:optimizer|module|criterion|iterator_train|iterator_valid)__\w+)'")


def _for_user(message, net_key, key, step_name, values):
    """``message`` (written with the net's own key) as the user wrote the key: the
    Pipeline step prefix on every key it names, the user's list in a nesting fix."""
    message = message.replace(_nested_grid(net_key, None), _nested_grid(key, values))
    if step_name is None:
        return message
    message = message.replace(repr(net_key), repr(key))
    message = _NET_KEY.sub(lambda m: f"'{step_name}__{m.group(1)}'", message)
    return re.sub(r"Did you mean '(?!" + re.escape(step_name) + r"__)(\w+)'\?",
                  lambda m: f"Did you mean '{step_name}__{m.group(1)}'?", message)
