"""``amsgrad-theory audit``: the framework audit of issue 5 §5 on the real torch 2.13.

What it must show (each a test here): torch-adam-amsgrad with constant lr fails η̂ with the
counterexample shrunk to length 2; with α/√t through a LambdaLR scheduler it finds none; an
AMSGrad whose max is not written back is caught through ``module:factory``; every torch path
is compared with the exact model in ulps; amsgrad=True stays bit-identical to amsgrad=False on
(1, 0.05, …) for 3000/3000 steps; a state_dict round trip keeps the max; bad input exits 2; an
optimizer that raises or produces NaN is a failed audit with the step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from amsgrad_theory.cli import main
from amsgrad_theory.errors import InputError
from amsgrad_theory.verify import validate_report
from amsgrad_theory.verify.audit import audit
from amsgrad_theory.verify.audit_checks import ulps

BUGGY = Path(__file__).resolve().parents[1] / "testing" / "buggy_optimizers.py"
FAST = {"max_examples": 60, "path_steps": 40, "equivalence_steps": 200}


@pytest.fixture(scope="module")
def constant_lr():
    return audit("torch-adam-amsgrad", sections=("invariants",), max_examples=100)


@pytest.fixture(scope="module")
def paths():
    return audit("torch-adam-amsgrad", sections=("paths",), path_steps=80)


def test_constant_lr_finds_the_eta_hat_increase_shrunk_to_length_two(constant_lr):
    r = constant_lr
    assert not r.holds and r.exit_status == 1
    ex = r.counterexample
    assert ex["invariant"] == "eta_hat_nonincreasing"
    assert ex["gradients"] == [1.0, 0.0] and ex["length"] == 2
    assert ex["relative_change"] == pytest.approx(0.41386, abs=1e-5)
    by_name = {o.name: o for o in r.invariants}
    assert by_name["vhat_nondecreasing"].holds       # torch keeps (and writes back) its max
    assert by_name["finite_steps"].holds
    assert by_name["eta_nonincreasing"].counterexample["gradients"] == [1.0] + [0.0] * 12
    assert r.max_relative_increase >= 0.41386 - 1e-5
    assert "--sequence '[1.0, 0.0]'" in ex["replay"]
    assert "gradient-sequence:g=[1.0,0.0],set=none" in ex["model_replay"]


def test_inv_sqrt_schedule_finds_none():
    r = audit("torch-adam-amsgrad", schedule="inv-sqrt", sections=("invariants",),
              max_examples=100)
    assert r.holds and r.exit_status == 0 and r.counterexample is None
    assert all(o.counterexample is None for o in r.invariants)
    assert r.max_relative_increase < 1e-9


def test_injected_bug_max_not_written_back_is_caught_via_module_factory():
    r = audit(f"{BUGGY}:max_not_written_back", max_examples=60, path_steps=40,
              equivalence_steps=300)
    assert r.exit_status == 1
    vhat = {o.name: o for o in r.invariants}["vhat_nondecreasing"]
    assert not vhat.holds and vhat.counterexample["gradients"] == [1.0, 0.0]
    assert r.counterexample["invariant"] == "vhat_nondecreasing"   # the first failing one
    assert r.matches_model is False                                 # and it is not the model
    assert r.equivalence["bit_identical_throughout"]                # it is plain Adam
    # the same code with the max written back keeps the invariant and is the model, bit for bit
    ok = audit(f"{BUGGY}:written_back", sections=("invariants", "paths"), max_examples=60,
               path_steps=40)
    assert {o.name: o for o in ok.invariants}["vhat_nondecreasing"].holds
    assert ok.matches_model is True
    assert all(p["bit_identical_to_model"] for p in ok.paths)


def test_every_path_against_the_exact_model(paths):
    got = {(p["path"], p["dtype"], p["device"]): p for p in paths.paths}
    for dtype in ("float64", "float32"):
        for name in ("single", "foreach"):
            p = got[(name, dtype, "cpu")]
            assert p["bit_identical_to_model"] and p["max_ulps"] == 0.0, (name, dtype)
        assert got[("foreach", dtype, "cpu")]["vs_single"]["bit_identical"]
        fused = got[("fused", dtype, "cpu")]
        assert fused["available"] and fused["agrees_with_model"]
        assert not fused["vs_single"]["bit_identical"]       # a different rounding order
        diff = got[("differentiable", dtype, "cpu")]
        # 1 − β^t from the float32 step tensor: ≈1e-5 relative per step, even for float64
        assert 1e-6 < diff["effective_step_max_relative"] < 1e-4
    assert got[("fused", "float64", "cpu")]["state_max_relative"] < 1e-13
    assert got[("fused", "float32", "cpu")]["state_max_relative"] < 1e-5
    if not torch.cuda.is_available():
        assert not got[("capturable", "float64", "cpu")]["available"]
    assert paths.matches_model is True
    validate_report(paths.report.to_dict())


def test_paths_keep_the_invariant_verdicts(paths):
    for p in paths.paths:
        if p["available"]:
            assert p["invariants"]["vhat_nondecreasing"]["holds"]
            assert not p["invariants"]["eta_hat_nonincreasing"]["holds"]


def test_amsgrad_is_adam_for_3000_steps_on_one_then_005():
    r = audit("torch-adam-amsgrad", sections=("equivalence",), equivalence_steps=3000)
    e = r.equivalence
    assert e["identical_steps"] == 3000 and e["bit_identical_throughout"]
    assert e["eta_hat_growth"] == pytest.approx(19.8, rel=0.01)
    r = audit("torch-adam-amsgrad", sections=("equivalence",), equivalence_steps=500,
              equivalence_sequence="gaussian")
    assert r.equivalence["identical_steps"] < 500      # the max binds on noisy gradients


def test_state_dict_round_trip_keeps_the_max():
    r = audit("torch-adamw-amsgrad", sections=("state-dict",))
    s = r.state_dict
    assert s["max_state_keys"] == ["max_exp_avg_sq"]
    assert s["max_state_preserved"] and s["round_trip_identical"]
    assert r.checkpoint["checkpoint_overrides_constructor"] is True


def test_adamw_audit_and_model():
    r = audit("torch-adamw-amsgrad", sections=("invariants", "paths"), max_examples=40,
              path_steps=40)
    assert r.model == "amsgrad-adamw-pytorch" and r.hyperparameters["weight_decay"] == 0.01
    assert r.counterexample["gradients"] == [1.0, 0.0]
    single = [p for p in r.paths if p["path"] == "single"]
    assert all(p["bit_identical_to_model"] for p in single)


def test_adam_l2_weight_decay_matches_the_model_bit_for_bit():
    """torch's grad.add(param, alpha=λ) is one fused multiply-add; the model does the same."""
    r = audit("torch-adam-amsgrad", sections=("paths",), path_steps=40,
              hyperparameters={"weight_decay": 0.01})
    single = [p for p in r.paths if p["path"] == "single"]
    assert all(p["bit_identical_to_model"] for p in single)


