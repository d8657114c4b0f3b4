"""The compiled engine: the lane loop compiled by numba (float32 and float64).

Two loops, the same operations in the same order (bit-identical; the tests check it):

* :func:`make_scalar_kernel` — steps × instances × coordinates; any problem (coupled families
  and the ball projection included) and the opt-in trace;
* :func:`make_blocked_kernel` — for separable problems in d = 1: blocks of instances × a chunk of
  steps, the instance loop call-free so that LLVM vectorises it, blocks spread over cores by
  numba's ``prange``.

Both are composed from :func:`~amsgrad_theory.engine.lane.lane_functions` and flattened by the
specialiser before numba compiles them (:func:`compile_kernel`): every lane function inlined
(LLVM vectorises only call-free loops). A lane step that leaves the float range returns the
error's code (gradient, loss, iterate, underflow: ``lane_functions``' ranking); the scalar loop
keeps the step's first one, the blocked kernel ORs a flag per lane and, where one is set, ranks
the block's lanes after the step from their stored state, recomputing g_t and f_t(x_t).

Compiled kernels persist across processes (numba's on-disk cache, in ``__pycache__`` beside
this file or numba's user-wide cache folder; ``NUMBA_CACHE_DIR`` moves it): a kernel is found
again under :func:`kernel_cache_key` — what the kernel is built from (its engine key: dtype,
variant structure, problem family, set kind, statistics) and a SHA-256 digest of the package's
source files, so any code change compiles afresh. The kernels of other sources (an earlier
version, an edited checkout) are deleted once nothing has used them for a day
(:func:`prune_stale_kernels`), so the folder does not grow with every change.
``AMSGRAD_THEORY_NUMBA_CACHE=0`` turns the disk cache off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import re
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import numpy as np

from ..problems import lane_claims
from .arrays import BLOCK
from .lane import lane_functions
from .layout import (
    EMAX,
    EPREV,
    ERR_LOSS,
    HMAX,
    HPREV,
    N_ACC,
    N_CNT,
    N_LANE,
    VH,
    XL,
    M,
    V,
    W,
    X,
)
from .specialize import flatten


def make_scalar_kernel(ar, xp, sp, variant, problem, jit, record_jit=None,
                       full_statistics: bool = True, engine: str = "compiled"):
    """The step × instance × coordinate loop (Python, or compiled by numba); any problem.

    Instances come sorted by their (β1, β2, λ) group: the expensive α-free part of the
    schedule (``powers``) is computed once per group and step, the cheap part (``finish``) per
    instance. ``kernel(t0, t1, inputs, state, outputs)`` advances steps t0..t1 (the named
    structures of :mod:`~amsgrad_theory.engine.layout`).
    """
    parts = lane_functions(xp, sp, variant, problem, jit, record_jit=record_jit,
                           full_statistics=full_statistics,
                           coefficient_namespace=lambda k: ar.coefficient_namespace(engine, k))
    lane_math, powers, finish = parts.lane_math, parts.powers, parts.finish
    advance, data, margin, loss_z = parts.advance, parts.data, parts.margin, parts.loss_z
    project, write_checkpoint = parts.project, parts.write_checkpoint
    write_trace = parts.write_trace
    certain, sisfinite = xp.certain, sp.isfinite
    ifloat, szero = parts.ifloat, parts.szero
    coupled, set_kind = parts.coupled, parts.set_kind

    def kernel(t0, t1, inputs, state, outputs):
        HPI = inputs.instance_hyper
        HPG = inputs.group_hyper
        GS = inputs.group_start
        FP = inputs.floats
        SEQ = inputs.table
        TAIL = inputs.tail
        ck = inputs.checkpoints
        R = inputs.radius
        IP = state.ints
        LN = state.lanes
        ACC = state.sums
        IACC = state.coupled_loss
        CNT = state.counts
        kpos = state.next_checkpoint
        REC = outputs.records
        SNAP = outputs.snapshots
        XS = outputs.iterates
        TR = outputs.trace
        TRS = outputs.trace_scalars
        ERR = outputs.error
        INST = inputs.instance
        B = LN.shape[1]
        d = LN.shape[2]
        L = SEQ.shape[1]
        G = HPG.shape[0]
        K = ck.shape[0]
        ntrace = TR.shape[0]
        lo = inputs.box[0]
        hi = inputs.box[1]
        for t in range(t0, t1 + 1):
            tf = ifloat(t)
            bad = 0
            for g in range(G):
                p0, p1, p2, p3, p4, p5, p6, p7, p8 = powers(tf, HPG[g, 0], HPG[g, 1],
                                                            HPG[g, 2])
                for b in range(GS[g], GS[g + 1]):
                    co = finish(HPI[b, 0], HPI[b, 1], HPI[b, 2], HPI[b, 3], p0, p1, p2, p3, p4,
                                p5, p6, p7, p8)
                    fp = (FP[0, b], FP[1, b], FP[2, b])
                    ip = advance((IP[0, b], IP[1, b]))
                    IP[0, b] = ip[0]
                    IP[1, b] = ip[1]
                    z = szero
                    if coupled:
                        for i in range(d):
                            tab = SEQ[b, t - 1, i] if t <= L else TAIL[b, i]
                            a0, a1 = data(t, i, fp, ip, tab)
                            z = z + margin(LN[X, b, i], a0, a1)
                        fz = loss_z(z)
                        lost = ERR_LOSS * (1 - certain(sisfinite(fz)))
                        if lost != 0 and (bad == 0 or INST[b] < INST[ERR[2]]):
                            ERR[0] = lost
                            ERR[1] = t
                            ERR[2] = b
                            ERR[3] = -1
                        bad = bad | lost
                        IACC[b] = IACC[b] + fz
                        if t <= ntrace:
                            TRS[t - 1, b, 0] = fz
                    for i in range(d):
                        tab = SEQ[b, t - 1, i] if t <= L else TAIL[b, i]
                        a0, a1 = data(t, i, fp, ip, tab)
                        lane = (LN[X, b, i], LN[M, b, i], LN[V, b, i], LN[VH, b, i],
                                LN[EPREV, b, i], LN[HPREV, b, i], LN[EMAX, b, i],
                                LN[HMAX, b, i])
                        acc = (ACC[0, b, i], ACC[1, b, i], ACC[2, b, i], ACC[3, b, i],
                               ACC[4, b, i], ACC[5, b, i], ACC[6, b, i], ACC[7, b, i],
                               ACC[8, b, i])
                        cnt = (CNT[0, b, i], CNT[1, b, i], CNT[2, b, i], CNT[3, b, i],
                               CNT[4, b, i], CNT[5, b, i], CNT[6, b, i], CNT[7, b, i],
                               CNT[8, b, i], CNT[9, b, i])
                        ln, ac, cn, out, code = lane_math(t, z, a0, a1, co, fp, lane, acc, cnt,
                                                          lo, hi)
                        # the step's first error: of the least instance (the rows go by group),
                        # its least coordinate
                        if code != 0 and (bad == 0 or INST[b] < INST[ERR[2]]):
                            ERR[0] = code
                            ERR[1] = t
                            ERR[2] = b
                            ERR[3] = i
                        bad = bad | code
                        for r in range(N_LANE):
                            LN[r, b, i] = ln[r]
                        for r in range(N_ACC):
                            ACC[r, b, i] = ac[r]
                        for r in range(N_CNT):
                            CNT[r, b, i] = cn[r]
                        if t <= ntrace:
                            write_trace(TR, TRS, (t, b, i), ln,
                                        (out[0], out[1], out[2], co.alpha_scalar,
                                         co.beta1_scalar))
                    if set_kind == "ball":
                        project(LN[X], LN[W], R, b)
            if bad != 0:
                return
            k = kpos[0]
            if k < K and t == ck[k]:
                for b in range(B):
                    write_checkpoint(REC, SNAP, XS, b, k, tf, IACC[b], LN[VH, b], LN[XL, b],
                                     ACC[:, b])
                kpos[0] = k + 1
        return

    return kernel


def make_blocked_kernel(ar, xp, sp, variant, problem, jit, block: int = 256, prange=range,
                        block_jit=None, full_statistics: bool = True,
                        narrow_counts: bool = False, narrow_ints: bool = False):
    """The lane loop reordered for SIMD: blocks of instances × a chunk of steps (numba).

    For separable problems in d = 1 (every lane an independent instance), a block of at most
    ``block`` instances of one (β1, β2, λ) group (``inputs.blocks``: group, first row, count) is
    copied into scratch rows, advanced through every step of the chunk, and copied back. The
    instance loop inside the block reads and writes those rows only and calls nothing but
    ``lane_math``, which numba inlines, so LLVM vectorises it; the block's state stays in L1.
    Blocks are independent, so ``prange`` (numba's parallel range) spreads them over cores,
    deterministically. Same operations as :func:`make_scalar_kernel`, so the results are
    bit-identical to it (the tests check this).

    ``block_jit`` compiles the per-block function without inlining it: numba's parallel pass
    then sees one call per block in the ``prange`` body.

    A scratch row is written back each step only where the lane step can change it (the
    constants ``keep_*``, folded by the compiler): without full statistics the effective-step
    record, Σ g², max |g|, the bound terms and the counters stay as they are; the projection
    weight is read by the ball projection only, which this kernel never runs. A store fewer is
    a lane-step cheaper, and the values computed only for a dropped store are dropped with it.
    """
    full = full_statistics
    # the counters in 32 bits where the caller promises that no count or step number reaches
    # 2³¹ (``narrow_counts``) and the lane step keeps them (full statistics): in 64 bits they
    # took 2 loads and 2 stores per counter and 16 float32 lanes, 1.25 of each per lane-step
    # (AMSGrad, B = 4096, T = 2·10⁴, one core, loaded from disk, four runs each way: periodic
    # float32 12.6 → 11.6 instructions per lane-step, 0.117–0.139 → 0.113–0.126 s per call;
    # Bernoulli float32 0.145–0.156 → 0.131–0.148; periodic float64 0.151–0.162 → 0.139–0.151
    # s). The parameters ip then have rows of their own (of ip_dt, below), allocated last;
    # where they stay 64-bit beside 64-bit counters they keep the counters' rows, the layout
    # as before (moving ip's rows ahead of the others' made the Bernoulli regret loop 20 %
    # slower, the same instructions at other addresses)
    wide_counts = not (narrow_counts and full)
    count_dt = np.int64 if wide_counts else np.int32
    # the integer parameters in 32 bits where the caller promises that every value of the run
    # fits (``narrow_ints``; ProblemLanes.advance keeps them within their instance's range):
    # the periodic phase's advance, comparison and select then take one 16-lane vector
    # operation each, not two (float32 regret: 5.56 → 4.88 instructions per lane-step, the C
    # stick's 4.69; 0.059–0.060 → 0.050–0.051 s per call; float64 alike)
    ip_in_counts = wide_counts and not narrow_ints
    ip_dt = np.int32 if narrow_ints else np.int64
    ip_row = N_CNT if ip_in_counts else 0
    if narrow_ints:
        xp = dataclasses.replace(xp, icast=np.int32)
    # the float parameters the problem reads only as lane values, cast once per block and
    # call where the lanes are narrower than the scalars (float32: C and c were rounded from
    # float64 at every lane-step, 4 conversions per 16 lanes)
    narrow = np.dtype(ar.lane_dtype) != np.dtype(ar.scalar_dtype)
    claims = lane_claims(problem)       # a family of the user's own: the general kernel
    lane_f0, lane_f1, lane_f2 = (narrow and k in claims.lane_float_params for k in range(3))
    lane_cast = xp.cast
    # lane rows X, XL, M, V, VH, EPREV, HPREV, EMAX, HMAX, W (layout.LANE_ROWS)
    (keep_l0, keep_l1, keep_l2, keep_l3, keep_l4, keep_l5, keep_l6, keep_l7, keep_l8,
     keep_l9) = (True,) * 5 + (full,) * 4 + (False,)
    # sums LOSS, EXPECTED, SG2, MAG, B1, ENERGY, S0, S1, S2 (layout.SUM_ROWS)
    # (a sufficient statistic the problem's suff passes through is not stored back: S1, S2 of
    # a linear loss were loaded and stored unchanged at every lane-step, 4 loads and 4 stores
    # per 16 float32 lanes; LLVM cannot drop them, not knowing the scratch rows apart)
    (keep_a0, keep_a1, keep_a2, keep_a3, keep_a4, keep_a5, keep_a6, keep_a7,
     keep_a8) = ((True, bool(problem.has_expected)) + (full,) * 4
                 + tuple(k < claims.nsuff for k in range(3)))
    # counters (layout.COUNT_ROWS): v̂'s decreases are recorded only where a max is kept
    keep_c = full
    keep_cv = full and variant.maxes
    parts = lane_functions(xp, sp, variant, problem, jit, record_jit=block_jit,
                           full_statistics=full_statistics, error_codes="flag",
                           coefficient_namespace=lambda k: ar.coefficient_namespace("compiled", k))
    lane_math, powers, finish = parts.lane_math, parts.powers, parts.finish
    advance, data = parts.advance, parts.data
    grad, loss, rank = parts.grad, parts.loss, parts.rank
    ifloat, szero, write_checkpoint = parts.ifloat, parts.szero, parts.write_checkpoint
    lane_dt = ar.lane_dtype
    scalar_dt = ar.scalar_dtype
    block_jit = block_jit or jit

    @block_jit
    def run_block(kb, g, b0, n, t0, t1, k0, ck, PWc, HPI, FP, IP, SEQ, TAIL, lo, hi, LN, ACC,
                  IACC, CNT, REC, SNAP, XS, EB):
        """Advance instances b0 … b0+n−1 through steps t0 … t1; return the next checkpoint."""
        K = ck.shape[0]
        L = SEQ.shape[1]
        LB = np.empty((N_LANE + 1, block), dtype=lane_dt)    # lane rows and the tail
        AB = np.empty((N_ACC + 7, block), dtype=scalar_dt)   # accumulators, hp, fp
        CB = np.empty((N_CNT + 2, block), dtype=count_dt)    # counters (and ip)
        SQ = np.empty((L, block), dtype=lane_dt)
        LF = np.empty((3, block), dtype=lane_dt)              # fp as lane values
        # a checkpoint's values reach the record writer (a call) through arrays of their own,
        # not as slices of the scratch rows: handing the rows to a call made the lane loop
        # slower (AMSGrad, B = 4096, T = 2·10⁴, regret: 0.078 → 0.070 s in float64, 0.080 →
        # 0.073 s in float32; experiments/benchmarks/kernel_bisect.py)
        VHc = np.empty(1, dtype=lane_dt)
        XLc = np.empty(1, dtype=lane_dt)
        ACc = np.empty((N_ACC, 1), dtype=scalar_dt)
        IB = CB if ip_in_counts else np.empty((2, block), dtype=ip_dt)    # ip
        for j in range(n):
            b = b0 + j
            for r in range(N_LANE):
                LB[r, j] = LN[r, b, 0]
            LB[N_LANE, j] = TAIL[b, 0]
            for r in range(N_ACC):
                AB[r, j] = ACC[r, b, 0]
            for r in range(4):
                AB[N_ACC + r, j] = HPI[b, r]
            for r in range(3):
                AB[N_ACC + 4 + r, j] = FP[r, b]
                if narrow:
                    LF[r, j] = lane_cast(FP[r, b])
            for r in range(N_CNT):
                CB[r, j] = CNT[r, b, 0]
            IB[ip_row, j] = IP[0, b]
            IB[ip_row + 1, j] = IP[1, b]
            for u in range(L):
                SQ[u, j] = SEQ[b, u, 0]
        k = k0
        for t in range(t0, t1 + 1):
            q = t - t0
            p0 = PWc[q, g, 0]
            p1 = PWc[q, g, 1]
            p2 = PWc[q, g, 2]
            p3 = PWc[q, g, 3]
            p4 = PWc[q, g, 4]
            p5 = PWc[q, g, 5]
            p6 = PWc[q, g, 6]
            p7 = PWc[q, g, 7]
            p8 = PWc[q, g, 8]
            bad = False
            for j in range(n):
                co = finish(AB[N_ACC, j], AB[N_ACC + 1, j], AB[N_ACC + 2, j],
                            AB[N_ACC + 3, j], p0, p1, p2, p3, p4, p5, p6, p7, p8)
                fp = (LF[0, j] if lane_f0 else AB[N_ACC + 4, j],
                      LF[1, j] if lane_f1 else AB[N_ACC + 5, j],
                      LF[2, j] if lane_f2 else AB[N_ACC + 6, j])
                ip = advance((IB[ip_row, j], IB[ip_row + 1, j]))
                IB[ip_row, j] = ip[0]
                IB[ip_row + 1, j] = ip[1]
                tab = SQ[t - 1, j] if t <= L else LB[N_LANE, j]
                a0, a1 = data(t, 0, fp, ip, tab)
                lane = (LB[X, j], LB[M, j], LB[V, j], LB[VH, j], LB[EPREV, j],
                        LB[HPREV, j], LB[EMAX, j], LB[HMAX, j])
                acc = (AB[0, j], AB[1, j], AB[2, j], AB[3, j], AB[4, j], AB[5, j],
                       AB[6, j], AB[7, j], AB[8, j])
                cnt = (CB[0, j], CB[1, j], CB[2, j], CB[3, j], CB[4, j], CB[5, j],
                       CB[6, j], CB[7, j], CB[8, j], CB[9, j])
                ln, ac, cn, out, code = lane_math(t, szero, a0, a1, co, fp, lane, acc,
                                                  cnt, lo, hi)
                bad = bad | code
                if keep_l0:
                    LB[0, j] = ln[0]
                if keep_l1:
                    LB[1, j] = ln[1]
                if keep_l2:
                    LB[2, j] = ln[2]
                if keep_l3:
                    LB[3, j] = ln[3]
                if keep_l4:
                    LB[4, j] = ln[4]
                if keep_l5:
                    LB[5, j] = ln[5]
                if keep_l6:
                    LB[6, j] = ln[6]
                if keep_l7:
                    LB[7, j] = ln[7]
                if keep_l8:
                    LB[8, j] = ln[8]
                if keep_l9:
                    LB[9, j] = ln[9]
                if keep_a0:
                    AB[0, j] = ac[0]
                if keep_a1:
                    AB[1, j] = ac[1]
                if keep_a2:
                    AB[2, j] = ac[2]
                if keep_a3:
                    AB[3, j] = ac[3]
                if keep_a4:
                    AB[4, j] = ac[4]
                if keep_a5:
                    AB[5, j] = ac[5]
                if keep_a6:
                    AB[6, j] = ac[6]
                if keep_a7:
                    AB[7, j] = ac[7]
                if keep_a8:
                    AB[8, j] = ac[8]
                if keep_c:
                    CB[0, j] = cn[0]
                    CB[1, j] = cn[1]
                    CB[2, j] = cn[2]
                    CB[3, j] = cn[3]
                    CB[4, j] = cn[4]
                    CB[5, j] = cn[5]
                    CB[6, j] = cn[6]
                    CB[7, j] = cn[7]
                if keep_cv:
                    CB[8, j] = cn[8]
                    CB[9, j] = cn[9]
            if bad:
                # a lane of this block has an error at step t: the block stops there, and the
                # kernel ranks its lanes from the state they leave (outside this function:
                # more code here changed how LLVM scheduled the lane loop, slower)
                EB[kb, 0] = t
                EB[kb, 1] = b0
                EB[kb, 2] = n
                break
            if k < K and t == ck[k]:
                tf = ifloat(t)
                for j in range(n):
                    VHc[0] = LB[VH, j]
                    XLc[0] = LB[XL, j]
                    for r in range(N_ACC):
                        ACc[r, 0] = AB[r, j]
                    write_checkpoint(REC, SNAP, XS, b0 + j, k, tf, IACC[b0 + j], VHc, XLc, ACc)
                k += 1
        for j in range(n):
            b = b0 + j
            for r in range(N_LANE):
                LN[r, b, 0] = LB[r, j]
            for r in range(N_ACC):
                ACC[r, b, 0] = AB[r, j]
            for r in range(N_CNT):
                CNT[r, b, 0] = CB[r, j]
            IP[0, b] = IB[ip_row, j]
            IP[1, b] = IB[ip_row + 1, j]
        return k

    def kernel(t0, t1, inputs, state, outputs):
        HPG = inputs.group_hyper
        BLK = inputs.blocks
        G = HPG.shape[0]
        nT = t1 - t0 + 1
        nb = BLK.shape[0]
        lo = inputs.box[0]
        hi = inputs.box[1]
        k0 = state.next_checkpoint[0]
        EB = np.zeros((nb, 3), dtype=np.int64)
        PWc = np.empty((nT, G, 9), dtype=scalar_dt)
        for t in range(t0, t1 + 1):
            tf = ifloat(t)
            for g in range(G):
                p0, p1, p2, p3, p4, p5, p6, p7, p8 = powers(tf, HPG[g, 0], HPG[g, 1],
                                                            HPG[g, 2])
                PWc[t - t0, g, 0] = p0
                PWc[t - t0, g, 1] = p1
                PWc[t - t0, g, 2] = p2
                PWc[t - t0, g, 3] = p3
                PWc[t - t0, g, 4] = p4
                PWc[t - t0, g, 5] = p5
                PWc[t - t0, g, 6] = p6
                PWc[t - t0, g, 7] = p7
                PWc[t - t0, g, 8] = p8
        ck = inputs.checkpoints
        HPI = inputs.instance_hyper
        FP = inputs.floats
        SEQ = inputs.table
        TAIL = inputs.tail
        IP = state.ints
        LN = state.lanes
        ACC = state.sums
        IACC = state.coupled_loss
        CNT = state.counts
        REC = outputs.records
        SNAP = outputs.snapshots
        XS = outputs.iterates
        KE = np.empty(nb, dtype=np.int64)
        for kb in prange(nb):
            # np.int64: numba types kb as int64 when it types this loop and as uint64 when the
            # parallel pass types the loop body again; one type compiles run_block once, not
            # twice (measured: 15.3 s → 8.6 s to compile a blocked kernel)
            KE[kb] = run_block(np.int64(kb), BLK[kb, 0], BLK[kb, 1], BLK[kb, 2], t0, t1, k0,
                               ck, PWc, HPI, FP, IP, SEQ, TAIL, lo, hi, LN, ACC, IACC, CNT, REC,
                               SNAP, XS, EB)
        first = -1
        for kb in range(nb):
            if EB[kb, 0] > 0 and (first < 0 or EB[kb, 0] < EB[first, 0]):
                first = kb
        ERR = outputs.error
        if first >= 0:
            # the first lane with an error at step t — of the least instance: several blocks
            # may stop at t (of other groups, or of one group larger than a block), and a
            # block's rows ascend in instance — and its kind (the lanes flag an error without
            # it: lane_functions' error_codes="flag"): ranked as the lane loop ranks it, from
            # g_t and f_t(x_t) recomputed at x_t, and x_{t+1}, m_t, v_t as the block left them
            # (ranking by the state alone named a moment's overflow a non-finite gradient:
            # g = 1e200 is finite, v = ∞)
            t = EB[first, 0]
            INST = inputs.instance
            ERR[1] = t
            ERR[3] = 0
            found = -1
            for kb in range(nb):
                if EB[kb, 0] != t:
                    continue
                for b in range(EB[kb, 1], EB[kb, 1] + EB[kb, 2]):
                    if found >= 0 and INST[b] > INST[found]:
                        break
                    fp = (lane_cast(FP[0, b]) if lane_f0 else FP[0, b],
                          lane_cast(FP[1, b]) if lane_f1 else FP[1, b],
                          lane_cast(FP[2, b]) if lane_f2 else FP[2, b])
                    tab = SEQ[b, t - 1, 0] if t <= SEQ.shape[1] else TAIL[b, 0]
                    a0, a1 = data(t, 0, fp, (IP[0, b], IP[1, b]), tab)
                    x = LN[XL, b, 0]
                    code = rank(grad(x, a0, a1, szero), loss(x, a0, a1), LN[X, b, 0],
                                LN[M, b, 0], LN[V, b, 0])
                    if code != 0:
                        found = b
                        ERR[0] = code
                        ERR[2] = b
                        break
            if found < 0:       # the flag and rank() test the same values: never, or a bug
                raise RuntimeError("the blocked kernel flagged a step whose lanes rank no "
                                   "error")
            return
        if nb > 0:
            state.next_checkpoint[0] = KE[0]
        return

    return kernel


#: lanes per vector iteration of the blocked float32 kernels' loops where :func:`vector_width`
#: forces them
FLOAT32_AVX512_LANES = 16


def vector_width(ar, blocked: bool) -> int | None:
    """The number of lanes LLVM is told to vectorise a kernel's loops at (None: its own choice).

    The blocked float32 kernel's lane loop holds float32 lanes and float64 sums (the loss, Σg):
    LLVM's cost model sizes the vector by the widest type, 8 lanes in 256-bit registers, where
    gcc runs the C stick's float32 loop at 16 in 512-bit ones. Forced to 16 on an AVX-512 host,
    the toolkit's float32 kernels ran faster or alike (AMSGrad, B = 4096, T = 2·10⁴, one core,
    Zen 5, loaded from disk; ``experiments/benchmarks/float32_width.py --toolkit``): periodic
    regret 0.082 → 0.067 s, full 0.137 → 0.121 s, Bernoulli regret 0.107 → 0.091 s, full
    0.173 → 0.175 s. So it is forced on the CPUs where that was measured (:data:`WIDE_CPUS`,
    with AVX-512), nowhere else: other CPUs (Intel's AVX-512, AVX2, ARM) keep LLVM's choice
    until measured. The numbers are the same either way (the same operations on each lane;
    the tests compare the blocked kernel with the scalar loop bit for bit)."""
    if not blocked or np.dtype(ar.lane_dtype) != np.float32 or not _host_measured_wide():
        return None
    return FLOAT32_AVX512_LANES


#: LLVM's names of the CPUs on which 16 float32 lanes were measured faster (:func:`vector_width`)
WIDE_CPUS = ("znver5",)


@functools.cache
def _host_measured_wide() -> bool:
    import llvmlite.binding as llvm  # numba's LLVM: imported only by runs that compile

    return (llvm.get_host_cpu_name() in WIDE_CPUS
            and bool(llvm.get_host_cpu_features().get("avx512f", False)))


@contextlib.contextmanager
def forced_vector_width(lanes: int):
    """LLVM's loop vectoriser forced to ``lanes`` lanes for whatever numba compiles inside
    (``-force-vector-width``, a process-wide LLVM option: set and reset under numba's compiler
    lock, so no other thread compiles in between).

    A forced width makes LLVM report every loop it still cannot vectorise (the kernel's copy
    and error-search loops) as a "remark: … loop not vectorized" line on the process's
    standard error, whatever the remark options say; those lines are dropped
    (:func:`_without_llvm_remarks`), anything else written there meanwhile is kept."""
    import llvmlite.binding as llvm  # numba's LLVM: imported only by runs that compile
    from numba.core.compiler_lock import global_compiler_lock  # (numba, as above)

    with global_compiler_lock, _without_llvm_remarks():
        llvm.set_option("", f"-force-vector-width={int(lanes)}")
        try:
            yield
        finally:
            llvm.set_option("", "-force-vector-width=0")


_LLVM_REMARK = re.compile(r"^remark: .*loop not vectorized")


@contextlib.contextmanager
def _without_llvm_remarks():
    """File descriptor 2 (LLVM writes there, below Python) captured for the duration; what was
    written is passed on afterwards to ``sys.stderr``, less LLVM's "loop not vectorized"
    remarks. Where descriptor 2 cannot be captured, nothing is filtered."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace")
                    .splitlines(keepends=True) if not _LLVM_REMARK.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


