"""skhyper: tune PyTorch (skorch) hyperparameters by gradient descent through hypernetworks."""

from ._search import HypernetSearchCV
from ._targets import (
    CriterionAttribute,
    HyperTarget,
    ModuleAttribute,
    WeightDecay,
    register_target,
    unregister_target,
)
from .exceptions import SkhyperWarning, TrainingDivergedError, UnsupportedHyperparameterError

__version__ = "0.1.0"

__all__ = [
    "HypernetSearchCV",
    "HyperTarget",
    "WeightDecay",
    "ModuleAttribute",
    "CriterionAttribute",
    "register_target",
    "unregister_target",
    "SkhyperWarning",
    "TrainingDivergedError",
    "UnsupportedHyperparameterError",
]
