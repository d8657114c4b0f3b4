"""Online convex problems: a feasible set, a stream of losses, and the truth about them.

A :class:`Problem` holds B instances of one family (each with its own parameters) in dimension d.
At step t the loss of instance b is determined by per-coordinate *data* (a0, a1) computed by a
pure function of (t, i, the instance's parameters) — never stored — and, for the coupled
families (logistic, hinge), by the margin z = Σ_i margin(x_i, a0_i, a1_i). Every family gives

* ``grad``: the exact gradient g_{t,i} of f_t at x_t,
* ``loss``: f_t(x_t) (as a sum over lanes, or from z),
* ``suff``: sufficient statistics of Σ_{s≤t} f_s that make the comparator
  min_{x∈F} Σ_{s≤t} f_s(x) computable without keeping the stream (linear: G = Σ g; quadratic:
  H = Σ h, B = Σ h c, K = Σ h c²/2),
* the declared bounds D∞ (ℓ∞ diameter of F) and G∞ (≥ sup ‖∇f_t‖∞ over F), exact rationals.

Families
--------
``periodic-linear``  f_t(x) = C·x if t mod period = 1 else −c·x on [−1, 1]  (Reddi et al. Theorem 1
                     is C > 2, c = 1, period 3; Theorem 2 uses period C; Figure 1 is C = 1010,
                     c = 10, period 101).
``bernoulli-linear`` f_t(x) = C·x with probability p else −c·x (Theorem 3: p = (1+δ)/(C+1), c = 1;
                     Figure 1 stochastic: C = 1010, c = 10, p = 0.01). F(x) = E f_t(x) = μx with
                     μ = p'C − (1−p')c, where p' = k/2³² is the probability the integer
                     threshold realises exactly (|p' − p| ≤ 2⁻³³).
``gradient-sequence`` f_t(x) = ⟨g_t, x⟩ with listed g_t, then ``tail``; set box or none.
``random-linear``    f_t(x) = ⟨a_t, x⟩, a_{t,i} = s_{t,i}·scale·(b_i + ξ_{t,i}), b_i, ξ ∈ [−½, ½).
``random-quadratic`` f_t(x) = ½ Σ_i s_{t,i} h_{t,i} (x_i − c_{t,i})², h ∈ [½, 3/2), c = b_i + ξ.
``random-logistic``  f_t(x) = log(1 + exp(−y_t⟨a_t, x⟩)), a_{t,i} = s_{t,i}(y_t μ_i + ξ_{t,i}).
``random-hinge``     f_t(x) = max(0, 1 − y_t⟨a_t, x⟩), same data.

s_{t,i} ∈ {0, 1} is 1 with probability ``sparsity`` (the fraction of coordinates with a non-zero
gradient per step). All random numbers come from :mod:`~amsgrad_theory.problems.rng` and are
dyadic rationals exact in float32 and every wider arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, NamedTuple

import numpy as np

from ..errors import InputError
from ..lanecode import lane_code
from ..numbers import floats_of
from .rng import TWO23, make_hash
from .sets import FeasibleSet
from .solvers import margin_comparator


class ProblemLanes(NamedTuple):
    """The lane functions of a problem, built over one arithmetic (see :meth:`Problem.lanes`).

    ``data(t, i, fp, ip, tab) -> (a0, a1)`` lane-dtype data of coordinate i at step t, from the
    instance's float parameters ``fp`` (a 3-tuple) and integer state ``ip`` (a 2-tuple) — in
    the vector engines tuples of ``(B, 1)`` columns;
    ``margin(x, a0, a1)`` the coordinate's term of z (coupled families; else 0);
    ``grad(x, a0, a1, z) -> g``; ``loss(x, a0, a1) -> ℓ`` the coordinate's share of f_t(x)
    (separable families; in the scalar arithmetic); ``loss_z(z) -> f_t(x)`` (coupled families);
    ``suff(s0, s1, s2, a0, a1) -> (s0, s1, s2)``; ``expected(x, fp) -> F_i(x)`` the coordinate's
    share of E f_t(x) (Bernoulli; else 0); ``advance(ip) -> ip`` returns the instance's integer
    state for this step, computed once per step before its data are read (the periodic family
    keeps t mod period there, so no lane ever divides). A claim the blocked kernel relies on
    (it holds the parameters in 32 bits where the run's values fit): ``advance`` keeps every
    value between the least and the greatest of its instance's integer parameters (tests/core/
    test_problems.py checks each family).
    """

    coupled: bool
    data: Callable
    margin: Callable
    grad: Callable
    loss: Callable
    loss_z: Callable
    suff: Callable
    expected: Callable
    advance: Callable


def _no_advance(jit):
    @jit
    def advance(ip):
        return ip

    return advance


@dataclass
class Problem:
    """B instances of one problem family in dimension d (see the module docstring)."""

    family: str
    spec: str
    d: int
    set: FeasibleSet
    params: list[dict]
    sequence: list | None = None
    meta: dict = field(default_factory=dict)
    #: (argument, the user's text) of each number of the spec that a run converts into its
    #: arithmetic (C, c, tail, each g, scale, radius): what must survive that conversion
    inputs: list[tuple[str, str]] = field(default_factory=list)

    # ---- family facts, overridden by subclasses ------------------------------------------
    float_params: ClassVar[tuple] = ()
    #: the indices into ``fp`` of the float parameters the lane functions read only as
    #: ``cast(fp[k])`` (the lane value), never in the scalar arithmetic: a kernel may hand
    #: them over already cast, once per run instead of once per lane-step (the blocked float32
    #: kernel does), and ``cast`` of a lane value is that value. A claim about ``lanes``: the
    #: tests compare that kernel with the lane loop bit for bit
    lane_float_params: ClassVar[tuple[int, ...]] = ()
    int_params: ClassVar[tuple] = ()
    coupled: ClassVar[bool] = False
    #: how many of the sufficient statistics S0, S1, S2 ``suff`` changes: it returns rows
    #: nsuff … 2 as it was given them (a kernel need not store them back, the blocked one does
    #: not). All three unless a family declares fewer; a claim about ``lanes``, checked for
    #: every family by the tests
    nsuff: ClassVar[int] = 3
    has_expected: ClassVar[bool] = False

    @property
    def B(self) -> int:
        return len(self.params)

    def D_inf(self) -> Fraction | None:
        return self.set.D_inf()

    def G_inf(self, b: int = 0) -> Fraction | None:
        """G∞ ≥ sup_t ‖∇f_t(x)‖∞ over F (exact); None where no finite bound exists."""
        raise NotImplementedError

    def G_floor(self, b: int = 0) -> Fraction | None:
        """γ > 0 with |∇f_t(x)_i| ≥ γ for every step t, coordinate i and x ∈ F (exact), where
        the family has such a floor (linear losses whose gradients never vanish); None
        otherwise. With it, v_t ≥ (1 − β2)·γ² at every step, which proves that a float run's
        second moment cannot underflow (:func:`amsgrad_theory.engine.lane.v_floor`)."""
        return None

    def G_floor_least(self, rows) -> Fraction | None:
        """min over the instances ``rows`` of :meth:`G_floor` (exact); None if any has none."""
        floors = []
        for b in rows:
            floor = self.G_floor(b)
            if floor is None:
                return None
            floors.append(floor)
        return min(floors, default=None)

    def box_bounds(self) -> tuple[str, str]:
        """(lo, hi) of the box, or the ball's [−R, R] per coordinate."""
        if self.set.kind == "box":
            return self.set.lo, self.set.hi
        if self.set.kind == "ball":
            return "-" + self.set.radius, self.set.radius
        return "-inf", "inf"

    # ---- arrays handed to the kernels ------------------------------------------------------
    def int_values(self, b: int) -> list[int]:
        return [int(self.params[b].get(k, 0)) for k in self.int_params]

    def float_columns(self) -> list[list[str]]:
        """The float parameters' texts, one list per parameter (B texts each)."""
        return [[str(p[k]) for p in self.params] for k in self.float_params]

    def int_columns(self) -> list[list[int]]:
        """:meth:`int_values` of every instance, one list per parameter."""
        return [[int(p.get(k, 0)) for p in self.params] for k in self.int_params]

    def table(self) -> tuple[list, list]:
        """(rows, tails): the gradient table (B × L × d decimal strings) and tail values."""
        return [[]] * self.B, ["0"] * self.B

    def static_block(self) -> np.ndarray | None:
        """Per-instance, per-coordinate data fixed for the whole run: a (B, d) float64 array
        (exact), or None.

        The kernels hand it to ``data`` as ``tab`` once the table is exhausted (for the
        gradient sequence the table holds the gradients and the tail its value); the random
        families keep their per-coordinate means here instead of rehashing them every step.
        """
        return None

    def lanes(self, xp, sp, jit=lane_code) -> ProblemLanes:
        """The family's lane functions over lane namespace ``xp`` and scalar namespace ``sp``
        (see :class:`ProblemLanes`); ``jit`` is applied to each (numba, or the lane-code
        mark)."""
        raise NotImplementedError

    # ---- truth ------------------------------------------------------------------------------
    def comparator(self, ar, suff: list, t: int, b: int = 0):
        """(value, point, tolerance) of min_{x∈F} Σ_{s≤t} f_s(x), or None when undefined.

        ``suff`` is [s0, s1, s2] of lists (length d) in the scalar arithmetic.
        """
        raise NotImplementedError

    def expected_min(self, ar, b: int = 0):
        """min_{x∈F} E f_t(x) per step (Bernoulli), or None."""
        return None

    def describe(self) -> dict:
        out = {"family": self.family, "spec": self.spec, "d": self.d, "set": self.set.describe(),
               "instances": self.B}
        if self.B == 1:
            out["parameters"] = {k: v for k, v in self.params[0].items()}
        out.update(self.meta)
        return out


