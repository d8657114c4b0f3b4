"""Check a run's invariants and bounds, or re-check the claims recorded in a figure's sidecar.

With the flags of ``simulate``: runs it and checks every invariant that applies (v̂ never
decreases, η and η̂ never increase, iterates feasible, regret sublinear) and every bound whose
assumptions the run satisfies. With ``--sidecar FILE``: replays every record of that report
(figures' ``*.json`` sidecars, ``verify --json`` output) and says whether each verdict is
re-established.

Exit status: 0 every check passed (with --sidecar: every recorded verdict re-established);
1 a check failed (a finding, not an error); 2 bad input.
"""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from .. import reproduce  # noqa: F401  (registers the studies' checks: sidecars name them)
from ..errors import InputError
from ..records import Report, command_line
from ..verify.bounds_on_runs import bound_records
from ..verify.checks import recheck, run_check
from ..verify.invariants import check_run
from .runflags import add_run_arguments, run_spec, spec_from_args


def add_arguments(p) -> None:
    add_run_arguments(p, required=False)
    p.add_argument("--sidecar", metavar="FILE", help="re-check the records of this report")
    p.add_argument("--agreement", metavar="A,B,...", default=None,
                   help="also run in these arithmetics and check agreement (e.g. "
                        "float64,mpmath:50 or float64,arb:128)")
    p.add_argument("--rtol", type=float, default=1e-9, help="tolerance for --agreement")
    p.add_argument("--certify", type=int, default=None, metavar="BITS",
                   help="also run in arb:BITS ball arithmetic and certify the invariants and "
                        "bounds (every rounding error enclosed; overlaps are undecided)")
    p.add_argument("--no-bounds", action="store_true", help="skip the regret-bound checks")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", "-q", action="store_true")


def run(args) -> int:
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
        print(report.to_json())
    else:
        print(format_report(report))
    return 0 if report.verdict == "pass" else 1 if report.verdict == "fail" else 1


def _verify_run(args):
    spec = spec_from_args(args)
    result = run_spec(spec, quiet=args.quiet)
    report = Report(title=f"verify {spec.algorithm} on {spec.problem}",
                    parameters={"run": spec.to_dict()})
    for record in check_run(result, spec):
        record.details["recipe"] = {"check": record.name, "run": spec.to_dict(), "args": {}}
        report.add(record)
    if not args.no_bounds:
        report.extend(bound_records(result, spec))
    if args.certify:
        if args.certify < 16:
            raise InputError("certify", args.certify, "needs at least 16 bits")
        cspec = spec.with_(arithmetic=f"arb:{args.certify}")
        cres = cspec.run()
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


def _recheck_sidecar(path: str, args):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InputError("sidecar", path, f"cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError("sidecar", path, f"not JSON: {exc.msg}") from None
    try:
        original = Report.from_dict(data)
    except ValueError as exc:
        raise InputError("sidecar", path, str(exc)) from None
    out = Report(title=f"re-check of {original.title}", parameters={"sidecar": path})
    bar = None
    if not args.quiet and len(original.records) > 3:
        bar = tqdm(total=len(original.records), unit="check", file=sys.stderr, disable=None,
                   leave=False)
    for record in original.records:
        out.add(recheck(record))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return out


def format_report(report) -> str:
    mark = {"pass": "PASS", "fail": "FAIL", "undecided": "UNDECIDED"}
    lines = [f"{report.title}: {mark[report.verdict]}"]
    for r in report.records:
        lines.append(f"  [{mark[r.verdict]:>9}] ({r.method}) {r.claim}")
        if r.witness and r.witness.get("cli"):
            lines.append(f"              witness: {r.witness['cli']}")
    return "\n".join(lines)
