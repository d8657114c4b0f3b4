"""C's libm on numpy arrays (amsgrad_theory.arithmetic.libm) against the compiled engine's
scalar functions and Python's math, bit for bit, on arguments where numpy's own SIMD ufuncs
differ from C on CPUs with AVX-512."""

from __future__ import annotations

import math

import numpy as np
import pytest

from amsgrad_theory.arithmetic import libm
from amsgrad_theory.arithmetic.floats import _numpy_namespace, _python_namespace

rng = np.random.default_rng(11)
SPECIALS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, np.inf, -np.inf, np.nan, 1e-300, 700.0, -745.0]


def arguments(dtype, name):
    """Random arguments in the function's domain and the edges (zeros, infinities, NaN)."""
    if name == "exp":
        x = rng.standard_normal(20000) * 20
    elif name == "log1p":
        x = np.expm1(rng.standard_normal(20000) * 4)
    else:
        x = np.exp(rng.standard_normal(20000) * 10)
    with np.errstate(over="ignore"):
        return np.concatenate([x, SPECIALS]).astype(dtype)


def bits(a):
    return np.asarray(a).view(np.uint64 if np.asarray(a).dtype == np.float64 else np.uint32)


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype
    both_nan = np.isnan(a) & np.isnan(b)
    return np.all((bits(a) == bits(b)) | both_nan)


@pytest.mark.parametrize("name", ["exp", "log", "log1p"])
def test_float64_functions_are_pythons_math(name):
    x = arguments(np.float64, name)
    ref = np.array([_math(name, v) for v in x])
    with np.errstate(all="ignore"):
        assert same(getattr(libm, name)(x), ref)
        assert same(getattr(_numpy_namespace(np.float64), name)(x), ref)


def test_float64_pow_is_pythons_pow():
    """The bias corrections' β^t, the root (1 − β2^t) ** 0.5 and random powers."""
    beta = np.array([0.9, 0.99, 0.999, 0.9999] * 500)
    t = np.repeat(np.arange(1.0, 501.0), 4)
    base = np.concatenate([beta, 1.0 - beta ** t, rng.random(2000) * 4])
    exponent = np.concatenate([t, np.full(2000, 0.5), rng.random(2000) * 40])
    ref = np.array([a ** b for a, b in zip(base.tolist(), exponent.tolist())])
    assert same(libm.power(base, exponent), ref)
    assert same(_numpy_namespace(np.float64).pow(base, exponent), ref)


def _math(name, v):
    try:
        return getattr(math, name)(v)
    except OverflowError:
        return math.inf
    except ValueError:      # log of a negative number or of 0
        if name == "log" and v == 0 or name == "log1p" and v == -1:
            return -math.inf
        return math.nan


def test_each_dtype_keeps_its_own_precision():
    """float32 in, float32 out (computed as expf, powf); a float64 operand makes it double."""
    f = np.array([0.9, 2.0], np.float32)
    assert libm.exp(f).dtype == np.float32
    assert libm.power(f, f).dtype == np.float32
    assert libm.power(f, np.array([7.0, 3.0])).dtype == np.float64
    assert isinstance(libm.power(np.float32(0.9), np.float32(7.0)), np.float32)


def test_unknown_function_is_refused():
    with pytest.raises(ValueError, match="one of pow"):
        libm.ufunc("sin")


@pytest.mark.compiled
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_ufuncs_are_the_compiled_engines_functions(dtype):
    """Bit for bit the numba namespace's pow, exp, log, log1p (what the compiled engine runs),
    and what the numpy and float32 scalar namespaces use."""
    import numba

    from amsgrad_theory.arithmetic.floats import numba_namespace

    ns = numba_namespace(dtype)
    pw, ex, lg, l1 = ns.pow, ns.exp, ns.log, ns.log1p

    @numba.njit
    def compiled(x, y):
        out = np.empty((4, x.size), dtype=x.dtype)
        for i in range(x.size):
            out[0, i] = pw(x[i], y[i])
            out[1, i] = ex(y[i])
            out[2, i] = lg(x[i])
            out[3, i] = l1(x[i])
        return out

    dt = np.dtype(dtype).type
    x = arguments(dt, "log")
    y = np.resize(arguments(dt, "exp") / 4, x.size).astype(dt)
    with np.errstate(all="ignore"):
        ref = compiled(x, y)
        assert same(libm.power(x, y), ref[0])
        assert same(libm.exp(y), ref[1])
        assert same(libm.log(x), ref[2])
        assert same(libm.log1p(x), ref[3])
        vec = _numpy_namespace(dt)
        assert same(vec.pow(x, y), ref[0]) and same(vec.exp(y), ref[1])
        if dtype == "float32":
            scalar = _python_namespace(np.float32)
            for i in range(0, x.size, 97):
                assert same(scalar.pow(x[i], y[i]), ref[0, i])
                assert same(scalar.exp(y[i]), ref[1, i])
                assert same(scalar.log1p(x[i]), ref[3, i])
