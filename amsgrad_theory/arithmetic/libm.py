"""C's libm — ``pow``, ``exp``, ``log``, ``log1p`` — applied elementwise to numpy arrays.

numpy's own ufuncs for these functions are not C's. On a CPU with AVX-512, numpy 2 dispatches
them to SIMD approximations that differ from glibc's in the last bit; for float32, exp and log
have SIMD versions for AVX2 as well (numpy's sources). Measured on AMD Zen 5 with numpy 2.4.6,
2·10⁵ random arguments each, share of results that differ from libm's:

=========  =====  =====  =====  =====
dtype      pow    exp    log    log1p
=========  =====  =====  =====  =====
float64    5.3 %  4.6 %  0.2 %  7.5 %
float32    21 %   40 %   15 %   6.9 %
=========  =====  =====  =====  =====

The compiled engine calls libm (numba lowers ``**``, ``np.exp``, ``np.log`` and ``np.log1p``
to LLVM intrinsics that call it), and so does Python's ``math``. The numpy engine and the
float32 scalar engine must therefore not use numpy's SIMD versions, or "bit-identical on every
engine" holds only on some CPUs. The same goes for the C-double schedule of the torch
arithmetic, which models ``bias_correction2 ** 0.5`` as Python computes it.

The ufuncs here are numba ufuncs whose bodies are the compiled engine's scalar operations, so
they give libm's values by construction: float64 ``a ** b`` is C's ``pow``, and float32
``a ** b`` is what numba computes for float32 operands. ``tests/core/test_libm.py`` checks
them against Python's ``math`` and against the compiled namespace. Each one is built on first
use, in about 0.3 s per process, and not kept on disk: numba's cache gave no faster start
here, and code loaded from disk is where two functions' symbols can meet
(:func:`amsgrad_theory.engine.compiled._named`).
"""

from __future__ import annotations

from functools import cache

import numpy as np

# float32 first: numpy picks the first loop its inputs cast to safely, and float32 casts to
# float64 safely, so with float64 first a float32 array would be computed in double
_UNARY = ["float32(float32)", "float64(float64)"]
_BINARY = ["float32(float32, float32)", "float64(float64, float64)"]
#: each function's signatures and body: the compiled engine's own scalar operation
_BODIES = {
    "pow": (_BINARY, lambda a, b: a ** b),
    "exp": (_UNARY, lambda a: np.exp(a)),
    "log": (_UNARY, lambda a: np.log(a)),
    "log1p": (_UNARY, lambda a: np.log1p(a)),
}


@cache
def ufunc(name: str):
    """The libm function ``name`` (``"pow"``, ``"exp"``, ``"log"`` or ``"log1p"``) as a numpy
    ufunc over float64 and float32 (each dtype evaluated in its own precision, as C's ``exp``
    and ``expf``)."""
    if name not in _BODIES:
        raise ValueError(f"no libm function {name!r} here; one of {', '.join(_BODIES)}")
    import numba  # the compiler: imported by the first run that needs a transcendental

    signatures, body = _BODIES[name]
    return numba.vectorize(signatures)(body)


def power(a, b):
    """C's ``pow(a, b)`` elementwise (``powf`` for float32 operands)."""
    return ufunc("pow")(a, b)


def exp(a):
    """C's ``exp`` elementwise (``expf`` for float32)."""
    return ufunc("exp")(a)


def log(a):
    """C's ``log`` elementwise (``logf`` for float32)."""
    return ufunc("log")(a)


def log1p(a):
    """C's ``log1p`` elementwise (``log1pf`` for float32)."""
    return ufunc("log1p")(a)
