"""python-flint ``arb`` balls: rigorous enclosures at a chosen binary precision.

``arb:BITS`` computes with midpoint–radius balls whose radius encloses every rounding error, so
a statement decided in this arithmetic (``regret ≤ bound``, ``η_t ≤ η_{t−1}``) holds for the
exact real computation. Comparisons are three-valued: a condition is ``True`` (certain),
``False`` (certainly not) or ``None`` (the balls overlap: undecided). ``where`` with an undecided
condition returns the union of both branches, which still encloses the exact value.

python-flint keeps its working precision in a process-wide context; :meth:`precision_context`
sets it for the duration of a run and restores it afterwards (nothing else is changed).
"""

from __future__ import annotations

import flint
from flint import arb

from .base import Arithmetic, Namespace, split_rational


def _gt(a, b):
    if a > b:
        return True
    if a <= b:
        return False
    return None


def _ge(a, b):
    if a >= b:
        return True
    if a < b:
        return False
    return None


def _lt(a, b):
    return _gt(b, a)


def _le(a, b):
    return _ge(b, a)


def _both(c1, c2):
    if c1 is False or c2 is False:
        return False
    if c1 is True and c2 is True:
        return True
    return None


def _where(c, a, b):
    if c is True:
        return a
    if c is False:
        return b
    if c is None:
        return arb(a).union(arb(b))
    return a if c else b  # plain bools from Python-level tests


_ZERO = arb(0)
_ONE = arb(1)


def _rise_ratio(c, a, b):
    if c is None:                      # undecided: enclose both outcomes
        return (a / b - _ONE).union(_ZERO)
    return a / b - _ONE if c else _ZERO


def _maximum(a, b):
    """An enclosure of max(x, y) over x ∈ a, y ∈ b: ``a`` itself where every point of a is
    ≥ every point of b (two comparisons, no new ball), else arb's own max."""
    if a >= b:
        return a
    if b >= a:
        return b
    return a.max(b)


def _minimum(a, b):
    if a <= b:
        return a
    if b <= a:
        return b
    return a.min(b)


def _isfinite(a):
    return True if a.is_finite() else False


def _certain(c):
    return 1 if c is True else 0


def _unknown(c):
    return 1 if c is None else 0


def _same(a):
    """Lanes and scalars are both balls: widening is the identity."""
    return a


def _cast(a):
    return a if type(a) is arb else arb(a)


ARB_NAMESPACE = Namespace(
    name="arb", sqrt=lambda a: a.sqrt(), exp=lambda a: a.exp(), log1p=lambda a: a.log1p(),
    log=lambda a: a.log(), abs=abs, fma=lambda a, b, c: a * b + c,
    maximum=_maximum, minimum=_minimum,
    where=_where, rise_ratio=_rise_ratio, gt=_gt, ge=_ge, lt=_lt, le=_le, both=_both,
    isfinite=_isfinite,
    certain=_certain, unknown=_unknown, cast=_cast,
    zero=arb(0), one=arb(1), inf=arb.pos_inf(), uint=int, ifloat=arb, widen=_same, decided=False,
)


class ArbArithmetic(Arithmetic):
    kind = "arb"
    exact_decimal = True
    certified = True

    def __init__(self, bits: int):
        if bits < 16 or bits > 1000000:
            raise ValueError("arb precision must be between 16 and 1000000 bits")
        self.bits = bits
        self.spec = f"arb:{bits}"
        self.xp = ARB_NAMESPACE
        self.sp = ARB_NAMESPACE

    def precision_context(self):
        return flint.ctx.workprec(self.bits)

    def scalar(self, value):
        with self.precision_context():
            if isinstance(value, str):
                parts = split_rational(value)
                if parts:
                    return arb(parts[0]) / arb(parts[1])
                return arb(value.strip())
            return arb(value)

    def lane(self, value):
        return self.scalar(value)

    def to_float(self, value) -> float:
        return float(value.mid())

    def to_decimal(self, value) -> str:
        digits = max(5, int(self.bits * 0.30103))
        return value.str(digits, radius=True)

    def contains(self, value, other) -> bool:
        return bool(value.contains(other if isinstance(other, arb) else arb(other)))

    def radius(self, value) -> float:
        return float(value.rad())