# ------------------------------------------------------------------------------------------------
# comparators of linear and diagonal-quadratic sums, written over an arithmetic
# ------------------------------------------------------------------------------------------------

def linear_comparator(ar, problem: Problem, G: list):
    """min over F of ⟨G, x⟩: a vertex of the box; −R‖G‖₂ on the ball; −∞ (None) unconstrained."""
    sp = ar.sp
    kind = problem.set.kind
    if kind == "box":
        lo, hi = ar.scalar(problem.set.lo), ar.scalar(problem.set.hi)
        point = [lo if g > 0 else hi for g in G]
        value = sum((g * x for g, x in zip(G, point)), ar.scalar(0))
        return value, point, 0.0
    if kind == "ball":
        R = ar.scalar(problem.set.radius)
        norm = sp.sqrt(sum((g * g for g in G), ar.scalar(0)))
        if not norm > 0:
            return ar.scalar(0), [ar.scalar(0)] * len(G), 0.0
        point = [-R * g / norm for g in G]
        return -R * norm, point, 0.0
    if all(g == 0 for g in G):
        return ar.scalar(0), [ar.scalar(0)] * len(G), 0.0
    return None


def quadratic_comparator(ar, problem: Problem, H: list, Bv: list, K: list):
    """min over F of Σ_i ½H_i x_i² − B_i x_i + K_i.

    Box: x_i = clip(B_i/H_i) (exact). Ball: x_i = B_i/(H_i + μ) with μ ≥ 0 the root of
    Σ (B_i/(H_i+μ))² = R², by monotone Newton from μ = 0 (tolerance: the change of the objective
    when μ stops moving, reported). Unconstrained: x_i = B_i/H_i.
    """
    zero = ar.scalar(0)
    kind = problem.set.kind

    def value(point):
        total = zero
        for h, bb, k, x in zip(H, Bv, K, point):
            total = total + (h * x * x) / 2 - bb * x + k
        return total

    if kind in ("box", "none"):
        point = []
        for h, bb in zip(H, Bv):
            x = bb / h if h > 0 else zero
            if kind == "box":
                lo, hi = ar.scalar(problem.set.lo), ar.scalar(problem.set.hi)
                x = lo if x < lo else hi if x > hi else x
            point.append(x)
        return value(point), point, 0.0
    R = ar.scalar(problem.set.radius)
    free = [bb / h if h > 0 else zero for h, bb in zip(H, Bv)]
    if sum((x * x for x in free), zero) <= R * R:
        return value(free), free, 0.0
    mu = zero
    for _ in range(10000):
        phi = sum(((bb / (h + mu)) ** 2 for h, bb in zip(H, Bv) if h + mu > 0), zero) - R * R
        dphi = sum((bb * bb / (h + mu) ** 3 for h, bb in zip(H, Bv) if h + mu > 0), zero)
        if not (phi > 0 and dphi > 0):
            break
        new = mu + phi / (2 * dphi)
        if not new > mu:
            break
        mu = new
    point = [bb / (h + mu) if h + mu > 0 else zero for h, bb in zip(H, Bv)]
    return value(point), point, ar.to_float(abs(sum((x * x for x in point), zero) - R * R))


