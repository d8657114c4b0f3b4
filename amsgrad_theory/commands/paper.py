"""Regenerate the paper's generated parts and build its PDF.

Example: amsgrad-theory paper --out paper-build

Runs ``reproduce all`` at --size into OUT/reproduce (or reads an existing folder of its outputs
with --reuse DIR), writes OUT/generated/ (equations from the symbolic module, tables and cited
numbers from the studies' summaries), OUT/figures/ (the studies' PDF figures) and OUT/main.tex
(copied from the repository's paper/), then runs pdflatex twice when it is installed. Without a
LaTeX engine it leaves the complete .tex tree and prints the apt line that installs one
(exit 0: the sources are the product; the PDF needs the engine).

Exit status: 0 done; 1 a LaTeX run failed (the log's tail is printed); 2 bad input (unwritable
--out, a --reuse folder without the studies' outputs, no main.tex).
"""

from __future__ import annotations

import json
import sys

from ..paper import build, source_folder
from ..reproduce import check_output_folder


def add_arguments(p) -> None:
    p.add_argument("--out", default="paper-build", metavar="DIR",
                   help="output folder (created; default ./paper-build)")
    p.add_argument("--size", default="small", choices=("tiny", "small", "paper"),
                   help="the size of the reproduce runs (ignored with --reuse)")
    p.add_argument("--reuse", default=None, metavar="DIR",
                   help="a folder of `reproduce all` outputs to build from (no new runs)")
    p.add_argument("--source", default=None, metavar="DIR",
                   help="the folder holding main.tex (default: paper/ of this checkout)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex tree only")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")


def run(args) -> int:
    source_folder(args.source)            # no main.tex: exit 2 before any work
    check_output_folder(args.out)         # unwritable --out: exit 2 before any work
    try:
        result = build(args.out, size=args.size, reuse=args.reuse, source=args.source,
                       engine=None if args.no_pdf else "auto", quiet=args.quiet)
    except RuntimeError as exc:
        print(f"amsgrad-theory paper: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["pdf"]:
        print(f"paper: {result['pdf']} (from {result['tex']}; generated parts in "
              f"{result['out']}/generated)")
    else:
        print(f"paper: {result['tex']} written; "
              + (result.get("missing") or "PDF not requested (--no-pdf)"))
    return 0
