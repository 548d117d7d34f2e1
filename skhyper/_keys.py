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
from ._grid import is_axis
from ._space import _parse_entry
from ._targets import resolve_target
from .exceptions import ParamBoundsError


def check_keys(estimator, param_bounds):
    """Raise one error naming every key of ``param_bounds`` that cannot be searched.

    A range must point at a hyperparameter the search tunes by gradient; a list is a
    grid axis, as in ``GridSearchCV``, and each of its values must be one the
    estimator takes (each is set, and the net built with it).

    Parameters
    ----------
    estimator : NeuralNet or Pipeline ending in one
    param_bounds : dict or list of dicts
        As given to :class:`HypernetSearchCV`.

    Returns
    -------
    notes : list of str
        One line per list given for a key that a range would tune by gradient.

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
    >>> check_keys(net, {"optimizer__weight_decay": (1e-5, 1e-1, "log"), "lr": [0.01, 0.1]})
    []
    >>> check_keys(net, {"lr": (0.01, 0.1), "max_epochs": (10, 20)})
    Traceback (most recent call last):
    ...
    skhyper.exceptions.ParamBoundsError: param_bounds has 2 problems; ...
    """
    grids = param_bounds if isinstance(param_bounds, list) else [param_bounds]
    if not all(isinstance(grid, dict) and grid for grid in grids) or not grids:
        return []  # parse_bounds and check_grids say what a param_bounds is
    _, step_name, net = split_estimator(estimator)
    problems, notes = {}, []
    # On the CPU, and with the caller's RNG state restored after: building modules
    # to check the keys must not change the seeds that the search and the refit draw.
    # A net that cannot be built fails here as skorch says, once, not once per key.
    with torch.random.fork_rng(devices=[]):
        fresh = clone(net).set_params(device="cpu").initialize()
        for grid in grids:
            for key, spec in grid.items():
                problem, note = _problem(key, spec, step_name, estimator, fresh)
                if problem is not None:
                    problems.setdefault(str(problem), problem)  # once per key and spec
                if note is not None and note not in notes:
                    notes.append(note)
    problems = list(problems.values())
    if len(problems) == 1:
        raise problems[0]
    if problems:
        lines = "\n".join(f"- {p}" for p in problems)
        raise ParamBoundsError(
            f"param_bounds has {len(problems)} problems; each line says how to fix it, "
            f"where you stand:\n{lines}"
        )
    return notes


def _problem(key, spec, step_name, estimator, fresh):
    """``(exception or None, note or None)`` for one entry of ``param_bounds``."""
    if not isinstance(key, str):
        return TypeError(f"param_bounds keys must be parameter names (str); got {key!r}."), None
    if is_axis(spec):
        values = [v.item() if isinstance(v, np.generic) else v for v in spec]
        return _axis_problem(key, values, step_name, estimator, fresh)
    if step_name is not None and not key.startswith(f"{step_name}__"):
        unplaced = _unplaced_key(key, step_name, estimator, fresh)
        if unplaced is not None:
            return unplaced, None
        return ValueError(
            f"param_bounds key {key!r} does not point at the Pipeline's net step "
            f"{step_name!r}: only the net's hyperparameters are tuned by gradient, e.g. "
            f"'{step_name}__optimizer__weight_decay'. Search this step's parameter as a "
            f"grid axis instead, a list in param_bounds: {_axis_grid(key, spec)}."
        ), None
    net_key = key if step_name is None else key[len(step_name) + 2:]
    try:
        if is_block(spec):  # its tensors are resolved against the module later
            _parse_entry(key, spec)
            check_block_key(key, net_key, spec)
        else:
            resolve_target(net_key, fresh, bounds=_bounds_to_probe(key, spec))
    except (TypeError, ValueError) as error:
        return type(error)(_for_user(str(error), net_key, key, step_name, spec)), None
    return None, None


def _axis_problem(key, values, step_name, estimator, fresh):
    """A list is a grid axis: every value must be one the estimator takes. A
    numeric list for a key a range would tune gets a note saying so."""
    if not values:
        return ValueError(
            f"param_bounds[{key!r}] is an empty list: a grid axis needs at least one "
            f"value, e.g. {{{key!r}: [...]}} with the values to try."
        ), None
    on_net = step_name is None or key.startswith(f"{step_name}__")
    if not on_net:
        unplaced = _unplaced_key(key, step_name, estimator, fresh)
        if unplaced is not None:
            return unplaced, None
    net_key = key if step_name is None else key[len(step_name) + 2:]
    for value in _distinct(values):
        try:
            if on_net:  # built, so that a module argument it does not take shows now
                clone(fresh).set_params(**{net_key: value}).initialize()
            else:
                clone(estimator).set_params(**{key: value})
        except Exception as error:  # noqa: BLE001 - skorch and modules raise anything
            return type(error)(
                f"param_bounds[{key!r}] = {_shown(values)}: the estimator does not take "
                f"{key}={_shown([value])[1:-1]} ({type(error).__name__}: {error}). Give "
                "values it takes, or remove the key."
            ) if isinstance(error, (TypeError, ValueError)) else ValueError(
                f"param_bounds[{key!r}] = {_shown(values)}: setting {key}="
                f"{_shown([value])[1:-1]} failed ({type(error).__name__}: {error})."
            ), None
    return None, _range_note(key, net_key, values, fresh) if on_net else None


