"""Run a grid of configurations batched: variants × problem parameters × hyperparameters × seeds.

Example:
  amsgrad-theory sweep --algorithm adam --algorithm amsgrad --problem reddi-theorem2 \\
      --grid C=[3,5,10,20] --grid beta1=[0,0.5,0.9] --grid beta2=[0.9,0.99,0.999] \\
      --steps 2e4 --out sweep.csv --json

Rows go to the CSV chunk by chunk, each with a digest; --resume keeps the intact rows of an
interrupted run of the same sweep (any --chunk-size) and runs the rest; a second sweep on the
same --out is refused while one runs (see amsgrad_theory.engine.sweep for the guarantees).

Beyond one machine (the `cluster` extra, Dask distributed): --workers N runs the tasks on a
local cluster of N worker processes, started and stopped here; --scheduler tcp://host:8786 or
--scheduler-file FILE on a running scheduler's workers (e.g. dask-jobqueue's SLURMCluster).
The CSV is the same bytes as in process; a worker that dies costs only its running tasks;
--resume continues on any cluster, or none.

Exit status: 0 every configuration has its numbers; 1 some configurations failed (their rows
carry the error, the others are complete); 2 bad input, or a scheduler that does not answer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from dataclasses import replace

from tqdm import tqdm

from ..algorithms import HYPERPARAMETERS
from ..arithmetic import get_arithmetic
from ..engine.sweep import grid, parse_seeds, parse_values, run_sweep
from ..errors import InputError
from ..problems import get_problem
from .cluster_flags import add_cluster_arguments, cluster_target
from .runflags import advance, check_memory, compile_stage, count, memory_needed
from .suggest import did_you_mean


def add_arguments(p) -> None:
    p.add_argument("--algorithm", "-a", action="append", required=True, metavar="NAME",
                   help="a variant (repeat for several)")
    p.add_argument("--problem", "-p", required=True, metavar="SPEC",
                   help="base problem spec; --grid entries override its parameters")
    p.add_argument("--grid", "-g", action="append", default=[], metavar="NAME=VALUES",
                   help="an axis: NAME=[v1,v2,…] (JSON), NAME=v1,v2 or NAME=start:stop; NAME "
                        "is a hyperparameter (alpha, beta1, beta2, eps, …) or a problem "
                        "parameter (C, p, d, …)")
    p.add_argument("--seeds", default=None, metavar="VALUES",
                   help="problem seeds, e.g. 0:10, 0:1e3 or [1,2,3] (random and Bernoulli "
                        "problems)")
    p.add_argument("--steps", "-T", type=count, required=True, metavar="T",
                   help="steps T of every configuration (2e4 and 20000 alike)")
    p.add_argument("--arithmetic", default="float64", metavar="A",
                   help="float64 (default) | float32 | mpmath:DPS | arb:BITS | "
                        "torch[:DEVICE[:DTYPE]]")
    p.add_argument("--x0", default=None, metavar="X",
                   help="start point x_1 of every configuration: a number (every coordinate) "
                        "or a JSON array (default 0)")
    p.add_argument("--out", "-o", default="sweep.csv", metavar="CSV",
                   help="CSV of results (default sweep.csv); the summary goes to CSV.json")
    p.add_argument("--resume", action="store_true",
                   help="keep the intact rows already in the CSV and run the rest")
    p.add_argument("--chunk-size", type=count, default=4096, metavar="N",
                   help="instances run as one batch (default 4096)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_cluster_arguments(p, "the tasks")
    p.add_argument("--task-size", type=count, default=None, metavar="N",
                   help="instances per Dask task (default: sized so the per-task overhead "
                        "stays under 1 %%)")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bar and no cluster log lines")


def run(args) -> int:
    if args.steps < 1:
        raise InputError("steps", args.steps, "must be an integer >= 1")
    axes, entries = {}, {}
    for entry in args.grid:
        name, eq, values = entry.partition("=")
        name = name.strip()
        if not eq or not name:
            raise InputError("grid", entry, "expected NAME=VALUES")
        if name in axes:
            raise InputError("grid", entry, f"axis {name!r} given twice")
        axes[name] = parse_values(values, name)
        entries[name] = entry
    seeds = seeds_of(args.seeds) if args.seeds is not None else None
    configs = grid(args.algorithm, args.problem, axes, seeds)
    target = cluster_target(args)
    bar = _Bar(args.steps, len(configs)) if not args.quiet else None
    compiling = compile_stage(lambda: bar.bar, get_arithmetic(args.arithmetic)) \
        if bar is not None and target is None else contextlib.nullcontext()
    try:
        check_sweep_memory(configs, args)
        with compiling:
            result = run_sweep(configs, steps=args.steps, arithmetic=args.arithmetic,
                               x0=args.x0, csv_path=args.out, resume=args.resume,
                               chunk_size=args.chunk_size, client=target,
                               task_size=args.task_size,
                               on_task=bar.update if bar is not None else None)
    except InputError as exc:
        if exc.argument in entries and exc.message.startswith("not a parameter of"):
            raise unknown_axis(exc, entries[exc.argument]) from None
        raise
    finally:
        if bar is not None:
            bar.close()
    out = result.csv_path
    assert out is not None          # --out always names a CSV (default sweep.csv)
    summary = dict(result.summary)
    summary["csv"] = str(out)
    summary["command"] = " ".join(sys.argv)
    summary_path = out.with_name(out.name + ".json") if out.suffix != ".json" else \
        out.with_suffix(".summary.json")
    try:
        summary_path.write_text(json.dumps(summary, indent=2))
    except OSError as exc:
        raise InputError("out", args.out, f"cannot write the summary {summary_path}: "
                         f"{exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        errors = f", {summary['errors']} failed (see the error column)" \
            if summary["errors"] else ""
        print(f"{summary['rows']} configurations, {args.steps} steps each, in "
              f"{summary['wall_time_s']:.3g} s{errors} → {out} (summary {summary_path})")
        for algo, s in summary["algorithms"].items():
            a = {k: "—" if v is None else f"{v:.4g}" for k, v in s["average_regret"].items()}
            print(f"  {algo}: R_T/T median {a['median']} (min {a['min']}, "
                  f"max {a['max']}); η increases in "
                  f"{100 * s['fraction_with_effective_step_increase']:.0f} %, η̂ in "
                  f"{100 * s['fraction_with_corrected_step_increase']:.0f} % of runs")
    return 1 if summary["errors"] else 0


#: bytes the sweep holds per configuration (its row's CSV texts, kept for the summary) and per
#: coordinate of a row's final_x: peak traced memory (tracemalloc) measured here over 4000
#: rows of d = 1 and 1000 rows of d = 50
ROW_BYTES, ROW_COORDINATE_BYTES = 3400, 450


def check_sweep_memory(configs: list, args) -> None:
    """Refuse, before any work, a sweep that needs more memory than is available: a batch of
    up to --chunk-size instances of the widest problem (d lanes each; on --workers N, N
    batches at once; on a running scheduler none here), and every configuration's row."""
    # one problem per distinct base and grid values of its parameters (d does not depend on
    # the seed nor on the hyperparameters)
    distinct = {(c.problem, c.parameters): c for c in configs}
    problems = {replace(c, seed=None).problem_spec() for c in distinct.values()}
    widest = max((get_problem(spec) for spec in problems), key=lambda problem: problem.d)
    batch = min(args.chunk_size, len(configs)) if args.chunk_size >= 1 else 1
    here = 0 if args.scheduler or args.scheduler_file else max(1, args.workers or 1)
    needed = here * memory_needed(widest, get_arithmetic(args.arithmetic), args.steps, False,
                                  instances=batch)
    needed += len(configs) * (ROW_BYTES + ROW_COORDINATE_BYTES * widest.d)
    check_memory("grid", f"{len(configs):,} configurations", needed,
                 f"a sweep of {len(configs):,} configurations of up to d = {widest.d:,} "
                 f"coordinates ({batch:,} instances a batch"
                 + (f", {here} batches at once" if here > 1 else "") + ")")