# ------------------------------------------------------------------------------------------------
# families
# ------------------------------------------------------------------------------------------------

def _q(text) -> Fraction:
    return Fraction(str(text))


class _LinearLanes:
    """Lane functions shared by the linear families (g = a0, ℓ = a0·x, G += a0)."""

    @staticmethod
    def build(xp, sp, jit, data, expected=None, advance=None):
        zero = xp.zero
        szero = sp.cast(0.0)
        widen = sp.widen

        @jit
        def margin(x, a0, a1):
            return zero

        @jit
        def grad(x, a0, a1, z):
            return a0

        @jit
        def loss(x, a0, a1):
            return widen(a0) * widen(x)

        @jit
        def loss_z(z):
            return szero

        @jit
        def suff(s0, s1, s2, a0, a1):
            return s0 + widen(a0), s1, s2

        if expected is None:
            @jit
            def expected(x, fp):
                return szero

        return ProblemLanes(False, data, margin, grad, loss, loss_z, suff, expected,
                            advance or _no_advance(jit))


def _least_abs(texts) -> Fraction:
    """min |v| over the exact values of ``texts`` (decimals or ``a/b``), exactly, with one
    exact conversion per text that ties for the least float: rounding to the nearest float
    is monotone, so the exact minimum's float is the least of the floats (±inf for a value
    beyond the range ranks it last, as its exact value does); each distinct text once."""
    floats = np.abs(floats_of(texts))
    ties = dict.fromkeys(texts[i] for i in np.flatnonzero(floats == floats.min()).tolist())
    return min(abs(_q(text)) for text in ties)       # thousands share c = 1: each text once


