"""Errors raised at the public boundary.

Every error that a user can cause by giving bad input is an :class:`InputError`: it names the
argument and the offending value, so that the CLI can print one line and exit with status 2.
A run that meets a non-finite gradient, loss or iterate stops with a :class:`NumericalError`
that names the step ``t`` (1-based) and the coordinate where it happened.
"""

from __future__ import annotations


class AmsgradTheoryError(Exception):
    """Base class of the toolkit's own errors."""


class InputError(AmsgradTheoryError, ValueError):
    """Bad user input: names the argument and its value.

    >>> str(InputError("beta1", 1.5, "must lie in [0, 1)"))
    'beta1=1.5: must lie in [0, 1)'
    """

    def __init__(self, argument: str, value: object, message: str):
        self.argument = argument
        self.value = value
        self.message = message
        super().__init__(f"{argument}={value!r}: {message}")


class NumericalError(AmsgradTheoryError, ArithmeticError):
    """A non-finite gradient, loss or iterate met during a run (the run stops there)."""

    def __init__(self, what: str, step: int, coordinate: int | None, instance: int = 0):
        self.what = what
        self.step = step
        self.coordinate = coordinate
        self.instance = instance
        where = f"step t={step}"
        if coordinate is not None:
            where += f", coordinate i={coordinate}"
        if instance:
            where += f", instance b={instance}"
        super().__init__(f"non-finite {what} at {where}")


def unknown_name(argument: str, value: str, valid: list[str] | tuple[str, ...]) -> InputError:
    """The error for an unknown registry name; it lists the valid names."""
    return InputError(argument, value, "unknown; valid names: " + ", ".join(sorted(valid)))
