"""How long `reproduce all` takes, cold and warm, per size — the figures README states.

Run:  .venv/bin/python experiments/benchmarks/reproduce_times.py [--sizes tiny,small]
          [--readme README.md] [--json FILE]

Per size: a COLD run (an empty numba cache folder, NUMBA_CACHE_DIR: every kernel compiles),
then a WARM run (the same cache folder: kernels load from disk), each a fresh process running
`amsgrad-theory reproduce all --size SIZE` (its studies side by side, one process per CPU)
into a temporary folder; then, side by side in the same session, the warm run ONE AT A TIME
(`--jobs 1`: every study in the one process, one after another). Wall-clock seconds, the
machine's CPU count and its load average before and after (a loaded machine says so), and
the machine's speed: the seconds a fixed pure-Python loop (:data:`SPIN`, one process) takes
before and after the runs, the yardstick for comparing tables measured on other days (this
project's shared machine has run it anywhere from 2.4 to 3.8 s). With
--readme, the block between the markers ``<!-- reproduce-times:begin -->`` and
``<!-- reproduce-times:end -->`` is replaced by the measured table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BEGIN, END = "<!-- reproduce-times:begin -->", "<!-- reproduce-times:end -->"


#: the speed probe: 3·10⁷ additions in a pure-Python loop (one core)
SPIN = "s = 0\nfor i in range(30_000_000):\n    s += i\n"


def spin() -> float:
    """Seconds the :data:`SPIN` loop takes in a fresh process (its start excluded)."""
    code = ("import time\nt0 = time.perf_counter()\n"
            f"exec(compile({SPIN!r}, 'spin', 'exec'))\nprint(time.perf_counter() - t0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return round(float(out.stdout), 2)


def run_all(size: str, out: Path, cache: Path, *flags: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "amsgrad_theory.cli", "reproduce", "all",
                          "--size", size, "--out", str(out), "--quiet", *flags],
                         capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    return {"wall_s": round(wall, 1), "exit": run.returncode, "load_before": round(load, 2),
            "load_after": round(os.getloadavg()[0], 2), "stderr_tail": run.stderr[-400:]}


def table(results: dict) -> str:
    cpus = os.cpu_count()
    lines = [f"| `reproduce all --size …` ({cpus} CPUs) | cold (compiles) | warm (cached) | "
             "warm, `--jobs 1` | load average | speed probe |", "|---|---|---|---|---|---|"]
    for size, r in results.items():
        loads = f"{r['cold']['load_before']}–{r['one']['load_after']}"
        probe = f"{r['spin_before_s']}–{r['spin_after_s']} s"
        lines.append(f"| {size} | {r['cold']['wall_s']:.0f} s | {r['warm']['wall_s']:.0f} s | "
                     f"{r['one']['wall_s']:.0f} s | {loads} | {probe} |")
    lines.append("")
    lines.append("Measured by `.venv/bin/python experiments/benchmarks/reproduce_times.py "
                 "--readme README.md`.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="tiny,small")
    ap.add_argument("--readme", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            cache = Path(tmp) / f"numba-{size}"
            cache.mkdir()
            before = spin()
            cold = run_all(size, Path(tmp) / f"{size}-cold", cache)
            warm = run_all(size, Path(tmp) / f"{size}-warm", cache)
            one = run_all(size, Path(tmp) / f"{size}-one", cache, "--jobs", "1")
            results[size] = {"cold": cold, "warm": warm, "one": one, "spin_before_s": before,
                             "spin_after_s": spin()}
            print(f"{size}: cold {cold['wall_s']} s (exit {cold['exit']}), warm "
                  f"{warm['wall_s']} s (exit {warm['exit']}), warm --jobs 1 {one['wall_s']} s "
                  f"(exit {one['exit']}), load {cold['load_before']}–{one['load_after']}, "
                  f"speed probe {before}–{results[size]['spin_after_s']} s",
                  flush=True)
    text = table(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if args.readme:
        path = Path(args.readme)
        readme = path.read_text()
        if BEGIN not in readme or END not in readme:
            print(f"{path}: no {BEGIN} … {END} block", file=sys.stderr)
            return 2
        path.write_text(re.sub(re.escape(BEGIN) + ".*?" + re.escape(END),
                               lambda _: f"{BEGIN}\n{text}\n{END}", readme, flags=re.S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
