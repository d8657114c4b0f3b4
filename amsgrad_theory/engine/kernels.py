"""The run loop, written once per engine and composed from the variant's and problem's functions.

The skeletons differ in how they iterate, never in what they compute. All of them call
:func:`lane_math` — one pure function of scalars (or whole arrays) holding the step of one lane:
gradient, loss, update, statistics — and only move values between arrays and it:

* :func:`make_scalar_kernel` loops over steps, instances and coordinates on scalars. Left as
  Python it runs mpmath, arb and IEEE floats; compiled by numba it runs every problem.
* :func:`make_blocked_kernel` (numba, separable problems in d = 1) loops over blocks of
  instances, then steps, then the instances of the block, on scratch rows in L1: that inner
  loop has no calls and no aliasing, and LLVM vectorises it.
* :func:`make_python_kernel` (separable problems, interpreted arithmetics) runs each lane
  through the steps of a chunk with its state in local variables.
* :func:`make_vector_kernel` calls the same lane function once per step on whole ``(B, d)``
  arrays (numpy, torch on any device).

Interpreted, the composition costs what numba compiles away (calls, tuples, per-step
invariants): the Python-loop and vector kernels are flattened by
:func:`~amsgrad_theory.specialize.specialize` for runs long enough to repay it.

Everything a step computes comes from :func:`~amsgrad_theory.algorithms.rules.make_rule`
(the update), :meth:`~amsgrad_theory.problems.Problem.lanes` (data, gradient, loss, sufficient
statistics) and :func:`make_lane_stats` (streaming statistics); the skeletons only move values
between arrays and those functions.

Streaming statistics per coordinate (``ACC`` in the scalar arithmetic, ``CNT`` integers):

=========  =====================================================================================
LOSS       Σ_s ℓ_{s,i}(x_s) (the coordinate's share of Σ_s f_s(x_s); coupled families use IACC)
EXPECTED   Σ_s F_i(x_s) with F = E f (Bernoulli)
SG2        Σ_s g_{s,i}² (so ‖g_{1:t,i}‖₂ = √SG2)
MAG        max_s |g_{s,i}|
B1         Σ_s β1,s √v̂_{s,i} / α_s
ENERGY     Σ_s α_s m_{s,i}² / √v̂_{s,i}  (Lemma 2's left side; 0 where v̂ = 0)
S0..S2     the problem's sufficient statistics
=========  =====================================================================================

and for η and η̂: the number of steps with η_{t,i} > η_{t−1,i} (both finite), the number the
arithmetic could not decide (arb), the largest relative increase η_{t,i}/η_{t−1,i} − 1, the step
where it happened and the first step with an increase; and the number of steps where the maxed
moment v̂ decreased.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

from ..algorithms.rules import make_rule
from ..problems.sets import make_ball_projection
from .specialize import NotSpecializable, specialize

# accumulator rows (scalar arithmetic)
LOSS, EXPECTED, SG2, MAG, B1, ENERGY, S0, S1, S2 = range(9)
N_ACC = 9
# counter rows (int64)
(ECNT, EUND, ETMAX, EFIRST, HCNT, HUND, HTMAX, HFIRST, VHDEC, VHUND) = range(10)
N_CNT = 10
# lane rows (lane dtype): x_{t+1}, x_t, m, v, v̂, η_prev, η̂_prev, max rel η, max rel η̂, weight
X, XL, M, V, VH, EPREV, HPREV, EMAX, HMAX, W = range(10)
N_LANE = 10
# record columns
RECORD_FIELDS = ("t", "loss", "expected_loss", "sum_sqrt_vhat", "sum_grad_norm",
                 "sum_beta1_sqrt_vhat_over_alpha", "momentum_energy", "max_abs_grad")
N_REC = len(RECORD_FIELDS)
# trace channels (lane dtype) and per-instance trace columns (scalar arithmetic)
TRACE_FIELDS = ("x", "g", "m", "v", "vhat", "eta", "eta_hat", "xhat")
N_TR = len(TRACE_FIELDS)
TRACE_SCALARS = ("loss", "alpha_t", "beta1_t")
N_TRS = len(TRACE_SCALARS)
# error codes
ERR_GRAD, ERR_LOSS, ERR_ITERATE = 1, 2, 3
ERROR_WHAT = {ERR_GRAD: "gradient", ERR_LOSS: "loss", ERR_ITERATE: "iterate"}
N_COEF_LANE = 15

#: flatten the interpreted kernels' loops with :func:`~amsgrad_theory.specialize.specialize`
#: (set ``AMSGRAD_THEORY_SPECIALIZE=0`` to run the plain composed functions instead)
SPECIALIZE = os.environ.get("AMSGRAD_THEORY_SPECIALIZE", "1") != "0"


def _flattened(fn, specialized):
    """``fn`` through :func:`~amsgrad_theory.specialize.specialize` when ``specialized`` (None:
    :data:`SPECIALIZE`), else ``fn``; ``fn`` itself where its source cannot be read."""
    if not (SPECIALIZE if specialized is None else specialized):
        return fn
    try:
        return specialize(fn)
    except NotSpecializable:       # pragma: no cover - the kernels' own functions are readable
        return fn


def make_lane_stats(xp, sp, jit):
    """``track`` (effective-step increases) and ``bound_terms`` (Σβ1√v̂/α, Lemma 2 energy)."""
    both, isfinite, gt = xp.both, xp.isfinite, xp.gt
    certain, unknown = xp.certain, xp.unknown
    decided = xp.decided
    rise_ratio = xp.rise_ratio
    maximum = xp.maximum
    scast = sp.widen
    zero = xp.zero
    szero = sp.cast(0.0)
    sone = sp.cast(1.0)
    sgt, swhere = sp.gt, sp.where

    @jit
    def track(new, prev, best, count, undecided, tbest, first, t):
        """One step of the effective-step record: did η rise, by how much, the largest rise
        and its step, the first rise (rel = η_t/η_{t−1} − 1, computed only where it rose)."""
        rise = both(both(isfinite(prev), isfinite(new)), gt(new, prev))
        count = count + certain(rise)
        if not decided:
            undecided = undecided + unknown(rise)
        rel = rise_ratio(both(rise, gt(prev, zero)), new, prev)
        better = certain(both(rise, gt(rel, best)))
        tbest = tbest + better * (t - tbest)
        first = first + certain(rise) * (first == 0) * t
        best = maximum(best, rel)
        return best, count, undecided, tbest, first

    @jit
    def bound_terms(root, m, alpha_s, beta1_s):
        r = scast(root)
        mw = scast(m)
        positive = sgt(r, szero)
        safe = swhere(positive, r, sone)
        return beta1_s * r / alpha_s, swhere(positive, alpha_s * mw * mw / safe, szero)

    return track, bound_terms


def _lane_parts(ar, variant, problem, jit, error_codes: bool = True, record_jit=None,
                full_statistics: bool = True):
    """The functions every kernel composes, built over ``ar`` and compiled by ``jit``.

    ``lane_math(t, z, a0, a1, co, fp, lane, acc, cnt, lo, hi) -> (lane, acc, cnt, out, code)``
    is the whole step of one coordinate, as values in and values out (tuples of scalars, or of
    arrays in the vector engines):

    * ``lane``  = (x, m, v, v̂, η_{t−1}, η̂_{t−1}, max rel η, max rel η̂) in the lane dtype; the
      result has x_{t+1} (before a coupled projection), m_t, v_t, v̂_t, η_t, η̂_t, the maxima,
      x_t and the projection weight;
    * ``acc``   = the nine accumulators (module docstring), scalar arithmetic;
    * ``cnt``   = the ten counters;
    * ``out``   = (g_t, x̂_{t+1}, f_t share) for traces;
    * ``code``  = 0, or the error code of a non-finite gradient, loss or iterate.

    With ``full_statistics=False`` only the regret's accumulators (loss, expected loss,
    sufficient statistics) are kept: no effective-step record, Σg², max|g|, bound terms.
    """
    xp, sp = ar.xp, ar.sp
    record_jit = record_jit or jit
    rule = make_rule(variant, xp, sp, jit)
    update = rule.update
    P = problem.lanes(ar, jit)
    track, bound_terms = make_lane_stats(xp, sp, jit)
    grad, loss, suff, expected = P.grad, P.loss, P.suff, P.expected
    isfinite, certain, unknown, gt = xp.isfinite, xp.certain, xp.unknown, xp.gt
    decided = xp.decided
    maximum, minimum = xp.maximum, xp.minimum
    widen = sp.widen
    smaximum, sisfinite, sabs = sp.maximum, sp.isfinite, sp.abs
    clip = problem.set.kind == "box"
    has_expected = bool(problem.has_expected)
    hat_is_eta = not variant.correct_m and variant.step_form == "normalized"

    @jit
    def lane_math(t, z, a0, a1, co, fp, lane, acc, cnt, lo, hi):
        x, m, v, vh_old, eprev, hprev, emax, hmax = lane
        a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2 = acc
        (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund) = cnt
        g = grad(x, a0, a1, z)
        ell = loss(x, a0, a1)
        a_loss = a_loss + ell
        if has_expected:
            a_exp = a_exp + expected(x, fp)
        s0, s1, s2 = suff(s0, s1, s2, a0, a1)
        m, v, vh, xhat, eta, hat, weight, root = update(x, m, v, vh_old, g, co)
        if full_statistics:
            gw = widen(g)
            a_sg2 = a_sg2 + gw * gw
            a_mag = smaximum(a_mag, sabs(gw))
            drop = gt(vh_old, vh)
            vhdec = vhdec + certain(drop)
            if not decided:
                vhund = vhund + unknown(drop)
            emax, ecnt, eund, etmax, efirst = track(eta, eprev, emax, ecnt, eund, etmax,
                                                    efirst, t)
            if hat_is_eta:      # η̂ ≡ η (m is not corrected): the same record, computed once
                hmax, hcnt, hund, htmax, hfirst = emax, ecnt, eund, etmax, efirst
            else:
                hmax, hcnt, hund, htmax, hfirst = track(hat, hprev, hmax, hcnt, hund, htmax,
                                                        hfirst, t)
            term_b1, term_energy = bound_terms(root, m, co[15], co[16])
            a_b1 = a_b1 + term_b1
            a_energy = a_energy + term_energy
        else:
            # regret only: the effective steps are neither tracked nor kept (so the compiler
            # drops their divisions)
            eta = eprev
            hat = hprev
        if clip:
            xnew = minimum(maximum(xhat, lo), hi)
        else:
            xnew = xhat
        if error_codes:
            bad_g = 1 - certain(isfinite(g))
            bad_l = 1 - certain(sisfinite(ell))
            bad_x = 1 - certain(isfinite(xnew))
            code = bad_g * ERR_GRAD + (1 - bad_g) * (bad_l * ERR_LOSS + (1 - bad_l) * bad_x
                                                      * ERR_ITERATE)
        else:
            code = 0      # the vector kernel checks whole arrays itself
        return ((xnew, x, m, v, vh, eta, hat, emax, hmax, weight),
                (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
                (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund),
                (g, xhat, ell), code)

    set_kind = problem.set.kind
    if set_kind == "ball":
        project = make_ball_projection(xp, "scalar", jit)
    else:
        @jit
        def project(Y, Wt, R, row):
            return None

    sqrt_s, widen_s, smax_s, szero_s = sp.sqrt, sp.widen, sp.maximum, sp.cast(0.0)

    @record_jit
    def write_checkpoint(REC, SNAP, XS, b, k, tf, iacc, VHb, XLb, ACCb):
        """Record row k of instance b: the sums over its coordinates of the accumulators
        (``ACCb`` rows × coordinates), Σ_i √v̂ (``VHb``), x_t (``XLb``), the snapshot of the
        sufficient statistics. One definition for every lane-loop kernel."""
        K = REC.shape[1]
        d = VHb.shape[0]
        total = iacc
        exp_total = szero_s
        roots = szero_s
        norms = szero_s
        b1 = szero_s
        energy = szero_s
        mag = szero_s
        for i in range(d):
            total = total + ACCb[LOSS, i]
            exp_total = exp_total + ACCb[EXPECTED, i]
            roots = roots + sqrt_s(widen_s(VHb[i]))
            norms = norms + sqrt_s(ACCb[SG2, i])
            b1 = b1 + ACCb[B1, i]
            energy = energy + ACCb[ENERGY, i]
            mag = smax_s(mag, ACCb[MAG, i])
        REC[b, k, 0] = tf
        REC[b, k, 1] = total
        REC[b, k, 2] = exp_total
        REC[b, k, 3] = roots
        REC[b, k, 4] = norms
        REC[b, k, 5] = b1
        REC[b, k, 6] = energy
        REC[b, k, 7] = mag
        snap_all = SNAP.shape[1] == K
        if snap_all or k == K - 1:
            ks = k if snap_all else 0
            for i in range(d):
                SNAP[b, ks, 0, i] = ACCb[S0, i]
                SNAP[b, ks, 1, i] = ACCb[S1, i]
                SNAP[b, ks, 2, i] = ACCb[S2, i]
        if XS.shape[1] == K:
            for i in range(d):
                XS[b, k, i] = XLb[i]

    coupled_problem = bool(P.coupled)

    @record_jit
    def write_trace(TR, TRS, t, b, i, ln, out, co):
        """Row t of the opt-in trace: x_t, g_t, m_t, v_t, v̂_t, η_t, η̂_t, x̂_{t+1}; f_t(x_t)
        (summed over coordinates for separable losses), α_t, β1,t."""
        TR[t - 1, b, i, 0] = ln[XL]
        TR[t - 1, b, i, 1] = out[0]
        TR[t - 1, b, i, 2] = ln[M]
        TR[t - 1, b, i, 3] = ln[V]
        TR[t - 1, b, i, 4] = ln[VH]
        TR[t - 1, b, i, 5] = ln[EPREV]
        TR[t - 1, b, i, 6] = ln[HPREV]
        TR[t - 1, b, i, 7] = out[1]
        if not coupled_problem:
            TRS[t - 1, b, 0] = TRS[t - 1, b, 0] + out[2]
        TRS[t - 1, b, 1] = co[15]
        TRS[t - 1, b, 2] = co[16]

    @jit
    def locate(t, LN, ACC, IACC, ERR, offset):
        """Find the first lane whose state became non-finite at step t (after the fact)."""
        B = LN.shape[1]
        d = LN.shape[2]
        for b in range(B):
            if not sisfinite(IACC[b]):
                ERR[0] = ERR_LOSS
                ERR[1] = t
                ERR[2] = b + offset
                ERR[3] = -1
                return
            for i in range(d):
                code = 0
                if not (isfinite(LN[M, b, i]) and isfinite(LN[V, b, i])):
                    code = ERR_GRAD
                elif not sisfinite(ACC[LOSS, b, i]):
                    code = ERR_LOSS
                elif not isfinite(LN[X, b, i]):
                    code = ERR_ITERATE
                if code != 0:
                    ERR[0] = code
                    ERR[1] = t
                    ERR[2] = b + offset
                    ERR[3] = i
                    return
        ERR[0] = ERR_ITERATE
        ERR[1] = t
        ERR[2] = offset
        ERR[3] = -1

    return SimpleNamespace(
        lane_math=lane_math, powers=rule.powers, finish=rule.finish, schedule=rule.schedule,
        data=P.data, margin=P.margin, loss_z=P.loss_z, advance=P.advance, project=project,
        locate=locate, write_checkpoint=write_checkpoint, write_trace=write_trace,
        coupled=bool(P.coupled),
        set_kind=set_kind,
        separable=not P.coupled and set_kind != "ball", certain=certain, sisfinite=sisfinite,
        smaximum=smaximum, widen=widen, ssqrt=sp.sqrt, szero=sp.cast(0.0), ifloat=sp.ifloat,
    )


def make_scalar_kernel(ar, variant, problem, jit, record_jit=None,
                       full_statistics: bool = True):
    """The step × instance × coordinate loop (Python, or compiled by numba); any problem.

    Instances come sorted by their (β1, β2, λ) group (``GS`` holds the group offsets): the
    expensive α-free part of the schedule (``powers``) is computed once per group and step,
    the cheap part (``finish``) per instance. A lane's non-finite value does not branch inside
    the loop: the lane returns an error code, the loop ORs them, and the lane is located after.
    """
    parts = _lane_parts(ar, variant, problem, jit, record_jit=record_jit,
                        full_statistics=full_statistics)
    lane_math, powers, finish = parts.lane_math, parts.powers, parts.finish
    advance, data, margin, loss_z = parts.advance, parts.data, parts.margin, parts.loss_z
    project, locate, write_checkpoint = parts.project, parts.locate, parts.write_checkpoint
    write_trace = parts.write_trace
    certain, sisfinite = parts.certain, parts.sisfinite
    ifloat, szero = parts.ifloat, parts.szero
    coupled, set_kind = parts.coupled, parts.set_kind

    def kernel(t0, t1, ck, kpos, HPI, HPG, GS, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               PW, REC, SNAP, XS, TR, TRS, ERR):
        B = LN.shape[1]
        d = LN.shape[2]
        L = SEQ.shape[1]
        G = HPG.shape[0]
        K = ck.shape[0]
        ntrace = TR.shape[0]
        lo = LOHI[0]
        hi = LOHI[1]
        for t in range(t0, t1 + 1):
            tf = ifloat(t)
            bad = 0
            for g in range(G):
                p0, p1, p2, p3, p4, p5, p6, p7 = powers(tf, HPG[g, 0], HPG[g, 1], HPG[g, 2])
                for b in range(GS[g], GS[g + 1]):
                    co = finish(HPI[b, 0], HPI[b, 1], HPI[b, 2], HPI[b, 3], p0, p1, p2, p3, p4,
                                p5, p6, p7)
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
                        bad = bad | (ERR_LOSS * (1 - certain(sisfinite(fz))))
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
                        bad = bad | code
                        for r in range(N_LANE):
                            LN[r, b, i] = ln[r]
                        for r in range(N_ACC):
                            ACC[r, b, i] = ac[r]
                        for r in range(N_CNT):
                            CNT[r, b, i] = cn[r]
                        if t <= ntrace:
                            write_trace(TR, TRS, t, b, i, ln, out, co)
                    if set_kind == "ball":
                        project(LN[X], LN[W], R, b)
            if bad != 0:
                locate(t, LN, ACC, IACC, ERR, 0)
                return
            k = kpos[0]
            if k < K and t == ck[k]:
                for b in range(B):
                    write_checkpoint(REC, SNAP, XS, b, k, tf, IACC[b], LN[VH, b], LN[XL, b],
                                     ACC[:, b])
                kpos[0] = k + 1
        return

    return kernel


def make_blocked_kernel(ar, variant, problem, jit, block: int = 256, prange=range,
                        block_jit=None, full_statistics: bool = True):
    """The lane loop reordered for SIMD: blocks of instances × a chunk of steps (numba).

    For separable problems in d = 1 (every lane an independent instance), a block of ``block``
    instances of one (β1, β2, λ) group is copied into scratch rows, advanced through every step
    of the chunk, and copied back. The instance loop inside the block reads and writes those
    rows only and calls nothing but :func:`lane_math`, which numba inlines, so LLVM vectorises
    it; the block's state stays in L1. Blocks are independent, so ``prange`` (numba's parallel
    range) spreads them over cores, deterministically. Same operations as
    :func:`make_scalar_kernel`, so the results are bit-identical to it (the tests check this).

    ``block_jit`` compiles the per-block function without inlining it: numba's parallel pass
    then sees one call per block in the ``prange`` body.

    Extra arguments: ``BLK`` (nblocks × 3: group, first instance, count) and ``EB`` (nblocks ×
    3: the first non-finite step, instance and code met by each block).
    """
    parts = _lane_parts(ar, variant, problem, jit, record_jit=block_jit,
                        full_statistics=full_statistics)
    lane_math, powers, finish = parts.lane_math, parts.powers, parts.finish
    advance, data = parts.advance, parts.data
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
        CB = np.empty((N_CNT + 2, block), dtype=np.int64)    # counters, ip
        SQ = np.empty((L, block), dtype=lane_dt)
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
            for r in range(N_CNT):
                CB[r, j] = CNT[r, b, 0]
            CB[N_CNT, j] = IP[0, b]
            CB[N_CNT + 1, j] = IP[1, b]
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
            bad = 0
            for j in range(n):
                co = finish(AB[N_ACC, j], AB[N_ACC + 1, j], AB[N_ACC + 2, j],
                            AB[N_ACC + 3, j], p0, p1, p2, p3, p4, p5, p6, p7)
                fp = (AB[N_ACC + 4, j], AB[N_ACC + 5, j], AB[N_ACC + 6, j])
                ip = advance((CB[N_CNT, j], CB[N_CNT + 1, j]))
                CB[N_CNT, j] = ip[0]
                CB[N_CNT + 1, j] = ip[1]
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
                LB[0, j] = ln[0]
                LB[1, j] = ln[1]
                LB[2, j] = ln[2]
                LB[3, j] = ln[3]
                LB[4, j] = ln[4]
                LB[5, j] = ln[5]
                LB[6, j] = ln[6]
                LB[7, j] = ln[7]
                LB[8, j] = ln[8]
                LB[9, j] = ln[9]
                AB[0, j] = ac[0]
                AB[1, j] = ac[1]
                AB[2, j] = ac[2]
                AB[3, j] = ac[3]
                AB[4, j] = ac[4]
                AB[5, j] = ac[5]
                AB[6, j] = ac[6]
                AB[7, j] = ac[7]
                AB[8, j] = ac[8]
                CB[0, j] = cn[0]
                CB[1, j] = cn[1]
                CB[2, j] = cn[2]
                CB[3, j] = cn[3]
                CB[4, j] = cn[4]
                CB[5, j] = cn[5]
                CB[6, j] = cn[6]
                CB[7, j] = cn[7]
                CB[8, j] = cn[8]
                CB[9, j] = cn[9]
            if bad != 0:
                # the first lane of this block whose state is no longer finite
                for j in range(n):
                    code = 0
                    if not (np.isfinite(LB[M, j]) and np.isfinite(LB[V, j])):
                        code = ERR_GRAD
                    elif not np.isfinite(AB[LOSS, j]):
                        code = ERR_LOSS
                    elif not np.isfinite(LB[X, j]):
                        code = ERR_ITERATE
                    if code != 0:
                        EB[kb, 0] = t
                        EB[kb, 1] = b0 + j
                        EB[kb, 2] = code
                        break
                break
            if k < K and t == ck[k]:
                tf = ifloat(t)
                for j in range(n):
                    write_checkpoint(REC, SNAP, XS, b0 + j, k, tf, IACC[b0 + j],
                                     LB[VH, j:j + 1], LB[XL, j:j + 1], AB[:N_ACC, j:j + 1])
                k += 1
        for j in range(n):
            b = b0 + j
            for r in range(N_LANE):
                LN[r, b, 0] = LB[r, j]
            for r in range(N_ACC):
                ACC[r, b, 0] = AB[r, j]
            for r in range(N_CNT):
                CNT[r, b, 0] = CB[r, j]
            IP[0, b] = CB[N_CNT, j]
            IP[1, b] = CB[N_CNT + 1, j]
        return k

    def kernel(t0, t1, ck, kpos, HPI, HPG, GS, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               PW, REC, SNAP, XS, TR, TRS, ERR, BLK, EB):
        G = HPG.shape[0]
        nT = t1 - t0 + 1
        nb = BLK.shape[0]
        lo = LOHI[0]
        hi = LOHI[1]
        k0 = kpos[0]
        PWc = np.empty((nT, G, 8), dtype=scalar_dt)
        for t in range(t0, t1 + 1):
            tf = ifloat(t)
            for g in range(G):
                p0, p1, p2, p3, p4, p5, p6, p7 = powers(tf, HPG[g, 0], HPG[g, 1], HPG[g, 2])
                PWc[t - t0, g, 0] = p0
                PWc[t - t0, g, 1] = p1
                PWc[t - t0, g, 2] = p2
                PWc[t - t0, g, 3] = p3
                PWc[t - t0, g, 4] = p4
                PWc[t - t0, g, 5] = p5
                PWc[t - t0, g, 6] = p6
                PWc[t - t0, g, 7] = p7
        KE = np.empty(nb, dtype=np.int64)
        for kb in prange(nb):
            KE[kb] = run_block(kb, BLK[kb, 0], BLK[kb, 1], BLK[kb, 2], t0, t1, k0, ck, PWc, HPI,
                               FP, IP, SEQ, TAIL, lo, hi, LN, ACC, IACC, CNT, REC, SNAP, XS, EB)
        first = -1
        for kb in range(nb):
            if EB[kb, 0] > 0 and (first < 0 or EB[kb, 0] < EB[first, 0]):
                first = kb
        if first >= 0:
            ERR[0] = EB[first, 2]
            ERR[1] = EB[first, 0]
            ERR[2] = EB[first, 1]
            ERR[3] = 0
            return
        if nb > 0:
            kpos[0] = KE[0]
        return

    return kernel


def make_python_kernel(ar, variant, problem, full_statistics: bool = True,
                       specialized: bool | None = None):
    """The lane loop for interpreted scalar arithmetics (mpmath, arb, Python floats).

    For separable problems every coordinate evolves on its own, so this kernel turns the
    loops inside out: each coordinate runs through all steps of the chunk with its state in
    local variables (:func:`run_lane`) — no array is indexed inside the time loop. In d = 1 the
    lane computes its step's coefficients and the problem's integer state itself; with more
    coordinates they are computed once per instance and chunk (:func:`schedule_chunk`,
    :func:`advance_chunk`) and shared by its lanes. It performs exactly the operations of
    :func:`make_scalar_kernel` in the same order (the per-instance sums over coordinates
    included), so the results are identical; the tests check this.

    With ``specialized`` (default: :data:`SPECIALIZE`) those loops are flattened by
    :func:`~amsgrad_theory.specialize.specialize`: the rule, the problem's lane functions and
    the statistics inlined into one loop body, the variant's constants folded, loop invariants
    (1 − β1 for a constant β1, the problem's parameters cast to the lane type) computed once per
    chunk. Same operations on the same operands; what remains is the arithmetic itself.
    """
    parts = _lane_parts(ar, variant, problem, lambda f: f, full_statistics=full_statistics)
    lane_math, schedule = parts.lane_math, parts.schedule
    advance, data = parts.advance, parts.data
    ifloat, szero, write_checkpoint = parts.ifloat, parts.szero, parts.write_checkpoint
    write_trace = parts.write_trace
    own_schedule = problem.d == 1       # one lane per instance: nothing to share

    def schedule_chunk(t0, t1, alpha, eps, eps_root, wd, beta1, beta2, lam):
        """The coefficients of steps t0 … t1 for one instance's hyperparameters."""
        cos = []
        for t in range(t0, t1 + 1):
            cos.append(schedule(ifloat(t), alpha, beta1, beta2, eps, eps_root, lam, wd))
        return cos

    def advance_chunk(ip, t0, t1):
        """The problem's integer state (phase, counter) after each of the steps t0 … t1."""
        ips = []
        for _ in range(t0, t1 + 1):
            ip = advance(ip)
            ips.append(ip)
        return ips

    def run_lane(b, i, t0, t1, cos, ips, ip, hyper, fp, seq, tail, marks, ntrace, TR, TRS,
                 lo, hi, lane, acc, cnt):
        """Steps t0 … t1 of coordinate i of instance b: the lane's new (lane, acc, cnt), the
        (v̂, x_t, acc) at each checkpoint step of ``marks``, (t, code) of its first non-finite
        value (or None; the lane stops there) and the problem's integer state ``ip`` after
        its last step. The coefficients and states of the steps come from ``cos`` and ``ips``,
        or, in d = 1, are computed here from ``hyper`` and ``ip``."""
        x, xl, m, v, vh, ep, hp, emax, hmax, w = lane
        a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2 = acc
        ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund = cnt
        alpha, eps, eps_root, wd, beta1, beta2, lam = hyper
        L = len(seq)
        records = []
        error = None
        for t in range(t0, t1 + 1):
            q = t - t0
            if own_schedule:
                co = schedule(ifloat(t), alpha, beta1, beta2, eps, eps_root, lam, wd)
                ip = advance(ip)
            else:
                co = cos[q]
                ip = ips[q]
            tab = seq[t - 1] if t <= L else tail
            a0, a1 = data(t, i, fp, ip, tab)
            ((x, xl, m, v, vh, ep, hp, emax, hmax, w),
             (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
             (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund),
             out, code) = lane_math(
                t, szero, a0, a1, co, fp, (x, m, v, vh, ep, hp, emax, hmax),
                (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
                (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund), lo, hi)
            if t <= ntrace:
                write_trace(TR, TRS, t, b, i, (x, xl, m, v, vh, ep, hp, emax, hmax, w), out,
                            co)
            if t in marks:
                records.append((vh, xl, (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1,
                                         s2)))
            if code:
                error = (t, code)
                break
        return ((x, xl, m, v, vh, ep, hp, emax, hmax, w),
                (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
                (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund),
                records, error, ip)

    run_lane = _flattened(run_lane, specialized)
    if not own_schedule:
        schedule_chunk = _flattened(schedule_chunk, specialized)
        advance_chunk = _flattened(advance_chunk, specialized)

    def kernel(t0, t1, ck, kpos, HPI, HPG, GS, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               PW, REC, SNAP, XS, TR, TRS, ERR):
        d = LN.shape[2]
        G = HPG.shape[0]
        K = ck.shape[0]
        ntrace = TR.shape[0]
        lo, hi = LOHI[0], LOHI[1]
        k0 = int(kpos[0])
        marks = {}                          # t → checkpoint index, for this chunk
        for k in range(k0, K):
            if t0 <= ck[k] <= t1:
                marks[int(ck[k])] = k
        first_error = None
        for g in range(G):
            for b in range(GS[g], GS[g + 1]):
                hyper = (HPI[b, 0], HPI[b, 1], HPI[b, 2], HPI[b, 3], HPG[g, 0], HPG[g, 1],
                         HPG[g, 2])
                fp = (FP[0, b], FP[1, b], FP[2, b])
                ip0 = (IP[0, b], IP[1, b])
                cos = ips = None
                if not own_schedule:
                    cos = schedule_chunk(t0, t1, *hyper)
                    ips = advance_chunk(ip0, t0, t1)
                per_lane = []
                for i in range(d):
                    lane = tuple(LN[r, b, i] for r in range(N_LANE))
                    acc = tuple(ACC[r, b, i] for r in range(N_ACC))
                    cnt = tuple(CNT[r, b, i] for r in range(N_CNT))
                    ln, acc, cnt, records, error, ip = run_lane(
                        b, i, t0, t1, cos, ips, ip0, hyper, fp, SEQ[b, :, i].tolist(),
                        TAIL[b, i], marks, ntrace, TR, TRS, lo, hi, lane, acc, cnt)
                    if error is not None and (first_error is None or error[0] < first_error[0]):
                        first_error = (error[0], b, i, error[1])
                    for r in range(N_LANE):
                        LN[r, b, i] = ln[r]
                    for r in range(N_ACC):
                        ACC[r, b, i] = acc[r]
                    for r in range(N_CNT):
                        CNT[r, b, i] = cnt[r]
                    per_lane.append(records)
                if ips:
                    ip = ips[-1]
                if t1 >= t0:
                    IP[0, b], IP[1, b] = ip
                for n_mark, (t, k) in enumerate(sorted(marks.items())):
                    if any(len(rec) <= n_mark for rec in per_lane):
                        break
                    VHb = np.empty(d, dtype=LN.dtype)
                    XLb = np.empty(d, dtype=LN.dtype)
                    ACCb = np.empty((N_ACC, d), dtype=ACC.dtype)
                    for i in range(d):
                        VHb[i], XLb[i], acc = per_lane[i][n_mark]
                        for r in range(N_ACC):
                            ACCb[r, i] = acc[r]
                    write_checkpoint(REC, SNAP, XS, b, k, ifloat(t), IACC[b], VHb, XLb, ACCb)
        if first_error is not None:
            t, b, i, code = first_error
            ERR[0] = code
            ERR[1] = t
            ERR[2] = b
            ERR[3] = i
            return
        kpos[0] = k0 + len(marks)

    return kernel


def make_vector_kernel(ar, variant, problem, full_statistics: bool = True,
                       specialized: bool | None = None):
    """The whole-array kernel (numpy, torch): the lane functions applied to ``(B, d)`` arrays.

    ``specialized`` (default: :data:`SPECIALIZE`) flattens the step loop as
    :func:`make_python_kernel` does (one array operation per operation of the rule, the
    schedule's per-instance invariants — 1 − β1, the casts — computed once per chunk instead
    of once per step).
    """
    xp, sp = ar.xp, ar.sp
    parts = _lane_parts(ar, variant, problem, lambda f: f, error_codes=False,
                        full_statistics=full_statistics)
    schedule, lane_math = parts.schedule, parts.lane_math
    P = problem.lanes(ar)
    advance, data, margin, loss_z, coupled = P.advance, P.data, P.margin, P.loss_z, P.coupled
    xisfinite, sisfinite, scast, sifloat = xp.isfinite, sp.isfinite, sp.cast, sp.ifloat
    ssqrt, swiden = sp.sqrt, sp.widen
    set_kind = problem.set.kind
    project = None
    if set_kind == "ball":
        project = make_ball_projection(xp, "vector")
    rowsum = xp.rowsum

    def first_bad(ok):
        bad = np.argwhere(~np.asarray(_host(ok)))
        return int(bad[0][0]), int(bad[0][1]) if bad.shape[1] > 1 else -1

    def kernel(t0, t1, ck, kpos, HP, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               REC, SNAP, XS, TR, TRS, ERR, I):
        K = len(ck)
        L = SEQ.shape[1]
        ntrace = TR.shape[0]
        lo, hi = LOHI
        fp = (FP[0], FP[1], FP[2])
        for t in range(t0, t1 + 1):
            tf = sifloat(t)
            co = schedule(tf, HP[0], HP[1], HP[2], HP[3], HP[4], HP[5], HP[6])
            ip = advance((IP[0], IP[1]))
            IP[0], IP[1] = ip
            tab = SEQ[:, t - 1, :] if t <= L else TAIL
            a0, a1 = data(t, I, fp, ip, tab)
            if coupled:
                z = rowsum(margin(LN[X], a0, a1))
                fz = loss_z(z)
                ok = sisfinite(fz)
                if not bool(_host(ok).all()):
                    b, _ = first_bad(ok)
                    ERR[:] = [ERR_LOSS, t, b, -1]
                    return
                IACC += fz[:, 0]
            else:
                z = scast(0.0)
            lane = tuple(LN[r] for r in (X, M, V, VH, EPREV, HPREV, EMAX, HMAX))
            ln, ac, cn, out, code = lane_math(t, z, a0, a1, co, fp, lane, tuple(ACC),
                                              tuple(CNT), lo, hi)
            xnew = ln[X]
            if set_kind == "ball":
                xnew = project(xnew, ln[W], R)
            for ok, what in ((xisfinite(out[0]), ERR_GRAD), (sisfinite(out[2]), ERR_LOSS),
                             (xisfinite(xnew), ERR_ITERATE)):
                if not bool(_host(ok).all()):
                    b, i = first_bad(ok)
                    ERR[:] = [what, t, b, i]
                    return
            if t <= ntrace:
                for j, value in enumerate((ln[XL], out[0], ln[M], ln[V], ln[VH], ln[EPREV],
                                           ln[HPREV], out[1])):
                    TR[t - 1, :, :, j] = value
                TRS[t - 1, :, 0] = fz[:, 0] if coupled else rowsum(out[2])[:, 0]
                TRS[t - 1, :, 1] = (co[15] + 0.0 * IACC[:, None])[:, 0]
                TRS[t - 1, :, 2] = (co[16] + 0.0 * IACC[:, None])[:, 0]
            for r in range(N_LANE):
                LN[r] = ln[r]
            LN[X] = xnew
            for r in range(N_ACC):
                ACC[r] = ac[r]
            for r in range(N_CNT):
                CNT[r] = cn[r]
            k = kpos[0]
            if k < K and t == ck[k]:
                REC[:, k, 0] = float(t)
                REC[:, k, 1] = rowsum(ACC[LOSS])[:, 0] + IACC
                REC[:, k, 2] = rowsum(ACC[EXPECTED])[:, 0]
                REC[:, k, 3] = rowsum(ssqrt(swiden(LN[VH])))[:, 0]
                REC[:, k, 4] = rowsum(ssqrt(ACC[SG2]))[:, 0]
                REC[:, k, 5] = rowsum(ACC[B1])[:, 0]
                REC[:, k, 6] = rowsum(ACC[ENERGY])[:, 0]
                mags = ACC[MAG].max(-1)
                REC[:, k, 7] = mags[0] if isinstance(mags, tuple) or hasattr(mags, "values") \
                    else mags
                snap_all = SNAP.shape[1] == K
                if snap_all or k == K - 1:
                    ks = k if snap_all else 0
                    SNAP[:, ks, 0] = ACC[S0]
                    SNAP[:, ks, 1] = ACC[S1]
                    SNAP[:, ks, 2] = ACC[S2]
                if XS.shape[1] == K:
                    XS[:, k] = LN[XL]
                kpos[0] = k + 1

    return _flattened(kernel, specialized)


ALL = slice(None)


def _host(value):
    """A numpy view of a (possibly device) boolean array."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
