"""The arithmetic protocol shared by every backend.

An *arithmetic* says what a number is (IEEE float32/float64, an mpmath float at a given precision,
an arb ball at a given precision, a torch tensor on a device) and how the elementary operations act
on it. Update rules, problems and statistics are written once against the *namespace* ``xp`` of an
arithmetic and never ask which one they run in:

=================  ==========================================================================
``xp`` member      meaning
=================  ==========================================================================
``sqrt, exp``      elementwise sqrt / exp (correctly rounded for IEEE sqrt, enclosing for arb)
``log1p, log``     elementwise logarithms
``abs``            absolute value
``fma(a, b, c)``   a·b + c with a single rounding (IEEE fused multiply-add; exact product
                   then one rounding in mpmath; an enclosure for arb). PyTorch's CPU kernels
                   use it in ``lerp_`` and ``addcmul_``, so exact framework models need it.
``maximum(a, b)``  elementwise max (an enclosure of max for balls; exact for floats)
``minimum(a, b)``  elementwise min
``where(c, a, b)`` ``a`` where the condition holds, ``b`` where it fails; for a ball comparison
                   that cannot be decided the result encloses both branches (their union)
``rise_ratio(c, a, b)`` a/b − 1 where the condition holds, else 0 (b > 0 there); scalar
                   arithmetics divide only where it holds
``gt ge lt le``    comparisons returning a *condition*: a bool (floats), a bool array (numpy,
                   torch), or ``True``/``False``/``None`` (arb; ``None`` = undecided)
``both(c1, c2)``   logical and of two conditions (three-valued for arb)
``isfinite(a)``    the condition "a is finite"
``certain(c)``     1 where the condition certainly holds, else 0 (an int or bool, or an int or
                   bool array: something integer counters add as 0/1)
``unknown(c)``     1 where the condition is undecided (always 0 except for arb)
``decided``        True where every condition is decided (all but arb): code may then skip
                   counting undecided ones (their count stays 0)
``unit_roundoff``  u, the largest relative error of one rounding to nearest (2^−53 for
                   float64, 2^−24 float32, 2^−prec mpmath); 0 for arb, whose balls enclose
                   their rounding errors. Float verdicts widen their comparisons by a bound
                   in multiples of u (:func:`amsgrad_theory.algorithms.rules.tie_window`)
``cast(a)``        convert a scalar-precision value to the lane dtype (float32 lanes: round)
``widen(a)``       a lane value as a value of the scalar namespace (exact; ``sp.widen``); the
                   identity where lanes and scalars are one type (mpmath, arb), else ``cast``
``zero one inf``   constants in the lane dtype
``pow(a, b)``      a to the power b (as C's ``pow``, for IEEE floats)
``uint(n)``        an integer (or integer array) in the type the counter-based hash uses
``ifloat(n)``      such an integer as an exact number of this namespace
``rowsum(a)``      vector engines only: sum over the last axis, keeping it (shape (B, 1))
``rowmax(a)``      vector engines only: max over the last axis (shape (B,))
=================  ==========================================================================

Scalar quantities that depend only on ``t`` and the hyperparameters (``α_t``, ``β1,t``, the bias
corrections ``1 − β^t``) are computed in the *scalar namespace* ``sp`` — IEEE double for both float
arithmetics, exactly as PyTorch and Keras compute them in Python doubles — and converted with
``xp.cast`` before they meet lane values.
"""

from __future__ import annotations

import contextlib
import functools
import math
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InputError
from ..lanecode import lane_code

#: how an engine iterates: a compiled loop over lanes (numba), an interpreted loop over lanes
#: (Python numbers, mpmath, arb), whole arrays per operation (numpy, torch)
ENGINE_KINDS = ("compiled", "interpreted", "vector")


