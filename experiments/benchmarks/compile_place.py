"""Where a kernel was compiled matters: the same kernels timed in the process that compiled
them and in a process that loaded them from numba's disk cache.

Not part of the package. Both processes run AMSGrad on Theorem 1's periodic gradients with
run.py's target-1 batch (B = 4096, T = 2·10⁴, one core) in float64 and float32 with
``statistics="regret"`` and ``"full"``, into a fresh cache folder (``NUMBA_CACHE_DIR``): the
first process compiles every kernel (and keeps it on disk), the second loads them. Seconds per
call, best of 4 after a first call.

    .venv/bin/python experiments/benchmarks/compile_place.py

Why the two differ (README, Performance): a kernel's own object code holds a copy of its block
function, optimised again together with it; a loading process has only that copy, while the
process that compiled it runs the block function's own code, under the same symbol. The two
copies run at different speeds, and not always the same one faster: 2026-12-07 (Zen 5),
compiling against loading, float64 full 0.238 against 0.155 s, float32 full 0.194 against
0.226 s; the regret kernels alike (0.082–0.085 s). The copies are optimised apart, so their
registers are allocated apart, and a false dependency (``kernel_bisect.py --asm``) was one
way they landed at different speeds; with it removed and the final code of that day, the
loaded code was faster or alike for all four: 0.084 | 0.080, 0.189 | 0.150, 0.066 | 0.063,
0.167 | 0.121 (float64 regret, full; float32 regret, full).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

RUNS = [(d, s) for d in ("float64", "float32") for s in ("regret", "full")]

#: run.py's target-1 batch: instances and steps
B, T = 4096, 20_000


def target1_batch(family: str = "periodic"):
    """(problem, hyperparameter rows) of run.py's target-1 batch: B instances of Theorem 1's
    periodic gradients or of Bernoulli ones, C from 2 to 10, α in {0.1, 0.2, 0.3, 0.4}."""
    from amsgrad_theory import get_problem

    C = np.linspace(2, 10, B)
    hps = [{"alpha": repr(0.1 * (1 + b % 4)), "beta1": "0.9", "beta2": "0.99"}
           for b in range(B)]
    if family == "periodic":
        return get_problem("periodic-linear:c=1,period=3",
                           instances=[{"C": repr(float(v))} for v in C]), hps
    return get_problem("bernoulli-linear:c=1,p=0.3",
                       instances=[{"C": repr(float(v)), "seed": str(b)}
                                  for b, v in enumerate(C)]), hps


def child() -> int:
    import numba

    from amsgrad_theory import simulate

    numba.set_num_threads(1)
    problem, hps = target1_batch()
    out = {}
    for dtype, statistics in RUNS:
        def run():
            return simulate("amsgrad", problem, steps=T, arithmetic=f"{dtype}:numba",
                            hyperparameters=hps, statistics=statistics)

        run()
        times = []
        for _ in range(4):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        out[f"{dtype}/{statistics}"] = min(times)
    print(json.dumps(out))
    return 0


def main() -> int:
    if sys.argv[1:] == ["--child"]:
        return child()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        env.pop("AMSGRAD_THEORY_NUMBA_CACHE", None)
        results = []
        for _ in ("compiles", "loads"):
            r = subprocess.run([sys.executable, __file__, "--child"], env=env,
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr[-2000:], file=sys.stderr)
                return 1
            results.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print("seconds per call (best of 4): process that compiled | process that loaded")
    for key in results[0]:
        print(f"  {key:16s} {results[0][key]:.4f} | {results[1][key]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
