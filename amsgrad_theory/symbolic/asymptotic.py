"""Limits and orders in T that never trust one route.

sympy's ``limit`` is fast and usually right, but not always: ``limit(harmonic(T, 1/2)/sqrt(T),
T, oo)`` returns 0 in sympy 1.14 although the true value is 2 (README, "Findings"). Every limit
here is therefore computed twice — by sympy and by evaluating the expression in mpmath at
T = 10^8, 10^32, …, 10^65536 — and reported with both values and whether they agree.

:func:`leading_order` reduces a worst-case bound to its growth in T (``T**(3/2)``,
``sqrt(T)*sqrt(log(T))``, …); the reduction is confirmed by :func:`checked_limit` of the ratio
(which must be a positive finite constant), so orders are compared by the limit of their ratio,
never as text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import sympy as sp

from .symbols import T

#: the points where a limit in T is estimated numerically
NUMERIC_POINTS: tuple[int, ...] = (8, 32, 128, 1024, 8192, 65536)
#: relative distance to a finite limit accepted at the last point
FINITE_TOLERANCE = 0.05


@dataclass(frozen=True)
class LimitCheck:
    """A limit as T → ∞ by sympy and by numeric evaluation, and whether they agree.

    ``symbolic`` is sympy's answer (None when sympy fails or returns something unevaluated);
    ``numeric`` the pairs (log10 T, value) evaluated in mpmath; ``agree`` True/False, or None
    when only one route produced an answer. ``value`` is the agreed limit (sympy's, when both
    agree), else None.
    """

    expression: sp.Expr
    symbolic: sp.Expr | None
    numeric: tuple[tuple[int, mpmath.mpf], ...]
    agree: bool | None
    numeric_verdict: str  # "finite:<value>", "+oo", "-oo", "unclear"

    @property
    def value(self) -> sp.Expr | None:
        return self.symbolic if self.agree else None

    def to_dict(self) -> dict:
        return {"expression": str(self.expression),
                "sympy": None if self.symbolic is None else str(self.symbolic),
                "numeric": [{"T": f"1e{e}", "value": format_mp(v)} for e, v in self.numeric],
                "numeric_verdict": self.numeric_verdict, "agree": self.agree}


def format_mp(value: mpmath.mpf) -> str:
    """A short decimal string of an mpf, also for huge or tiny magnitudes (no slow nstr)."""
    if value == 0 or not mpmath.isfinite(value):
        return str(value)
    mag = mpmath.mag(value)
    if abs(mag) < 3000:
        return mpmath.nstr(value, 12)
    if abs(mag) > 3_000_000:
        sign = "-" if value < 0 else ""
        return f"{sign}<1e-900000" if mag < 0 else f"{sign}>1e900000"
    log10 = mpmath.log10(abs(value))
    exponent = int(mpmath.floor(log10))
    mantissa = mpmath.power(10, log10 - exponent) * mpmath.sign(value)
    return f"{mpmath.nstr(mantissa, 6)}e{exponent}"


def _mp_function(expr: sp.Expr, var: sp.Symbol):
    """An mpmath callable of ``var`` (harmonic numbers through the Hurwitz zeta function)."""
    expr = expr.replace(sp.harmonic, lambda n, m=1: sp.zeta(m) - sp.zeta(m, n + 1)
                        if m != 1 else sp.harmonic(n))
    expr = expr.replace(lambda e: isinstance(e, sp.harmonic) and len(e.args) == 1,
                        lambda e: sp.polygamma(0, e.args[0] + 1) + sp.EulerGamma)
    # b**T with a huge integer T: exp(T log b), not mpmath's exact repeated squaring
    expow = sp.Function("mp_expow")
    expr = expr.replace(lambda e: e.is_Pow and e.exp.has(var) and not e.base.has(var),
                        lambda e: expow(e.base, e.exp))
    table = {"mp_expow": lambda b, e: mpmath.exp(e * mpmath.log(b))}
    return sp.lambdify(var, expr, modules=[table, "mpmath"])


def numeric_values(expr: sp.Expr, var: sp.Symbol = T,
                   exponents: tuple[int, ...] = NUMERIC_POINTS
                   ) -> tuple[tuple[int, mpmath.mpf], ...]:
    """``expr`` at var = 10^e for each e, evaluated in mpmath with 60 digits (as mpf)."""
    free = expr.free_symbols - {var}
    if free:
        raise ValueError(f"numeric limit needs an expression in {var} only; it has {free}")
    f = _mp_function(expr, var)
    out = []
    with mpmath.workdps(60):
        for e in exponents:
            value = f(mpmath.mpf(10) ** e)
            out.append((e, mpmath.mpf(mpmath.re(value))))
    return tuple(out)


def _numeric_verdict(values: tuple[tuple[int, mpmath.mpf], ...]) -> str:
    v = [x for _, x in values]
    increasing = all(b > a for a, b in zip(v, v[1:]))
    decreasing = all(b < a for a, b in zip(v, v[1:]))
    if increasing and v[-1] > max(10.0, 2 * abs(v[0])):
        return "+oo"
    if decreasing and v[-1] < -max(10.0, 2 * abs(v[0])):
        return "-oo"
    # a finite limit: successive differences shrink and the last two values are close
    diffs = [abs(b - a) for a, b in zip(v, v[1:])]
    if diffs[-1] <= FINITE_TOLERANCE * max(1.0, abs(v[-1])) and diffs[-1] <= diffs[0]:
        return f"finite:{format_mp(v[-1])}"
    return "unclear"


@functools.lru_cache(maxsize=4096)
def checked_limit(expr: sp.Expr, var: sp.Symbol = T) -> LimitCheck:
    """lim_{var→∞} ``expr`` by sympy, cross-checked by evaluation at 10^8 … 10^65536.

    Memoised: the answer depends on the expression alone (sympy expressions are immutable and
    compare structurally, assumptions included), and the same ratios recur across bounds and
    schedules (≈ 0.1 s of sympy's ``limit`` each).

    Agreement: for a finite sympy limit L, the numeric values must settle and the last one lie
    within :data:`FINITE_TOLERANCE` (relative, at least absolute 0.05) of L; for ±∞ the values
    must grow monotonically past 10 and twice the first value.
    """
    expr = sp.sympify(expr)
    try:
        sym = sp.limit(expr, var, sp.oo)
        if sym.has(sp.Limit) or isinstance(sym, sp.AccumBounds) or sym.has(sp.nan):
            sym = None
    except (NotImplementedError, ValueError, TypeError):  # pragma: no cover - sympy internals
        sym = None
    values = numeric_values(expr, var)
    verdict = _numeric_verdict(values)
    agree: bool | None
    if sym is None or verdict == "unclear":
        agree = None
    elif sym == sp.oo:
        agree = verdict == "+oo"
    elif sym == -sp.oo:
        agree = verdict == "-oo"
    elif sym.is_finite:
        last = values[-1][1]
        L = mpmath.mpf(str(sp.N(sym, 30)))
        agree = (verdict.startswith("finite")
                 and abs(last - L) <= FINITE_TOLERANCE * max(1.0, abs(L)))
    else:  # pragma: no cover - complex infinity and the like
        agree = False
    return LimitCheck(expr, sym, values, agree, verdict)


def _drop_constant(term: sp.Expr, var: sp.Symbol) -> sp.Expr:
    return term.as_independent(var, as_Add=False)[1] if term.has(var) else sp.S.One


def _dominant(terms: list[sp.Expr], var: sp.Symbol) -> sp.Expr:
    best = terms[0]
    for term in terms[1:]:
        check = checked_limit(term / best, var)
        if check.agree is not True:
            raise ArithmeticError(f"cannot compare {term} with {best}: {check.to_dict()}")
        if check.symbolic == sp.oo:
            best = term
    return best


def _asymptotic(expr: sp.Expr, var: sp.Symbol) -> sp.Expr:
    """A simple function with the same order as ``expr`` (constants dropped)."""
    if not expr.has(var):
        return sp.S.One
    if expr == var:
        return var
    if expr.is_Mul:
        return sp.Mul(*[_asymptotic(f, var) for f in expr.args])
    if expr.is_Pow:
        base, exponent = expr.as_base_exp()
        if exponent.has(var):
            return expr
        return _asymptotic(base, var) ** exponent
    if expr.is_Add:
        terms = [_drop_constant(_asymptotic(a, var), var) for a in expr.args]
        return _dominant(terms, var)
    if isinstance(expr, sp.log):
        inner = _asymptotic(expr.args[0], var)
        return _drop_constant(sp.expand_log(sp.log(inner), force=True), var)
    return expr


@functools.lru_cache(maxsize=1024)
def leading_order(expr: sp.Expr, var: sp.Symbol = T) -> sp.Expr:
    """The growth of ``expr`` as var → ∞, as a product of powers of var and log(var).

    The answer o is checked: lim expr/o must be a positive finite constant by sympy and
    numerically. Other free symbols must be positive constants independent of ``var``; for the
    check they are replaced by 1/2 (integers by 3). Memoised, as :func:`checked_limit` is
    (``Bound.to_dict`` asks for each schedule's order twice).
    """
    expr = sp.sympify(expr)
    order = _drop_constant(_asymptotic(expr, var), var)
    ratio = expr / order
    others = sorted(ratio.free_symbols - {var}, key=lambda s: s.name)
    ratio = ratio.subs({s: (3 if s.is_integer else sp.Rational(1, 2)) for s in others}).doit()
    check = checked_limit(ratio, var)
    limit = check.value             # sympy's limit where the numeric route agrees, else None
    if limit is None or not (limit.is_positive and limit.is_finite):
        raise ArithmeticError(f"order {order} of {expr} not confirmed: {check.to_dict()}")
    return order


def compare_orders(a: sp.Expr, b: sp.Expr, var: sp.Symbol = T) -> LimitCheck:
    """lim a/b as var → ∞ (0: a is of lower order; ∞: higher; a positive constant: the same)."""
    return checked_limit(sp.sympify(a) / sp.sympify(b), var)
