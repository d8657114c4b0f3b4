"""Named, replayable checks: a record carries the recipe that re-establishes it.

A check is a function ``check(spec, **args) -> Record`` registered under a name in
:data:`CHECKS`. :func:`run_check` computes it and stores ``{"check": name, "run": spec, "args":
args}`` in the record's details, so :func:`recheck` (and ``amsgrad-theory verify --sidecar
FILE``, through :func:`recheck_report`) can replay any record of a report, a figure's sidecar
or the paper and say, field by field, whether the same record comes out: verdict, claim and
every quantity, within the tolerance the report's seal states (see
:mod:`amsgrad_theory.records` for what a seal guarantees). A recipe names a check, never a
module or a function: only what is registered can run — a recipe's other keys are data, and a
name the registry does not know fails the record.

Registered here: the run invariants of :mod:`~amsgrad_theory.verify.invariants`
(``vhat_nondecreasing``, ``effective_step_nonincreasing``, ``corrected_step_nonincreasing``,
``iterates_feasible``, ``regret_sublinear``), ``arithmetics_agree`` and ``run_quantity`` (a
quantity of the run's summary compared with a threshold). The other verify modules register
theirs (bounds, proof steps, checks on runs) when :mod:`amsgrad_theory.verify` is imported; the
studies register theirs when :mod:`amsgrad_theory.reproduce` is imported.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from pathlib import Path

from .._version import __version__
from ..engine import RunSpec, run_summary
from ..records import (
    ABSENT,
    Record,
    Report,
    binding_differences,
    compare_record,
    difference,
    file_differences,
    header_differences,
    match_records,
)
from . import invariants

CHECKS: dict[str, Callable[..., Record]] = {}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "abs<=": lambda a, b: abs(a) <= b}


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
    else:
        verdict = "pass" if _OPS[op](got, value) else "fail"
    return Record(name="run_quantity",
                  claim=claim or f"{quantity} {op} {value} ({spec.algorithm} on {spec.problem}, "
                                  f"{spec.steps} steps)",
                  method="float", verdict=verdict,
                  details={"quantity": quantity, "op": op, "threshold": value, "value": got},
                  witness=None if verdict != "fail" else {"cli": spec.cli()})


def _accepts(fn: Callable, name: str) -> bool:
    return name in inspect.signature(fn).parameters


def run_check(name: str, spec: RunSpec, _result=None, *, claim: str | None = None,
              source: str | None = None, **args) -> Record:
    """Compute check ``name`` on ``spec`` (reusing ``_result`` if given) and attach its recipe.

    ``claim`` and ``source`` word the record: a check that takes such an argument gets it
    among its ``args``; for any other the recipe keeps it (``recipe["claim"]``,
    ``recipe["source"]``) and it replaces the check's own. Either way the recipe regenerates
    the record's words, so a replay says when a sidecar's claim was re-worded.
    """
    if name not in CHECKS:
        raise KeyError(f"unknown check {name!r}; known: {', '.join(sorted(CHECKS))} (the "
                       "studies' checks register when amsgrad_theory.reproduce is imported)")
    fn = CHECKS[name]
    words = {key: text for key, text in (("claim", claim), ("source", source))
             if text is not None}
    for key in [k for k in words if _accepts(fn, k)]:
        args = {**args, key: words.pop(key)}
    record = fn(spec, _result=_result, **args) if _result is not None and \
        _accepts(fn, "_result") else fn(spec, **args)
    record.details["recipe"] = {"check": name, "run": spec.to_dict(), "args": args, **words}
    for key, text in words.items():
        setattr(record, key, text)
    return record


def recheck(record: Record, entry: dict | None = None, *, tolerances: dict | None = None,
            ulps: int | None = None) -> Record:
    """Replay a record's recipe and compare every recomputed quantity with the recorded one.

    Passes when the verdict and every quantity of the record (:func:`~amsgrad_theory.records
    .quantities`: claim, method, verdict, witness, details …) come out again within their
    tolerance (``tolerances``, a seal's, else :data:`~amsgrad_theory.records.TOLERANCES`:
    exact, floats bit for bit; ``ulps`` widens the float ones) and, given the record's seal
    ``entry``, its claim, recipe and annotations are the ones sealed. Details:
    ``recorded_verdict``, ``recomputed_verdict``, ``recomputed`` (the details), ``recipe`` and
    ``differences`` (each field that differs: ``field``, ``recorded``, ``recomputed``,
    ``tolerance``). A record without a recipe is undecided; a recipe that no longer runs (an
    unknown check, a bad argument) fails naming the recipe.
    """
    recipe = (record.details or {}).get("recipe")
    name, claim = f"recheck:{record.name}", f"re-establish: {record.claim}"
    recorded = record.to_dict()
    differences = binding_differences(recorded, entry) if entry else []
    if not recipe:
        return Record(name=name, claim=claim, method=record.method,
                      verdict="fail" if differences else "undecided",
                      cases=record.cases, seed=record.seed,
                      details={"reason": "the record carries no recipe",
                               "differences": differences})
    try:
        spec = RunSpec.from_dict(recipe["run"])
        args = dict(recipe.get("args", {}))
        again = run_check(recipe["check"], spec,
                          claim=args.pop("claim", recipe.get("claim")),
                          source=args.pop("source", recipe.get("source")), **args)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        differences.append(difference("details.recipe", "a recipe that runs",
                                      f"{type(exc).__name__}: "
                                      f"{exc.args[0] if exc.args else exc}", "runs"))
        return Record(name=name, claim=claim, method=record.method, verdict="fail",
                      cases=record.cases, seed=record.seed,
                      details={"recorded_verdict": record.verdict, "recomputed_verdict": None,
                               "recipe": recipe, "differences": differences})
    differences = compare_record(recorded, again.to_dict(), entry, tolerances,
                                 ulps) + differences
    same = not differences
    return Record(
        name=name, claim=claim, method=again.method, verdict="pass" if same else "fail",
        cases=again.cases, seed=again.seed,
        details={"recorded_verdict": record.verdict, "recomputed_verdict": again.verdict,
                 "recomputed": again.details, "recipe": recipe, "differences": differences},
        witness=None if same else {"cli": spec.cli()},
    )


def recheck_report(data: dict, folder: str | Path = ".", *, ulps: int | None = None,
                   progress: Callable[[], None] | None = None) -> Report:
    """Re-check a report's JSON (a sidecar, ``verify --json`` output) against its seal.

    One ``recheck:NAME`` record per record of ``data`` (:func:`recheck`, given its seal entry),
    then, for a sealed report, three ``digest`` records: ``seal:records`` (every sealed record
    present and no other: a deleted record is named), ``seal:files`` (every file the report
    vouches for, in ``folder``, has its sealed SHA-256) and ``seal:header`` (title, command,
    parameters, … and the seal itself as sealed). A report without a seal gets one ``seal``
    record instead, ``undecided``: its verdicts and values can be re-established, but not its
    files, its claims' binding to their recipes or its list of records. ``progress`` is
    called once per record.
    """
    original = Report.from_dict(data)
    seal = data.get("seal")
    out = Report(title=f"re-check of {original.title}",
                 parameters={"sealed": bool(seal), "sealed_by": (seal or {}).get(
                     "package_version"), "package_version": __version__})
    entries = (seal or {}).get("records", [])
    tolerances = (seal or {}).get("tolerances")
    pairs, missing = match_records(data["records"], entries) if seal else \
        ([(i, None) for i in range(len(original.records))], [])
    unexpected = []
    for (i, j), record in zip(pairs, original.records):
        if seal and j is None:
            unexpected.append(difference(f"records.{i}", f"{record.name}: {record.claim}",
                                         "not in the seal", "sealed"))
        out.add(recheck(record, entries[j] if j is not None else None, tolerances=tolerances,
                        ulps=ulps))
        if progress is not None:
            progress()
    if not seal:
        out.add(Record(name="seal", claim="the report carries a seal (its values, claims, "
                                          "files and list of records vouched for)",
                       method="digest", verdict="undecided",
                       details={"reason": "no seal: written before seals, or by hand; only its "
                                          "recipes were replayed (reproduce the study again to "
                                          "seal it)"}))
        return out
    gone = [difference(f"records.{j}", f"{entries[j].get('name')}: {entries[j].get('claim')}",
                       ABSENT, "sealed") for j in missing]
    files = sorted(seal.get("files") or {})
    for name, claim, differences in (
            ("seal:records", f"the {len(entries)} sealed records are all present, and no other",
             gone + unexpected),
            ("seal:files", f"the {len(files)} files the report vouches for have their sealed "
                           f"SHA-256" + (f" ({', '.join(files)})" if files else ""),
             file_differences(seal, folder)),
            ("seal:header", "the title, command, parameters and seal are as sealed",
             header_differences(data))):
        out.add(Record(name=name, claim=claim, method="digest",
                       verdict="fail" if differences else "pass",
                       details={"differences": differences}))
    return out
