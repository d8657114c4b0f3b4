"""Arithmetics: what a number is, and the elementwise operations on it.

:func:`get_arithmetic` parses a spec:

========================  ==============================================================
``float64``, ``float32``  IEEE binary floats on the CPU (engine chosen automatically;
                          ``float64:python``, ``float64:numba``, ``float64:numpy`` force one)
``mpmath:DPS``            mpmath with DPS decimal digits (5 … 10000), in a private context
``arb:BITS``              python-flint arb balls with BITS bits of working precision
                          (16 … 1000000)
``torch[:DEVICE[:DTYPE]]``  torch tensors (default ``cpu`` and ``float64``), batched
========================  ==============================================================
"""

from __future__ import annotations

from ..errors import InputError
from .base import Arithmetic, Namespace
from .floats import FloatArithmetic
from .mp import MpmathArithmetic

ARITHMETIC_NAMES = ("float64", "float32", "mpmath:DPS", "arb:BITS", "torch[:DEVICE[:DTYPE]]")


_BY_SPEC: dict = {}


def get_arithmetic(spec: str | Arithmetic) -> Arithmetic:
    """The arithmetic named by ``spec`` (see the module docstring).

    One instance per spec string: arithmetics are immutable, and the interpreted kernels built
    over one (specialised Python holding its constants and context) are reused with it.
    """
    if isinstance(spec, Arithmetic):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("arithmetic", spec, "expected one of " + ", ".join(ARITHMETIC_NAMES))
    text = spec.strip()
    if text not in _BY_SPEC:
        _BY_SPEC[text] = _make(text, spec)
    return _BY_SPEC[text]


def _make(text: str, spec: str) -> Arithmetic:
    head, _, rest = text.partition(":")
    try:
        if head in ("float64", "float32"):
            return FloatArithmetic(head, rest or "auto")
        if head == "mpmath":
            return MpmathArithmetic(_precision(rest, "mpmath:DPS", "decimal digits"))
        if head == "arb":
            bits = _precision(rest, "arb:BITS", "bits")
            # python-flint: imported only when an arb arithmetic is asked for
            from .arb import ArbArithmetic

            return ArbArithmetic(bits)
        if head == "torch":
            # torch: imported only when a torch arithmetic is asked for
            from .torch_backend import TorchArithmetic

            device, _, dtype = rest.partition(":")
            return TorchArithmetic(device or "cpu", dtype or "float64")
    except ValueError as exc:
        raise InputError("arithmetic", spec, str(exc)) from None
    raise InputError("arithmetic", spec,
                     "unknown; valid arithmetics: " + ", ".join(ARITHMETIC_NAMES))


def _precision(text: str, form: str, unit: str) -> int:
    """The precision of ``mpmath:DPS`` or ``arb:BITS``: a plain decimal integer."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"expected {form}: the precision as a whole number of {unit}")
    return int(text)


__all__ = ["Arithmetic", "Namespace", "get_arithmetic", "ARITHMETIC_NAMES"]
