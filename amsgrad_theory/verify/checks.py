"""Named, replayable checks: a record carries the recipe that re-establishes it.

A check is a function ``check(spec, **args) -> Record`` registered under a name in
:data:`CHECKS`. :func:`run_check` computes it and stores ``{"check": name, "run": spec, "args":
args}`` in the record's details, so :func:`recheck` (and ``amsgrad-theory verify --sidecar
FILE``) can replay any record of a report, a figure's sidecar or the paper, and say whether the
same verdict comes out. A recipe names a check, never a module or a function: only what is
registered can run.

Registered here: the run invariants of :mod:`~amsgrad_theory.verify.invariants`
(``vhat_nondecreasing``, ``effective_step_nonincreasing``, ``corrected_step_nonincreasing``,
``iterates_feasible``, ``regret_sublinear``), ``arithmetics_agree`` and ``run_quantity`` (a
quantity of the run's summary compared with a threshold). The other verify modules register
theirs (bounds, proof steps, checks on runs) when :mod:`amsgrad_theory.verify` is imported; the
studies register theirs when :mod:`amsgrad_theory.reproduce` is imported.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from ..engine import RunSpec, run_summary
from ..records import Record
from . import invariants

CHECKS: dict[str, Callable[..., Record]] = {}
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
        "==": operator.eq, "abs<=": None}


def register(name: str):
    """Register ``fn(spec, **args) -> Record`` as check ``name`` (a name is registered once)."""
    def deco(fn):
        if name in CHECKS and CHECKS[name] is not fn:
            raise ValueError(f"check {name!r} is already registered")
        CHECKS[name] = fn
        return fn
    return deco


def _invariant(name):
    def check(spec: RunSpec, instance: int = 0, _result=None) -> Record:
        result = _result if _result is not None else spec.run()
        for record in invariants.check_run(result, spec, instance):
            if record.name == name:
                return record
        return Record(name=name, claim=f"{name} does not apply to {spec.algorithm}",
                      method="float", verdict="undecided", details={"reason": "not applicable"})
    return check


for _name in ("vhat_nondecreasing", "effective_step_nonincreasing",
              "corrected_step_nonincreasing", "iterates_feasible", "regret_sublinear"):
    register(_name)(_invariant(_name))


@register("arithmetics_agree")
def _agree(spec: RunSpec, arithmetics=("float64", "mpmath:50"), rtol: float = 1e-9) -> Record:
    return invariants.check_agreement(spec, tuple(arithmetics), rtol)


def summary_value(summary: dict, path: str):
    """``final_x.0``, ``statistics.momentum_energy``, ``average_regret`` … from a run summary."""
    value = summary
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


@register("run_quantity")
def _quantity(spec: RunSpec, quantity: str, op: str, value: float, claim: str | None = None,
              instance: int = 0, _result=None) -> Record:
    """``quantity`` (a path into the run's ``simulate --json`` summary) ``op`` ``value``.

    ``op`` is one of < <= > >= ==, or ``abs<=`` for |quantity| ≤ value.
    """
    if op not in _OPS:
        raise ValueError(f"op={op!r}: must be one of {', '.join(_OPS)}")
    result = _result if _result is not None else spec.run()
    got = summary_value(run_summary(result, instance), quantity)
    if got is None:
        verdict = "undecided"
    elif op == "abs<=":
        verdict = "pass" if abs(got) <= value else "fail"
    else:
        verdict = "pass" if _OPS[op](got, value) else "fail"
    return Record(name="run_quantity",
                  claim=claim or f"{quantity} {op} {value} ({spec.algorithm} on {spec.problem}, "
                                  f"{spec.steps} steps)",
                  method="float", verdict=verdict,
                  details={"quantity": quantity, "op": op, "threshold": value, "value": got},
                  witness=None if verdict != "fail" else {"cli": spec.cli()})


def run_check(name: str, spec: RunSpec, _result=None, **args) -> Record:
    """Compute check ``name`` on ``spec`` (reusing ``_result`` if given) and attach its recipe."""
    if name not in CHECKS:
        raise KeyError(f"unknown check {name!r}; known: {', '.join(sorted(CHECKS))}")
    fn = CHECKS[name]
    record = fn(spec, _result=_result, **args) if _result is not None and \
        "_result" in fn.__code__.co_varnames else fn(spec, **args)
    record.details["recipe"] = {"check": name, "run": spec.to_dict(), "args": args}
    return record


def recheck(record: Record) -> Record:
    """Replay a record's recipe; the result says whether the same verdict came out."""
    recipe = (record.details or {}).get("recipe")
    if not recipe:
        return Record(name=f"recheck:{record.name}", claim=f"re-establish: {record.claim}",
                      method=record.method, verdict="undecided",
                      details={"reason": "the record carries no recipe"})
    spec = RunSpec.from_dict(recipe["run"])
    again = run_check(recipe["check"], spec, **recipe.get("args", {}))
    same = again.verdict == record.verdict
    return Record(
        name=f"recheck:{record.name}", claim=f"re-establish: {record.claim}",
        method=again.method, verdict="pass" if same else "fail", cases=again.cases,
        seed=again.seed,
        details={"recorded_verdict": record.verdict, "recomputed_verdict": again.verdict,
                 "recomputed": again.details, "recipe": recipe},
        witness=None if same else {"cli": spec.cli()},
    )
