"""Reproduce a study: its figures (PNG, PDF), the data behind them (CSV), a sidecar per figure.

Example: amsgrad-theory reproduce figure1 --out out/ --size small --style paper

NAME is a study (figure1, theorem1, tran-phong, frameworks, bound, phase, claims) or all.
One layout: study NAME always writes into DIR/NAME/ (--out DIR), run alone or under all
(which adds DIR/summary.json), so `paper --reuse DIR` finds every study there. Each study
prints what it found; every figure's sidecar STEM.json is a sealed report with a plain-text
caption (what the figure shows, how it was checked): `amsgrad-theory verify --sidecar
STEM.json` recomputes its records and checks its seal (the SHA-256 of the figure's PNG, PDF
and CSV, each claim bound to its recipe, the list of records). The CSVs are tidy: one column
per parameter and per quantity, one row per plotted point (pandas.read_csv reads them as they
are). DIR/NAME (DIR under all) is replaced whole once the run is complete (written beside it
first, fsynced, then swapped in atomically), so it always holds one whole run; it must be
new, empty, or a folder reproduce wrote.

Styles: paper (default: a column 3.3 in or a page 6.8 in wide at 100 %, 7-8 pt Times-like
fonts, nothing inside the figure but the data), slides (10 in or 5 in, 14 pt), report (the
earlier look: parameters, thresholds and the re-check command drawn in the figure).
all runs its studies side by side, one process per CPU (--jobs N to choose, --jobs 1 for
one after another in this process); each study's files are the same bytes either way.
Sizes: tiny (seconds; tests), small (default: all in a few minutes on 2 cores), paper
(larger T, finer grids, more seeds), large (phase on a 100 x 100 grid of (beta1, beta2): about
1e11 lane-steps, for a cluster; the other studies as paper).

Beyond one machine (the cluster extra): --workers N runs the grid of phase as Dask tasks on a
local cluster of N worker processes, --scheduler ADDRESS or --scheduler-file FILE on a running
scheduler's workers (e.g. dask-jobqueue's SLURMCluster); the outputs are those of a run here.
Example: amsgrad-theory reproduce phase --size large --scheduler-file sched.json --out out/

Exit status: 0 the study ran and its records came out as the study asserts (for claims: the
audit ran; refuted claims are findings, not failures); 1 a reproduction record failed; 3 a
study's only open checks are undecided; 2 bad input (unknown NAME or --style, unwritable
--out, a DIR/NAME holding other files: nothing is run).
"""

from __future__ import annotations

import json
import os

from .. import reproduce as studies
from ..plots import DEFAULT_STYLE, STYLES
from ..records import command_line
from ..reproduce import SIZES, STATUS_EXIT, output_folder
from .cluster_flags import add_cluster_arguments, cluster_target, opened
from .runflags import count


def add_arguments(p) -> None:
    p.add_argument("name", metavar="NAME", help="a study, or 'all' (an unknown name lists them)")
    p.add_argument("--out", default="reproduce-out", metavar="DIR",
                   help="output folder: study NAME writes DIR/NAME/, replaced whole by the "
                        "finished run (all: DIR/NAME/ for each study and DIR/summary.json); "
                        "default ./reproduce-out")
    p.add_argument("--size", default="small", choices=SIZES,
                   help="tiny: seconds (tests); small: the default; paper: larger runs; "
                        "large: phase's 100 x 100 grid, for a cluster (the others as paper)")
    p.add_argument("--style", default=DEFAULT_STYLE, choices=tuple(STYLES),
                   help="how figures are drawn: paper (default; 3.3 in column or 6.8 in page "
                        "width, 7-8 pt fonts), slides (10 in, 14 pt) or report (the earlier "
                        "look, verdict and re-check line drawn in the figure)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or log lines")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--jobs", "-j", type=count, default=None, metavar="N",
                   help="all: run N studies at once, each in a process of its own (default: "
                        "one per CPU; 1: one after another in this process); the outputs are "
                        "the same bytes")
    add_cluster_arguments(p, "the grid studies' runs (phase; the other studies run here)")


def run(args) -> int:
    output_folder(args.name, args.out)  # unknown NAME, unwritable --out: exit 2 before any work
    target = cluster_target(args)
    studies.check_jobs(args.name, args.jobs, target is not None)
    if args.jobs is not None:
        jobs = args.jobs
    elif args.name == "all" and target is None:
        jobs = studies.default_jobs(len(studies.studies()))
    else:
        jobs = 1
    with opened(target) as client:
        # looked up when run, not bound at import: a stand-in set on the package is used
        summary = studies.run_study(args.name, args.out, size=args.size, quiet=args.quiet,
                                    command=command_line(), style=args.style, client=client,
                                    jobs=jobs)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_summary(summary, args.out))
    return STATUS_EXIT.get(summary.get("status", ""), 1)    # no status: 1, as any unknown


def format_summary(summary: dict, out: str | os.PathLike | None = None) -> str:
    if summary.get("study") == "all":
        where = f" → {out}" if out is not None else ""
        lines = [f"reproduce all ({summary['size']}, {summary.get('style')} style): "
                 f"{summary['status']} in {summary['wall_time_s']:.1f} s{where}"]
        for s in summary["studies"].values():
            lines.append(_one(s, out))
        return "\n".join(lines)
    return _one(summary, out)


def _one(s: dict, out: str | os.PathLike | None = None) -> str:
    where = f" → {os.path.join(out, s['study'])}{os.sep}" if out is not None else ""
    lines = [f"{s['study']}: {s['title']} — {s.get('status')} ({s['size']}, "
             f"{s['wall_time_s']:.1f} s){where}"]
    for f in s.get("figures", []):
        counts = ", ".join(f"{v} {k}" for k, v in sorted(f["verdicts"].items()))
        lines.append(f"  {f['stem']}.png/.pdf/.csv/.json: {f['records']} records ({counts})")
    for line in s.get("highlights", []):
        lines.append(f"  · {line}")
    return "\n".join(lines)
