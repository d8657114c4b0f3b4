"""The step of one lane, written once: every engine's kernel composes these functions.

:func:`lane_functions` builds them over an arithmetic's lane and scalar namespaces (``xp``,
``sp``) from the variant's update rule (:func:`~amsgrad_theory.algorithms.rules.make_rule`), the
problem's lane functions (:meth:`~amsgrad_theory.problems.Problem.lanes`) and the streaming
statistics of this module:

* ``lane_math`` — the whole step of one coordinate, values in and values out (tuples of
  scalars, or of whole arrays in the vector engine): gradient, loss, update, statistics and an
  error code;
* ``powers``/``finish``/``schedule`` — the coefficients of a step (the rule's);
* ``data``/``margin``/``loss_z``/``advance``/``project`` — the problem's data of a step and the
  feasible set's projection;
* ``write_checkpoint``, ``write_trace`` — the lane-loop engines' record writers;
* ``grad``/``loss`` — the problem's g_t and f_t(x_t) of a lane, and ``rank`` — the error code
  of a lane step from its values (what ``lane_math`` returns with ``error_codes=True``), for
  a kernel that flags errors unranked and ranks them after the fact.

Streaming statistics per lane (rows of :mod:`~amsgrad_theory.engine.layout`): the loss and the
expected loss, Σ g², max |g|, Σ β1,s √v̂_s/α_s, Lemma 2's Σ α_s m_s²/√v̂_s, the problem's
sufficient statistics; for η and η̂: the steps with η_{t,i} > η_{t−1,i} (both finite), the
comparisons the arithmetic could not decide (arb), the largest relative rise
η_{t,i}/η_{t−1,i} − 1, its step and the first rise; the steps where v̂ decreased.

Every function built here is lane code (:func:`~amsgrad_theory.lanecode.lane_code`), except the
record writers, which write into arrays: the specialiser inlines the former and leaves the latter
as calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from ..algorithms.rules import make_rule
from ..lanecode import lane_code
from ..problems.sets import make_ball_projection
from .layout import (
    B1,
    ENERGY,
    EPREV,
    ERR_GRAD,
    ERR_ITERATE,
    ERR_LOSS,
    ERR_UNDERFLOW,
    EXPECTED,
    HPREV,
    LOSS,
    MAG,
    S0,
    S1,
    S2,
    SG2,
    VH,
    XL,
    M,
    V,
)


class LaneFunctions(NamedTuple):
    """What a kernel composes (see the module docstring)."""

    lane_math: Callable
    powers: Callable
    finish: Callable
    schedule: Callable
    data: Callable
    margin: Callable
    loss_z: Callable
    advance: Callable
    project: Callable
    grad: Callable
    loss: Callable
    rank: Callable
    write_checkpoint: Callable
    write_trace: Callable
    coupled: bool
    set_kind: str
    ifloat: Callable
    szero: Any


def make_lane_stats(xp, sp, jit=lane_code, *, windowed: bool | None = None):
    """``track`` (effective-step rises) and ``bound_terms`` (β1√v̂/α, Lemma 2's α m²/√v̂).

    ``windowed`` (default: the arithmetic rounds, ``xp.unit_roundoff > 0``): comparisons are
    widened by the step's tie window τ_t (:mod:`amsgrad_theory.algorithms.rules`); otherwise
    raw comparisons are counted (arb decides them itself; a structural claim needs none)."""
    both, isfinite, gt, le = xp.both, xp.isfinite, xp.gt, xp.le
    certain, unknown = xp.certain, xp.unknown
    decided = xp.decided
    rise_ratio = xp.rise_ratio
    maximum, absolute = xp.maximum, xp.abs
    scast = sp.widen
    zero = xp.zero
    szero = sp.cast(0.0)
    sone = sp.cast(1.0)
    sgt, swhere = sp.gt, sp.where
    if windowed is None:
        windowed = xp.unit_roundoff > 0

    @jit
    def track(new, prev, best, count, undecided, tbest, first, t, tie):
        """One step of the effective-step record: did η rise, by how much, the largest rise
        and its step, the first rise (rel = η_t/η_{t−1} − 1, computed only where it rose).

        Windowed: a rise counts only where new − prev > τ·prev; |new − prev| ≤ τ·prev is a
        tie the rounding cannot decide (counted as undecided, whichever way the floats
        compare)."""
        finite = both(isfinite(prev), isfinite(new))
        if windowed:
            margin = tie * prev      # ≥ 0: gap > margin implies a rise
            gap = new - prev
            sure = both(finite, gt(gap, margin))
            undecided = undecided + certain(both(finite, le(absolute(gap), margin)))
        else:
            sure = both(finite, gt(new, prev))
            if not decided:
                undecided = undecided + unknown(sure)
        count = count + certain(sure)
        rel = rise_ratio(both(sure, gt(prev, zero)), new, prev)
        better = certain(both(sure, gt(rel, best)))
        tbest = tbest + better * (t - tbest)
        first = first + certain(sure) * (first == 0) * t
        best = maximum(best, rel)
        return best, count, undecided, tbest, first

    @jit
    def drop_of(old, new, count, undecided, tie):
        """Did v̂ fall (old > new)? Windowed as ``track``."""
        falls = gt(old, new)
        if windowed:
            sure = both(falls, gt(old - new, tie * new))
            undecided = undecided + certain(both(both(isfinite(old), isfinite(new)),
                                                 le(absolute(old - new), tie * new)))
        else:
            sure = falls
            if not decided:
                undecided = undecided + unknown(falls)
        return count + certain(sure), undecided

    @jit
    def bound_terms(root, m, alpha_s, beta1_s):
        """β1,t √v̂_t/α_t and α_t m_t²/√v̂_t (0 where v̂ = 0), in the scalar arithmetic."""
        r = scast(root)
        mw = scast(m)
        positive = sgt(r, szero)
        safe = swhere(positive, r, sone)
        return beta1_s * r / alpha_s, swhere(positive, alpha_s * mw * mw / safe, szero)

    return track, bound_terms, drop_of


def v_floor(xp, variant):
    """The smallest normal number of the lane format, below which a second moment v_t with
    m_t ≠ 0 is an underflow the kernels flag at its step (ERR_UNDERFLOW); None where they do
    not watch it.

    Exact arithmetic never has v_t = 0 or tiny while m_t ≠ 0: v_t ≥ (1 − β2)·β2^(t−s)·g_s² > 0
    once some g_s ≠ 0. In a float format, g² below the smallest normal number loses its leading
    bits or becomes 0; where ε = ε_root = 0 for every instance (the paper's AMSGrad: the
    variant's ``eps_free`` structure) that changes the step m/√v̂ itself, by any amount, so
    it is watched at every step (the range watch checks a small non-zero ε at the end of each
    chunk, :mod:`~amsgrad_theory.engine.watch`). Exact arithmetics have no such floor. A
    variant marked ``underflow_free`` (the engine proved from the problem's gradient floor that
    v cannot underflow, :func:`~amsgrad_theory.engine.simulate.underflow_impossible`) is not
    watched: the check costs three instructions of about eighteen per lane-step.
    """
    tiny = xp.smallest_normal
    if (tiny > 0 and variant.eps_free and not variant.underflow_free
            and variant.second_moment != "none"):
        return xp.cast(tiny)
    return None


def lane_functions(xp, sp, variant, problem, jit=lambda f: f, *, record_jit=None,
                   error_codes: bool | Literal["flag"] = True, full_statistics: bool = True,
                   coefficient_namespace=None) -> LaneFunctions:
    """The functions every kernel composes, over namespaces ``xp``/``sp``, compiled by ``jit``.

    ``lane_math(t, z, a0, a1, co, fp, lane, acc, cnt, lo, hi) -> (lane, acc, cnt, out, code)``:

    * ``lane``  = (x, m, v, v̂, η_{t−1}, η̂_{t−1}, max rel η, max rel η̂) in the lane dtype; the
      result has the rows of :data:`~amsgrad_theory.engine.layout.LANE_ROWS`: x_{t+1} (before a
      coupled projection), x_t, m_t, v_t, v̂_t, η_t, η̂_t, the maxima and the projection weight;
    * ``acc``   = the accumulators (:data:`~amsgrad_theory.engine.layout.SUM_ROWS`);
    * ``cnt``   = the counters (:data:`~amsgrad_theory.engine.layout.COUNT_ROWS`);
    * ``out``   = (g_t, x̂_{t+1}, f_t share) for traces;
    * ``code``  = 0, or the error code of a non-finite gradient, loss or iterate (only with
      ``error_codes``: the vector engine checks whole arrays itself); with
      ``error_codes="flag"`` whether there is any error, unranked (a bool: the blocked kernel
      ORs the flags of a step and, where one is set, finds and ranks the error itself; the
      ranked code cost 16 instructions per 16 float32 lanes, the flag 3 mask operations).

    With ``full_statistics=False`` only the regret's accumulators (loss, expected loss,
    sufficient statistics) are kept: no effective-step record, Σg², max|g|, bound terms.
    ``record_jit`` compiles the record writers (default ``jit``); ``coefficient_namespace``
    gives the namespaces a framework variant computes its coefficients in (see
    :func:`~amsgrad_theory.algorithms.rules.make_rule`).
    """
    def lane(fn):
        return jit(lane_code(fn))

    record_jit = record_jit or jit
    rule = make_rule(variant, xp, sp, lane, coefficient_namespace=coefficient_namespace)
    update = rule.update
    P = problem.lanes(xp, sp, lane)
    # the claims the variant's form already decides need no window (see the record makers in
    # amsgrad_theory.verify.invariants): their raw float comparisons are kept as a check
    windowed = xp.unit_roundoff > 0
    track, bound_terms, _ = make_lane_stats(
        xp, sp, lane, windowed=windowed and variant.monotone_steps is None)
    _, _, drop_of = make_lane_stats(xp, sp, lane,
                                    windowed=windowed and variant.monotone_vhat is None)
    grad, loss, suff, expected = P.grad, P.loss, P.suff, P.expected
    isfinite, certain, both = xp.isfinite, xp.certain, xp.both
    maximum, minimum = xp.maximum, xp.minimum
    widen = sp.widen
    smaximum, sisfinite, sabs = sp.maximum, sp.isfinite, sp.abs
    clip = problem.set.kind == "box"
    has_expected = bool(problem.has_expected)
    hat_is_eta = not variant.correct_m and variant.step_form == "normalized"
    keeps_max = variant.maxes
    floor = v_floor(xp, variant)     # (rank() watches it for every engine)
    watch_v = floor is not None
    tiny_lane = floor if watch_v else xp.zero
    xabs, xlt, xgt, xzero = xp.abs, xp.lt, xp.gt, xp.zero
    fma = xp.fma
    # lanes and scalars of one type (float64 lanes): the loss is tested with the lanes
    same_dtype = type(xp.zero) is type(sp.zero)

    @lane
    def rank(g, ell, xnew, m, v):
        """The error code of a lane step from g_t, f_t(x_t), x_{t+1}, m_t, v_t: ERR_GRAD where
        g_t is not finite, else ERR_LOSS where f_t(x_t) is not, else ERR_ITERATE where x_{t+1}
        is not, else ERR_UNDERFLOW where v_t fell below the floor while m_t ≠ 0 (where that is
        watched); 0 for none."""
        bad_g = 1 - certain(isfinite(g))
        bad_l = 1 - certain(sisfinite(ell))
        bad_x = 1 - certain(isfinite(xnew))
        code = bad_g * ERR_GRAD + (1 - bad_g) * (bad_l * ERR_LOSS + (1 - bad_l) * bad_x
                                                  * ERR_ITERATE)
        if watch_v:
            bad_v = certain(xlt(v, tiny_lane)) * certain(xgt(xabs(m), xzero))
            code = code + (1 - bad_g) * (1 - bad_l) * (1 - bad_x) * bad_v * ERR_UNDERFLOW
        return code

    @lane
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
            if keeps_max:      # v̂ never decreasing is a claim only where a max is kept
                vhdec, vhund = drop_of(vh_old, vh, vhdec, vhund, co.tie)
            emax, ecnt, eund, etmax, efirst = track(eta, eprev, emax, ecnt, eund, etmax,
                                                    efirst, t, co.tie)
            if hat_is_eta:      # η̂ ≡ η (m is not corrected): the same record, computed once
                hmax, hcnt, hund, htmax, hfirst = emax, ecnt, eund, etmax, efirst
            else:
                hmax, hcnt, hund, htmax, hfirst = track(hat, hprev, hmax, hcnt, hund, htmax,
                                                        hfirst, t, co.tie)
            term_b1, term_energy = bound_terms(root, m, co.alpha_scalar, co.beta1_scalar)
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
        if error_codes == "flag":
            if same_dtype:
                # y·0 is ±0 for a finite y and NaN for ±∞ or NaN, exactly (no rounding, no
                # overflow), and so is a sum of such products: one finiteness test for g, x_{t+1}
                # and f_t(x_t), not one each (AMSGrad-PyTorch, periodic, float64, B = 4096,
                # T = 2·10⁴, regret, loaded kernels, three rounds: 7.88 → 7.5 instructions per
                # lane-step, 0.091–0.109 → 0.072–0.080 s). (Where f_t is wider than the lanes,
                # float32, the same for g and x_{t+1} alone saved 1 instruction per 16 lanes and
                # ran Theorem 1's float32 full statistics 4–9 % slower: not so there.)
                ok = isfinite(fma(g, xzero, fma(ell, xzero, xnew * xzero)))
            else:
                ok = both(both(isfinite(g), sisfinite(ell)), isfinite(xnew))
            if watch_v:
                ok = both(ok, not both(xlt(v, tiny_lane), xgt(xabs(m), xzero)))
            code = not ok
        elif error_codes:
            code = rank(g, ell, xnew, m, v)
        else:
            code = 0
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
    def write_checkpoint(records, snapshots, iterates, b, k, tf, coupled_loss, vhat, played,
                         sums):
        """Record row k of instance b: the sums over its coordinates of the accumulators
        (``sums``: rows × coordinates), Σ_i √v̂ (``vhat``), x_t (``played``), the snapshot of
        the sufficient statistics. One definition for every lane-loop kernel."""
        K = records.shape[1]
        d = vhat.shape[0]
        total = coupled_loss
        exp_total = szero_s
        roots = szero_s
        norms = szero_s
        b1 = szero_s
        energy = szero_s
        mag = szero_s
        for i in range(d):
            total = total + sums[LOSS, i]
            exp_total = exp_total + sums[EXPECTED, i]
            roots = roots + sqrt_s(widen_s(vhat[i]))
            norms = norms + sqrt_s(sums[SG2, i])
            b1 = b1 + sums[B1, i]
            energy = energy + sums[ENERGY, i]
            mag = smax_s(mag, sums[MAG, i])
        records[b, k, 0] = tf
        records[b, k, 1] = total
        records[b, k, 2] = exp_total
        records[b, k, 3] = roots
        records[b, k, 4] = norms
        records[b, k, 5] = b1
        records[b, k, 6] = energy
        records[b, k, 7] = mag
        snap_all = snapshots.shape[1] == K
        if snap_all or k == K - 1:
            ks = k if snap_all else 0
            for i in range(d):
                snapshots[b, ks, 0, i] = sums[S0, i]
                snapshots[b, ks, 1, i] = sums[S1, i]
                snapshots[b, ks, 2, i] = sums[S2, i]
        if iterates.shape[1] == K:
            for i in range(d):
                iterates[b, k, i] = played[i]

    coupled_problem = bool(P.coupled)

    @record_jit
    def write_trace(trace, trace_scalars, where, ln, row):
        """The trace at ``where`` = (t, b, i): x_t, g_t, m_t, v_t, v̂_t, η_t, η̂_t, x̂_{t+1};
        f_t(x_t) (summed over coordinates for separable losses), α_t, β1,t. ``row`` = (g_t,
        x̂_{t+1}, the coordinate's f_t share, α_t, β1,t). The tuples are built at the call, so
        that the specialiser still takes the step's own tuples apart and hoists the loop's
        invariants (a name handed to a call may be changed by it, a tuple's element not)."""
        t, b, i = where
        g, xhat, ell, alpha_s, beta1_s = row
        trace[t - 1, b, i, 0] = ln[XL]
        trace[t - 1, b, i, 1] = g
        trace[t - 1, b, i, 2] = ln[M]
        trace[t - 1, b, i, 3] = ln[V]
        trace[t - 1, b, i, 4] = ln[VH]
        trace[t - 1, b, i, 5] = ln[EPREV]
        trace[t - 1, b, i, 6] = ln[HPREV]
        trace[t - 1, b, i, 7] = xhat
        if not coupled_problem:
            trace_scalars[t - 1, b, 0] = trace_scalars[t - 1, b, 0] + ell
        trace_scalars[t - 1, b, 1] = alpha_s
        trace_scalars[t - 1, b, 2] = beta1_s

    return LaneFunctions(
        lane_math=lane_math, powers=rule.powers, finish=rule.finish, schedule=rule.schedule,
        data=P.data, margin=P.margin, loss_z=P.loss_z, advance=P.advance, project=project,
        grad=grad, loss=loss, rank=rank, write_checkpoint=write_checkpoint, write_trace=write_trace,
        coupled=bool(P.coupled), set_kind=set_kind, ifloat=sp.ifloat, szero=sp.cast(0.0))