def split_rational(text: str) -> tuple[str, str] | None:
    """``"a/b"`` → ("a", "b") for exact rational inputs; None for a plain decimal."""
    if "/" not in text:
        return None
    num, _, den = text.partition("/")
    Fraction(num.strip()), Fraction(den.strip())  # validates both parts
    return num.strip(), den.strip()


@functools.cache
def _smallest_normal(dtype_name: str) -> float:
    return float(np.finfo(dtype_name).tiny)


@dataclass(frozen=True)
class Namespace:
    """The elementwise operations of one arithmetic (see the module docstring)."""

    name: str
    sqrt: Callable
    exp: Callable
    log1p: Callable
    log: Callable
    abs: Callable
    fma: Callable
    maximum: Callable
    minimum: Callable
    where: Callable
    rise_ratio: Callable
    gt: Callable
    ge: Callable
    lt: Callable
    le: Callable
    both: Callable
    isfinite: Callable
    certain: Callable
    unknown: Callable
    #: a number into the arithmetic's value (inside lane code). Called in Python, a numba
    #: namespace's (a compiled function) returns a Python float, i.e. float64: a constant of
    #: the lane dtype is made from ``zero``/``one`` (``one + one``) or the dtype itself, or a
    #: float32 kernel computes with it in float64
    cast: Callable
    zero: Any
    one: Any
    inf: Any
    pow: Callable = operator.pow
    uint: Callable = int
    #: converts an integer parameter's new value back to the kernel's integer type where that
    #: is narrower than what the arithmetic computes in (numba computes int32 in 64 bits; the
    #: blocked kernel holds the parameters in 32 bits where they fit: np.int32); None: no
    #: conversion
    icast: Callable | None = None
    ifloat: Callable = float
    rowsum: Callable | None = None
    rowmax: Callable | None = None
    widen: Callable | None = None
    decided: bool = True
    unit_roundoff: float = 0.0
    #: the smallest positive normal number of a binary float format (0: no such limit — the
    #: exact arithmetics, whose exponents are unbounded)
    smallest_normal: float = 0.0

    def __post_init__(self):
        if self.widen is None:
            object.__setattr__(self, "widen", self.cast)
        # the toolkit's own elementwise operations are lane code: the specialiser may inline
        # them (a library's functions, such as mpmath's, stay calls)
        for name in self.__dataclass_fields__:
            op = getattr(self, name)
            if getattr(op, "__module__", "").startswith("amsgrad_theory."):
                lane_code(op)


class ArrayKit:
    """Allocation and read-back of the vector engine's arrays (numpy on the host, or torch on
    a device), so that the engine never asks which library holds its numbers.

    ``kind`` of an array: ``"lane"`` (the lane dtype), ``"scalar"`` (the scalar arithmetic:
    float64, or float32 on MPS), ``"int"`` (int64 counters), ``"hash"`` (the integer type of
    the counter-based random stream).
    """

    def zeros(self, shape: tuple, kind: str = "lane") -> Any:
        raise NotImplementedError

    def asarray(self, values: Any, kind: str = "scalar") -> Any:
        """A host numpy array (or nested lists) as an array of ``kind`` on the device."""
        raise NotImplementedError

    def to_numpy(self, array: Any) -> Any:
        """The array on the host as numpy (float16/bfloat16 widened exactly to float64)."""
        raise NotImplementedError


