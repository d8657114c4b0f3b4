"""mpmath at a chosen decimal precision, in a private context.

``mpmath:DPS`` builds its own :class:`mpmath.MPContext` with ``dps = DPS``; the global ``mpmath.mp``
is never touched, so two runs at different precisions can interleave and a user's own mpmath code
is not disturbed. Every input given as a decimal string is parsed by that context (``"0.1"`` is
one tenth rounded once to DPS digits, never the binary float 0.1).
"""

from __future__ import annotations

import mpmath

from .base import Arithmetic, Namespace, split_rational
from .floats import float64_namespace

#: the precisions ``mpmath:DPS`` accepts: mpmath's pure-Python big-integer arithmetic takes
#: ≈ 0.015 s per step of reddi-online at 10000 digits and ≈ 1.1 s at 100000 (measured here)
MIN_DPS, MAX_DPS = 5, 10_000


def _same(a):
    """Lanes are scalars of the same context: widening is the identity."""
    return a


class MpmathArithmetic(Arithmetic):
    kind = "mpmath"
    exact_decimal = True

    def __init__(self, dps: int):
        if not MIN_DPS <= dps <= MAX_DPS:
            raise ValueError(f"mpmath precision must be between {MIN_DPS} and {MAX_DPS} decimal "
                             "digits (a step takes about a second at 100000; arb:BITS reaches "
                             "1000000 bits)")
        self.dps = dps
        self.spec = f"mpmath:{dps}"
        ctx = mpmath.MPContext()
        ctx.dps = dps
        self.ctx = ctx
        mpf = ctx.mpf
        zero, one, inf = mpf(0), mpf(1), ctx.inf

        def maximum(a, b):
            return a if a >= b else b

        def minimum(a, b):
            return a if a <= b else b

        def where(c, a, b):
            return a if c else b

        def rise_ratio(c, a, b):
            return a / b - one if c else zero

        def fma(a, b, c):
            return ctx.fadd(ctx.fmul(a, b, exact=True), c)

        mpf_type = type(zero)

        def cast(a):
            # values of this context pass through untouched (mpf(mpf) would copy)
            return a if type(a) is mpf_type else mpf(a)

        ns = Namespace(
            name=self.spec, sqrt=ctx.sqrt, exp=ctx.exp, log1p=ctx.log1p, log=ctx.ln, abs=abs,
            fma=fma,
            maximum=maximum, minimum=minimum, where=where, rise_ratio=rise_ratio,
            gt=lambda a, b: a > b, ge=lambda a, b: a >= b,
            lt=lambda a, b: a < b, le=lambda a, b: a <= b,
            both=lambda c1, c2: c1 and c2, isfinite=ctx.isfinite,
            certain=int, unknown=lambda c: 0,
            cast=cast, zero=zero, one=one, inf=inf, uint=int, ifloat=mpf, widen=_same,
            unit_roundoff=2.0 ** -ctx.prec,
        )
        self.xp = ns
        self.sp = ns

    def coefficient_namespace(self, engine, kind):
        if kind == "bound":         # the tie window's bound: doubles suffice, and cost little
            return float64_namespace()
        return super().coefficient_namespace(engine, kind)

    def scalar(self, value):
        if isinstance(value, str):
            parts = split_rational(value)
            if parts:
                return self.ctx.mpf(parts[0]) / self.ctx.mpf(parts[1])
            return self.ctx.mpf(value.strip())
        return self.ctx.mpf(value)

    def lane(self, value):
        return self.scalar(value)

    def to_float(self, value) -> float:
        return float(value)

    def to_decimal(self, value) -> str:
        return self.ctx.nstr(value, self.dps, strip_zeros=False)
