"""The tie battery: float verdicts never decide a comparison their rounding cannot decide.

Exact ties (the claim η_t ≤ η_{t−1} holds with equality) and a near tie (η_3/η_2 − 1 ≈ 3e-17,
a true rise) in every arithmetic and engine: a verdict is either the truth or ``undecided``.
The truths are established independently of the runs: the exact ties by hand (below), the
near tie by arb at 256 bits.
"""

from __future__ import annotations

import json

import pytest

from amsgrad_theory.cli import main
from amsgrad_theory.engine import RunSpec
from amsgrad_theory.verify.invariants import check_run

STEP_CLAIMS = ("effective_step_nonincreasing", "corrected_step_nonincreasing")

#: (name, spec, truth of "η and η̂ never rise")
BATTERY = [
    # Adam as Reddi et al. analyse it (no bias correction, α_t = α/√t, ε = 0):
    # η_t² = α²/(t·v_t); the exact ties are checked in rationals by test_the_exact_ties_are_ties
    ("beta2=1/2 on (1, 0)",
     RunSpec("adam", "gradient-sequence:g=[1,0]", 2, hyperparameters={"beta2": "0.5"}),
     None),
    ("beta2=2/3 on (1, 0, 0)",
     RunSpec("adam", "gradient-sequence:g=[1,0,0]", 3, hyperparameters={"beta2": "2/3"}),
     None),
    ("amsgrad, constant α, on (1, 0, 0, 0)",
     RunSpec("amsgrad", "gradient-sequence:g=[1,0,0,0]", 4, schedule="constant"), "pass"),
    ("beta2=0.6666666666666666 on (1, 0, 0) (a rise of 3e-17)",
     RunSpec("adam", "gradient-sequence:g=[1,0,0]", 3,
             hyperparameters={"beta2": "0.6666666666666666"}), "fail"),
]

#: numba compiles a kernel per variant and dtype (≈ 12 s here): those cases are slow-marked
#: (its results equal the python engine's bit for bit: tests/engine)
_SLOW = pytest.mark.slow
ARITHMETICS = ["float64:python", pytest.param("float64:numba", marks=_SLOW), "float64:numpy",
               "float32:python", pytest.param("float32:numba", marks=_SLOW), "float32:numpy",
               "mpmath:30", "arb:64", "arb:128", "torch:cpu:float64", "torch:cpu:float32"]


def _truth(spec: RunSpec, truth):
    if truth is not None:
        return truth
    return "pass"      # the exact ties: equality, so "never rises" is true


def test_the_exact_ties_are_ties():
    """η_t² = α²/(t·v_t) in exact rationals (squared, to avoid √): β2 = 1/2 on (1, 0) gives
    v = (1/2, 1/4) and η² = (2α², 2α²); β2 = 2/3 on (1, 0, 0) gives v = (1/3, 2/9, 4/27) and
    η² = (3α², 9/4·α², 9/4·α²). η̂ = η (m is not corrected)."""
    from fractions import Fraction as Q

    for beta2, grads in ((Q(1, 2), [1, 0]), (Q(2, 3), [1, 0, 0])):
        v, etas = Q(0), []
        for t, g in enumerate(grads, start=1):
            v = beta2 * v + (1 - beta2) * g * g
            etas.append(1 / (t * v))
        assert etas[-1] == etas[-2]                      # an exact tie at the last step
        assert all(b <= a for a, b in zip(etas, etas[1:]))


@pytest.mark.parametrize("arithmetic", ARITHMETICS)
@pytest.mark.parametrize("name,spec,truth", BATTERY, ids=[b[0] for b in BATTERY])
def test_no_wrong_verdict(name, spec, truth, arithmetic):
    run = spec.with_(arithmetic=arithmetic)
    records = {r.name: r for r in check_run(run.run(), run)}
    for claim in STEP_CLAIMS:
        verdict = records[claim].verdict
        assert verdict in (_truth(spec, truth), "undecided"), (claim, records[claim].details)


def test_the_near_tie_is_undecided_in_float_and_decided_by_escalation(capsys):
    spec = BATTERY[3][1]
    records = {r.name: r for r in check_run(spec.run(), spec)}
    assert records["effective_step_nonincreasing"].verdict == "undecided"   # once "pass"
    args = ["verify", "--algorithm", "adam", "--problem", "gradient-sequence:g=[1,0,0]",
            "--steps", "3", "--beta2", "0.6666666666666666", "--no-bounds", "--json"]
    assert main(args) == 1
    data = json.loads(capsys.readouterr().out)
    eta = next(r for r in data["records"] if r["name"] == "effective_step_nonincreasing")
    assert eta["method"] == "certified" and eta["verdict"] == "fail"
    assert eta["details"]["escalated_from"]["details"]["undecided"] >= 1
    assert data["exit_status"] == 1 and data["exit_statuses"]["undecided"] == 3
    # without escalation the float record stays undecided, and so does the exit status…
    assert main(args + ["--no-escalate"]) in (3, 1)
    data = json.loads(capsys.readouterr().out)
    eta = next(r for r in data["records"] if r["name"] == "effective_step_nonincreasing")
    assert eta["method"] == "float" and eta["verdict"] == "undecided"


def test_an_exact_tie_stays_undecided_and_exits_3(capsys):
    code = main(["verify", "--algorithm", "adam", "--problem", "gradient-sequence:g=[1,0]",
                 "--steps", "2", "--beta2", "0.5", "--no-bounds", "--json"])
    data = json.loads(capsys.readouterr().out)
    steps = [r for r in data["records"] if r["name"] in STEP_CLAIMS]
    assert {r["verdict"] for r in steps} == {"undecided"}
    assert {r["method"] for r in steps} == {"certified"}      # arb tried, balls overlap
    assert code == 3 and data["exit_status"] == 3


def test_escalation_respects_its_limit(capsys):
    main(["verify", "--algorithm", "adam", "--problem", "gradient-sequence:g=[1,0,0]",
          "--steps", "3", "--beta2", "0.6666666666666666", "--no-bounds", "--json",
          "--escalate-limit", "2"])
    data = json.loads(capsys.readouterr().out)
    eta = next(r for r in data["records"] if r["name"] == "effective_step_nonincreasing")
    assert eta["verdict"] == "undecided" and "escalate-limit" in eta["details"]["escalation"]
