"""Why the toolkit's blocked numba kernel runs below the vectorised C loop: each obstacle measured.

Standalone numba kernels of the BARE computation (AMSGrad, alpha_t = alpha/sqrt(t), periodic-
linear, clipped to [-1, 1], with the regret's accumulators: loss, G; the non-finite check)
whose structure is switched one feature at a time between the toolkit's blocked kernel
(amsgrad_theory.engine.kernels.make_blocked_kernel with statistics="regret") and the C stick
(reference.c, STATS=1). Every variant's x_T, loss and G are compared bit for bit with the C
stick's; the rates are timed interleaved (medians over rounds) on one core.

Features (``TOOLKIT`` has all of them, ``IDEAL`` none):

rows2d      the block's state in 2-D scratch arrays indexed [row, j] (LB, AB, CB), as the
            toolkit; else one 1-D array per quantity (with many quantities LLVM then gives up:
            "loop not vectorized: too many memory checks needed")
flat        (with rows2d, not a toolkit feature) the rows of each scratch array at constant
            offsets r * BLOCK of one 1-D array: LLVM proves the rows disjoint, needs no
            run-time alias checks, and chooses its vector width freely
all_stores  (with rows2d) every lane-step reads the lane's tuples (10 lane rows, 9
            accumulators, 10 counters) before the step and writes every row back after it, also
            those statistics="regret" leaves unchanged, as the toolkit; else only x, m, v,
            v-hat, loss, G and the phase are written
errcode     "toolkit": the error code bad_g*1 + (1-bad_g)*(bad_l*2 + (1-bad_l)*bad_x*3) from
            np.isfinite, OR-ed into an int64; "cheap": |g|, |l|, |x| <= max OR-ed into a
            lane-width integer; "none"
runtime_n   the lane loop runs to the block's count n (a run-time value; LLVM adds a scalar
            remainder and alias checks); else to the block size, a compile-time constant
int64       the phase (and error code) in int64 also beside float32 lanes; else lane-width
lane_params the problem's C and c kept in the lane type; else float64, cast every lane-step (as
            the toolkit's data(): cast(fp[0]), -cast(fp[1]))
at          "lane": alpha_t = alpha_j/sqrt(t) per lane and step (toolkit and C stick); "block":
            once per block and step (blocks made of instances with equal alpha)

Run:  .venv/bin/python experiments/benchmarks/obstacles.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import asm_mix  # noqa: E402
import sticks  # noqa: E402

TOOLKIT = {"rows2d": True, "all_stores": True, "errcode": "toolkit", "runtime_n": True,
           "int64": True, "lane_params": False, "at": "lane"}
IDEAL = {"rows2d": False, "all_stores": False, "errcode": "cheap", "runtime_n": False,
         "int64": False, "lane_params": True, "at": "lane"}
# toolkit rows (amsgrad_theory.engine.kernels)
X, XL, M, V, VH, EPREV, HPREV, EMAX, HMAX, W = range(10)
N_LANE, N_ACC, N_CNT = 10, 9, 10
LOSS, S0 = 0, 6


def make_kernel(dtype: str, block: int, rows2d: bool, all_stores: bool, errcode: str,
                runtime_n: bool, int64: bool, at: str, lane_params: bool,
                stats: str = "regret", flat: bool = False):
    """run(alpha, C, c, period, T, lo, hi, x_out, loss_out, G_out, F_out) -> first bad step.

    ``stats="full"`` adds statistics="full"'s effective-step record, Σg², max|g|, v̂
    decreases and bound terms (``F_out``: 8 × B float64: Σg², max|g|, Σβ1√v̂/α, energy,
    rises, step of the largest rise, first rise, largest relative rise).

    ``rows2d``: the toolkit's run_block layout (LB, AB, CB indexed [row, j]); else one 1-D
    array per quantity (``all_stores`` then does not apply: only what changes is stored)."""
    import numba

    real = np.float64 if dtype == "float64" else np.float32
    ity = np.int64 if (dtype == "float64" or int64) else np.int32
    fmax = real(np.finfo(real).max)
    dmax = np.finfo(np.float64).max
    b1, b2 = real(0.9), real(0.99)
    w1, w2 = real(1.0 - 0.9), real(1.0 - 0.99)
    one, zero = real(1.0), real(0.0)
    izero, ione = ity(0), ity(1)
    BLK = block
    per_block_at = at == "block"
    toolkit_code = errcode == "toolkit"
    cheap_code = errcode == "cheap"
    CPR, CNR = N_LANE + 1, N_LANE + 2          # lane-typed C, -c (rows of LB)
    ALPHA, FC, FNC = N_ACC, N_ACC + 4, N_ACC + 5   # float64 alpha, C, c (rows of AB)
    PER, PH = N_CNT, N_CNT + 1                 # the problem's integers (rows of CB)
    full = stats == "full"
    inf = real(np.inf)
    beta1_s = 0.9
    # toolkit rows of the full statistics
    SG2, MAG, B1R, ENERGY = 2, 3, 4, 5
    ECNT, EUND, ETMAX, EFIRST, HCNT, HUND, HTMAX, HFIRST, VHDEC, VHUND = range(10)

    @numba.njit(error_model="numpy", inline="always")
    def full_stats(t, g, m, vh_old, vh, root, step, a_t, ep, em, sg, mg, b1a, en, ec, et, ef,
                   vd):
        """statistics="full" of one lane-step (kernels.make_lane_stats, hat = eta): the
        toolkit's formulas (counts and steps as sums of 0/1 products)."""
        safe = root if root > zero else one
        eta = step / safe if root > zero else inf
        gw = np.float64(g)
        sg = sg + gw * gw
        ag = abs(gw)
        mg = mg if mg >= ag else ag
        vd = vd + (ione if vh_old > vh else izero)
        rise = np.isfinite(ep) and np.isfinite(eta) and eta > ep
        ri = ione if rise else izero
        ec = ec + ri
        rel = eta / ep - one if (rise and ep > zero) else zero
        better = ione if (rise and rel > em) else izero
        tt = ity(t)
        et = et + better * (tt - et)
        ef = ef + ri * (ione if ef == izero else izero) * tt
        em = em if em >= rel else rel
        r = np.float64(root)
        mw = np.float64(m)
        rs = r if r > 0.0 else 1.0
        b1a = b1a + beta1_s * r / a_t
        en = en + (a_t * mw * mw / rs if r > 0.0 else 0.0)
        return eta, em, sg, mg, b1a, en, ec, et, ef, vd

    @numba.njit(error_model="numpy", inline="always")
    def lane(x, m, v, vh, g, step):
        """The update (rules.make_rule for the paper's AMSGrad, eps = 0)."""
        m = b1 * m + w1 * g
        v = b2 * v + w2 * (g * g)
        vh = vh if vh >= v else v
        root = np.sqrt(vh)
        safe = root if root > zero else one
        xhat = x - step * (m / safe)
        return m, v, vh, xhat, root

    @numba.njit(error_model="numpy", inline="always")
    def check(bad, g, ell, xn):
        if toolkit_code:
            bad_g = 0 if np.isfinite(g) else 1
            bad_l = 0 if np.isfinite(ell) else 1
            bad_x = 0 if np.isfinite(xn) else 1
            return bad | (bad_g * 1 + (1 - bad_g) * (bad_l * 2 + (1 - bad_l) * bad_x * 3))
        if cheap_code:
            return bad | ity(not (abs(g) <= fmax)) | ity(not (abs(ell) <= dmax)) \
                | ity(not (abs(xn) <= fmax))
        return bad

    @numba.njit(error_model="numpy")
    def run_rows(alpha, C, c, period, T, lo, hi, x_out, loss_out, G_out, F_out):
        B = alpha.shape[0]
        nb = (B + BLK - 1) // BLK
        lo_r = real(lo)
        hi_r = real(hi)
        first_bad = 0
        for kb in range(nb):
            b0 = kb * BLK
            n = min(BLK, B - b0)
            LB = np.zeros((N_LANE + 3, BLK), dtype=real)
            AB = np.zeros((N_ACC + 7, BLK), dtype=np.float64)
            CB = np.zeros((N_CNT + 2, BLK), dtype=ity)
            for j in range(BLK):
                b = b0 + (j if j < n else n - 1)
                AB[ALPHA, j] = alpha[b]
                AB[FC, j] = C[b]
                AB[FNC, j] = c[b]
                LB[CPR, j] = real(C[b])
                LB[CNR, j] = -real(c[b])
                CB[PER, j] = period[b]
                LB[EPREV, j] = np.inf
                LB[HPREV, j] = np.inf
            stop = 0
            for t in range(1, T + 1):
                st = np.sqrt(np.float64(t))
                a_blk = AB[ALPHA, 0] / st
                bad = izero if not toolkit_code else 0
                m_end = n if runtime_n else BLK
                for j in range(m_end):
                    a_t = a_blk if per_block_at else AB[ALPHA, j] / st
                    step = real(a_t)
                    ip0 = CB[PER, j]
                    nxt = CB[PH, j] + ione
                    ph = izero if nxt == ip0 else nxt
                    CB[PER, j] = ip0               # advance() returns both integers
                    CB[PH, j] = ph
                    if lane_params:
                        cp = LB[CPR, j]
                        cn = LB[CNR, j]
                    else:               # the toolkit casts its float64 parameters per step
                        cp = real(AB[FC, j])
                        cn = -real(AB[FNC, j])
                    g = cp if ph == ione else cn
                    # the lane's tuples (lane, acc, cnt), read before the step
                    x, m0, v0, vh0 = LB[X, j], LB[M, j], LB[V, j], LB[VH, j]
                    ep, hp, em, hm = LB[EPREV, j], LB[HPREV, j], LB[EMAX, j], LB[HMAX, j]
                    a0, a1, a2, a3, a4, a5, a6, a7, a8 = (AB[0, j], AB[1, j], AB[2, j], AB[3, j],
                                                          AB[4, j], AB[5, j], AB[6, j], AB[7, j],
                                                          AB[8, j])
                    k0, k1, k2, k3, k4, k5, k6, k7, k8, k9 = (
                        CB[0, j], CB[1, j], CB[2, j], CB[3, j], CB[4, j], CB[5, j], CB[6, j],
                        CB[7, j], CB[8, j], CB[9, j])
                    ell = np.float64(g) * np.float64(x)
                    m, v, vh, xhat, root = lane(x, m0, v0, vh0, g, step)
                    y = xhat if xhat >= lo_r else lo_r
                    xn = y if y <= hi_r else hi_r
                    bad = check(bad, g, ell, xn)
                    LB[X, j] = xn
                    LB[M, j] = m
                    LB[V, j] = v
                    LB[VH, j] = vh
                    AB[LOSS, j] = a0 + ell
                    AB[S0, j] = a6 + np.float64(g)
                    if full:
                        eta, em, a2, a3, a4, a5, k0, k2, k3, k8 = full_stats(
                            t, g, m, vh0, vh, root, step, a_t, ep, em, a2, a3, a4, a5, k0, k2,
                            k3, k8)
                        LB[EPREV, j] = eta
                        LB[EMAX, j] = em
                        AB[SG2, j] = a2
                        AB[MAG, j] = a3
                        AB[B1R, j] = a4
                        AB[ENERGY, j] = a5
                        CB[ECNT, j] = k0
                        CB[ETMAX, j] = k2
                        CB[EFIRST, j] = k3
                        CB[VHDEC, j] = k8
                        if all_stores:  # the eta-hat record: the same values again
                            ep, hp, hm = eta, eta, em
                            k4, k6, k7 = k0, k2, k3
                    if all_stores:      # every other row too, unchanged or not
                        LB[XL, j] = x
                        LB[EPREV, j] = ep
                        LB[HPREV, j] = hp
                        LB[EMAX, j] = em
                        LB[HMAX, j] = hm
                        LB[W, j] = root
                        AB[1, j] = a1
                        AB[2, j] = a2
                        AB[3, j] = a3
                        AB[4, j] = a4
                        AB[5, j] = a5
                        AB[7, j] = a7
                        AB[8, j] = a8
                        CB[0, j] = k0
                        CB[1, j] = k1
                        CB[2, j] = k2
                        CB[3, j] = k3
                        CB[4, j] = k4
                        CB[5, j] = k5
                        CB[6, j] = k6
                        CB[7, j] = k7
                        CB[8, j] = k8
                        CB[9, j] = k9
                if bad != 0:
                    stop = t
                    break
            for j in range(n):
                x_out[b0 + j] = LB[X, j]
                loss_out[b0 + j] = AB[LOSS, j]
                G_out[b0 + j] = AB[S0, j]
                F_out[0, b0 + j] = AB[SG2, j]
                F_out[1, b0 + j] = AB[MAG, j]
                F_out[2, b0 + j] = AB[B1R, j]
                F_out[3, b0 + j] = AB[ENERGY, j]
                F_out[4, b0 + j] = CB[ECNT, j]
                F_out[5, b0 + j] = CB[ETMAX, j]
                F_out[6, b0 + j] = CB[EFIRST, j]
                F_out[7, b0 + j] = LB[EMAX, j]
            if stop and (first_bad == 0 or stop < first_bad):
                first_bad = stop
        return first_bad

    @numba.njit(error_model="numpy")
    def run_1d(alpha, C, c, period, T, lo, hi, x_out, loss_out, G_out, F_out):
        B = alpha.shape[0]
        nb = (B + BLK - 1) // BLK
        lo_r = real(lo)
        hi_r = real(hi)
        first_bad = 0
        for kb in range(nb):
            b0 = kb * BLK
            n = min(BLK, B - b0)
            Xa = np.zeros(BLK, dtype=real)
            Ma = np.zeros(BLK, dtype=real)
            Va = np.zeros(BLK, dtype=real)
            VHa = np.zeros(BLK, dtype=real)
            LS = np.zeros(BLK, dtype=np.float64)
            GG = np.zeros(BLK, dtype=np.float64)
            AL = np.zeros(BLK, dtype=np.float64)
            CP = np.zeros(BLK, dtype=np.float64)
            CN = np.zeros(BLK, dtype=np.float64)
            CPr = np.zeros(BLK, dtype=real)
            CNr = np.zeros(BLK, dtype=real)
            PERa = np.zeros(BLK, dtype=ity)
            PHa = np.zeros(BLK, dtype=ity)
            EPa = np.full(BLK, np.inf, dtype=real)
            EMa = np.zeros(BLK, dtype=real)
            SGa = np.zeros(BLK, dtype=np.float64)
            MGa = np.zeros(BLK, dtype=np.float64)
            B1a = np.zeros(BLK, dtype=np.float64)
            ENa = np.zeros(BLK, dtype=np.float64)
            ECa = np.zeros(BLK, dtype=ity)
            ETa = np.zeros(BLK, dtype=ity)
            EFa = np.zeros(BLK, dtype=ity)
            VDa = np.zeros(BLK, dtype=ity)
            for j in range(BLK):
                b = b0 + (j if j < n else n - 1)
                AL[j] = alpha[b]
                CP[j] = C[b]
                CN[j] = c[b]
                CPr[j] = real(C[b])
                CNr[j] = -real(c[b])
                PERa[j] = period[b]
            stop = 0
            for t in range(1, T + 1):
                st = np.sqrt(np.float64(t))
                a_blk = AL[0] / st
                bad = izero if not toolkit_code else 0
                m_end = n if runtime_n else BLK
                for j in range(m_end):
                    a_t = a_blk if per_block_at else AL[j] / st
                    step = real(a_t)
                    nxt = PHa[j] + ione
                    ph = izero if nxt == PERa[j] else nxt
                    if lane_params:     # both loaded: a select, not a conditional load
                        cp = CPr[j]
                        cn = CNr[j]
                    else:
                        cp = real(CP[j])
                        cn = -real(CN[j])
                    g = cp if ph == ione else cn
                    x = Xa[j]
                    ell = np.float64(g) * np.float64(x)
                    vh0 = VHa[j]
                    m, v, vh, xhat, root = lane(x, Ma[j], Va[j], vh0, g, step)
                    y = xhat if xhat >= lo_r else lo_r
                    xn = y if y <= hi_r else hi_r
                    bad = check(bad, g, ell, xn)
                    Xa[j] = xn
                    Ma[j] = m
                    Va[j] = v
                    VHa[j] = vh
                    LS[j] = LS[j] + ell
                    GG[j] = GG[j] + np.float64(g)
                    PHa[j] = ph
                    if full:
                        (EPa[j], EMa[j], SGa[j], MGa[j], B1a[j], ENa[j], ECa[j], ETa[j], EFa[j],
                         VDa[j]) = full_stats(t, g, m, vh0, vh, root, step, a_t, EPa[j], EMa[j],
                                              SGa[j], MGa[j], B1a[j], ENa[j], ECa[j], ETa[j],
                                              EFa[j], VDa[j])
                if bad != 0:
                    stop = t
                    break
            for j in range(n):
                x_out[b0 + j] = Xa[j]
                loss_out[b0 + j] = LS[j]
                G_out[b0 + j] = GG[j]
                F_out[0, b0 + j] = SGa[j]
                F_out[1, b0 + j] = MGa[j]
                F_out[2, b0 + j] = B1a[j]
                F_out[3, b0 + j] = ENa[j]
                F_out[4, b0 + j] = ECa[j]
                F_out[5, b0 + j] = ETa[j]
                F_out[6, b0 + j] = EFa[j]
                F_out[7, b0 + j] = EMa[j]
            if stop and (first_bad == 0 or stop < first_bad):
                first_bad = stop
        return first_bad

    if rows2d and flat:
        # the same kernel with its scratch rows flattened into 1-D arrays, row r of a block
        # at the constant offset r * BLK: LLVM then sees that rows do not overlap
        src = textwrap.dedent(inspect.getsource(run_rows.py_func))
        src = src[src.index("def "):]
        src = re.sub(r"np\.zeros\(\(([^,]+), BLK\)", r"np.zeros((\1) * BLK", src)
        src = re.sub(r"\b(LB|AB|CB)\[([^\[\]]+?), (j|0)\]", r"\1[(\2) * BLK + \3]", src)
        namespace = dict(globals())
        namespace.update({k: v for k, v in locals().items() if k != "namespace"})
        exec(compile(src, "<flat run_rows>", "exec"), namespace)
        return numba.njit(error_model="numpy")(namespace["run_rows"])
    return run_rows if rows2d else run_1d


