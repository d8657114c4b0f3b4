"""Bounds as objects: evaluation routes agree, assumptions are enforced, printed forms match an
independent transcription of the papers, worst cases dominate numeric sums, orders compare by
limits, scale consistency agrees with rescaled simulations."""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from amsgrad_theory import get_variant, simulate
from amsgrad_theory.symbolic import symbols as S
from amsgrad_theory.symbolic.asymptotic import checked_limit, compare_orders
from amsgrad_theory.symbolic.bound import WORST_CASE, AssumptionError, tran_phong_t0
from amsgrad_theory.symbolic.bounds import BOUNDS, PRINTED
from amsgrad_theory.symbolic.properties import scale_consistency

POINT = {"T": 50, "d": 3, "alpha": "0.3", "beta1": "0.6", "beta2": "0.9", "lam": "0.8",
         "D_inf": 2, "G_inf": "1.5", "D_2": 3.4, "zeta": "0.3", "t_0": 4, "V_T": 1.7,
         "N_T": 9.1, "B_T": 30.2, "E_T": 2.2, "A_T": 5.5}


def _point_for(bound):
    return {k: v for k, v in POINT.items() if S.BY_NAME[k] in bound.parameters}


@pytest.mark.parametrize("name", list(BOUNDS))
def test_float_mpmath_and_arb_agree(name):
    bound = BOUNDS[name]
    values = _point_for(bound)
    f = bound.evaluate(values, "float")
    m = bound.evaluate(values, "mpmath", dps=40)
    a = bound.evaluate(values, "arb", bits=160)
    assert float(f) == pytest.approx(float(m), rel=1e-13)
    with mpmath.workdps(45):
        mid, rad = (mpmath.mpf(x.str(45, radius=False)) for x in (a.mid(), a.rad()))
        lo, hi = mid - rad, mid + rad
        slack = mpmath.mpf(10) ** -36 * max(1, abs(m))   # mpmath's own 40-digit rounding
        assert lo - slack <= m <= hi + slack
        assert hi - lo < mpmath.mpf(10) ** -30 * max(1, abs(m))


def test_printed_forms_match_an_independent_transcription():
    """Formulas typed in plain Python from Reddi et al.'s Theorem 4 (three versions), Tran &
    Phong's Theorem 4.1 and Kingma & Ba's Theorem 4.1, evaluated at POINT
    [reddi2017openreview; reddi2018; reddi2019arxiv; tran2019; kingma2015]."""
    T, d, a, b1, b2, lam = 50, 3, 0.3, 0.6, 0.9, 0.8
    D, G, V, N, B = 2, 1.5, 1.7, 9.1, 30.2
    g = b1 / math.sqrt(b2)
    third = a * math.sqrt(1 + math.log(T)) / ((1 - b1) ** 2 * (1 - g) * math.sqrt(1 - b2)) * N
    expected = {
        "theorem4-openreview": D ** 2 * math.sqrt(T) / (1 - b1) * V + D ** 2 / (2 * (1 - b1)) * B
        + third,
        "theorem4-iclr": D ** 2 * math.sqrt(T) / (a * (1 - b1)) * V + D ** 2 / (2 * (1 - b1)) * B
        + third,
        "theorem4-arxiv": D ** 2 * math.sqrt(T) / (a * (1 - b1)) * V + D ** 2 / (1 - b1) ** 2 * B
        + third,
        "theorem4-derived": D ** 2 * math.sqrt(T) / (2 * a * (1 - b1)) * V + D ** 2 / (1 - b1) * B
        + third,
        "corollary1-corrected-derived": D ** 2 * math.sqrt(T) / (2 * a * (1 - b1)) * V
        + d * b1 * D ** 2 * G / (a * (1 - b1) * (1 - lam) ** 2) + third,
        "kingma-ba-4.1": 3.4 ** 2 / (2 * a * (1 - b1)) * math.sqrt(T) * V
        + a * (1 + b1) * G / ((1 - b1) * math.sqrt(1 - b2) * (1 - b1 ** 2 / math.sqrt(b2)) ** 2)
        * N + d * D ** 2 * G * math.sqrt(1 - b2) / (2 * a * (1 - b1) * (1 - lam) ** 2),
        "tran-phong-4.1": d * D ** 2 * G / (2 * a * (1 - b1)) * (sum(math.sqrt(t)
                                                                   for t in range(1, 5))
                                                               + math.sqrt(T))
        + d * D ** 2 * G / (2 * a * (1 - b1) * (1 - lam) ** 2)
        + a * math.sqrt(1 + math.log(T)) / ((1 - b1) ** 2 * math.sqrt(1 - b2) * (1 - g)) * N,
    }
    for name, value in expected.items():
        assert BOUNDS[name].evaluate(_point_for(BOUNDS[name])) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("change,assumption", [
    ({"beta2": "0.3"}, "gamma < 1"), ({"beta1": "1"}, "0 <= beta1 < 1"),
    ({"beta1": "-0.1"}, "0 <= beta1 < 1"), ({"beta2": "1"}, "0 < beta2 < 1"),
    ({"alpha": "0"}, "alpha > 0"), ({"alpha": "-1"}, "alpha > 0"), ({"T": 0}, "T >= 1"),
    ({"lam": "1"}, "0 < lambda < 1"),
])
def test_violated_assumptions_are_named(change, assumption):
    bound = BOUNDS["corollary1-corrected-derived"]
    with pytest.raises(AssumptionError) as info:
        bound.evaluate({**_point_for(bound), **change})
    assert info.value.assumption == assumption
    assert assumption in str(info.value)


