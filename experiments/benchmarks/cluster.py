"""The same sweep in process and on Dask distributed (`sweep --workers 2`), and what a task costs.

Run:  .venv/bin/python experiments/benchmarks/cluster.py [--quick] [--seeds N] [--steps T]
      [--json FILE]

Measures, on this machine (README, "Beyond one machine", quotes the output):
 1  the sweep `-a amsgrad -a adam -p random-linear:d=3 --grid alpha=[0.1,0.2,0.3] --seeds 0:N
    --steps T` run by the command line in process and with `--workers 2` (a LocalCluster of 2
    worker processes, started and stopped by the command): wall times (the sweep's own, as its
    summary states it: after planning, the wait for the cluster's start included),
    interleaved over rounds (medians), their ratio, whether the two CSVs are the same bytes,
    the seconds the tasks themselves computed (summed; in process a task is a chunk), and the
    CPU seconds of each command with every process it started (the workers too): in-process
    CPU / (cluster CPU / 2) is the ratio two cores of our own would give, whatever others run
    on the machine meanwhile. The machine's stick, beside them in every round: the same sweep
    as two in-process commands at once, each with half the seeds (no Dask): what two cores
    give this work here, so that the cluster's ratio is read against the machine's and not
    against 2.0 (two busy cores each compute slower than one alone). The numba kernels are
    compiled (and kept on disk) by a small warm-up sweep first, so neither side pays a
    compilation; each worker still imports the package and loads them once.
 2  the scheduler's per-task overhead: 1000 no-op tasks through `as_completed` on a local
    cluster of 2 workers (worker time per task = wall × 2 / 1000), and the latency of one
    task at a time; the share of a task of the sweep above that this overhead is.
 3  bytes moved per task: the pickled task (its configurations) and its pickled result (its
    CSV rows), for the tasks of the sweep above; and what committing a task's rows costs the
    client (append, flush, fsync of that many bytes, in the folder the CSV is written to).
The load average before and after is printed: on a machine other people are using, the ratio
says as much about them as about Dask.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from amsgrad_theory.engine import cluster  # noqa: E402
from amsgrad_theory.engine.run import batches  # noqa: E402
from amsgrad_theory.engine.sweep import grid, run_task  # noqa: E402
from amsgrad_theory.problems import get_problem  # noqa: E402

ALGORITHMS = ["amsgrad", "adam"]
PROBLEM = "random-linear:d=3"
ALPHAS = ["0.1", "0.2", "0.3"]


def flags(seeds: int, steps: int, chunk_size: int = 4000, first: int = 0) -> list[str]:
    out = []
    for a in ALGORITHMS:
        out += ["-a", a]
    return out + ["-p", PROBLEM, "--grid", f"alpha=[{','.join(ALPHAS)}]", "--seeds",
                  f"{first}:{seeds}", "--steps", str(steps), "--chunk-size", str(chunk_size),
                  "--quiet", "--json"]


def command(argv: list[str], out: Path) -> tuple[float, float, dict]:
    """Run `amsgrad-theory sweep argv --out out`: (wall seconds of the process, CPU seconds
    of it and every process it started — a local cluster's workers too —, summary)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "amsgrad_theory.cli", "sweep", *argv,
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sweep failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, _children_cpu() - cpu, json.loads(done.stdout)


def side_by_side(argvs: list[list[str]], outs: list[Path]) -> tuple[float, float, list[dict]]:
    """Run the in-process sweeps ``argvs`` at once, one process each: (wall seconds until the
    last ends, their CPU seconds, their summaries)."""
    cpu = _children_cpu()
    started = time.perf_counter()
    running = [subprocess.Popen([sys.executable, "-m", "amsgrad_theory.cli", "sweep", *argv,
                                 "--out", str(out)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
               for argv, out in zip(argvs, outs)]
    done = [(p, *p.communicate()) for p in running]
    wall = time.perf_counter() - started
    for p, _, err in done:
        if p.returncode != 0:
            raise SystemExit(f"sweep failed ({p.returncode}): {err[-2000:]}")
    return wall, _children_cpu() - cpu, [json.loads(out) for _, out, _ in done]


def _children_cpu() -> float:
    """User + system seconds of the finished descendants (each waited for by its parent)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def overhead(n: int = 1000) -> dict:
    """Per-task overhead of a local cluster of 2 single-threaded worker processes."""
    import distributed  # the `cluster` extra: this benchmark is about it

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.CRITICAL) \
            as local, \
            distributed.Client(local) as client:
        client.submit(len, [], pure=False).result()          # warm the connection
        started = time.perf_counter()
        futures = client.map(len, [[k] for k in range(n)], pure=False)
        for future in distributed.as_completed(futures):
            future.result()
        wall = time.perf_counter() - started
        started = time.perf_counter()
        for k in range(50):
            client.submit(len, [k], pure=False).result()
        latency = (time.perf_counter() - started) / 50
    return {"tasks": n, "wall_s": wall, "worker_s_per_task": 2 * wall / n,
            "tasks_per_s": n / wall, "latency_s": latency}


def commit_seconds(folder: Path, size: int, n: int = 50) -> float:
    """Seconds to append ``size`` bytes to a file, flush and fsync them (a task's commit)."""
    text = ("x" * 99 + "\n") * (size // 100)
    started = time.perf_counter()
    with (folder / "commit.csv").open("a") as fh:
        for _ in range(n):
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return (time.perf_counter() - started) / n


def task_bytes(seeds: int, steps: int, chunk_size: int, measure: int = 2) -> dict:
    """Pickled sizes of the sweep's tasks (payload) and of ``measure`` tasks' results."""
    configs = grid(ALGORITHMS, PROBLEM, {"alpha": ALPHAS}, list(range(seeds)))
    specs = [c.spec(steps) for c in configs]
    plan = list(enumerate(batches(specs, chunk_size)))
    lanes = [steps * get_problem(specs[ix[0]].problem).d for _, ix in plan]
    tasks = cluster.plan_tasks(plan, lanes, slots=2)     # as on `--workers 2`
    payloads = [[(chunk, [(i, configs[i]) for i in ix]) for chunk, ix in t] for t in tasks]
    sent = [len(pickle.dumps(p)) for p in payloads]
    results, seconds = [], []
    run_task(payloads[0], steps=steps, arithmetic="float64")     # the kernels loaded once
    for p in payloads[:measure]:
        rows, s = run_task(p, steps=steps, arithmetic="float64")
        results.append(len(pickle.dumps((rows, s))))
        seconds.append(s)
    instances = [sum(len(ix) for _, ix in t) for t in tasks]
    return {"tasks": len(tasks), "instances_per_task": max(instances),
            "lane_steps_per_task": max(instances) * lanes[0],
            "payload_bytes_per_task": sum(sent) / len(sent),
            "result_bytes_per_task": sum(results) / len(results),
            "task_seconds": sum(seconds) / len(seconds)}


MODES = {"in process": [], "--workers 2": ["--workers", "2"]}
#: the machine's stick: the same sweep cut in two halves of its seeds, two in-process commands
#: at once, each on a core of its own — what two cores give this work with no Dask at all
HALVES = "2 halves at once"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a ~10 s sweep, one round")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=20_000)
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3)")
    ap.add_argument("--chunk-size", type=int, default=4000,
                    help="the sweep's --chunk-size (4096, the command's default, is a power "
                         "of two: its batches run 2.5-4× slower per step in process here, "
                         "which would flatter the cluster)")
    ap.add_argument("--json", default=None, metavar="FILE")
    args = ap.parse_args()
    seeds = args.seeds or (300 if args.quick else 4000)
    rounds = args.rounds or (1 if args.quick else 3)
    cores = os.cpu_count() or 1
    load_before = os.getloadavg()[0]
    sweep = flags(seeds, args.steps, args.chunk_size)
    report: dict = {"cores": cores, "sweep": " ".join(sweep), "rounds": rounds,
                    "configurations": len(ALGORITHMS) * len(ALPHAS) * seeds,
                    "steps": args.steps}
    task = task_bytes(seeds, args.steps, args.chunk_size)
    modes = {**MODES, HALVES: []}
    runs: dict[str, list[dict]] = {mode: [] for mode in modes}
    same = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        command(flags(len(ALGORITHMS), args.steps), tmp / "warm.csv")  # kernels compiled
        for r in range(rounds):             # interleaved, the order rotated each round
            names = list(modes)[r % len(modes):] + list(modes)[:r % len(modes)]
            for name in names:
                if name == HALVES:
                    half = seeds // 2
                    process, cpu, parts = side_by_side(
                        [flags(half, args.steps, args.chunk_size),
                         flags(seeds, args.steps, args.chunk_size, first=half)],
                        [tmp / f"{r}-half-{k}.csv" for k in range(2)])
                    runs[name].append({"wall_s": max(p["wall_time_s"] for p in parts),
                                       "process_s": process, "cpu_s": cpu,
                                       "task_s": sum(p["simulation_time_s"] for p in parts),
                                       "tasks": sum(p["tasks"] for p in parts),
                                       "cluster_start_s": 0.0})
                    continue
                process, cpu, summary = command([*sweep, *modes[name]],
                                                tmp / f"{r}-{name}.csv")
                runs[name].append({"wall_s": summary["wall_time_s"], "process_s": process,
                                   "cpu_s": cpu, "task_s": summary["simulation_time_s"],
                                   "tasks": summary["tasks"],
                                   "cluster_start_s": summary["cluster_start_s"]})
            same &= (tmp / f"{r}-in process.csv").read_bytes() == \
                (tmp / f"{r}---workers 2.csv").read_bytes()
        task["commit_s"] = commit_seconds(tmp, int(task["result_bytes_per_task"]))
    load_during = os.getloadavg()[0]
    for name in modes:
        walls = [run["wall_s"] for run in runs[name]]
        report[name] = {"wall_s": statistics.median(walls), "walls_s": walls,
                        "cpu_s": statistics.median(run["cpu_s"] for run in runs[name]),
                        "task_s": statistics.median(run["task_s"] for run in runs[name]),
                        "tasks": runs[name][0]["tasks"],
                        "cluster_start_s": statistics.median(
                            run["cluster_start_s"] for run in runs[name])}
    inproc, dask = runs["in process"], runs["--workers 2"]
    report["ratio"] = statistics.median(a["wall_s"] / b["wall_s"] for a, b in zip(inproc, dask))
    report["ratio_cpu_bound"] = statistics.median(a["cpu_s"] / (b["cpu_s"] / 2)
                                                  for a, b in zip(inproc, dask))
    halves = runs[HALVES]
    report["ratio_machine"] = statistics.median(a["wall_s"] / b["wall_s"]
                                                for a, b in zip(inproc, halves))
    report["ratio_of_machine"] = statistics.median(b["wall_s"] / c["wall_s"]
                                                   for b, c in zip(halves, dask))
    report["same_bytes"] = same
    report["overhead"] = overhead()
    report["task"] = task
    report["overhead_share"] = report["overhead"]["worker_s_per_task"] / task["task_seconds"]
    report["load_average"] = {"before": load_before, "after_sweeps": load_during,
                              "after": os.getloadavg()[0]}

    print(f"sweep: {report['configurations']} configurations × {args.steps} steps "
          f"({PROBLEM}, float64, --chunk-size {args.chunk_size}), {cores} cores; medians of "
          f"{rounds} interleaved rounds")
    for name in modes:
        m = report[name]
        start = f"; cluster start {m['cluster_start_s']:.1f} s of it" \
            if m["cluster_start_s"] > 0 else ""
        print(f"  {name:16s} {m['wall_s']:7.1f} s  ({m['tasks']} tasks{start}; rounds: "
              + ", ".join(f"{w:.1f}" for w in m["walls_s"]) + f"); {m['cpu_s']:.1f} CPU s")
    print(f"  ratio in process / --workers 2: {report['ratio']:.2f} × (target ≥ 1.8 × for a "
          f"≥ 60 s sweep); from CPU seconds, at most, on 2 cores of our own: "
          f"{report['ratio_cpu_bound']:.2f} ×")
    print(f"  the machine's stick, in process / {HALVES} (no Dask): "
          f"{report['ratio_machine']:.2f} ×; --workers 2 reaches {report['ratio_of_machine']:.2f}"
          f" of it ({HALVES} / --workers 2)")
    tasks = [report[name]["task_s"] for name in modes]
    print(f"  compute seconds (the tasks' own, summed): in process {tasks[0]:.1f} s, "
          f"--workers 2 {tasks[1]:.1f} s ({100 * (tasks[1] / tasks[0] - 1):+.0f} %), "
          f"{HALVES} {tasks[2]:.1f} s ({100 * (tasks[2] / tasks[0] - 1):+.0f} %)")
    print(f"  same CSV bytes (in process, --workers 2): {same}")
    o = report["overhead"]
    print(f"per-task overhead  {1000 * o['worker_s_per_task']:.1f} ms of worker time "
          f"({o['tasks']} no-op tasks, {o['tasks_per_s']:.0f} tasks/s through the scheduler), "
          f"latency {1000 * o['latency_s']:.1f} ms one at a time")
    print(f"a task             {task['instances_per_task']} instances, "
          f"{task['lane_steps_per_task']:.3g} lane-steps, {task['task_seconds']:.2f} s alone; "
          f"overhead {100 * report['overhead_share']:.2f} % of it")
    print(f"bytes per task     {task['payload_bytes_per_task']:.0f} B sent, "
          f"{task['result_bytes_per_task']:.0f} B back; committing them (append + fsync) "
          f"{1000 * task['commit_s']:.1f} ms")
    loads = report["load_average"]
    note = (f"LOADED by others ({loads['before']:.1f} before we started, on {cores} cores): "
            "the ratios are noisy lower bounds" if loads["before"] > 0.5 * cores
            else "the machine was otherwise idle")
    print(f"load average       {loads['before']:.2f} before, {loads['after_sweeps']:.2f} "
          f"after the sweeps, {loads['after']:.2f} at the end: {note}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