class Arithmetic:
    """Base class of the arithmetics; subclasses fill in the conversions.

    Attributes
    ----------
    spec:
        the canonical spec string (``float64``, ``float64:numba``, ``mpmath:50``, ``arb:128``,
        ``torch:cpu:float64``).
    number:
        what a number is, without an engine the spec forces (``float64`` for ``float64:numba``).
    kind:
        ``"float"``, ``"mpmath"``, ``"arb"`` or ``"torch"``.
    engines:
        the engine kinds (:data:`ENGINE_KINDS`) that can run this arithmetic; ``forced_engine``
        is the one its spec names, or None (the engine is chosen by the run's size).
    xp, sp:
        lane and scalar namespaces of scalar, after-the-run work (the interpreted ones);
        :meth:`namespaces` gives those of an engine.
    exact_decimal:
        True when :meth:`scalar` parses decimal strings without passing through a binary float
        (mpmath, arb); the CLI then hands it the user's text verbatim.
    certified:
        True when its comparisons decide with every rounding error enclosed (arb): a verdict
        reached in it is ``certified``.
    """

    spec: str
    kind: str
    engines: tuple[str, ...] = ("interpreted",)
    forced_engine: str | None = None
    xp: Namespace
    sp: Namespace
    exact_decimal: bool = False
    certified: bool = False
    #: numpy dtype of the lane arrays (object for mpmath and arb)
    lane_dtype: Any = object
    #: numpy dtype of the scalar (schedule/hyperparameter) arrays
    scalar_dtype: Any = object

    # --- conversions -------------------------------------------------------------------------
    def scalar(self, value: str | int | float) -> Any:
        """A scalar-precision number from a decimal string (exactly rounded) or a number."""
        raise NotImplementedError

    def lane(self, value: str | int | float) -> Any:
        """A lane value (for float32 lanes: rounded to float32)."""
        return self.xp.cast(self.scalar(value))

    def check_input(self, argument: str, text: str, *, lane: bool = False,
                    zero_ok: bool = False) -> None:
        """Refuse a user's number that this arithmetic cannot hold: a finite ``text`` that
        rounds to ±inf, or a non-zero one that rounds to 0 (an
        :class:`~amsgrad_theory.errors.InputError` naming ``argument`` and ``text``).

        ``text`` is a decimal or ``a/b`` already validated as such
        (:func:`amsgrad_theory.problems.parse_number`). It is converted as :meth:`scalar`
        converts it (float64 in the binary float arithmetics: hyperparameters enter as Python
        doubles do), or with ``lane`` as :meth:`lane` does (float32 lanes for ``float32``, the
        tensor dtype for torch: a problem's data and x_1 are lane values); ``zero_ok`` lets
        it round to 0 (only ±inf is refused). mpmath and arb keep every exponent, so nothing
        rounds to inf or 0 there and they accept every such input.
        """
        if self.exact_decimal:
            return
        if lane:
            with np.errstate(over="ignore", under="ignore"):   # the check reports it
                value = float(self.lane(text))
        else:
            value = float(self.scalar(text))
        tiny = self.lane_tiny()
        if value != 0 and math.isfinite(value) and not (lane and abs(value) < tiny):
            return      # neither 0, nor ±inf, nor a subnormal lane value: nothing to refuse
        exact = Fraction(text.strip())
        number = getattr(self, "dtype_name", "float64") if lane else "float64"
        if exact != 0 and (value == 0 and not zero_ok or value in (float("inf"),
                                                                  float("-inf"))):
            rounded = "0" if value == 0 else "inf"
            raise InputError(argument, text, f"does not survive conversion to {number}: "
                             f"rounds to {rounded}")
        if lane and not zero_ok and 0 < abs(value) < tiny and Fraction(value) != exact:
            # a subnormal lane value that is not exact has lost leading bits (1e-44 is 9.8e-45
            # in float32): the run would be of another problem
            raise InputError(argument, text, f"does not survive conversion to {number}: "
                             f"rounds to a subnormal number ({value:.3g}, below the smallest "
                             f"normal {tiny:.3g}); run it in mpmath or arb")

    def check_inputs(self, items: Iterable[tuple[str, str]],
                     modes: Sequence[dict] = ({},)) -> None:
        """:meth:`check_input` of every (argument, text) of ``items`` in each of ``modes`` (its
        keyword arguments: ``lane``, ``zero_ok``), item by item in order: the first bad one is
        named, as one-by-one checks name it. Where the arithmetic converts many texts at once
        (:meth:`scalars`), only the items whose value comes out 0, ±inf or (a lane value)
        below the smallest normal number in some mode are looked at one by one: a sweep of
        thousands of distinct values costs one array pass."""
        if self.exact_decimal:
            return
        items = list(items)
        doubles = self.scalars([text for _, text in items])
        suspects: Iterable[int] = range(len(items))
        if doubles is not None:
            suspect = np.zeros(len(items), dtype=bool)
            for mode in modes:
                values = doubles
                if mode.get("lane"):
                    with np.errstate(over="ignore", under="ignore"):   # the check reports it
                        values = doubles.astype(self.lane_dtype).astype(np.float64)
                size = np.abs(values)
                suspect |= ~((size > 0) & (size < np.inf))
                if mode.get("lane"):
                    suspect |= size < self.lane_tiny()
            suspects = np.flatnonzero(suspect)
        for i in suspects:
            for mode in modes:
                self.check_input(*items[i], **mode)

    def scalars(self, texts: Sequence[str]) -> np.ndarray | None:
        """:meth:`scalar` of each text as one float64 array, for arithmetics whose scalars are
        binary64 (None elsewhere: convert one by one)."""
        return None

    def lane_tiny(self) -> float:
        """The smallest positive normal number of the lane format (binary floats)."""
        return _smallest_normal(getattr(self, "dtype_name", "float64"))

    def to_float(self, value: Any) -> float:
        """Nearest Python float (the midpoint of a ball)."""
        return float(value)

    def to_decimal(self, value: Any) -> str:
        """A decimal string carrying every digit the arithmetic holds."""
        return repr(float(value))

    def contains(self, value: Any, other: Any) -> bool | None:
        """For ball arithmetics: whether ``value`` encloses ``other``; None otherwise."""
        return None

    def radius(self, value: Any) -> float:
        """Radius of a ball (0.0 for point arithmetics)."""
        return 0.0

    @property
    def number(self) -> str:
        return self.spec

    # --- running ----------------------------------------------------------------------------
    def namespaces(self, engine: str) -> tuple[Namespace, Namespace]:
        """The (lane, scalar) namespaces an engine kind computes with."""
        if engine not in self.engines:
            raise ValueError(f"{self.spec} does not run on the {engine} engine")
        return self.xp, self.sp

    def coefficient_namespace(self, engine: str, kind: str) -> Namespace:
        """The namespace of numbers of ``kind`` in which a framework variant computes its
        coefficients (:mod:`amsgrad_theory.algorithms.rules`): ``"scalar"``, ``"lane"`` or
        ``"float32"``. Arithmetics without binary floats (mpmath, arb) compute every kind in
        their own numbers: their runs are the exact computation, whatever a framework rounds.
        ``"bound"``: where the rounding bounds of the tie window are computed (a bound needs
        no more than double precision: mpmath computes it in Python floats)."""
        xp, sp = self.namespaces(engine)
        return xp if kind == "lane" else sp

    @property
    def arrays(self) -> ArrayKit:
        """How the vector engine allocates and reads back its arrays."""
        raise ValueError(f"{self.spec} has no vector engine")

    def precision_context(self):
        """A context manager inside which the arithmetic's precision is in force.

        Only arb needs one (python-flint keeps its precision in a process-wide context); it is
        entered for the duration of a run and restores the previous precision on exit.
        """
        return contextlib.nullcontext()

    def flush_subnormals(self) -> contextlib.AbstractContextManager[bool]:
        """A context inside which subnormal results and inputs are flushed to zero, as XLA
        computes on the CPU; it yields whether it could (arithmetics without subnormals —
        mpmath, arb — compute the exact values and yield False)."""
        return contextlib.nullcontext(False)

    def eager(self) -> Arithmetic:
        """The arithmetic used for scalar, after-the-run work (comparators, bounds).

        Scalar arithmetics return themselves; the array engines return Python float64, since
        their results come back to the host as float64 numbers.
        """
        return self

    def __repr__(self) -> str:
        return f"<arithmetic {self.spec}>"
