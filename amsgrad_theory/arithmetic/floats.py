"""IEEE float32 / float64 arithmetics.

Three engines run these numbers (the spec ``float64:ENGINE`` forces one; plain ``float64`` lets
the run's size decide, :func:`amsgrad_theory.engine.engines.choose_engine`):

* ``python`` (interpreted) — a loop over lanes with Python floats (float64) or numpy float32
  scalars. No compile step; the reference path for short runs.
* ``numba`` (compiled) — the same loop compiled by numba (``error_model='numpy'``, no
  fast-math, no FMA contraction), bit-for-bit equal to the ``python`` engine.
* ``numpy`` (vector) — one numpy ufunc per operation over arrays of shape ``(B, d)``.

All three perform the same IEEE operations in the same order, so their results are identical
(the tests check this). Schedules (``α_t``, ``1 − β^t`` …) are computed in float64 and rounded to
the lane dtype, which is how PyTorch and Keras treat their Python-double scalars.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import math
import operator
import platform
import sys
import typing
from collections.abc import Callable, Hashable
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from ..lanecode import lane_code
from ..numbers import floats_of, parse_float
from . import libm
from .base import Arithmetic, ArrayKit, Namespace


def _bool_where(c, a, b):
    return a if c else b


_SPLITTER = 134217729.0  # 2**27 + 1, Veltkamp's constant for binary64


@lane_code
def _two_product(a: float, b: float) -> tuple[float, float]:
    """Dekker's error-free product: p + e == a·b exactly (no overflow/underflow assumed)."""
    p = a * b
    t = _SPLITTER * a
    ah = t - (t - a)
    al = a - ah
    t = _SPLITTER * b
    bh = t - (t - b)
    bl = b - bh
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


#: |a·b| in [2^-916, 2^995], |a|, |b| ≤ 2^995: Dekker's split and error term are exact
_FMA_TINY = 2.0 ** -916
_FMA_HUGE = 2.0 ** 995


def round_binary(q: Fraction, bits: int, emin: int) -> Fraction:
    """``q`` rounded to nearest, ties to even, in a binary format with ``bits`` significant bits
    and smallest normal exponent ``emin`` (subnormals have the fixed quantum 2^(emin−bits+1));
    no overflow handling. binary32: ``bits=24, emin=-126``; binary64: ``53, -1022``."""
    if q == 0:
        return Fraction(0)
    sign = -1 if q < 0 else 1
    q = abs(q)
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()          # floor(log2 q) is e or e − 1
    if (n << max(0, -e)) < (d << max(0, e)):
        e -= 1
    e = max(e, emin)
    shift = bits - 1 - e                         # the quantum is 2^−shift
    num, den = (n << shift, d) if shift >= 0 else (n, d << -shift)
    k, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and k % 2 == 1):
        k += 1
    return sign * (Fraction(k, 1 << shift) if shift >= 0 else Fraction(k << -shift))


def fma64(a: float, b: float, c: float) -> float:
    """Correctly rounded a·b + c in binary64, in pure Python.

    In the range where it is exact, the product is split (Dekker) and :func:`math.fsum` returns
    the correctly rounded sum of the exact terms; elsewhere (a product near the subnormals, or
    near overflow) the exact rational a·b + c is rounded (``float`` of a fraction rounds
    correctly, subnormals included).
    """
    a, b, c = float(a), float(b), float(c)
    p = a * b
    if _FMA_TINY <= abs(p) <= _FMA_HUGE and abs(a) <= _FMA_HUGE and abs(b) <= _FMA_HUGE:
        p, e = _two_product(a, b)
        return math.fsum((p, e, c))
    if p == 0 or not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return p + c                 # an exact zero product, or IEEE's inf/nan rules
    return _fma64_exact(a, b, c)


def _fma64_exact(a: float, b: float, c: float) -> float:
    """a·b + c rounded once from the exact rational (the rare path of :func:`fma64`)."""
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return a * b + c
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


_F32_MAX = Fraction(float(np.finfo(np.float32).max))


def fma32(a, b, c):
    """Correctly rounded a·b + c in binary32: the product of two binary32 numbers is exact in
    binary64; where its sum with c is exact too, one rounding to binary32 remains; else the
    exact rational is rounded to 24 bits (subnormals at their fixed quantum)."""
    a, b, c = float(a), float(b), float(c)
    p = a * b
    s = p + c
    bb = s - p
    if math.isfinite(s) and (p - (s - bb)) + (c - bb) == 0:   # Knuth's TwoSum: s is exact
        return np.float32(s)
    if not (math.isfinite(p) and math.isfinite(c)):
        return np.float32(s)
    return _fma32_exact(p, c)


