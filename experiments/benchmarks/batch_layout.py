"""Time per lane-step against the batch size B: the run state's row layout (issue 14's finding).

Run:  NUMBA_NUM_THREADS=1 .venv/bin/python experiments/benchmarks/batch_layout.py

AMSGrad on random-linear:d=3 (the sweep benchmark's problem), T = 2000, one thread, for B
around powers of two, each after a warm-up run (compiled kernels come from the disk cache).
Before the state's rows were laid an odd number of cache lines apart
(``amsgrad_theory.engine.arrays.state_rows``) B = 4096 ran 3.4-3.8x slower than B = 4000
(148-155 vs 40-45 ns per lane-step): every row of a lane fell in one L1 set. A ratio near 1
in the last column is the layout working.
"""

from __future__ import annotations

import time

from amsgrad_theory import get_problem, simulate


def ns_per_lane_step(B: int, T: int = 2000, d: int = 3) -> float:
    problem = get_problem(f"random-linear:d={d}", instances=[{"seed": str(s)} for s in range(B)])
    simulate("amsgrad", problem, steps=10)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        simulate("amsgrad", problem, steps=T)
        best = min(best, time.perf_counter() - t0)
    return best / (B * T * d) * 1e9


def main() -> None:
    print("B      ns/lane-step   B-96 ns/lane-step   ratio")
    for B in (1024, 2048, 4096, 8192):
        power, near = ns_per_lane_step(B), ns_per_lane_step(B - 96)
        print(f"{B:<6} {power:12.1f}   {near:17.1f}   {power / near:5.2f}")


if __name__ == "__main__":
    main()