def unknown_axis(exc: InputError, entry: str) -> InputError:
    """The error for a ``--grid`` axis that names neither a hyperparameter nor a parameter of
    the problem (the problem's refusal ``exc`` lists its parameters), with the closest names."""
    problem = exc.message.removeprefix("not a parameter of ").split(";")[0]
    names = list(HYPERPARAMETERS) + exc.message.partition("valid: ")[2].split(", ")
    hint = did_you_mean(exc.argument, names)
    return InputError("grid", entry, f"{exc.argument!r} is neither a hyperparameter nor a "
                      f"parameter of {problem}" + (f" ({hint})" if hint else "")
                      + "; valid: " + ", ".join(names))


def seeds_of(text: str) -> list[int]:
    """``--seeds``: ``start:stop``, ``[s1,s2,…]`` or ``s1,s2`` (each once), where a bound or a
    seed may be written as an integral float like any count (``0:1e4``)."""
    body = text.strip()
    ranged = not body.startswith("[") and body.count(":") == 1
    try:
        parts = body.split(":") if ranged else parse_values(body, "seeds")
        whole = [str(count(part)) for part in parts]
        return parse_seeds((":" if ranged else ",").join(whole))
    except argparse.ArgumentTypeError as exc:
        raise InputError("seeds", text, str(exc)) from None
    except InputError as exc:
        raise InputError("seeds", text, exc.message) from None


class _Bar:
    """The sweep's one progress bar: instance-steps (rate, ETA), configurations and tasks."""

    def __init__(self, steps: int, configurations: int):
        self.steps = steps
        self.configurations = configurations
        self.bar: tqdm | None = None

    def update(self, done: int, total: int, configurations: int) -> None:
        if self.bar is None:      # opened at the first task: what was resumed is not a rate
            self.bar = tqdm(total=self.steps * self.configurations,
                            initial=self.steps * configurations, unit="inst-step",
                            unit_scale=True, file=sys.stderr, disable=None, leave=False)
        self.bar.set_postfix_str(f"{configurations}/{self.configurations} configurations, "
                                 f"{done}/{total} tasks", refresh=False)
        advance(self.bar, self.steps * configurations)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
