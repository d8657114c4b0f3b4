"""Run the real frameworks (PyTorch, Keras 3, optax) and the toolkit's models of them on one
battery, and print, cell by cell, whether each model is bit-exact or how many ulps it is off.

Examples:
  amsgrad-theory fidelity
  amsgrad-theory fidelity --frameworks torch,optax --json
  amsgrad-theory fidelity --record experiments/fidelity/matrix.json --readme README.md

A framework that is not installed (or whose import fails) is reported as skipped with its error.
The frameworks install with the optional extra: pip install 'amsgrad-theory[frameworks]'.

Exit status: 0 every cell that ran is bit-exact; 1 a cell differs (a finding); 2 bad input.
"""

from __future__ import annotations

import json
import sys

from ..errors import InputError
from ..verify.fidelity import Battery, fidelity, table_text, update_readme
from .runflags import count


def add_arguments(p) -> None:
    p.add_argument("--frameworks", default=None, metavar="NAMES",
                   help="comma-separated, among torch, keras, optax (default: all three)")
    p.add_argument("--steps", type=count, default=200, metavar="T",
                   help="steps of every run (default 200)")
    p.add_argument("--quick", action="store_true",
                   help="two hyperparameter sets and one torch layout (the test suite's run)")
    p.add_argument("--json", action="store_true", help="print the matrix as JSON")
    p.add_argument("--record", default=None, metavar="FILE",
                   help="also write the matrix as JSON to FILE")
    p.add_argument("--readme", default=None, metavar="FILE",
                   help="rewrite the fidelity table of FILE (a README with the table's markers)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def run(args) -> int:
    if args.steps < 2:
        raise InputError("steps", args.steps, "must be an integer >= 2")
    progress = None if args.quiet else (lambda text: print(text, file=sys.stderr))
    matrix = fidelity(args.frameworks, battery=Battery(args.steps, args.quick),
                      progress=progress)
    data = matrix.to_dict()
    if args.record:
        with open(args.record, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
            fh.write("\n")
    if args.readme:
        update_readme(args.readme, data)
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        print(table_text(matrix))
    return 0 if matrix.exact == len(matrix.cells) else 1
