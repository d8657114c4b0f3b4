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

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..algorithms import Variant, get_variant
from ..arithmetic import Arithmetic, get_arithmetic
from ..errors import InputError, NumericalError
from ..problems import Problem, get_problem, parse_sequence
from .arrays import RunPlan
from .engines import choose_engine
from .layout import (
    ECNT,
    EFIRST,
    EMAX,
    ERROR_WHAT,
    ETMAX,
    EUND,
    HCNT,
    HFIRST,
    HMAX,
    HTMAX,
    HUND,
    MAG,
    RECORD_FIELDS,
    SG2,
    VH,
    VHDEC,
    VHUND,
    XL,
    M,
    V,
    X,
)
from .watch import watch


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
    if problem.set.kind == "ball" and ar.certified:
        raise InputError("arithmetic", ar.spec, "the weighted ball projection is not available "
                         "in ball arithmetic; use a box or an unconstrained problem")
    if statistics not in ("full", "regret"):
        raise InputError("statistics", statistics, "must be full or regret")
    plan = RunPlan(variant=variant, problem=problem, hp_rows=hp_rows, x0=x0_texts,
                   checkpoints=checkpoint_steps(steps, per_decade), steps=steps, trace=trace,
                   record_x=d <= 64 if record_x is None else record_x,
                   full_statistics=statistics == "full")
    engine = choose_engine(ar, plan)
    flush = ar.flush_subnormals() if variant.flush_denormals else contextlib.nullcontext(None)
    with ar.precision_context(), flush as flushing:
        arrays = engine.allocate(plan)
        kernel, notes = engine.kernel(plan)
        if flushing is False and ar.kind in ("float", "torch"):
            notes = (*notes, f"{variant.name} flushes subnormals to zero (XLA on the CPU); "
                     "this platform cannot: results differ where subnormals occur")
        if chunk is None:
            chunk = engine.chunk(plan, arrays)
        done = 0
        watched = ar.kind in ("float", "torch")    # exact arithmetics have no range to leave
        while done < steps:
            t0, t1 = done + 1, min(steps, done + chunk)
            # non-finite values are detected and reported (NumericalError), not warned about
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                engine.run(kernel, arrays, t0, t1)
            code, t, b, i = arrays.error()
            if code:
                raise NumericalError(ERROR_WHAT[code], t, None if i < 0 else i, b)
            if watched:
                watch(arrays, variant, hp_rows, t0, t1)
            done = t1
            if progress is not None:
                progress(done, steps)
        tr = arrays.trace_dict() if trace else None
    result = Result(variant, problem, ar, steps, arrays, hp_rows, engine.name,
                    time.perf_counter() - t_start, trace=tr)
    result.notes.extend(notes)
    result.statistics = statistics
    return result


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
    ck = state.inputs.checkpoints
    fields = {}
    for j, name in enumerate(RECORD_FIELDS):
        fields[name] = [rec[k, j] for k in range(len(ck))]
    fields["t"] = [int(t) for t in ck]
    loss = rec[len(ck) - 1, 1]
    last_snap = state.snap(b, state.snapshot_count - 1)
    comp = problem.comparator(ar, last_snap, steps, b)
    regret = comparator = comp_loss = tol = None
    if comp is not None:
        comp_loss, comparator, tol = comp
        regret = loss - comp_loss
    regret_at_checkpoints = None
    if state.snapshot_count == len(ck) and comp is not None:
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
        eta = _tracking(state, ar, b, (ECNT, EUND, ETMAX, EFIRST, EMAX))
        hat = _tracking(state, ar, b, (HCNT, HUND, HTMAX, HFIRST, HMAX))
    else:
        eta = hat = StepTracking(None, 0.0, None, None, None, 0, 0, tracked=False)
    return InstanceResult(
        index=b, steps=steps, hyperparameters=hp,
        final_x=state.lane(X, b), last_played_x=state.lane(XL, b),
        m=state.lane(M, b), v=state.lane(V, b), vhat=state.lane(VH, b),
        sum_sq_grad=state.acc(SG2, b), max_abs_grad=state.acc(MAG, b),
        regret=regret, loss=loss, comparator=comparator, comparator_loss=comp_loss,
        comparator_tolerance=tol, expected_regret=expected_regret,
        effective_step=eta, corrected_step=hat,
        vhat_decreases=sum(state.cnt(VHDEC, b)), vhat_undecided=sum(state.cnt(VHUND, b)),
        checkpoints=fields, checkpoint_x=checkpoint_x,
        D_inf=problem.D_inf(), G_inf=problem.G_inf(b),
        regret_at_checkpoints=regret_at_checkpoints,
    )


def _table(result) -> dict:
    arrays = result._state
    problem = result.problem
    B = problem.B
    ar = result.arithmetic.eager()

    def floats(array):
        """An array of the run, instances first and in order, as float64."""
        arr = arrays.host(array)
        if arr.dtype == object:
            return np.vectorize(ar.to_float, otypes=[np.float64])(arr)
        return np.asarray(arr, dtype=np.float64)

    rec = floats(arrays.outputs.records)          # (B, K, N_REC)
    loss = rec[:, -1, 1]
    comparator = np.full(B, np.nan)
    for b in range(B):
        comp = problem.comparator(ar, arrays.snap(b, arrays.snapshot_count - 1), result.steps,
                                  b)
        if comp is not None:
            comparator[b] = ar.to_float(comp[0])

    def lane(row):
        return floats(arrays.state.lanes[row])

    def counts(row):
        return np.asarray(arrays.host(arrays.state.counts[row]), dtype=np.int64).sum(axis=-1)

    return {
        "loss": loss, "comparator_loss": comparator, "regret": loss - comparator,
        "average_regret": (loss - comparator) / result.steps,
        "final_x": lane(X), "last_played_x": lane(XL),
        "effective_step_increases": counts(ECNT),
        "max_effective_step_increase": lane(EMAX).max(axis=-1),
        "corrected_step_increases": counts(HCNT),
        "max_corrected_step_increase": lane(HMAX).max(axis=-1),
        "vhat_decreases": counts(VHDEC),
        "checkpoint_t": np.asarray(arrays.inputs.checkpoints),
        "checkpoint_loss": rec[:, :, 1],
    }