def _fma32_exact(p: float, c: float) -> np.float32:
    """p + c (p an exact binary32 product) rounded once to binary32 (the rare path of
    :func:`fma32`)."""
    exact = round_binary(Fraction(p) + Fraction(c), 24, -126)
    if abs(exact) > _F32_MAX:
        return np.float32(math.inf if exact > 0 else -math.inf)
    return np.float32(float(exact))


def _unit_roundoff(dtype) -> float:
    """u = 2^−p for a binary format with p significant bits (half its machine epsilon)."""
    return float(np.finfo(dtype).eps) / 2


def float64_namespace() -> Namespace:
    """The namespace of Python floats (binary64), for work that needs no more (bounds)."""
    return _python_namespace(np.float64)


@cache
def _python_namespace(dtype: type) -> Namespace:
    """Lane namespace over Python floats (float64) or numpy float32 scalars."""
    # each operation is a math function (binary64) or a numpy ufunc (float32 scalars): one
    # callable type covers both
    cast: Callable[..., Any]
    sqrt: Callable[..., Any]
    exp: Callable[..., Any]
    log1p: Callable[..., Any]
    log: Callable[..., Any]
    if dtype == np.float64:
        cast = float
        sqrt = math.sqrt
        exp = math.exp
        log1p = math.log1p
        log = math.log
        fma = fma64
    else:
        cast = np.float32
        fma = fma32
        sqrt = np.sqrt
        exp = libm.exp          # not np.exp: numpy's float32 exp is not C's (libm.py)
        log1p = libm.log1p
        log = libm.log

    def maximum(a, b):
        return a if a >= b else b

    def minimum(a, b):
        return a if a <= b else b

    def isfinite(a):
        return math.isfinite(a)

    zero_, one_ = cast(0.0), cast(1.0)

    def rise_ratio(c, a, b):
        return a / b - one_ if c else zero_

    return Namespace(
        name=f"python-{np.dtype(dtype).name}",
        sqrt=sqrt, exp=exp, log1p=log1p, log=log, abs=abs, fma=fma,
        maximum=maximum, minimum=minimum, where=_bool_where, rise_ratio=rise_ratio,
        gt=lambda a, b: a > b, ge=lambda a, b: a >= b,
        lt=lambda a, b: a < b, le=lambda a, b: a <= b,
        both=lambda c1, c2: c1 and c2, isfinite=isfinite,
        certain=int, unknown=lambda c: 0,
        cast=cast, zero=cast(0.0), one=cast(1.0), inf=cast(math.inf),
        pow=operator.pow if dtype == np.float64 else libm.power,
        uint=int, ifloat=float, unit_roundoff=_unit_roundoff(dtype),
        smallest_normal=float(np.finfo(dtype).tiny),
    )


@cache
def _numba_fma():
    """``llvm.fma`` exposed to numba code (a true fused multiply-add)."""
    from numba import types  # numba: the compiler, imported only by runs that compile
    from numba.extending import intrinsic

    @intrinsic
    def fma(typingctx, a, b, c):
        if not (isinstance(a, types.Float) and a == b == c):
            return None

        def codegen(context, builder, signature, args):
            # llvmlite (numba's backend): only when the intrinsic is compiled
            from llvmlite import ir

            ty = args[0].type
            fn = builder.module.declare_intrinsic("llvm.fma", [ty],
                                                  ir.FunctionType(ty, [ty, ty, ty]))
            return builder.call(fn, args)

        return a(a, b, c), codegen

    return fma