#: ``AMSGRAD_THEORY_NUMBA_CACHE=0``: compile in every process, write nothing to disk
DISK_CACHE = os.environ.get("AMSGRAD_THEORY_NUMBA_CACHE", "1") != "0"


@functools.cache
def source_digest() -> str:
    """SHA-256 over the package's Python sources (path and bytes, in path order): a compiled
    kernel inlines code from across the package, so any change to it invalidates them all."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def kernel_cache_key(engine_key: tuple) -> str:
    """The on-disk name of a kernel: its engine key (plain values: names, flags, the dtype)
    with the package's source digest."""
    return hashlib.sha256(repr((engine_key, source_digest())).encode()).hexdigest()


def source_tag() -> str:
    """12 hex digits naming the package sources, written into every kept kernel's file names
    (``…-TAG-KEY.nbi``) so that the kernels of other sources can be told apart and pruned
    (:func:`prune_stale_kernels`)."""
    return hashlib.sha256(source_digest().encode()).hexdigest()[:12]


#: a kept kernel of other package sources is deleted once none of its files has been written
#: or used (its marker is touched by every process that runs it) for this long
STALE_AFTER_S = 24 * 3600

#: this module's files in the cache folder: numba's index and data files of a kept kernel and
#: the marker of :func:`mark_on_disk`, with the source tag (absent in the files of versions
#: before the tag) and the kernel's key; nothing else there (Python's .pyc files) matches
_KEPT_FILE = re.compile(r"^(?:compiled\..*?-|amsgrad-)(?:(?P<tag>[0-9a-f]{12})-)?"
                        r"(?P<key>[0-9a-f]{64})(?:\.\d+\.nbc|\.nbi|\.ok)$")


