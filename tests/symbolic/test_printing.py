"""The paper's notation: each expected string is written by hand from the mathematics.

Whitespace that TeX ignores in math mode is squashed on both sides before comparing
(``D_{t + 1}`` and ``D_{t+1}`` typeset the same); a space that ends a control word
(``\\alpha t``) is kept, since ``\\alphat`` would be another command.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from amsgrad_theory.symbolic import bias, steps
from amsgrad_theory.symbolic import symbols as S
from amsgrad_theory.symbolic.bounds import get_bound
from amsgrad_theory.symbolic.printing import latex, statement
from amsgrad_theory.symbolic.registry import get_derivation, registry

D, c, mu = sp.Function("D"), sp.Function("c"), sp.Function("mu")
j = sp.Symbol("j", positive=True, integer=True)


def squash(text: str) -> str:
    """Drop the spaces TeX ignores in math: all but one ending a control word before a letter."""
    text = re.sub(r"\s+", " ", text.strip())
    text = re.sub(r"(\\[A-Za-z]+) (?=[A-Za-z])", "\\1\x01", text)   # "\alpha t" keeps it
    return text.replace(" ", "").replace("\x01", " ")


def same(printed: str, expected: str) -> None:
    assert squash(printed) == squash(expected), f"\n printed:  {printed}\n expected: {expected}"


def test_squash_keeps_only_the_spaces_tex_reads():
    assert squash(r"D_{t + 1} \,  c_{t}") == r"D_{t+1}\,c_{t}"
    assert squash(r"2 \alpha t") == r"2\alpha t"
    assert squash(r"\alpha \left(1 - x\right)") == r"\alpha\left(1-x\right)"


@pytest.mark.parametrize("expr, expected", [
    (D(S.t), r"D_{t}"),
    (mu(j), r"\mu_{j}"),
    (D(S.t + 1), r"D_{t+1}"),
    (c(S.t - 1), r"c_{t-1}"),
    (D(S.t) ** 2, r"D_{t}^{2}"),
    (steps.beta1_t[S.t], r"\beta_{1,t}"),
    (1 - steps.beta1_t[S.t], r"1 - \beta_{1,t}"),
    (steps.vhat[S.t, steps.i], r"\hat{v}_{t,i}"),
    (steps.xstar[steps.i], r"x^{*}_{i}"),
], ids=lambda v: str(v) if isinstance(v, sp.Basic) else None)
def test_sequences_are_subscripted_as_the_prose_writes_them(expr, expected):
    same(latex(expr), expected)


def test_products_are_juxtaposed_and_numerals_keep_a_sign():
    same(latex(2 * S.alpha * (1 - S.beta1)), r"2 \alpha \left(1 - \beta_{1}\right)")
    same(latex(sp.sqrt(S.T) * S.V_T), r"\sqrt{T}\, V_{T}")
    same(latex(sp.Mul(2, 3, evaluate=False)), r"2 \times 3")
    assert r"\cdot" not in latex(S.alpha * S.beta1 * S.G_inf * S.d)


def test_sums_logs_and_powers_in_textbook_form():
    same(latex(sp.Sum(steps.x[S.t, steps.i], (steps.i, 1, S.d), (S.t, 1, S.T))),
         r"\sum_{t=1}^{T} \sum_{i=1}^{d} x_{t,i}")
    same(latex(S.t - j), r"t - j")
    same(latex(sp.log(S.T)), r"\log T")
    same(latex(sp.log(S.T + 1)), r"\log\left(T + 1\right)")
    same(latex((S.N + 1) ** sp.Rational(3, 2)), r"\left(N + 1\right)^{3/2}")


def test_rho_is_a_function_of_t():
    same(statement(get_derivation("rho")), r"\rho(t) = \frac{\sqrt{1 - \beta_{2}^{t}}}"
                                           r"{1 - \beta_{1}^{t}}")
    same(latex(bias.RHO), r"\frac{\sqrt{1 - \beta_{2}^{t}}}{1 - \beta_{1}^{t}}")


def test_theorem4_derived_reads_as_printed():
    # R_T <= D^2 sqrt(T) V_T / (2 alpha (1 - beta1)) + D^2 B_T / (1 - beta1)
    #        + alpha sqrt(1 + log T) N_T / ((1 - beta1)^2 (1 - gamma) sqrt(1 - beta2))
    same(statement(get_bound("theorem4-derived")),
         r"R_{T} \leq \frac{B_{T} D_{\infty}^{2}}{1 - \beta_{1}}"
         r" + \frac{D_{\infty}^{2} \sqrt{T}\, V_{T}}{2 \alpha \left(1 - \beta_{1}\right)}"
         r" + \frac{N_{T} \alpha \sqrt{\log T + 1}}"
         r"{\left(1 - \beta_{1}\right)^{2} \sqrt{1 - \beta_{2}} \left(1 - \gamma\right)}")


def test_abel_summation_in_the_papers_notation():
    # sum_t c_t (D_t - D_{t+1}) = c_1 D_1 - c_T D_{T+1} + sum_{t>=2} (c_t - c_{t-1}) D_t
    same(statement(get_derivation("lemma:abel")),
         r"\sum_{t=1}^{T} \left(D_{t} - D_{t+1}\right) c_{t} = D_{1} c_{1} - D_{T+1} c_{T}"
         r" + \sum_{t=2}^{T} \left(c_{t} - c_{t-1}\right) D_{t}")


def test_abel_coefficient_writes_beta_one_t():
    printed = statement(get_derivation("lemma:abel-coefficient"))
    same(printed, r"\frac{a_{t}}{2 - 2 \beta_{1,t}} - \frac{a_{t-1}}{2 - 2 \beta_{1,t-1}}"
                  r" \leq \frac{a_{t} + a_{t-1} \beta_{1,t} - a_{t-1}}{2 - 2 \beta_{1}}")


def test_a_proof_step_gets_its_range_of_t():
    step = next(s for s in steps.proof_steps("theorem4") if s.name == "theorem4.young")
    printed = statement(step)
    assert printed.endswith(r"\quad (2 \leq t \leq T)")
    assert r"\beta_{1,t}" in printed and r"{\beta_{1}}_{t}" not in printed


def test_no_cdot_and_no_function_call_notation_in_any_derivation():
    for name, item in registry().items():
        printed = statement(item)
        assert r"\cdot" not in printed, name
        assert not re.search(r"[A-Za-z}]\\left\((?:t|j|T)\b", printed), (name, printed)
        assert r" \right)}" not in printed, (name, printed)     # sympy's f{\left(t \right)}
