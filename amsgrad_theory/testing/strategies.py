"""Hypothesis strategies for testing optimizers of the Adam/AMSGrad family (the public home).

The strategies live in :mod:`amsgrad_theory.strategies`, below the verification layer that
also draws from them; this module is where users import them from::

    from amsgrad_theory.testing import strategies as ats

See :mod:`amsgrad_theory.strategies` for :func:`gradient_sequences`, :func:`hyperparameters`
and :func:`problems`.
"""

from ..strategies import (
    PROBLEM_FAMILIES,
    REGIONS,
    SEQUENCE_KINDS,
    InvalidArgument,
    check_choice,
    check_int,
    gamma_below_one,
    gradient_sequences,
    hyperparameters,
    problems,
)

__all__ = ["gradient_sequences", "hyperparameters", "problems", "gamma_below_one",
           "InvalidArgument", "SEQUENCE_KINDS", "REGIONS", "PROBLEM_FAMILIES", "check_choice",
           "check_int"]