@cache
def numba_namespace(dtype_name: str) -> Namespace:
    """Lane namespace of numba-compiled scalar functions (float32 or float64)."""
    import numba  # numba: the compiler, imported only by runs that compile

    dtype = np.dtype(dtype_name).type
    jit = numba.njit(inline="always", error_model="numpy")
    if dtype == np.float64:
        @jit
        def cast(a):
            return np.float64(a)
    else:
        @jit
        def cast(a):
            return np.float32(a)

    @jit
    def sqrt(a):
        return np.sqrt(a)

    @jit
    def exp(a):
        return np.exp(a)

    @jit
    def log1p(a):
        return np.log1p(a)

    @jit
    def log(a):
        return np.log(a)

    @jit
    def absolute(a):
        return abs(a)

    @jit
    def maximum(a, b):
        return a if a >= b else b

    @jit
    def minimum(a, b):
        return a if a <= b else b

    @jit
    def where(c, a, b):
        return a if c else b

    zero_, one_ = dtype(0.0), dtype(1.0)

    @jit
    def rise_ratio(c, a, b):
        return a / b - one_ if c else zero_

    @jit
    def gt(a, b):
        return a > b

    @jit
    def ge(a, b):
        return a >= b

    @jit
    def lt(a, b):
        return a < b

    @jit
    def le(a, b):
        return a <= b

    @jit
    def both(c1, c2):
        return c1 and c2

    @jit
    def isfinite(a):
        return np.isfinite(a)

    @jit
    def ifloat(n):
        return np.float64(n)

    @jit
    def power(a, b):
        return cast(a ** b)       # numba widens float32 ** float32 to float64 (powf's value)

    @jit
    def certain(c):
        return 1 if c else 0

    @jit
    def unknown(c):
        return 0

    return Namespace(
        name=f"numba-{dtype_name}", sqrt=sqrt, exp=exp, log1p=log1p, log=log, abs=absolute,
        fma=_numba_fma(),
        maximum=maximum, minimum=minimum, where=where, rise_ratio=rise_ratio, gt=gt, ge=ge,
        lt=lt, le=le, both=both,
        isfinite=isfinite, certain=certain, unknown=unknown, cast=cast,
        zero=dtype(0.0), one=dtype(1.0), inf=dtype(np.inf),
        uint=np.uint64, ifloat=ifloat, pow=power, unit_roundoff=_unit_roundoff(dtype),
        smallest_normal=float(np.finfo(dtype).tiny),
    )


def _as_counts(c):
    """A condition array as 0/1 counts: the bool array itself (int arrays add it as 0/1)."""
    return c


@cache
def _numpy_namespace(dtype) -> Namespace:
    """Vector namespace over numpy arrays of one dtype."""
    dt = np.dtype(dtype).type

    def cast(a):
        return np.asarray(a, dtype=dt)

    where = np.where

    def rise_ratio(c, a, b):
        # a/b − 1 where c, else 0 (1 − 1 = +0.0, as the scalar engines); no division elsewhere
        shape = np.broadcast_shapes(np.shape(c), np.shape(a), np.shape(b))
        r = np.divide(a, b, out=np.ones(shape, dtype=dt), where=c)
        r -= dt(1.0)
        return r

    scalar_fma = fma64 if dt == np.float64 else fma32
    ufunc_fma = np.frompyfunc(scalar_fma, 3, 1)

    def fma(a, b, c):
        # numpy has no fused multiply-add ufunc: apply the exact scalar one elementwise
        return np.asarray(ufunc_fma(a, b, c), dtype=dt)

    return Namespace(
        name=f"numpy-{np.dtype(dtype).name}",
        # C's exp, log1p, log and pow, not numpy's SIMD approximations (libm.py)
        sqrt=np.sqrt, exp=libm.exp, log1p=libm.log1p, log=libm.log, abs=np.abs, fma=fma,
        maximum=np.maximum, minimum=np.minimum, where=where, rise_ratio=rise_ratio,
        gt=np.greater, ge=np.greater_equal, lt=np.less, le=np.less_equal,
        both=np.logical_and, isfinite=np.isfinite,
        certain=_as_counts,
        unknown=lambda c: np.zeros(np.shape(c), dtype=np.int64),
        cast=cast, zero=dt(0.0), one=dt(1.0), inf=dt(np.inf),
        uint=lambda n: np.asarray(n).astype(np.uint64),
        ifloat=lambda n: np.asarray(n).astype(np.float64),
        rowsum=lambda a: np.sum(a, axis=-1, keepdims=True), pow=libm.power,
        rowmax=lambda a: np.max(a, axis=-1), unit_roundoff=_unit_roundoff(dtype),
        smallest_normal=float(np.finfo(dtype).tiny),
    )


class _FEnv(ctypes.Structure):
    """glibc's ``fenv_t`` on x86-64: the x87 environment, then the SSE control word MXCSR."""

    _fields_ = [("x87", ctypes.c_uint16 * 14), ("mxcsr", ctypes.c_uint32)]


#: MXCSR's flush-to-zero (results) and denormals-are-zero (inputs) bits
_FTZ_DAZ = 0x8040