def test_kingma_ba_gamma_is_beta1_squared_over_sqrt_beta2():
    bound = BOUNDS["kingma-ba-4.1"]
    # β1 = 0.9, β2 = 0.7: Reddi's γ = 1.08 ≥ 1 but Kingma & Ba's γ = 0.968 < 1 — allowed
    bound.evaluate({**_point_for(bound), "beta1": "0.9", "beta2": "0.7"})
    with pytest.raises(AssumptionError, match="gamma_KB < 1"):
        bound.evaluate({**_point_for(bound), "beta1": "0.9", "beta2": "0.6"})


def test_structural_assumptions_refuse_the_wrong_run():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = simulate(get_variant("amsgrad", beta1_schedule="exp-decay"),
                       "random-linear:d=2,seed=1", steps=20,
                       hyperparameters={"beta1": "0.5", "beta2": "0.9", "beta1_decay": "0.9"})
        adam = simulate(get_variant("adam"), "random-linear:d=2,seed=1", steps=20,
                        hyperparameters={"beta1": "0.5", "beta2": "0.9"})
    with pytest.raises(AssumptionError, match="beta1_t = beta1"):
        BOUNDS["constant-beta1"].evaluate_run(run)
    with pytest.raises(AssumptionError, match="AMSGrad"):
        BOUNDS["theorem4-derived"].evaluate_run(adam)
    with pytest.raises(AssumptionError, match="schedule"):
        BOUNDS["corollary1-corrected-derived"].worst_case("constant")


@pytest.mark.parametrize("lam", ["0.3", "0.9", "0.99"])
def test_worst_case_sums_dominate_the_numeric_sums(lam):
    la = float(lam)
    for T in (1, 2, 10, 1000, 20000):
        t = np.arange(1, T + 1, dtype=float)
        subs = {S.T: T, S.beta1: 1, S.d: 1, S.G_inf: 1, S.alpha: 1, S.lam: sp.Rational(lam)}
        assert np.sum(np.sqrt(t)) <= float(WORST_CASE["constant"][S.B_T].subs(subs)) + 1e-9
        assert np.sum(la ** (t - 1) * np.sqrt(t)) <= float(
            WORST_CASE["exp-decay"][S.B_T].subs(subs))
        assert np.sum(1 / np.sqrt(t)) <= float(WORST_CASE["inv-t"][S.B_T].subs(subs)) + 1e-12
        s = t[1:]
        assert np.sum(np.sqrt(s - 1)) <= float(WORST_CASE["constant"][S.A_T].subs(subs)) + 1e-9
        assert np.sum(la ** (s - 1) * np.sqrt(s - 1)) <= float(
            WORST_CASE["exp-decay"][S.A_T].subs(subs)) + 1e-12
        assert np.sum(np.sqrt(s - 1) / s) <= float(WORST_CASE["inv-t"][S.A_T].subs(subs)) + 1e-12


def test_orders_compare_by_limits_not_text():
    T = S.T
    t4 = BOUNDS["theorem4-derived"]
    assert compare_orders(t4.order("constant"), T ** sp.Rational(3, 2)).value == 1
    same = compare_orders(t4.order("exp-decay"), sp.sqrt(T * sp.log(T)))
    assert same.agree and same.value == 1          # different text, same order
    assert compare_orders(BOUNDS["constant-beta1-no-log"].order(), sp.sqrt(T)).value == 1
    lower = compare_orders(BOUNDS["constant-beta1"].order(), t4.order("constant"))
    assert lower.agree and lower.value == 0


def test_limits_are_memoised_by_expression_assumptions_included():
    """A limit asked twice is computed once; a symbol with other assumptions is another
    expression (the limit of x/T differs for x = T and for a constant x)."""
    checked_limit.cache_clear()
    T = S.T
    first = checked_limit(sp.log(T) / sp.sqrt(T))
    again = checked_limit(sp.log(T) / sp.sqrt(T))
    assert again is first and checked_limit.cache_info().hits == 1
    assert first.agree and first.value == 0
    plain, positive = sp.Symbol("T"), sp.Symbol("T", positive=True)
    assert plain != positive
    assert checked_limit(plain, plain).expression == plain
    assert checked_limit(positive, positive).expression == positive
    assert checked_limit.cache_info().misses == 3


def test_the_sympy_limit_bug_is_caught():
    # README "Findings": sympy 1.14 returns 0 for this limit; the true value is 2
    check = checked_limit(sp.harmonic(S.T, sp.Rational(1, 2)) / sp.sqrt(S.T))
    assert check.agree is False
    assert float(check.numeric[-1][1]) == pytest.approx(2, abs=1e-12)
    assert check.value is None


