"""Why the toolkit's float32 lane loops run 8 lanes: numba's LLVM, not the mixed widths.

A probe for target 1's float32 rows (not part of the package). It compiles, with numba as the
toolkit does (``error_model="numpy"``), B = 4096 instances of the bare float32 AMSGrad step on
periodic gradients (the bare C stick's update: α_t = α/√t in float64 rounded to float32,
phase and error flags, the loss sums in float64), in blocks of ``--block`` instances, written
two ways:

* ``fused`` — one lane loop, as the toolkit's kernels are (float64 and float32 values mixed);
* ``split`` — three loops per step: α_t in float64, the update in float32 and 32-bit integers
  only (the gradient and the old iterate go to scratch rows), the float64 loss sums;

and prints, per way, the seconds per run and the lane loop's width (``asm_mix``: the loop
around the packed square root). With ``--force-width 16`` LLVM is told to vectorise every loop
at 16 lanes (``-force-vector-width``), as gcc does with the C stick's float32 loop. Run it as

    .venv/bin/python experiments/benchmarks/float32_width.py
    .venv/bin/python experiments/benchmarks/float32_width.py --force-width 16
    .venv/bin/python experiments/benchmarks/float32_width.py --unmasked-phase
    .venv/bin/python experiments/benchmarks/float32_width.py --dtype float64 --step-per-block
    .venv/bin/python experiments/benchmarks/float32_width.py --toolkit [--force-width 16]

Measured on the Zen 5 (AVX-512, numba 0.68.1 with LLVM 22), block 64, 2026-12-07, two or
three runs each: without the flag both ways run 8 float32 lanes in 256-bit registers, the
split one too although its update loop holds no 64-bit value, in 0.079–0.089 s; forced to 16
lanes (512-bit registers) 0.065–0.075 s. The C stick's float32 loop: 0.040–0.042 s.

``--toolkit`` times the toolkit's own float32 kernels instead (compiled by one child process,
loaded by another, as ``run.py`` does), with ``--force-width`` if given. 2026-12-07, seconds
per call without the flag and with 16 lanes: periodic regret 0.089 → 0.144 (slower), periodic
full 0.225 → 0.152, Bernoulli regret 0.110 → 0.097, Bernoulli full 0.172 → 0.163.

Two other suspects, each a flag: ``--unmasked-phase`` (LLVM stores the select of the phase
with a masked store; without the select: 0.093–0.118 s, no faster) and ``--dtype float64
--step-per-block`` (α/√t divided once per step instead of in every lane-step: 0.097 s against
0.079 s, no faster either).
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
                    nxt = PH[j] + ph_t(1)
                    if unmasked_phase:
                        ph = nxt * ph_t(nxt != PER[j])
                    else:
                        ph = ph_t(0) if nxt == PER[j] else nxt
                    PH[j] = ph
                    g = CP[j] if ph == 1 else CN[j]
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
                    bad |= ph_t(not np.isfinite(g)) | ph_t(not np.isfinite(xn))
                    if split:
                        G[j] = g
                        XO[j] = x
                    else:
                        ell = np.float64(g) * np.float64(x)
                        LS[j] += ell
                        GG[j] += np.float64(g)
                        bad |= ph_t(not np.isfinite(ell))
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
    return 0


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

    from amsgrad_theory import get_problem, simulate

    numba.set_num_threads(1)
    B, T = 4096, 20_000
    C = np.linspace(2, 10, B)
    hps = [{"alpha": repr(0.1 * (1 + b % 4)), "beta1": "0.9", "beta2": "0.99"}
           for b in range(B)]
    problems = {
        "periodic": get_problem("periodic-linear:c=1,period=3",
                                instances=[{"C": repr(float(v))} for v in C]),
        "bernoulli": get_problem("bernoulli-linear:c=1,p=0.3",
                                 instances=[{"C": repr(float(v)), "seed": str(b)}
                                            for b, v in enumerate(C)]),
    }
    for name, statistics in TOOLKIT_RUNS:
        def run():
            return simulate("amsgrad", problems[name], steps=T, arithmetic="float32:numba",
                            hyperparameters=hps, statistics=statistics)

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
