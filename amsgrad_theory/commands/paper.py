"""Regenerate the paper's generated parts and build its PDF.

Example: amsgrad-theory paper --out paper-build

Runs ``reproduce all`` at --size into OUT/reproduce, figures in the paper style (or reads an
existing folder of its outputs with --reuse DIR), writes OUT/generated/ (title, author and PDF
metadata from paper/paper.toml and --title/--author; equations from the symbolic module in the
paper's notation; tables and cited numbers from the studies' summaries; one figure float per
figure with a caption generated from its sidecar's records), OUT/figures/ (the studies' PDF
figures) and OUT/main.tex with references.bib (copied from the repository's paper/), then runs
pdflatex, bibtex and pdflatex until the cross-references settle, when LaTeX is installed, and
lists every warning of the last pass. Without a LaTeX engine it leaves the complete .tex tree
and prints the apt line that installs one (exit 0: the sources are the product; the PDF needs
the engine).

Exit status: 0 done; 1 a LaTeX run failed (the log's tail is printed), or --strict and the
build has warnings; 2 bad input (unwritable --out, a --reuse folder without the studies'
outputs, no main.tex, an invalid paper.toml, an empty --title or --author).
"""

from __future__ import annotations

import json
import sys

from ..paper import build, load_config, source_folder
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
    p.add_argument("--title", default=None, metavar="TEXT",
                   help="the paper's title (default: paper.toml's, else the built-in one)")
    p.add_argument("--author", default=None, metavar="TEXT",
                   help="the author(s), several joined by ' and ' (default: paper.toml's, "
                        "else Anonymous, for review)")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex tree only")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when the LaTeX build has any warning (undefined references "
                        "or citations, overfull boxes over 1 pt, BibTeX warnings)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--json", action="store_true", help="print what was done as JSON")


def run(args) -> int:
    src = source_folder(args.source)      # no main.tex: exit 2 before any work
    load_config(src, title=args.title, author=args.author)    # a bad paper.toml or flag too
    check_output_folder(args.out)         # unwritable --out: exit 2 before any work
    try:
        result = build(args.out, size=args.size, reuse=args.reuse, source=args.source,
                       engine=None if args.no_pdf else "auto", quiet=args.quiet,
                       title=args.title, author=args.author)
    except RuntimeError as exc:
        print(f"amsgrad-theory paper: {exc}", file=sys.stderr)
        return 1
    warnings = result.get("latex_warnings") or []
    if args.json:
        print(json.dumps(result, indent=2))
    elif result["pdf"]:
        print(f"paper: {result['pdf']} (from {result['tex']}; generated parts in "
              f"{result['out']}/generated; {result['passes']} LaTeX passes, "
              f"{len(warnings)} warnings)")
    else:
        print(f"paper: {result['tex']} written; "
              + (result.get("missing") or "PDF not requested (--no-pdf)"))
    if not args.json:
        for line in warnings + result.get("figure_notes", []):
            print(f"  warning: {line}", file=sys.stderr)
    return 1 if args.strict and warnings else 0
