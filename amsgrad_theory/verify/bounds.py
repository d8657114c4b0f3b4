"""Realized regret against every bound whose assumptions a run satisfies.

For each bound of :mod:`amsgrad_theory.symbolic.bounds`, the run's variant, schedules and
hyperparameters are checked against the bound's assumptions (γ < 1, α_t = α/√t, β1,t ≤ β1, …);
where they hold, ``regret ≤ bound`` (or Lemma 2's ``E_T ≤ …``) is checked at every checkpoint
on the run's own statistics — ``float`` on float runs, ``certified`` on arb runs (every
rounding error of the run and of the bound enclosed; overlapping balls are ``undecided``).
"""

from __future__ import annotations

from .checks import register
from ..records import Record
from .runspec import RunSpec


def applicable_bounds(result, b: int = 0) -> list:
    """The bounds whose assumptions instance ``b`` of ``result`` satisfies."""
    from ..symbolic.bound import AssumptionError
    from ..symbolic.bounds import BOUNDS

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
    from ..symbolic.bounds import BOUNDS
    from ..symbolic.checks import bound_on_run

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