class _TwoValuedGradients(Problem):
    """Families whose gradient is C or −c at every step (g_t ∈ {C, −c})."""

    nsuff = 1               # Σ g (_LinearLanes)

    def G_inf(self, b=0):
        return max(abs(_q(self.params[b]["C"])), abs(_q(self.params[b]["c"])))

    def G_floor(self, b=0):
        return min(abs(_q(self.params[b]["C"])), abs(_q(self.params[b]["c"]))) or None

    def G_floor_least(self, rows):
        params = [self.params[b] for b in rows]
        if not params:
            return None
        least = _least_abs([str(p[k]) for k in ("C", "c") for p in params])
        return least or None    # a zero C or c leaves that instance without a floor


class PeriodicLinear(_TwoValuedGradients):
    float_params = ("C", "c")
    lane_float_params = (0, 1)
    int_params = ("period", "phase")   # phase = t mod period, kept by advance()

    def lanes(self, xp, sp, jit=lane_code):
        cast = xp.cast
        where = xp.where
        zero = xp.zero
        icast = xp.icast
        if icast is None:
            @jit
            def icast(n):
                return n

        @jit
        def advance(ip):
            # + 1, written as + ((period >> 63) | 1), which is 1 for every period ≥ 2 but not
            # a constant to the compiler: for x + 1 LLVM computes x − (−1) with an all-ones
            # register made by vpternlogd, which reads that register's last value; where the
            # register allocator chose one last written at the end of the update (x_{t+1}),
            # each 8-lane iteration waited for the one before it, and the lane loop ran
            # 3.5× slower (AVX-512, Zen 5: experiments/benchmarks/kernel_bisect.py --asm).
            # icast: in 32-bit parameters the comparison and the select are 32-bit too (numba
            # widens the sum to 64 bits, LLVM narrows what is cast back)
            nxt = icast(ip[1] + ((ip[0] >> 63) | 1))
            return ip[0], icast(where(nxt == ip[0], 0 * nxt, nxt))

        @jit
        def data(t, i, fp, ip, tab):
            return where(ip[1] == 1, cast(fp[0]), -cast(fp[1])), zero

        return _LinearLanes.build(xp, sp, jit, data, advance=advance)

    def comparator(self, ar, suff, t, b=0):
        return linear_comparator(ar, self, suff[0])