def _unplaced_key(key, step_name, estimator, fresh):
    """The error for a Pipeline key that names none of its steps: the net's own key
    without the step prefix (say where it goes), or no parameter at all. ``None``
    for a key of another step, which is a parameter of that step."""
    first = key.split("__")[0]
    steps = dict(estimator.steps)
    if first in steps or key in estimator.get_params(deep=False):  # e.g. 'memory'
        return None
    named = ", ".join(repr(name) for name in steps)
    if first in fresh.get_params() or first in getattr(fresh, "prefixes_", ()):
        return ValueError(
            f"param_bounds key {key!r} names no step of the Pipeline (its steps: "
            f"{named}); it is a parameter of the net, whose keys carry its step name in "
            f"a Pipeline: use '{step_name}__{key}'."
        )
    return ValueError(
        f"param_bounds key {key!r} names no step of the Pipeline (its steps: {named}) "
        f"and no parameter of its net {step_name!r}. Keys are 'step__parameter', e.g. "
        f"'{step_name}__optimizer__weight_decay'."
    )


def _distinct(values):
    seen = []
    for value in values:
        if not any(value is s or (type(value) is type(s) and value == s) for s in seen):
            seen.append(value)
    return seen


def _range_note(key, net_key, values, fresh):
    """One line for a numeric list on a key the search can tune by gradient."""
    span = _numeric_span(values)
    if span is None:
        return None
    try:
        resolve_target(net_key, fresh, bounds=span)
    except (TypeError, ValueError):
        return None  # not tunable: the grid is the only way, nothing to say
    low, high = span
    log = ", 'log'" if low > 0 and high / low >= 10 else ""
    return (f"param_bounds[{key!r}] = {_shown(values)} is searched as a grid axis (one "
            f"search per value, as GridSearchCV would); a range {{{key!r}: "
            f"({_plain(low)}, {_plain(high)}{log})}} would tune it by gradient.")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _shown(values):
    """``values`` as Python a user can paste: classes and functions by their dotted name."""
    def one(v):
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, type) or callable(v) and hasattr(v, "__qualname__"):
            return f"{v.__module__}.{v.__qualname__}"
        return repr(v)

    return "[" + ", ".join(one(v) for v in values) + "]"


def _plain(value):
    """A number as the user wrote it: ``0`` stays ``0``, ``1e-05`` stays ``1e-05``."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _numeric_span(values):
    """``(min, max)`` of a list of two or more distinct numbers, else None."""
    if not all(_is_number(v) for v in values) or len(set(values)) < 2:
        return None
    return (min(values), max(values))


def _bounds_to_probe(key, spec):
    """The range the key's target is resolved with: the parsed bounds."""
    entry = _parse_entry(key, spec)
    return (entry.low, entry.high)


def _axis_grid(key, spec):
    """The grid axis that searches ``key`` instead of a range: ``{'KEY': [low, high]}``
    from a range ``(low, high[, scale])``, ``{'KEY': [...]}`` otherwise."""
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        return f"{{{key!r}: {_shown(spec[:2])}}}"
    return f"{{{key!r}: [...]}}"


_NET_KEY = re.compile(r"'((?:optimizer|module|criterion|iterator_train|iterator_valid)__\w+)'")


def _for_user(message, net_key, key, step_name, spec):
    """``message`` (written with the net's own key) as the user wrote the key: the
    Pipeline step prefix on every key it names, the user's range as a grid axis."""
    message = message.replace(f"{{{net_key!r}: [...]}}", _axis_grid(key, spec))
    if step_name is None:
        return message
    message = message.replace(repr(net_key), repr(key))
    message = _NET_KEY.sub(lambda m: f"'{step_name}__{m.group(1)}'", message)
    return re.sub(r"Did you mean '(?!" + re.escape(step_name) + r"__)(\w+)'\?",
                  lambda m: f"Did you mean '{step_name}__{m.group(1)}'?", message)
