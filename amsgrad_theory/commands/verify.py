"""Check a run's invariants and bounds, or re-check the claims recorded in a figure's sidecar.

With the flags of ``simulate``: runs it and checks every invariant that applies (v̂ never
decreases, η and η̂ never increase, iterates feasible, regret sublinear) and every bound whose
assumptions the run satisfies (``--json`` prints the report sealed, so it can be re-checked).
With ``--sidecar FILE``: recomputes every record of that report (figures' ``*.json``
sidecars, ``verify --json`` output) and compares every quantity with the recorded one under
the tolerance its seal states (floats bit for bit unless ``--ulps N``), each claim and recipe
with the sealed ones, the files the report vouches for (PNG, PDF, CSV beside it) with their
SHA-256, and the records with the sealed list; every field that differs is named, recorded
vs recomputed, in the text and in the JSON (``differences``). See
:mod:`amsgrad_theory.records` for what a seal guarantees, and what it cannot.

A float run decides an invariant only where the margin of every comparison exceeds a bound on
its rounding error; a tie within it leaves the record undecided, and ``verify`` then reruns the
run in ball arithmetic (arb at 128, then 256 bits) and reports the certified verdict in its
place (``--no-escalate`` keeps the float verdict; runs of more than ``--escalate-limit``
lane-steps are not rerun, and the record says so). Exact ties stay undecided in every
arithmetic.

Exit status: 0 every check passed (with --sidecar: every record recomputed as recorded and
the seal intact); 1 a check failed (a finding, not an error; with --sidecar: any field
differs); 2 bad input; 3 nothing failed but a check is undecided (a tie within the rounding
bound, overlapping balls, too few checkpoints; with --sidecar: the sidecar carries no seal).
The JSON report carries it as ``exit_status``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from .. import reproduce  # noqa: F401  (registers the studies' checks: sidecars name them)
from ..errors import InputError
from ..problems import get_problem
from ..records import (
    ABSENT,
    Record,
    Report,
    command_line,
    file_sha256,
    seal_report,
    validate_report,
)
from ..verify.bounds_on_runs import bound_records
from ..verify.checks import recheck_report, run_check
from ..verify.invariants import check_run
from .runflags import add_run_arguments, count, run_spec, spec_from_args, tolerance

#: the precisions --certify takes, in bits: from below a float64 mantissa's to where one step
#: costs seconds
CERTIFY_BITS = (16, 1_000_000)


def add_arguments(p) -> None:
    add_run_arguments(p, required=False)
    p.add_argument("--sidecar", metavar="FILE", help="re-check the records of this report")
    p.add_argument("--agreement", metavar="A,B,...", default=None,
                   help="also run in these arithmetics and check agreement (e.g. "
                        "float64,mpmath:50 or float64,arb:128)")
    p.add_argument("--rtol", type=tolerance, default=1e-9, metavar="R",
                   help="relative tolerance of --agreement (a finite number ≥ 0; default 1e-9)")
    p.add_argument("--certify", type=count, default=None, metavar="BITS",
                   help=f"also run in arb:BITS ball arithmetic ({CERTIFY_BITS[0]} ≤ BITS ≤ "
                        f"{CERTIFY_BITS[1]:,}) and certify the invariants and bounds (every "
                        "rounding error enclosed; overlaps are undecided)")
    p.add_argument("--no-bounds", action="store_true", help="skip the regret-bound checks")
    p.add_argument("--no-escalate", action="store_true",
                   help="keep a float run's undecided invariants undecided (default: decide "
                        "them in arb:128, then arb:256)")
    p.add_argument("--escalate-limit", type=count, default=2_000_000, metavar="N",
                   help="rerun in arb only runs of at most N lane-steps (steps × d × "
                        "instances; arb takes ≈ 25 µs each here; default 2000000)")
    p.add_argument("--ulps", type=count, default=None, metavar="N",
                   help="with --sidecar: accept recomputed floats within N units in the last "
                        "place (default: the tolerance the sidecar's seal states, 0 — bit for "
                        "bit on the machine that wrote it)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (a run's "
                   "report is sealed: --sidecar re-checks it)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def run(args) -> int:
    if args.certify is not None and not CERTIFY_BITS[0] <= args.certify <= CERTIFY_BITS[1]:
        raise InputError("certify", args.certify, f"BITS must lie in [{CERTIFY_BITS[0]}, "
                         f"{CERTIFY_BITS[1]:,}]")
    if args.escalate_limit < 0:
        raise InputError("escalate_limit", args.escalate_limit, "must be an integer >= 0")
    if args.sidecar:
        if args.algorithm or args.problem or args.steps:
            raise InputError("sidecar", args.sidecar, "give either --sidecar or a run, not both")
        report = _recheck_sidecar(args.sidecar, args)
    else:
        missing = [f for f in ("algorithm", "problem", "steps") if getattr(args, f) is None]
        if missing:
            raise InputError(missing[0], None, "needed (or give --sidecar FILE)")
        report = _verify_run(args)
    report.command = command_line()
    if args.json:
        data = report.to_dict()
        print(json.dumps(data if args.sidecar else seal_report(data), indent=2))
    else:
        print(format_report(report))
    return report.exit_status


#: the invariants a float run may leave undecided on a tie, and arb can decide
ESCALATED = ("vhat_nondecreasing", "effective_step_nonincreasing",
             "corrected_step_nonincreasing")
ESCALATION_BITS = (128, 256)


def _verify_run(args):
    spec = spec_from_args(args)
    result = run_spec(spec, quiet=args.quiet)
    report = Report(title=f"verify {spec.algorithm} on {spec.problem}",
                    parameters={"run": spec.to_dict()})
    records = check_run(result, spec)
    if not args.no_escalate:
        records = escalate(records, spec, limit=args.escalate_limit, quiet=args.quiet)
    for record in records:
        record.details.setdefault("recipe", {"check": record.name, "run": spec.to_dict(),
                                             "args": {}})
        report.add(record)
    if not args.no_bounds:
        report.extend(bound_records(result, spec))
    if args.certify is not None:
        cspec = spec.with_(arithmetic=f"arb:{args.certify}")
        cres = run_spec(cspec, quiet=args.quiet, progress_from=20_000)
        for record in check_run(cres, cspec):
            if record.method == "certified":
                record.details["recipe"] = {"check": record.name, "run": cspec.to_dict(),
                                            "args": {}}
                report.add(record)
        if not args.no_bounds:
            report.extend(bound_records(cres, cspec))
    if args.agreement:
        arithmetics = [a.strip() for a in args.agreement.split(",") if a.strip()]
        if len(arithmetics) < 2:
            raise InputError("agreement", args.agreement, "name at least two arithmetics")
        report.add(run_check("arithmetics_agree", spec, arithmetics=arithmetics, rtol=args.rtol))
    return report


def escalate(records: list[Record], spec, *, limit: int = 2_000_000,
             quiet: bool = True) -> list[Record]:
    """Decide a float run's undecided invariants (ties within the rounding bound) in arb.

    Each undecided ``float`` record among :data:`ESCALATED` is replaced by the certified
    record of the same run in arb:128 (then arb:256 while any stays undecided), with the float
    record's details kept under ``escalated_from``. A run of more than ``limit`` lane-steps is
    not rerun: its records stay undecided and say why."""
    open_ = [i for i, r in enumerate(records)
             if r.name in ESCALATED and r.method == "float" and r.verdict == "undecided"]
    if not open_:
        return records
    problem = get_problem(spec.problem)
    work = spec.steps * problem.d * problem.B
    out = list(records)
    if work > limit:
        for i in open_:
            out[i].details["escalation"] = (
                f"not rerun in arb: {work} lane-steps exceed --escalate-limit {limit} "
                f"(run verify --certify BITS to decide it)")
        return out
    for bits in ESCALATION_BITS:
        cspec = spec.with_(arithmetic=f"arb:{bits}")
        certified = {r.name: r for r in check_run(run_spec(cspec, quiet=quiet,
                                                           progress_from=20_000), cspec)}
        for i in list(open_):
            new = certified[records[i].name]
            new.details["escalated_from"] = {"method": "float",
                                             "arithmetic": spec.arithmetic,
                                             "details": records[i].details}
            new.details["recipe"] = {"check": new.name, "run": cspec.to_dict(), "args": {}}
            out[i] = new
            if new.verdict != "undecided":
                open_.remove(i)
        if not open_:
            break
    return out


def _recheck_sidecar(path: str, args):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError("sidecar", path, f"cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError("sidecar", path, f"not JSON: {exc.msg}") from None
    if args.ulps is not None and args.ulps < 0:
        raise InputError("ulps", args.ulps, "must be ≥ 0")
    try:
        validate_report(data)
    except ValueError as exc:
        raise InputError("sidecar", path, str(exc)) from None
    bar = None
    if not args.quiet and len(data["records"]) > 3:
        bar = tqdm(total=len(data["records"]), unit="check", file=sys.stderr, disable=None,
                   leave=False)
    try:
        out = recheck_report(data, Path(path).parent, ulps=args.ulps,
                             progress=None if bar is None else lambda: bar.update(1))
    finally:
        if bar is not None:
            bar.close()
    out.parameters = {"sidecar": path, "sidecar_sha256": file_sha256(path), **out.parameters}
    return out


def format_report(report, most: int = 12) -> str:
    """The report in words; under each record, the fields that differ (recorded vs recomputed,
    at most ``most`` of them) — every one of them is in the JSON."""
    mark = {"pass": "PASS", "fail": "FAIL", "undecided": "UNDECIDED"}
    lines = [f"{report.title}: {mark[report.verdict]}"]
    sidecar = report.parameters.get("sidecar_sha256")
    if sidecar:
        lines.append(f"  sidecar sha256 {sidecar} (compare with a copy kept elsewhere: a seal "
                     f"is a checksum, not a signature)")
        sealed_by = report.parameters.get("sealed_by")
        if sealed_by and sealed_by != report.parameters.get("package_version"):
            lines.append(f"  sealed by amsgrad-theory {sealed_by}, recomputed by "
                         f"{report.parameters.get('package_version')}")
    for r in report.records:
        lines.append(f"  [{mark[r.verdict]:>9}] ({r.method}) {r.claim}")
        found = finding(r) if r.verdict == "fail" else None
        if found:
            lines.append(f"              {found}")
        differences = (r.details or {}).get("differences") or []
        for d in differences[:most]:
            raw = d["tolerance"] in ("digest", "sha256", "runs", "sealed")
            lines.append(f"              {d['field']}: recorded {_short(d['recorded'], raw)}, "
                         f"recomputed {_short(d['recomputed'], raw)} ({d['tolerance']})")
        if len(differences) > most:
            lines.append(f"              … and {len(differences) - most} more (--json lists "
                         f"them all)")
        if r.details.get("reason") and r.verdict == "undecided":
            lines.append(f"              {r.details['reason']}")
        if r.witness and r.witness.get("cli"):
            lines.append(f"              witness: {r.witness['cli']}")
    return "\n".join(lines)


def _short(value, raw: bool = False, width: int = 100) -> str:
    """A recorded or recomputed value in a line: quantities as JSON writes them, digests and
    descriptions as they are."""
    text = str(value) if raw or value == ABSENT else json.dumps(value, ensure_ascii=False,
                                                                 default=str)
    return text if len(text) <= width else text[:width - 1] + "…"


#: the symbol of each effective-step record
_STEP_SYMBOL = {"effective_step_nonincreasing": "η", "corrected_step_nonincreasing": "η̂"}


def _n(value, digits: int = 6) -> str:
    """A number in a sentence (a list: its first entries)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_n(v, digits) for v in value[:3]) + (", …]" if len(value) > 3
                                                                    else "]")
    return "—" if value is None else f"{value:.{digits}g}"