class BernoulliLinear(_TwoValuedGradients):
    float_params = ("C", "c", "mu")
    lane_float_params = (0, 1)      # mu enters E f_t in the scalar arithmetic
    int_params = ("key", "threshold")
    has_expected = True

    def lanes(self, xp, sp, jit=lane_code):
        U = xp.uint
        cast = xp.cast
        where = xp.where
        _, draw, _ = make_hash(U, jit)
        widen = sp.widen
        zero = xp.zero

        @jit
        def data(t, i, fp, ip, tab):
            h = draw(U(ip[0]), U(t), U(0), U(0))
            return where(h < U(ip[1]), cast(fp[0]), -cast(fp[1])), zero

        @jit
        def expected(x, fp):
            return fp[2] * widen(x)

        return _LinearLanes.build(xp, sp, jit, data, expected)

    def comparator(self, ar, suff, t, b=0):
        return linear_comparator(ar, self, suff[0])

    def expected_min(self, ar, b=0):
        mu = ar.scalar(self.params[b]["mu"])
        lo, hi = ar.scalar(self.set.lo), ar.scalar(self.set.hi)
        return mu * lo if mu > 0 else mu * hi


class GradientSequence(Problem):
    nsuff = 1               # Σ g (_LinearLanes)

    def G_inf(self, b=0):
        values = [abs(_q(v)) for row in self.sequence[b] for v in row]
        values.append(abs(_q(self.params[b]["tail"])))
        return max(values)

    def G_floor(self, b=0):     # the table's entries, then the tail
        values = [abs(_q(v)) for row in self.sequence[b] for v in row]
        values.append(abs(_q(self.params[b]["tail"])))
        return min(values) or None

    def table(self):
        return self.sequence, [self.params[b]["tail"] for b in range(self.B)]

    def lanes(self, xp, sp, jit=lane_code):
        zero = xp.zero

        @jit
        def data(t, i, fp, ip, tab):
            return tab, zero

        return _LinearLanes.build(xp, sp, jit, data)

    def comparator(self, ar, suff, t, b=0):
        return linear_comparator(ar, self, suff[0])


class _RandomBase(Problem):
    """Shared data of the random families: key, sparsity threshold, per-coordinate means."""

    int_params = ("key", "active")

    def random_lanes(self, xp, sp, jit):
        """(active(t,i,ip), unit(t,i,ip,ch) ∈ [0,1)) over ``xp``, ``sp`` (the means are static
        lanes)."""
        U = xp.uint
        _, draw, bits23 = make_hash(U, jit)
        inv = 1.0 / TWO23
        ifloat = sp.ifloat

        @jit
        def active(t, i, ip):
            return draw(U(ip[0]), U(t), U(i), U(0)) < U(ip[1])

        @jit
        def unit(t, i, ip, ch):
            return ifloat(bits23(draw(U(ip[0]), U(t), U(i), U(ch)))) * inv

        return active, unit

    def static_block(self) -> np.ndarray:
        """The per-coordinate means of every instance at once (:meth:`_means`)."""
        return self._means(np.asarray(self.int_columns()[0], dtype=np.uint64)[:, None])

    def _means(self, keys) -> np.ndarray:
        """μ_{b,i} = unit(0, i, 7) − ½ ∈ [−½, ½) under each key (a column of keys, one row
        each): the per-coordinate means (dyadic, exact)."""
        U = lambda n: np.asarray(n).astype(np.uint64)  # noqa: E731
        _, draw, bits23 = make_hash(U)
        i = np.arange(self.d, dtype=np.uint64)[None, :]
        return bits23(draw(U(keys), U(0), i, U(7))).astype(np.float64) / TWO23 - 0.5

    def numpy_data(self, b: int, T: int, t0: int = 1):
        """The family's data for steps t0..T as float64 numpy arrays (for comparators)."""
        U = lambda n: np.asarray(n).astype(np.uint64)  # noqa: E731
        _, draw, bits23 = make_hash(U)
        ip = [int(v) for v in self.int_values(b)]
        t = np.arange(t0, T + 1, dtype=np.uint64)[:, None]
        i = np.arange(self.d, dtype=np.uint64)[None, :]
        k = U(ip[0])

        def unit(tt, ii, ch):
            return bits23(draw(k, tt, ii, U(ch))).astype(np.float64) / TWO23

        act = draw(k, t, i, U(0)) < U(ip[1])
        mu = self._means(k)
        return act, unit, mu, t, i


