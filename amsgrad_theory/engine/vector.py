"""The vector engine: the lane functions applied to whole ``(B, d)`` arrays (numpy or torch).

One call of ``lane_math`` per step advances every lane of every instance; the arithmetic's
namespace makes each operation one numpy ufunc or one torch kernel (on any device and dtype).
Non-finite values are found by whole-array checks after the step, the records written with row
sums. Specialised (:func:`~amsgrad_theory.engine.specialize.specialize`), the step loop is
flattened as the interpreted engine's is: one array operation per operation of the rule, the
schedule's per-instance invariants (1 − β1, the casts) computed once per chunk instead of once
per step (the benchmark's target 4: numpy engine 1.26–1.35× → 1.15× a hand-written numpy loop).
"""

from __future__ import annotations

import numpy as np

from ..problems.sets import make_ball_projection
from .lane import lane_functions, v_floor
from .layout import (
    B1,
    EMAX,
    ENERGY,
    EPREV,
    ERR_LOSS,
    EXPECTED,
    HMAX,
    HPREV,
    LOSS,
    MAG,
    N_ACC,
    N_CNT,
    N_LANE,
    S0,
    S1,
    S2,
    SG2,
    VH,
    XL,
    M,
    V,
    W,
    X,
)
from .specialize import flatten


def make_vector_kernel(ar, xp, sp, variant, problem, *, full_statistics: bool = True,
                       specialized: bool = True):
    """(kernel, notes): the whole-array step loop; ``notes`` say where specialisation fell
    back to the plain functions (empty when it did not)."""
    parts = lane_functions(
        xp, sp, variant, problem, lambda f: f, error_codes=False,
        full_statistics=full_statistics,
        coefficient_namespace=lambda k: ar.coefficient_namespace("vector", k))
    schedule, lane_math = parts.schedule, parts.lane_math
    advance, data, margin, loss_z = parts.advance, parts.data, parts.margin, parts.loss_z
    coupled = parts.coupled
    floor = v_floor(xp, variant)     # where v's underflow is watched at each step (lane.py)
    xisfinite, sisfinite, scast, sifloat = xp.isfinite, sp.isfinite, sp.cast, sp.ifloat
    ssqrt, swiden = sp.sqrt, sp.widen
    set_kind = problem.set.kind
    project = None
    if set_kind == "ball":
        project = make_ball_projection(xp, "vector")
    rowsum, rowmax = xp.rowsum, xp.rowmax
    host = ar.arrays.to_numpy

    rank = parts.rank

    def first_error(oks, coupled_bad, g, ell, xnew, m, v):
        """(code, instance, coordinate) of the step's first error, or None. ``oks`` are the
        step's tests (finite g, loss and x̂; v not underflowed), the fast path; where one fails,
        the least instance with an error (its coupled loss first, coordinate −1), its least
        coordinate, and there the kind as the lane loops rank it (``rank``)."""
        if all(host(ok).all() for ok in oks) and not coupled_bad.any():
            return None
        codes = host(rank(g, ell, xnew, m, v))
        b = int(np.flatnonzero(coupled_bad | (codes != 0).any(axis=1))[0])
        if coupled_bad[b]:
            return ERR_LOSS, b, -1
        i = int(np.flatnonzero(codes[b])[0])
        return int(codes[b, i]), b, i

    def kernel(t0, t1, inputs, state, outputs):
        HP, FP, SEQ, TAIL = inputs.hyper, inputs.floats, inputs.table, inputs.tail
        ck, I, R = inputs.checkpoints, inputs.coordinates, inputs.radius
        IP, LN, ACC, IACC, CNT = state.ints, state.lanes, state.sums, state.coupled_loss, \
            state.counts
        kpos = state.next_checkpoint
        REC, SNAP, XS = outputs.records, outputs.snapshots, outputs.iterates
        TR, TRS, ERR = outputs.trace, outputs.trace_scalars, outputs.error
        K = len(ck)
        L = SEQ.shape[1]
        ntrace = TR.shape[0]
        lo, hi = inputs.box
        fp = (FP[0], FP[1], FP[2])
        no_coupled_error = np.zeros(IACC.shape[0], dtype=bool)
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
                coupled_bad = ~host(sisfinite(fz)).reshape(-1)
                IACC += fz[:, 0]
            else:
                z = scast(0.0)
                coupled_bad = no_coupled_error
            lane = tuple(LN[r] for r in (X, M, V, VH, EPREV, HPREV, EMAX, HMAX))
            ln, ac, cn, out, code = lane_math(t, z, a0, a1, co, fp, lane, tuple(ACC),
                                              tuple(CNT), lo, hi)
            xnew = ln[X]
            if set_kind == "ball":
                xnew = project(xnew, ln[W], R)
            # x_{t+1} before the ball's projection, as the lane loops test it (a projection of
            # an overflowed x̂ gave (0, 0), reported as fine)
            oks = [xisfinite(out[0]), sisfinite(out[2]), xisfinite(ln[X])]
            if floor is not None:
                oks.append(~((ln[V] < floor) & (ln[M] != 0)))
            error = first_error(oks, coupled_bad, out[0], out[2], ln[X], ln[M], ln[V])
            if error is not None:
                ERR[:] = [error[0], t, error[1], error[2]]
                return
            if t <= ntrace:
                for j, value in enumerate((ln[XL], out[0], ln[M], ln[V], ln[VH], ln[EPREV],
                                           ln[HPREV], out[1])):
                    TR[t - 1, :, :, j] = value
                TRS[t - 1, :, 0] = fz[:, 0] if coupled else rowsum(out[2])[:, 0]
                TRS[t - 1, :, 1] = (co.alpha_scalar + 0.0 * IACC[:, None])[:, 0]
                TRS[t - 1, :, 2] = (co.beta1_scalar + 0.0 * IACC[:, None])[:, 0]
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
                REC[:, k, 7] = rowmax(ACC[MAG])
                snap_all = SNAP.shape[1] == K
                if snap_all or k == K - 1:
                    ks = k if snap_all else 0
                    SNAP[:, ks, 0] = ACC[S0]
                    SNAP[:, ks, 1] = ACC[S1]
                    SNAP[:, ks, 2] = ACC[S2]
                if XS.shape[1] == K:
                    XS[:, k] = LN[XL]
                kpos[0] = k + 1

    notes: list[str] = []
    if specialized:
        kernel = flatten(kernel, notes)
    return kernel, tuple(notes)
