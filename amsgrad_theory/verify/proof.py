"""The proof-step checker: every link of a regret proof evaluated on a real trajectory.

A chain (:data:`amsgrad_theory.symbolic.steps.CHAINS`) is a list of named inequalities between
quantities computable from a run — the one-step projection inequality, Young's inequality,
Tran & Phong's Lemma 3.1 form, the Abel identity and bound with the true 1/(1−β1,t) weights,
the paper's replacement of 1/(1−β1,t) by 1/(1−β1), Lemma 2, the final sum (``theorem4``), and
the chain derived here for constant β1 (``constant-beta1``). :func:`check_chain` runs the
variant with a full trace, evaluates each link and reports its verdict, its two sides, and the
first link that fails. Links the literature shows invalid are marked ``valid: false``: on Tran
& Phong's Example 3.2 (:data:`EXAMPLES`) the first failing link is exactly the paper's
replacement step (1998.6 ≤ 1820.7 is false at T = 2), while every valid link holds.

:func:`search_failures` lets Hypothesis look for more runs on which a given link fails, and
shrinks the first one it finds to a minimal run (fewest steps, simplest gradients).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, find
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from ..engine import RunSpec
from ..errors import unknown_name
from ..records import Record
from ..strategies import search_settings
from ..symbolic.steps import CHAINS, trajectory_from_result
from .checks import register

#: named example runs
EXAMPLES: dict[str, tuple[RunSpec, str, str]] = {
    "tran-phong-3.2": (
        RunSpec("amsgrad", "reddi-figure1", 2, x0="1",
                hyperparameters={"alpha": "0.001", "beta1": "0.9", "beta1_decay": "0.001",
                                 "beta2": "0.999"},
                schedule="inv-sqrt", beta1_schedule="exp-decay"),
        "theorem4",
        "Tran & Phong (IEEE Access 2019), Example 3.2: Reddi et al.'s synthetic cost, x_1 = 1, "
        "β1 = 0.9, β1,t = β1·0.001^(t−1), β2 = 0.999, α_t = 0.001/√t; the paper's replacement "
        "of 1/(1−β1,t) by 1/(1−β1) fails at T = 2",
    ),
    "constant-beta1": (
        RunSpec("amsgrad", "random-linear:d=3,sparsity=0.5,seed=2", 200,
                hyperparameters={"alpha": "0.3", "beta1": "0.9", "beta2": "0.999"}),
        "constant-beta1",
        "AMSGrad with constant β1 = 0.9 on a sparse random linear stream: every step of the "
        "constant-β1 chain derived here",
    ),
}


@dataclass
class StepResult:
    name: str
    statement: str
    valid: bool
    holds: bool
    lhs: float | list
    rhs: float | list
    scope: str
    first_failing_t: int | None
    source: str
    #: pass | fail | undecided (a tie within the float band: :meth:`ProofStep.decide`)
    verdict: str = "pass"
    relation: str = "<="
    rtol: float = 1e-9

    def to_dict(self) -> dict:
        return {"name": self.name, "holds": self.holds, "verdict": self.verdict,
                "lhs": self.lhs, "rhs": self.rhs,
                "valid": self.valid, "scope": self.scope, "statement": self.statement,
                "first_failing_t": self.first_failing_t, "source": self.source}


@dataclass
class ChainResult:
    chain: str
    run: RunSpec
    steps: list[StepResult]

    @property
    def first_failure(self) -> StepResult | None:
        return next((s for s in self.steps if not s.holds), None)

    @property
    def valid_links_hold(self) -> bool:
        return all(s.holds for s in self.steps if s.valid)

    def records(self) -> list[Record]:
        out = []
        for s in self.steps:
            claim = s.statement
            details = {}
            if s.relation == "==":
                claim += f" (to within {s.rtol:g} relative on this run)"
            elif s.verdict == "undecided":
                details["reason"] = ("a tie: lhs and rhs agree to within the float band "
                                     f"({s.rtol:g} relative) at some step — an equality case "
                                     "floating point cannot decide")
            out.append(Record(
                name=f"proof:{s.name}", claim=claim, method="float", verdict=s.verdict,
                details={**details, "lhs": s.lhs, "rhs": s.rhs, "valid_in_general": s.valid,
                         "recipe": {"check": "proof_step", "run": self.run.to_dict(),
                                    "args": {"chain": self.chain, "step": s.name}}},
                witness=None if s.holds else {"cli": self.run.cli("check-proof"),
                                              "first_failing_t": s.first_failing_t},
                source=s.source))
        return out

    def to_dict(self) -> dict:
        first = self.first_failure
        return {"chain": self.chain, "run": self.run.to_dict(), "cli": self.run.cli(),
                "steps": [s.to_dict() for s in self.steps],
                "first_failure": None if first is None else first.name,
                "valid_links_hold": self.valid_links_hold,
                "holds": first is None}


def _plain(value):
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    return float(arr[0]) if np.ndim(value) == 0 else [float(v) for v in arr]


def check_chain(spec: RunSpec, chain: str = "theorem4", rtol: float = 1e-9,
                result=None) -> ChainResult:
    """Run ``spec`` with a trace and evaluate every link of ``chain`` on it."""
    if chain not in CHAINS:
        raise unknown_name("chain", chain, list(CHAINS))
    result = result if result is not None else spec.run(trace=True)
    traj = trajectory_from_result(result)
    steps = []
    for link in CHAINS[chain]:
        lhs, rhs = link.evaluate(traj)
        verdict = link.decide(traj, rtol=rtol)
        holds = verdict != "fail"
        first = None
        if not holds and link.scope == "per-step":
            lv, rv = np.atleast_1d(lhs), np.atleast_1d(rhs)
            lo = int(link.steps[0]) if str(link.steps[0]).isdigit() else 1
            bad = np.flatnonzero(lv > rv + rtol * np.maximum(np.abs(lv), np.abs(rv)) + 1e-12)
            first = int(lo + bad[0]) if bad.size else None
        elif not holds:
            first = spec.steps
        steps.append(StepResult(link.name, link.statement, link.valid, holds, _plain(lhs),
                                _plain(rhs), link.scope, first, link.source, verdict,
                                link.relation, rtol))
    return ChainResult(chain, spec, steps)


@register("proof_step")
def _proof_step_check(spec: RunSpec, chain: str, step: str, _result=None) -> Record:
    res = check_chain(spec, chain, result=_result)
    for rec in res.records():
        if rec.name == f"proof:{step}":
            return rec
    raise KeyError(f"no step {step!r} in chain {chain!r}")


# ------------------------------------------------------------------------------------------
# hypothesis search for failing links
# ------------------------------------------------------------------------------------------

def run_strategy(chain: str = "theorem4"):
    """Runs covered by ``chain``'s hypotheses: AMSGrad, α/√t, γ < 1, gradient sequences on a box.

    ``theorem4``: β1,t = β1 λ^{t−1}; ``constant-beta1``: constant β1. Gradients are small dyadic
    numbers (exact in every arithmetic); the first entry is non-zero.
    """
    grads = st.lists(st.integers(-16, 16).map(lambda k: k / 4), min_size=1, max_size=12)
    beta1 = st.sampled_from(["0.9", "0.5", "0.99"])
    beta2 = st.sampled_from(["0.999", "0.99"])
    lam = st.sampled_from(["0.001", "0.1", "0.5", "0.9"])
    alpha = st.sampled_from(["0.001", "0.01", "0.1", "1"])
    x0 = st.sampled_from(["1", "0", "-1", "0.5"])

    def build(g, b1, b2, lm, a, x):
        if not g or g[0] == 0:
            g = [1.0] + list(g)
        hp = {"alpha": a, "beta1": b1, "beta2": b2}
        if chain == "theorem4":
            hp["beta1_decay"] = lm
        return RunSpec("amsgrad", "gradient-sequence:g=" + json.dumps(g), len(g), x0=x,
                       hyperparameters=hp, schedule="inv-sqrt",
                       beta1_schedule="exp-decay" if chain == "theorem4" else "constant")

    return st.builds(build, grads, beta1, beta2, lam, alpha, x0)


def search_failures(step: str, chain: str = "theorem4", max_examples: int = 200) -> Record:
    """Let Hypothesis look for a run on which ``step`` fails; shrink it to a minimal one.

    Returns a ``sampled`` record: ``fail`` with the shrunk run as witness (the claim is that
    the step holds on every covered run), or ``pass`` when none of ``max_examples`` cases
    breaks it. The search is derandomised (the same cases every time).
    """
    target = next((s for s in CHAINS[chain] if s.name == step), None)
    if target is None:
        raise unknown_name("step", step, [s.name for s in CHAINS[chain]])
    tried = [0]

    def fails(spec: RunSpec) -> bool:
        tried[0] += 1
        traj = trajectory_from_result(spec.run(trace=True))
        return not target.holds(traj)

    claim = f"{step} holds on every run covered by the {chain} hypotheses"
    try:
        witness = find(run_strategy(chain), fails,
                       settings=search_settings(max_examples=max_examples, database=None,
                                         derandomize=True, deadline=None,
                                         suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return Record(name=f"search:{step}", claim=claim, method="sampled", verdict="pass",
                      cases=max_examples, seed=0,
                      details={"chain": chain, "valid_in_general": target.valid})
    res = check_chain(witness, chain)
    broken = next(s for s in res.steps if s.name == step)
    return Record(name=f"search:{step}", claim=claim, method="sampled", verdict="fail",
                  cases=tried[0], seed=0,
                  details={"chain": chain, "valid_in_general": target.valid,
                           "lhs": broken.lhs, "rhs": broken.rhs},
                  witness={"cli": witness.cli("check-proof"), "run": witness.to_dict()})