class RandomLinear(_RandomBase):
    nsuff = 1               # Σ g (_LinearLanes)
    float_params = ("scale",)
    lane_float_params = (0,)

    def G_inf(self, b=0):
        return abs(_q(self.params[b]["scale"]))

    def lanes(self, xp, sp, jit=lane_code):
        cast, where, zero = xp.cast, xp.where, xp.zero
        active, unit = self.random_lanes(xp, sp, jit)

        @jit
        def data(t, i, fp, ip, tab):
            value = cast(fp[0]) * cast(tab + (unit(t, i, ip, 1) - 0.5))
            return where(active(t, i, ip), value, zero), zero

        return _LinearLanes.build(xp, sp, jit, data)

    def comparator(self, ar, suff, t, b=0):
        return linear_comparator(ar, self, suff[0])


class RandomQuadratic(_RandomBase):
    float_params = ()
    nsuff = 3

    def G_inf(self, b=0):
        """3/2·(max|x| + 1) over a bounded set; None over R^d, where h·(x − c) is unbounded."""
        if not self.set.bounded:
            return None
        lo, hi = (_q(v) for v in self.box_bounds())
        return Fraction(3, 2) * (max(abs(lo), abs(hi)) + 1)

    def lanes(self, xp, sp, jit=lane_code):
        cast = xp.cast
        zero = xp.zero
        where = xp.where
        szero = sp.cast(0.0)
        widen = sp.widen
        active, unit = self.random_lanes(xp, sp, jit)

        @jit
        def data(t, i, fp, ip, tab):
            h = where(active(t, i, ip), cast(unit(t, i, ip, 2) + 0.5), zero)
            c = cast(tab + (unit(t, i, ip, 1) - 0.5))
            return h, c

        @jit
        def margin(x, a0, a1):
            return zero

        @jit
        def grad(x, a0, a1, z):
            return a0 * (x - a1)

        @jit
        def loss(x, a0, a1):
            r = widen(x) - widen(a1)
            return widen(a0) * r * r * 0.5

        @jit
        def loss_z(z):
            return szero

        @jit
        def suff(s0, s1, s2, a0, a1):
            h = widen(a0)
            c = widen(a1)
            return s0 + h, s1 + h * c, s2 + h * c * c * 0.5

        @jit
        def expected(x, fp):
            return szero

        return ProblemLanes(False, data, margin, grad, loss, loss_z, suff, expected,
                            _no_advance(jit))

    def comparator(self, ar, suff, t, b=0):
        return quadratic_comparator(ar, self, suff[0], suff[1], suff[2])


class _MarginFamily(_RandomBase):
    """Logistic and hinge: a_{t,i} = s_{t,i}(y_t μ_i + ξ_{t,i}), y_t = ±1, coupled through z."""

    coupled = True
    nsuff = 0
    #: the loss of the margin z = y⟨a, x⟩ (the solver of the comparator needs it)
    margin_loss: ClassVar[str] = ""

    def G_inf(self, b=0):
        return Fraction(1)

    def margin_data(self, xp, sp, jit):
        cast, where, zero = xp.cast, xp.where, xp.zero
        swhere, slt, widen = sp.where, sp.lt, sp.widen
        szero = sp.cast(0.0)
        active, unit = self.random_lanes(xp, sp, jit)

        @jit
        def data(t, i, fp, ip, tab):
            y = swhere(slt(unit(t, 0, ip, 3), 0.5), -1.0, 1.0)
            a = where(active(t, i, ip), cast(y * tab + (unit(t, i, ip, 1) - 0.5)), zero)
            return a, cast(y)

        @jit
        def margin(x, a0, a1):
            return widen(a1) * widen(a0) * widen(x)

        @jit
        def loss(x, a0, a1):
            return szero

        @jit
        def suff(s0, s1, s2, a0, a1):
            return s0, s1, s2

        @jit
        def expected(x, fp):
            return szero

        return data, margin, loss, suff, expected

    def numpy_stream(self, b: int, T: int):
        """(A, y): features (T × d) and labels (T) as float64, regenerated from the seed."""
        act, unit, mu, t, i = self.numpy_data(b, T)
        U = lambda n: np.asarray(n).astype(np.uint64)  # noqa: E731
        y = np.where(unit(t, U(0), 3) < 0.5, -1.0, 1.0)  # shape (T, 1)
        A = np.where(act, y * mu + (unit(t, i, 1) - 0.5), 0.0)
        return A, y[:, 0]

    def comparator(self, ar, suff, t, b=0):
        return margin_comparator(ar, self, t, b)


