"""Bounds against simulated runs: many random AMSGrad runs, each bound on its own statistics.

:func:`random_runs` simulates batches of random online convex problems (random-linear and
random-quadratic families, several dimensions and horizons) with random hyperparameters that
satisfy the theorems' assumptions (γ = β1/√β2 < 1, α_t = α/√t, β1,t = β1λ^{t−1} or constant);
:func:`check_bounds` evaluates bounds on every instance and returns one
:class:`~amsgrad_theory.records.Record` per (bound, instance), whose details hold the
largest ratio lhs/rhs over the run's checkpoints (see
:func:`~amsgrad_theory.symbolic.checks.bound_on_run`).

:data:`REGRESSION_RUNS` are runs on which a printed bound fails: kept, replayable, as results.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..records import Record
from .bounds import BOUNDS
from .checks import bound_on_run


@dataclass(frozen=True)
class RunSpec:
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
        from .. import simulate
        from ..algorithms import get_variant
        from ..problems import get_problem

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
                dims: Sequence[int] = (1, 3, 5), algorithm: str = "amsgrad") -> list[RunSpec]:
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
        specs.append(RunSpec(family, d, steps, schedule, seeds, hps, sparsity, algorithm))
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
    from .. import simulate
    from ..algorithms import get_variant

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


def run_study(batches: int = 12, per_batch: int = 20,
              horizons: Sequence[int] = (50, 200, 1000)) -> dict[str, dict]:
    """The study of the report: every plan entry on ``batches × per_batch`` random runs."""
    out = {}
    for k, ((algorithm, schedule), names) in enumerate(STUDY_PLAN.items()):
        specs = random_runs(batches, per_batch, horizons, schedule, seed=100 + k,
                            algorithm=algorithm)
        out[f"{algorithm}/{schedule}"] = summarize(
            check_bounds((s.simulate() for s in specs), names))
    return out


if __name__ == "__main__":  # pragma: no cover - the report's study
    import json
    import sys
    import warnings

    warnings.simplefilter("ignore", RuntimeWarning)
    sizes = [int(a) for a in sys.argv[1:3]] or [12, 20]
    print(json.dumps(run_study(*sizes), indent=1, default=str))