def test_optimizer_that_raises_is_a_failed_audit_with_the_step():
    r = audit(f"{BUGGY}:raises_at_step_3", sections=("invariants",), max_examples=40)
    finite = {o.name: o for o in r.invariants}["finite_steps"]
    assert not finite.holds and r.exit_status == 1
    assert finite.counterexample["step"] == 3
    assert "deliberate failure" in finite.counterexample["error"]
    assert finite.counterexample["gradients"] == [1.0, 0.0, 0.0]


def test_optimizer_that_produces_nan_is_a_failed_audit_with_the_step():
    r = audit(f"{BUGGY}:nan_without_eps", sections=("invariants",), max_examples=40)
    assert r.counterexample["invariant"] == "finite_steps"
    assert r.counterexample["step"] == 1 and "non-finite" in r.counterexample["error"]
    assert r.counterexample["gradients"] == [0.0, 0.0]


def test_replay_of_a_given_sequence():
    r = audit("torch-adam-amsgrad", sequence="[1.0, 0.0]", sections=("invariants",))
    assert r.search["cases"] == 1 and r.counterexample["gradients"] == [1.0, 0.0]
    assert r.report.records[0].method == "float"
    assert audit("torch-adam-amsgrad", sequence=[1.0, 1.0],
                 sections=("invariants",)).holds


def test_cli_json_holds_the_required_keys(capsys):
    status = main(["audit", "torch-adam-amsgrad", "--json", "--quiet", "--max-examples", "30",
                   "--path-steps", "30", "--equivalence-steps", "100"])
    assert status == 1
    out = json.loads(capsys.readouterr().out)
    for key in ("target", "holds", "invariants", "counterexample", "max_relative_increase",
                "paths", "report"):
        assert key in out
    assert out["target"] == "torch-adam-amsgrad" and out["holds"] is False
    for inv in out["invariants"]:
        assert {"name", "holds", "counterexample", "max_relative_increase"} <= set(inv)
    assert out["counterexample"]["gradients"] == [1.0, 0.0]
    validate_report(out["report"])
    methods = {r["method"] for r in out["report"]["records"]}
    assert methods == {"sampled", "float"}
    sampled = [r for r in out["report"]["records"] if r["method"] == "sampled"]
    assert all(r["cases"] > 0 and r["seed"] == 0 for r in sampled)
    assert all("_trajectory" not in p for p in out["paths"])