class RandomLogistic(_MarginFamily):
    margin_loss = "logistic"

    def lanes(self, xp, sp, jit=lane_code):
        data, margin, loss, suff, expected = self.margin_data(xp, sp, jit)
        cast = xp.cast
        szero = sp.cast(0.0)
        smax, slog1p, sexp, sabs, swhere, sge = (sp.maximum, sp.log1p, sp.exp, sp.abs, sp.where,
                                                 sp.ge)

        @jit
        def loss_z(z):
            # softplus(−z) = max(−z, 0) + log1p(exp(−|z|)), never overflows
            return smax(-z, szero) + slog1p(sexp(-sabs(z)))

        @jit
        def grad(x, a0, a1, z):
            e = sexp(-sabs(z))
            s = swhere(sge(z, szero), e / (1.0 + e), 1.0 / (1.0 + e))  # σ(−z)
            return -(a1 * a0) * cast(s)

        return ProblemLanes(True, data, margin, grad, loss, loss_z, suff, expected,
                            _no_advance(jit))


class RandomHinge(_MarginFamily):
    margin_loss = "hinge"

    def lanes(self, xp, sp, jit=lane_code):
        data, margin, loss, suff, expected = self.margin_data(xp, sp, jit)
        szero = sp.cast(0.0)
        smax, slt, where, zero = sp.maximum, sp.lt, xp.where, xp.zero

        @jit
        def loss_z(z):
            return smax(1.0 - z, szero)

        @jit
        def grad(x, a0, a1, z):
            # a subgradient: −y a where the margin is < 1, else 0
            return where(slt(z, 1.0), -(a1 * a0), zero)

        return ProblemLanes(True, data, margin, grad, loss, loss_z, suff, expected,
                            _no_advance(jit))


FAMILIES: dict[str, type] = {
    "periodic-linear": PeriodicLinear,
    "bernoulli-linear": BernoulliLinear,
    "gradient-sequence": GradientSequence,
    "random-linear": RandomLinear,
    "random-quadratic": RandomQuadratic,
    "random-logistic": RandomLogistic,
    "random-hinge": RandomHinge,
}


class LaneClaims(NamedTuple):
    """What the kernels may rely on about a problem's lane functions (:func:`lane_claims`)."""

    #: how many of S0, S1, S2 ``suff`` changes (the others need not be stored back)
    nsuff: int
    #: the float parameters read only as lane values (may be handed over cast)
    lane_float_params: tuple[int, ...]
    #: ``advance`` keeps every integer within its instance's range (32-bit where they fit)
    advance_within_range: bool


def builtin_family(problem: Problem) -> bool:
    """Whether ``problem`` is an instance of one of the package's families itself (not of a
    subclass of the user's own, whose lane functions the package has not checked)."""
    return type(problem) in FAMILIES.values()


def lane_claims(problem: Problem) -> LaneClaims:
    """The claims a built-in family makes about its lane functions (``nsuff``,
    ``lane_float_params``, the range of ``advance``; tests/core/test_problems.py and the
    kernel tests check each family), or, for a family of the user's own — a subclass included,
    whose lane functions may break what it inherits —, the most general: every sufficient
    statistic stored, no parameter handed over cast, integer parameters in 64 bits. A claim
    that does not hold would change numbers silently; a general one only costs time."""
    if builtin_family(problem):
        return LaneClaims(problem.nsuff, tuple(problem.lane_float_params), True)
    return LaneClaims(3, (), False)


class JsonNumber(Decimal):
    """A number of a JSON array, exactly as the user wrote it: ``str`` and ``repr`` give the
    text (``1e-400``, never ``1E-400`` or ``Decimal('1E-400')``), so messages quote the user."""

    text: str

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def parse_sequence(text: str, argument: str = "g") -> list:
    """A JSON array whose numbers keep their decimal text (:class:`JsonNumber`, never parsed
    as binary floats).

    JSON's ``NaN``/``Infinity`` are refused (a gradient must be a finite number), and so is
    nesting too deep for the parser; the error names ``argument`` and the user's text.
    """
    def refuse(constant):
        raise InputError(argument, text, f"{constant} is not a finite number")

    try:
        value = json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber,
                           parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise InputError(argument, text, f"not a JSON array: {exc.msg}") from None
    except RecursionError:
        raise InputError(argument, text, "nested too deeply") from None
    if not isinstance(value, list) or not value:
        raise InputError(argument, text, "must be a non-empty JSON array")
    return value
