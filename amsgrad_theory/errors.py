"""Errors raised at the public boundary.

Every error that a user can cause by giving bad input is an :class:`InputError`: it names the
argument and the offending value, so that the CLI can print one line and exit with status 2.
A run that meets a non-finite gradient, loss or iterate stops with a :class:`NumericalError`
that names the step ``t`` (1-based) and the coordinate where it happened.
"""

from __future__ import annotations


class AmsgradTheoryError(Exception):
    """Base class of the toolkit's own errors.

    They pickle whole — message and fields —, so an error raised in a worker process (a study
    of ``reproduce all``, a Dask task) reaches its parent as it was raised. (Python's default
    re-calls ``cls(*args)`` with the one formatted message, which fails for every subclass
    whose constructor takes fields.)
    """

    def __reduce__(self):
        return _rebuild, (type(self), self.args, dict(self.__dict__))


def _rebuild(cls, args, fields):
    """Unpickle an :class:`AmsgradTheoryError` without re-running its constructor."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(fields)
    return error


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
    """A run left its arithmetic's range (the run stops there): a non-finite gradient, loss or
    iterate at a step; a moment or a bound term that overflowed, or a second moment that
    underflowed to zero, found at the end of the chunk of steps ``since..step``."""

    def __init__(self, what: str, step: int, coordinate: int | None, instance: int = 0, *,
                 kind: str = "non-finite", since: int | None = None):
        self.what = what
        self.step = step
        self.since = step if since is None else since
        self.kind = kind
        self.coordinate = coordinate
        self.instance = instance
        where = f"step t={step}" if self.since == step else f"a step in t={self.since}..{step}"
        if coordinate is not None:
            where += f", coordinate i={coordinate}"
        if instance:
            where += f", instance b={instance}"
        super().__init__(f"{kind} {what} at {where}")


def unknown_name(argument: str, value: str, valid: list[str] | tuple[str, ...]) -> InputError:
    """The error for an unknown registry name; it lists the valid names."""
    return InputError(argument, value, "unknown; valid names: " + ", ".join(sorted(valid)))
