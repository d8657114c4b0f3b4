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
import html
import itertools
import math
import operator
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ..algorithms import Variant, get_variant
from ..arithmetic import Arithmetic, get_arithmetic
from ..errors import InputError, NumericalError
from ..problems import Problem, get_problem, parse_sequence
from .arrays import HyperparameterRows, RunPlan, distinct_rows
from .engines import choose_engine
from .layout import (
    ECNT,
    EFIRST,
    EMAX,
    ERROR_KIND,
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
from .watch import make_watch

if TYPE_CHECKING:
    import pandas


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


#: what a single-instance :class:`Result` reads from its one instance, with what it is
SINGLE_INSTANCE = {
    "index": "b, the instance's index in its batch.",
    "hyperparameters": "The hyperparameters of the run: decimal strings, the variant's defaults "
                       "filled in.",
    "final_x": "x_(T+1), the iterate after the last step: one number per coordinate, in the "
               "run's arithmetic.",
    "last_played_x": "x_T, the last point played.",
    "m": "m_T, the first moment after the last step, per coordinate.",
    "v": "v_T, the second moment after the last step, per coordinate.",
    "vhat": "v̂_T, the second moment the step divides by (the running max where the variant "
            "keeps one), per coordinate.",
    "sum_sq_grad": "Σ_t g_{t,i}², per coordinate.",
    "max_abs_grad": "max_t |g_{t,i}|, per coordinate.",
    "regret": "R_T = Σ_t f_t(x_t) − min_{x∈F} Σ_t f_t(x), in the run's arithmetic; None where "
              "the problem has no comparator (an unconstrained set).",
    "loss": "Σ_t f_t(x_t), the loss of the points played.",
    "comparator": "x*, the best fixed point in hindsight (None: no comparator).",
    "comparator_loss": "Σ_t f_t(x*).",
    "comparator_tolerance": "How far the comparator's loss may lie above the minimum (None: "
                            "exact, as for linear and quadratic losses).",
    "expected_regret": "Σ_t (F(x_t) − min F) for stochastic problems with a known mean loss F, "
                       "else None.",
    "effective_step": "The :class:`StepTracking` of η_t, the factor on m_t in the update.",
    "corrected_step": "The :class:`StepTracking` of η̂_t, the factor on the momentum the variant "
                      "divides (m̂_t where it corrects m).",
    "effective_step_nonincreasing": "Whether η_t never increased (None: undecided ties in ball "
                                    "arithmetic, or not tracked with statistics='regret').",
    "corrected_step_nonincreasing": "Whether η̂_t never increased (None as above).",
    "first_increase_step": "The first step t at which η_t increased (None: never).",
    "vhat_decreases": "How many (t, i) had v̂_{t,i} < v̂_{t−1,i}.",
    "vhat_undecided": "How many comparisons of v̂ the arithmetic could not decide.",
    "checkpoints": "Statistic → its values at the checkpoint steps (``'t'`` lists the steps), in "
                   "the run's arithmetic; see :meth:`Result.regret_checkpoints` for R_t.",
    "checkpoint_x": "x_t at every checkpoint (kept for d ≤ 64 or record_x=True), else None.",
    "checkpoint_regret": "R_t at every checkpoint, in the run's arithmetic (None without a "
                         "comparator); computed on first use.",
    "D_inf": "D∞, the ℓ∞ diameter of the feasible set (None: unbounded).",
    "G_inf": "G∞, the problem's bound on |g_{t,i}|.",
}


def _instance_property(name: str) -> property:
    """A property of a single-instance :class:`Result` that reads ``name`` on its instance."""
    return property(lambda self: self._single(name), doc=SINGLE_INSTANCE[name])


#: the kinds of :meth:`Result.to_dataframe`
DATAFRAME_KINDS = ("checkpoints", "instances", "trace")
#: the most coordinates whose x_(T+1) the ``instances`` data frame lists as columns
DATAFRAME_MAX_D = 64


class Result:
    """A run of ``variant`` on ``problem`` (B instances) in ``arithmetic`` for ``steps`` steps.

    ``instances`` (one :class:`InstanceResult` each) are built on first use; for large batches
    :meth:`table` gives the main per-instance numbers as arrays without building them.
    A single-instance result also answers its instance's attributes directly, as properties
    (``result.regret``, ``result.final_x``, ``result.effective_step_nonincreasing`` …: see
    :data:`SINGLE_INSTANCE`); on a batch they raise AttributeError naming
    ``result.instances[b]``. In a notebook the result displays as a summary
    (:meth:`__repr__`, :meth:`_repr_html_`); :meth:`regret_checkpoints` gives R_t as the
    command line's JSON does and :meth:`to_dataframe` tidy tables.
    """

    def __init__(self, variant: Variant, problem: Problem, arithmetic: Arithmetic, steps: int,
                 state, hp_rows: Sequence[dict], engine: str, wall_time: float,
                 trace: dict | None = None):
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

    @property
    def B(self) -> int:
        """The number of instances run as one batch."""
        return self.problem.B

    @property
    def d(self) -> int:
        """The dimension: coordinates of x per instance."""
        return self.problem.d

    @property
    def average_regret(self) -> Any:
        """R_T/T of a single-instance result, in the run's arithmetic (None: no comparator)."""
        regret = self.regret
        return None if regret is None else regret / self.steps

    index = _instance_property("index")
    hyperparameters = _instance_property("hyperparameters")
    final_x = _instance_property("final_x")
    last_played_x = _instance_property("last_played_x")
    m = _instance_property("m")
    v = _instance_property("v")
    vhat = _instance_property("vhat")
    sum_sq_grad = _instance_property("sum_sq_grad")
    max_abs_grad = _instance_property("max_abs_grad")
    regret = _instance_property("regret")
    loss = _instance_property("loss")
    comparator = _instance_property("comparator")
    comparator_loss = _instance_property("comparator_loss")
    comparator_tolerance = _instance_property("comparator_tolerance")
    expected_regret = _instance_property("expected_regret")
    effective_step = _instance_property("effective_step")
    corrected_step = _instance_property("corrected_step")
    effective_step_nonincreasing = _instance_property("effective_step_nonincreasing")
    corrected_step_nonincreasing = _instance_property("corrected_step_nonincreasing")
    first_increase_step = _instance_property("first_increase_step")
    vhat_decreases = _instance_property("vhat_decreases")
    vhat_undecided = _instance_property("vhat_undecided")
    checkpoints = _instance_property("checkpoints")
    checkpoint_x = _instance_property("checkpoint_x")
    checkpoint_regret = _instance_property("checkpoint_regret")
    D_inf = _instance_property("D_inf")
    G_inf = _instance_property("G_inf")

    def _single(self, name: str) -> Any:
        if self.problem.B != 1:
            raise AttributeError(f"{name}: this result holds B = {self.problem.B} instances; "
                                 "read it per instance (result.instances[b], result.table(), "
                                 "result.to_dataframe('instances'))")
        return instance_attribute(self.instances[0], name)

    def table(self) -> dict:
        """Per-instance arrays (float64): final regret, loss, x_(T+1), effective-step counts.

        Computed from the run's arrays without building :class:`InstanceResult` objects.
        """
        with self.arithmetic.precision_context():
            return _table(self)

    def regret_checkpoints(self, b: int = 0) -> dict:
        """R_t of instance ``b`` at every checkpoint step t, as the ``checkpoints`` object of
        ``amsgrad-theory simulate --json``: ``{"t": [steps], "regret": [floats]}``, ``regret``
        None where the problem has no comparator and an entry None where R_t is not finite."""
        inst = self.instances[b]
        regret = inst.checkpoint_regret
        return {"t": list(inst.checkpoints["t"]),
                "regret": None if regret is None else [self._finite(r) for r in regret]}

    def to_dataframe(self, kind: str = "checkpoints") -> pandas.DataFrame:
        """A tidy :class:`pandas.DataFrame` of the run, one observation per row (floats).

        ``kind``:

        * ``"checkpoints"`` — one row per (instance, checkpoint t): ``regret`` R_t,
          ``average_regret`` R_t/t and every checkpoint statistic (``loss``, ``sum_sqrt_vhat``,
          ``momentum_energy`` …), with the instance's hyperparameters and problem parameters as
          columns, ready for ``pivot``/``groupby``;
        * ``"instances"`` — one row per instance: its parameters, final regret, R_T/T, loss,
          comparator loss, effective-step increase counts and, for d ≤ 64, ``final_x_i``;
        * ``"trace"`` — one row per (instance, step t, coordinate i) of a run made with
          ``trace=True``: x, g, m, v, vhat, eta, eta_hat, xhat and the step's loss, alpha_t,
          beta1_t (join the parameters from ``to_dataframe("instances")`` on ``instance``).

        pandas is optional: without it this raises ImportError saying how to install it.
        """
        if kind not in DATAFRAME_KINDS:
            raise InputError("kind", kind, "must be one of " + ", ".join(DATAFRAME_KINDS))
        try:
            import pandas as pd  # optional dependency: only data frames need it
        except ImportError:
            raise ImportError("Result.to_dataframe needs pandas, an optional dependency: "
                              "pip install pandas") from None
        with self.arithmetic.precision_context():
            rows = {"checkpoints": self._checkpoint_rows, "instances": self._instance_rows,
                    "trace": self._trace_columns}[kind]()
        return pd.DataFrame(rows)

    def _finite(self, value) -> float | None:
        x = self.arithmetic.to_float(value)
        return x if np.isfinite(x) else None

    def _parameters(self, b: int) -> dict:
        """Instance ``b``'s hyperparameters and problem parameters, numbers as floats."""
        out = {k: _number(v) for k, v in self._hp_rows[b].items()}
        for key, value in self.problem.params[b].items():
            out[f"problem_{key}" if key in out else key] = _number(value)
        return out

    def _checkpoint_rows(self) -> list[dict]:
        rows = []
        to_float = self.arithmetic.to_float
        for b, inst in enumerate(self.instances):
            params = self._parameters(b)
            regret = inst.checkpoint_regret
            stats = {k: v for k, v in inst.checkpoints.items() if k != "t"}
            for k, t in enumerate(inst.checkpoints["t"]):
                r = math.nan if regret is None or regret[k] is None else to_float(regret[k])
                rows.append({"instance": b, "t": t, "regret": r, "average_regret": r / t,
                             **{name: to_float(values[k]) for name, values in stats.items()},
                             **params})
        return rows

    def _instance_rows(self) -> list[dict]:
        table = self.table()
        scalars = [k for k, v in table.items() if np.ndim(v) == 1 and k != "checkpoint_t"]
        rows = []
        for b in range(self.problem.B):
            row = {"instance": b, **self._parameters(b)}
            row.update({k: table[k][b].item() for k in scalars})
            if self.problem.d <= DATAFRAME_MAX_D:
                row.update({f"final_x_{i}": float(x) for i, x in enumerate(table["final_x"][b])})
            rows.append(row)
        return rows

    def _trace_columns(self) -> dict:
        if self.trace is None:
            raise InputError("kind", "trace", "this run kept no trace: run simulate(..., "
                             "trace=True)")
        to_float = np.vectorize(self.arithmetic.to_float, otypes=[np.float64])
        T, B, d = self.steps, self.problem.B, self.problem.d
        columns = {"instance": np.tile(np.repeat(np.arange(B), d), T),
                   "t": np.repeat(np.arange(1, T + 1), B * d),
                   "coordinate": np.tile(np.arange(d), T * B)}
        for name, values in self.trace.items():
            arr = np.asarray(values)
            arr = to_float(arr) if arr.dtype == object else arr.astype(np.float64)
            columns[name] = (arr if arr.ndim == 3 else np.repeat(arr, d, axis=1)).reshape(-1)
        return columns

    def __repr__(self) -> str:
        return "Result(" + ",\n       ".join(f"{k}: {v}" for k, v in self._summary().items()) + ")"

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                        f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                        for k, v in self._summary().items())
        return f"<table><caption>amsgrad_theory Result</caption>{cells}</table>"

    def _summary(self) -> dict[str, str]:
        """What the notebook display shows, as label → text."""
        ar = self.arithmetic
        out = {"variant": f"{self.variant.name} — {self.variant.title}",
               "problem": self.problem.spec, "arithmetic": ar.spec,
               "engine": f"{self.engine} ({self.wall_time:.3g} s)",
               "steps": f"T = {self.steps}", "B": str(self.problem.B), "d": str(self.problem.d)}
        with ar.precision_context():
            if self.problem.B == 1:
                regret = None if self.regret is None else ar.to_float(self.regret)
                out["regret"] = ("none (no comparator)" if regret is None else
                                 f"R_T = {regret:.10g}, R_T/T = {regret / self.steps:.6g}")
                out["final x"] = _vector(ar.to_float(x) for x in self.final_x)
            else:
                regret = self.table()["average_regret"]
                out["regret"] = ("none (no comparator)" if np.isnan(regret).all() else
                                 f"R_T/T from {np.nanmin(regret):.6g} to {np.nanmax(regret):.6g}"
                                 " over the instances (result.table())")
        out["statistics"] = self.statistics
        out["notes"] = "; ".join(self.notes) if self.notes else "none"
        return out

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self.problem.B == 1:
            return instance_attribute(self.instances[0], name)
        if name in SINGLE_INSTANCE or name == "average_regret":
            return self._single(name)
        raise AttributeError(name)

    def __dir__(self) -> list[str]:
        names = set(super().__dir__())
        if self.problem.B != 1:
            names -= {*SINGLE_INSTANCE, "average_regret"}
        return sorted(names)

    def to_float(self, value):
        return None if value is None else self.arithmetic.to_float(value)


