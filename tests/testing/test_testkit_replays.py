"""The test kit as a user meets it: its default tolerance accepts correct code it did not write,
every line a failure prints replays that failure, and the search follows Hypothesis' settings."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import torch
from hypothesis import core as hypothesis_core
from hypothesis import settings

from amsgrad_theory.cli import main
from amsgrad_theory.testing import (
    assert_effective_step_nonincreasing,
    assert_matches_reference,
    assert_max_nondecreasing,
)
from amsgrad_theory.verify.audit_subjects import load_factory

HERE = Path(__file__).resolve().parent
BUGGY = load_factory(f"{HERE / 'buggy_optimizers.py'}:max_not_written_back")
INDEPENDENT = [load_factory(f"{HERE / 'independent_amsgrad.py'}:{name}")
               for name in ("in_place", "written_out", "lerped")]
HELPERS = {"assert_effective_step_nonincreasing": assert_effective_step_nonincreasing,
           "assert_max_nondecreasing": assert_max_nondecreasing,
           "assert_matches_reference": assert_matches_reference}


def adam(params):
    return torch.optim.Adam(params, lr=1e-3, amsgrad=True)


def _line(text: str, prefix: str) -> str:
    return next(line.strip()[len(prefix):].strip() for line in text.splitlines()
                if line.strip().startswith(prefix))


def _replay_python(text: str, factory) -> AssertionError:
    call = _line(text, "replay in Python:")
    with pytest.raises(AssertionError) as info:
        eval(call.replace("<your factory>", "factory"), {**HELPERS, "factory": factory})
    return info.value


def _head(error: AssertionError) -> str:
    return str(error).splitlines()[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("factory", INDEPENDENT, ids=["in-place", "written-out", "lerped"])
def test_an_independent_correct_amsgrad_passes_the_default_tolerance(factory, dtype):
    """Reddi et al.'s Algorithm 2 with α/√t inside the optimizer: schedule=None runs it as
    built against the ``amsgrad`` model (whose α_t is α/√t), 200-step sequences included."""
    from amsgrad_theory.testing import strategies as ats

    assert_matches_reference(factory, "amsgrad", dtype=dtype, max_examples=15, seed=1,
                             gradients=ats.gradient_sequences(max_size=200))
    assert_matches_reference(factory, "amsgrad", dtype=dtype,
                             sequence=[1.0, -2.0, 0.5, 0.0, 3.0, -0.25] * 30)


def test_no_schedule_is_applied_unless_asked_and_the_failure_says_which_ran():
    factory = INDEPENDENT[0]
    with pytest.raises(AssertionError) as info:     # asked: α/√t twice (model and LambdaLR)
        assert_matches_reference(factory, "amsgrad", schedule="inv-sqrt", sequence=[1.0, 1.0])
    assert "lr driven by LambdaLR(1/√t)" in str(info.value)
    assert "model amsgrad with α_t = α/√t" in str(info.value)


def test_invariant_failures_replay_from_python_and_the_shell(capsys):
    with pytest.raises(AssertionError) as info:
        assert_max_nondecreasing(BUGGY, dtype="float32", rtol=1e-4, max_examples=30, seed=3)
    text = str(info.value)
    again = _replay_python(text, BUGGY)
    assert _head(again) == _head(info.value)
    command = _line(text, "replay from the shell:")
    assert "--dtype float32" in command and "--rtol 0.0001" in command
    code = main(shlex.split(command)[1:])
    data = json.loads(capsys.readouterr().out)
    record = next(r for r in data["report"]["records"] if r["name"] == "audit.vhat_nondecreasing")
    step = int(re.search(r"at step (\d+)", _head(info.value)).group(1))
    assert code == 1 and record["verdict"] == "fail" and record["witness"]["step"] == step


def test_a_non_default_model_travels_in_both_replays(capsys):
    with pytest.raises(AssertionError) as info:
        assert_effective_step_nonincreasing(adam, reading="eta_hat",
                                            model="amsgrad-adamw-pytorch", max_examples=30)
    text = str(info.value)
    assert "model='amsgrad-adamw-pytorch'" in _line(text, "replay in Python:")
    assert "reading='eta_hat'" in _line(text, "replay in Python:")
    assert _head(_replay_python(text, adam)) == _head(info.value)
    command = _line(text, "replay from the shell:")
    assert "--model amsgrad-adamw-pytorch" in command
    # a factory defined in this test module replays through its importable name
    main(shlex.split(command)[1:])
    data = json.loads(capsys.readouterr().out)
    assert data["report"]["parameters"]["model"] == "amsgrad-adamw-pytorch"
    record = next(r for r in data["report"]["records"]
                  if r["name"] == "audit.eta_hat_nonincreasing")
    assert record["verdict"] == "fail"


def test_a_reference_failure_replays_and_the_model_line_gives_the_model_value(capsys):
    with pytest.raises(AssertionError) as info:
        assert_matches_reference(BUGGY, "amsgrad-pytorch", dtype="float32", x0=0.25,
                                 max_examples=30, seed=2)
    text = str(info.value)
    call = _line(text, "replay in Python:")
    assert "dtype='float32'" in call and "x0=0.25" in call
    assert _head(_replay_python(text, BUGGY)) == _head(info.value)
    model_value = float(re.search(r"vs (\S+) \(by", _head(info.value)).group(1))
    step = re.search(r"at step (\d+)", _head(info.value)).group(1)
    command = _line(text, f"the model's run to step {step} (its x_(T+1) is the model's θ "
                          "there):")
    assert "--x0 0.25" in command and "--arithmetic torch:cpu:float32" in command
    assert main(shlex.split(command)[1:]) == 0
    assert json.loads(capsys.readouterr().out)["final_x"][0] == model_value


def test_the_helpers_frames_are_hidden_from_pytest_tracebacks():
    with pytest.raises(AssertionError) as info:
        assert_max_nondecreasing(BUGGY, sequence=[1.0, 0.0])
    shown = info.traceback.filter(info)
    assert not any("amsgrad_theory" in str(entry.path) and "testing" in str(entry.path)
                   for entry in shown)


def test_the_search_follows_the_active_profile_and_the_hypothesis_seed(monkeypatch):
    builds = []

    def counted(params):
        builds.append(1)
        return adam(params)

    settings.register_profile("testkit-five", max_examples=5, derandomize=True, database=None)
    previous = settings._current_profile
    settings.load_profile("testkit-five")
    try:
        assert_max_nondecreasing(counted)            # passes: v̂ is written back
    finally:
        settings.load_profile(previous)
    assert 1 < len(builds) <= 1 + 5                  # one build checks the factory
    monkeypatch.setattr(hypothesis_core, "global_force_seed", 12345)
    with pytest.raises(AssertionError, match=r"seed 12345 \(--hypothesis-seed\)"):
        assert_max_nondecreasing(BUGGY, max_examples=20)
