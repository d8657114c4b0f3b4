"""Why the toolkit's float32 lane loops run 8 lanes, and how fast numba runs the same step.

A probe for target 1's float32 rows (not part of the package). It compiles, with numba as the
toolkit does (``error_model="numpy"``), B = 4096 instances of the bare AMSGrad step on
periodic gradients (the bare C stick's update: α_t = α/√t in float64 rounded to the lane type,
phase and error flags, the loss sums in float64), in blocks of ``--block`` instances, written
two ways:

* ``fused`` — one lane loop, as the toolkit's kernels are (float64 and float32 values mixed);
* ``split`` — three loops per step: α_t in float64, the update in float32 and 32-bit integers
  only (the gradient and the old iterate go to scratch rows), the float64 loss sums;

and prints, per way, the seconds per run and the lane loop's width (``asm_mix``: the loop
around the packed square root). Two pitfalls keep 64-bit values out of the update loop only
when avoided: numba widens int32 arithmetic to int64 unless the result is cast back, and
``a[j] if c else b[j]`` selects an address (LLVM then loads through 64-bit pointers), where
loading both and selecting the value does not. With ``--force-width 16`` LLVM is told to
vectorise every loop at 16 lanes (``-force-vector-width``), as gcc does with the C stick's
float32 loop. ``--toolkit-layout`` adds the fused step laid out as the toolkit's kernel laid
it out until 2026-12-07 15:00 (2-D scratch arrays, int64 phase and period, C and c in
float64, an int64 error flag; the kernel now holds the phase in 32 bits where the batch's
periods fit, C and c as lane values, and a bool error flag).
Run it as

    .venv/bin/python experiments/benchmarks/float32_width.py [--toolkit-layout]
    .venv/bin/python experiments/benchmarks/float32_width.py --force-width 16
    .venv/bin/python experiments/benchmarks/float32_width.py --dtype float64 [--toolkit-layout]
    .venv/bin/python experiments/benchmarks/float32_width.py --unmasked-phase
    .venv/bin/python experiments/benchmarks/float32_width.py --dtype float64 --step-per-block
    .venv/bin/python experiments/benchmarks/float32_width.py --toolkit [--force-width 16]

Measured on the Zen 5 (AVX-512, numba 0.68.1 with LLVM 22), block 64, 2026-12-07, two runs
each (the C sticks: float32 0.040–0.042 s, float64 0.062–0.065 s):

* float32 fused: 8 lanes in 256-bit registers (its widest type is the float64 sums),
  0.050–0.051 s; split: the update loop 16 lanes in 512-bit registers, 0.037–0.054 s; forced
  to 16 lanes: fused 0.034–0.037 s, split 0.041–0.042 s;
* float64 fused: 8 lanes, 512-bit, 0.047–0.049 s;
* the toolkit's layout: float32 0.056–0.058 s, float64 0.049–0.051 s;
* ``--unmasked-phase`` (the phase without a select, which LLVM stores masked): 0.050–0.055 s,
  no faster; ``--dtype float64 --step-per-block`` (α/√t divided once per step, not in every
  lane-step): 0.046–0.069 s, no faster.

So numba runs this step at or beyond the C sticks' speed, in the toolkit's data layout too,
while the toolkit's own kernels take 0.077–0.089 s per call for the same work (``run.py``,
``--toolkit`` below): most of the float32 gap is in the toolkit's generated kernel, not in
numba or LLVM.

``--toolkit`` times the toolkit's own float32 kernels instead (compiled by one child process,
loaded by another, as ``run.py`` does), with ``--force-width`` if given. 2026-12-07, seconds
per call without the flag and with 16 lanes: periodic regret 0.089 → 0.144 (slower), periodic
full 0.225 → 0.152, Bernoulli regret 0.110 → 0.097, Bernoulli full 0.172 → 0.163.

Later that day the periodic regret kernel's slowdown at 16 lanes turned out to be a false
dependency (an all-ones register made by vpternlogd, ``kernel_bisect.py``); with the phase
advanced without it, 16 lanes helped every float32 kernel (periodic regret 0.082 → 0.067,
full 0.137 → 0.121, Bernoulli regret 0.107 → 0.091, full 0.173 → 0.175), and the toolkit now
compiles its blocked float32 kernels at 16 lanes itself on Zen 5 (AVX-512)
(``compiled.vector_width``), resetting the option after: ``--force-width`` no longer changes
them, and ``--toolkit`` alone times them as the toolkit runs them (0.071–0.072, 0.127–0.133,
0.090, 0.155–0.164).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def make(block: int, split: bool, dtype=np.float32, unmasked_phase: bool = False,
         step_per_block: bool = False):
    """The run function; ``unmasked_phase``: the phase computed as nxt·(nxt ≠ period) instead of
    a select, which LLVM stores with a masked store; ``step_per_block``: α_t = α/√t divided
    once per step and block (every instance has the block's first α; all α are equal in
    :func:`main`'s runs when this is set) instead of once per lane-step."""
    import numba

    real, ph_t = dtype, np.int32

    @numba.njit(error_model="numpy")
    def run(alpha, C, c, T, beta1, beta2):
        B = alpha.shape[0]
        lo, hi = real(-1.0), real(1.0)
        b1, b2 = real(beta1), real(beta2)
        w1, w2 = real(1.0 - beta1), real(1.0 - beta2)
        out = 0.0
        for b0 in range(0, B, block):
            AL = np.empty(block, np.float64)
            CP = np.empty(block, real)
            CN = np.empty(block, real)
            STEP = np.empty(block, real)
            G = np.empty(block, real)
            XO = np.empty(block, real)
            PH = np.zeros(block, ph_t)
            PER = np.full(block, 3, ph_t)
            X = np.zeros(block, real)
            M = np.zeros(block, real)
            V = np.zeros(block, real)
            VH = np.zeros(block, real)
            LS = np.zeros(block, np.float64)
            GG = np.zeros(block, np.float64)
            for j in range(block):
                AL[j] = alpha[b0 + j]
                CP[j] = C[b0 + j]
                CN[j] = -c[b0 + j]
            for t in range(1, T + 1):
                st = np.sqrt(np.float64(t))
                step0 = real(AL[0] / st)
                bad = ph_t(0)
                bad64 = 0
                if split:
                    for j in range(block):
                        STEP[j] = real(AL[j] / st)
                for j in range(block):
                    step = step0 if step_per_block else STEP[j] if split else real(AL[j] / st)
                    nxt = ph_t(PH[j] + ph_t(1))   # numba widens int32 sums to int64
                    if unmasked_phase:
                        ph = nxt * ph_t(nxt != PER[j])
                    else:
                        ph = ph_t(0) if nxt == PER[j] else nxt
                    PH[j] = ph
                    cp, cn = CP[j], CN[j]          # both loaded: a select of values
                    g = cp if ph == ph_t(1) else cn
                    x = X[j]
                    vh_old = VH[j]
                    m = b1 * M[j] + w1 * g
                    v = b2 * V[j] + w2 * (g * g)
                    vh = vh_old if vh_old >= v else v
                    root = np.sqrt(vh)
                    safe = root if root > 0 else real(1)
                    xhat = x - step * (m / safe)
                    y = xhat if xhat >= lo else lo
                    xn = y if y <= hi else hi
                    bad = ph_t(bad | ph_t(not np.isfinite(g)) | ph_t(not np.isfinite(xn)))
                    if split:
                        G[j] = g
                        XO[j] = x
                    else:
                        ell = np.float64(g) * np.float64(x)
                        LS[j] += ell
                        GG[j] += np.float64(g)
                        bad = ph_t(bad | ph_t(not np.isfinite(ell)))
                    X[j] = xn
                    M[j] = m
                    V[j] = v
                    VH[j] = vh
                if split:
                    for j in range(block):
                        ell = np.float64(G[j]) * np.float64(XO[j])
                        LS[j] += ell
                        GG[j] += np.float64(G[j])
                        bad64 |= np.int64(not np.isfinite(ell))
                if bad != 0 or bad64 != 0:
                    break
            for j in range(block):
                out += LS[j] + GG[j] + X[j]
        return out

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--force-width", type=int, default=None, metavar="LANES")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--unmasked-phase", action="store_true",
                        help="the phase without a select (no masked store)")
    parser.add_argument("--step-per-block", action="store_true",
                        help="one alpha for all, alpha/sqrt(t) divided once per step and block")
    parser.add_argument("--toolkit-layout", action="store_true",
                        help="also the fused step in the toolkit kernel's data layout")
    parser.add_argument("--toolkit", action="store_true",
                        help="time the toolkit's own float32 kernels instead (see toolkit())")
    parser.add_argument("--toolkit-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.force_width:
        import llvmlite.binding as llvm

        llvm.set_option("", f"-force-vector-width={args.force_width}")
    if args.toolkit_child:
        return toolkit_child(args.toolkit_child)
    if args.toolkit:
        return toolkit(args.force_width)
    import asm_mix

    B, T = 4096, 20_000
    alpha = 0.1 * (np.ones(B) if args.step_per_block else 1 + np.arange(B) % 4)
    C = np.linspace(2, 10, B)
    c = np.ones(B)
    results = {}
    for split in (False, True):
        fn = make(args.block, split, np.dtype(args.dtype).type, args.unmasked_phase,
                  args.step_per_block)
        results[split] = fn(alpha, C, c, T, 0.9, 0.99)
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            fn(alpha, C, c, T, 0.9, 0.99)
            times.append(time.perf_counter() - t0)
        mix = asm_mix.mix(fn.inspect_asm(fn.signatures[0])) or {}
        width = mix.get("vector_bytes", 0) * 8
        print(f"{'split' if split else 'fused'}: {min(times):.4f} s (best of {args.rounds}); "
              f"update loop {mix.get('lanes_per_iteration')} lanes per iteration, "
              f"{width}-bit registers, {mix.get('instructions')} instructions per lane-step")
    print(f"same sums both ways: {results[False] == results[True]}")
    if args.toolkit_layout:
        fn = make_toolkit_layout(args.block, np.dtype(args.dtype).type)
        same = fn(alpha, C, c, T, 0.9, 0.99) == results[False]
        times = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            fn(alpha, C, c, T, 0.9, 0.99)
            times.append(time.perf_counter() - t0)
        print(f"toolkit layout: {min(times):.4f} s (best of {args.rounds}); same sums as "
              f"fused: {same}")
    return 0


def make_toolkit_layout(block: int, dtype=np.float32):
    """The fused step laid out as the toolkit's blocked kernel lays it out: one 2-D scratch
    array per kind (lane rows in the lane dtype, sums and parameters in float64, integers in
    int64 — the phase and the period), C and c read in float64 and rounded at use, the error
    flags of g, the loss and x OR-ed into an int64."""
    import numba

    real = dtype

    @numba.njit(error_model="numpy")
    def run(alpha, C, c, T, beta1, beta2):
        B = alpha.shape[0]
        lo, hi = real(-1.0), real(1.0)
        b1, b2 = real(beta1), real(beta2)
        w1, w2 = real(1.0 - beta1), real(1.0 - beta2)
        out = 0.0
        for b0 in range(0, B, block):
            LB = np.zeros((11, block), real)
            AB = np.zeros((16, block), np.float64)
            CB = np.zeros((12, block), np.int64)
            for j in range(block):
                AB[9, j] = alpha[b0 + j]
                AB[13, j] = C[b0 + j]
                AB[14, j] = c[b0 + j]
                CB[10, j] = 3
            for t in range(1, T + 1):
                st = np.sqrt(np.float64(t))
                bad = 0
                for j in range(block):
                    step = real(AB[9, j] / st)
                    nxt = CB[11, j] + 1
                    ph = 0 if nxt == CB[10, j] else nxt
                    CB[11, j] = ph
                    cp, cn = AB[13, j], AB[14, j]
                    g = real(cp) if ph == 1 else -real(cn)
                    x = LB[0, j]
                    vh_old = LB[4, j]
                    m = b1 * LB[2, j] + w1 * g
                    v = b2 * LB[3, j] + w2 * (g * g)
                    vh = vh_old if vh_old >= v else v
                    root = np.sqrt(vh)
                    safe = root if root > 0 else real(1)
                    xhat = x - step * (m / safe)
                    y = xhat if xhat >= lo else lo
                    xn = y if y <= hi else hi
                    ell = np.float64(g) * np.float64(x)
                    AB[0, j] += ell
                    AB[6, j] += np.float64(g)
                    bad = bad | (0 if np.isfinite(g) else 1) | (0 if np.isfinite(ell) else 1) \
                        | (0 if np.isfinite(xn) else 1)
                    LB[0, j] = xn
                    LB[1, j] = x
                    LB[2, j] = m
                    LB[3, j] = v
                    LB[4, j] = vh
                if bad != 0:
                    break
            for j in range(block):
                out += AB[0, j] + AB[6, j] + LB[0, j]
        return out

    return run


TOOLKIT_RUNS = [(p, s) for p in ("periodic", "bernoulli") for s in ("regret", "full")]


def toolkit(force_width: int | None) -> int:
    """The toolkit's float32 kernels (AMSGrad, B = 4096, T = 2·10⁴, one core, as target 1 of
    ``run.py``), compiled by one child process into a fresh numba cache folder and timed by a
    second that loads them, each child with ``--force-width`` if given: the flag acts when a
    kernel compiles, and it acts on every loop LLVM vectorises in that process."""
    import os
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        flags = ["--force-width", str(force_width)] if force_width else []
        for role in ("compile", "time"):
            r = subprocess.run([sys.executable, __file__, *flags, "--toolkit-child", role],
                               env=env, capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr[-2000:], file=sys.stderr)
                return 1
        print(f"toolkit float32 kernels, loaded from disk (force width: {force_width}):")
        print(r.stdout, end="")
    return 0


def toolkit_child(role: str) -> int:
    import numba
    from compile_place import T, target1_batch

    from amsgrad_theory import simulate

    numba.set_num_threads(1)
    batches = {name: target1_batch(name) for name in ("periodic", "bernoulli")}
    for name, statistics in TOOLKIT_RUNS:
        def run():
            return simulate("amsgrad", batches[name][0], steps=T, arithmetic="float32:numba",
                            hyperparameters=batches[name][1], statistics=statistics)

        run()
        if role == "time":
            times = []
            for _ in range(4):
                t0 = time.perf_counter()
                run()
                times.append(time.perf_counter() - t0)
            print(f"  {name} {statistics}: {min(times):.4f} s per call (best of 4)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
