"""``simulate``: run a variant on a problem in an arithmetic, keeping streaming statistics.

>>> r = simulate("amsgrad", "reddi-online:C=3", steps=300, hyperparameters={"beta1": "0"})
>>> r.effective_step_nonincreasing, r.first_increase_step
(True, None)

Memory does not grow with T: the run keeps per-coordinate accumulators and, at log-spaced
checkpoints (1, 2, …, 10, then about ``per_decade`` per decade, and T), one record of scalar
statistics per instance (see :data:`~amsgrad_theory.kernels.RECORD_FIELDS`). A full per-step
trace is opt-in (``trace=True``) for short runs.

Regret at a checkpoint t is R_t = Σ_{s≤t} f_s(x_s) − min_{x∈F} Σ_{s≤t} f_s(x); the comparator
comes from the problem's sufficient statistics (exact for linear and quadratic losses) or from a
solver with a stated tolerance (logistic, hinge).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..algorithms import HYPERPARAMETERS, Variant, get_variant
from ..arithmetic import Arithmetic, get_arithmetic
from ..arithmetic.floats import FloatArithmetic
from ..errors import InputError, NumericalError
from ..problems import Problem, get_problem, parse_sequence
from . import kernels as K

#: lane-steps (B·d·T) above which the float arithmetics compile the kernel with numba
NUMBA_THRESHOLD = 300_000
#: instances per block of the SIMD-blocked numba kernel: a block's rows (≈ 40 × 8 B per lane)
#: stay in L1 even when two threads share a core's caches. Measured (B = 4096, periodic-linear,
#: 2 threads vs 1): 256 lanes 1.46–1.9×, 64 lanes 1.7×, 32 lanes 1.84× at ≤ 4 % single-thread cost
BLOCK = 32

_KERNEL_CACHE: dict = {}
_KERNEL_CACHE_SIZE = 256
#: interpreted runs with at least this many lane-steps (steps × instances × coordinates) use the
#: specialised lane loop: its one-time build (≈ 0.1–0.2 s) is then below 10 % of the run
SPECIALIZE_MIN_WORK = 20_000


def checkpoint_steps(T: int, per_decade: int = 10) -> np.ndarray:
    """1, 2, …, 10, then ``per_decade`` log-spaced steps per decade, and T (sorted, unique)."""
    steps = set(range(1, min(T, 10) + 1))
    if T > 10:
        k = per_decade
        while True:
            s = int(round(10 ** (k / per_decade)))
            if s >= T:
                break
            steps.add(s)
            k += 1
    steps.add(T)
    return np.array(sorted(steps), dtype=np.int64)


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------

@dataclass
class StepTracking:
    """How an effective step (η or η̂) moved over a run, for one instance."""

    nonincreasing: bool | None       # None: undecided (arb) and no certain increase
    max_increase: float              # max_{t,i} η_{t,i}/η_{t−1,i} − 1 (0.0 if none)
    max_increase_step: int | None    # the later step t of that pair
    max_increase_coordinate: int | None
    first_increase_step: int | None
    increases: int                   # count of (t, i) with a certain increase
    undecided: int                   # count the arithmetic could not decide
    max_increase_exact: Any = None   # the max in the run's arithmetic (a ball under arb)
    tracked: bool = True             # False for runs with statistics="regret"


@dataclass
class InstanceResult:
    """Everything a run established for one instance (numbers in the run's arithmetic)."""

    index: int
    steps: int
    hyperparameters: dict
    final_x: list            # x_{T+1}
    last_played_x: list      # x_T
    m: list
    v: list
    vhat: list
    sum_sq_grad: list        # per coordinate Σ_t g_{t,i}²
    max_abs_grad: list       # per coordinate max_t |g_{t,i}|
    regret: Any              # R_T, or None (no comparator)
    loss: Any                # Σ_t f_t(x_t)
    comparator: list | None
    comparator_loss: Any
    comparator_tolerance: float | None
    expected_regret: Any
    effective_step: StepTracking
    corrected_step: StepTracking
    vhat_decreases: int
    vhat_undecided: int
    checkpoints: dict        # field → list over checkpoint steps (numbers in the arithmetic)
    checkpoint_x: list | None
    D_inf: Fraction | None
    G_inf: Fraction
    regret_at_checkpoints: Callable[[], list | None] | None = field(default=None, repr=False,
                                                                   compare=False)
    _checkpoint_regret: Any = field(default=False, repr=False, compare=False)

    @property
    def checkpoint_regret(self) -> list | None:
        """R_t at every checkpoint (computed on first use: one comparator per checkpoint)."""
        if self._checkpoint_regret is False:
            fn = self.regret_at_checkpoints
            self._checkpoint_regret = fn() if fn is not None else None
        return self._checkpoint_regret


class Result:
    """A run of ``variant`` on ``problem`` (B instances) in ``arithmetic`` for ``steps`` steps.

    ``instances`` (one :class:`InstanceResult` each) are built on first use; for large batches
    :meth:`table` gives the main per-instance numbers as arrays without building them.
    A single-instance result also answers the instance's attributes directly
    (``result.regret``, ``result.effective_step_nonincreasing`` …).
    """

    def __init__(self, variant, problem, arithmetic, steps, state, hp_rows, engine, wall_time,
                 trace=None):
        self.variant = variant
        self.problem = problem
        self.arithmetic = arithmetic
        self.steps = steps
        self.engine = engine
        self.wall_time = wall_time
        self.trace = trace
        self.notes: list = []
        self._state = state
        self._hp_rows = hp_rows
        self._instances: list | None = None
        self.statistics = "full"

    @property
    def instances(self) -> list[InstanceResult]:
        if self._instances is None:
            with self.arithmetic.precision_context():
                self._instances = [_collect(self._state, self.arithmetic, self.variant,
                                            self.problem, self._hp_rows[b], b, self.steps,
                                            self.statistics == "full")
                                   for b in range(self.problem.B)]
        return self._instances

    def table(self) -> dict:
        """Per-instance arrays (float64): final regret, loss, x_(T+1), effective-step counts.

        Computed from the run's arrays without building :class:`InstanceResult` objects.
        """
        with self.arithmetic.precision_context():
            return _table(self)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self.problem.B == 1:
            return instance_attribute(self.instances[0], name)
        raise AttributeError(name)

    def to_float(self, value):
        return None if value is None else self.arithmetic.to_float(value)


def instance_attribute(inst, name: str):
    """``name`` read on a single-instance result: the instance's own fields, and the shortcuts
    ``effective_step_nonincreasing``, ``corrected_step_nonincreasing``, ``first_increase_step``."""
    if name == "effective_step_nonincreasing":
        return inst.effective_step.nonincreasing
    if name == "corrected_step_nonincreasing":
        return inst.corrected_step.nonincreasing
    if name == "first_increase_step":
        return inst.effective_step.first_increase_step
    if hasattr(inst, name):
        return getattr(inst, name)
    raise AttributeError(name)


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------

def _as_list_of_hp(variant: Variant, hyperparameters, B: int) -> list[dict]:
    if hyperparameters is None or isinstance(hyperparameters, dict):
        one = variant.hyperparameters(**(hyperparameters or {}))
        return [one] * B
    rows = list(hyperparameters)
    if len(rows) != B:
        raise InputError("hyperparameters", len(rows), f"need one dict per instance ({B})")
    seen: dict = {}
    out = []
    for row in rows:
        key = tuple(sorted((k, str(v)) for k, v in (row or {}).items()))
        if key not in seen:
            seen[key] = variant.hyperparameters(**(row or {}))
        out.append(seen[key])
    return out


def _choose_engine(ar: Arithmetic, work: int) -> Arithmetic:
    if isinstance(ar, FloatArithmetic) and ar.engine_name == "auto":
        try:
            import numba  # noqa: F401
        except ImportError:  # pragma: no cover - numba is a dependency
            return ar.with_engine("python")
        return ar.with_engine("numba" if work >= NUMBA_THRESHOLD else "python")
    return ar


class StartPoint(list):
    """x_1 as decimal strings, one per coordinate; ``uniform`` when every coordinate is equal
    (then it is stored once, so d = 10⁷ costs nothing)."""

    def __init__(self, texts, d: int, uniform: str | None = None):
        super().__init__(texts if uniform is None else [])
        self.d = d
        self.uniform = uniform

    def __getitem__(self, i):
        return self.uniform if self.uniform is not None else super().__getitem__(i)

    def __len__(self):
        return self.d

    def floats(self) -> np.ndarray:
        if self.uniform is not None:
            return np.full(self.d, float(Fraction(self.uniform)))
        return np.array([float(Fraction(t)) for t in self], dtype=np.float64)


def _parse_x0(x0, problem: Problem, ar: Arithmetic) -> StartPoint:
    d = problem.d
    texts = uniform = None
    if x0 is None:
        uniform = "0"
    elif isinstance(x0, str):
        text = x0.strip()
        if text.startswith("["):
            try:
                texts = [str(v) for v in parse_sequence(text)]
            except InputError:
                raise InputError("x0", x0, "not a number or a JSON array of numbers") from None
        else:
            uniform = text
    elif isinstance(x0, (int, float)):
        uniform = repr(x0)
    else:
        texts = [str(v) for v in x0]
    if texts is not None and len(texts) != d:
        raise InputError("x0", x0, f"needs {d} coordinates")
    try:
        exact = [Fraction(t) for t in texts] if texts is not None else [Fraction(uniform)]
    except (ValueError, ZeroDivisionError):
        raise InputError("x0", x0, "not a number") from None
    feasible = problem.set
    if texts is None:
        v = exact[0]
        inside = feasible.contains_exact([v]) if feasible.kind != "ball" else \
            d * v * v <= Fraction(feasible.radius) ** 2
    else:
        inside = feasible.contains_exact(exact)
    if not inside:
        raise InputError("x0", x0, f"outside the feasible set {feasible.describe()}")
    return StartPoint(texts, d, uniform)


def _kernel(ar, variant, problem, blocked: bool = False, full: bool = True,
            work: int | None = None):
    """Build (and cache) the kernel for this combination.

    ``blocked``: the SIMD-friendly block × chunk order (numba, separable problems, d = 1,
    no trace); bit-identical results.

    Interpreted arithmetics on separable problems run the specialised lane loop
    (:func:`~amsgrad_theory.kernels.make_python_kernel`), the vector engines their specialised
    step loop (:func:`~amsgrad_theory.kernels.make_vector_kernel`), when the run has at least
    :data:`SPECIALIZE_MIN_WORK` lane-steps (``work`` = steps × B × d; building it takes
    ≈ 0.1–0.2 s, once per arithmetic and variant structure), else the plain composed functions;
    both compute the same values (the tests check this bit for bit).
    """
    vector = ar.engine == "vector"
    compiled = getattr(ar, "engine_name", None) == "numba"
    separable = not problem.coupled and problem.set.kind != "ball"
    special = (not compiled and (separable or vector) and K.SPECIALIZE
               and (work is None or work >= SPECIALIZE_MIN_WORK))
    if not compiled and not special:
        if vector:
            return K.make_vector_kernel(ar, variant, problem, full_statistics=full,
                                        specialized=False)
        if separable:
            return K.make_python_kernel(ar, variant, problem, full_statistics=full,
                                        specialized=False)
        return K.make_scalar_kernel(ar, variant, problem, lambda f: f, full_statistics=full)
    # numba kernels are compiled per arithmetic spec; specialised ones are Python holding that
    # arithmetic's own objects (an mpmath context), so they are kept per instance. The kernel
    # depends on the feasible set's kind only (its bounds and radius are arrays it is given)
    key = (ar.spec if compiled else (ar.spec, id(ar)), variant.structure(), problem.family,
           problem.set.kind, problem.d == 1, blocked, full)
    if key in _KERNEL_CACHE:
        return _KERNEL_CACHE[key][0]
    if compiled:
        import numba

        # every piece is inlined at numba's level: LLVM vectorises only call-free loops
        jit = numba.njit(error_model="numpy", inline="always")
        if blocked:
            kernel = numba.njit(error_model="numpy", parallel=True)(
                K.make_blocked_kernel(ar, variant, problem, jit, prange=numba.prange,
                                      block_jit=numba.njit(error_model="numpy"),
                                      full_statistics=full))
        else:
            kernel = numba.njit(error_model="numpy")(K.make_scalar_kernel(
                ar, variant, problem, jit, record_jit=numba.njit(error_model="numpy"),
                full_statistics=full))
    elif vector:
        kernel = K.make_vector_kernel(ar, variant, problem, full_statistics=full,
                                      specialized=True)
    else:
        kernel = K.make_python_kernel(ar, variant, problem, full_statistics=full,
                                      specialized=True)
    if len(_KERNEL_CACHE) >= _KERNEL_CACHE_SIZE:     # the oldest goes first
        _KERNEL_CACHE.pop(next(iter(_KERNEL_CACHE)))
    _KERNEL_CACHE[key] = (kernel, ar)      # ar kept alive: its id stays unique
    return kernel


def simulate(variant: str | Variant, problem: str | Problem, *, steps: int,
             arithmetic: str | Arithmetic = "float64", hyperparameters=None, x0=None,
             trace: bool = False, record_x: bool | None = None, per_decade: int = 10,
             progress: Callable[[int, int], None] | None = None,
             chunk: int | None = None, statistics: str = "full") -> Result:
    """Run ``variant`` on ``problem`` for ``steps`` steps in ``arithmetic``.

    Parameters
    ----------
    variant, problem:
        names/specs (see :func:`~amsgrad_theory.algorithms.get_variant`,
        :func:`~amsgrad_theory.problems.get_problem`) or objects. A problem with B instances
        runs as a batch.
    arithmetic:
        ``float64``, ``float32``, ``mpmath:DPS``, ``arb:BITS``, ``torch[:DEVICE[:DTYPE]]``.
    hyperparameters:
        a dict (shared) or a list of B dicts (one per instance) of decimal strings or numbers;
        omitted keys take the variant's defaults.
    x0:
        the start point x_1 (a number, a list, or a JSON array string); default 0.
    trace:
        keep every step's x_t, g_t, m_t, v_t, v̂_t, η_t, η̂_t, x̂_{t+1}, f_t(x_t), α_t, β1,t
        (memory O(T·B·d); for short runs).
    progress:
        called as ``progress(done_steps, total_steps)`` between chunks.
    statistics:
        ``"full"`` (default) keeps every streaming statistic; ``"regret"`` keeps only what the
        regret needs — no effective-step record, Σg², max|g| or bound terms — for large sweeps
        where speed matters (the effective-step fields of the result are then None).
    """
    t_start = time.perf_counter()
    variant = get_variant(variant)
    problem = get_problem(problem)
    ar = get_arithmetic(arithmetic)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise InputError("steps", steps, "must be an integer >= 1")
    steps = int(steps)
    if steps >= 2 ** 32:
        raise InputError("steps", steps, "must be < 2**32")
    B, d = problem.B, problem.d
    hp_rows = _as_list_of_hp(variant, hyperparameters, B)
    variant = variant.specialize(hp_rows)
    x0_texts = _parse_x0(x0, problem, ar)
    if problem.set.kind == "ball" and ar.spec.startswith("arb"):
        raise InputError("arithmetic", ar.spec, "the weighted ball projection is not available "
                         "in ball arithmetic; use a box or an unconstrained problem")
    ar = _choose_engine(ar, B * d * steps)
    ck = checkpoint_steps(steps, per_decade)
    if record_x is None:
        record_x = d <= 64
    with ar.precision_context():
        state = _allocate(ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x)
        blocked = (getattr(ar, "engine_name", None) == "numba" and d == 1 and not trace
                   and not problem.coupled and problem.set.kind != "ball")
        if statistics not in ("full", "regret"):
            raise InputError("statistics", statistics, "must be full or regret")
        kernel = _kernel(ar, variant, problem, blocked, statistics == "full",
                         work=steps * B * d)
        state.blocked = blocked
        if chunk is None:
            chunk = max(1, min(steps, 2_000_000 // max(1, B * d)))
            if blocked:   # the blocked kernel holds the chunk's powers: bound its memory
                chunk = min(chunk, max(64, 2 ** 20 // (8 * len(state.HPG))), 8192) \
                    if B * d > 64 else min(steps, 8192)
            elif ar.engine == "scalar" and getattr(ar, "engine_name", None) != "numba":
                # the interpreted loop keeps a chunk's coefficients as tuples: 2048 steps keep
                # them young for the garbage collector (20 000 at once cost 8 % at arb:100)
                chunk = min(chunk, 2048)
        done = 0
        while done < steps:
            t0, t1 = done + 1, min(steps, done + chunk)
            # non-finite values are detected and reported (NumericalError), not warned about
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                state.run(kernel, t0, t1)
            err = state.ERR
            if int(err[0]) != 0:
                what = K.ERROR_WHAT[int(err[0])]
                coord = None if int(err[3]) < 0 else int(err[3])
                raise NumericalError(what, int(err[1]), coord, int(err[2]))
            done = t1
            if progress is not None:
                progress(done, steps)
        tr = state.trace_dict() if trace else None
    engine = getattr(ar, "engine_name", ar.engine)
    result = Result(variant, problem, ar, steps, state, hp_rows, engine,
                    time.perf_counter() - t_start, trace=tr)
    result.statistics = statistics
    return result


# --------------------------------------------------------------------------------------------
# state arrays
# --------------------------------------------------------------------------------------------

class _State:
    """The arrays of a run (engine-specific allocation; the kernel updates them in place)."""

    def run(self, kernel, t0, t1):  # pragma: no cover - overridden
        raise NotImplementedError


def _memo(parse):
    """``parse`` with a cache over hashable inputs (the parsed values are immutable)."""
    cache: dict = {}

    def get(value):
        # the key tells 0.0 from −0.0 and 1 from 1.0 (equal as dict keys, not as inputs)
        key = (type(value), value.hex() if isinstance(value, float) else value)
        try:
            return cache[key]
        except KeyError:
            out = cache[key] = parse(value)
            return out
        except TypeError:          # unhashable (a list of values): parse it every time
            return parse(value)

    return get


def _allocate(ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x):
    if ar.engine == "vector":
        return _VectorState(ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x)
    return _ScalarState(ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x)


def _snapshot_all(problem, ck) -> bool:
    return problem.B * len(ck) * 3 * problem.d <= 4_000_000


class _ScalarState(_State):
    """Arrays of the lane-loop kernel, instances sorted by their (β1, β2, λ) group.

    ``pos[b]`` is the row of instance b; accessors take the instance index and map it.
    """

    def __init__(self, ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x):
        B, d = problem.B, problem.d
        scalar, lane = _memo(ar.scalar), _memo(ar.lane)   # thousands of instances, few texts
        lane_dt = ar.lane_dtype
        sdt = ar.scalar_dtype
        self.ar, self.problem, self.ck = ar, problem, ck
        gkeys = [(row["beta1"], row["beta2"], row["beta1_decay"]) for row in hp_rows]
        groups = list(dict.fromkeys(gkeys))
        order = sorted(range(B), key=lambda b: groups.index(gkeys[b]))   # stable
        self.order = order
        self.pos = [0] * B
        for row, b in enumerate(order):
            self.pos[b] = row
        G = len(groups)
        self.HPG = np.empty((G, 3), dtype=sdt)
        for g, key in enumerate(groups):
            for j, text in enumerate(key):
                self.HPG[g, j] = scalar(text)
        counts = [gkeys.count(key) for key in groups]
        self.GS = np.array([0] + list(np.cumsum(counts)), dtype=np.int64)
        self.HPI = np.empty((B, 4), dtype=sdt)
        self.FP = np.empty((3, B), dtype=sdt)     # fp: a 3-tuple per instance
        self.FP[...] = ar.scalar(0)
        self.IP = np.zeros((2, B), dtype=np.int64)  # ip: a 2-tuple per instance
        rows, tails = problem.table()
        L = len(rows[0]) if rows and rows[0] else 0
        self.SEQ = np.empty((B, L, d), dtype=lane_dt)
        self.TAIL = np.empty((B, d), dtype=lane_dt)
        for b in range(B):
            r = self.pos[b]
            for j, key in enumerate(("alpha", "eps", "eps_root", "weight_decay")):
                self.HPI[r, j] = scalar(hp_rows[b][key])
            for j, text in enumerate(problem.float_values(b)):
                self.FP[j, r] = scalar(text)
            for j, value in enumerate(problem.int_values(b)):
                self.IP[j, r] = value
            static = problem.static_lanes(b)
            if static is None:
                self.TAIL[r, :] = lane(tails[b])
            elif lane_dt is object:
                for i in range(d):
                    self.TAIL[r, i] = ar.lane(float(static[i]))   # exact: a dyadic float
            else:
                self.TAIL[r, :] = static
            for t in range(L):
                for i in range(d):
                    self.SEQ[r, t, i] = lane(rows[b][t][i])
        self.LOHI = np.empty(2, dtype=lane_dt)
        self.LOHI[...] = ar.lane("0")
        if problem.set.kind == "box":
            lo, hi = problem.box_bounds()
            self.LOHI[0], self.LOHI[1] = ar.lane(lo), ar.lane(hi)
        self.R = ar.lane(problem.set.radius) if problem.set.kind == "ball" else ar.lane("1")
        zero_l, zero_s = ar.lane("0"), ar.scalar("0")
        self.LN = np.empty((K.N_LANE, B, d), dtype=lane_dt)
        self.LN[...] = zero_l
        if x0_texts.uniform is not None:
            self.LN[K.X] = ar.lane(x0_texts.uniform)
            self.LN[K.XL] = ar.lane(x0_texts.uniform)
        else:
            for i in range(d):
                self.LN[K.X, :, i] = ar.lane(x0_texts[i])
                self.LN[K.XL, :, i] = ar.lane(x0_texts[i])
        self.LN[K.EPREV] = ar.xp.inf
        self.LN[K.HPREV] = ar.xp.inf
        self.ACC = np.empty((K.N_ACC, B, d), dtype=sdt)
        self.ACC[...] = zero_s
        self.IACC = np.empty(B, dtype=sdt)
        self.IACC[...] = zero_s
        self.CNT = np.zeros((K.N_CNT, B, d), dtype=np.int64)
        self.PW = np.empty((G, 8), dtype=sdt)
        self.PW[...] = zero_s
        nk = len(ck)
        self.REC = np.empty((B, nk, K.N_REC), dtype=sdt)
        self.REC[...] = zero_s
        ksnap = nk if _snapshot_all(problem, ck) else 1
        self.SNAP = np.empty((B, ksnap, 3, d), dtype=sdt)
        self.SNAP[...] = zero_s
        self.XS = np.empty((B, nk if record_x else 0, d), dtype=lane_dt)
        self.XS[...] = zero_l
        ntr = steps if trace else 0
        self.TR = np.empty((ntr, B, d, K.N_TR), dtype=lane_dt)
        self.TR[...] = zero_l
        self.TRS = np.empty((ntr, B, K.N_TRS), dtype=sdt)
        self.TRS[...] = zero_s
        self.ERR = np.zeros(4, dtype=np.int64)
        self.kpos = np.zeros(1, dtype=np.int64)
        blocks = [(g, b0, min(BLOCK, int(self.GS[g + 1]) - b0)) for g in range(G)
                  for b0 in range(int(self.GS[g]), int(self.GS[g + 1]), BLOCK)]
        self.BLK = np.array(blocks, dtype=np.int64).reshape(-1, 3)
        self.blocked = False

    def run(self, kernel, t0, t1):
        args = (t0, t1, self.ck, self.kpos, self.HPI, self.HPG, self.GS, self.FP, self.IP,
                self.SEQ, self.TAIL, self.LOHI, self.R, self.LN, self.ACC, self.IACC, self.CNT,
                self.PW, self.REC, self.SNAP, self.XS, self.TR, self.TRS, self.ERR)
        if self.blocked:
            kernel(*args, self.BLK, np.zeros((len(self.BLK), 3), dtype=np.int64))
        else:
            kernel(*args)
        if int(self.ERR[0]) != 0:
            self.ERR[2] = self.order[int(self.ERR[2])]

    # accessors by instance index
    def lane(self, row, b):
        return list(self.LN[row, self.pos[b]])

    def acc(self, row, b):
        return list(self.ACC[row, self.pos[b]])

    def cnt(self, row, b):
        return [int(c) for c in self.CNT[row, self.pos[b]]]

    def rec(self, b):
        return self.REC[self.pos[b]]

    def iacc(self, b):
        return self.IACC[self.pos[b]]

    def snap(self, b, k):
        return [list(self.SNAP[self.pos[b], k, j]) for j in range(3)]

    def xs(self, b):
        return self.XS[self.pos[b]]

    def trace_dict(self):
        inverse = np.array(self.pos, dtype=np.int64)
        tr = self.TR[:, inverse]          # (T, B, d, channels) in instance order
        trs = self.TRS[:, inverse]
        out = {name: tr[..., j] for j, name in enumerate(K.TRACE_FIELDS)}
        for j, name in enumerate(K.TRACE_SCALARS):
            out[name] = trs[..., j]
        return out


class _VectorState(_State):
    """Arrays for numpy/torch: lists of ``(B, d)`` arrays (torch tensors on the device)."""

    def __init__(self, ar, variant, problem, hp_rows, x0_texts, ck, steps, trace, record_x):
        B, d = problem.B, problem.d
        self.ar, self.problem, self.ck = ar, problem, ck
        torch_mode = ar.spec.startswith("torch")
        if torch_mode:
            torch = ar.torch
            dev = ar.device
            ldt = ar.dtype
            sdt = torch.float64 if dev.type != "mps" else torch.float32

            def zeros(shape, dtype=None):
                return torch.zeros(shape, dtype=dtype or ldt, device=dev)

            def szeros(shape):
                return torch.zeros(shape, dtype=sdt, device=dev)

            def izeros(shape):
                return torch.zeros(shape, dtype=torch.int64, device=dev)

            def col(values, dtype=None):
                return torch.tensor(values, dtype=dtype or sdt, device=dev)[:, None]
            self.I = ar.xp.uint(np.arange(d, dtype=np.int64)[None, :])
        else:
            ldt = ar.lane_dtype

            def zeros(shape, dtype=None):
                return np.zeros(shape, dtype=dtype or ldt)

            def szeros(shape):
                return np.zeros(shape, dtype=np.float64)

            def izeros(shape):
                return np.zeros(shape, dtype=np.int64)

            def col(values, dtype=None):
                return np.array(values, dtype=dtype or np.float64)[:, None]
            self.I = np.arange(d, dtype=np.uint64)[None, :]
        scalar = _memo(ar.scalar)       # thousands of instances, few distinct texts
        self.HP = [col([scalar(row[k]) for row in hp_rows]) for k in HYPERPARAMETERS]
        nfp = 3
        fps = np.zeros((nfp, B, 1), dtype=np.float64)
        if problem.float_params:
            for b in range(B):
                for j, text in enumerate(problem.float_values(b)):
                    fps[j, b, 0] = scalar(text)
        nip = 2
        ints = np.zeros((nip, B, 1), dtype=np.int64)
        for j in range(len(problem.int_params)):
            for b in range(B):
                ints[j, b, 0] = problem.int_values(b)[j]
        if torch_mode:
            self.FP = torch.tensor(fps, dtype=sdt, device=dev)
            self.IP = torch.tensor(ints, dtype=torch.int64, device=dev)
        else:
            self.FP = fps
            self.IP = ints.astype(np.uint64)
        rows, tails = problem.table()
        L = len(rows[0]) if rows and rows[0] else 0
        exact = _memo(lambda text: float(Fraction(text)))
        seq = np.array([[[exact(s) for s in r] for r in rows[b]] for b in range(B)],
                       dtype=np.float64).reshape(B, L, d) if L else np.zeros((B, 0, d))
        tail = np.array([exact(t) for t in tails], dtype=np.float64)[:, None] \
            * np.ones((1, d))
        for b in range(B):
            static = problem.static_lanes(b)
            if static is not None:
                tail[b] = static
        if torch_mode:
            self.SEQ = torch.tensor(seq, dtype=ldt, device=dev)
            self.TAIL = torch.tensor(tail, dtype=ldt, device=dev)
        else:
            self.SEQ = seq.astype(ldt)
            self.TAIL = tail.astype(ldt)
        lo, hi = problem.box_bounds()
        self.LOHI = [ar.lane(lo), ar.lane(hi)] if problem.set.kind == "box" else [None, None]
        self.R = ar.lane(problem.set.radius) if problem.set.kind == "ball" else None
        self.LN = [zeros((B, d)) for _ in range(K.N_LANE)]
        x0 = x0_texts.floats()[None, :]
        x0 = np.repeat(x0, B, axis=0)
        for row in (K.X, K.XL):
            self.LN[row] = (torch.tensor(x0, dtype=ldt, device=dev) if torch_mode
                            else x0.astype(ldt))
        self.LN[K.EPREV] = self.LN[K.EPREV] + ar.xp.inf
        self.LN[K.HPREV] = self.LN[K.HPREV] + ar.xp.inf
        self.ACC = [szeros((B, d)) for _ in range(K.N_ACC)]
        self.IACC = szeros((B,))
        self.CNT = [izeros((B, d)) for _ in range(K.N_CNT)]
        nk = len(ck)
        self.REC = szeros((B, nk, K.N_REC))
        ksnap = nk if _snapshot_all(problem, ck) else 1
        self.SNAP = szeros((B, ksnap, 3, d))
        self.XS = zeros((B, nk if record_x else 0, d))
        ntr = steps if trace else 0
        self.TR = zeros((ntr, B, d, K.N_TR))
        self.TRS = szeros((ntr, B, K.N_TRS))
        self.ERR = np.zeros(4, dtype=np.int64)
        self.kpos = [0]
        self.torch_mode = torch_mode

    def run(self, kernel, t0, t1):
        kernel(t0, t1, self.ck, self.kpos, self.HP, self.FP, self.IP, self.SEQ, self.TAIL,
               self.LOHI, self.R, self.LN, self.ACC, self.IACC, self.CNT, self.REC, self.SNAP,
               self.XS, self.TR, self.TRS, self.ERR, self.I)

    def _np(self, a):
        if self.torch_mode:
            a = a.detach().cpu()
            if a.dtype in (self.ar.torch.bfloat16, self.ar.torch.float16):
                a = a.to(self.ar.torch.float64)    # numpy has no bfloat16; both widen exactly
            return a.numpy()
        return np.asarray(a)

    def lane(self, row, b):
        return [float(v) for v in self._np(self.LN[row][b])]

    def acc(self, row, b):
        return [float(v) for v in self._np(self.ACC[row][b])]

    def cnt(self, row, b):
        return [int(c) for c in self._np(self.CNT[row][b])]

    def rec(self, b):
        return self._np(self.REC[b])

    def iacc(self, b):
        return float(self._np(self.IACC)[b])

    def snap(self, b, k):
        arr = self._np(self.SNAP[b, k])
        return [[float(v) for v in arr[j]] for j in range(3)]

    def xs(self, b):
        return self._np(self.XS[b])

    def trace_dict(self):
        tr = self._np(self.TR)
        trs = self._np(self.TRS)
        out = {name: tr[:, :, :, j] for j, name in enumerate(K.TRACE_FIELDS)}
        for j, name in enumerate(K.TRACE_SCALARS):
            out[name] = trs[:, :, j]
        return out


# --------------------------------------------------------------------------------------------
# collecting the results of one instance
# --------------------------------------------------------------------------------------------

def _tracking(state, ar, b, rows) -> StepTracking:
    cnt_row, und_row, tmax_row, first_row, max_row = rows
    counts = state.cnt(cnt_row, b)
    und = state.cnt(und_row, b)
    tmax = state.cnt(tmax_row, b)
    first = state.cnt(first_row, b)
    best = state.lane(max_row, b)
    increases = sum(counts)
    undecided = sum(und)
    best_f = [ar.to_float(v) for v in best]
    i_best = int(np.argmax(best_f)) if best_f else 0
    firsts = [f for f in first if f > 0]
    if increases > 0:
        nonincreasing = False
    elif undecided > 0:
        nonincreasing = None
    else:
        nonincreasing = True
    max_inc = best_f[i_best] if increases > 0 else 0.0
    return StepTracking(
        nonincreasing=nonincreasing, max_increase=max_inc,
        max_increase_step=tmax[i_best] if increases > 0 else None,
        max_increase_coordinate=i_best if increases > 0 else None,
        first_increase_step=min(firsts) if firsts else None,
        increases=increases, undecided=undecided,
        max_increase_exact=best[i_best] if increases > 0 else None,
    )


def _collect(state, ar, variant, problem, hp, b, steps, full: bool = True) -> InstanceResult:
    ar = ar.eager()
    rec = state.rec(b)
    ck = state.ck
    fields = {}
    for j, name in enumerate(K.RECORD_FIELDS):
        fields[name] = [rec[k, j] for k in range(len(ck))]
    fields["t"] = [int(t) for t in ck]
    loss = rec[len(ck) - 1, 1]
    last_snap = state.snap(b, state.SNAP.shape[1] - 1)
    comp = problem.comparator(ar, last_snap, steps, b)
    regret = comparator = comp_loss = tol = None
    if comp is not None:
        comp_loss, comparator, tol = comp
        regret = loss - comp_loss
    regret_at_checkpoints = None
    if state.SNAP.shape[1] == len(ck) and comp is not None:
        def regret_at_checkpoints():
            out = []
            with ar.precision_context():
                for k, t in enumerate(ck):
                    if k == len(ck) - 1:
                        out.append(regret)
                        continue
                    ck_comp = problem.comparator(ar, state.snap(b, k), int(t), b)
                    out.append(None if ck_comp is None else rec[k, 1] - ck_comp[0])
            return out
    expected_regret = None
    fmin = problem.expected_min(ar, b)
    if fmin is not None:
        expected_regret = rec[len(ck) - 1, 2] - steps * fmin
        fields["expected_regret"] = [rec[k, 2] - int(t) * fmin for k, t in enumerate(ck)]
    xs = state.xs(b)
    checkpoint_x = [list(xs[k]) for k in range(xs.shape[0])] if xs.shape[0] else None
    if full:
        eta = _tracking(state, ar, b, (K.ECNT, K.EUND, K.ETMAX, K.EFIRST, K.EMAX))
        hat = _tracking(state, ar, b, (K.HCNT, K.HUND, K.HTMAX, K.HFIRST, K.HMAX))
    else:
        eta = hat = StepTracking(None, 0.0, None, None, None, 0, 0, tracked=False)
    return InstanceResult(
        index=b, steps=steps, hyperparameters=hp,
        final_x=state.lane(K.X, b), last_played_x=state.lane(K.XL, b),
        m=state.lane(K.M, b), v=state.lane(K.V, b), vhat=state.lane(K.VH, b),
        sum_sq_grad=state.acc(K.SG2, b), max_abs_grad=state.acc(K.MAG, b),
        regret=regret, loss=loss, comparator=comparator, comparator_loss=comp_loss,
        comparator_tolerance=tol, expected_regret=expected_regret,
        effective_step=eta, corrected_step=hat,
        vhat_decreases=sum(state.cnt(K.VHDEC, b)), vhat_undecided=sum(state.cnt(K.VHUND, b)),
        checkpoints=fields, checkpoint_x=checkpoint_x,
        D_inf=problem.D_inf(), G_inf=problem.G_inf(b),
        regret_at_checkpoints=regret_at_checkpoints,
    )


def _table(result) -> dict:
    state = result._state
    problem = result.problem
    B = problem.B
    ar = result.arithmetic.eager()
    order = [state.pos[b] for b in range(B)] if hasattr(state, "pos") else list(range(B))
    to_np = getattr(state, "_np", np.asarray)

    def rows(array):
        arr = to_np(array)
        return np.asarray([[ar.to_float(v) for v in np.ravel(arr[r])] for r in order]) \
            if arr.dtype == object else np.asarray(arr)[order]

    rec = rows(state.REC)                        # (B, K, N_REC)
    loss = rec[:, -1, 1]
    comparator = np.full(B, np.nan)
    for b in range(B):
        comp = problem.comparator(ar, state.snap(b, state.SNAP.shape[1] - 1), result.steps, b)
        if comp is not None:
            comparator[b] = ar.to_float(comp[0])
    ln = to_np(state.LN)
    cnt = to_np(state.CNT)
    lane = (lambda r: np.asarray([[ar.to_float(v) for v in ln[r, b]] for b in order])) \
        if ln.dtype == object else (lambda r: np.asarray(ln[r], dtype=np.float64)[order])
    counts = lambda r: np.asarray(cnt[r], dtype=np.int64)[order].sum(axis=-1)  # noqa: E731
    return {
        "loss": loss, "comparator_loss": comparator, "regret": loss - comparator,
        "average_regret": (loss - comparator) / result.steps,
        "final_x": lane(K.X), "last_played_x": lane(K.XL),
        "effective_step_increases": counts(K.ECNT),
        "max_effective_step_increase": lane(K.EMAX).max(axis=-1),
        "corrected_step_increases": counts(K.HCNT),
        "max_corrected_step_increase": lane(K.HMAX).max(axis=-1),
        "vhat_decreases": counts(K.VHDEC),
        "checkpoint_t": np.asarray(state.ck), "checkpoint_loss": rec[:, :, 1],
    }


def isclose_ulps(a: float, b: float) -> float:
    """Distance of two float64 numbers in units in the last place."""
    if a == b:
        return 0.0
    return abs(a - b) / math.ulp(max(abs(a), abs(b)))