class Case:
    """One variant: its kernel, its output buffers, and a call with fixed inputs."""

    def __init__(self, name, dtype, block, features, inputs, T, stats="regret"):
        self.name, self.dtype, self.block, self.features = name, dtype, block, features
        self.kernel = make_kernel(dtype, block, stats=stats, **features)
        self.inputs, self.T = inputs, T
        B = len(inputs[0])
        self.x = np.zeros(B, dtype=np.float64 if dtype == "float64" else np.float32)
        self.loss = np.zeros(B)
        self.G = np.zeros(B)
        self.F = np.zeros((8, B))

    def __call__(self):
        alpha, C, c, period = self.inputs
        return self.kernel(alpha, C, c, period, self.T, -1.0, 1.0, self.x, self.loss, self.G,
                           self.F)


def toolkit_case(dtype, alpha, C, T, stats="regret"):
    """(call, x_T, asm of its per-block function) of the toolkit's own run on the same batch,
    or None when the toolkit does not run here."""
    try:
        from amsgrad_theory import get_problem, simulate
    except Exception as exc:     # the package is being edited: the table goes on without it
        print(f"toolkit skipped: {exc!r}", file=sys.stderr)
        return None
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": repr(float(v))} for v in C])
    hps = [{"alpha": repr(float(a)), "beta1": "0.9", "beta2": "0.99"} for a in alpha]

    def call():
        return simulate("amsgrad", problem, steps=T, arithmetic=f"{dtype}:numba",
                        hyperparameters=hps, statistics=stats)

    before = asm_mix.block_functions()
    try:
        res = call()
    except Exception as exc:
        print(f"toolkit skipped: {exc!r}", file=sys.stderr)
        return None
    new = [f for k, f in asm_mix.block_functions().items() if k not in before]
    x = np.array([res._state.lane(0, b)[0] for b in range(len(alpha))], dtype=np.float64)
    return call, x, (asm_mix.dispatcher_asm(new[0]) if len(new) == 1 else None)


