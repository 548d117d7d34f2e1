"""Exceptions and warnings raised by skhyper."""


class SkhyperWarning(UserWarning):
    """Something about the search deserves the user's attention."""


class UnsupportedHyperparameterError(ValueError):
    """A key of ``param_bounds`` cannot be tuned by a hypernet.

    Raised for hyperparameters that shape the optimizer or the architecture
    (``lr``, ``batch_size``, ``module__num_units``...), for keys the estimator
    does not have, and for attributes the module never reads.
    """


class ParamBoundsError(UnsupportedHyperparameterError, TypeError):
    """Several keys of ``param_bounds`` cannot be searched; the message lists each
    with its fix. A ``ValueError`` and a ``TypeError``, as its single-key errors are."""


class TrainingDivergedError(FloatingPointError):
    """Hyper-training produced a non-finite loss."""


class DistributedFitError(RuntimeError):
    """A rank of a distributed ``fit`` failed (or never arrived); every rank raises it.

    The message names the failing rank and quotes its error.
    """
