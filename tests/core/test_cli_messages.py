"""Failed checks state their magnitude and where; no Python reprs in messages (issue 15.5)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from amsgrad_theory import simulate
from amsgrad_theory.cli import main
from amsgrad_theory.commands.audit import path_agreement, state_dict_failure
from amsgrad_theory.commands.verify import _short

ADAM = ["-a", "adam", "-p", "reddi-online:C=3", "--beta1", "0", "--beta2", "0.1", "-q"]


def cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_failed_step_check_says_how_much_and_where(capsys):
    code, out, _ = cli(["verify", *ADAM, "-T", "20", "--no-bounds"], capsys)
    assert code == 1
    found = re.search(r"η̂ grew ([0-9.]+) % at t = (\d+), i = 0", out)
    assert found, out
    # the same growth read off the run's trace: max_t η̂_t/η̂_(t−1) − 1
    run = simulate("adam", "reddi-online:C=3", steps=20, trace=True,
                   hyperparameters={"beta1": "0", "beta2": "0.1"})
    eta_hat = np.asarray(run.trace["eta_hat"], dtype=float)[:, 0, 0]
    growth = eta_hat[1:] / eta_hat[:-1] - 1
    assert float(found[1]) == pytest.approx(100 * growth.max(), rel=1e-3)
    assert int(found[2]) == int(np.argmax(growth)) + 2


def test_a_failed_regret_check_gives_the_exponent(capsys):
    code, out, _ = cli(["verify", *ADAM, "-T", "2000", "--no-bounds"], capsys)
    assert code == 1 and re.search(r"R_t ∝ t\^k with k = 1\.\d+ ± [0-9.]+", out), out


def test_a_failed_agreement_gives_the_deviation(capsys):
    code, out, _ = cli(["verify", *ADAM, "-T", "20", "--no-bounds", "--agreement",
                        "float32,mpmath:30", "--rtol", "1e-12"], capsys)
    assert code == 1 and re.search(r"the largest relative deviation is \S+ \(float32:", out)


@pytest.mark.parametrize("problem, words", [
    ("reddi-online", "lies in the box [-1, 1]^d"),
    ("random-quadratic:d=2,set=ball,radius=2", "lies in the ball ‖x‖₂ ≤ 2"),
    ("gradient-sequence:g=[1,0],set=none", "lies in ℝ^d (no constraint)")])
def test_the_feasible_set_is_named_in_words(problem, words, capsys):
    code, out, _ = cli(["verify", "-a", "amsgrad", "-p", problem, "-T", "5", "-q",
                        "--no-bounds"], capsys)
    assert words in out and "{'" not in out and "kind" not in out


#: an audit path that agrees within its tolerance although it is 2.9e13 ulps from the model
#: (the differentiable branch in float64: 1 − β^t from a float32 step count)
DIFFERENTIABLE = {
    "path": "differentiable", "dtype": "float64", "device": "cpu", "bit_identical_to_model":
    False, "agrees_with_model": True, "max_ulps": 2.905e13, "state_max_relative": 0.0,
    "theta_max_over_lr": 0.001228, "effective_step_max_relative": 9.971e-06, "error": None,
    "tolerance": {"state_relative": 1e-4, "theta_over_lr": 1e-2},
    "agreement": {"theta": {"max_ulps": 2.905e13, "max_relative": 0.004114,
                            "first_difference_step": 1},
                  "exp_avg": {"max_ulps": 0.0, "max_relative": 0.0,
                              "first_difference_step": None}},
    "vs_single": {"bit_identical": False, "max_ulps": 2.905e13,
                  "parts": {"theta": {"max_ulps": 2.905e13, "max_relative": 0.004114}}}}


def test_an_audit_path_agrees_by_its_tolerance_not_by_ulps():
    verdict, *details = path_agreement(DIFFERENTIABLE)
    assert verdict.startswith("agrees within tolerance: θ drift 0.001228·lr (allowed 0.01·lr)")
    assert "state rel 0 (allowed 0.0001)" in verdict and "ulps" not in verdict
    assert details[0].startswith("not bit-identical: θ differs by up to 0.004114 relative "
                                 "(2.905e+13 ulps at most")
    bad = dict(DIFFERENTIABLE, agrees_with_model=False, theta_max_over_lr=0.5)
    assert path_agreement(bad)[0].startswith("DISAGREES: θ drift 0.5·lr (allowed 0.01·lr)")


def test_a_failed_state_dict_round_trip_is_said_in_words():
    text = state_dict_failure({"max_state_keys": ["max_exp_avg_sq"],
                               "preserved": {"exp_avg": True, "max_exp_avg_sq": False},
                               "first_divergence_step": 7, "identical_steps_after_load": 2})
    assert text == ("not restored: max_exp_avg_sq; the continuation diverges at step 7 "
                    "(2 identical steps after loading)")
    assert "{" not in state_dict_failure({"error": "KeyError: 'state'"})


def test_sidecar_differences_print_values_as_json():
    assert _short({"kind": "box", "lo": "-1"}) == '{"kind": "box", "lo": "-1"}'
    assert _short(0.5) == "0.5" and _short("text") == '"text"'
    assert json.loads(_short([1.0, None])) == [1.0, None]