def prune_stale_kernels(folder: Path, now: float | None = None) -> list[str]:
    """Delete the kept kernels in ``folder`` that were compiled from other package sources
    (another source tag, or none) and that nothing has written or run for
    :data:`STALE_AFTER_S`: every code change and every upgrade keys new kernels, and without
    this the old ones would stay for good. A kernel's files go together (index, data, marker).
    A process of another version still using one keeps it (its marker is touched at every
    first call); one whose kernel was pruned compiles it again. Returns the names deleted."""
    now = time.time() if now is None else now
    current = source_tag()
    groups: dict[str, list[Path]] = {}
    last: dict[str, float] = {}
    for path in folder.iterdir():
        m = _KEPT_FILE.match(path.name)
        if m is None or m["tag"] == current:
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        groups.setdefault(m["key"], []).append(path)
        last[m["key"]] = max(last.get(m["key"], 0.0), mtime)
    deleted = []
    for key, paths in groups.items():
        if now - last[key] < STALE_AFTER_S:
            continue
        for path in paths:
            with contextlib.suppress(OSError):
                path.unlink()
                deleted.append(path.name)
    return deleted


def _disk_cache(dispatcher, key: str, anchor=None):
    """Have numba keep ``dispatcher``'s compiled code on disk under ``key``.

    ``anchor`` (default: the dispatcher's own function) is the function numba's cache files
    are named and located by: a flattened kernel's source exists only in memory, so its files
    are named after the plain kernel it was flattened from (a function of this module).

    numba's own index key hashes a closure's cell contents by pickling them, and a pickled
    dispatcher carries a per-process id, so closures (every kernel here) would never be found
    again; the kernel's content is already named by ``key``, which replaces that hash.

    Each key has its own index and data files (``…-KEY.nbi``, ``…-KEY.1.nbc``). numba names
    them after the function (module, qualname, line), which every kernel built by one factory
    shares, and its ``save`` reads the index, picks the first free data number and writes both
    back without a lock: two processes compiling different kernels at once (``reproduce all``
    side by side, Dask workers, pytest-xdist) could both pick ``….1.nbc``, and the index of one
    kernel would then name the other's code — a wrong kernel loaded by every later run."""
    # numba: imported only by runs that compile
    from numba.core.caching import FunctionCache, IndexDataCacheFile

    class KernelCache(FunctionCache):
        def __init__(self, py_func):
            super().__init__(py_func)
            self._cache_file = IndexDataCacheFile(
                cache_path=self._cache_path,
                filename_base=f"{self._impl.filename_base}-{source_tag()}-{key}",
                source_stamp=self._impl.locator.get_source_stamp())

        def _index_key(self, sig, codegen):
            return (sig, codegen.magic_tuple(), key)

    try:
        dispatcher._cache = KernelCache(dispatcher.py_func if anchor is None else anchor)
    except RuntimeError:        # no writable cache folder: compile in memory as before
        pass
    return dispatcher


