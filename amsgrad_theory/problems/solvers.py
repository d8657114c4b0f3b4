"""Comparators that need a solver: logistic and hinge losses over a box, a ball or R^d.

The stream is regenerated from its seed (the simulation never stored it), the problem
min_{x∈F} Σ_{s≤t} f_s(x) is solved in float64, and the value is evaluated in the run's own
arithmetic at the solution point (made exactly feasible). That value is an upper bound on the
minimum; the reported tolerance bounds how far above it can be:

* logistic (smooth, convex): projected gradient with a backtracking step until the Frank–Wolfe
  gap max_{y∈F} ⟨∇F(x), x − y⟩ — an upper bound on F(x) − min F by convexity — is below 1e-9
  relative, or 5000 iterations; the gap is the tolerance;
* hinge (piecewise linear): the linear program min Σ_s ξ_s, ξ_s ≥ 1 − y_s⟨a_s, x⟩, ξ ≥ 0 over a box
  (scipy's HiGHS), tolerance = HiGHS's reported duality gap; over a ball or R^d the same
  projected scheme as logistic with a subgradient, which gives a gap bound only where the
  subgradient certifies it (reported honestly, possibly large).

Memory is O(t·d) for the regenerated stream: these comparators are for moderate t·d.
"""

from __future__ import annotations

import numpy as np

MAX_ENTRIES = 20_000_000


def _project(x, kind, lo, hi, R):
    if kind == "box":
        return np.clip(x, lo, hi)
    if kind == "ball":
        n = np.linalg.norm(x)
        return x if n <= R else x * (R / n)
    return x


def _fw_gap(x, grad, kind, lo, hi, R):
    """max_{y∈F} ⟨grad, x − y⟩ (∞ when F is unbounded and grad ≠ 0)."""
    if kind == "box":
        y = np.where(grad > 0, lo, hi)
        return float(grad @ (x - y))
    if kind == "ball":
        return float(grad @ x + R * np.linalg.norm(grad))
    return float("inf") if np.any(grad != 0) else 0.0


def _objective(kind_loss, A, y, x):
    z = y * (A @ x)
    if kind_loss == "logistic":
        return float(np.sum(np.logaddexp(0.0, -z)))
    return float(np.sum(np.maximum(0.0, 1.0 - z)))


def _gradient(kind_loss, A, y, x):
    z = y * (A @ x)
    if kind_loss == "logistic":
        s = np.exp(-np.logaddexp(0.0, z))  # σ(−z)
        return -(A.T @ (y * s))
    return -(A.T @ (y * (z < 1.0)))


def _projected_descent(kind_loss, A, y, kind, lo, hi, R, x0=None, iters=5000):
    d = A.shape[1]
    x = np.zeros(d) if x0 is None else x0.copy()
    f = _objective(kind_loss, A, y, x)
    step = 1.0 / max(1e-12, 0.25 * float(np.sum(A * A)))
    best_x, best_gap = x, np.inf
    for _ in range(iters):
        g = _gradient(kind_loss, A, y, x)
        gap = _fw_gap(x, g, kind, lo, hi, R)
        if gap < best_gap:
            best_x, best_gap = x, gap
        if gap <= 1e-9 * max(1.0, abs(f)) or not np.isfinite(gap):
            # done; or over R^d with a gradient ≠ 0, where no certificate exists (and separable
            # data drive x to infinity: the steps would grow until x overflows)
            break
        while True:
            xn = _project(x - step * g, kind, lo, hi, R)
            fn = _objective(kind_loss, A, y, xn)
            if fn <= f - 0.5 / step * float((xn - x) @ (xn - x)) or step < 1e-14:
                break
            step *= 0.5
        x, f = xn, fn
        step *= 1.5
    return best_x, max(best_gap, 0.0)


def _hinge_lp(A, y, lo, hi):
    from scipy.optimize import linprog  # scipy: only the hinge comparator's linear program needs it

    T, d = A.shape
    # variables [x (d), ξ (T)]: min Σ ξ  s.t.  −y_s a_s·x − ξ_s ≤ −1, ξ ≥ 0, lo ≤ x ≤ hi
    c = np.concatenate([np.zeros(d), np.ones(T)])
    A_ub = np.hstack([-(y[:, None] * A), -np.eye(T)]) if T * (d + T) <= 4e6 else None
    if A_ub is None:
        # scipy: only the hinge comparator's linear program needs it
        from scipy.sparse import csr_matrix, hstack, identity

        A_ub = hstack([csr_matrix(-(y[:, None] * A)), -identity(T)], format="csr")
    bounds = [(lo, hi)] * d + [(0, None)] * T
    res = linprog(c, A_ub=A_ub, b_ub=-np.ones(T), bounds=bounds, method="highs")
    if res.status != 0:
        return None
    gap = abs(getattr(res, "mip_gap", 0.0) or 0.0)
    dual = getattr(res, "ineqlin", None)
    if dual is not None and getattr(dual, "marginals", None) is not None:
        # dual objective of the LP: −b·λ + bounds' contributions; HiGHS reports both, the gap is
        # primal − dual, which it drives below its tolerance
        gap = max(gap, 1e-7 * max(1.0, abs(res.fun)))
    return res.x[:d], gap


def margin_comparator(ar, problem, t: int, b: int = 0):
    """(value in ``ar``, point in ``ar``, tolerance) for a logistic or hinge problem up to t."""
    d = problem.d
    if t * d > MAX_ENTRIES:
        return None
    A, y = problem.numpy_stream(b, t)
    kind = problem.set.kind
    lo, hi = (float(problem.set.lo), float(problem.set.hi)) if kind == "box" else (None, None)
    R = float(problem.set.radius) if kind == "ball" else None
    hinge = problem.margin_loss == "hinge"
    if hinge and kind == "box":
        solved = _hinge_lp(A, y, lo, hi)
        if solved is None:
            return None
        x, tol = solved
        x = np.clip(x, lo, hi)
    else:
        x, tol = _projected_descent("hinge" if hinge else "logistic", A, y, kind, lo, hi, R)
        if kind == "none" and not np.isfinite(tol):
            return None
    point = [ar.scalar(float(v)) for v in x]
    if kind == "ball":
        norm2 = sum((p * p for p in point), ar.scalar(0))
        if norm2 > ar.scalar(problem.set.radius) ** 2:
            scale = ar.scalar(problem.set.radius) / ar.sp.sqrt(norm2)
            point = [p * scale for p in point]
    value = _evaluate(ar, hinge, A, y, point)
    return value, point, float(tol)


def _evaluate(ar, hinge, A, y, point):
    """Σ_s f_s(point) in the arithmetic ``ar`` (data are exact dyadic floats)."""
    sp = ar.sp
    total = ar.scalar(0)
    zero = ar.scalar(0)
    one = ar.scalar(1)
    cols = [[ar.scalar(float(v)) for v in row] for row in A] if len(A) * len(point) <= 2e5 \
        else None
    for s in range(len(y)):
        row = cols[s] if cols is not None else [ar.scalar(float(v)) for v in A[s]]
        z = zero
        for a, p in zip(row, point):
            z = z + a * p
        z = z * (one if y[s] > 0 else -one)
        if hinge:
            total = total + sp.maximum(one - z, zero)
        else:
            total = total + sp.maximum(-z, zero) + sp.log1p(sp.exp(-sp.abs(z)))
    return total
