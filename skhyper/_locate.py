"""Where a constructor argument lands in the module or criterion it builds.

skorch reads ``module__p=0.3`` as "build the module with ``p=0.3``": ``set_params``
re-initializes the module with that keyword. To tune such a key during
hyper-training, the search must know which attribute of the built module holds
the argument, e.g. ``module_.drop.p`` for ``self.drop = nn.Dropout(p)``. It finds
out as a user would: build the component twice, with two probe values, and diff
the attributes. An argument is tunable when it lands, unchanged, in float
attributes only (a dropout layer's ``p``, a float read in ``forward``) and leaves
the structure and every shape as they were.
"""

from __future__ import annotations

import inspect

import torch

from .exceptions import UnsupportedHyperparameterError

#: attribute values compared between the two probe builds (tensors and modules are not)
_PLAIN = (int, float, bool, str, tuple, type(None))


def grid_axis_fix(key):
    """The fix for a key that no range can tune: a list, one search per value."""
    return (f"Search it as a grid axis instead, a list of values in param_bounds (one "
            f"search per value, as GridSearchCV does): {{{key!r}: [...]}}")


def factory_of(component):
    """The callable skorch builds ``component`` with: the class of an instance
    (skorch re-initializes an instance as ``type(instance)(**kwargs)``), else itself."""
    return type(component) if isinstance(component, torch.nn.Module) else component


def takes_argument(factory, name):
    """Whether ``factory`` accepts the keyword ``name``: True, False, or None when its
    signature cannot be read."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    if name in params:
        return True
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def locate_argument(key, factory, kwargs, name, probes):
    """The attributes that hold constructor argument ``name`` once built.

    Parameters
    ----------
    key : str
        The hyperparameter key, for messages (``"module__p"``).
    factory : callable
        Builds the component (the module class).
    kwargs : dict
        The other constructor arguments, as the net passes them.
    name : str
        The argument.
    probes : (float, float)
        Two distinct values to build with (the bounds).

    Returns
    -------
    list of (str, str)
        ``(submodule path, attribute)`` pairs, ``""`` for the root, each holding
        the argument's value as given.

    Raises
    ------
    ValueError
        When a build fails (the bounds leave what the constructor accepts).
    UnsupportedHyperparameterError
        When the argument changes the structure or a shape, lands transformed
        (``self.keep = 1 - p``) or in no attribute at all.

    Examples
    --------
    >>> from torch import nn
    >>> class MLP(nn.Module):
    ...     def __init__(self, p=0.5):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 8)
    ...         self.drop = nn.Dropout(p)
    >>> locate_argument("module__p", MLP, {}, "p", (0.1, 0.4))
    [('drop', 'p')]
    """
    low, high = (float(v) for v in probes)
    built = [_build(key, factory, kwargs, name, value, (low, high)) for value in (low, high)]
    label = getattr(factory, "__name__", repr(factory))
    changed = _structure_change(*built)
    if changed:
        raise UnsupportedHyperparameterError(
            f"{key!r}: building {label} with {name}={low!r} and {name}={high!r} gives "
            f"different {changed}, so {name} shapes the network and no best response "
            f"exists for it. {grid_axis_fix(key)}."
        )
    before, after = (_plain_attributes(b) for b in built)
    moved = [loc for loc in before if loc in after and before[loc] != after[loc]]
    found = [loc for loc in moved if isinstance(after[loc], float)
             and (before[loc], after[loc]) == (low, high)]
    odd = [loc for loc in moved if loc not in found]
    if odd:
        shown = ", ".join(f"{_dotted(loc)}: {before[loc]!r} -> {after[loc]!r}" for loc in odd)
        raise UnsupportedHyperparameterError(
            f"{key!r}: changing {name} from {low!r} to {high!r} changes {label}'s "
            f"{shown}, which is not the argument itself, so the search cannot set it "
            "before each training step. Keep the argument as it is given, e.g. "
            f"self.{name} = {name} read in forward, or nn.Dropout({name})."
        )
    if not found:
        raise UnsupportedHyperparameterError(
            f"{key!r}: building {label} with {name}={low!r} and {name}={high!r} gives "
            f"modules with the same attributes, so {name} cannot be located (it may "
            "only be used inside __init__, e.g. to initialize weights). Store it where "
            f"forward reads it: self.{name} = {name} (used as "
            f"F.dropout(x, self.{name}, self.training)), or self.drop = nn.Dropout({name})."
        )
    return found


def _build(key, factory, kwargs, name, value, bounds):
    """``factory(**kwargs, name=value)`` without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        try:
            return factory(**{**kwargs, name: value})
        except Exception as exc:
            label = getattr(factory, "__name__", repr(factory))
            raise ValueError(
                f"param_bounds[{key!r}] = {bounds!r}: skorch builds {label} with {name} as "
                f"a constructor argument, and {label}({name}={value!r}) failed, as the "
                f"refit's set_params would: {type(exc).__name__}: {exc}. Give bounds the "
                "constructor accepts."
            ) from exc


def _structure_change(a, b):
    """A phrase naming what differs in the structure of two components, or ''."""
    if not isinstance(a, torch.nn.Module) or not isinstance(b, torch.nn.Module):
        return ""
    layers = lambda m: [(n, type(s).__name__) for n, s in m.named_modules()]
    if layers(a) != layers(b):
        return "layers"
    shapes = lambda m: [(n, tuple(t.shape)) for n, t in
                        [*m.named_parameters(), *m.named_buffers()]]
    return "parameter shapes" if shapes(a) != shapes(b) else ""


def _plain_attributes(component):
    """``{(path, attribute): value}`` of the plain public attributes of every submodule."""
    modules = component.named_modules() if isinstance(component, torch.nn.Module) else [
        ("", component)]
    out = {}
    for path, sub in modules:
        for attr, value in vars(sub).items():
            if not attr.startswith("_") and attr != "training" and isinstance(value, _PLAIN):
                out[(path, attr)] = value
    return out


def _dotted(location):
    path, attr = location
    return f"{path}.{attr}" if path else attr
