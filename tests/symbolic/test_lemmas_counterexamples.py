"""Lemmas against numeric sums (mpmath/numpy), counterexamples against simulations."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from amsgrad_theory import get_problem, get_variant, simulate
from amsgrad_theory.symbolic.counterexamples import COUNTEREXAMPLES
from amsgrad_theory.symbolic.lemmas import LEMMAS, all_lemma_records

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.heavy
def test_lemma_records():
    records = all_lemma_records()
    verdicts = {r.name: r.verdict for r in records}
    assert verdicts.pop("geometric-as-printed") == "fail"      # Tran & Phong's misprint
    assert set(verdicts.values()) == {"pass"}
    assert all(r.method == "symbolic" for r in records)


def test_sum_lemmas_numerically():
    n = np.arange(1, 200_001, dtype=float)
    N = n
    assert np.all(np.cumsum(1 / n) <= 1 + np.log(N) + 1e-12)
    assert np.all(np.cumsum(1 / np.sqrt(n)) <= 2 * np.sqrt(N) - 1 + 1e-9)
    assert np.all(np.cumsum(np.sqrt(n)) <= 2 / 3 * ((N + 1) ** 1.5 - 1) + 1e-6)
    # the bounds are not loose by construction: equality at N = 1 for the first two
    assert 1 / n[0] == 1 + np.log(1) and 1 / np.sqrt(n[0]) == 2 * np.sqrt(1) - 1


@pytest.mark.heavy
@pytest.mark.parametrize("lam", [0.1, 0.5, 0.9, 0.99])
def test_series_lemmas_in_mpmath(lam):
    with mpmath.workdps(30):
        la = mpmath.mpf(lam)
        ag = mpmath.nsum(lambda t: t * la ** (t - 1), [1, mpmath.inf])
        assert ag == pytest.approx(1 / (1 - la) ** 2, rel=1e-20)
        sq = mpmath.nsum(lambda t: la ** (t - 1) * mpmath.sqrt(t), [1, mpmath.inf])
        assert sq <= 1 / (1 - la) ** 2
        geo = mpmath.nsum(lambda t: la ** t, [1, mpmath.inf])
        assert geo == pytest.approx(la / (1 - la), rel=1e-20)
        assert abs(geo - 1 / (1 - la)) == pytest.approx(1, rel=1e-20)   # the misprint
        for j in (1, 3, 50):
            tail = mpmath.nsum(lambda t: la ** (t - j) / mpmath.sqrt(t), [j, mpmath.inf])
            assert tail <= 1 / ((1 - la) * mpmath.sqrt(j))


def test_abel_identity_and_coefficient_on_random_data():
    rng = np.random.default_rng(3)
    for _ in range(200):
        T = int(rng.integers(1, 12))
        c = rng.normal(size=T + 2)
        D = rng.normal(size=T + 3)
        lhs = sum(c[t] * (D[t] - D[t + 1]) for t in range(1, T + 1))
        rhs = (c[1] * D[1] + sum(D[t] * (c[t] - c[t - 1]) for t in range(2, T + 1))
               - c[T] * D[T + 1])
        assert lhs == pytest.approx(rhs, abs=1e-10)
        # c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1)) under the hypotheses
        beta1 = rng.uniform(0, 0.99)
        b_now, b_prev = rng.uniform(0, beta1, size=2)
        a_prev = rng.uniform(0, 5)
        a_now = a_prev + rng.exponential()
        left = a_now / (2 * (1 - b_now)) - a_prev / (2 * (1 - b_prev))
        assert left <= (a_now - a_prev + b_now * a_prev) / (2 * (1 - beta1)) + 1e-12
    # and it can fail when a decreases (the hypothesis matters)
    a_prev, a_now, beta1 = 2.0, 1.0, 0.5   # β1,t = β1,t−1 = 0
    assert a_now / 2 - a_prev / 2 > (a_now - a_prev) / (2 * (1 - beta1))


def test_lemma_statements_hold_at_sample_points():
    """The printed sympy statements (what ``derive`` shows) evaluated at N = 1, 7, 100."""
    for name in ("harmonic-log", "inv-sqrt-sum", "sqrt-sum"):
        stmt = LEMMAS[name].statement
        (N,) = stmt.rhs.free_symbols
        for value in (1, 7, 100):
            assert float(stmt.lhs.subs(N, value).doit()) <= float(stmt.rhs.subs(N, value))


def test_counterexample_records():
    verdicts = {r.name: r.verdict for ce in COUNTEREXAMPLES.values() for r in ce.records()}
    assert verdicts == {"theorem1-block-regret": "pass", "theorem1-proof-gap": "fail",
                        "theorem3-identity": "pass", "theorem6-beta2": "pass",
                        "theorem6-identity": "fail", "figure1-per-step-regret": "pass"}


def test_theorem1_against_simulated_adam():
    """Reddi, Kale & Kumar 2018, Theorem 1 [reddi2018]: Adam with β1 = 0, β2 = 1/(1+C²),
    x_1 = 1 has R_T/T ≥ (2C−4)/3."""
    for C in (3, 5):
        beta2 = str(sp.Rational(1, 1 + C * C))
        run = simulate(get_variant("adam"), f"reddi-online:C={C}", steps=3000, x0=1,
                       hyperparameters={"alpha": "0.5", "beta1": "0", "beta2": beta2})
        assert float(run.regret) / 3000 >= (2 * C - 4) / 3 - 1e-9
        ams = simulate(get_variant("amsgrad"), f"reddi-online:C={C}", steps=3000, x0=1,
                       hyperparameters={"alpha": "0.5", "beta1": "0", "beta2": beta2})
        assert float(ams.regret) / 3000 < 0.5 * (2 * C - 4) / 3


def test_figure1_per_step_regret_against_the_problem():
    """Sitting at x ≈ +1 (tiny steps) on Figure 1's sequence: R_T/T → 20/101."""
    run = simulate(get_variant("amsgrad"), "reddi-figure1", steps=101 * 20, x0=1,
                   hyperparameters={"alpha": "1e-12", "beta1": "0", "beta2": "0.99"})
    assert float(run.regret) / run.steps == pytest.approx(20 / 101, rel=1e-8)


def test_theorem3_identity_against_the_problem_family():
    for C, delta in (("3", "0.1"), ("10", "0.5")):
        problem = get_problem(f"reddi-theorem3:C={C},delta={delta}")
        mu = float(sp.Rational(problem.params[0]["mu"]))
        assert mu == pytest.approx(float(delta), abs=2 * 2 ** -33 * (float(C) + 1))
