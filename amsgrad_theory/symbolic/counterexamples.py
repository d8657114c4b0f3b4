"""The counterexamples of Reddi et al., analysed symbolically (Reddi, Kale & Kumar 2018,
Theorems 1, 3 and 6, Section 5 and Figure 1 [reddi2018]).

* Theorem 1: F = [−1, 1], f_t(x) = Cx when t ≡ 1 (mod 3), −x otherwise. A block of three steps
  sums to (C − 2)x, so x* = −1 when C > 2, and sitting at x = +1 costs 2C − 4 per block:
  R_T ≥ (2C − 4)·⌊T/3⌋. Adam (β1 = 0, β2 = 1/(1+C²)) returns to +1 after every block.
* Theorem 3: f_t(x) = Cx with probability p = (1+δ)/(C+1), else −x: E f_t(x) = (pC − (1−p))x = δx.
* Theorem 6 (ε does not help): the proof picks β2 = 2/((1+C²)C²); the displayed identity
  √((β2C² + 1 − β2)/2) = √(1 − β2 + ε/C²) holds only for ε = (2 − C²)/2, negative for C > √2.
* Figure 1: 1010x once every 101 steps, −10x otherwise: a period sums to 10x, so x = +1 costs
  20 per period, 20/101 per step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..records import Record

C = sp.Symbol("C", positive=True)
delta = sp.Symbol("delta", positive=True)
eps = sp.Symbol("epsilon", positive=True)
xs = sp.Symbol("x", real=True)
tt = sp.Symbol("t", nonnegative=True, integer=True)
T = sp.Symbol("T", positive=True, integer=True)


def periodic_block_loss(big: sp.Expr, small: sp.Expr, period: int) -> sp.Expr:
    """Σ over one period of f_t(x): one step big·x, period − 1 steps −small·x."""
    return sp.expand(big * xs - (period - 1) * small * xs)


def block_regret_at_plus_one(big: sp.Expr, small: sp.Expr, period: int) -> sp.Expr:
    """Regret per period of x = +1 against x* = −1 (the minimiser when the block slope > 0)."""
    block = periodic_block_loss(big, small, period)
    return sp.expand(block.subs(xs, 1) - block.subs(xs, -1))


def theorem1() -> list[Record]:
    """Block regret 2C − 4, its positivity condition C > 2, and the proof's t = 0 gap."""
    regret = block_regret_at_plus_one(C, 1, 3)
    slope = sp.expand(periodic_block_loss(C, 1, 3) / xs)
    condition = sp.solve_univariate_inequality(slope > 0, C, relational=False).intersect(
        sp.Interval.open(0, sp.oo))
    rec1 = Record(claim="Theorem 1: sitting at x = +1 costs 2C − 4 per block of three steps "
                        "against x* = −1, which is the minimiser iff C > 2",
                  method="symbolic",
                  verdict="pass" if (sp.simplify(regret - (2 * C - 4)) == 0
                                     and condition == sp.Interval.open(2, sp.oo)) else "fail",
                  name="theorem1-block-regret",
                  details={"block_loss": str(periodic_block_loss(C, 1, 3)),
                           "regret_per_block": str(regret), "condition_on_C": str(condition),
                           "average_regret_lower_bound": str(regret / 3)},
                  source="Reddi, Kale & Kumar 2018, Theorem 1 [reddi2018]")
    # the formalization's note: 1/√(3t+3) ≥ 1/√(2(3t+1)) ⇔ 3t + 3 ≤ 6t + 2 ⇔ t ≥ 1/3
    where = sp.solve_univariate_inequality(3 * tt + 3 <= 2 * (3 * tt + 1), tt, relational=False)
    fails_at_0 = not (1 / sp.sqrt(3) >= 1 / sp.sqrt(2))
    rec2 = Record(claim="the Theorem 1 proof's inequality 1/√(3t+3) ≥ 1/√(2(3t+1)) holds for "
                        "every t ≥ 0", method="symbolic",
                  verdict="fail" if fails_at_0 else "pass", name="theorem1-proof-gap",
                  witness={"t": 0, "lhs": "1/sqrt(3)", "rhs": "1/sqrt(2)"},
                  details={"holds_for": str(where)},
                  source="Reddi, Kale & Kumar, arXiv:1904.09237, proof of Theorem 1, as noted by "
                  "the Lean formalization [reddi2019arxiv; lean-adambeyond]")
    return [rec1, rec2]


def theorem3() -> Record:
    """p = (1+δ)/(C+1) gives p·C − (1−p) = δ, and p ∈ (0, 1) iff δ < C."""
    p = (1 + delta) / (C + 1)
    identity = sp.simplify(p * C - (1 - p) - delta)
    inside = sp.solve_univariate_inequality(p < 1, delta, relational=False)
    return Record(claim="Theorem 3: with p = (1+δ)/(C+1), E f_t(x) = (pC − (1−p))x = δx",
                  method="symbolic", verdict="pass" if identity == 0 else "fail",
                  name="theorem3-identity",
                  details={"pC - (1-p) - delta": str(identity), "p < 1 for delta in": str(inside)},
                  source="Reddi, Kale & Kumar 2018, Theorem 3 [reddi2018]")