@functools.cache
def _cache_folder() -> Path | None:
    """The folder numba keeps this module's kernels in (None: no writable one)."""
    from numba.core.caching import FunctionCache  # numba: imported only by runs that compile

    try:
        return Path(FunctionCache(kernel_cache_key)._cache_path)
    except RuntimeError:
        return None


def _marker(engine_key: tuple) -> Path | None:
    folder = _cache_folder() if DISK_CACHE else None
    return None if folder is None else \
        folder / f"amsgrad-{source_tag()}-{kernel_cache_key(engine_key)}.ok"


@functools.cache
def _prune_once() -> None:
    """:func:`prune_stale_kernels` in this process's cache folder, once (at its first new
    kernel: a process that only loads kernels writes nothing, and prunes nothing)."""
    folder = _cache_folder()
    if folder is not None:
        with contextlib.suppress(OSError):
            prune_stale_kernels(folder)


def kernel_on_disk(engine_key: tuple) -> bool:
    """Whether the kernel of ``engine_key`` was compiled and kept on disk by an earlier run
    (its marker, :func:`mark_on_disk`, beside numba's files): loading it costs ≈ 0.05 s, so
    the engine compiles short runs too (:data:`~amsgrad_theory.engine.engines.
    NUMBA_CACHED_THRESHOLD`)."""
    marker = _marker(engine_key)
    return marker is not None and marker.exists()


