"""The large-state oracle path: the same rule, one pass, the same numbers as simulate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amsgrad_theory import InputError, NumericalError, get_variant, simulate
from amsgrad_theory.engine.oracle import GradientOracle, simulate_oracle

OPTAX_NO_FLUSH = get_variant("amsgrad-optax").with_(flush_denormals=False)


@pytest.mark.heavy
@pytest.mark.parametrize("variant", [
    "amsgrad", OPTAX_NO_FLUSH,      # the paper's rule; optax's (max over the corrected ν, ε_root)
    *(pytest.param(v, marks=pytest.mark.slow) for v in ("amsgrad-pytorch", "adam"))])
def test_oracle_equals_simulate_bit_for_bit(variant):
    """Each variant's oracle pass compiles a kernel of its own (≈ 3 s): two rules by default,
    the others with ``-m slow``."""
    seq = np.round(np.random.default_rng(5).standard_normal((60, 4)), 3)
    seq[::7, 1] = 0.0

    def gradient(t, x, out):
        out[:] = seq[t - 1]

    fast = simulate_oracle(variant, GradientOracle(gradient, 4), steps=60, arithmetic="float64")
    ref = simulate(variant, "gradient-sequence:g=" + json.dumps(seq.tolist()), steps=60,
                   arithmetic="float64:python")
    inst = ref.instances[0]
    assert fast.notes == ()             # the update pass reached numba flat
    assert fast.x.tolist() == [float(v) for v in inst.final_x]
    assert fast.vhat.tolist() == [float(v) for v in inst.vhat]
    assert fast.sum_sq_grad.tolist() == [float(v) for v in inst.sum_sq_grad]
    assert fast.effective_step_increases == inst.effective_step.increases
    assert fast.corrected_step_increases == inst.corrected_step.increases
    assert fast.first_increase_step == inst.effective_step.first_increase_step
    assert fast.max_corrected_step_increase == pytest.approx(inst.corrected_step.max_increase,
                                                             rel=1e-12)


@pytest.mark.heavy
def test_oracle_reports_non_finite_gradients():
    def gradient(t, x, out):
        out[:] = 1.0 if t < 3 else np.inf

    with pytest.raises(NumericalError) as info:
        simulate_oracle("amsgrad", GradientOracle(gradient, 3), steps=5)
    assert info.value.step == 3


def test_oracle_bad_input():
    with pytest.raises(InputError):
        GradientOracle("not callable", 3)
    with pytest.raises(InputError):
        simulate_oracle("amsgrad", GradientOracle(lambda t, x, o: None, 3), steps=2,
                        arithmetic="mpmath:30")


def test_the_oracle_refuses_a_variant_that_flushes_subnormals():
    """XLA's flush to zero is the calling thread's flag: the oracle's parallel pass cannot set
    it on its worker threads, so it says so instead of running a different arithmetic."""
    with pytest.raises(InputError, match="flushes subnormals"):
        simulate_oracle("amsgrad-optax", GradientOracle(lambda t, x, out: None, 2), steps=3)
