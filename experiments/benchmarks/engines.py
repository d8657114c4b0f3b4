"""Every engine's speed now vs at another revision, measured side by side in one run.

Run:  .venv/bin/python experiments/benchmarks/engines.py --against REV [--rounds N] [--json F]
      [--compile]

REV (a commit, e.g. the one before a refactoring) is checked out into a temporary git worktree;
each case (an engine on a fixed workload, amsgrad and adam) runs in a fresh process per
revision and round, the revisions alternating, each process timing the best of three calls
after a warm-up call (numba's compile excluded), numba on ``--threads`` threads (default 1: a
shared machine's other load moves a parallel loop's time most). Printed: the median over rounds of
time(now) / time(REV) per case (< 1: now is faster), and the best time now over the best then
(the least disturbed rounds). Nothing is asserted: the machine is shared.

``--compile`` times the first call instead, in a process with numba's disk cache off: what a
kernel's compilation costs (the package's import excluded), for the compiled cases.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: case name -> (variant, problem, steps, arithmetic, instances of periodic-linear or None)
CASES = {
    "numba-blocked": ("periodic-linear:c=1,period=3", 10_000, "float64:numba", 2048),
    "numba-scalar": ("random-logistic:d=10", 3_000, "float64:numba", None),
    "python": ("random-linear:d=4", 20_000, "float64:python", None),
    "numpy": ("periodic-linear:c=1,period=3", 1_000, "float64:numpy", 2048),
    "mpmath": ("reddi-online:C=3", 10_000, "mpmath:30", None),
}

PROBE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from amsgrad_theory import get_problem, simulate
variant, spec, steps, arithmetic, B = json.loads(sys.argv[2])
hps = None
problem = spec
if B:
    problem = get_problem(spec, instances=[{"C": repr(2 + 8 * b / (B - 1))} for b in range(B)])
    hps = [{"alpha": repr(0.1 * (1 + b % 4)), "beta1": "0.9", "beta2": "0.99"} for b in range(B)]
run = lambda: simulate(variant, problem, steps=steps, arithmetic=arithmetic, hyperparameters=hps)
t0 = time.perf_counter(); run(); first = time.perf_counter() - t0
if sys.argv[3] == "compile":
    print(first); sys.exit(0)
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter(); run(); best = min(best, time.perf_counter() - t0)
print(best)
"""


def time_case(tree: Path, variant: str, case: tuple, threads: int, mode: str = "warm") -> float:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    if mode == "compile":
        env["AMSGRAD_THEORY_NUMBA_CACHE"] = "0"
    out = subprocess.run([sys.executable, "-c", PROBE, str(tree), json.dumps([variant, *case]),
                          mode],
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir(),
                         env=env)
    return float(out.stdout.split()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", required=True, metavar="REV")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default=None, help="comma-separated case names")
    ap.add_argument("--threads", type=int, default=1, help="numba threads (default 1)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--compile", action="store_true",
                    help="time the first call (numba's compile) with the disk cache off")
    args = ap.parse_args()
    mode = "compile" if args.compile else "warm"
    names = args.only.split(",") if args.only else [
        n for n in CASES if not args.compile or "numba" in n]
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old),
                        args.against], check=True)
        try:
            results = {}
            for name in names:
                for variant in ("amsgrad", "adam"):
                    now, then = [], []
                    for _ in range(args.rounds):
                        now.append(time_case(ROOT, variant, CASES[name], args.threads, mode))
                        then.append(time_case(old, variant, CASES[name], args.threads, mode))
                    ratio = statistics.median(a / b for a, b in zip(now, then))
                    best = min(now) / min(then)
                    results[f"{variant}/{name}"] = {"now_s": now, "then_s": then,
                                                    "ratio_now_over_then": ratio,
                                                    "best_now_over_best_then": best}
                    print(f"{variant:8s} {name:14s} now/then {ratio:5.2f}, best/best "
                          f"{best:5.2f}   (now {statistics.median(now):.4f} s, then "
                          f"{statistics.median(then):.4f} s)", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)],
                           check=False)
    if args.json:
        Path(args.json).write_text(json.dumps({"against": args.against, "mode": mode,
                                               "cases": results},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
