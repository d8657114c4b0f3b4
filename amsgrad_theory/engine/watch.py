"""The range watch of float runs: quantities that leave the float range are reported, never
carried on as a finite-looking answer.

The kernels check every step that the gradient, the loss and the iterate are finite. Other
quantities can leave the range while those stay finite, and then the run's answer is silently
wrong:

* **overflow** — g² > max float (g = 10^300 in float64, 10^30 in float32) makes v, v̂ = +inf,
  the step α m/√v̂ = 0, and x freezes at a finite point; a bound term (Σ g², Σ β1 √v̂/α,
  Σ α m²/√v̂) can overflow on its own. An overflowed moment or sum stays ±inf (β2·inf = inf,
  max(v̂, ·) = inf, inf + s = inf), so checking once per chunk of steps finds every one.
* **underflow** — g² below the smallest subnormal (g = 10^-300 in float64) leaves v = 0 while
  m ≠ 0 — impossible in exact arithmetic, where v_t ≥ (1 − β2)·g_s²·β2^(t−s) > 0 once any
  g_s ≠ 0 — or v subnormal, with its leading bits lost. This changes the step only when ε is
  as small as √v can then be (ε + ε_root < √(smallest normal)/u, u the unit roundoff; the
  default ε = 0 of the paper's AMSGrad), so it is checked for those instances only: here, at
  the end of each chunk, where some ε is small but not every ε is 0; where every ε and ε_root
  is 0 the kernels check it at each step instead (:func:`~amsgrad_theory.engine.lane.v_floor`).

Exact arithmetics (mpmath, arb) have no such range (their exponents are unbounded), and are
not watched. A finding raises :class:`~amsgrad_theory.errors.NumericalError` naming the
quantity, the chunk of steps, the instance and the coordinate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..errors import NumericalError
from .arrays import distinct_rows, memo
from .layout import B1, ENERGY, MAG, SG2, VH, M, V

#: lane rows that overflow to ±inf and stay there, by name
WATCHED_LANES = ((M, "m"), (V, "v"), (VH, "v̂"))
#: the statistics the bounds are evaluated from
WATCHED_SUMS = ((SG2, "Σ g² (a bound term)"), (B1, "Σ β1,t √v̂_t/α_t (a bound term)"),
                (ENERGY, "Σ α_t m_t²/√v̂_t (a bound term)"))


def eps_too_small(hp_rows: Sequence[dict], dtype) -> np.ndarray:
    """Per instance: is ε + ε_root below √(smallest normal)/u of ``dtype`` (so that a lost
    second moment changes the step)? Each distinct row (thousands of instances share a few
    dicts) is read once, each distinct text converted once."""
    info = np.finfo(dtype)
    limit = math.sqrt(float(info.tiny)) / (float(info.eps) / 2)
    exact = memo(Fraction)
    rows, which = distinct_rows(hp_rows)
    small = np.array([float(exact(row.get("eps", "0")) + exact(row.get("eps_root", "0")))
                      < limit for row in rows], dtype=bool)
    return small[which]


def make_watch(arrays, variant, hp_rows: Sequence[dict]):
    """``check(since, step)``: raise NumericalError if a watched quantity left the range in
    steps ``since..step`` (module docstring); ``arrays`` are a float run's
    :mod:`~amsgrad_theory.engine.arrays`. What does not change during the run (which
    instances have a small ε) is computed here, once."""
    lanes, sums = arrays.state.lanes, arrays.state.sums
    # where every ε and ε_root is 0 the kernels check v at each step (lane.v_floor), or the
    # problem's gradient floor proved it cannot underflow: nothing is left for the chunk's end
    second_moment = variant.second_moment != "none" and not variant.eps_free
    small_eps = None

    def check(since: int, step: int) -> None:
        nonlocal small_eps
        for row, name in WATCHED_LANES:
            _finite(arrays.host(lanes[row]), name, since, step)
        for row, name in WATCHED_SUMS:
            _finite(arrays.host(sums[row]), name, since, step)
        if not second_moment:
            return
        v = arrays.host(lanes[V])
        if small_eps is None:
            small_eps = eps_too_small(hp_rows, v.dtype)[:, None]
        if not small_eps.any():
            return
        if variant.first_moment != "none":
            seen = arrays.host(lanes[M]) != 0
        else:                 # max |g| so far: zero until a gradient was seen (or not kept)
            seen = arrays.host(sums[MAG]) > 0
        lost = seen & (np.abs(v) < np.finfo(v.dtype).tiny) & small_eps
        if lost.any():
            b, i = (int(k) for k in np.argwhere(lost)[0])
            what = ("v (0 while m ≠ 0: g² fell below the smallest "
                    if v[b, i] == 0 else "v (subnormal: g² fell near the smallest ")
            raise NumericalError(what + f"{v.dtype}; run it in mpmath or arb)", step, i, b,
                                 kind="underflowed", since=since)

    return check


def _finite(values: np.ndarray, name: str, since: int, step: int) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        b, i = (int(k) for k in np.argwhere(bad)[0])
        raise NumericalError(f"{name} (beyond the largest {values.dtype})", step, i, b,
                             since=since)
