"""Bisect the toolkit's generated block function: re-jit its flattened source with one edit at a
time and time the blocked kernel around it.

Not part of the package. It runs AMSGrad on Theorem 1's periodic gradients with run.py's
target-1 batch (B = 4096, T = 2·10⁴, ``statistics="regret"``, one core) once, keeps that run's
arrays, takes the blocked kernel's per-block function (its flattened source:
``dispatcher.py_func.__specialized_source__``) and, for each edit in :data:`EDITS`, executes the
edited source in the function's own namespace, compiles it, compiles the kernel again around
it (``parallel=True``, as the toolkit does) and times whole runs from the same start (best of
3). x_T is compared with the unedited function's. Compiling in the timing process, each
compile of even the same source lands at its own speed (±10 % here), so an edit counts only
where it beats the repeated "same source" rows.

    .venv/bin/python experiments/benchmarks/kernel_bisect.py [--dtype float32] [--only WORD] [--asm]
    .venv/bin/python experiments/benchmarks/kernel_bisect.py --source   # print the source

2026-12-07, Zen 5, float64, seconds per run, two invocations: the same source 0.073–0.086
and once 0.121 (six compiles); without the checkpoint writer's call 0.068–0.074; the lane loop
over the whole block (zeroed scratch, a compile-time trip count) 0.074–0.076; without the
stores of rows the step leaves unchanged 0.065–0.071; a 0/1 error flag instead of the ranked
code 0.068–0.081; all four 0.065 (three compiles). A hand-written loop in the same data layout
(``float32_width.py --toolkit-layout --dtype float64``) runs 0.049–0.051 s.

Measured in processes that load the kernels (``compile_place.py``'s way), the edits went
apart: handing the checkpoint writer arrays of its own instead of slices of the scratch rows
made every regret kernel faster and no full one slower (periodic regret 0.078 → 0.070 s in
float64, 0.080 → 0.073 s in float32; Bernoulli 0.10 → 0.094 and 0.105 → 0.098; full alike or
faster), and the package does that since; the whole-block loop and the 0/1 flag each moved
the float64 full-statistics kernel from 0.13–0.15 s to 0.22–0.24 s (and the float32 one the
other way, 0.22 → 0.13 s), so neither is kept. The edit "no checkpoint writer call" now
removes the call altogether.

What decided those modes (found 2026-12-07, the edits ``v̂ + 0.0`` and ``phase + 1``, with
``--asm``): for the periodic phase's ``x + 1`` LLVM computes x − (−1), making −1 with
``vpternlogd $255, r, r, r``, which reads r. Zen 5 honours that false dependency, and where the
register allocator picks an r last written at the end of the update (the new iterate, after
the square root and two divisions), each 8-lane iteration waits for the one before: v̂ stored
as v̂ + 0.0 (the same number; another allocation) with the phase + 1 ran 0.261 s against
0.071–0.091 s, every compile. The phase now advances by ``((period >> 63) | 1)``, 1 for every
period but no constant to LLVM, and no all-ones register is left in these loops
(``asm_mix.stale_all_ones``, a row of run.py's reasons); the same edit then ran 0.11 s. With
it, the float32 full-statistics kernel went 0.19 → 0.14 s in this harness.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_place import B, T, target1_batch  # noqa: E402

CKPT = "write_checkpoint(REC, SNAP, XS, b0 + j, k, tf, IACC[b0 + j], VHc, XLc, ACc)"


def _whole_block(s: str) -> str:
    """The lane loop over the block's full width (zeroed scratch, a compile-time trip count)."""
    width = re.search(r"LB = np\.empty\(\(\d+, (\d+)\)", s)
    if width is None:
        return s
    s = re.sub(r"np\.empty\(\((11|16|12), " + width.group(1) + r"\)",
               lambda m: f"np.zeros(({m.group(1)}, {width.group(1)})", s)
    return s.replace("        for j in range(n):\n            _s0_a_t",
                     f"        for j in range({width.group(1)}):\n            _s0_a_t")


def _unchanged_stores(s: str) -> str:
    for line in ("            CB[10, j] = _s_e8\n", "            AB[7, j] = _s_e26\n",
                 "            AB[8, j] = _s_e27\n"):
        s = s.replace(line, "")
    return s


def _flag(s: str) -> str:
    return s.replace("code = _s3_bad_g * 1 + (1 - _s3_bad_g) * (_s3_bad_l * 2 + (1 - _s3_bad_l) "
                     "* (1 - certain(isfinite(_s3_xnew))) * 3)",
                     "code = _s3_bad_g | _s3_bad_l | (1 - certain(isfinite(_s3_xnew)))")