@cache
def _libm():
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else None


@contextlib.contextmanager
def flush_subnormals_here():
    """Flush subnormals to zero in this thread (MXCSR's FTZ and DAZ bits, set through glibc's
    ``fesetenv``) for the duration of the block, as XLA does on the CPU; yields whether it
    could (x86-64 Linux). Python floats, numpy and numba code of this thread obey it."""
    libm = _libm()
    if libm is None:
        yield False
        return
    env = _FEnv()
    if libm.fegetenv(ctypes.byref(env)) != 0:
        yield False
        return
    saved = env.mxcsr
    env.mxcsr = saved | _FTZ_DAZ
    libm.fesetenv(ctypes.byref(env))
    try:
        yield True
    finally:
        env.mxcsr = saved
        libm.fesetenv(ctypes.byref(env))


#: the engine a spec suffix forces (``float64:numba``)
FLOAT_ENGINES = {"python": "interpreted", "numba": "compiled", "numpy": "vector"}


class NumpyArrays(ArrayKit):
    """The vector engine's arrays as numpy arrays of one lane dtype (scalars in float64)."""

    def __init__(self, lane_dtype):
        self.dtypes = {"lane": lane_dtype, "scalar": np.float64, "int": np.int64,
                       "hash": np.uint64}

    def zeros(self, shape, kind="lane"):
        return np.zeros(shape, dtype=self.dtypes[kind])

    def asarray(self, values, kind="scalar"):
        return np.asarray(values).astype(self.dtypes[kind])

    def to_numpy(self, array):
        return np.asarray(array)


class FloatArithmetic(Arithmetic):
    """IEEE binary floating point (``float32`` or ``float64``) on the CPU.

    ``engine_name`` is ``"python"``, ``"numba"`` or ``"numpy"`` (see the module docstring), or
    ``"auto"`` (the default): numba for long runs and the Python loop for short ones, which
    avoids numba's compile time where it would dominate. The engines agree bit for bit.
    """

    kind = "float"
    engines = ("compiled", "interpreted", "vector")

    def __init__(self, dtype_name: str, engine_name: str = "auto"):
        if engine_name != "auto" and engine_name not in FLOAT_ENGINES:
            raise ValueError(f"unknown float engine {engine_name!r}; valid: "
                             + ", ".join(FLOAT_ENGINES))
        self.dtype_name = dtype_name
        self.dtype = np.dtype(dtype_name).type
        self.forced_engine = FLOAT_ENGINES.get(engine_name)
        self.spec = dtype_name if engine_name == "auto" else f"{dtype_name}:{engine_name}"
        self.lane_dtype = self.dtype
        self.scalar_dtype = np.float64
        # the cache keys on the class object; mypy reads a type[...] against Hashable with the
        # instances' unbound __hash__, so the cast states that a class object is hashable
        self.xp = _python_namespace(typing.cast(Hashable, self.dtype))
        self.sp = _python_namespace(np.float64)
        self._arrays = NumpyArrays(self.dtype)

    @property
    def number(self) -> str:
        return self.dtype_name

    def namespaces(self, engine):
        if engine == "compiled":
            return numba_namespace(self.dtype_name), numba_namespace("float64")
        if engine == "vector":
            return _numpy_namespace(self.dtype), _numpy_namespace(np.float64)
        return super().namespaces(engine)

    def flush_subnormals(self):
        return flush_subnormals_here()

    def coefficient_namespace(self, engine, kind):
        if kind != "float32":
            return super().coefficient_namespace(engine, kind)
        if engine == "compiled":
            return numba_namespace("float32")
        if engine == "vector":
            return _numpy_namespace(np.float32)
        return _python_namespace(np.float32)

    @property
    def arrays(self):
        return self._arrays

    def scalar(self, value):
        if isinstance(value, str):
            return parse_float(value)
        return float(value)

    def lane(self, value):
        return self.dtype(self.scalar(value))

    def scalars(self, texts):
        """:func:`~amsgrad_theory.numbers.parse_float` of each text, as a read-only float64
        array (:func:`~amsgrad_theory.numbers.floats_of`: each distinct column read once)."""
        return floats_of(texts)

    def to_decimal(self, value) -> str:
        return repr(float(value))

    def eps_of(self) -> float:
        """Unit roundoff spacing at 1 (``np.finfo(dtype).eps``)."""
        return float(np.finfo(self.dtype).eps)
