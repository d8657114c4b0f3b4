"""Evaluate every step of a regret proof on a run: which links hold, which is the first to fail.

A run is given with the flags of ``simulate`` or as a named example (``--example
tran-phong-3.2``, ``--example constant-beta1``). ``--chain theorem4`` (default) is Reddi et al.'s
proof of Theorem 4 as Tran & Phong analyse it; ``--chain constant-beta1`` is the bound derived
here for constant β1. ``--search N`` also lets Hypothesis look, over N generated runs, for a run
on which each step fails, and prints the shrunk minimal run.

A step holds where lhs < rhs beyond the float band (1e-9 relative); where the two sides agree
within it at some step (an equality case: a linear loss makes convexity an equality) the step
is a ``tie`` — floating point cannot tell = from a tiny >, so it is undecided, not a pass.

Exit status: 0 every step holds; 1 a step failed (a finding); 2 bad input; 3 no step failed
but some are ties (undecided).
"""

from __future__ import annotations

import json

from ..errors import InputError, unknown_name
from ..problems import get_problem
from ..symbolic.steps import CHAINS
from ..verify.proof import EXAMPLES, check_chain, search_failures
from .runflags import add_run_arguments, count, given_run_flags, spec_from_args


def add_arguments(p) -> None:
    add_run_arguments(p, required=False)
    p.add_argument("--example", metavar="NAME", help="a named run: tran-phong-3.2, "
                   "constant-beta1")
    p.add_argument("--chain", default=None, metavar="NAME",
                   help="theorem4 (default; constant-beta1 for that example) or constant-beta1")
    p.add_argument("--search", type=count, default=0, metavar="N",
                   help="Hypothesis search of N runs for failures of each step (0: none)")
    p.add_argument("--step", default=None, help="with --search: only this step (a name of "
                   "the chain's steps, e.g. theorem4.young)")
    p.add_argument("--json", action="store_true", help="print the steps (and searches) as "
                   "one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run(args) -> int:
    if args.search < 0:
        raise InputError("search", args.search, "must be an integer >= 0 (0: no search)")
    if args.step is not None and not args.search:
        raise InputError("step", args.step, "only with --search N (N >= 1)")
    if args.example:
        if args.example not in EXAMPLES:
            raise unknown_name("example", args.example, list(EXAMPLES))
        given = given_run_flags(args)
        if given:
            raise InputError("example", args.example, "give either --example or a run (--"
                             + given[0].replace("_", "-") + " given)")
        spec, chain, description = EXAMPLES[args.example]
        chain = args.chain or chain
    else:
        missing = [f for f in ("algorithm", "problem", "steps") if getattr(args, f) is None]
        if missing:
            raise InputError(missing[0], None, "needed (or give --example NAME)")
        spec = spec_from_args(args, trace=True)
        if not get_problem(spec.problem).set.bounded:
            raise InputError("problem", spec.problem, "the proofs bound the regret by D∞, the "
                             "feasible set's diameter: give set=box or set=ball")
        chain = args.chain or "theorem4"
        description = None
    if chain not in CHAINS:
        raise unknown_name("chain", chain, list(CHAINS))
    names = [s.name for s in CHAINS[chain]]
    if args.step is not None and args.step not in names:
        raise unknown_name("step", args.step, names)
    result = check_chain(spec, chain)
    out = result.to_dict()
    out["description"] = description
    searches = []
    if args.search:
        for name in [args.step] if args.step else names:
            searches.append(search_failures(name, chain, max_examples=args.search).to_dict())
        out["searches"] = searches
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{chain} chain on: {spec.cli('check-proof')}")
        if description:
            print(f"({description})")
        for s in result.steps:
            mark = {"pass": "holds", "fail": "FAILS", "undecided": "tie"}[s.verdict]
            tag = "" if s.valid else "  [not valid in general]"
            lhs, rhs = _short(s.lhs), _short(s.rhs)
            print(f"  {mark:5}  {s.name:38} {lhs} ≤ {rhs}{tag}")
        first = result.first_failure
        print("first failing step: " + (first.name if first else "none"))
        for rec in searches:
            state = "found a failing run" if rec["verdict"] == "fail" else \
                f"no failure in {rec['cases']} runs"
            print(f"  search {rec['name'][7:]}: {state}"
                  + (f" — {rec['witness']['cli']}" if rec.get("witness") else ""))
    failed = result.first_failure is not None or any(r["verdict"] == "fail" for r in searches)
    if failed:
        return 1
    return 3 if any(s.verdict == "undecided" for s in result.steps) else 0


def _short(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.6g}" for v in value[:3]) + (", …]" if len(value) > 3
                                                                  else "]")
    return f"{value:.6g}"
