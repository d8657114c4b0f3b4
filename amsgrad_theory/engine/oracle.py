"""Large state with a generic gradient oracle: d up to 10⁷ and beyond, one pass per step.

The closed-form problems of :mod:`~amsgrad_theory.problems` generate their gradients inside the
kernel. Here the gradient comes from any Python callable — ``oracle.gradient(t, x, out)`` fills
``out`` with ∇f_t(x_t) (numpy, in place) — and the update runs as one parallel numba pass over
the coordinates, built from the same :func:`~amsgrad_theory.algorithms.rules.make_rule` as every
other kernel.

The pass keeps only what must live per coordinate: x, m, v, v̂ (read and written) and Σ_t g²
(float64, read and written); it reads g and writes back, in g's buffer, the relative rise of the
effective step (0 where it did not rise). That is 12 streams per coordinate-step, plus the
oracle's own write of g: 13 in all (9 for the optimizer alone, as in torch's fused Adam; a
second buffer for η̂ where it differs from η, i.e. where m is bias-corrected). The effective-step
checks need no stored η: η_{t−1,i} is recomputed from v̂_{t−1,i} (which the pass reads anyway)
with step t−1's coefficients, operation for operation as step t−1 computed it. The loop is
branch-free and indexes with an unsigned integer (numba's negative-index wrap-around would
make the addresses non-affine), so LLVM vectorises it; the largest rise and its coordinate are
found afterwards, only on steps with a rise.

Rises are counted as every float run counts them (:mod:`amsgrad_theory.algorithms.rules`, the
tie window): where the variant's form does not already rule them out
(:attr:`~amsgrad_theory.algorithms.Variant.monotone_steps`), a rise counts only beyond the
step's rounding bound τ_t, and a comparison within it is counted as undecided.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..algorithms import (
    HYPERPARAMETERS,
    SCALAR_COEFFICIENTS,
    Coefficients,
    Variant,
    get_variant,
    make_rule,
)
from ..arithmetic import get_arithmetic
from ..errors import InputError, NumericalError
from ..lanecode import lane_code
from .specialize import flatten

STREAMS = {"optimizer": 9, "sum_sq_grad": 2, "rise_write": 1, "oracle_write": 1}


@dataclass
class GradientOracle:
    """A problem given by its gradient: ``gradient(t, x, out)`` writes ∇f_t(x) into ``out``.

    ``set`` is "box" ([lo, hi]^d, clipping) or "none"; ``loss(t, x)`` (optional) returns f_t(x)
    for the loss sum; ``G_inf`` (optional) declares sup ‖∇f_t‖∞. The toolkit overwrites ``out``
    after reading it: the oracle must fill all of it at every step.
    """

    gradient: Callable[[int, np.ndarray, np.ndarray], None]
    d: int
    set: str = "box"
    lo: float = -1.0
    hi: float = 1.0
    loss: Callable[[int, np.ndarray], float] | None = None
    G_inf: float | None = None
    name: str = "oracle"

    def __post_init__(self):
        if not callable(self.gradient):
            raise InputError("gradient", self.gradient, "must be callable (t, x, out)")
        if int(self.d) < 1:
            raise InputError("d", self.d, "must be >= 1")
        if self.set not in ("box", "none"):
            raise InputError("set", self.set, "must be box or none")
        if self.set == "box" and not self.lo < self.hi:
            raise InputError("set", (self.lo, self.hi), "a box needs lo < hi")


@dataclass
class OracleResult:
    steps: int
    x: np.ndarray                    # x_(T+1)
    m: np.ndarray
    v: np.ndarray
    vhat: np.ndarray
    sum_sq_grad: np.ndarray          # Σ_t g_{t,i}² (float64)
    loss: float | None               # Σ_t f_t(x_t) when the oracle gives losses
    effective_step_increases: int
    max_effective_step_increase: float
    first_increase_step: int | None
    corrected_step_increases: int
    max_corrected_step_increase: float
    first_corrected_increase_step: int | None
    vhat_decreases: int
    wall_time: float
    step_time: float                 # time spent in the update pass (excluding the oracle)
    #: comparisons within the rounding bound (ties the run cannot decide)
    effective_step_undecided: int = 0
    corrected_step_undecided: int = 0
    #: why the variant's form rules rises out (then no comparison needs deciding), or None
    structural: str | None = None
    #: what the run could not do as designed (a lane function the specialiser left a call)
    notes: tuple[str, ...] = ()

    @property
    def effective_step_nonincreasing(self) -> bool | None:
        """True, False, or None (undecided: ties within the rounding bound)."""
        return self._verdict(self.effective_step_increases, self.effective_step_undecided)

    @property
    def corrected_step_nonincreasing(self) -> bool | None:
        return self._verdict(self.corrected_step_increases, self.corrected_step_undecided)

    def _verdict(self, increases: int, undecided: int) -> bool | None:
        if self.structural is not None:
            return True
        if increases:
            return False
        return None if undecided else True


_PASSES: dict = {}


def _pass(dtype_name: str, variant: Variant, clip: bool):
    """The compiled one-pass update for this variant structure and dtype (kept per structure)."""
    key = (dtype_name, variant.structure(), clip)
    if key not in _PASSES:
        _PASSES[key] = _build_pass(dtype_name, variant, clip)
    return _PASSES[key]


def _build_pass(dtype_name: str, variant: Variant, clip: bool):
    import numba  # the compiler: imported only by runs that compile

    ar = get_arithmetic(dtype_name)
    xp, sp = ar.namespaces("compiled")
    inline = numba.njit(error_model="numpy", inline="always")

    def jit(fn):
        return inline(lane_code(fn))

    rule = make_rule(variant, xp, sp, jit,
                     coefficient_namespace=lambda k: ar.coefficient_namespace("compiled", k))
    update, steps_of = rule.update, rule.steps_of

    separate_hat = variant.correct_m      # else η̂ = η and one record serves both
    windowed = variant.monotone_steps is None
    one = xp.one
    zero = xp.zero

    @jit
    def compare(new, prev, tie, first):
        """(a rise beyond the tie window, a tie within it) — raw comparison where the variant's
        form rules rises out."""
        both = (not first) & np.isfinite(prev) & np.isfinite(new)
        if windowed:
            return both & (new - prev > tie * prev), both & (abs(new - prev) <= tie * prev)
        return both & (new > prev), False

    def chunk(X, G, H, M, V, VH, SG2, lo, hi, co, co_prev, first, i0, i1):
        ecount = 0
        hcount = 0
        eund = 0
        hund = 0
        dec = 0
        bad = 0
        tie = co.tie
        for k in range(i1 - i0):
            # an unsigned index: numba then emits no negative-index wrap-around, the address
            # stays affine in k and LLVM vectorises the loop
            i = np.uint64(i0 + k)
            g = G[i]
            x = X[i]
            vh_old = VH[i]
            _, _, _, _, ep, hp = steps_of(vh_old, co_prev)
            m, v, vh, xhat, eta, hat, weight, root = update(x, M[i], V[i], vh_old, g, co)
            rise, tied = compare(eta, ep, tie, first)
            ecount += rise
            eund += tied
            ok = np.isfinite(ep) & (ep > zero)
            G[i] = (eta / (ep if ok else one) - one) if rise else zero
            if separate_hat:
                hrise, htied = compare(hat, hp, tie, first)
                hcount += hrise
                hund += htied
                hok = np.isfinite(hp) & (hp > zero)
                H[i] = (hat / (hp if hok else one) - one) if hrise else zero
            dec += vh_old > vh
            if clip:
                xhat = min(max(xhat, lo), hi)
            bad += not (np.isfinite(g) & np.isfinite(xhat))
            X[i] = xhat
            M[i] = m
            V[i] = v
            VH[i] = vh
            SG2[i] += np.float64(g) * np.float64(g)
        if not separate_hat:
            hcount, hund = ecount, eund
        return ecount, hcount, dec, bad, eund, hund

    # flat: the rule inlined by the specialiser, not re-typed per call site by numba (see
    # compiled.compile_kernel); a lane function it cannot read stays a call numba inlines
    notes: list[str] = []
    chunk_fn = numba.njit(error_model="numpy")(flatten(chunk, notes))

    def run(X, G, H, M, V, VH, SG2, lo, hi, co, co_prev, first, bounds, PART):
        nchunks = bounds.shape[0] - 1
        for c in numba.prange(nchunks):
            e, h, dec, bad, eu, hu = chunk_fn(X, G, H, M, V, VH, SG2, lo, hi, co, co_prev,
                                              first, bounds[c], bounds[c + 1])
            PART[c, 0] = e
            PART[c, 1] = h
            PART[c, 2] = dec
            PART[c, 3] = bad
            PART[c, 4] = eu
            PART[c, 5] = hu

    return numba.njit(error_model="numpy", parallel=True)(run), rule, tuple(notes)


def simulate_oracle(variant, oracle: GradientOracle, *, steps: int,
                    arithmetic: str = "float32", hyperparameters: dict | None = None,
                    x0: float = 0.0, progress: Callable[[int, int], None] | None = None,
                    threads: int | None = None) -> OracleResult:
    """Run ``variant`` on ``oracle`` for ``steps`` steps with the one-pass update (see module)."""
    import numba  # numba: the compiler, imported only by runs that compile

    variant = get_variant(variant)
    if arithmetic not in ("float32", "float64"):
        raise InputError("arithmetic", arithmetic, "the oracle path runs float32 or float64")
    if variant.flush_denormals:
        raise InputError("variant", variant.name, "flushes subnormals to zero (XLA); the "
                         "oracle's pass runs on several threads, whose flags it cannot set: use "
                         "simulate")
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError("steps", steps, "must be an integer >= 1")
    hp = variant.hyperparameters(**(hyperparameters or {}))
    d = int(oracle.d)
    dtype = np.dtype(arithmetic).type
    ar = get_arithmetic(arithmetic)
    clip = oracle.set == "box"
    if clip and not oracle.lo <= x0 <= oracle.hi:
        raise InputError("x0", x0, "outside the box")
    fn, rule, notes = _pass(arithmetic, variant, clip)
    def schedule(tf, *args):
        # numba boxes float32 results as Python floats: restore the lane dtype for the pass
        co = rule.schedule(tf, *args)
        return Coefficients(*(float(v) if name in SCALAR_COEFFICIENTS else dtype(v)
                              for name, v in zip(Coefficients._fields, co)))

    values = [ar.scalar(hp[k]) for k in HYPERPARAMETERS]
    X = np.full(d, x0, dtype=dtype)
    G = np.zeros(d, dtype=dtype)
    M = np.zeros(d, dtype=dtype)
    V = np.zeros(d, dtype=dtype)
    VH = np.zeros(d, dtype=dtype)
    SG2 = np.zeros(d, dtype=np.float64)
    n_threads = threads or numba.get_num_threads()
    nchunks = max(1, min(d, 4 * n_threads))
    bounds = np.linspace(0, d, nchunks + 1).astype(np.int64)
    PART = np.zeros((nchunks, 6), dtype=np.int64)
    H = np.zeros(d if variant.correct_m else 1, dtype=dtype)
    lo, hi = dtype(oracle.lo), dtype(oracle.hi)
    counts = {"e": 0, "h": 0, "dec": 0, "eu": 0, "hu": 0}
    #: the largest relative rise and where it happened (step, coordinate), per step kind
    best: dict[str, tuple[float, tuple[int, int] | None]] = {"e": (0.0, None), "h": (0.0, None)}
    first_inc: dict[str, int | None] = {"e": None, "h": None}
    loss_fn = oracle.loss
    loss = 0.0      # Σ_t f_t(x_t), reported where the oracle gives losses
    co_prev = schedule(1.0, *values)
    start = time.perf_counter()
    step_time = 0.0
    old_threads = numba.get_num_threads()
    if threads:
        numba.set_num_threads(threads)
    try:
        for t in range(1, steps + 1):
            oracle.gradient(t, X, G)
            if loss_fn is not None:
                loss += float(loss_fn(t, X))
            co = schedule(float(t), *values)
            t0 = time.perf_counter()
            fn(X, G, H, M, V, VH, SG2, lo, hi, co, co_prev, t == 1, bounds, PART)
            step_time += time.perf_counter() - t0
            co_prev = co
            if PART[:, 3].any():
                where = np.flatnonzero(~np.isfinite(X))
                raise NumericalError("gradient or iterate", t,
                                     int(where[0]) if where.size else None)
            for key, col, rel in (("e", 0, G), ("h", 1, H if variant.correct_m else G)):
                n_inc = int(PART[:, col].sum())
                if n_inc:
                    counts[key] += n_inc
                    if first_inc[key] is None:
                        first_inc[key] = t
                    j = int(np.argmax(rel))     # the relative rises were left in the buffer
                    if float(rel[j]) > best[key][0]:
                        best[key] = (float(rel[j]), (t, j))
            counts["dec"] += int(PART[:, 2].sum())
            counts["eu"] += int(PART[:, 4].sum())
            counts["hu"] += int(PART[:, 5].sum())
            if progress is not None and (t % 10 == 0 or t == steps):
                progress(t, steps)
    finally:
        if threads:
            numba.set_num_threads(old_threads)
    return OracleResult(
        steps=steps, x=X, m=M, v=V, vhat=VH, sum_sq_grad=SG2,
        loss=loss if loss_fn is not None else None,
        effective_step_increases=counts["e"], max_effective_step_increase=best["e"][0],
        first_increase_step=first_inc["e"], corrected_step_increases=counts["h"],
        max_corrected_step_increase=best["h"][0], first_corrected_increase_step=first_inc["h"],
        vhat_decreases=counts["dec"], wall_time=time.perf_counter() - start,
        step_time=step_time, effective_step_undecided=counts["eu"],
        corrected_step_undecided=counts["hu"], structural=variant.monotone_steps,
        notes=notes,
    )
