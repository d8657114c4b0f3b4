"""The arrays of one run: allocated once per run by its engine, updated in place by its kernel.

:class:`LaneArrays` serves the lane-loop engines (compiled and interpreted): numpy arrays of the
lane dtype (``object`` for mpmath and arb), instances sorted by their (β1, β2, λ) group.
:class:`VectorArrays` serves the vector engine: whole ``(B, d)`` arrays allocated through the
arithmetic's :class:`~amsgrad_theory.arithmetic.base.ArrayKit` (numpy on the host, or torch on
any device). Both read back per instance in the same way (``lane``, ``acc``, ``cnt``, ``rec``,
…), in instance order, so the result is collected without knowing the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np

from ..algorithms import GROUP_HYPERPARAMETERS, HYPERPARAMETERS, INSTANCE_HYPERPARAMETERS
from ..problems import lane_claims
from .layout import (
    EPREV,
    HPREV,
    N_ACC,
    N_CNT,
    N_FLOAT_PARAMS,
    N_INT_STATE,
    N_LANE,
    N_REC,
    N_TR,
    N_TRS,
    TRACE_FIELDS,
    TRACE_SCALARS,
    XL,
    LaneInputs,
    RunOutputs,
    RunState,
    VectorInputs,
    X,
)

#: the most instances per block of the compiled blocked kernel (the width of its scratch rows:
#: ≈ 40 rows × 8 B × 128 = 40 KB, within a 48 KB L1); :func:`block_size` picks the blocks of a
#: run. Each step of a block runs its lane loop over the block once and then does the step's
#: own work (the error check, the checkpoint test, the next step's powers): at 32 lanes, 4
#: iterations of 8 carried that work. Measured 2026-12-07 (Zen 5, B = 4096, T = 2·10⁴,
#: ``run.py --only 1``, AMSGrad regret / bare C loop, one core): periodic float64 0.74–0.75 at
#: 32 lanes, 0.81 at 64 and 128; float32 0.54–0.59 → 0.61 and 0.61; Bernoulli float32
#: 0.83–0.84 → 0.87 and 0.89; two cores / one 1.69–1.88 → 1.80 and 1.83 (periodic)
BLOCK = 128
#: the fewest instances per block where a batch is split finer than BLOCK
MIN_BLOCK = 32


def block_size(B: int, threads: int) -> int:
    """Instances per block for a batch of B instances on ``threads`` threads: BLOCK, or fewer
    (down to MIN_BLOCK, in multiples of 16 lanes) where that leaves each thread fewer than
    four blocks, so small batches still spread over the cores. Blocks are independent: the
    numbers do not depend on the partition."""
    want = -(-B // (4 * max(1, threads)))
    return min(BLOCK, max(MIN_BLOCK, -(-want // 16) * 16))


#: bytes of a cache line (x86-64, ARM64)
CACHE_LINE = 64


def state_rows(rows: int, B: int, d: int, dtype, *, zero: bool = False) -> np.ndarray:
    """An array (rows, B, d) of the run state whose rows lie an odd number of cache lines apart.

    A lane-loop kernel reads and writes row r of instance b, coordinate i for every r at each
    lane-step. With rows B·d elements apart and B·d·itemsize a multiple of 4096 bytes (B = 4096
    instances, or 2048 in d = 2, …) every row of an (instance, coordinate) falls in the same
    set of a 32 KiB 8-way L1 cache, the state's ten-odd rows evict one another, and a step ran
    3.4× slower at B = 4096 than at B = 4000 (measured, random-linear:d=3). With a row stride
    of an odd number k of cache lines, rows r·k lines apart fall in distinct sets for r < 64.
    The array is a view of a padded buffer (its rows are not contiguous with one another;
    each row is)."""
    itemsize = np.dtype(dtype).itemsize
    n = B * d
    per_line = max(1, CACHE_LINE // itemsize)
    lines = -(-n // per_line)
    lines += 1 - lines % 2
    buffer = (np.zeros if zero else np.empty)((rows, lines * per_line), dtype=dtype)
    view = buffer[:, :n].reshape(rows, B, d)
    assert np.shares_memory(view, buffer)
    return view


@dataclass
class RunPlan:
    """What a run computes, decided before any array exists (the engine allocates from it)."""

    variant: Any
    problem: Any
    hp_rows: Sequence[dict]  # one dict of decimal strings per instance
    x0: Any                # StartPoint: x_1 as decimal strings
    checkpoints: np.ndarray
    steps: int
    trace: bool
    record_x: bool
    full_statistics: bool

    @property
    def work(self) -> int:
        """Lane-steps: steps × instances × coordinates."""
        return self.steps * self.problem.B * self.problem.d

    @cached_property
    def int_columns(self) -> list[list[int]]:
        """The problem's integer parameters, one list per parameter (read once per run)."""
        return self.problem.int_columns()

    @cached_property
    def int32_parameters(self) -> bool:
        """Whether every integer parameter of every instance lies in [−2³¹, 2³¹) and the
        family's ``advance`` keeps them so (:func:`~amsgrad_theory.problems.lane_claims`)."""
        if not lane_claims(self.problem).advance_within_range:
            return False
        columns = [column for column in self.int_columns if column]
        return all(-2**31 <= min(c) and max(c) < 2**31 for c in columns)


