"""The assertion helpers, as a user's suite would call them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from amsgrad_theory.testing import (
    InvalidArgument,
    assert_effective_step_nonincreasing,
    assert_matches_reference,
    assert_max_nondecreasing,
)
from amsgrad_theory.testing import strategies as ats
from amsgrad_theory.verify.audit_subjects import load_factory

BUGGY = load_factory(f"{Path(__file__).resolve().parent / 'buggy_optimizers.py'}:"
                     "max_not_written_back")
RAISES = load_factory(f"{Path(__file__).resolve().parent / 'buggy_optimizers.py'}:"
                      "raises_at_step_3")


def adam(params):
    return torch.optim.Adam(params, lr=1e-3, amsgrad=True)


def adamw(params):
    return torch.optim.AdamW(params, lr=1e-3, amsgrad=True)


def test_constant_lr_torch_fails_with_the_shrunk_pair_and_a_replay():
    with pytest.raises(AssertionError) as info:
        assert_effective_step_nonincreasing(adam, reading="eta_hat", max_examples=50)
    text = str(info.value)
    assert "[1.0, 0.0]" in text and "at step 2" in text and "by 41.38" in text
    assert "replay in Python" in text
    assert "amsgrad-theory audit" in text and "test_testkit_assertions:adam" in text


def test_eta_reading_fails_at_step_13():
    with pytest.raises(AssertionError, match=r"at step 13"):
        assert_effective_step_nonincreasing(adam, reading="eta", sequence=[1.0] + [0.0] * 12)


def test_inv_sqrt_schedule_passes():
    assert_effective_step_nonincreasing(adam, schedule="inv-sqrt", max_examples=50)


def test_max_nondecreasing_passes_for_torch_and_catches_the_bug():
    assert_max_nondecreasing(adam, max_examples=50)
    with pytest.raises(AssertionError, match=r"v̂ decreased at step 2(.|\n)*\[1\.0, 0\.0\]") as info:
        assert_max_nondecreasing(BUGGY, max_examples=50)
    # a factory loaded from a file replays through its path
    assert "amsgrad-theory audit" in str(info.value)
    assert "buggy_optimizers.py:max_not_written_back" in str(info.value)


def test_a_failing_optimizer_is_reported_with_its_step():
    with pytest.raises(AssertionError, match=r"failed at step 3: RuntimeError"):
        assert_max_nondecreasing(RAISES, max_examples=30)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_matches_its_exact_model(dtype):
    assert_matches_reference(adam, "amsgrad-pytorch", dtype=dtype, max_ulps=0, max_examples=30)
    assert_matches_reference(adamw, "amsgrad-adamw-pytorch", dtype=dtype, max_ulps=0,
                             max_examples=30)


def test_the_bug_does_not_match_the_model():
    with pytest.raises(AssertionError, match=r"differs from the model amsgrad-pytorch at step 2"
                       r"(.|\n)*\[1\.0, 0\.0\](.|\n)*amsgrad-theory simulate"):
        assert_matches_reference(BUGGY, "amsgrad-pytorch", max_examples=50)


def test_a_wrong_reference_is_caught():
    with pytest.raises(AssertionError, match="differs from the model amsgrad-optax"):
        assert_matches_reference(adam, "amsgrad-optax", sequence=[1.0, 0.0])


def test_custom_strategy_and_replay_sequence():
    assert_effective_step_nonincreasing(adam, schedule="inv-sqrt", max_examples=20,
                                        gradients=ats.gradient_sequences(kind="spiky"))
    assert_effective_step_nonincreasing(adam, sequence=[1.0, 1.0, 1.0])


@pytest.mark.parametrize("call, argument", [
    (lambda: assert_effective_step_nonincreasing(42), "optimizer_factory"),
    (lambda: assert_effective_step_nonincreasing(lambda p: object()), "optimizer_factory"),
    (lambda: assert_effective_step_nonincreasing(lambda p: 1 / 0), "optimizer_factory"),
    (lambda: assert_effective_step_nonincreasing(adam, reading="theta"), "reading"),
    (lambda: assert_effective_step_nonincreasing(adam, schedule="cosine"), "schedule"),
    (lambda: assert_effective_step_nonincreasing(adam, dtype="float16"), "dtype"),
    (lambda: assert_effective_step_nonincreasing(adam, model="nope"), "model"),
    (lambda: assert_effective_step_nonincreasing(adam, max_examples=0), "max_examples"),
    (lambda: assert_effective_step_nonincreasing(adam, rtol=0), "rtol"),
    (lambda: assert_effective_step_nonincreasing(adam, gradients=[1.0]), "gradients"),
    (lambda: assert_max_nondecreasing(adam, sequence=[]), "sequence"),
    (lambda: assert_max_nondecreasing(adam, sequence=[1.0, float("nan")]), "sequence"),
    (lambda: assert_matches_reference(adam, "nope"), "variant"),
    (lambda: assert_matches_reference(adam, max_ulps=-1), "max_ulps"),
    (lambda: assert_matches_reference(adam, x0=float("inf")), "x0"),
])
def test_invalid_arguments_name_the_argument(call, argument):
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.argument == argument and str(info.value).startswith(f"{argument}=")