def _plus_one(s: str) -> str:
    """The periodic phase advanced by a literal + 1, as before 2026-12-07 (now by
    ((period >> 63) | 1): 1 for every period, not a constant to LLVM)."""
    return re.sub(r"\+ \((\w+) >> 63 \| 1\)", "+ 1", s)


def _vhat_plus_zero(s: str) -> str:
    """v̂ stored as v̂ + 0.0 (the same number: v̂ ≥ +0): no masked store, and another register
    allocation — one where the all-ones register of + 1 reads the new iterate."""
    return re.sub(r"LB\[4, j\] = (\w+)", r"LB[4, j] = \1 + 0.0", s)


#: label → edit of the source (written against AMSGrad's periodic float64 regret function;
#: an edit whose text is not found leaves the source as it is, and is reported)
EDITS = {
    "same source": lambda s: s,
    "no checkpoint writer call": lambda s: s.replace(CKPT, "pass"),
    "lane loop over the whole block": _whole_block,
    "no stores of unchanged rows": _unchanged_stores,
    "0/1 error flag": _flag,
    "all four": lambda s: _flag(_unchanged_stores(_whole_block(s.replace(CKPT, "pass")))),
    "phase + 1 (before the fix)": _plus_one,
    "v̂ + 0.0": _vhat_plus_zero,
    "v̂ + 0.0, phase + 1": lambda s: _plus_one(_vhat_plus_zero(s)),
    "same source, again": lambda s: s,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    ap.add_argument("--only", default=None, help="the edits whose label contains WORD")
    ap.add_argument("--source", action="store_true", help="print the flattened source")
    ap.add_argument("--asm", action="store_true",
                    help="print each edit's lane loop: lanes, masked stores, stale all-ones")
    args = ap.parse_args(argv)

    import numba

    from amsgrad_theory import simulate
    from amsgrad_theory.engine import compiled, engines

    compiled.DISK_CACHE = False
    numba.set_num_threads(1)
    problem, hps = target1_batch()
    engine_class = engines.Engine
    seen = {}
    plain_run = engine_class.run

    def keep(self, kernel, arrays, t0, t1):
        seen.setdefault("arrays", arrays)
        return plain_run(self, kernel, arrays, t0, t1)

    engine_class.run = keep
    simulate("amsgrad", problem, steps=T, arithmetic=f"{args.dtype}:numba",
             hyperparameters=hps, statistics="regret")
    engine_class.run = plain_run
    arrays = seen["arrays"]
    kernel = list(engines._KERNELS.values())[-1][0]
    kernel = getattr(kernel, "__wrapped__", kernel)
    kernel_globals = kernel.py_func.__globals__
    block_fn = kernel_globals["run_block"].py_func
    source = block_fn.__specialized_source__
    if args.source:
        print(source)
        return 0
    state = arrays.state
    start = {name: getattr(state, name).copy()
             for name in ("lanes", "sums", "counts", "ints", "coupled_loss", "next_checkpoint")}
    chunk = 20_000_000 // B

    def timed(block_dispatcher):
        kernel_globals["run_block"] = block_dispatcher
        k = numba.njit(error_model="numpy", parallel=True)(kernel.py_func)
        best = float("inf")
        for _ in range(4):          # the first call compiles
            for name, value in start.items():
                getattr(state, name)[...] = value
            t0 = time.perf_counter()
            done = 0
            while done < T:
                k(done + 1, min(T, done + chunk), arrays.inputs, state, arrays.outputs)
                done = min(T, done + chunk)
            best = min(best, time.perf_counter() - t0)
        return best, state.lanes[0].copy()

    reference = None
    for label, edit in EDITS.items():
        if args.only and args.only not in label:
            continue
        edited = edit(source)
        if edited == source and not label.startswith("same"):
            print(f"{label}: its text is not in this source; skipped")
            continue
        namespace = dict(block_fn.__globals__)
        exec(compile(edited, f"<{label}>", "exec"), namespace)   # noqa: S102
        edited_fn = numba.njit(error_model="numpy")(namespace[block_fn.__name__])
        seconds, x = timed(edited_fn)
        if args.asm:
            import asm_mix

            m = asm_mix.mix(asm_mix.dispatcher_asm(edited_fn)) or {}
            print(f"    lanes {m.get('lanes_per_iteration')}, masked stores per lane-step "
                  f"{m.get('masked_stores')}, stale all-ones {m.get('stale_all_ones')}")
        if reference is None:
            reference = x
        print(f"{label:34s} {seconds:.4f} s   x_T as the first: {np.array_equal(x, reference)}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