def memo(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``parse`` with a cache over hashable inputs (the parsed values are immutable)."""
    cache: dict[tuple[type, Any], Any] = {}

    def get(value: Any) -> Any:
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


class HyperparameterRows(tuple):
    """One parsed hyperparameter dict per instance (a tuple), knowing its distinct dicts.

    ``distinct`` are the distinct dicts (first seen first) and ``which[b]`` the index of
    instance b's dict among them; :func:`distinct_rows` returns them without another pass over
    the B rows. Built by the run's parser of the user's rows, which finds them anyway. A tuple,
    so that the rows cannot change under what they know of them."""

    distinct: list[dict]
    which: np.ndarray

    def __new__(cls, distinct: list[dict], which: np.ndarray):
        rows = super().__new__(cls, map(distinct.__getitem__, which.tolist()))
        rows.distinct = distinct
        rows.which = which
        return rows

    def __reduce__(self):
        return (HyperparameterRows, (self.distinct, self.which))


def _threads() -> int:
    """The threads numba's parallel loops use now (the blocked kernel's engine has numba)."""
    import numba  # the compiler: only the compiled engine's arrays get here

    return numba.get_num_threads()


def distinct_rows(hp_rows: Sequence[dict]) -> tuple[list[dict], np.ndarray]:
    """The distinct dicts of ``hp_rows`` (by identity, first seen first) and, per instance,
    the index of its dict among them: thousands of instances share a few dicts (one per
    distinct row the user gave), so what depends on a row alone is computed once per dict."""
    if isinstance(hp_rows, HyperparameterRows):
        return hp_rows.distinct, hp_rows.which
    ids = list(map(id, hp_rows))
    distinct = dict(zip(ids, hp_rows))
    index = {key: i for i, key in enumerate(distinct)}
    which = np.zeros(len(ids), dtype=np.int64) if len(index) == 1 else \
        np.fromiter(map(index.__getitem__, ids), dtype=np.int64, count=len(ids))
    return list(distinct.values()), which


def snapshot_every_checkpoint(problem, checkpoints) -> bool:
    """Whether the sufficient statistics are kept at every checkpoint (then R_t is known at
    every checkpoint), or only at the last (large B·K·d)."""
    return problem.B * len(checkpoints) * 3 * problem.d <= 4_000_000


class LaneArrays:
    """Arrays of the lane-loop kernels, instances sorted by their (β1, β2, λ) group.

    ``pos[b]`` is the row of instance b; the accessors take the instance index and map it.
    """

    def __init__(self, ar, plan: RunPlan, blocked: bool = False):
        problem, hp_rows = plan.problem, plan.hp_rows
        B, d = problem.B, problem.d
        scalar, lane = memo(ar.scalar), memo(ar.lane)   # thousands of instances, few texts
        lane_dt, sdt = ar.lane_dtype, ar.scalar_dtype
        self.ar, self.problem = ar, problem
        distinct, which = distinct_rows(hp_rows)      # each distinct dict is read once
        gindex: dict[tuple, int] = {}
        group_of = np.array([gindex.setdefault(tuple(row[k] for k in GROUP_HYPERPARAMETERS),
                                               len(gindex)) for row in distinct],
                            dtype=np.int64)[which]
        groups = list(gindex)
        order = np.argsort(group_of, kind="stable")
        self.order = order.tolist()
        self._pos_index = np.empty(B, dtype=np.int64)     # host(): rows by instance
        self._pos_index[order] = np.arange(B)
        self.pos = self._pos_index.tolist()
        G = len(groups)
        group_hyper = np.empty((G, len(GROUP_HYPERPARAMETERS)), dtype=sdt)
        for g, key in enumerate(groups):
            for j, text in enumerate(key):
                group_hyper[g, j] = scalar(text)
        counts = np.bincount(group_of, minlength=G)
        group_start = np.array([0] + list(np.cumsum(counts)), dtype=np.int64)
        instance_hyper = np.empty((B, len(INSTANCE_HYPERPARAMETERS)), dtype=sdt)
        floats = np.empty((N_FLOAT_PARAMS, B), dtype=sdt)
        floats[...] = ar.scalar(0)
        ints = np.zeros((N_INT_STATE, B), dtype=np.int64)
        rows, tails = problem.table()
        L = len(rows[0]) if rows and rows[0] else 0
        table = np.empty((B, L, d), dtype=lane_dt)
        tail = np.empty((B, d), dtype=lane_dt)
        # column by column (one numpy assignment per quantity, not per instance and quantity)
        rows_of = self._pos_index
        per_row = np.empty((len(distinct), len(INSTANCE_HYPERPARAMETERS)), dtype=sdt)
        for r, row in enumerate(distinct):
            for j, name in enumerate(INSTANCE_HYPERPARAMETERS):
                per_row[r, j] = scalar(row[name])
        instance_hyper[rows_of] = per_row[which]
        for j, column in enumerate(problem.float_columns()):
            bulk = ar.scalars(column)
            floats[j, rows_of] = [scalar(text) for text in column] if bulk is None else bulk
        for j, column in enumerate(plan.int_columns):
            ints[j, rows_of] = column
        static = problem.static_block()
        if static is None:
            distinct_tails = list(dict.fromkeys(tails))
            if len(distinct_tails) == 1:
                tail[...] = lane(distinct_tails[0])
            else:
                bulk = ar.scalars(tails)
                tail[rows_of] = (np.array([lane(text) for text in tails], dtype=lane_dt)
                                 if bulk is None else bulk.astype(lane_dt)).reshape(B, 1)
        elif lane_dt is object:
            tail[rows_of] = [[ar.lane(float(v)) for v in row] for row in static]   # exact
        else:
            tail[rows_of] = static
        for b in range(B) if L else ():
            r = self.pos[b]
            for t in range(L):
                for i in range(d):
                    table[r, t, i] = lane(rows[b][t][i])
        box = np.empty(2, dtype=lane_dt)
        box[...] = ar.lane("0")
        if problem.set.kind == "box":
            lo, hi = problem.box_bounds()
            box[0], box[1] = ar.lane(lo), ar.lane(hi)
        radius = ar.lane(problem.set.radius) if problem.set.kind == "ball" else ar.lane("1")
        size = block_size(B, _threads()) if blocked else BLOCK
        blocks = [(g, b0, min(size, int(group_start[g + 1]) - b0)) for g in range(G)
                  for b0 in range(int(group_start[g]), int(group_start[g + 1]), size)] \
            if blocked else []
        self.inputs = LaneInputs(
            instance_hyper=instance_hyper, group_hyper=group_hyper, group_start=group_start,
            floats=floats, table=table, tail=tail, box=box, radius=radius,
            checkpoints=plan.checkpoints,
            blocks=np.array(blocks, dtype=np.int64).reshape(-1, 3),
            instance=order.astype(np.int64))

        zero_l, zero_s = ar.lane("0"), ar.scalar("0")
        lanes = state_rows(N_LANE, B, d, lane_dt)
        lanes[...] = zero_l
        x0 = plan.x0
        if x0.uniform is not None:
            lanes[X] = ar.lane(x0.uniform)
            lanes[XL] = ar.lane(x0.uniform)
        else:
            for i in range(d):
                lanes[X, :, i] = ar.lane(x0[i])
                lanes[XL, :, i] = ar.lane(x0[i])
        lanes[EPREV] = ar.xp.inf
        lanes[HPREV] = ar.xp.inf
        sums = state_rows(N_ACC, B, d, sdt)
        sums[...] = zero_s
        coupled_loss = np.empty(B, dtype=sdt)
        coupled_loss[...] = zero_s
        self.state = RunState(ints=ints, lanes=lanes, sums=sums, coupled_loss=coupled_loss,
                              counts=state_rows(N_CNT, B, d, np.int64, zero=True),
                              next_checkpoint=np.zeros(1, dtype=np.int64))

        nk = len(plan.checkpoints)
        records = np.empty((B, nk, N_REC), dtype=sdt)
        records[...] = zero_s
        ksnap = nk if snapshot_every_checkpoint(problem, plan.checkpoints) else 1
        snapshots = np.empty((B, ksnap, 3, d), dtype=sdt)
        snapshots[...] = zero_s
        iterates = np.empty((B, nk if plan.record_x else 0, d), dtype=lane_dt)
        iterates[...] = zero_l
        ntr = plan.steps if plan.trace else 0
        trace = np.empty((ntr, B, d, N_TR), dtype=lane_dt)
        trace[...] = zero_l
        trace_scalars = np.empty((ntr, B, N_TRS), dtype=sdt)
        trace_scalars[...] = zero_s
        self.outputs = RunOutputs(records=records, snapshots=snapshots, iterates=iterates,
                                  trace=trace, trace_scalars=trace_scalars,
                                  error=np.zeros(4, dtype=np.int64))

    def error(self) -> tuple[int, int, int, int]:
        """(code, step, instance, coordinate) of the first non-finite value (code 0: none)."""
        code, t, row, i = (int(v) for v in self.outputs.error)
        return code, t, self.order[row] if code else row, i

    # ---- read-back, by instance index -----------------------------------------------------
    def lane(self, row, b):
        return list(self.state.lanes[row, self.pos[b]])

    def acc(self, row, b):
        return list(self.state.sums[row, self.pos[b]])

    def cnt(self, row, b):
        return [int(c) for c in self.state.counts[row, self.pos[b]]]

    def rec(self, b):
        return self.outputs.records[self.pos[b]]

    def iacc(self, b):
        return self.state.coupled_loss[self.pos[b]]

    def snap(self, b, k):
        return [list(self.outputs.snapshots[self.pos[b], k, j]) for j in range(3)]

    def xs(self, b):
        return self.outputs.iterates[self.pos[b]]

    @property
    def snapshot_count(self) -> int:
        return self.outputs.snapshots.shape[1]

    def host(self, array):
        """An array of this run as numpy, rows in instance order (first axis: instances)."""
        return np.asarray(array)[self._pos_index]

    def trace_dict(self):
        inverse = np.asarray(self.pos, dtype=np.int64)
        tr = self.outputs.trace[:, inverse]          # (T, B, d, channels) in instance order
        trs = self.outputs.trace_scalars[:, inverse]
        out = {name: tr[..., j] for j, name in enumerate(TRACE_FIELDS)}
        for j, name in enumerate(TRACE_SCALARS):
            out[name] = trs[..., j]
        return out


class VectorArrays:
    """Arrays of the vector kernel: a list of ``(B, d)`` arrays per row family, allocated by the
    arithmetic's :class:`~amsgrad_theory.arithmetic.base.ArrayKit` (numpy or torch)."""

    def __init__(self, ar, plan: RunPlan):
        problem, hp_rows = plan.problem, plan.hp_rows
        B, d = problem.B, problem.d
        kit = ar.arrays
        self.ar, self.problem, self.kit = ar, problem, kit
        scalar = memo(ar.scalar)       # thousands of instances, few distinct texts
        hyper = [kit.asarray([[scalar(row[k])] for row in hp_rows]) for k in HYPERPARAMETERS]
        floats = np.zeros((N_FLOAT_PARAMS, B, 1), dtype=np.float64)
        for j, column in enumerate(problem.float_columns()):
            floats[j, :, 0] = [scalar(text) for text in column]
        ints = np.zeros((N_INT_STATE, B, 1), dtype=np.int64)
        for j, icolumn in enumerate(plan.int_columns):
            ints[j, :, 0] = icolumn
        rows, tails = problem.table()
        L = len(rows[0]) if rows and rows[0] else 0
        exact = memo(lambda text: float(Fraction(text)))
        table = np.array([[[exact(s) for s in r] for r in rows[b]] for b in range(B)],
                         dtype=np.float64).reshape(B, L, d) if L else np.zeros((B, 0, d))
        static = problem.static_block()
        tail = static if static is not None else \
            np.array([exact(t) for t in tails], dtype=np.float64)[:, None] * np.ones((1, d))
        box = (None, None)
        if problem.set.kind == "box":
            lo, hi = problem.box_bounds()
            box = (ar.lane(lo), ar.lane(hi))
        radius = ar.lane(problem.set.radius) if problem.set.kind == "ball" else None
        self.inputs = VectorInputs(
            hyper=hyper, floats=kit.asarray(floats), table=kit.asarray(table, "lane"),
            tail=kit.asarray(tail, "lane"), box=box, radius=radius,
            checkpoints=plan.checkpoints,
            coordinates=kit.asarray(np.arange(d, dtype=np.int64)[None, :], "hash"))

        lanes = [kit.zeros((B, d)) for _ in range(N_LANE)]
        x0 = np.repeat(plan.x0.floats()[None, :], B, axis=0)
        for row in (X, XL):
            lanes[row] = kit.asarray(x0, "lane")
        lanes[EPREV] = lanes[EPREV] + ar.xp.inf
        lanes[HPREV] = lanes[HPREV] + ar.xp.inf
        self.state = RunState(
            ints=kit.asarray(ints, "hash"), lanes=lanes,
            sums=[kit.zeros((B, d), "scalar") for _ in range(N_ACC)],
            coupled_loss=kit.zeros((B,), "scalar"),
            counts=[kit.zeros((B, d), "int") for _ in range(N_CNT)], next_checkpoint=[0])
        nk = len(plan.checkpoints)
        ksnap = nk if snapshot_every_checkpoint(problem, plan.checkpoints) else 1
        ntr = plan.steps if plan.trace else 0
        self.outputs = RunOutputs(
            records=kit.zeros((B, nk, N_REC), "scalar"),
            snapshots=kit.zeros((B, ksnap, 3, d), "scalar"),
            iterates=kit.zeros((B, nk if plan.record_x else 0, d)),
            trace=kit.zeros((ntr, B, d, N_TR)), trace_scalars=kit.zeros((ntr, B, N_TRS), "scalar"),
            error=np.zeros(4, dtype=np.int64))

    def error(self) -> tuple[int, int, int, int]:
        code, t, row, i = (int(v) for v in self.outputs.error)
        return code, t, row, i

    # ---- read-back, by instance index -----------------------------------------------------
    def _np(self, a):
        return self.kit.to_numpy(a)

    def lane(self, row, b):
        return [float(v) for v in self._np(self.state.lanes[row][b])]

    def acc(self, row, b):
        return [float(v) for v in self._np(self.state.sums[row][b])]

    def cnt(self, row, b):
        return [int(c) for c in self._np(self.state.counts[row][b])]

    def rec(self, b):
        return self._np(self.outputs.records[b])

    def iacc(self, b):
        return float(self._np(self.state.coupled_loss)[b])

    def snap(self, b, k):
        arr = self._np(self.outputs.snapshots[b, k])
        return [[float(v) for v in arr[j]] for j in range(3)]

    def xs(self, b):
        return self._np(self.outputs.iterates[b])

    @property
    def snapshot_count(self) -> int:
        return self.outputs.snapshots.shape[1]

    def host(self, array):
        """An array of this run as numpy (first axis: instances, already in order)."""
        return self._np(array)

    def trace_dict(self):
        tr = self._np(self.outputs.trace)
        trs = self._np(self.outputs.trace_scalars)
        out = {name: tr[:, :, :, j] for j, name in enumerate(TRACE_FIELDS)}
        for j, name in enumerate(TRACE_SCALARS):
            out[name] = trs[:, :, j]
        return out