def _number(value) -> Any:
    """A parameter as a number where it is one (exact decimal or fraction text → float)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    try:
        return float(Fraction(str(value)))
    except (ValueError, ZeroDivisionError):
        return value


def _vector(values, most: int = 8) -> str:
    values = list(itertools.islice(values, most + 1))
    text = ", ".join(f"{v:.8g}" for v in values[:most])
    return f"[{text}{', …' if len(values) > most else ''}]"


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

def _hp_key(row: dict) -> tuple:
    """A row's key among equal rows: its items, or their texts where a value is not
    hashable."""
    key: tuple = tuple(row.items())
    try:
        hash(key)
    except TypeError:
        key = (tuple(row), tuple(map(str, row.values())))
    return key


def _exact_key(row: dict) -> tuple:
    """A row's key that tells apart values equal as dict keys but not as inputs: each value's
    type and repr (1, 1.0 and True; 0.0 and −0.0)."""
    return tuple((k, type(v), repr(v)) for k, v in row.items())


def _as_list_of_hp(variant: Variant, hyperparameters, B: int) -> HyperparameterRows:
    """One parsed dict per instance; equal rows (the same items, each value the same input:
    texts equal, other values of one type and repr) share one parse and one dict, so a sweep
    of B rows costs what its distinct rows cost (B = 4096 rows of 4 distinct texts: about
    0.6 ms, most of it making the rows' keys: their values, where every row has the same
    names, else their items)."""
    if hyperparameters is None or isinstance(hyperparameters, dict):
        one = variant.hyperparameters(**(hyperparameters or {}))
        return HyperparameterRows([one], np.zeros(B, dtype=np.int64))
    rows = [row or {} for row in hyperparameters]
    if len(rows) != B:
        raise InputError("hyperparameters", len(rows), f"need one dict per instance ({B})")
    names = tuple(rows[0])
    try:                    # rows of the same names (the usual sweep): keyed by their values
        if not names or len(set(map(len, rows))) != 1:
            raise KeyError
        keys = list(map(operator.itemgetter(*names), rows))
    except KeyError:
        keys = [tuple(row.items()) for row in rows]
    first: dict = {}
    try:                                    # each key → the position of its first row
        pos = list(map(first.setdefault, keys, itertools.count()))
    except TypeError:                       # a value that is not hashable: keys by its text
        first.clear()
        pos = list(map(first.setdefault, map(_hp_key, rows), itertools.count()))
    # rows equal as keys are not always the same input: 1, 1.0 and True are one key, and so are
    # 0.0 and −0.0 (a row's β1 = −0.0 ran as 0.0, and alpha=True as 1, where an earlier row
    # held the other); the rows of a key whose values are not all texts are keyed again exactly
    loose = {i for i in first.values() if not all(type(v) is str for v in rows[i].values())}
    if loose:
        exact: dict = {}
        pos = [exact.setdefault(_exact_key(rows[i]), i) if p in loose else p
               for i, p in enumerate(pos)]
    starts, which = np.unique(np.asarray(pos, dtype=np.int64), return_inverse=True)
    distinct = [variant.hyperparameters(**rows[i]) for i in starts.tolist()]
    return HyperparameterRows(distinct, which)


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

    def texts(self) -> list[str]:
        """The distinct texts of x_1, in order."""
        return [self.uniform] if self.uniform is not None else list(dict.fromkeys(self))

    def floats(self) -> np.ndarray:
        if self.uniform is not None:
            return np.full(self.d, float(Fraction(self.uniform)))
        return np.array([float(Fraction(t)) for t in self], dtype=np.float64)


def _parse_x0(x0, problem: Problem, ar: Arithmetic) -> StartPoint:
    d = problem.d
    texts: list[str] | None = None      # one decimal text per coordinate, or
    uniform: str | None = None          # the one text of every coordinate
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
    if texts is not None:
        given = texts
    elif uniform is not None:
        given = [uniform]
    else:
        raise AssertionError(f"x0 {x0!r} parsed to neither coordinates nor one value")
    try:
        exact = [Fraction(t) for t in given]
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


def check_conversion(ar: Arithmetic, problem: Problem, hp_rows: Sequence[dict],
                     x0_texts: Iterable[str]) -> None:
    """Refuse every number of the run that does not survive conversion into ``ar`` (an
    :class:`~amsgrad_theory.errors.InputError` naming the argument and the text, from
    :meth:`~amsgrad_theory.arithmetic.Arithmetic.check_input`): a finite input that rounds to
    ±inf, or a non-zero one that rounds to 0, would otherwise run as a different problem and
    return a finite-looking answer that disagrees with exact arithmetic (1e400 or 1e-400 in
    float64). Hyperparameters enter as float64 scalars (where the schedules are computed) and
    are then cast to the lane format, where they may round to 0 as a framework's do (PyTorch's
    ε = 1e-8 in float16) but not to inf; the problem's data (C, c, g, tail, scale, radius) and
    x_1 are lane values. mpmath and arb hold every exponent and accept them all. Each distinct
    text is checked once, in the order given (the first bad one is named), so a sweep's B rows
    cost what their distinct values cost, in one array pass
    (:meth:`~amsgrad_theory.arithmetic.Arithmetic.check_inputs`). The command line calls it
    before any work (:func:`amsgrad_theory.commands.runflags.check_runnable`), with the
    hyperparameters given.
    """
    if ar.exact_decimal:
        return
    texts = dict.fromkeys((key, str(value)) for row in distinct_rows(hp_rows)[0]
                          for key, value in row.items())
    ar.check_inputs(texts, modes=({}, {"lane": True, "zero_ok": True}))
    ar.check_inputs([*problem.inputs, *(("x0", t) for t in dict.fromkeys(x0_texts))],
                    modes=({"lane": True},))


def underflow_impossible(ar: Arithmetic, problem: Problem, hp_rows: Sequence[dict],
                         steps: int) -> bool:
    """Whether no second moment of the run can fall below the lane format's smallest normal
    number τ: every instance's gradients have a floor γ_b > 0 (:meth:`Problem.G_floor`) and

        min(1 − β2, 1/T) · γ_b² ≥ 4τ,

    since v_t ≥ (1 − β2,t)·g_t² for every second-moment rule (exponential averages with
    1 − β2,t ≥ min(1 − β2, 1/t) — AdamNC's β2,t = 1 − 1/t included — and AdaGrad's sums with
    factor 1), and the float products lose less than the factor 4. Without weight decay only
    (g + λx has no floor). Exact arithmetics have no τ (False: nothing to prove)."""
    tiny = Fraction(ar.lane_tiny()) if ar.kind in ("float", "torch") else None
    if not tiny:
        return False
    # thousands of rows share a few hyperparameter texts: each distinct one is read once, and
    # the inequality is checked once per distinct factor, against the least floor of its rows
    distinct, which = distinct_rows(hp_rows if len(hp_rows) == problem.B else
                                    hp_rows[:problem.B])
    dicts_of: dict[tuple[str, str], list[int]] = {}
    for r, hp in enumerate(distinct):
        dicts_of.setdefault((str(hp["beta2"]), str(hp["weight_decay"])), []).append(r)
    for (beta2, weight_decay), dicts in dicts_of.items():
        factor = min(1 - Fraction(beta2), Fraction(1, steps))
        if Fraction(weight_decay) != 0 or factor <= 0:
            return False
        floor = problem.G_floor_least(np.flatnonzero(np.isin(which, dicts)).tolist())
        if floor is None or factor * floor * floor < 4 * tiny:
            return False
    return True


def simulate(variant: str | Variant, problem: str | Problem, *, steps: int,
             arithmetic: str | Arithmetic = "float64",
             hyperparameters: dict | list[dict] | None = None,
             x0: str | float | list | None = None, schedule: str | None = None,
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
    schedule:
        the step-size schedule α_t, as the command line's ``--schedule``: ``"constant"``
        (α_t = α) or ``"inv-sqrt"`` (α_t = α/√t); None keeps the variant's own.
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
    variant = get_variant(variant, alpha_schedule=schedule)
    problem = get_problem(problem)
    ar = get_arithmetic(arithmetic)
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 1:
        raise InputError("steps", steps, "must be an integer >= 1")
    steps = int(steps)
    if steps >= 2 ** 32:
        raise InputError("steps", steps, "must be < 2**32")
    B, d = problem.B, problem.d
    hp_rows = _as_list_of_hp(variant, hyperparameters, B)
    variant = variant.specialize(hp_rows.distinct)
    if variant.eps_free and underflow_impossible(ar, problem, hp_rows, steps):
        variant = variant.with_(underflow_free=True)
    x0_texts = _parse_x0(x0, problem, ar)
    check_conversion(ar, problem, hp_rows, x0_texts.texts())
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
        # exact arithmetics have no range to leave
        watch = make_watch(arrays, variant, hp_rows) if ar.kind in ("float", "torch") else None
        while done < steps:
            t0, t1 = done + 1, min(steps, done + chunk)
            # non-finite values are detected and reported (NumericalError), not warned about
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                engine.run(kernel, arrays, t0, t1)
            code, t, b, i = arrays.error()
            if code:
                raise NumericalError(ERROR_WHAT[code], t, None if i < 0 else i, b,
                                     kind=ERROR_KIND.get(code, "non-finite"))
            if watch is not None:
                watch(t0, t1)
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

