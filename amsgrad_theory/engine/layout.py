"""The arrays of a run, by name: what the kernels read and write, defined once.

A lane is one coordinate i of one instance b. Its state is kept in rows of arrays indexed
``[row, b, i]``; the row constants below name them (``lanes[X]`` is x_{t+1}, ``sums[SG2]`` is
Σ g², …). Every engine hands its kernel three named structures:

* inputs — read-only during the run: hyperparameters, the problem's parameters and table, the
  feasible box, the checkpoint steps;
* state — updated in place: the lanes, the accumulators, the counters, the problem's integer
  state, the index of the next checkpoint;
* outputs — written at checkpoints and traced steps: the records, the snapshots of the
  sufficient statistics, the recorded iterates, the trace, the error.

The lane-loop engines (compiled and interpreted) keep instances sorted by their (β1, β2, λ)
group (:data:`~amsgrad_theory.algorithms.GROUP_HYPERPARAMETERS`): the expensive, α-free part of
the schedule is computed once per group and step. The vector engine keeps whole ``(B, d)``
arrays, one per row.
"""

from __future__ import annotations

from typing import Any, NamedTuple

# ---- lane rows (lane dtype) -------------------------------------------------------------------
#: x_{t+1}, x_t, m, v, v̂, η_{t−1}, η̂_{t−1}, largest relative rise of η and of η̂, projection weight
LANE_ROWS = ("x", "x_played", "m", "v", "vhat", "eta_prev", "eta_hat_prev", "eta_max_rise",
             "eta_hat_max_rise", "weight")
X, XL, M, V, VH, EPREV, HPREV, EMAX, HMAX, W = range(len(LANE_ROWS))
N_LANE = len(LANE_ROWS)

# ---- accumulator rows (scalar arithmetic) ---------------------------------------------------
#: Σ ℓ (the coordinate's share of Σ f_s(x_s)), Σ F_i(x_s) (expected loss), Σ g², max |g|,
#: Σ β1,s √v̂_s/α_s, Σ α_s m_s²/√v̂_s (Lemma 2), the problem's sufficient statistics S0..S2
SUM_ROWS = ("loss", "expected_loss", "sum_sq_grad", "max_abs_grad", "sum_beta1_sqrt_vhat",
            "momentum_energy", "s0", "s1", "s2")
LOSS, EXPECTED, SG2, MAG, B1, ENERGY, S0, S1, S2 = range(len(SUM_ROWS))
N_ACC = len(SUM_ROWS)

# ---- counter rows (int64) -------------------------------------------------------------------
#: for η and η̂: steps with a certain rise, undecided comparisons, the step of the largest rise,
#: the first rise; steps where v̂ certainly decreased, undecided v̂ comparisons
COUNT_ROWS = ("eta_rises", "eta_undecided", "eta_max_rise_step", "eta_first_rise",
              "eta_hat_rises", "eta_hat_undecided", "eta_hat_max_rise_step",
              "eta_hat_first_rise", "vhat_decreases", "vhat_undecided")
(ECNT, EUND, ETMAX, EFIRST, HCNT, HUND, HTMAX, HFIRST, VHDEC, VHUND) = range(len(COUNT_ROWS))
N_CNT = len(COUNT_ROWS)

# ---- checkpoint records (scalar arithmetic), one row per instance and checkpoint ---------------
RECORD_FIELDS = ("t", "loss", "expected_loss", "sum_sqrt_vhat", "sum_grad_norm",
                 "sum_beta1_sqrt_vhat_over_alpha", "momentum_energy", "max_abs_grad")
N_REC = len(RECORD_FIELDS)

# ---- the opt-in trace -----------------------------------------------------------------------
#: per lane (lane dtype) and per instance (scalar arithmetic)
TRACE_FIELDS = ("x", "g", "m", "v", "vhat", "eta", "eta_hat", "xhat")
N_TR = len(TRACE_FIELDS)
TRACE_SCALARS = ("loss", "alpha_t", "beta1_t")
N_TRS = len(TRACE_SCALARS)

# ---- the problem's parameters handed to its lane functions ------------------------------------
N_FLOAT_PARAMS = 3      # ``fp``: a 3-tuple of scalar-arithmetic values per instance
N_INT_STATE = 2         # ``ip``: a 2-tuple of integers per instance, advanced once per step

# ---- error codes (``outputs.error`` = [code, step, instance, coordinate]) ----------------------
ERR_GRAD, ERR_LOSS, ERR_ITERATE, ERR_UNDERFLOW = 1, 2, 3, 4
ERROR_WHAT = {ERR_GRAD: "gradient", ERR_LOSS: "loss", ERR_ITERATE: "iterate",
              ERR_UNDERFLOW: "v (below the smallest normal number while m ≠ 0: g² underflowed; "
                             "run it in mpmath or arb)"}
#: the kind of NumericalError each code raises (default "non-finite")
ERROR_KIND = {ERR_UNDERFLOW: "underflowed"}


class LaneInputs(NamedTuple):
    """Read-only inputs of the lane-loop engines (instances sorted by group)."""

    instance_hyper: Any   # (B, 4): INSTANCE_HYPERPARAMETERS (α, ε, ε_root, weight decay)
    group_hyper: Any      # (G, 3): GROUP_HYPERPARAMETERS (β1, β2, λ)
    group_start: Any      # (G + 1,) int64: group g is rows group_start[g] … group_start[g+1]−1
    floats: Any           # (3, B): the problem's float parameters (``fp``)
    table: Any            # (B, L, d): the gradient table of steps 1..L
    tail: Any             # (B, d): the data once the table is exhausted (``tab``)
    box: Any              # (2,): lo, hi of the box (lane dtype)
    radius: Any           # the ball's radius (lane dtype; 1 where there is no ball)
    checkpoints: Any      # (K,) int64: the checkpoint steps
    blocks: Any           # (nb, 3) int64: (group, first row, count) of each block of instances
    instance: Any         # (B,) int64: the instance of each row (a group's rows ascend)


class VectorInputs(NamedTuple):
    """Read-only inputs of the vector engine (numpy or torch arrays)."""

    hyper: Any            # HYPERPARAMETERS columns, each (B, 1)
    floats: Any           # (3, B, 1): the problem's float parameters
    table: Any            # (B, L, d)
    tail: Any             # (B, d)
    box: Any              # (lo, hi) lane values, or (None, None)
    radius: Any           # the ball's radius, or None
    checkpoints: Any      # (K,) int64
    coordinates: Any      # (1, d): the coordinate indices i, in the hash's integer type


class RunState(NamedTuple):
    """Updated in place by every chunk (arrays; the vector engine keeps lists of rows)."""

    ints: Any             # (2, B) (vector: (2, B, 1)): the problem's integer state
    lanes: Any            # LANE_ROWS × (B, d)
    sums: Any             # SUM_ROWS × (B, d)
    coupled_loss: Any     # (B,): Σ f_s(x_s) of the coupled families (logistic, hinge)
    counts: Any           # COUNT_ROWS × (B, d)
    next_checkpoint: Any  # (1,): index into the checkpoint steps


class RunOutputs(NamedTuple):
    """Written at checkpoints, traced steps and on the first non-finite value."""

    records: Any          # (B, K, N_REC)
    snapshots: Any        # (B, K or 1, 3, d): S0..S2 at every checkpoint (or the last)
    iterates: Any         # (B, K or 0, d): x_t at every checkpoint (short d)
    trace: Any            # (T or 0, B, d, N_TR)
    trace_scalars: Any    # (T or 0, B, N_TRS)
    error: Any            # (4,) int64: code, step, instance, coordinate (code 0: none)