def interleaved(fns: dict, rounds: int) -> dict:
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def per_round_ratio(times, a, b) -> float:
    """Median over rounds of time[b]/time[a] (> 1: a is faster)."""
    return statistics.median(tb / ta for ta, tb in zip(times[a], times[b]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--dtypes", default="float64,float32")
    ap.add_argument("--json", default=None)
    ap.add_argument("--block", type=int, default=None,
                    help="instances per block (default: the C stick's)")
    ap.add_argument("--llvm-max-bandwidth", action="store_true",
                    help="LLVM's -vectorizer-maximize-bandwidth (the vector width chosen by "
                         "the narrowest type, not the widest): process-wide, set before any "
                         "compile")
    ap.add_argument("--llvm-option", action="append", default=[],
                    help="any other LLVM command-line option (process-wide), e.g. "
                         "-enable-cond-stores-vectorization=false")
    ap.add_argument("--no-toolkit", action="store_true", help="skip the toolkit's own run")
    ap.add_argument("--stats", default="regret", choices=("regret", "full"),
                    help="regret: against the BARE C stick; full: against the SAME-STATISTICS "
                         "C stick")
    args = ap.parse_args(argv)
    options = (["-vectorizer-maximize-bandwidth"] if args.llvm_max_bandwidth else []) \
        + args.llvm_option
    if options:
        import llvmlite.binding as llvm

        for option in options:
            llvm.set_option("", option)
    import numba

    numba.set_num_threads(1)
    B, T = (4096, 20_000) if not args.quick else (512, 500)
    rounds = args.rounds or (5 if not args.quick else 1)
    C = np.linspace(2, 10, B)
    c = np.ones(B)
    period = np.full(B, 3, dtype=np.int64)
    alpha = 0.1 * (1 + np.arange(B) % 4)
    # instances sorted by alpha (blocks of equal alpha, for at="block"); results per instance
    # do not depend on the order
    order = np.argsort(alpha, kind="stable")
    alpha, C = alpha[order], C[order]
    mcpu = asm_mix.host_cpu()
    results = {"B": B, "steps": T, "rounds": rounds, "cpu": mcpu, "dtypes": {},
               "llvm_options": options, "statistics": args.stats}
    kind = "bare" if args.stats == "regret" else "same"
    cname = f"C {kind} stick"
    tmp = Path(tempfile.mkdtemp())
    for dtype in args.dtypes.split(","):
        built = sticks.build_all(tmp, [(dtype, "periodic-linear", kind)])
        stick = built[(dtype, "periodic-linear", kind)]
        inp = sticks.Inputs(alpha, C, c, period, np.zeros(B, np.uint64), np.zeros(B, np.uint64),
                            np.zeros(B))

        def run_stick():
            sticks.run(stick, inp, T)

        run_stick()
        blk = args.block or sticks.block_size()
        cases = {"toolkit-like": dict(TOOLKIT)}
        for f in TOOLKIT:
            if TOOLKIT[f] != IDEAL[f]:
                cases[f"toolkit-like without {f}"] = dict(TOOLKIT, **{f: IDEAL[f]})
        cases["ideal"] = dict(IDEAL)
        for f in TOOLKIT:
            if TOOLKIT[f] != IDEAL[f] and f != "all_stores":
                cases[f"ideal with {f}"] = dict(IDEAL, **{f: TOOLKIT[f]})
        cases["ideal with rows2d, all_stores"] = dict(IDEAL, rows2d=True, all_stores=True)
        cases["ideal with rows2d, flat"] = dict(IDEAL, rows2d=True, flat=True)
        cases["toolkit-like without all_stores, flat"] = dict(TOOLKIT, all_stores=False,
                                                             flat=True)
        cases["ideal, errcode none"] = dict(IDEAL, errcode="none")
        cases["ideal, at block"] = dict(IDEAL, at="block")
        if dtype == "float64":
            cases = {k: v for k, v in cases.items() if "int64" not in k}   # no difference
        objs = {k: Case(k, dtype, blk, v, (alpha, C, c, period), T, args.stats)
                for k, v in cases.items()}
        out = {}
        for k, case in objs.items():
            t0 = time.perf_counter()
            case()
            compile_s = time.perf_counter() - t0
            same = (np.array_equal(case.x.astype(np.float64), inp.lane[0])
                    and np.array_equal(case.loss, inp.acc[0])
                    and np.array_equal(case.G, inp.acc[2]))
            if args.stats == "full":       # Σg², max|g|, bound terms, the record
                same = same and all(np.array_equal(case.F[i], inp.acc[3 + i]) for i in range(4))
                same = same and all(np.array_equal(case.F[4 + i], inp.cnt[i]) for i in range(3))
                same = same and np.array_equal(case.F[7], inp.lane[5])
            sig = case.kernel.signatures[0]
            m = asm_mix.mix(case.kernel.inspect_asm(sig), mcpu)
            out[k] = {"features": case.features, "bitwise_equal_C": bool(same),
                      "compile_s": compile_s, "mix": m}
        fns = {k: v for k, v in objs.items()}
        fns[cname] = run_stick
        if not args.no_toolkit:
            tk = toolkit_case(dtype, alpha, C, T, args.stats)
            if tk is not None:
                fn, res_x, tk_asm = tk
                objs_tk = {"features": f"amsgrad_theory, statistics={args.stats!r}",
                           "bitwise_equal_C": bool(np.array_equal(res_x, inp.lane[0])),
                           "mix": asm_mix.mix(tk_asm, mcpu) if tk_asm else None}
                out["toolkit (amsgrad_theory)"] = objs_tk
                fns["toolkit (amsgrad_theory)"] = fn
        times = interleaved(fns, rounds)
        for k in out:
            out[k]["instance_steps_per_s"] = B * T / statistics.median(times[k])
            out[k]["over_C"] = per_round_ratio(times, k, cname)
        c_rate = B * T / statistics.median(times[cname])
        cmix = asm_mix.mix(asm_mix.gcc_asm(sticks.compiler(), sticks.SOURCE, sticks.FLAGS,
                                           stick.defines) or "", mcpu)
        results["dtypes"][dtype] = {"C_instance_steps_per_s": c_rate, "C_mix": cmix,
                                    "variants": out}
        print(f"\n{dtype}, statistics={args.stats}: {cname} {c_rate:.3g} instance-steps/s; "
              f"mix {cmix}")
        print(f"{'variant':<36} {'rate':>9} {'/C':>6}  bit= C  instr  st   ld  div+sqrt "
              "mask lanes mca")
        for k, e in out.items():
            mm = e["mix"] or {}
            print(f"{k:<36} {e['instance_steps_per_s']:9.3g} {e['over_C']:6.2f}  "
                  f"{str(e['bitwise_equal_C']):6} {mm.get('instructions', 0):5.1f} "
                  f"{mm.get('stores', 0):4.1f} {mm.get('loads', 0):4.1f} "
                  f"{mm.get('divisions', 0) + mm.get('square_roots', 0):6.2f}  "
                  f"{mm.get('masked_moves', 0):4.2f} "
                  f"{mm.get('lanes_per_iteration', 0):3d} {mm.get('mca_cycles', 0):5.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
