"""skhyper: tune PyTorch (skorch) hyperparameters by gradient descent through hypernetworks."""

from ._blocks import PerInput, PerLayer, PerUnit, PerWeight
from ._refit import DecayCallback, with_params
from ._search import HypernetSearchCV
from ._targets import (
    CriterionAttribute,
    HyperTarget,
    ModuleAttribute,
    WeightDecay,
    register_target,
    unregister_target,
)
from .exceptions import (
    DistributedFitError,
    ParamBoundsError,
    SkhyperWarning,
    TrainingDivergedError,
    UnsupportedHyperparameterError,
)

__version__ = "0.1.0"

__all__ = [
    "HypernetSearchCV",
    "PerLayer",
    "PerUnit",
    "PerInput",
    "PerWeight",
    "with_params",
    "DecayCallback",
    "HyperTarget",
    "WeightDecay",
    "ModuleAttribute",
    "CriterionAttribute",
    "register_target",
    "unregister_target",
    "SkhyperWarning",
    "DistributedFitError",
    "TrainingDivergedError",
    "UnsupportedHyperparameterError",
    "ParamBoundsError",
]
