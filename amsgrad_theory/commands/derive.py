"""Print a derivation — a regret bound, a lemma, a bias-correction fact, a counterexample — as
text, LaTeX or JSON.

Examples:
  amsgrad-theory derive --list
  amsgrad-theory derive theorem4-derived --latex
  amsgrad-theory derive corollary1-openreview --json
  amsgrad-theory derive rho --check

Exit status: 0 printed; 2 bad input (an unknown NAME lists the valid ones).
"""

from __future__ import annotations

import argparse
import json
from typing import cast

from ..errors import InputError
from ..symbolic.bound import Bound
from ..symbolic.registry import Derivation, derivation_records, get_derivation, registry


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="the derivation (see --list)")
    p.add_argument("--list", action="store_true", help="list every derivation, one a line")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--latex", action="store_true", help="print the statement as LaTeX")
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--check", action="store_true",
                     help="run the checks that establish or refute it (JSON records)")


def run(args) -> int:
    if args.list:
        if args.name is not None:
            raise InputError("NAME", args.name, "give a derivation name or --list, not both")
        for name, item in registry().items():
            # registry() is typed name -> object; its values are Derivations and Bounds
            listed = cast("Derivation | Bound", item)
            print(f"{name}\t{listed.kind}\t{listed.title}")
        return 0
    if not args.name:
        raise InputError("NAME", args.name, "give a derivation name, or --list")
    item = get_derivation(args.name)
    if args.latex:
        print(item.latex())
        for line in item.legend():
            print(f"% {line}")
        return 0
    if args.json:
        print(json.dumps(item.to_dict(), indent=2, ensure_ascii=False))
        return 0
    if args.check:
        print(json.dumps([r.to_dict() for r in derivation_records(args.name)], indent=2,
                         ensure_ascii=False))
        return 0
    print(format_text(item.to_dict()))
    return 0


def format_text(d: dict) -> str:
    lines = [f"{d['name']} — {d['title']}", f"source: {d['source']}",
             f"status: {d['status']}", "assumptions:"]
    lines += [f"  - {a}" for a in d["assumptions"]]
    lines.append("statement (LaTeX):")
    lines.append(f"  {d['latex']}")
    if d.get("legend"):
        lines.append("where:")
        lines += [f"  {line}" for line in d["legend"]]
    if d.get("order") is not None:
        schedule = f" (β1,t schedule: {d['order_schedule']})" if d.get("order_schedule") else ""
        lines.append(f"worst-case order in {d.get('order_variable') or 'T'}: O({d['order']})"
                     + schedule)
    if d.get("orders"):
        lines.append("orders by schedule: " + ", ".join(f"{k}: O({v})"
                                                        for k, v in d["orders"].items()))
    if d.get("notes"):
        lines.append(f"notes: {d['notes']}")
    return "\n".join(lines)
