"""Bias correction and ρ(t), each against an independent route (recursion, Monte Carlo,
brute force in mpmath, the simulator's own PyTorch-style step) and earlier independent
computations of ρ(t) for PyTorch 2.13's bias corrections [pytorch-2.13]."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy as sp

from amsgrad_theory import get_variant, simulate
from amsgrad_theory.symbolic import bias
from amsgrad_theory.symbolic import symbols as S


def test_unrolled_ema_equals_the_recursion_numerically():
    rng = np.random.default_rng(0)
    g = rng.normal(size=9)
    b = 0.83
    e = 0.0
    for n, gn in enumerate(g, start=1):
        e = b * e + (1 - b) * gn
        closed = bias.unrolled(sp.Float(b), sp.Integer(n), sp.Function("g")).doit()
        value = float(closed.replace(lambda x: isinstance(x, sp.core.function.AppliedUndef),
                                     lambda x: sp.Float(g[int(x.args[0]) - 1])))
        assert value == pytest.approx(e, rel=1e-12, abs=1e-14)


def test_symbolic_records_pass():
    for record in (bias.check_unrolling(), bias.check_bias(S.beta1), bias.check_bias(S.beta2),
                   bias.rho_limit(), bias.rise_supremum()):
        assert record.verdict == "pass", record.to_dict()


def _zeta_numeric(b: float, time: int, means) -> float:
    expr = bias.zeta(sp.Float(b)).subs(S.t, time).doit()
    return float(expr.replace(lambda x: isinstance(x, sp.core.function.AppliedUndef),
                              lambda x: sp.Float(means(int(x.args[0])))))


@pytest.mark.parametrize("stationary", [True, False])
def test_expectations_against_monte_carlo(stationary):
    rng = np.random.default_rng(1)
    b1, b2, t, n = 0.9, 0.99, 6, 400_000
    means = (lambda j: 0.3) if stationary else (lambda j: 0.1 * j)
    sigma = 1.0
    g = np.stack([rng.normal(means(j), sigma, size=n) for j in range(1, t + 1)])
    m = np.zeros(n)
    v = np.zeros(n)
    for j in range(t):
        m = b1 * m + (1 - b1) * g[j]
        v = b2 * v + (1 - b2) * g[j] ** 2
    second = (lambda j: means(j) ** 2 + sigma ** 2)
    zeta_m = _zeta_numeric(b1, t, means)
    zeta_v = _zeta_numeric(b2, t, second)
    if stationary:
        assert abs(zeta_m) < 1e-15 and abs(zeta_v) < 1e-15
    expected_m = (1 - b1 ** t) * means(t) + zeta_m
    expected_v = (1 - b2 ** t) * second(t) + zeta_v
    assert abs(m.mean() - expected_m) < 5 * m.std() / np.sqrt(n)
    assert abs(v.mean() - expected_v) < 5 * v.std() / np.sqrt(n)


def test_rho_matches_reference_facts():
    # an earlier independent computation, rounded to three digits
    assert float(bias.rho(1, "0.9", "0.999")) == pytest.approx(0.316, abs=5e-4)
    assert float(bias.rho(100, "0.9", "0.999")) == pytest.approx(0.309, abs=5e-4)
    assert float(bias.rho(1000, "0.9", "0.999")) == pytest.approx(0.795, abs=5e-4)
    low = bias.rho_minimum("0.9", "0.999")
    assert low.t_integer == 12 and float(low.value) == pytest.approx(0.15224, abs=5e-6)
    assert float(bias.rho(1, "0.9", "0.99")) == pytest.approx(1.0, abs=1e-12)
    low = bias.rho_minimum("0.9", "0.99")
    assert low.t_integer == 13 and float(low.value) == pytest.approx(0.469, abs=5e-4)
    # the total rise of the raw step for the defaults: f(∞)/f(12) = 6.57
    assert 1 / float(bias.rho_minimum("0.9", "0.999").value) == pytest.approx(6.57, abs=5e-3)


@pytest.mark.parametrize("b1,b2", [("0.9", "0.999"), ("0.5", "0.6"), ("0.81", "0.9"),
                                   ("0.3", "0.99"), ("0.95", "0.9999")])
def test_rho_minimum_against_brute_force(b1, b2):
    low = bias.rho_minimum(b1, b2)
    t = np.arange(1, 200_001, dtype=float)
    values = np.sqrt(1 - float(b2) ** t) / (1 - float(b1) ** t)   # float64 brute force
    brute = int(np.argmin(values)) + 1
    assert float(low.value) == pytest.approx(values[brute - 1], rel=1e-12)
    assert brute == low.t_integer
    # the continuous stationary point brackets the integer minimiser
    assert abs(float(low.t_continuous) - low.t_integer) < 1


def test_exact_minimiser_matches_the_numeric_root():
    for b1, b2 in (("0.81", "0.9"), ("0.25", "0.5"), ("0.125", "0.5")):
        low = bias.rho_minimum(b1, b2)
        assert low.exact is not None
        assert float(low.exact) == pytest.approx(float(low.t_continuous), rel=1e-12)
    assert bias.rho_minimum("0.9", "0.999").exact is None   # κ irrational: no closed form


def test_rho_minimum_rejects_beta2_below_beta1():
    with pytest.raises(ValueError, match="beta"):
        bias.rho_minimum("0.9", "0.5")


def test_rise_factor_reference_numbers():
    # an earlier independent computation: 31.6×, 10×, 3.24×, 1.26×, 1.00002× for β2 = 0.999
    got = [bias.rise_factor("0.999", s) for s in (1, 10, 100, 1000, 10000)]
    assert got == pytest.approx([31.6, 10.0, 3.24, 1.26, 1.00002], rel=3e-3)


def test_rise_against_the_simulated_pytorch_step():
    """The simulator's η̂ of torch-style AMSGrad after the max froze at step s."""
    s, T, b2 = 4, 300, "0.9"
    g = "[" + ",".join(["1"] * s) + "]"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = simulate(get_variant("amsgrad-pytorch"), f"gradient-sequence:g={g},tail=0",
                     steps=T, hyperparameters={"beta2": b2, "eps": "0", "alpha": "0.01"},
                     trace=True)
    eta_hat = np.asarray(r.trace["eta_hat"])[:, 0, 0]
    ratio = eta_hat[s - 1:] / eta_hat[s - 1]
    t = np.arange(s, T + 1)
    expected = np.sqrt((1 - 0.9 ** t) / (1 - 0.9 ** s))
    np.testing.assert_allclose(ratio, expected, rtol=1e-12)
    assert ratio.max() <= bias.rise_factor(b2, s)
    assert ratio.max() == pytest.approx(bias.rise_factor(b2, s), rel=1e-9)
