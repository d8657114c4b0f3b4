"""What the paper's counterexamples and the framework facts say, checked on real runs."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from amsgrad_theory import get_problem, simulate

T1 = 30_000


@pytest.fixture(scope="module")
def theorem1():
    """Theorem 1 (Reddi, Kale & Kumar 2018 [reddi2018]): C ∈ {3, 5, 10}, β1 = 0,
    β2 = 1/(1+C²), α/√t, x_1 = 1."""
    cases = [(C, a) for C in (3, 5, 10) for a in ("0.5", "1")]
    problem = get_problem("reddi-online:C=3", instances=[{"C": str(C)} for C, _ in cases])
    hps = [{"alpha": a, "beta1": "0", "beta2": f"1/{1 + C * C}"} for C, a in cases]
    runs = {name: simulate(name, problem, steps=T1, hyperparameters=hps, x0="1", trace=True)
            for name in ("adam", "amsgrad")}
    return cases, runs


def test_adam_returns_to_plus_one_every_third_step(theorem1):
    cases, runs = theorem1
    x = runs["adam"].trace["x"][:, :, 0]          # x_t for t = 1..T, shape (T, B)
    for b, (C, _) in enumerate(cases):
        assert np.all(x[0::3, b] == 1.0), f"C={C}: x_(3k+1) left +1"


def test_adam_average_regret_at_least_2C_minus_4_over_3(theorem1):
    cases, runs = theorem1
    for inst, (C, _) in zip(runs["adam"].instances, cases):
        assert float(inst.regret) / T1 >= (2 * C - 4) / 3


def test_amsgrad_goes_to_minus_one_with_vanishing_average_regret(theorem1):
    cases, runs = theorem1
    for inst, (C, a) in zip(runs["amsgrad"].instances, cases):
        assert abs(float(inst.final_x[0]) + 1) <= 0.01, (C, a)
        assert float(inst.regret) / T1 < 0.01, (C, a)


def test_amsgrad_effective_step_never_increases_on_theorem1(theorem1):
    for inst in theorem1[1]["amsgrad"].instances:
        assert inst.effective_step.nonincreasing and inst.corrected_step.nonincreasing
        assert inst.vhat_decreases == 0


def test_adam_effective_step_does_increase_on_theorem1(theorem1):
    # Reddi et al.: Adam's Γ_t is indefinite here (the Lean formalisation proves Γ_2 < 0)
    for inst in theorem1[1]["adam"].instances:
        assert inst.effective_step.nonincreasing is False


def test_pytorch_amsgrad_corrected_step_rises_41_percent_on_1_0():
    r = simulate("amsgrad-pytorch", "gradient-sequence:g=[1,0],set=none", steps=2)
    tr = r.instances[0].corrected_step
    assert tr.nonincreasing is False and tr.first_increase_step == 2
    # torch 2.13 [pytorch-2.13], README "Findings": eta_hat 1.0000e-3 → 1.41386e-3
    # (= √(1 + β2) up to ε)
    assert tr.max_increase == pytest.approx(0.41386, abs=5e-5)
    assert r.instances[0].effective_step.nonincreasing is True


def test_pytorch_amsgrad_raw_step_first_rises_at_t13():
    r = simulate("amsgrad-pytorch", "gradient-sequence:g=[1],tail=0,set=none", steps=40)
    eta = r.instances[0].effective_step
    assert eta.nonincreasing is False and eta.first_increase_step == 13
    short = simulate("amsgrad-pytorch", "gradient-sequence:g=[1],tail=0,set=none", steps=12)
    assert short.instances[0].effective_step.nonincreasing is True


def test_pytorch_amsgrad_keeps_its_raw_max_monotone():
    r = simulate("amsgrad-pytorch", "random-linear:d=3,sparsity=0.3,seed=2,set=none", steps=500)
    assert r.instances[0].vhat_decreases == 0


def test_figure1_per_step_regret_of_plus_one_is_20_over_101():
    # sitting at x = +1 on the Figure 1 sequence costs 20/101 per step against x* = −1
    r = simulate("sgd", "reddi-figure1", steps=101 * 50, x0="1",
                 hyperparameters={"alpha": "1e-300"})
    assert Fraction(str(float(r.regret))).limit_denominator(1000) == Fraction(20 * 50 * 101, 101)


PROBLEMS = st.one_of(
    st.builds(lambda C, p: f"periodic-linear:C={C},c=1,period={p}", st.integers(2, 30),
              st.integers(2, 12)),
    st.builds(lambda C, p, s: f"bernoulli-linear:C={C},p={p},seed={s}", st.integers(1, 50),
              st.sampled_from(["0.01", "0.1", "0.5"]), st.integers(0, 99)),
    st.builds(lambda f, d, sp, s, k: f"{f}:d={d},sparsity={sp},seed={s},set={k}",
              st.sampled_from(["random-linear", "random-quadratic", "random-logistic",
                               "random-hinge"]), st.integers(1, 4),
              st.sampled_from(["0.1", "0.5", "1"]), st.integers(0, 99),
              st.sampled_from(["box", "ball"])),
)


@given(PROBLEMS, st.sampled_from(["0.9", "0.5", "0"]), st.sampled_from(["0.999", "0.9", "0.1"]),
       st.sampled_from(["constant", "inv-sqrt"]))
def test_amsgrad_never_increases_its_effective_step(spec, beta1, beta2, schedule):
    from amsgrad_theory import get_variant

    r = simulate(get_variant("amsgrad", alpha_schedule=schedule), spec, steps=120,
                 hyperparameters={"beta1": beta1, "beta2": beta2, "alpha": "0.3"})
    inst = r.instances[0]
    assert inst.effective_step.nonincreasing is True, spec
    assert inst.corrected_step.nonincreasing is True, spec
    assert inst.vhat_decreases == 0
