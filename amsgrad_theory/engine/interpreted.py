"""The interpreted engine: the lane loop in Python (mpmath, arb balls, Python floats).

For separable problems every coordinate evolves on its own, so :func:`make_python_kernel`
turns the loops inside out: each coordinate runs through all steps of a chunk with its state in
local variables (``run_lane``) — no array is indexed inside the time loop. In d = 1 the lane
computes its step's coefficients and the problem's integer state itself; with more coordinates
they are computed once per instance and chunk (``schedule_chunk``, ``advance_chunk``) and shared
by its lanes. It performs exactly the operations of the compiled engine's
:func:`~amsgrad_theory.engine.compiled.make_scalar_kernel` in the same order (the per-instance
sums over coordinates included), so the results are identical; the tests check this. Coupled
problems and the ball projection run that scalar loop itself, uncompiled.

Specialised (:func:`~amsgrad_theory.engine.specialize.specialize`), those loops are flattened:
the rule, the problem's lane functions and the statistics — all lane code — inlined into one
loop body, the variant's constants folded, loop invariants (1 − β1 for a constant β1, the
problem's parameters cast to the lane type) computed once per chunk. Same operations on the
same operands; what remains is the arithmetic itself (the benchmark's targets 4 and 5 measure
what it saves: toolkit mpmath 1.54× → 1.09× a raw mpmath loop).
"""

from __future__ import annotations

import numpy as np

from .compiled import make_scalar_kernel
from .lane import lane_functions
from .layout import N_ACC, N_CNT, N_LANE
from .specialize import flatten


