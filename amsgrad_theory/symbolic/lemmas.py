"""The elementary lemmas of the regret proofs, each established by the strongest route at hand.

Every function returns a :class:`~amsgrad_theory.records.Record` whose ``method`` says how
the claim was established (``symbolic``: an identity or an induction/integral-comparison step
decided by sympy) and whose ``details["route"]`` says which route. :data:`LEMMAS` maps each
lemma's name to its sympy statement (for LaTeX) and its check.

=========================  ==================================================================
name                       statement
=========================  ==================================================================
``harmonic-log``           Σ_{n=1}^N 1/n ≤ 1 + ln N
``inv-sqrt-sum``           Σ_{n=1}^N 1/√n ≤ 2√N − 1
``sqrt-sum``               Σ_{n=1}^N √n ≤ (2/3)((N+1)^{3/2} − 1)
``arithmetico-geometric``  Σ_{t≥1} t λ^{t−1} = 1/(1−λ)²  (and Σ_{t≥1} λ^{t−1}√t ≤ 1/(1−λ)²)
``geometric``              Σ_{t≥1} λ^t = λ/(1−λ)  (Tran & Phong's Lemma 2.3 prints 1/(1−λ))
``gamma-tail``             Σ_{t≥j} γ^{t−j}/√t ≤ 1/((1−γ)√j)
``abel``                   Σ_{t=1}^T c_t(D_t − D_{t+1})
                           = c_1D_1 + Σ_{t=2}^T D_t(c_t − c_{t−1}) − c_T D_{T+1}
``abel-coefficient``       c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1)),
                           c_t = a_t/(2(1−β1,t)), a non-decreasing, 0 ≤ β1,t ≤ β1 < 1
=========================  ==================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..records import Record
from . import symbols as S

n, N, t, T = sp.Symbol("n", positive=True, integer=True), S.N, S.t, S.T
jj = sp.Symbol("j", positive=True, integer=True)
x = sp.Symbol("x", nonnegative=True)
lam, gam = S.lam, S.gamma
c, D = sp.Function("c"), sp.Function("D")


def _record(name: str, claim: str, ok: bool, route: str, source: str, **details) -> Record:
    return Record(claim=claim, method="symbolic", verdict="pass" if ok else "fail", name=name,
                  details={"route": route, **{k: str(v) for k, v in details.items()}},
                  source=source)


def harmonic_log() -> Record:
    """Σ_{n≤N} 1/n ≤ 1 + ln N, by induction.

    Base N = 1: 1 ≤ 1. Step: 1/(N+1) ≤ ln(1 + 1/N), i.e. φ(x) = ln(1+x) − x/(1+x) ≥ 0 at
    x = 1/N: φ(0) = 0 and φ'(x) = x/(1+x)² ≥ 0 (sympy: the derivative and its sign).
    """
    phi = sp.log(1 + x) - x / (1 + x)
    derivative = sp.simplify(sp.diff(phi, x))
    ok = (phi.subs(x, 0) == 0 and sp.simplify(derivative - x / (1 + x) ** 2) == 0
          and (x / (1 + x) ** 2).is_nonnegative is True
          and sp.simplify(x / (1 + x) - 1 / (N + 1)).subs(x, 1 / N) == 0)
    return _record("harmonic-log", "Σ_{n=1}^N 1/n ≤ 1 + ln N for N ≥ 1", ok,
                   "induction; the step 1/(N+1) ≤ ln(1+1/N) by φ(0) = 0, φ' ≥ 0",
                   "Tran & Phong 2019, Lemma 2.4; the Lean `harmonic_le` "
                   "[tran2019; lean-adambeyond]",
                   derivative=derivative)


def inv_sqrt_sum() -> Record:
    """Σ_{n≤N} 1/√n ≤ 2√N − 1, by induction.

    Base: 1 ≤ 1. Step: 1/√(N+1) ≤ 2√(N+1) − 2√N ⇔ 2N + 1 ≥ 2√(N(N+1)) (multiply by √(N+1) > 0)
    ⇔ (2N+1)² − 4N(N+1) = 1 ≥ 0 (both sides positive).
    """
    gap = sp.expand((2 * N + 1) ** 2 - 4 * N * (N + 1))
    lhs_times = sp.expand(sp.sqrt(N + 1) * (2 * sp.sqrt(N + 1) - 1 / sp.sqrt(N + 1)))
    ok = gap == 1 and sp.simplify(lhs_times - (2 * N + 1)) == 0
    return _record("inv-sqrt-sum", "Σ_{n=1}^N 1/√n ≤ 2√N − 1 for N ≥ 1", ok,
                   "induction; the step reduces to (2N+1)² − 4N(N+1) = 1", "Tran & Phong "
                   "2019, Lemma 2.5 (with 2√N) [tran2019]", gap=gap)


def sqrt_sum() -> Record:
    """Σ_{n≤N} √n ≤ ∫_1^{N+1} √x dx = (2/3)((N+1)^{3/2} − 1) (√ increasing: √n ≤ ∫_n^{n+1})."""
    y = sp.Symbol("y", positive=True)
    integral = sp.integrate(sp.sqrt(y), (y, 1, N + 1))
    increasing = sp.diff(sp.sqrt(y), y).is_positive is True
    ok = increasing and sp.simplify(integral - sp.Rational(2, 3) * ((N + 1) ** sp.Rational(3, 2)
                                                                      - 1)) == 0
    return _record("sqrt-sum", "Σ_{n=1}^N √n ≤ (2/3)((N+1)^{3/2} − 1)", ok,
                   "integral comparison (√ increasing), the integral by sympy",
                   "derived here (worst case of B_T for constant β1)", integral=integral)


def arithmetico_geometric() -> Record:
    """Σ_{t≥1} tλ^{t−1} = 1/(1−λ)² (sympy summation) and the finite closed form by induction.

    Hence Σ_t λ^{t−1}√t ≤ Σ_t tλ^{t−1} = 1/(1−λ)² since √t ≤ t.
    """
    u = sp.Symbol("u", positive=True)          # λ = 1/(1+u) ∈ (0, 1)
    infinite = sp.summation(t * (1 / (1 + u)) ** (t - 1), (t, 1, sp.oo))
    ok_inf = sp.simplify(infinite - 1 / (1 - 1 / (1 + u)) ** 2) == 0
    closed = (1 - (T + 1) * lam ** T + T * lam ** (T + 1)) / (1 - lam) ** 2
    step = sp.simplify(closed.subs(T, T + 1) - closed - (T + 1) * lam ** T)
    ok = ok_inf and step == 0 and closed.subs(T, 1).simplify() == 1
    return _record("arithmetico-geometric", "Σ_{t≥1} t λ^{t−1} = 1/(1−λ)² for 0 < λ < 1; "
                   "hence Σ_{t≥1} λ^{t−1}√t ≤ 1/(1−λ)²", ok,
                   "sympy summation (λ = 1/(1+u)); finite form by induction",
                   "Tran & Phong 2019, Lemma 2.3 (second half) [tran2019]", infinite=infinite)


def geometric() -> list[Record]:
    """Σ_{t≥1} λ^t = λ/(1−λ) (sympy); the printed 1/(1−λ) is refuted (it is off by exactly 1)."""
    u = sp.Symbol("u", positive=True)
    value = sp.summation((1 / (1 + u)) ** t, (t, 1, sp.oo))
    lam_of_u = 1 / (1 + u)
    ok = sp.simplify(value - lam_of_u / (1 - lam_of_u)) == 0
    off = sp.simplify(1 / (1 - lam_of_u) - value)
    correct = _record("geometric", "Σ_{t≥1} λ^t = λ/(1−λ) for 0 < λ < 1", ok,
                      "sympy summation (λ = 1/(1+u))", "Tran & Phong 2019, Lemma 2.3, "
                      "corrected [tran2019]", value=value)
    misprint = Record(
        claim="Tran & Phong Lemma 2.3 as printed: Σ_{t≥1} λ^t = 1/(1−λ)", method="symbolic",
        verdict="fail" if off == 1 else "pass", name="geometric-as-printed",
        witness={"lambda": "1/2", "sum": "1", "printed": "2"},
        details={"route": "sympy summation: printed − true = " + str(off)},
        source="Tran & Phong (2019), Lemma 2.3, as printed [tran2019]")
    return [correct, misprint]


def gamma_tail() -> Record:
    """Σ_{t≥j} γ^{t−j}/√t ≤ 1/((1−γ)√j): 1/√t ≤ 1/√j termwise, then the geometric sum."""
    u = sp.Symbol("u", positive=True)
    g_of_u = 1 / (1 + u)
    geometric_sum = sp.summation(g_of_u ** (t - jj), (t, jj, sp.oo))
    ok = sp.simplify(geometric_sum - 1 / (1 - g_of_u)) == 0
    return _record("gamma-tail", "Σ_{t≥j} γ^{t−j}/√t ≤ 1/((1−γ)√j) for 0 ≤ γ < 1", ok,
                   "termwise 1/√t ≤ 1/√j (t ≥ j), geometric sum by sympy",
                   "Reddi, Kale & Kumar 2018, Lemma 2, step (c) [reddi2018]",
                   geometric_sum=geometric_sum)


def abel() -> Record:
    """The Abel identity, by induction: exact at T = 1, and the step T → T+1 is an identity."""
    def lhs(n):
        return sum(c(k) * (D(k) - D(k + 1)) for k in range(1, n + 1))

    def rhs(n):
        return (c(1) * D(1) + sum(D(k) * (c(k) - c(k - 1)) for k in range(2, n + 1))
                - c(n) * D(n + 1))

    exact = all(sp.expand(lhs(m) - rhs(m)) == 0 for m in range(1, 7))
    # induction step with symbolic T: both sides change by c(T+1)(D(T+1) − D(T+2))
    delta_rhs = D(T + 1) * (c(T + 1) - c(T)) - c(T + 1) * D(T + 2) + c(T) * D(T + 1)
    step = sp.expand(delta_rhs - c(T + 1) * (D(T + 1) - D(T + 2))) == 0
    return _record("abel", "Σ_{t=1}^T c_t(D_t − D_{t+1}) = c_1 D_1 + Σ_{t=2}^T D_t(c_t − c_{t−1})"
                   " − c_T D_{T+1}", exact and step,
                   "exact identity for T = 1..6; induction step T → T+1 an identity",
                   "summation by parts; as used in the proof of Reddi, Kale & Kumar "
                   "2018, Theorem 4 [reddi2018]")


def abel_coefficient() -> Record:
    """c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1)).

    Parametrise the hypotheses by non-negative symbols: a_{t−1} = p, a_t = p + q (q ≥ 0),
    β1,t = b, β1 = b + r (r ≥ 0), 1/(1−β1,t−1) = 1 + w (w ≥ 0, i.e. β1,t−1 ∈ [0, 1)) and
    e = 1 − β1 > 0. sympy verifies the identity

        2(1−β1)(1−β1,t)·(right − left) = q r + b p r + p w e (e + r),

    a sum of products of non-negative symbols (sympy decides its sign), while the factor
    2(1−β1)(1−β1,t) = 2e(e + r) is positive.
    """
    p, q, b, r, w = sp.symbols("p q b r w", nonnegative=True)
    e = sp.Symbol("e", positive=True)
    left = (p + q) / (2 * (1 - b)) - p * (1 + w) / 2
    right = (q + b * p) / (2 * (1 - (b + r)))
    scaled = sp.expand(sp.cancel((right - left) * 2 * (1 - b - r) * (1 - b)))
    certificate = q * r + b * p * r + p * w * e * (e + r)
    ok_identity = sp.expand(scaled - certificate.subs(e, 1 - b - r)) == 0
    ok_sign = certificate.is_nonnegative is True and (2 * e * (e + r)).is_positive is True
    return _record("abel-coefficient", "c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/"
                   "(2(1−β1)) for c_t = a_t/(2(1−β1,t)), a non-decreasing, 0 ≤ β1,t ≤ β1 < 1",
                   ok_identity and ok_sign,
                   "2(1−β1)(1−β1,t)(right − left) = qr + bpr + pwe(e+r) (sympy identity) "
                   "with non-negative p, q, b, r, w and e = 1 − β1 > 0",
                   "Reddi, Kale & Kumar, arXiv:1904.09237, appendix, proof of Theorem 4, "
                   "as formalized in Lean (`abel_beta_le`) [reddi2019arxiv; lean-adambeyond]",
                   certificate=certificate)


@dataclass(frozen=True)
class Lemma:
    """A lemma: its statement (sympy, for LaTeX) and the check that establishes it."""

    name: str
    title: str
    statement: sp.Basic
    check: Callable[[], Record | list[Record]]
    source: str
    assumptions: tuple[str, ...] = ()
    order_variable: sp.Symbol | None = None

    kind = "lemma"

    def records(self) -> list[Record]:
        out = self.check()
        return out if isinstance(out, list) else [out]


LEMMAS: dict[str, Lemma] = {lem.name: lem for lem in [
    Lemma("harmonic-log", "Σ 1/n ≤ 1 + ln N", sp.Le(sp.Sum(1 / n, (n, 1, N)), 1 + sp.log(N)),
          harmonic_log, "Tran & Phong Lemma 2.4", ("N ≥ 1",), N),
    Lemma("inv-sqrt-sum", "Σ 1/√n ≤ 2√N − 1",
          sp.Le(sp.Sum(1 / sp.sqrt(n), (n, 1, N)), 2 * sp.sqrt(N) - 1), inv_sqrt_sum,
          "Tran & Phong Lemma 2.5 (2√N)", ("N ≥ 1",), N),
    Lemma("sqrt-sum", "Σ √n ≤ (2/3)((N+1)^{3/2} − 1)",
          sp.Le(sp.Sum(sp.sqrt(n), (n, 1, N)),
                sp.Rational(2, 3) * ((N + 1) ** sp.Rational(3, 2) - 1)), sqrt_sum,
          "derived here", ("N ≥ 1",), N),
    Lemma("arithmetico-geometric", "Σ t λ^{t−1} = 1/(1−λ)²",
          sp.Eq(sp.Sum(t * lam ** (t - 1), (t, 1, sp.oo)), 1 / (1 - lam) ** 2),
          arithmetico_geometric, "Tran & Phong Lemma 2.3", ("0 < λ < 1",)),
    Lemma("geometric", "Σ λ^t = λ/(1−λ) (not 1/(1−λ))",
          sp.Eq(sp.Sum(lam ** t, (t, 1, sp.oo)), lam / (1 - lam)), geometric,
          "Tran & Phong Lemma 2.3 (misprint)", ("0 < λ < 1",)),
    Lemma("gamma-tail", "Σ_{t≥j} γ^{t−j}/√t ≤ 1/((1−γ)√j)",
          sp.Le(sp.Sum(gam ** (t - jj) / sp.sqrt(t), (t, jj, sp.oo)),
                1 / ((1 - gam) * sp.sqrt(jj))), gamma_tail, "Reddi et al. Lemma 2 (c)",
          ("0 ≤ γ < 1", "j ≥ 1")),
    Lemma("abel", "Abel summation identity",
          sp.Eq(sp.Sum(c(t) * (D(t) - D(t + 1)), (t, 1, T)),
                c(1) * D(1) + sp.Sum(D(t) * (c(t) - c(t - 1)), (t, 2, T)) - c(T) * D(T + 1)),
          abel, "summation by parts", ("T ≥ 1",)),
    Lemma("abel-coefficient", "c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1))",
          sp.Le(sp.Function("a")(t) / (2 * (1 - sp.Function("beta")(t)))
                - sp.Function("a")(t - 1) / (2 * (1 - sp.Function("beta")(t - 1))),
                (sp.Function("a")(t) - sp.Function("a")(t - 1)
                 + sp.Function("beta")(t) * sp.Function("a")(t - 1)) / (2 * (1 - S.beta1))),
          abel_coefficient, "Reddi, Kale & Kumar, arXiv:1904.09237, proof of Theorem 4; "
          "Lean `abel_beta_le` [reddi2019arxiv; lean-adambeyond]",
          ("a_t ≥ a_{t−1} ≥ 0", "0 ≤ β1,t, β1,t−1 ≤ β1 < 1")),
]}


def all_lemma_records() -> list[Record]:
    """Every lemma's record(s)."""
    out: list[Record] = []
    for lemma in LEMMAS.values():
        out.extend(lemma.records())
    return out
