"""Proof-step checker, bound checks on runs, certified (ball-arithmetic) checks, verify CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from amsgrad_theory.cli import main
from amsgrad_theory.engine import RunSpec
from amsgrad_theory.records import Report, validate_report
from amsgrad_theory.verify.bounds_on_runs import bound_records
from amsgrad_theory.verify.checks import recheck
from amsgrad_theory.verify.invariants import check_run
from amsgrad_theory.verify.proof import EXAMPLES, check_chain, search_failures


def test_tran_phong_example_flags_exactly_the_replacement_step():
    spec, chain, _ = EXAMPLES["tran-phong-3.2"]
    res = check_chain(spec, chain)
    assert res.first_failure.name == "theorem4.paper-replacement"
    step = {s.name: s for s in res.steps}["theorem4.paper-replacement"]
    # Tran & Phong report 1998.6 (true weights) against 1820.7 (the paper's weights)
    assert step.lhs == pytest.approx(1998.6, abs=0.05)
    assert step.rhs == pytest.approx(1820.7, abs=0.05)
    assert res.valid_links_hold                      # the corrected chain holds
    assert all(s.holds for s in res.steps if s.valid)


def test_search_shrinks_a_failure_of_the_replacement_step():
    rec = search_failures("theorem4.paper-replacement", max_examples=100)
    assert rec.verdict == "fail" and rec.method == "sampled"
    run = rec.witness["run"]
    assert run["steps"] <= 3
    replay = check_chain(RunSpec.from_dict(run), "theorem4")
    assert not {s.name: s for s in replay.steps}["theorem4.paper-replacement"].holds
    assert replay.valid_links_hold


def test_constant_beta1_chain_holds_and_search_finds_nothing():
    spec, chain, _ = EXAMPLES["constant-beta1"]
    res = check_chain(spec, chain)
    assert res.first_failure is None
    for step in ("constant-beta1.final", "constant-beta1.projection",
                 "constant-beta1.momentum-energy"):
        assert search_failures(step, "constant-beta1", max_examples=40).verdict == "pass"


def test_check_proof_cli_json_and_exit_status(capsys):
    code = main(["check-proof", "--example", "tran-phong-3.2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["first_failure"] == "theorem4.paper-replacement"
    for step in out["steps"]:
        assert {"name", "holds", "lhs", "rhs"} <= set(step)
    capsys.readouterr()
    # the constant-β1 example: no step fails, but linear losses make convexity an equality
    # and some projections are exact: those are ties a float run cannot decide (exit 3)
    code = main(["check-proof", "--example", "constant-beta1", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["first_failure"] is None
    verdicts = {s["name"]: s["verdict"] for s in out["steps"]}
    assert verdicts["convexity"] == "undecided"
    assert verdicts["constant-beta1.final"] == "pass"
    assert "fail" not in verdicts.values()
    for step in out["steps"]:
        if step["verdict"] == "undecided":     # a tie: the two sides agree somewhere
            lhs, rhs = (np.atleast_1d(step[k]) for k in ("lhs", "rhs"))
            assert np.any(np.abs(lhs - rhs) <= 1e-9 * np.maximum(abs(lhs), abs(rhs)) + 1e-12)
    assert main(["check-proof", "--example", "nope"]) == 2
    capsys.readouterr()


def test_bounds_hold_on_amsgrad_with_decaying_beta1():
    spec = RunSpec("amsgrad", "random-quadratic:d=3,seed=5", 2000, beta1_schedule="exp-decay",
                   hyperparameters={"alpha": "0.2", "beta1": "0.9", "beta2": "0.999",
                                    "beta1_decay": "0.99"})
    records = {r.name: r for r in bound_records(spec.run(), spec)}
    for name in ("run:theorem4-derived", "run:corollary1-corrected-derived", "run:lemma2",
                 "run:tran-phong-4.1"):
        assert records[name].verdict == "pass", name
        assert records[name].details["max_ratio"] < 1


def test_certified_run_of_ten_thousand_steps_decides():
    spec = RunSpec("amsgrad", "reddi-online:C=3", 10_000, arithmetic="arb:128", x0="1",
                   hyperparameters={"alpha": "0.5", "beta1": "0", "beta2": "0.1"})
    result = spec.run()
    recs = {r.name: r for r in check_run(result, spec)}
    # AMSGrad's η cannot rise (running max, α/√t): structural; the certified run agrees
    eta = recs["effective_step_nonincreasing"]
    assert eta.method == "structural" and eta.verdict == "pass"
    assert eta.details["run_method"] == "certified" and eta.details["rises_in_the_run"] == 0
    bounds = {r.name: r for r in bound_records(result, spec)}
    assert bounds["run:theorem4-derived"].verdict == "pass"
    assert bounds["run:theorem4-derived"].method == "certified"
    # β1 = 0 makes Lemma 2 exact at t = 1 (ratio 1): the balls overlap, never "pass"
    assert bounds["run:lemma2"].verdict == "undecided"


def test_deliberately_tight_case_is_undecided():
    # constant gradients: PyTorch's η̂ = lr/(|g| + ε) is mathematically constant
    spec = RunSpec("amsgrad-pytorch", "gradient-sequence:g=[1],tail=1,set=none", 50,
                   arithmetic="arb:64")
    recs = {r.name: r for r in check_run(spec.run(), spec)}
    assert recs["corrected_step_nonincreasing"].verdict == "undecided"
    # the same run in floats: every comparison is a tie within the rounding bound, so the
    # float verdict is undecided too (it once said "pass")
    float_recs = {r.name: r for r in check_run(spec.with_(arithmetic="float64").run(), spec)}
    assert float_recs["corrected_step_nonincreasing"].method == "float"
    assert float_recs["corrected_step_nonincreasing"].verdict == "undecided"


def test_verify_json_validates_and_rechecks(tmp_path, capsys):
    code = main(["verify", "-a", "amsgrad", "-p", "reddi-figure1", "--steps", "3000",
                 "--alpha", "0.5", "--json"])
    data = json.loads(capsys.readouterr().out)
    validate_report(data)
    assert code == 0 and data["verdict"] == "pass"
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    assert main(["verify", "--sidecar", str(path), "--quiet"]) == 0
    capsys.readouterr()
    report = Report.from_dict(data)
    assert all(recheck(r).verdict == "pass" for r in report.records[:3])


def test_verify_finds_the_pytorch_increase(capsys):
    code = main(["verify", "-a", "amsgrad-pytorch", "-p", "gradient-sequence:g=[1,0],set=none",
                 "--steps", "2", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    failing = [r for r in data["records"] if r["verdict"] == "fail"]
    assert failing[0]["name"] == "corrected_step_nonincreasing"
    assert "--steps 2" in failing[0]["witness"]["cli"]


def test_report_schema_rejects_bad_records():
    with pytest.raises(ValueError):
        validate_report({"schema_version": 1, "title": "x", "records": [
            {"claim": "c", "method": "guess", "verdict": "pass"}], "verdict": "pass",
            "versions": {}, "created": ""})
    with pytest.raises(ValueError):
        validate_report({"schema_version": 1, "title": "x", "records": [
            {"claim": "c", "method": "sampled", "verdict": "pass"}], "verdict": "pass",
            "versions": {}, "created": ""})


def test_pinned_minimal_failure_of_the_replacement_step():
    """The shrunk counterexample found by the search, kept as a regression case: three steps
    of AMSGrad with β1,t = 0.9·0.001^(t−1) from x_1 = 1 on g = (1, 0, −1/4)."""
    spec = RunSpec("amsgrad", "gradient-sequence:g=[1.0, 0.0, -0.25]", 3, x0="1",
                   hyperparameters={"alpha": "0.001", "beta1": "0.9", "beta2": "0.999",
                                    "beta1_decay": "0.001"},
                   schedule="inv-sqrt", beta1_schedule="exp-decay")
    res = check_chain(spec, "theorem4")
    assert res.first_failure.name == "theorem4.paper-replacement"
    assert res.valid_links_hold