def make_python_kernel(ar, xp, sp, variant, problem, *, full_statistics: bool = True,
                       specialized: bool = True):
    """(kernel, notes): the lane loop of a separable problem, specialised when asked; ``notes``
    say where specialisation fell back to the plain functions (empty when it did not)."""
    parts = lane_functions(
        xp, sp, variant, problem, lambda f: f, full_statistics=full_statistics,
        coefficient_namespace=lambda k: ar.coefficient_namespace("interpreted", k))
    lane_math, schedule = parts.lane_math, parts.schedule
    advance, data = parts.advance, parts.data
    ifloat, szero, write_checkpoint = parts.ifloat, parts.szero, parts.write_checkpoint
    write_trace = parts.write_trace
    own_schedule = problem.d == 1       # one lane per instance: nothing to share

    def schedule_chunk(t0, t1, alpha, eps, eps_root, weight_decay, beta1, beta2, beta1_decay):
        """The coefficients of steps t0 … t1 for one instance's hyperparameters."""
        cos = []
        for t in range(t0, t1 + 1):
            cos.append(schedule(ifloat(t), alpha, beta1, beta2, eps, eps_root, beta1_decay,
                                weight_decay))
        return cos

    def advance_chunk(ip, t0, t1):
        """The problem's integer state (phase, counter) after each of the steps t0 … t1."""
        ips = []
        for _ in range(t0, t1 + 1):
            ip = advance(ip)
            ips.append(ip)
        return ips

    def run_lane(b, i, t0, t1, cos, ips, ip, hyper, fp, seq, tail, marks, ntrace, trace,
                 trace_scalars, lo, hi, lane, acc, cnt):
        """Steps t0 … t1 of coordinate i of instance b: the lane's new (lane, acc, cnt), the
        (v̂, x_t, acc) at each checkpoint step of ``marks``, (t, code) of its first non-finite
        value (or None; the lane stops there) and the problem's integer state ``ip`` after
        its last step. The coefficients and states of the steps come from ``cos`` and ``ips``,
        or, in d = 1, are computed here from ``hyper`` and ``ip``."""
        x, xl, m, v, vh, ep, hp, emax, hmax, w = lane
        a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2 = acc
        ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund = cnt
        alpha, eps, eps_root, weight_decay, beta1, beta2, beta1_decay = hyper
        L = len(seq)
        records = []
        error = None
        for t in range(t0, t1 + 1):
            q = t - t0
            if own_schedule:
                co = schedule(ifloat(t), alpha, beta1, beta2, eps, eps_root, beta1_decay,
                              weight_decay)
                ip = advance(ip)
            else:
                co = cos[q]
                ip = ips[q]
            tab = seq[t - 1] if t <= L else tail
            a0, a1 = data(t, i, fp, ip, tab)
            ((x, xl, m, v, vh, ep, hp, emax, hmax, w),
             (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
             (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund),
             (g, xhat, ell), code) = lane_math(
                t, szero, a0, a1, co, fp, (x, m, v, vh, ep, hp, emax, hmax),
                (a_loss, a_exp, a_sg2, a_mag, a_b1, a_energy, s0, s1, s2),
                (ecnt, eund, etmax, efirst, hcnt, hund, htmax, hfirst, vhdec, vhund), lo, hi)
            if t <= ntrace:
                write_trace(trace, trace_scalars, (t, b, i),
                            (x, xl, m, v, vh, ep, hp, emax, hmax, w),
                            (g, xhat, ell, co.alpha_scalar, co.beta1_scalar))
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

    notes: list[str] = []
    if specialized:
        run_lane = flatten(run_lane, notes)
        if not own_schedule:
            schedule_chunk = flatten(schedule_chunk, notes)
            advance_chunk = flatten(advance_chunk, notes)

    def kernel(t0, t1, inputs, state, outputs):
        HPI, HPG, GS = inputs.instance_hyper, inputs.group_hyper, inputs.group_start
        FP, SEQ, TAIL, ck = inputs.floats, inputs.table, inputs.tail, inputs.checkpoints
        IP, LN, ACC, CNT = state.ints, state.lanes, state.sums, state.counts
        INST = inputs.instance.tolist()
        kpos = state.next_checkpoint
        d = LN.shape[2]
        G = HPG.shape[0]
        K = ck.shape[0]
        ntrace = outputs.trace.shape[0]
        # values as the arithmetic's own numbers: Python floats for float64 (numpy's float64
        # scalars compute the same IEEE results, slower), the objects of mpmath and arb, and
        # numpy float32 scalars for float32 lanes (a Python float would compute in double)
        lanes = list if LN.dtype == np.float32 else np.ndarray.tolist
        lo, hi = lanes(inputs.box)
        k0 = int(kpos[0])
        marks = {}                          # t → checkpoint index, for this chunk
        for k in range(k0, K):
            if t0 <= ck[k] <= t1:
                marks[int(ck[k])] = k
        first_error = None
        for g in range(G):
            for b in range(GS[g], GS[g + 1]):
                hyper = tuple(HPI[b].tolist()) + tuple(HPG[g].tolist())
                fp = tuple(FP[:, b].tolist())
                ip0 = tuple(IP[:, b].tolist())
                cos = ips = None
                if not own_schedule:
                    cos = schedule_chunk(t0, t1, *hyper)
                    ips = advance_chunk(ip0, t0, t1)
                per_lane = []
                for i in range(d):
                    lane = tuple(lanes(LN[:, b, i]))
                    acc = tuple(ACC[:, b, i].tolist())
                    cnt = tuple(CNT[:, b, i].tolist())
                    ln, acc, cnt, records, error, ip = run_lane(
                        b, i, t0, t1, cos, ips, ip0, hyper, fp, lanes(SEQ[b, :, i]),
                        lanes(TAIL[b, i:i + 1])[0], marks, ntrace, outputs.trace,
                        outputs.trace_scalars, lo, hi, lane, acc, cnt)
                    # the first error: of the earliest step, then the least instance (the rows
                    # go by group), then the least coordinate (visited in order)
                    if error is not None and (first_error is None or (error[0], INST[b])
                                              < (first_error[0], INST[first_error[1]])):
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
                    vhat = np.empty(d, dtype=LN.dtype)
                    played = np.empty(d, dtype=LN.dtype)
                    sums = np.empty((N_ACC, d), dtype=ACC.dtype)
                    for i in range(d):
                        vhat[i], played[i], acc = per_lane[i][n_mark]
                        for r in range(N_ACC):
                            sums[r, i] = acc[r]
                    write_checkpoint(outputs.records, outputs.snapshots, outputs.iterates, b, k,
                                     ifloat(t), state.coupled_loss[b], vhat, played, sums)
        if first_error is not None:
            t, b, i, code = first_error
            outputs.error[:] = (code, t, b, i)
            return
        kpos[0] = k0 + len(marks)

    return kernel, tuple(notes)


def make_interpreted_scalar_kernel(ar, xp, sp, variant, problem, *, full_statistics: bool):
    """The compiled engine's scalar loop, run uncompiled (coupled problems, the ball)."""
    return make_scalar_kernel(ar, xp, sp, variant, problem, lambda f: f,
                              full_statistics=full_statistics, engine="interpreted")