def mark_on_disk(engine_key: tuple) -> None:
    """Record that the kernel of ``engine_key`` ran, so numba has saved it (it compiles and
    saves at the first call)."""
    marker = _marker(engine_key)
    if marker is not None:
        new = not marker.exists()
        with contextlib.suppress(OSError):
            marker.touch()
        if new:             # numba has just written this kernel: the stale ones can go
            _prune_once()


def _named(fn, tag: str):
    """A copy of ``fn`` whose qualified name ends in ``_tag``.

    numba names a compiled function's symbol after its qualified name and a counter of the
    process that compiles it. A kernel kept on disk carries those symbols, and the block
    function and record writers it calls are separate symbols of its code. Two kernels
    compiled by two processes could therefore define the same symbol, for instance the
    regret kernel's and the full-statistics kernel's block function when each was the first
    kernel of its process. A process that loaded both then ran the first one's block function
    for the second kernel: its full statistics stayed zero, and nothing said so
    (``tests/core/test_compile_cache.py``). With the kernel's key in every name, two kernels
    share a symbol only when they are the same kernel."""
    named = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                               fn.__closure__)
    named.__kwdefaults__ = fn.__kwdefaults__
    named.__dict__.update(fn.__dict__)
    named.__qualname__ = f"{fn.__qualname__}_{tag}"
    return named


