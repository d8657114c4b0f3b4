"""Feasible sets F ⊂ R^d with their (weighted) projections.

Reddi et al. project with Π_{F,A}(y) = argmin_{x∈F} ‖A^{1/2}(x − y)‖ and A = √V̂_t, a positive
diagonal matrix; write w = diag(A) ≥ 0.

* **Box** [lo, hi]^d: the weighted problem separates by coordinate, so Π_{F,A} is coordinatewise
  clipping for every positive weight (the weights do not matter).
* **Euclidean ball** {‖x‖₂ ≤ R}: for ‖y‖ ≤ R, Π(y) = y. Otherwise the KKT conditions of
  min Σ w_i (x_i − y_i)² s.t. ‖x‖² ≤ R² give x_i = w_i y_i/(w_i + μ) with the multiplier μ > 0
  the root of the secular equation φ(μ) = Σ_i (w_i y_i/(w_i + μ))² − R² = 0. φ is convex and
  decreasing on [0, ∞), so Newton's method started at μ = 0 increases monotonically to the root;
  it is run until μ stops increasing. Far from the root it gains only a factor ≈ 3/2 per step
  (φ ≈ ‖w∘y‖²/μ² − R²), so where ``max_iter`` steps do not reach the root it starts again
  from the lower bound μ ≥ ‖w∘y‖/R − max w (from w_i + μ ≤ max w + μ), still left of the root.
  Where ‖y‖² leaves a float's range, φ is solved for y/m and R/m, m = max |y_i|: the root μ
  is the same (x is linear in y and R), and x_i = w_i y_i/(w_i + μ) (the scalar loops take it
  from y/m, times m). (Without
  these, ‖y‖/R beyond ≈ 1e80, or ‖y‖² beyond the range, gave an unprojected or a zero point
  silently.) This is **not** the Euclidean rescaling R·y/‖y‖ unless all
  weights are equal. A coordinate with weight 0 (no gradient seen yet) takes the limit w → 0⁺,
  x_i = 0, when the ball constraint is active.
* **Unconstrained** R^d: the identity; D∞ = ∞ and regret against the best fixed point is not
  defined in general (reported as null).

D∞ is the ℓ∞ diameter sup ‖x − y‖_∞ over F: hi − lo for the box, 2R for the ball.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import InputError


@dataclass(frozen=True)
class FeasibleSet:
    """A feasible set: ``kind`` in {"box", "ball", "none"} with its parameters (decimal strings)."""

    kind: str
    lo: str = "-1"
    hi: str = "1"
    radius: str = "1"

    def __post_init__(self):
        if self.kind not in ("box", "ball", "none"):
            raise InputError("set", self.kind, "must be box, ball or none")
        if self.kind == "box" and not Fraction(self.lo) < Fraction(self.hi):
            raise InputError("set", f"[{self.lo}, {self.hi}]", "a box needs lo < hi")
        if self.kind == "ball" and not Fraction(self.radius) > 0:
            raise InputError("radius", self.radius, "must be > 0")

    @property
    def coupled(self) -> bool:
        """True when the projection couples coordinates (the ball)."""
        return self.kind == "ball"

    @property
    def bounded(self) -> bool:
        return self.kind != "none"

    def D_inf(self) -> Fraction | None:
        """ℓ∞ diameter (exact)."""
        if self.kind == "box":
            return Fraction(self.hi) - Fraction(self.lo)
        if self.kind == "ball":
            return 2 * Fraction(self.radius)
        return None

    def contains_exact(self, x: list[Fraction]) -> bool:
        """Membership of a point given exactly (used to validate x_1)."""
        if self.kind == "box":
            lo, hi = Fraction(self.lo), Fraction(self.hi)
            return all(lo <= xi <= hi for xi in x)
        if self.kind == "ball":
            return sum(xi * xi for xi in x) <= Fraction(self.radius) ** 2
        return True

    def describe(self) -> dict:
        if self.kind == "box":
            return {"kind": "box", "lo": self.lo, "hi": self.hi}
        if self.kind == "ball":
            return {"kind": "ball", "radius": self.radius}
        return {"kind": "none"}


def make_ball_projection(xp, engine: str, jit=lambda f: f, max_iter: int = 500):
    """Weighted projection onto {‖x‖ ≤ R} over namespace ``xp`` (see the module docstring).

    Scalar engine: ``project(Y, W, R, row)`` projects row ``row`` of the 2-D arrays ``Y``
    (in place) with weights ``W``. Vector engine: ``project(Y, W, R)`` returns the projection of
    every row of ``Y``.
    """
    zero = xp.zero
    one = xp.one
    where = xp.where
    gt = xp.gt
    isfinite = xp.isfinite
    sqrt = xp.sqrt
    maximum = xp.maximum
    absolute = xp.abs

    @jit
    def secular(y, w, mu):
        """φ(μ) + R² and −φ'(μ)/2 terms for one coordinate."""
        den = w + mu
        safe = where(gt(den, zero), den, one)
        q = w * y / safe
        return q * q, q * q / safe

    if engine == "scalar":
        @jit
        def newton(Y, W, R, row, mu):
            """(μ, reached): Newton's steps on φ for row ``row`` from ``mu`` (left of the root);
            ``reached`` is False where ``max_iter`` steps did not stop it."""
            d = Y.shape[1]
            for _ in range(max_iter):
                phi = -(R * R)
                dphi = zero
                for i in range(d):
                    a, b = secular(Y[row, i], W[row, i], mu)
                    phi = phi + a
                    dphi = dphi + b
                if not gt(phi, zero) or not gt(dphi, zero):
                    return mu, True
                new = mu + phi / (dphi + dphi)
                if not gt(new, mu):
                    return mu, True
                mu = new
            return mu, False

        @jit
        def project(Y, W, R, row):
            d = Y.shape[1]
            norm2 = zero
            for i in range(d):
                norm2 = norm2 + Y[row, i] * Y[row, i]
            if not gt(norm2, R * R):
                return
            # where ‖y‖² left the range the row is solved as y/m, R/m and the point scaled back
            # (in place: the row is overwritten anyway); in range m = 1 and nothing changes
            m = one
            if not isfinite(norm2):
                m = zero
                for i in range(d):
                    m = maximum(m, absolute(Y[row, i]))
                for i in range(d):
                    Y[row, i] = Y[row, i] / m
            Rm = R / m
            mu, reached = newton(Y, W, Rm, row, zero)
            if not reached:
                wy2 = zero
                wmax = zero
                for i in range(d):
                    wy = W[row, i] * Y[row, i]
                    wy2 = wy2 + wy * wy
                    wmax = maximum(wmax, W[row, i])
                mu, reached = newton(Y, W, Rm, row, maximum(mu, sqrt(wy2) / Rm - wmax))
            for i in range(d):
                den = W[row, i] + mu
                positive = gt(den, zero)
                Y[row, i] = m * where(positive, W[row, i] * Y[row, i] / where(positive, den, one),
                                      zero)
        return project

    rowsum = xp.rowsum
    rowmax = xp.rowmax

    def newton_vector(Y, W, R, active, mu):
        """(μ, reached) per row: as the scalar ``newton``, every active row at once."""
        for _ in range(max_iter):
            a, b = secular(Y, W, mu)
            phi = rowsum(a) - R * R
            dphi = rowsum(b)
            safe = where(gt(dphi, zero), dphi, one)
            step = where(gt(dphi, zero), phi / (safe + safe), zero)
            new = mu + where(xp.both(active, gt(phi, zero)), step, zero)
            if not bool((new > mu).any()):
                return mu, True
            mu = xp.maximum(new, mu)
        return mu, False

    def project_vector(Y, W, R):
        norm2 = rowsum(Y * Y)
        active = gt(norm2, R * R)
        # rows whose ‖y‖² left the range: φ for y/m and R/m, m = max |y_i| (others: m = 1);
        # μ starts at 0·max|y_i| (0·‖y‖² was NaN there, and so was the projection: 0)
        ymax = rowmax(absolute(Y))[..., None]
        m = where(isfinite(norm2), one + zero * ymax, ymax)
        Ym = Y / m
        Rm = R / m
        mu, reached = newton_vector(Ym, W, Rm, active, zero * ymax)
        if not reached:
            bound = sqrt(rowsum((W * Ym) * (W * Ym))) / Rm - rowmax(W)[..., None]
            mu, _ = newton_vector(Ym, W, Rm, active, xp.maximum(mu, where(active, bound, mu)))
        den = W + mu
        proj = where(gt(den, zero), W * Y / where(gt(den, zero), den, one), zero)
        return where(active, proj, Y)

    return project_vector