def finding(r: Record) -> str | None:
    """How a failed record failed, with its magnitude and where (None where its details
    carry none): the line under a FAIL in the text report."""
    d = r.details or {}
    w = r.witness or {}
    if r.name in _STEP_SYMBOL and d.get("max_increase_step") is not None:
        where = f"t = {d['max_increase_step']}"
        if w.get("coordinate") is not None:
            where += f", i = {w['coordinate']}"
        times = d.get("increases")
        first = d.get("first_increase_step")
        return (f"{_STEP_SYMBOL[r.name]} grew {100 * d['max_relative_increase']:.4g} % at "
                f"{where}" + (f" (the largest of {times} increases; the first at t = {first})"
                              if times and times > 1 else ""))
    if r.name == "vhat_nondecreasing" and d.get("decreases"):
        return f"v̂ decreased {d['decreases']} time(s)"
    if r.name == "iterates_feasible" and d.get("largest_violation"):
        return (f"an iterate lies outside the set: the largest violation is "
                f"{_n(d['largest_violation'], 4)} (of {d.get('points')} points checked)")
    if r.name == "regret_sublinear" and d.get("slope") is not None:
        band = 2 * (d.get("slope_stderr") or 0)
        averages = ", ".join(f"{_n(v, 4)} at t = {t}"
                             for t, v in (d.get("average_regret_at") or {}).items())
        return (f"R_t ∝ t^k with k = {d['slope']:.3f} ± {band:.2g} (k = 1: linear) over "
                f"t ≥ {_n(d.get('window_from'))}; R_t/t = {averages}")
    if (r.name or "").startswith("run:") and d.get("max_ratio") is not None:
        first = w.get("first_failing_t")
        return (f"{r.claim.split(' ≤ ')[0]} reaches {_n(d['max_ratio'], 4)} × the bound at "
                f"t = {d.get('at_t')}" + (f" (first above it at t = {first})" if first else ""))
    if r.name == "arithmetics_agree" and d.get("deviations"):
        floats = {k: v for k, v in d["deviations"].items() if not isinstance(v, dict)}
        outside = [k for k, v in d["deviations"].items() if isinstance(v, dict)
                   and not v.get("contains")]
        parts = []
        if floats:
            key = max(floats, key=lambda k: floats[k])
            if floats[key] > d.get("rtol", 0):
                parts.append(f"the largest relative deviation is {_n(floats[key], 4)} ({key}), "
                             f"above rtol {d.get('rtol'):g}")
        if outside:
            parts.append("the arb ball does not contain " + ", ".join(outside))
        return "; ".join(parts) or None
    if "lhs" in d and "rhs" in d:
        first = w.get("first_failing_t")
        return (f"lhs {_n(d['lhs'])} > rhs {_n(d['rhs'])}"
                + (f" (first at t = {first})" if first is not None else ""))
    if "value" in d and "threshold" in d:
        return (f"measured {_n(d['value'])}, needed {d.get('op', '')} "
                f"{_n(d['threshold'])}".replace("  ", " "))
    return None