def test_tran_phong_t0_is_least_and_sufficient():
    for schedule, b1, lam in (("exp-decay", "0.9", "0.99"), ("exp-decay", "0.9", "0.5"),
                              ("inv-t", "0.9", None), ("exp-decay", "0.5", "0.999")):
        t0 = tran_phong_t0(schedule, b1, lam)

        def rate(n, b=float(b1), la=None if lam is None else float(lam)):
            return b * la ** (n - 1) if schedule == "exp-decay" else b / n

        holds = [n * (1 - rate(n + 1)) ** 2 <= (n + 1) * (1 - rate(n)) ** 2
                 for n in range(1, 20000)]
        assert all(holds[t0 - 1:])
        assert t0 == 1 or not holds[t0 - 2]


SCALE_FLAGGED = {"theorem4-openreview", "corollary1-openreview", "corollary1-arxiv",
                 "adamnc-5-openreview", "adamnc-corollary2-openreview", "kingma-ba-4.1"}


def test_scale_consistency_flags_exactly_the_inconsistent_bounds():
    flagged = {name for name, b in BOUNDS.items() if scale_consistency(b).verdict == "fail"}
    assert flagged == SCALE_FLAGGED
    assert flagged <= set(PRINTED)


def test_scale_consistency_agrees_with_rescaled_simulations():
    """x ↦ 2x on a ball: R 1 → 2, gradients /2, α × 2. The runs map onto each other, regret is
    invariant, and a bound's value is invariant exactly when scale_consistency says so."""
    hp = {"beta1": "0.6", "beta2": "0.9", "beta1_decay": "0.8"}
    variant = get_variant("amsgrad", beta1_schedule="exp-decay")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = simulate(variant, "random-linear:d=3,set=ball,radius=1,scale=1,seed=5",
                       steps=300, hyperparameters={**hp, "alpha": "0.2"})
        two = simulate(variant, "random-linear:d=3,set=ball,radius=2,scale=0.5,seed=5",
                       steps=300, hyperparameters={**hp, "alpha": "0.4"})
    a, b = one.instances[0], two.instances[0]
    assert float(b.regret) == pytest.approx(float(a.regret), rel=1e-9)
    ck_a, ck_b = a.checkpoints, b.checkpoints
    np.testing.assert_allclose(ck_b["sum_sqrt_vhat"], np.asarray(ck_a["sum_sqrt_vhat"]) / 2,
                               rtol=1e-9)
    np.testing.assert_allclose(ck_b["sum_beta1_sqrt_vhat_over_alpha"],
                               np.asarray(ck_a["sum_beta1_sqrt_vhat_over_alpha"]) / 4, rtol=1e-9)
    np.testing.assert_allclose(ck_b["momentum_energy"], ck_a["momentum_energy"], rtol=1e-9)
    for name in ("theorem4-openreview", "theorem4-iclr", "theorem4-arxiv", "theorem4-derived",
                 "corollary1-openreview", "corollary1-arxiv", "corollary1-corrected-derived",
                 "tran-phong-4.1", "lemma2"):
        va = BOUNDS[name].evaluate_run(one)[-1]
        vb = BOUNDS[name].evaluate_run(two)[-1]
        invariant = math.isclose(va, vb, rel_tol=1e-9)
        assert invariant == (name not in SCALE_FLAGGED), name


def test_arb_evaluation_encloses_a_high_precision_value():
    bound = BOUNDS["tran-phong-4.1"]
    values = _point_for(bound)
    ball = bound.evaluate(values, "arb", bits=100)
    exact = bound.evaluate(values, "mpmath", dps=60)
    with mpmath.workdps(60):
        mid, rad = (mpmath.mpf(x.str(50, radius=False)) for x in (ball.mid(), ball.rad()))
        lo, hi = mid - rad, mid + rad
        assert lo <= exact <= hi
        assert hi - lo < mpmath.mpf(10) ** -20 * abs(exact)


def test_the_constant_beta1_energy_bound_is_attained_at_t_1_when_beta1_is_0():
    """A tight case, not a slack one: with β1 = 0 (so γ = 0) and T = 1, E_1 = α_1 m_1²/√v̂_1
    = α|g_1|/√(1−β2) is the bound itself. Float and ball arithmetic then cannot decide
    'E_1 ≤ bound' (they see a tie: the bound study's record for this run is undecided)."""
    import sympy as sp

    from amsgrad_theory.symbolic import symbols as S
    from amsgrad_theory.symbolic.bounds import BOUNDS

    g = sp.Symbol("g", positive=True)
    e1 = S.alpha * ((1 - 0) * g) ** 2 / sp.sqrt((1 - S.beta2) * g ** 2)
    bound = BOUNDS["lemma2-constant-beta1"].rhs
    (n_t,) = [s for s in bound.free_symbols if s.name == "N_T"]      # Σ_i ‖g_{1:T,i}‖
    rhs = bound.subs({S.T: 1, S.beta1: 0, S.gamma: 0, n_t: g})
    assert rhs.free_symbols <= {S.alpha, S.beta2, g}
    assert sp.simplify(e1 - rhs) == 0