def test_cli_text_and_inv_sqrt_exit_zero(capsys):
    status = main(["audit", "torch-adam-amsgrad", "--schedule", "inv-sqrt", "--quiet",
                   "--max-examples", "30", "--skip", "paths", "--skip", "equivalence"])
    out = capsys.readouterr().out
    assert status == 0 and "every invariant holds" in out


@pytest.mark.parametrize("target, fragment", [
    ("no_such_module_xyz:make", "cannot import"),
    (f"{BUGGY}:NOT_CALLABLE", "not callable"),
    (f"{BUGGY}:not_an_optimizer", "not a torch.optim.Optimizer"),
    (f"{BUGGY}:factory_raises", "the factory raised ValueError"),
    (f"{BUGGY}:no_such_attribute", "no attribute"),
    ("missing_file.py:make", "no such file"),
    ("torch-sgd", "unknown target"),
])
def test_bad_targets_exit_2_naming_them(capsys, target, fragment):
    assert main(["audit", target, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "target=" in err and target in err


@pytest.mark.parametrize("argv, name", [
    (["--lr", "abc"], "alpha"),
    (["--beta2", "1"], "beta2"),
    (["--sequence", "[1, null]"], "sequence"),
    (["--sequence", "[]"], "sequence"),
    (["--max-examples", "0"], "max_examples"),
    (["--rtol", "2"], "rtol"),
])
def test_bad_options_exit_2_naming_them(capsys, argv, name):
    assert main(["audit", "torch-adam-amsgrad", "--quiet", *argv]) == 2
    assert f"{name}=" in capsys.readouterr().err


def test_factory_options_are_rejected_where_they_do_not_apply():
    with pytest.raises(InputError, match="path="):
        audit(f"{BUGGY}:written_back", path="fused")
    with pytest.raises(InputError, match="alpha="):
        audit(f"{BUGGY}:written_back", hyperparameters={"alpha": 0.1})
    with pytest.raises(InputError, match="model="):
        audit("torch-adam-amsgrad", model="amsgrad")
    with pytest.raises(InputError, match="model='no-such-variant'"):
        audit(f"{BUGGY}:written_back", model="no-such-variant")


def test_optax_target_skips_cleanly_without_jax(capsys, monkeypatch):
    """Without jax and optax (made unimportable here, so the path is tested where they are
    installed too; tests/verify/test_audit_optax.py audits the real optax.amsgrad), the optax
    target is exit 2 naming the optional extra."""
    monkeypatch.setitem(sys.modules, "jax", None)
    monkeypatch.setitem(sys.modules, "optax", None)
    assert main(["audit", "optax-amsgrad", "--quiet"]) == 2
    assert "optional extra" in capsys.readouterr().err


def test_ulps_helper():
    assert ulps(1.0, 1.0 + 2 ** -52, "float64") == pytest.approx(1.0)
    assert ulps(1.0, 1.0 + 2 ** -23, "float32") == pytest.approx(1.0)
    assert ulps(0.0, 0.0, "float64") == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("options", [
    {"dtype": "float32"}, {"dtype": "float64"}, {"path": "differentiable", "dtype": "float32"},
    {"path": "fused", "dtype": "float32"},
])
def test_no_false_alarm_under_inv_sqrt_in_a_long_search(options):
    """1500 cases per invariant, sequences up to 60 steps: rounding never reads as a change."""
    r = audit("torch-adam-amsgrad", schedule="inv-sqrt", sections=("invariants",),
              max_examples=1500, max_size=60, seed=7, **options)
    assert r.holds, r.counterexample


@pytest.mark.slow
def test_default_audit_reproduces_the_reference_measurements():
    r = audit("torch-adam-amsgrad")          # every default: 300 examples, 200-step battery
    assert r.counterexample["gradients"] == [1.0, 0.0]
    assert r.equivalence["identical_steps"] == 3000
    assert r.matches_model and r.state_dict["max_state_preserved"]
