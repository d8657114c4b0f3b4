# test_my_optimizer.py — check your own optimizer against AMSGrad's invariants
import pytest
import torch
from hypothesis import given

from amsgrad_theory.testing import (
    assert_effective_step_nonincreasing,
    assert_matches_reference,
    assert_max_nondecreasing,
)
from amsgrad_theory.testing import strategies as ats


def make_optimizer(params):
    return torch.optim.Adam(params, lr=1e-3, amsgrad=True)


def test_follows_the_exact_pytorch_model():
    assert_matches_reference(make_optimizer, "amsgrad-pytorch")


def test_keeps_and_writes_back_its_max():
    assert_max_nondecreasing(make_optimizer)


def test_step_never_grows_under_an_inv_sqrt_schedule():
    assert_effective_step_nonincreasing(make_optimizer, schedule="inv-sqrt")


def test_step_grows_with_a_constant_learning_rate():
    # torch divides by sqrt(1 - beta2**t) after the max: on g = (1, 0) the step grows 41 %
    with pytest.raises(AssertionError, match=r"\[1\.0, 0\.0\]"):
        assert_effective_step_nonincreasing(make_optimizer, reading="eta_hat")


@given(ats.gradient_sequences(kind="spiky"), ats.hyperparameters(region="gamma<1"))
def test_stays_finite_on_adversarial_gradients(gradients, hp):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    betas = (float(hp["beta1"]), float(hp["beta2"]))
    opt = torch.optim.Adam([p], lr=float(hp["alpha"]), betas=betas, amsgrad=True)
    for g in gradients:
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
    assert torch.isfinite(p).all()
