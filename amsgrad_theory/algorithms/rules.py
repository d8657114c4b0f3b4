"""The update rule of every variant, written once over an arithmetic's namespace.

:func:`make_rule` turns a :class:`~amsgrad_theory.algorithms.variant.Variant` and an arithmetic's
namespaces into two pure functions:

``schedule(tf, alpha, beta1, beta2, eps, eps_root, beta1_decay, weight_decay) -> Coefficients``
(the hyperparameters in the order of :data:`~amsgrad_theory.algorithms.HYPERPARAMETERS`;
= ``finish(alpha, eps, eps_root, weight_decay, *powers(tf, beta1, beta2, beta1_decay))``,
:data:`~amsgrad_theory.algorithms.GROUP_HYPERPARAMETERS` and
:data:`~amsgrad_theory.algorithms.INSTANCE_HYPERPARAMETERS`)
    everything that depends only on the step index t (given as ``tf``, t in the scalar
    arithmetic) and the hyperparameters: α_t, β1,t, β2,t, the bias corrections 1 − β^t and the
    step-size factors, computed in the scalar arithmetic and rounded to the lane dtype.

``update(x, m, v, vhat, g, coefficients) -> (m, v, vhat, xhat, eta, eta_hat, weight, root)``
    one step for one coordinate (or, in the vector engines, for whole arrays): the new state,
    the point x̂_{t+1} before projection, the effective steps η_t and η̂_t computed from the
    denominator the step actually divides by, the projection weight (√v̂_t for the paper's
    Π_{F,√V̂_t}, 1 for the Euclidean projection) and √v̂_t.

The functions branch only on the variant's fields, which are constants of the closure; numba
compiles them away, and no branch ever asks which arithmetic it runs in.

Equations (see :mod:`~amsgrad_theory.algorithms.variant` for the notation):

* α_t = α (``constant``) or α/√t (``inv-sqrt``);
* β1,t = β1, β1·λ^{t−1} (``exp-decay``) or β1/t (``inv-t``); β2,t = β2 or 1 − 1/t;
* where the denominator of the step is 0 (no non-zero gradient yet, no ε) the momentum is 0
  too: the step is 0 and η_t = η̂_t = +∞ (Algorithm 2 leaves 0/0 undefined; a framework with
  ε = 0 would produce NaN there).

The tie window (``Coefficients.tie``, :func:`tie_window`). A float run decides η_t ≤ η_{t−1}
by comparing two rounded numbers; the claim is about the exact ones. Let u_l be the unit
roundoff of the lanes and u_c the largest of the coefficients' numbers (the schedule's doubles,
``powers_in``, ``coefficients_in``, ``learning_rate_in``). To first order, in the normal range,
with the gradients taken as the run computed them, every η_t and η̂_t (and v̂_t) has relative
error at most

    e_t = u_l·(9t + 12) + u_c·(4t + 8/(1 − β1) + 9/(1 − β2,t) + 12)   (+ u_l·2t(1 − β2)/β2
                                                                        for the lerp forms of v):

v_t = Σ_s β2^{t−s}(1 − β2)g_s² is a sum of non-negative terms (no cancellation): each step
rounds g², two products and a sum, or a lerp's difference (≤ 4 + 2(1 − β2)/β2 units), and the
rounded β2 contributes one unit per step (β̃2^{t−s}); 1 − β2 computed from the rounded β2 has
relative error u/(1 − β2) (a common factor); the max is exact; β^t computed by ``pow`` (≤ 1
ulp, or exp∘log under XLA: |t log β| ulps) from the rounded β has relative error ≤ (2t + 3)u,
which 1 − β^t amplifies by β^t/(1 − β^t) ≤ 1 + 1/(t(1 − β)) — hence the 4t and 8/(1 − β)
terms for the two corrections; √, + ε, α/√t, the casts and the final division add the
constants. η_{t−1}'s error is at most twice η_t's bound (1/(1 − β^{t−1}) ≤ 2/(1 − β^t) for t ≥
2), so a comparison whose relative margin is within 3·e_t is undecided; the window is
τ_t = 6·e_t (a factor 2 for the second-order terms), and +∞ where τ_t > 1/20 (the first-order
analysis no longer holds). In arb (u = 0) the window is 0: the balls decide. An underflowed g²
or v (subnormal range) is outside this analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .variant import Variant


class Coefficients(NamedTuple):
    """Per-step coefficients (lane dtype unless marked *scalar*)."""

    step: object       # the step-size factor the form multiplies (α_t, α_t/(1−β1^t), …)
    alpha_t: object    # α_t
    beta1_t: object    # β1,t
    w1: object         # 1 − β1,t
    c1: object         # 1 − w1 rounded in the lane dtype (torch's lerp for w1 ≥ 1/2)
    beta2_t: object    # β2,t
    w2: object         # 1 − β2,t
    bc1: object        # 1 − β1^t where m is corrected, else 1
    bc2: object        # 1 − β2^t where v is corrected before the max, else 1
    sbc2: object       # √(1 − β2^t) where v is corrected after the max, else 1
    inv_bc1: object    # 1/(1 − β1^t), rounded in the coefficients' numbers (optax)
    inv_bc2: object    # 1/(1 − β2^t) likewise
    adamx: object      # ((1 − β1,t)/(1 − β1,t−1))², 1 at t = 1
    eps: object        # ε (the capturable form: ε/(−α_t/(1 − β1^t)))
    eps_root: object   # ε_root (inside the root, optax)
    wd: object         # L2 weight-decay coefficient (0 if decoupled)
    decay: object      # decoupled decay factor 1 − α_t·wd (1 if not decoupled)
    alpha_scalar: object   # α_t in the scalar arithmetic (for statistics)
    beta1_scalar: object   # β1,t in the scalar arithmetic (for statistics)
    tie: object        # τ_t: comparisons of η, η̂, v̂ within a relative margin τ_t are ties
    #                    the run's rounding cannot decide (module docstring; 0 in arb)


#: the fields of :class:`Coefficients` in the scalar arithmetic (the others are lane values)
SCALAR_COEFFICIENTS = ("alpha_scalar", "beta1_scalar")

#: the factor between the relative error bound e_t of one compared value and the window τ_t,
#: and the largest window the first-order analysis is trusted for (module docstring)
TIE_FACTOR = 6.0
TIE_CAP = 0.05


def tie_window(t: float, beta1: float, beta2_t: float, u_lane: float, u_coefficients: float,
               lerp_v: bool = False) -> float:
    """τ_t of the module docstring, in Python floats (the rule computes the same in its
    scalar arithmetic): comparisons whose relative margin is within it are undecided."""
    if u_lane == 0 and u_coefficients == 0:
        return 0.0
    a1 = 1.0 / max(1.0 - beta1, 2.0 ** -60)
    a2 = 1.0 / max(1.0 - beta2_t, 2.0 ** -60)
    e = u_lane * (9 * t + 12) + u_coefficients * (4 * t + 8 * a1 + 9 * a2 + 12)
    if lerp_v:
        e += u_lane * 2 * t * (1.0 - beta2_t) / max(beta2_t, 2.0 ** -60)
    tau = TIE_FACTOR * e
    return math.inf if tau > TIE_CAP else tau


class Rule(NamedTuple):
    """The functions of one variant over one arithmetic (see the module docstring).

    ``schedule = finish ∘ powers``: ``powers(tf, β1, β2, λ)`` holds everything expensive and
    α-free (β^t, √t), so a batch computes it once per distinct (β1, β2, λ) and step;
    ``finish(α, ε, ε_root, weight decay, *powers)`` is cheap and runs per instance.
    """

    schedule: Callable
    update: Callable
    powers: Callable
    finish: Callable
    steps_of: Callable


def make_rule(variant: Variant, xp, sp, jit=lambda f: f, *, coefficient_namespace=None) -> Rule:
    """Build the :class:`Rule` of ``variant`` over lane namespace ``xp``, scalar ``sp``.

    ``jit`` is applied to every function built here (numba for the compiled float engine).
    ``coefficient_namespace(kind)`` gives the namespace of numbers of ``kind`` ("scalar",
    "float32", "lane") in which a framework variant computes its coefficients
    (:attr:`~amsgrad_theory.algorithms.variant.Variant.powers_in`, ``coefficients_in``,
    ``learning_rate_in``); by default "scalar" is ``sp`` and "lane" is ``xp``.
    """
    alpha_inv_sqrt = variant.alpha_schedule == "inv-sqrt"
    beta1_mode = variant.beta1_schedule
    beta2_inv_t = variant.beta2_schedule == "one-minus-inv-t"
    correct_m = variant.correct_m
    correct_v_before = variant.correct_v == "before-max"
    correct_v_after = variant.correct_v == "after-max"
    step_form = variant.step_form
    first_ema = variant.first_moment == "ema"
    second = variant.second_moment
    max_rule = variant.max_rule
    m_form = variant.m_form
    v_form = variant.v_form
    weighted = variant.projection == "weighted"
    decoupled = variant.weight_decay_mode == "decoupled"
    l2 = variant.weight_decay_mode == "l2"
    eps_free = variant.eps_free
    root_shift = variant.eps_root_inside
    reciprocal = variant.correction == "reciprocal"
    root_by_sqrt = variant.correction_root == "sqrt"
    fused_x = variant.x_form == "fma"

    def namespace(kind):
        if coefficient_namespace is not None:
            return coefficient_namespace(kind)
        if kind == "scalar":
            return sp
        if kind == "lane":
            return xp
        raise ValueError(f"no {kind} namespace was given for {variant.name}'s coefficients")

    # β1,t, β2,t, 1 − β, √t and α_t are Python doubles in every framework (they are rounded
    # to the lane dtype where they meet lane values); what differs is where the bias
    # corrections (pp) and the step factors that combine them with α and ε (cp) are computed
    # the schedule's own numbers: Python doubles (sp itself; torch's scalars compute √ and
    # pow as C does, not as its vectorised kernels)
    sp_sched = namespace("scalar")
    pp = namespace(variant.powers_in)            # β^t, 1 − β^t, √(1 − β2^t)
    cp = namespace(variant.coefficients_in)      # the step factors, ε, the reciprocals
    lr_stored = variant.learning_rate_in is not None
    lcast = namespace(variant.learning_rate_in).cast if lr_stored else None
    p_cast = pp is not sp_sched   # the hyperparameters arrive as scalars: round them first
    c_from_p = cp is not pp
    c_from_s = cp is not sp_sched

    # the tie window's unit roundoffs (module docstring); 0 in arb: no window
    u_lane = float(xp.unit_roundoff)
    u_co = max(float(ns.unit_roundoff) for ns in (
        sp_sched, pp, cp, namespace(variant.learning_rate_in) if lr_stored else sp_sched))
    # only claims the variant's form does not settle need a window (structural variants'
    # comparisons are kept raw: amsgrad_theory.engine.lane)
    windowed = u_lane > 0 and variant.monotone_steps is None
    lerp_v = v_form in ("lerp", "fma-lerp")

    cast = xp.cast
    psqrt, pcast, ppow = pp.sqrt, pp.cast, pp.pow
    ccast, csqrt = cp.cast, cp.sqrt
    ssqrt, spow = sp_sched.sqrt, sp_sched.pow
    sqrt = xp.sqrt
    fma = xp.fma
    where = xp.where
    gt = xp.gt
    lt = xp.lt
    zero = xp.zero
    one = xp.one
    inf = xp.inf
    half = xp.cast(0.5)
    maximum = xp.maximum

    @jit
    def beta1_at(beta1, beta1_decay, tf):
        if beta1_mode == "exp-decay":
            return beta1 * spow(beta1_decay, tf - one_s)
        if beta1_mode == "inv-t":
            return beta1 / tf
        return beta1

    # lanes, schedule and coefficients in one arithmetic (mpmath, arb, Python float64 lanes
    # with float64 coefficients): no casts
    same_type = xp is sp and cp is sp_sched
    one_s = sp.cast(1.0)   # constants of the scalar arithmetic, converted once
    zero_s = sp.cast(0.0)
    # … of the bias corrections' and the step factors' numbers, typed (a numba namespace's
    # cast called from Python returns a Python float, which numba would take as a double)
    one_p = pp.one
    half_p = pp.one / (pp.one + pp.one)
    one_c = cp.one
    # … and of the tie window, in the numbers its bound is computed in (doubles: a bound needs
    # no more; the scalar arithmetic's own for the compiled and vector engines)
    bp = namespace("bound") if coefficient_namespace is not None else sp
    bcast, bmax, bwhere, bgt = bp.cast, bp.maximum, bp.where, bp.gt
    b_one, tiny_b = bp.cast(1.0), bp.cast(2.0 ** -60)
    u_lane_b, u_co_b = bp.cast(u_lane), bp.cast(u_co)
    k2, k4, k8, k9, k12 = (bp.cast(c) for c in (2.0, 4.0, 8.0, 9.0, 12.0))
    tie_factor, tie_cap, inf_b = bp.cast(TIE_FACTOR), bp.cast(TIE_CAP), bp.inf

    @jit
    def tie_of(tf, beta1, b2):
        """τ_t (module docstring, :func:`tie_window`) in the bound's numbers."""
        if not windowed:
            return zero_s
        tb = bcast(tf)
        b2b = bcast(b2)
        a1 = b_one / bmax(b_one - bcast(beta1), tiny_b)
        a2 = b_one / bmax(b_one - b2b, tiny_b)
        e = u_lane_b * (k9 * tb + k12) + u_co_b * (k4 * tb + k8 * a1 + k9 * a2 + k12)
        if lerp_v:
            e = e + u_lane_b * k2 * tb * (b_one - b2b) / bmax(b2b, tiny_b)
        tau = tie_factor * e
        return bwhere(bgt(tau, tie_cap), inf_b, tau)

    @jit
    def powers(tf, beta1, beta2, beta1_decay):
        """The expensive, α-free part of the schedule (shared by instances with equal β1, β2, λ):
        (√t, β1,t, AdamX ratio, β2,t in the scalar arithmetic; 1 − β1^t, 1 − β2^t,
        (1 − β2^t)^½ as pow or √, √(1 − β2^t) in the numbers the variant computes its bias
        corrections in, ``Variant.powers_in``; the tie window τ_t in the scalar arithmetic)."""
        sqrt_t = ssqrt(tf)
        b1 = beta1_at(beta1, beta1_decay, tf)
        if max_rule == "adamx":
            if tf > one_s:
                b1_prev = beta1_at(beta1, beta1_decay, tf - one_s)
                ratio = (one_s - b1) / (one_s - b1_prev)
                adamx = ratio * ratio
            else:
                adamx = one_s
        else:
            adamx = one_s
        if beta2_inv_t:
            b2 = one_s - one_s / tf
        else:
            b2 = beta2
        tie = tie_of(tf, beta1, b2)
        if p_cast:
            tf = pcast(tf)
            beta1 = pcast(beta1)
            beta2 = pcast(beta2)
        bc1 = (one_p - ppow(beta1, tf)) if correct_m else one_p
        bc2 = (one_p - ppow(beta2, tf)) if (correct_v_before or correct_v_after) else one_p
        if correct_v_after and not root_by_sqrt:
            sbc2 = ppow(bc2, half_p)             # torch: bias_correction2 ** 0.5
        elif correct_v_after:
            sbc2 = psqrt(bc2)                    # torch's fused kernel: std::sqrt
        else:
            sbc2 = one_p
        rbc2 = psqrt(bc2) if step_form == "folded" else one_p
        return sqrt_t, b1, adamx, b2, bc1, bc2, sbc2, rbc2, tie

    @jit
    def finish(alpha, eps, eps_root, weight_decay, sqrt_t, b1, adamx, b2, bc1, bc2, sbc2, rbc2,
               tie):
        """The per-instance part: α_t, ε, weight decay in the scalar arithmetic; the step
        factor of the form (and the reciprocals of the corrections, the capturable form's ε)
        in the numbers the variant computes them in (``Variant.coefficients_in``, with the
        learning rate first stored as ``Variant.learning_rate_in``); then all in lanes."""
        if alpha_inv_sqrt:
            a_t = alpha / sqrt_t
        else:
            a_t = alpha
        w1 = one_s - b1
        w2 = one_s - b2
        lr = a_t
        if lr_stored:
            lr = ccast(lcast(lr))      # the learning rate as the framework stores it
        elif c_from_s:
            lr = ccast(lr)
        if c_from_p:
            bc1 = ccast(bc1)
            bc2 = ccast(bc2)
            sbc2 = ccast(sbc2)
            rbc2 = ccast(rbc2)
        if reciprocal:
            inv_bc1 = one_c / bc1
            inv_bc2 = one_c / bc2
        else:
            inv_bc1 = one_c
            inv_bc2 = one_c
        if step_form == "scaled":
            step = lr / bc1
        elif step_form == "folded":
            step = lr * rbc2 / bc1
        elif step_form == "capturable":
            # torch's capturable/differentiable branch: step_size = lr/bc1 as (1/bc1)·lr, then
            # denom = √v̂/(√bc2·(−step_size)) + ε/(−step_size), x += m/denom
            neg = -((one_c / bc1) * lr)
            step = csqrt(bc2) * neg
            eps = (one_c / neg) * (ccast(eps) if c_from_s else eps)
        else:
            step = lr
        if decoupled:
            l2 = zero_s
            decay = one_s - a_t * weight_decay
        else:
            l2 = weight_decay
            decay = one_s
        if same_type:     # mpmath, arb: schedule values already are lane values
            return Coefficients(step, a_t, b1, w1, one - w1, b2, w2, bc1, bc2, sbc2, inv_bc1,
                                inv_bc2, adamx, eps, eps_root, l2, decay, a_t, b1,
                                cast(tie) if windowed else tie)
        w1_lane = cast(w1)
        return Coefficients(
            cast(step), cast(a_t), cast(b1), w1_lane, one - w1_lane, cast(b2), cast(w2),
            cast(bc1), cast(bc2), cast(sbc2), cast(inv_bc1), cast(inv_bc2), cast(adamx),
            cast(eps), cast(eps_root), cast(l2), cast(decay), a_t, b1, cast(tie),
        )

    @jit
    def schedule(tf, alpha, beta1, beta2, eps, eps_root, beta1_decay, weight_decay):
        """Every coefficient of step t: ``finish(α, ε, ε_root, wd, *powers(t, β1, β2, λ))``."""
        sqrt_t, b1, adamx, b2, bc1, bc2, sbc2, rbc2, tie = powers(tf, beta1, beta2, beta1_decay)
        return finish(alpha, eps, eps_root, weight_decay, sqrt_t, b1, adamx, b2, bc1, bc2, sbc2,
                      rbc2, tie)

    @jit
    def steps_of(vhat, co):
        """(√v̂, the denominator, den ≠ 0, a safe denominator, η, η̂) of the variant's step.

        η and η̂ are read off the denominator the step divides by (so a max that is computed
        but not used shows up); where the denominator is 0 they are +∞. (The capturable form
        divides by a negative denominator: x + m/den with den < 0.)
        """
        step = co.step
        alpha_t = co.alpha_t
        bc1 = co.bc1
        root = sqrt(vhat)
        if step_form == "scaled":
            den = root / co.sbc2 if eps_free else root / co.sbc2 + co.eps
        elif step_form == "capturable":
            den = root / step if eps_free else root / step + co.eps
        elif eps_free:
            den = root                             # every ε is 0: + 0 is exact
        elif step_form == "folded":
            den = root + co.eps
        elif root_shift:
            den = sqrt(vhat + co.eps_root) + co.eps   # optax: √(ν̂max + ε_root) + ε
        else:
            den = root + co.eps
        if step_form == "capturable":
            positive = lt(den, zero)
            safe = where(positive, den, -one)
            eta = where(positive, -one / safe, inf)             # x − η m = x + m/den
            eta_hat = where(positive, -bc1 / safe, inf)
        else:
            positive = gt(den, zero)
            safe = where(positive, den, one)
        if step_form == "scaled":
            eta = where(positive, step / safe, inf)
            eta_hat = where(positive, alpha_t / safe, inf)
        elif step_form == "folded":
            eta = where(positive, step / safe, inf)
            eta_hat = where(positive, (step * bc1) / safe, inf)
        elif step_form == "normalized":
            eta_hat = where(positive, step / safe, inf)
            if correct_m:
                eta = where(positive, step / (bc1 * safe), inf)
            else:
                eta = eta_hat
        return root, den, positive, safe, eta, eta_hat

    @jit
    def update(x, m, v, vhat, g, co):
        (step, alpha_t, beta1_t, w1, c1, beta2_t, w2, bc1, bc2, sbc2, inv_bc1, inv_bc2, adamx,
         eps, eps_root, wd, decay, _, _, _) = co
        # weight decay: L2 adds wd·x to the gradient (it then enters m, v and the max)
        if l2:
            if m_form == "torch-lerp":
                g = fma(wd, x, g)       # torch: grad.add(param, alpha=wd), one rounding
            else:
                g = g + wd * x
        # first moment m_t
        if first_ema:
            if m_form == "torch-lerp":
                # ATen lerp: m + w(g − m) for w < 1/2, else g − (g − m)(1 − w), each one fma;
                # the operands are chosen, not the results: one fma, and no branch in a
                # compiled lane loop (choosing between two fmas cost 2.7× the loop's time)
                diff = g - m
                low = lt(w1, half)
                m = fma(where(low, w1, -c1), diff, where(low, m, g))
            elif m_form == "lerp":
                m = m + (g - m) * w1
            elif m_form == "fma-convex":
                m = fma(w1, g, m * beta1_t)          # m·β1 then + (1−β1)·g in one rounding
            elif m_form == "fma-lerp":
                m = fma(g - m, w1, m)                # m + (g − m)(1 − β1) in one rounding
            else:
                m = beta1_t * m + w1 * g
        else:
            m = g
        # second moment v_t
        if second == "ema":
            if v_form == "torch":
                v = fma(w2 * g, g, v * beta2_t)   # v.mul_(β2).addcmul_(g, g, value=1−β2)
            elif v_form == "torch-tail":
                v = fma(v, beta2_t, (w2 * g) * g)    # torch's fused kernel, scalar tail
            elif v_form == "lerp":
                v = v + (g * g - v) * w2
            elif v_form == "fma-convex":
                v = fma(w2, g * g, v * beta2_t)
            elif v_form == "fma-lerp":
                v = fma(fma(g, g, -v), w2, v)        # XLA contracts g·g − v and ·(1−β2) + v
            else:
                v = beta2_t * v + w2 * (g * g)
        elif second == "sum":
            v = v + g * g
        # the maxed (or plain) second moment v̂_t
        if second == "none":
            vhat = one + zero * v
        else:
            if correct_v_before and reciprocal:
                vt = v * inv_bc2
            elif correct_v_before:
                vt = v / bc2
            else:
                vt = v
            if max_rule == "running-max":
                vhat = maximum(vhat, vt)
            elif max_rule == "adamx":
                vhat = maximum(adamx * vhat, vt)
            else:
                vhat = vt
        root, den, positive, safe, eta, eta_hat = steps_of(vhat, co)
        if decoupled:
            x = x * decay
        if step_form == "scaled":
            xhat = x + (-step * m) / safe           # addcdiv_(m, den, value=−lr/bc1)
        elif step_form == "folded":
            xhat = x - (m * step) / safe
        elif step_form == "capturable":
            xhat = x + m / safe                     # addcdiv_(m, den) with den < 0
        else:
            if correct_m and reciprocal:
                mhat = m * inv_bc1
            elif correct_m:
                mhat = m / bc1
            else:
                mhat = m
            if fused_x:
                xhat = fma(mhat / safe, -step, x)   # XLA contracts q·(−lr) + x
            else:
                xhat = x - step * (mhat / safe)
        if weighted:
            weight = root
        else:
            weight = one + zero * root
        return m, v, vhat, xhat, eta, eta_hat, weight, root

    return Rule(schedule, update, powers, finish, steps_of)
