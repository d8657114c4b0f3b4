"""The run loop, written once per engine and composed from the variant's and problem's functions.

Two skeletons exist because there are two ways to iterate, not two ways to compute:

* :func:`make_scalar_kernel` loops over instances b and coordinates i and calls the lane
  functions on scalars. Left as Python it runs mpmath, arb and IEEE floats; compiled by numba it
  is the fast CPU path (the inner loop over instances vectorises for d = 1).
* :func:`make_vector_kernel` calls the same lane functions once per step on whole ``(B, d)``
  arrays (numpy, torch on any device).

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

import numpy as np

from .algorithms.rules import make_rule

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


def make_lane_stats(xp, sp, jit):
    """``track`` (effective-step increases) and ``bound_terms`` (Σβ1√v̂/α, Lemma 2 energy)."""
    both, isfinite, gt = xp.both, xp.isfinite, xp.gt
    where, certain, unknown = xp.where, xp.certain, xp.unknown
    maximum = xp.maximum
    scast = sp.cast
    zero, one = xp.zero, xp.one
    szero = sp.cast(0.0)
    sgt, swhere = sp.gt, sp.where

    @jit
    def track(new, prev, best, count, undecided, tbest, first, t):
        finite = both(isfinite(prev), isfinite(new))
        rise = both(finite, gt(new, prev))
        count = count + certain(rise)
        undecided = undecided + unknown(rise)
        ok = both(finite, gt(prev, zero))
        rel = where(ok, where(ok, new, one) / where(ok, prev, one) - one, zero)
        better = certain(both(rise, gt(rel, best)))
        tbest = tbest + better * (t - tbest)
        first = first + certain(rise) * (first == 0) * t
        best = maximum(best, where(rise, rel, zero))
        return best, count, undecided, tbest, first

    @jit
    def bound_terms(root, m, alpha_s, beta1_s):
        r = scast(root)
        mw = scast(m)
        positive = sgt(r, szero)
        safe = swhere(positive, r, szero + 1.0)
        return beta1_s * r / alpha_s, swhere(positive, alpha_s * mw * mw / safe, szero)

    return track, bound_terms


def make_scalar_kernel(ar, variant, problem, jit, inline_jit=None):
    """The lane-loop kernel (see the module docstring); ``jit`` compiles each piece.

    Instances come sorted by their (β1, β2, λ) group (``GS`` holds the group offsets): the
    expensive α-free part of the schedule (``powers``) is computed once per group and step,
    the cheap part (``finish``) per instance, so the innermost loop over instances of a group
    has loop-invariant coefficients and — compiled by numba for d = 1 — vectorises.
    Non-finite values do not branch inside the loop: each lane returns an error code, the loop
    ORs them, and the offending lane is located afterwards.
    """
    xp, sp = ar.xp, ar.sp
    rule = make_rule(variant, xp, sp, jit)
    update, powers, finish = rule.update, rule.powers, rule.finish
    P = problem.lanes(ar, jit)
    track, bound_terms = make_lane_stats(xp, sp, jit)
    coupled = bool(P.coupled)
    data, margin, grad, loss, loss_z, suff, expected, advance = (
        P.data, P.margin, P.grad, P.loss, P.loss_z, P.suff, P.expected, P.advance)
    set_kind = problem.set.kind
    if set_kind == "ball":
        from .problems.sets import make_ball_projection

        project = make_ball_projection(xp, "scalar", jit)
    else:
        @jit
        def project(Y, Wt, R, row):
            return None
    isfinite, certain, unknown, gt = xp.isfinite, xp.certain, xp.unknown, xp.gt
    maximum, minimum, where = xp.maximum, xp.minimum, xp.where
    widen = sp.cast
    smaximum = sp.maximum
    sisfinite, sabs, ssqrt = sp.isfinite, sp.abs, sp.sqrt
    szero = sp.cast(0.0)
    ifloat = sp.ifloat
    clip = set_kind == "box"
    separable = not coupled and set_kind != "ball"
    inline_jit = inline_jit or jit

    @inline_jit
    def lane_step(t, b, i, z, a0, a1, co, FP, LN, ACC, CNT, TR, TRS, lo, hi):
        x = LN[X, b, i]
        g = grad(x, a0, a1, z)
        ell = loss(x, a0, a1)
        ACC[LOSS, b, i] = ACC[LOSS, b, i] + ell
        ACC[EXPECTED, b, i] = ACC[EXPECTED, b, i] + expected(x, b, FP)
        s0, s1, s2 = suff(ACC[S0, b, i], ACC[S1, b, i], ACC[S2, b, i], a0, a1)
        ACC[S0, b, i] = s0
        ACC[S1, b, i] = s1
        ACC[S2, b, i] = s2
        gw = widen(g)
        ACC[SG2, b, i] = ACC[SG2, b, i] + gw * gw
        ACC[MAG, b, i] = smaximum(ACC[MAG, b, i], sabs(gw))
        vh_old = LN[VH, b, i]
        m, v, vh, xhat, eta, hat, weight, root = update(x, LN[M, b, i], LN[V, b, i], vh_old, g,
                                                        co)
        drop = gt(vh_old, vh)
        CNT[VHDEC, b, i] = CNT[VHDEC, b, i] + certain(drop)
        CNT[VHUND, b, i] = CNT[VHUND, b, i] + unknown(drop)
        best, c1, u1, tb, f1 = track(eta, LN[EPREV, b, i], LN[EMAX, b, i], CNT[ECNT, b, i],
                                     CNT[EUND, b, i], CNT[ETMAX, b, i], CNT[EFIRST, b, i], t)
        LN[EMAX, b, i] = best
        CNT[ECNT, b, i] = c1
        CNT[EUND, b, i] = u1
        CNT[ETMAX, b, i] = tb
        CNT[EFIRST, b, i] = f1
        best, c1, u1, tb, f1 = track(hat, LN[HPREV, b, i], LN[HMAX, b, i], CNT[HCNT, b, i],
                                     CNT[HUND, b, i], CNT[HTMAX, b, i], CNT[HFIRST, b, i], t)
        LN[HMAX, b, i] = best
        CNT[HCNT, b, i] = c1
        CNT[HUND, b, i] = u1
        CNT[HTMAX, b, i] = tb
        CNT[HFIRST, b, i] = f1
        term_b1, term_energy = bound_terms(root, m, co[15], co[16])
        ACC[B1, b, i] = ACC[B1, b, i] + term_b1
        ACC[ENERGY, b, i] = ACC[ENERGY, b, i] + term_energy
        if clip:
            xnew = minimum(maximum(xhat, lo), hi)
        else:
            xnew = xhat
        if t <= TR.shape[0]:
            TR[t - 1, b, i, 0] = x
            TR[t - 1, b, i, 1] = g
            TR[t - 1, b, i, 2] = m
            TR[t - 1, b, i, 3] = v
            TR[t - 1, b, i, 4] = vh
            TR[t - 1, b, i, 5] = eta
            TR[t - 1, b, i, 6] = hat
            TR[t - 1, b, i, 7] = xhat
            if not coupled:
                TRS[t - 1, b, 0] = TRS[t - 1, b, 0] + ell
            TRS[t - 1, b, 1] = co[15]
            TRS[t - 1, b, 2] = co[16]
        LN[M, b, i] = m
        LN[V, b, i] = v
        LN[VH, b, i] = vh
        LN[EPREV, b, i] = eta
        LN[HPREV, b, i] = hat
        LN[XL, b, i] = x
        LN[X, b, i] = xnew
        LN[W, b, i] = weight
        bad_g = 1 - certain(isfinite(g))
        bad_l = 1 - certain(sisfinite(ell))
        bad_x = 1 - certain(isfinite(xnew))
        return bad_g * ERR_GRAD + (1 - bad_g) * (bad_l * ERR_LOSS + (1 - bad_l) * bad_x
                                                  * ERR_ITERATE)

    def kernel(t0, t1, ck, kpos, HPI, HPG, GS, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               PW, REC, SNAP, XS, TR, TRS, ERR):
        B = LN.shape[1]
        d = LN.shape[2]
        L = SEQ.shape[1]
        G = HPG.shape[0]
        K = ck.shape[0]
        snap_all = SNAP.shape[1] == K
        lo = LOHI[0]
        hi = LOHI[1]
        for t in range(t0, t1 + 1):
            tf = ifloat(t)
            for g in range(G):
                p0, p1, p2, p3, p4, p5, p6, p7 = powers(tf, HPG[g, 0], HPG[g, 1], HPG[g, 2])
                PW[g, 0] = p0
                PW[g, 1] = p1
                PW[g, 2] = p2
                PW[g, 3] = p3
                PW[g, 4] = p4
                PW[g, 5] = p5
                PW[g, 6] = p6
                PW[g, 7] = p7
            bad = 0
            for g in range(G):
                p0 = PW[g, 0]
                p1 = PW[g, 1]
                p2 = PW[g, 2]
                p3 = PW[g, 3]
                p4 = PW[g, 4]
                p5 = PW[g, 5]
                p6 = PW[g, 6]
                p7 = PW[g, 7]
                if separable and d == 1:
                    for b in range(GS[g], GS[g + 1]):
                        co = finish(HPI[b, 0], HPI[b, 1], HPI[b, 2], HPI[b, 3], p0, p1, p2, p3,
                                    p4, p5, p6, p7)
                        advance(b, IP)
                        tab = SEQ[b, t - 1, 0] if t <= L else TAIL[b]
                        a0, a1 = data(t, 0, b, FP, IP, tab)
                        bad = bad | lane_step(t, b, 0, szero, a0, a1, co, FP, LN, ACC, CNT, TR,
                                              TRS, lo, hi)
                    continue
                for b in range(GS[g], GS[g + 1]):
                    co = finish(HPI[b, 0], HPI[b, 1], HPI[b, 2], HPI[b, 3], p0, p1, p2, p3, p4,
                                p5, p6, p7)
                    advance(b, IP)
                    z = szero
                    if coupled:
                        for i in range(d):
                            tab = SEQ[b, t - 1, i] if t <= L else TAIL[b]
                            a0, a1 = data(t, i, b, FP, IP, tab)
                            z = z + margin(LN[X, b, i], a0, a1)
                        fz = loss_z(z)
                        bad = bad | (ERR_LOSS * (1 - certain(sisfinite(fz))))
                        IACC[b] = IACC[b] + fz
                        if t <= TR.shape[0]:
                            TRS[t - 1, b, 0] = fz
                    for i in range(d):
                        tab = SEQ[b, t - 1, i] if t <= L else TAIL[b]
                        a0, a1 = data(t, i, b, FP, IP, tab)
                        bad = bad | lane_step(t, b, i, z, a0, a1, co, FP, LN, ACC, CNT, TR, TRS,
                                              lo, hi)
                    if set_kind == "ball":
                        project(LN[X], LN[W], R, b)
            if bad != 0:
                _locate(t, LN, ACC, IACC, ERR)
                return
            k = kpos[0]
            if k < K and t == ck[k]:
                for b in range(B):
                    total = IACC[b]
                    exp_total = szero
                    roots = szero
                    norms = szero
                    b1 = szero
                    energy = szero
                    mag = szero
                    for i in range(d):
                        total = total + ACC[LOSS, b, i]
                        exp_total = exp_total + ACC[EXPECTED, b, i]
                        roots = roots + ssqrt(widen(LN[VH, b, i]))
                        norms = norms + ssqrt(ACC[SG2, b, i])
                        b1 = b1 + ACC[B1, b, i]
                        energy = energy + ACC[ENERGY, b, i]
                        mag = smaximum(mag, ACC[MAG, b, i])
                    REC[b, k, 0] = tf
                    REC[b, k, 1] = total
                    REC[b, k, 2] = exp_total
                    REC[b, k, 3] = roots
                    REC[b, k, 4] = norms
                    REC[b, k, 5] = b1
                    REC[b, k, 6] = energy
                    REC[b, k, 7] = mag
                    ks = k if snap_all else 0
                    if snap_all or k == K - 1:
                        for i in range(d):
                            SNAP[b, ks, 0, i] = ACC[S0, b, i]
                            SNAP[b, ks, 1, i] = ACC[S1, b, i]
                            SNAP[b, ks, 2, i] = ACC[S2, b, i]
                    if XS.shape[1] == K:
                        for i in range(d):
                            XS[b, k, i] = LN[XL, b, i]
                kpos[0] = k + 1
        return

    @jit
    def _locate(t, LN, ACC, IACC, ERR):
        """Find the first lane whose state became non-finite at step t (after the fact)."""
        B = LN.shape[1]
        d = LN.shape[2]
        for b in range(B):
            if not sisfinite(IACC[b]):
                ERR[0] = ERR_LOSS
                ERR[1] = t
                ERR[2] = b
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
                    ERR[2] = b
                    ERR[3] = i
                    return
        ERR[0] = ERR_ITERATE
        ERR[1] = t
        ERR[2] = 0
        ERR[3] = -1

    return kernel


def make_vector_kernel(ar, variant, problem):
    """The whole-array kernel (numpy, torch): the lane functions applied to ``(B, d)`` arrays."""
    xp, sp = ar.xp, ar.sp
    rule = make_rule(variant, xp, sp)
    schedule, update = rule.schedule, rule.update
    P = problem.lanes(ar)
    track, bound_terms = make_lane_stats(xp, sp, lambda f: f)
    set_kind = problem.set.kind
    project = None
    if set_kind == "ball":
        from .problems.sets import make_ball_projection

        project = make_ball_projection(xp, "vector")
    rowsum = xp.rowsum

    def first_bad(ok):
        bad = np.argwhere(~np.asarray(_host(ok)))
        return int(bad[0][0]), int(bad[0][1]) if bad.shape[1] > 1 else -1

    def kernel(t0, t1, ck, kpos, HP, FP, IP, SEQ, TAIL, LOHI, R, LN, ACC, IACC, CNT,
               REC, SNAP, XS, TR, TRS, ERR, I):
        K = len(ck)
        L = SEQ.shape[1] if SEQ is not None else 0
        ntrace = TR.shape[0] if TR is not None else 0
        for t in range(t0, t1 + 1):
            tf = sp.ifloat(t)
            co = schedule(tf, *HP)
            P.advance(ALL, IP)
            tab = SEQ[:, t - 1, :] if t <= L else TAIL
            a0, a1 = P.data(t, I, ALL, FP, IP, tab)
            x = LN[X]
            if P.coupled:
                z = rowsum(P.margin(x, a0, a1))
                fz = P.loss_z(z)
                ok = sp.isfinite(fz)
                if not bool(_host(ok).all()):
                    b, _ = first_bad(ok)
                    ERR[:] = [ERR_LOSS, t, b, -1]
                    return
                IACC += fz[:, 0]
            else:
                z = sp.cast(0.0)
            g = P.grad(x, a0, a1, z)
            ok = xp.isfinite(g)
            if not bool(_host(ok).all()):
                b, i = first_bad(ok)
                ERR[:] = [ERR_GRAD, t, b, i]
                return
            ell = P.loss(x, a0, a1)
            ok = sp.isfinite(ell) if not P.coupled else None
            if ok is not None and not bool(_host(ok).all()):
                b, i = first_bad(ok)
                ERR[:] = [ERR_LOSS, t, b, i]
                return
            ACC[LOSS] += ell
            ACC[EXPECTED] += P.expected(x, ALL, FP)
            ACC[S0], ACC[S1], ACC[S2] = P.suff(ACC[S0], ACC[S1], ACC[S2], a0, a1)
            gw = sp.cast(g)
            ACC[SG2] += gw * gw
            ACC[MAG] = sp.maximum(ACC[MAG], sp.abs(gw))
            vh_old = LN[VH]
            m, v, vh, xhat, eta, hat, weight, root = update(x, LN[M], LN[V], vh_old, g, co)
            drop = xp.gt(vh_old, vh)
            CNT[VHDEC] += xp.certain(drop)
            CNT[VHUND] += xp.unknown(drop)
            (LN[EMAX], CNT[ECNT], CNT[EUND], CNT[ETMAX], CNT[EFIRST]) = track(
                eta, LN[EPREV], LN[EMAX], CNT[ECNT], CNT[EUND], CNT[ETMAX], CNT[EFIRST], t)
            (LN[HMAX], CNT[HCNT], CNT[HUND], CNT[HTMAX], CNT[HFIRST]) = track(
                hat, LN[HPREV], LN[HMAX], CNT[HCNT], CNT[HUND], CNT[HTMAX], CNT[HFIRST], t)
            term_b1, term_energy = bound_terms(root, m, co[15], co[16])
            ACC[B1] += term_b1
            ACC[ENERGY] += term_energy
            if set_kind == "box":
                xnew = xp.minimum(xp.maximum(xhat, LOHI[0]), LOHI[1])
            elif set_kind == "ball":
                xnew = project(xhat, weight, R)
            else:
                xnew = xhat
            ok = xp.isfinite(xnew)
            if not bool(_host(ok).all()):
                b, i = first_bad(ok)
                ERR[:] = [ERR_ITERATE, t, b, i]
                return
            if t <= ntrace:
                for j, value in enumerate((x, g, m, v, vh, eta, hat, xhat)):
                    TR[t - 1, :, :, j] = value
                TRS[t - 1, :, 0] = fz[:, 0] if P.coupled else rowsum(ell)[:, 0]
                TRS[t - 1, :, 1] = (co[15] + 0.0 * IACC[:, None])[:, 0]
                TRS[t - 1, :, 2] = (co[16] + 0.0 * IACC[:, None])[:, 0]
            LN[M], LN[V], LN[VH], LN[EPREV], LN[HPREV] = m, v, vh, eta, hat
            LN[XL] = x
            LN[X] = xnew
            LN[W] = weight
            k = kpos[0]
            if k < K and t == ck[k]:
                REC[:, k, 0] = float(t)
                REC[:, k, 1] = rowsum(ACC[LOSS])[:, 0] + IACC
                REC[:, k, 2] = rowsum(ACC[EXPECTED])[:, 0]
                REC[:, k, 3] = rowsum(sp.sqrt(sp.cast(LN[VH])))[:, 0]
                REC[:, k, 4] = rowsum(sp.sqrt(ACC[SG2]))[:, 0]
                REC[:, k, 5] = rowsum(ACC[B1])[:, 0]
                REC[:, k, 6] = rowsum(ACC[ENERGY])[:, 0]
                REC[:, k, 7] = ACC[MAG].max(-1)[0] if hasattr(ACC[MAG], "device") \
                    else ACC[MAG].max(-1)
                snap_all = SNAP.shape[1] == K
                if snap_all or k == K - 1:
                    ks = k if snap_all else 0
                    SNAP[:, ks, 0] = ACC[S0]
                    SNAP[:, ks, 1] = ACC[S1]
                    SNAP[:, ks, 2] = ACC[S2]
                if XS.shape[1] == K:
                    XS[:, k] = LN[XL]
                kpos[0] = k + 1

    return kernel


ALL = slice(None)


def _host(value):
    """A numpy view of a (possibly device) boolean array."""
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