def theorem6() -> list[Record]:
    """Theorem 6's β2 = 2/((1+C²)C²): in (0, 1) for C > 1; the proof's identity is false."""
    beta2 = 2 / ((1 + C ** 2) * C ** 2)
    positive = sp.Interval.open(0, sp.oo)
    in_unit = sp.solve_univariate_inequality(beta2 < 1, C, relational=False).intersect(positive)
    scaled = sp.simplify(beta2 * C ** 2)
    lhs = (beta2 * C ** 2 + 1 - beta2) / 2
    rhs = 1 - beta2 + eps / C ** 2
    eps_needed = sp.solve(sp.Eq(lhs, rhs), eps)
    if not eps_needed:
        raise ArithmeticError(f"sympy solved {lhs} = {rhs} for ε with no solution")
    eps_value = sp.simplify(eps_needed[0])
    negative_for = sp.solve_univariate_inequality(eps_value < 0, C,
                                                  relational=False).intersect(positive)
    rec1 = Record(claim="Theorem 6: β2 = 2/((1+C²)C²) lies in (0, 1) and β2C² = 2/(1+C²) → 0",
                  method="symbolic",
                  verdict="pass" if (in_unit == sp.Interval.open(1, sp.oo)
                                     and sp.simplify(scaled - 2 / (1 + C ** 2)) == 0
                                     and sp.limit(scaled, C, sp.oo) == 0) else "fail",
                  name="theorem6-beta2",
                  details={"beta2": str(beta2), "beta2_in_(0,1)_for_C_in": str(in_unit),
                           "beta2*C**2": str(scaled)},
                  source="Reddi, Kale & Kumar, arXiv:1904.09237, Appendix F, proof of Theorem 6 "
                  "[reddi2019arxiv]")
    rec2 = Record(claim="the displayed identity √((β2C² + 1 − β2)/2) = √(1 − β2 + ε/C²) of "
                        "Theorem 6's proof holds for ε > 0", method="symbolic",
                  verdict="fail" if negative_for == sp.Interval.open(sp.sqrt(2), sp.oo)
                  else "undecided", name="theorem6-identity",
                  witness={"C": "2", "epsilon_needed": str(eps_value.subs(C, 2))},
                  details={"epsilon_that_makes_it_true": str(eps_value),
                           "negative_for_C_in": str(negative_for)},
                  source="Reddi, Kale & Kumar, arXiv:1904.09237, proof of Theorem 6, as noted by "
                  "the Lean formalization [reddi2019arxiv; lean-adambeyond]")
    return [rec1, rec2]


def figure1() -> Record:
    """Figure 1: x = +1 costs 20 per period of 101 steps, 20/101 per step."""
    regret = block_regret_at_plus_one(1010, 10, 101)
    per_step = sp.Rational(regret, 101)
    slope = periodic_block_loss(1010, 10, 101) / xs
    return Record(claim="Figure 1: the per-step regret of x = +1 is 20/101",
                  method="symbolic",
                  verdict="pass" if per_step == sp.Rational(20, 101) and slope == 10 else "fail",
                  name="figure1-per-step-regret",
                  details={"period_loss": str(periodic_block_loss(1010, 10, 101)),
                           "regret_per_period": str(regret), "per_step": str(per_step)},
                  source="Reddi, Kale & Kumar 2018, Section 5, Figure 1 [reddi2018]")


@dataclass(frozen=True)
class Counterexample:
    """A counterexample's statement (sympy, for LaTeX) and its analysis."""

    name: str
    title: str
    statement: sp.Basic
    analysis: Callable[[], Record | list[Record]]
    source: str
    assumptions: tuple[str, ...] = ()
    order: str = "T"

    kind = "counterexample"

    def records(self) -> list[Record]:
        out = self.analysis()
        return out if isinstance(out, list) else [out]


COUNTEREXAMPLES: dict[str, Counterexample] = {ce.name: ce for ce in [
    Counterexample("theorem1", "Theorem 1: Adam's regret on Cx, −x, −x",
                   sp.Eq(block_regret_at_plus_one(C, 1, 3), 2 * C - 4, evaluate=False),
                   theorem1, "Reddi et al. Theorem 1", ("C > 2", "β1 = 0", "β2 = 1/(1+C²)")),
    Counterexample("theorem3", "Theorem 3: the stochastic construction's mean slope",
                   sp.Eq((1 + delta) / (C + 1) * C - (1 - (1 + delta) / (C + 1)), delta,
                         evaluate=False), theorem3, "Reddi et al. Theorem 3",
                   ("0 < δ < C",)),
    Counterexample("theorem6", "Theorem 6: β2 = 2/((1+C²)C²) (ε does not help)",
                   sp.Eq(sp.Symbol("beta2"), 2 / ((1 + C ** 2) * C ** 2), evaluate=False),
                   theorem6, "Reddi et al. Theorem 6", ("C > 1", "ε > 0")),
    Counterexample("figure1", "Figure 1: per-step regret of x = +1",
                   sp.Eq(sp.Rational(block_regret_at_plus_one(1010, 10, 101), 101),
                         sp.Rational(20, 101), evaluate=False),
                   figure1, "Reddi et al. Figure 1"),
]}
