"""Reproduce a study: its figures (PNG, PDF), the data behind them (CSV), a sidecar per figure.

Example: amsgrad-theory reproduce figure1 --out out/ --size small

NAME is a study (``figure1``, ``theorem1``, ``frameworks``, ``phase``, ``claims``, …) or ``all``.
Each study writes into --out (``all``: one folder per study) and prints what it found; every
figure's sidecar ``STEM.json`` is a sealed report: ``amsgrad-theory verify --sidecar STEM.json``
recomputes its records and checks its seal (the SHA-256 of the figure's PNG, PDF and CSV, each
claim bound to its recipe, the list of records). --out is replaced whole once the run is
complete (written beside it first, then swapped in atomically), so it always holds one whole
run; it must be new, empty, or a folder reproduce wrote. Sizes: ``tiny`` (seconds; tests),
``small`` (default: ``all`` in a few minutes on 2 cores), ``paper`` (larger T, finer grids,
more seeds).

Exit status: 0 the study ran and its records came out as the study asserts (for ``claims``: the
audit ran; refuted claims are findings, not failures); 1 a reproduction record failed; 2 bad
input (unknown NAME, unwritable --out, an --out holding other files: nothing is run).
"""

from __future__ import annotations

import json

from ..records import command_line
from ..reproduce import STATUS_EXIT, check_output_folder, get_study, run_study


def add_arguments(p) -> None:
    p.add_argument("name", metavar="NAME", help="a study, or 'all' (an unknown name lists them)")
    p.add_argument("--out", default="reproduce-out", metavar="DIR",
                   help="output folder (created; replaced whole by the finished run; default "
                        "./reproduce-out)")
    p.add_argument("--size", default="small", choices=("tiny", "small", "paper"),
                   help="tiny: seconds (tests); small: the default; paper: larger runs")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args) -> int:
    if args.name != "all":
        get_study(args.name)            # unknown NAME: exit 2 listing the valid ones
    check_output_folder(args.out, whole_run=True)   # unwritable --out: exit 2 before any work
    summary = run_study(args.name, args.out, size=args.size, quiet=args.quiet,
                        command=command_line())
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_summary(summary))
    return STATUS_EXIT.get(summary.get("status"), 1)


def format_summary(summary: dict) -> str:
    if summary.get("study") == "all":
        lines = [f"reproduce all ({summary['size']}): {summary['status']} in "
                 f"{summary['wall_time_s']:.1f} s"]
        for s in summary["studies"].values():
            lines.append(_one(s))
        return "\n".join(lines)
    return _one(summary)


def _one(s: dict) -> str:
    lines = [f"{s['study']}: {s['title']} — {s.get('status')} ({s['size']}, "
             f"{s['wall_time_s']:.1f} s)"]
    for f in s.get("figures", []):
        counts = ", ".join(f"{v} {k}" for k, v in sorted(f["verdicts"].items()))
        lines.append(f"  {f['stem']}.png/.pdf/.csv/.json: {f['records']} records ({counts})")
    for line in s.get("highlights", []):
        lines.append(f"  · {line}")
    return "\n".join(lines)
