"""Bias correction, derived: unrolled EMAs, their expectations, and the step multiplier ρ(t).

Kingma & Ba 2015, Section 3 [kingma2015]: with m_0 = v_0 = 0 the EMAs unroll to

    m_t = (1−β1) Σ_{j=1}^t β1^{t−j} g_j,        v_t = (1−β2) Σ_{j=1}^t β2^{t−j} g_j²,

so by linearity, writing μ_j = E[g_j] (ν_j = E[g_j²]),

    E[m_t] = (1−β1^t) μ_t + ζ_t,   ζ_t = (1−β1) Σ_j β1^{t−j} (μ_j − μ_t)     (and likewise v).

ζ_t = 0 when the moment is stationary (μ_j = μ_t for all j); otherwise it is the non-stationary
remainder, small when β puts little weight on the distant past (|ζ_t| ≤ (1−β) Σ_j β^{t−j}|μ_j −
μ_t|). Dividing by 1 − β^t is the bias correction. Nothing here is typed: :func:`unrolled` is
checked against the recursion (exactly, for t ≤ ``depth``, and by the induction step), and the
expectations come out of ``sympy.summation``.

Frameworks that take the running max of the *raw* v and correct afterwards (PyTorch, Keras)
run the paper's AMSGrad with the step schedule α·ρ(t), ρ(t) = √(1−β2^t)/(1−β1^t)
(PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]; Keras 3.15
keras/src/optimizers/adam.py [keras-3.15]). ρ → 1, is not monotone, and after a step s at which
the max froze the m̂-step can grow by up to 1/√(1−β2^s): :func:`rho_minimum`,
:func:`rise_supremum`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import sympy as sp

from ..errors import InputError
from ..records import Record
from . import symbols as S
from .asymptotic import checked_limit

j = sp.Symbol("j", positive=True, integer=True)
t = S.t
s = S.s
beta = sp.Symbol("beta", positive=True)
mu = sp.Function("mu")   # μ_j = E[g_j]   (or E[g_j²] for the second moment)
g = sp.Function("g")


def unrolled(b: sp.Expr, time: sp.Expr, x=g) -> sp.Expr:
    """(1−β) Σ_{j=1}^{time} β^{time−j} x(j): the EMA with zero start, unrolled."""
    return (1 - b) * sp.Sum(b ** (time - j) * x(j), (j, 1, time))


def check_unrolling(depth: int = 6) -> Record:
    """The unrolled form equals the recursion e_t = β e_{t−1} + (1−β) x_t, e_0 = 0.

    Two routes: (1) exact polynomial identity in β, x_1..x_t for every t ≤ ``depth``;
    (2) the induction step for symbolic t: unrolled(t) − β·unrolled(t−1) − (1−β)x_t = 0,
    after splitting the last term off the sum (Σ_{j≤t} = Σ_{j≤t−1} + the term j = t, the
    definition of a finite sum) and ``simplify``.
    """
    ok_exact = True
    e_prev = sp.S.Zero
    for n in range(1, depth + 1):
        e_prev = sp.expand(beta * e_prev + (1 - beta) * g(n))
        closed = sp.expand(unrolled(beta, sp.Integer(n)).doit())
        ok_exact = ok_exact and sp.expand(e_prev - closed) == 0
    last = (1 - beta) * g(t)
    step = (unrolled(beta, t) - beta * unrolled(beta, t - 1) - last)
    split = ((1 - beta) * (sp.Sum(beta ** (t - j) * g(j), (j, 1, t - 1)) + g(t))
             - beta * unrolled(beta, t - 1) - last)
    ok_step = sp.simplify(sp.expand(split)) == 0
    return Record(
        claim="the EMA e_t = β e_{t−1} + (1−β) x_t, e_0 = 0 unrolls to (1−β) Σ_{j≤t} β^{t−j} x_j",
        method="symbolic", verdict="pass" if ok_exact and ok_step else "fail",
        name="bias-unrolling",
        details={"route": f"exact identity for t = 1..{depth}; induction step split off the "
                          "last term and simplified", "induction_step": str(step)},
        source="Kingma & Ba §3, eq. (1)")


def expectation(b: sp.Expr, stationary: bool) -> sp.Expr:
    """E of the unrolled EMA with E[x_j] = μ(j) (or μ(t) for every j when ``stationary``)."""
    body = b ** (t - j) * (mu(t) if stationary else mu(j))
    return sp.simplify((1 - b) * sp.summation(body, (j, 1, t)))


def zeta(b: sp.Expr, moment=mu) -> sp.Expr:
    """The non-stationary remainder ζ_t = (1−β) Σ_{j≤t} β^{t−j} (μ_j − μ_t)."""
    return (1 - b) * sp.Sum(b ** (t - j) * (moment(j) - moment(t)), (j, 1, t))


def bias_statement(b: sp.Expr, moment=mu) -> sp.Eq:
    """E[unrolled EMA] = (1 − β^t) μ_t + ζ_t, as an identity between sums.

    ``moment`` is the function j ↦ E[x_j]: μ_j = E[g_j] for m (β = β1), ν_j = E[g_j²] for v
    (β = β2).
    """
    return sp.Eq(unrolled(b, t, moment), (1 - b ** t) * moment(t) + zeta(b, moment),
                 evaluate=False)


def check_bias(b: sp.Expr = beta) -> Record:
    """E[e_t] = (1−β^t)μ_t + ζ_t, and ζ_t = 0 for a stationary moment (sympy summation).

    Routes: the stationary expectation by ``sympy.summation`` of the geometric weights; the
    general identity term by term: (1−β)β^{t−j}μ_j − (1−β)β^{t−j}(μ_j − μ_t) = (1−β)β^{t−j}μ_t,
    whose sum over j is (1−β^t)μ_t by the same summation.
    """
    stationary = expectation(b, stationary=True)
    ok_stationary = sp.simplify(stationary - (1 - b ** t) * mu(t)) == 0
    weights = sp.simplify((1 - b) * sp.summation(b ** (t - j), (j, 1, t)))
    ok_weights = sp.simplify(weights - (1 - b ** t)) == 0
    termwise = sp.simplify((1 - b) * b ** (t - j) * mu(j)
                           - (1 - b) * b ** (t - j) * (mu(j) - mu(t))
                           - (1 - b) * b ** (t - j) * mu(t)) == 0
    verdict = "pass" if ok_stationary and ok_weights and termwise else "fail"
    return Record(
        claim=f"E[e_t] = (1 − {b}^t) E[x_t] + ζ_t with ζ_t = (1−{b}) Σ_j {b}^(t−j) (E[x_j] − "
              "E[x_t]); ζ_t = 0 when E[x_j] is stationary",
        method="symbolic", verdict=verdict, name="bias-expectation",
        details={"stationary_expectation": str(stationary), "weights_sum": str(weights),
                 "route": "sympy.summation of the geometric weights; the remainder identity "
                          "term by term"},
        source="Kingma & Ba §3, eqs. (2)–(4) (derived, not typed)")


# ----------------------------------------------------------------------------------------
# ρ(t) = √(1−β2^t)/(1−β1^t)
# ----------------------------------------------------------------------------------------

RHO = sp.sqrt(1 - S.beta2 ** t) / (1 - S.beta1 ** t)


def rho(time: int, beta1: str | Fraction, beta2: str | Fraction, dps: int = 40) -> mpmath.mpf:
    """ρ(t) = √(1−β2^t)/(1−β1^t) in mpmath (β as exact decimal strings or Fractions)."""
    return rho_series([time], beta1, beta2, dps)[0]


def rho_series(times, beta1: str | Fraction, beta2: str | Fraction,
               dps: int = 40) -> list[mpmath.mpf]:
    """ρ(t) for each t of ``times``, as :func:`rho` computes each (β converted once)."""
    with mpmath.workdps(dps):
        b1, b2 = (mpmath.mpf(Fraction(b).numerator) / Fraction(b).denominator
                  for b in (beta1, beta2))
        return [mpmath.sqrt(1 - b2 ** time) / (1 - b1 ** time) for time in times]


def _rho_arb(time: int, beta1: Fraction, beta2: Fraction):
    from flint import arb  # python-flint: ball arithmetic, imported where balls are used

    b1 = arb(beta1.numerator) / beta1.denominator
    b2 = arb(beta2.numerator) / beta2.denominator
    return (1 - b2 ** time).sqrt() / (1 - b1 ** time)


def rho_limit() -> Record:
    """lim_{t→∞} ρ(t) = 1 by sympy, cross-checked numerically for (0.9, 0.999)."""
    sym = sp.limit(RHO.subs({S.beta1: sp.Rational(9, 10), S.beta2: sp.Rational(999, 1000)}),
                   t, sp.oo)
    check = checked_limit(RHO.subs({S.beta1: sp.Rational(9, 10),
                                    S.beta2: sp.Rational(999, 1000)}), t)
    ok = sym == 1 and check.agree is True
    return Record(claim="ρ(t) = √(1−β2^t)/(1−β1^t) → 1 as t → ∞", method="symbolic",
                  verdict="pass" if ok else "fail", name="rho-limit",
                  details={"sympy_(0.9,0.999)": str(sym), "numeric": check.to_dict()},
                  source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam: step_size = "
                  "lr/(1−β1^t), denom = √v̂/√(1−β2^t) + ε [pytorch-2.13]")


@dataclass(frozen=True)
class RhoMinimum:
    """Where ρ(t) is smallest for given β1 < β2.

    ``t_integer``/``value``: the integer minimiser and ρ there, certified in ball arithmetic
    (every n < N compared, and ρ(n) ≥ √(1−β2^n) ≥ √(1−β2^N) > ρ_min beyond N);
    ``t_continuous``: the stationary point of ρ over real t (mpmath root of d ln ρ/dt);
    ``exact``: a closed form of the continuous minimiser when sympy finds one (β1 and β2 exact
    rational powers of each other: β1^p = β2^q with small p, q), else None.
    """

    beta1: Fraction
    beta2: Fraction
    t_integer: int
    value: mpmath.mpf
    t_continuous: mpmath.mpf
    exact: sp.Expr | None
    checked_up_to: int

    def record(self) -> Record:
        return Record(
            claim=f"ρ(t) for (β1, β2) = ({self.beta1}, {self.beta2}) is smallest at integer "
                  f"t = {self.t_integer} (ρ = {mpmath.nstr(self.value, 8)})",
            method="certified", verdict="pass", name="rho-minimum",
            details={"t_integer": self.t_integer, "value": float(self.value),
                     "t_continuous": float(self.t_continuous),
                     "exact_continuous": None if self.exact is None else str(self.exact),
                     "checked_up_to": self.checked_up_to,
                     "route": "ball arithmetic over 1..N, tail ρ(n) ≥ √(1−β2^n)"},
            source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam: step_size = "
            "lr/(1−β1^t), denom = √v̂/√(1−β2^t) + ε [pytorch-2.13]")


def _stationary_point(b1: Fraction, b2: Fraction) -> mpmath.mpf:
    with mpmath.workdps(40):
        l1 = mpmath.log(mpmath.mpf(b1.numerator) / b1.denominator)
        l2 = mpmath.log(mpmath.mpf(b2.numerator) / b2.denominator)

        def dlog(x):
            e1, e2 = mpmath.exp(x * l1), mpmath.exp(x * l2)
            return -e2 * l2 / (2 * (1 - e2)) + e1 * l1 / (1 - e1)

        lo, hi = mpmath.mpf("1e-6"), mpmath.mpf(1)
        while dlog(hi) < 0:
            hi *= 2
        for _ in range(160):   # bisection: d ln ρ/dt < 0 at lo, ≥ 0 at hi
            mid = (lo + hi) / 2
            if dlog(mid) < 0:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def _exact_minimiser(b1: Fraction, b2: Fraction, max_power: int = 4) -> sp.Expr | None:
    """t* in closed form when β1^p = β2^q (κ = ln β2/ln β1 = p/q), by solving a polynomial."""
    for p in range(1, max_power + 1):
        for q in range(p + 1, max_power + 1):
            if b1 ** p == b2 ** q and math.gcd(p, q) == 1:
                # κ = p/q; z = β1^{t/q}: 2q z^q (1 − z^p) = p z^p (1 − z^q)
                z = sp.Symbol("z", positive=True)
                poly = sp.factor(2 * q * z ** q * (1 - z ** p) - p * z ** p * (1 - z ** q))
                roots = [r for r in sp.solve(poly, z)
                         if r.is_real and 0 < float(r) < 1]
                if len(roots) != 1:
                    return None
                return sp.nsimplify(q) * sp.log(roots[0]) / sp.log(sp.Rational(b1))
    return None


def rho_minimum(beta1: str | Fraction, beta2: str | Fraction) -> RhoMinimum:
    """The minimiser of ρ(t) over integers t ≥ 1 (certified) and over real t (numeric/exact).

    Needs 0 < β1 < β2 < 1 (for β2 ≤ β1, ρ decreases to 1 and has no minimiser).
    """
    b1, b2 = Fraction(beta1), Fraction(beta2)
    if not 0 < b1 < b2 < 1:
        raise InputError("beta", (str(beta1), str(beta2)), "ρ(t) has an interior minimum "
                         "only for 0 < β1 < β2 < 1")
    tc = _stationary_point(b1, b2)
    # candidate from the continuous minimiser, then certify over 1..N with a tail bound
    n0 = max(1, int(mpmath.floor(tc)))
    best_n = min((n0, n0 + 1), key=lambda n: rho(n, b1, b2))
    best = _rho_arb(best_n, b1, b2)
    from flint import arb  # python-flint: ball arithmetic, imported where balls are used

    b2_ball = arb(b2.numerator) / b2.denominator
    N = 1
    while not (1 - b2_ball ** N).sqrt() > best:   # beyond N: ρ(n) ≥ √(1−β2^n) > ρ(best)
        N *= 2
    for n in range(1, N + 1):
        if n == best_n:
            continue
        r = _rho_arb(n, b1, b2)
        if not r > best:
            if r < best:
                best_n, best = n, r
            else:  # pragma: no cover - a tie the balls cannot separate
                raise ArithmeticError(f"ρ({n}) and ρ({best_n}) cannot be separated")
    return RhoMinimum(b1, b2, best_n, rho(best_n, b1, b2), tc, _exact_minimiser(b1, b2), N)


def rise_supremum() -> Record:
    """sup_{t≥s} √((1−β2^t)/(1−β2^s)) = 1/√(1−β2^s): the largest rise of the m̂-step after s.

    With vmax frozen from step s on (no later max refresh), PyTorch's η̂_t = lr√(1−β2^t)/√vmax
    grows by exactly √((1−β2^t)/(1−β2^s)); it is increasing in t with limit 1/√(1−β2^s)
    (sympy ``limit``, cross-checked numerically for β2 = 0.999, s = 10).
    """
    ratio = sp.sqrt((1 - S.beta2 ** t) / (1 - S.beta2 ** s))
    u = sp.Symbol("u", positive=True)     # β2 = 1/(1+u) ∈ (0, 1), so sympy knows ln β2 < 0
    sym = sp.limit(ratio.subs(S.beta2, 1 / (1 + u)), t, sp.oo)
    target = 1 / sp.sqrt(1 - S.beta2 ** s)
    ok_sym = sp.simplify(sym ** 2 - target.subs(S.beta2, 1 / (1 + u)) ** 2) == 0  # both > 0
    concrete = ratio.subs({S.beta2: sp.Rational(999, 1000), s: 10})
    check = checked_limit(concrete, t)
    increasing = sp.diff(1 - (1 / (1 + u)) ** t, t).is_positive is True
    ok = ok_sym and check.agree is True and increasing
    return Record(claim="after step s, PyTorch-style AMSGrad's m̂-step can grow by at most "
                        "1/√(1−β2^s) (the supremum over t of √((1−β2^t)/(1−β2^s)))",
                  method="symbolic", verdict="pass" if ok else "fail", name="rho-rise",
                  details={"sympy": str(sym), "numeric_(0.999, s=10)": check.to_dict()},
                  source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam: the max over "
                  "the raw v, √(1−β2^t) applied after it [pytorch-2.13]")


def rise_factor(beta2: str | Fraction, s_step: int) -> float:
    """1/√(1−β2^s) (float): the largest rise of the m̂-step after step s."""
    b2 = Fraction(beta2)
    with mpmath.workdps(30):
        return float(1 / mpmath.sqrt(1 - (mpmath.mpf(b2.numerator) / b2.denominator) ** s_step))