def compile_kernel(ar, xp, sp, variant, problem, *, blocked: bool, full_statistics: bool,
                   cache_key: tuple | None = None, narrow_counts: bool = False,
                   narrow_ints: bool = False) -> tuple[Any, tuple[str, ...]]:
    """(kernel, notes): the numba-compiled kernel, with every lane function inlined (LLVM
    vectorises only call-free loops); the blocked kernel's block loop runs in parallel. With
    ``cache_key`` (the engine's key of this kernel) it is kept on disk (module docstring).

    The kernel and its record writers are flattened by the specialiser
    (:func:`~amsgrad_theory.engine.specialize.flatten`) before numba sees them: one flat
    function per loop, the lane functions inlined at the source level, so numba types and
    lowers it once instead of copying and re-typing each lane function's IR at every call site
    (its ``inline="always"``, ≈ half of a kernel's compile time). A lane function the
    specialiser cannot inline stays a call to its numba dispatcher, which numba still inlines
    (``notes`` says which); the operations and their order are the same either way, so the
    kernel's numbers are too (the engine tests compare them bit for bit).

    A kernel already on disk (:func:`kernel_on_disk`) is not flattened: numba finds its code
    under ``cache_key`` alone, whatever function the dispatcher holds, so the plain function
    serves to load it (flattening costs 0.3–0.9 s; loading ≈ 0.05 s). Should the files be gone
    after all, numba compiles that plain function: slower, the same numbers.

    ``narrow_counts``: the caller's promise that no counter reaches 2³¹, ``narrow_ints`` that
    every integer parameter of the run fits in 32 bits (the blocked kernel then holds them in
    32 bits; :func:`~amsgrad_theory.engine.engines.narrow_counts`, ``narrow_ints``)."""
    import numba  # the compiler: imported only by runs that compile

    notes: list[str] = []
    jit = numba.njit(error_model="numpy", inline="always")
    cached = cache_key is not None and kernel_on_disk(cache_key)
    tag = None if cache_key is None else kernel_cache_key(cache_key)[:20]

    def compile_loop(fn, **options):
        """numba's dispatcher of one loop: flattened first, unless it is only to be loaded;
        named after the kernel's key where it is kept on disk (:func:`_named`)."""
        fn = fn if cached else flatten(fn, notes)
        return numba.njit(error_model="numpy", **options)(fn if tag is None else _named(fn, tag))

    if blocked:
        plain = make_blocked_kernel(ar, xp, sp, variant, problem, jit, block=BLOCK,
                                    prange=numba.prange, block_jit=compile_loop,
                                    full_statistics=full_statistics,
                                    narrow_counts=narrow_counts, narrow_ints=narrow_ints)
        kernel = compile_loop(plain, parallel=True)
    else:
        plain = make_scalar_kernel(ar, xp, sp, variant, problem, jit, record_jit=compile_loop,
                                   full_statistics=full_statistics)
        kernel = compile_loop(plain)
    if cache_key is not None and DISK_CACHE:
        kernel = _disk_cache(kernel, kernel_cache_key(cache_key), anchor=plain)
    return kernel, tuple(dict.fromkeys(notes))
