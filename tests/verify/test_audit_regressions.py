"""Pinned minimal counterexamples (Hypothesis ``minimal``-style quality tests).

Each test asks ``hypothesis.find`` for the smallest gradient sequence that breaks an invariant
and pins it, with the numbers measured on torch 2.13's torch/optim/adam.py [pytorch-2.13]
(README "Findings"):

* torch ``Adam(amsgrad=True)``, constant lr: η̂ rises on g = (1, 0) by +41.386 %
  (1.0000e-3 → 1.41386e-3);
* the same: η first rises at t = 13 on g = (1, 0×12) (4.81429215e-3 → 4.81991584e-3);
* the Keras model (``amsgrad-keras``): η̂ rises on (1, 0) by ×1.413860;
* an AMSGrad whose max is not written back (pytorch#78807): v̂ falls on (1, 0) (by 1 − β2).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Verbosity, find, settings

from amsgrad_theory.algorithms import get_variant
from amsgrad_theory.testing.strategies import gradient_sequences
from amsgrad_theory.verify.audit_invariants import evaluate
from amsgrad_theory.verify.audit_subjects import (
    ModelSubject,
    TorchSubject,
    builtin_hyperparameters,
    load_factory,
    model_for,
    torch_factory,
)

BUGGY = Path(__file__).resolve().parents[1] / "testing" / "buggy_optimizers.py"


def minimal(strategy, condition, max_examples: int = 300):
    """The shrunk smallest example satisfying ``condition`` (as Hypothesis's own
    ``tests/common/debug.py::minimal``), seeded and without an example database."""
    config = settings(max_examples=max_examples, database=None, deadline=None,
                      derandomize=False, verbosity=Verbosity.quiet,
                      suppress_health_check=list(HealthCheck))
    return find(strategy, condition, settings=config, random=random.Random(0))


def torch_adam(schedule: str = "constant") -> TorchSubject:
    hyper = builtin_hyperparameters("torch-adam-amsgrad")
    return TorchSubject(torch_factory("Adam", hyper, {"foreach": False}), "torch-adam-amsgrad",
                        model_for("amsgrad-pytorch", schedule), schedule=schedule, rtol=1e-9)


def violation(subject, gradients, name):
    return evaluate(subject, gradients, 1e-9, (name,)).violations[name]


def test_torch_eta_hat_minimal_counterexample_is_one_zero():
    subject = torch_adam()
    found = minimal(gradient_sequences(),
                    lambda g: violation(subject, g, "eta_hat_nonincreasing") is not None)
    assert found == [1.0, 0.0]
    v = violation(subject, found, "eta_hat_nonincreasing")
    assert v.step == 2
    assert v.before == pytest.approx(1.0e-3, rel=1e-7)
    assert v.after == pytest.approx(1.41386e-3, rel=1e-5)
    assert v.relative_change == pytest.approx(0.41386, abs=1e-5)


def test_torch_eta_minimal_counterexample_is_one_then_twelve_zeros():
    subject = torch_adam()
    found = minimal(gradient_sequences(),
                    lambda g: violation(subject, g, "eta_nonincreasing") is not None)
    assert found == [1.0] + [0.0] * 12
    v = violation(subject, found, "eta_nonincreasing")
    assert (v.previous_step, v.step) == (12, 13)
    assert v.before == pytest.approx(4.81429215e-3, rel=1e-8)
    assert v.after == pytest.approx(4.81991584e-3, rel=1e-8)
    # no sequence can raise η before t = 13 (ρ(t) falls until t = 12): 12 steps never do
    assert violation(subject, [1.0] + [0.0] * 11, "eta_nonincreasing") is None


def test_keras_model_eta_hat_minimal_counterexample_is_one_zero():
    keras = get_variant("amsgrad-keras")
    hyper = {k: float(v) for k, v in keras.hyperparameters().items()
             if k in ("alpha", "beta1", "beta2", "eps")}
    subject = ModelSubject(keras, hyper)
    found = minimal(gradient_sequences(max_size=10),
                    lambda g: violation(subject, g, "eta_hat_nonincreasing") is not None,
                    max_examples=100)
    assert found == [1.0, 0.0]
    v = violation(subject, found, "eta_hat_nonincreasing")
    assert v.after / v.before == pytest.approx(1.413860, abs=2e-6)


def test_not_written_back_max_minimal_counterexample_is_one_zero():
    subject = TorchSubject(load_factory(f"{BUGGY}:max_not_written_back"), "buggy",
                           model_for("amsgrad-pytorch", "constant"), rtol=1e-9)
    found = minimal(gradient_sequences(),
                    lambda g: violation(subject, g, "vhat_nondecreasing") is not None)
    assert found == [1.0, 0.0]
    v = violation(subject, found, "vhat_nondecreasing")
    assert v.after / v.before == pytest.approx(0.999, rel=1e-9)   # v_2 = β2·v_1


def test_inv_sqrt_schedule_has_no_counterexample():
    subject = torch_adam("inv-sqrt")
    for g in ([1.0, 0.0], [1.0] + [0.0] * 12, [3.0] + [0.1] * 30):
        ev = evaluate(subject, g, 1e-9)
        assert all(v is None for v in ev.violations.values()), (g, ev.violations)
