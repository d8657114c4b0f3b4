"""Bounds on runs: realized regret (or Lemma 2's energy) against the derived and printed bounds.

* :func:`bound_on_run` — lhs ≤ rhs at every checkpoint of a simulated run (``certified`` in arb
  runs; in float runs ``float``, with a margin the rounding cannot reach, else ``undecided``),
  with the largest ratio lhs/rhs;
* :func:`applicable_bounds`, :func:`bound_records` — every bound of
  :mod:`amsgrad_theory.symbolic.bounds` whose assumptions a run satisfies (γ < 1, α_t = α/√t,
  β1,t ≤ β1, …), checked on the run's own statistics (the ``bound`` check);
* the bound study: :func:`random_runs` simulates batches of random online convex problems
  (random-linear and random-quadratic families, several dimensions and horizons) with random
  hyperparameters that satisfy the theorems' assumptions; :func:`check_bounds` evaluates bounds
  on every instance; :data:`REGRESSION_RUNS` are runs on which a printed bound fails: kept,
  replayable, as results.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..algorithms import get_variant
from ..engine import RunSpec, simulate
from ..problems import get_problem
from ..records import Record
from ..symbolic.bound import AssumptionError, Bound
from ..symbolic.bounds import BOUNDS
from .checks import register


def bound_on_run(bound: Bound, result, b: int = 0, rtol: float = 1e-9) -> Record:
    """lhs ≤ rhs at every checkpoint of instance ``b`` (regret, or E_T for Lemma 2).

    float runs: method ``float``; a checkpoint is decided only where |lhs − rhs| exceeds the
    band rtol·|rhs| + 16·t·u·S_t, S_t = |lhs| + t·d·D∞·G∞ (a first-order bound on the rounding
    of t summed losses of magnitude ≤ d·D∞·G∞ each, and of the bound's own evaluation), and is
    ``undecided`` inside it — a tie the run cannot decide is never a pass. A checkpoint before
    the first non-zero gradient holds exactly (each x_s then minimises the convex f_s, so
    R_t ≤ 0, and E_t = 0, while every bound is ≥ 0). arb runs:
    ``certified`` (a checkpoint whose balls overlap is ``undecided``). Details: the largest
    ratio lhs/rhs and where; a failing run's spec and hyperparameters are the witness
    (replayable).
    """
    rhs = bound.evaluate_run(result, b)
    lhs = bound.lhs_run(result, b)
    ts = list(result.instances[b].checkpoints["t"])
    arb_run = result.arithmetic.spec.startswith("arb")
    inst = result.instances[b]
    u = float(result.arithmetic.xp.unit_roundoff)
    size = result.problem.d * _magnitude(inst.D_inf) * _magnitude(inst.G_inf)
    gradient_norms = inst.checkpoints["sum_grad_norm"]
    ratios, verdicts = [], []
    for k, (left, right) in enumerate(zip(lhs, rhs)):
        if left is None:
            continue
        if not gradient_norms[k] > 0:      # no non-zero gradient yet: holds exactly
            verdicts.append("pass")
            continue
        if arb_run:
            holds = left <= right
            fails = left > right
            verdicts.append("pass" if holds else "fail" if fails else "undecided")
            lf = float(left.mid().str(20, radius=False))
            rf = float(right.mid().str(20, radius=False))
        else:
            lf, rf = float(left), float(right)
            band = rtol * abs(rf) + 16 * ts[k] * u * (abs(lf) + ts[k] * size)
            verdicts.append("pass" if lf <= rf - band else "fail" if lf > rf + band
                            else "undecided")
        if rf > 0:
            ratios.append((lf / rf, ts[k]))
        elif lf > 0:   # a zero bound (no gradient yet) with positive regret
            ratios.append((math.inf, ts[k]))
    verdict = "fail" if "fail" in verdicts else "undecided" if "undecided" in verdicts else "pass"
    worst = max(ratios) if ratios else (float("nan"), None)
    witness = None
    if verdict == "fail":
        witness = {"algorithm": result.variant.name, "problem": result.problem.spec,
                   "beta1_schedule": result.variant.beta1_schedule,
                   "alpha_schedule": result.variant.alpha_schedule, "steps": result.steps,
                   "hyperparameters": dict(inst.hyperparameters), "instance": b,
                   "first_failing_t": next(ts[k] for k, v in enumerate(verdicts) if v == "fail")}
    return Record(claim=f"{bound.lhs} ≤ {bound.name} at every checkpoint of the run",
                  method="certified" if arb_run else "float", verdict=verdict,
                  name=f"run:{bound.name}",
                  details={"max_ratio": worst[0], "at_t": worst[1], "checkpoints": len(verdicts),
                           "problem": result.problem.spec, "status": bound.status},
                  witness=witness, source=bound.source)


def _magnitude(value) -> float:
    """A D∞ or G∞ as a float (∞ where unknown: the band is then infinite, never a false
    verdict)."""
    if value is None:
        return math.inf
    return abs(float(value))


def applicable_bounds(result, b: int = 0) -> list:
    """The bounds whose assumptions instance ``b`` of ``result`` satisfies."""
    inst = result.instances[b]
    if inst.regret is None or inst.D_inf is None:
        return []
    out = []
    for bound in BOUNDS.values():
        try:
            bound.check_run(result.variant, inst.hyperparameters)
            bound.evaluate_run(result, b)        # checks the value assumptions (γ < 1, …)
        except AssumptionError:
            continue
        except (ValueError, ZeroDivisionError):
            continue
        out.append(bound)
    return out


def bound_records(result, spec: RunSpec | None = None, b: int = 0,
                  names: list[str] | None = None) -> list[Record]:
    """One record per applicable bound (or per name in ``names``)."""
    bounds = [BOUNDS[n] for n in names] if names else applicable_bounds(result, b)
    records = []
    for bound in bounds:
        record = bound_on_run(bound, result, b)
        record.details["bound_status"] = bound.status
        if spec is not None:
            record.details["recipe"] = {"check": "bound", "run": spec.to_dict(),
                                        "args": {"bound": bound.name}}
            if record.verdict == "fail":
                record.witness = dict(record.witness or {}, cli=spec.cli("verify"))
        records.append(record)
    return records


@register("bound")
def _bound_check(spec: RunSpec, bound: str, instance: int = 0, _result=None) -> Record:
    result = _result if _result is not None else spec.run()
    return bound_records(result, spec, instance, names=[bound])[0]


# ----------------------------------------------------------------------------------------
# the bound study: many random runs
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RandomBatch:
    """A batch of instances of one problem family (shared d, T, β1,t schedule)."""

    family: str
    d: int
    steps: int
    schedule: str
    seeds: tuple[int, ...]
    hyperparameters: tuple[dict, ...]
    sparsity: str = "1"
    algorithm: str = "amsgrad"

    def simulate(self):
        spec = f"{self.family}:d={self.d},sparsity={self.sparsity}"
        problem = get_problem(spec, instances=[{"seed": str(s)} for s in self.seeds])
        variant = get_variant(self.algorithm, beta1_schedule=self.schedule,
                              alpha_schedule="inv-sqrt")
        return simulate(variant, problem, steps=self.steps,
                        hyperparameters=[dict(h) for h in self.hyperparameters])


def random_hyperparameters(rng: np.random.Generator, schedule: str) -> dict:
    """α ∈ [0.01, 2], β1 ∈ [0, 0.95], β2 ∈ (β1², 0.999] (so γ < 1), λ ∈ [0.5, 0.999]."""
    alpha = float(np.round(10 ** rng.uniform(-2, np.log10(2)), 4))
    beta1 = float(np.round(rng.uniform(0, 0.95), 3))
    low = beta1 ** 2 + 0.01
    beta2 = float(np.round(rng.uniform(min(low, 0.99), 0.999), 4))
    while beta1 ** 2 >= beta2:
        beta2 = float(np.round(min(0.9999, beta2 + 0.01), 4))
    hp = {"alpha": repr(max(alpha, 0.0001)), "beta1": repr(beta1), "beta2": repr(beta2)}
    if schedule == "exp-decay":
        hp["beta1_decay"] = repr(float(np.round(rng.uniform(0.5, 0.999), 3)))
    return hp


def random_runs(batches: int, per_batch: int, horizons: Sequence[int], schedule: str,
                seed: int = 0, families: Sequence[str] = ("random-linear", "random-quadratic"),
                dims: Sequence[int] = (1, 3, 5), algorithm: str = "amsgrad") -> list[RandomBatch]:
    """``batches`` batches of ``per_batch`` random instances each (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    specs = []
    for k in range(batches):
        family = families[k % len(families)]
        d = int(dims[k % len(dims)])
        steps = int(horizons[k % len(horizons)])
        sparsity = ("1", "0.5", "0.2")[k % 3]
        seeds = tuple(int(s) for s in rng.integers(0, 2 ** 31, size=per_batch))
        hps = tuple(random_hyperparameters(rng, schedule) for _ in range(per_batch))
        specs.append(RandomBatch(family, d, steps, schedule, seeds, hps, sparsity, algorithm))
    return specs


def check_bounds(results: Iterable, names: Sequence[str]) -> list[Record]:
    """One record per (bound, instance): lhs ≤ rhs at every checkpoint, with the largest ratio."""
    out = []
    for result in results:
        for b in range(len(result.instances)):
            for name in names:
                out.append(bound_on_run(BOUNDS[name], result, b))
    return out


def summarize(records: Iterable[Record]) -> dict[str, dict]:
    """Per bound: runs, failures, the largest ratio lhs/rhs and the run where it was seen."""
    out: dict[str, dict] = {}
    for r in records:
        assert r.name is not None       # the records of bound_records: named bound:NAME
        name = r.name.split(":", 1)[1]
        entry = out.setdefault(name, {"runs": 0, "failures": 0, "max_ratio": -np.inf,
                                      "worst": None, "first_failure": None})
        entry["runs"] += 1
        ratio = r.details.get("max_ratio")
        if ratio is not None and ratio > entry["max_ratio"]:
            entry["max_ratio"] = ratio
            entry["worst"] = r.details.get("problem")
        if r.verdict == "fail":
            entry["failures"] += 1
            if entry["first_failure"] is None:
                entry["first_failure"] = r.witness
    return out


#: runs on which a printed statement fails (each is replayed by the tests)
REGRESSION_RUNS: dict[str, dict] = {
    # Theorem 4 (a) and Corollary 1 (a) lack α in the first term: with β1 = 0 (B_T = 0,
    # allowed since β1,t ≤ β1 = 0) and a small α, AMSGrad barely moves from x_1 = 0 and its
    # regret grows linearly while D∞²√T V_T/(1−β1) grows like √T.
    "theorem4-openreview": {
        "algorithm": "amsgrad", "beta1_schedule": "constant", "problem": "random-linear:d=1,seed=3",
        "steps": 400, "hyperparameters": {"alpha": "0.001", "beta1": "0", "beta2": "0.9"}},
    "corollary1-openreview": {
        "algorithm": "amsgrad", "beta1_schedule": "exp-decay",
        "problem": "random-linear:d=1,seed=3", "steps": 400,
        "hyperparameters": {"alpha": "0.001", "beta1": "0", "beta2": "0.9",
                            "beta1_decay": "0.5"}},
    # AdamNC Theorem 5 (a) and Corollary 2 (a) lack α as well (ζ = α here)
    "adamnc-5-openreview": {
        "algorithm": "adamnc", "beta1_schedule": "exp-decay",
        "problem": "random-linear:d=1,seed=3", "steps": 400,
        "hyperparameters": {"alpha": "0.001", "beta1": "0", "beta1_decay": "0.5"}},
    "adamnc-corollary2-openreview": {
        "algorithm": "adamnc", "beta1_schedule": "exp-decay",
        "problem": "random-linear:d=1,seed=3", "steps": 400,
        "hyperparameters": {"alpha": "0.001", "beta1": "0", "beta1_decay": "0.5"}},
    # Kingma & Ba's Theorem 4.1 on Reddi et al.'s Theorem 1 sequence (bias-corrected Adam,
    # β1 = 0, β2 = 1/(1+C²)): Adam returns to x = +1 every block, R_T ≈ (2C−4)T/3
    "kingma-ba-4.1": {
        "algorithm": "adam-kingma-ba", "beta1_schedule": "exp-decay", "problem": "reddi-online:C=3",
        "steps": 3000, "x0": "1",
        "hyperparameters": {"alpha": "0.5", "beta1": "0", "beta2": "0.1", "eps": "0",
                            "beta1_decay": "0.5"}},
}


def replay(case: dict):
    """Simulate a regression case (a dict as in :data:`REGRESSION_RUNS` or a record witness)."""
    variant = get_variant(case["algorithm"], beta1_schedule=case.get("beta1_schedule"),
                          alpha_schedule=case.get("alpha_schedule", "inv-sqrt"))
    return simulate(variant, case["problem"], steps=case["steps"],
                    hyperparameters=case["hyperparameters"], x0=case.get("x0"))


_T4 = ["theorem4-openreview", "theorem4-iclr", "theorem4-arxiv", "theorem4-derived"]
#: (algorithm, β1,t schedule) → the bounds checked on such runs
STUDY_PLAN: dict[tuple[str, str], list[str]] = {
    ("amsgrad", "exp-decay"): _T4 + ["corollary1-openreview", "corollary1-arxiv",
                                     "corollary1-corrected-arxiv", "corollary1-corrected-derived",
                                     "tran-phong-4.1", "lemma2", "lemma2-no-log"],
    ("amsgrad", "constant"): _T4 + ["constant-beta1", "constant-beta1-energy",
                                    "constant-beta1-no-log", "lemma2", "lemma2-constant-beta1"],
    ("amsgrad", "inv-t"): _T4 + ["beta1-inv-t", "tran-phong-4.1-inv-t", "lemma2"],
    ("adamx", "exp-decay"): ["adamx-5.1", "adamx-5.1-printed", "lemma2"],
}


def bound_study(batches: int = 12, per_batch: int = 20,
              horizons: Sequence[int] = (50, 200, 1000)) -> dict[str, dict]:
    """The study of the report: every plan entry on ``batches × per_batch`` random runs."""
    out = {}
    for k, ((algorithm, schedule), names) in enumerate(STUDY_PLAN.items()):
        specs = random_runs(batches, per_batch, horizons, schedule, seed=100 + k,
                            algorithm=algorithm)
        out[f"{algorithm}/{schedule}"] = summarize(
            check_bounds((s.simulate() for s in specs), names))
    return out
