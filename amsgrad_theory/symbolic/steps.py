"""The steps of two regret proofs, each a named inequality evaluable on a trajectory.

A :class:`ProofStep` is ``lhs ≤ rhs`` (or ``lhs = rhs``) written in sympy over per-step
quantities (IndexedBase symbols, 1-based steps t = 1..T, coordinates i = 1..d):

==============  =======================================================  ==================
symbol          meaning                                                  ``Trajectory``
==============  =======================================================  ==================
``x[t, i]``     the played point x_t (t = 1..T+1; x_{T+1} the last one)  ``x``
``xstar[i]``    the comparator x* (best fixed point in hindsight)         ``x_star``
``m[t, i]``     first moment m_t (m_0 = 0)                                ``m``
``vhat[t, i]``  maxed second moment v̂_t (v̂_0 = 0)                          ``vhat``
``g[t, i]``     gradient g_t = ∇f_t(x_t)                                  ``g``
``alpha[t]``    step size α_t                                             ``alpha_t``
``beta1[t]``    β1,t                                                      ``beta1_t``
``f[t]``        f_t(x_t)                                                  ``loss``
``R_T``         regret Σ_t f_t(x_t) − Σ_t f_t(x*)                         ``regret``
==============  =======================================================  ==================

and the constants α, β1 (= β1,1), β2, D∞, G∞, d, T of :mod:`~amsgrad_theory.symbolic.symbols`.
Terms m²/√v̂ are written ``zdiv(m**2, sqrt(vhat))``: 0 where v̂ = 0 (then m = 0 too; the step is
0 and so is every weight √v̂).

Evaluation: :meth:`ProofStep.evaluate` maps a :class:`Trajectory` to ``(lhs, rhs)`` — numpy
arrays over t for a ``per-step`` inequality (one inequality per t in ``steps``), scalars for a
``total`` one. Index-0 entries (m_0, v̂_0, α_0, β1,0) only ever multiply m_0 = 0 or √v̂_0 = 0.

Chains (see :data:`CHAINS`):

* ``theorem4`` — Reddi et al.'s proof of Theorem 4 as Tran & Phong analyse it: projection
  one-step inequality, Young's inequality on the momentum term, the combined one-step bound,
  Tran & Phong's Lemma 3.1, the Abel identity and the bound it gives with the true 1/(1−β1,t)
  weights, the paper's replacement of 1/(1−β1,t) by 1/(1−β1) (**not valid**: it fails on Tran &
  Phong's Example 3.2), the paper's implied monotonicity of the weights (**not valid**), Lemma 2
  and the final sum (Theorem 4 (d)).
* ``constant-beta1`` — the bound derived here for constant β1: convexity, the exact identity
  Σ⟨g_t, x_t − x*⟩ = Σ⟨m_t, x_t − x*⟩ + β1/(1−β1)⟨m_T, x_T − x*⟩ + β1/(1−β1)Σ⟨m_{t−1},
  x_{t−1} − x_t⟩, the projection one-step inequality, telescoping with √v̂_t/α_t non-decreasing,
  the last term, Cauchy–Schwarz with the non-expansive projection, the sharper energy lemma and
  the final bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import sympy as sp

from ..errors import InputError, unknown_name
from . import symbols as S
from .bound import DEFINITIONS
from .bounds import BOUNDS

i = sp.Symbol("i", positive=True, integer=True)
t = S.t
T = S.T
x = sp.IndexedBase("x")
xstar = sp.IndexedBase("xstar")
m = sp.IndexedBase("m")
vhat = sp.IndexedBase("vhat")
g = sp.IndexedBase("g")
alpha_t = sp.IndexedBase("alpha")
beta1_t = sp.IndexedBase("beta1")
f = sp.IndexedBase("f")

#: Indexed base → Trajectory attribute, and what it is
QUANTITIES: dict[str, tuple[str, str]] = {
    "x": ("x", "x_t, t = 1..T+1"), "xstar": ("x_star", "x*"), "m": ("m", "m_t"),
    "vhat": ("vhat", "v̂_t"), "g": ("g", "g_t"), "alpha": ("alpha_t", "α_t"),
    "beta1": ("beta1_t", "β1,t"), "f": ("loss", "f_t(x_t)"),
}
_LATEX = {sp.Symbol("vhat"): r"\hat{v}", sp.Symbol("xstar"): r"x^{*}"}


class zdiv(sp.Function):
    """a/b with 0/0 := 0 (a term m²/√v̂ where v̂ = 0, hence m = 0)."""

    nargs = 2

    def _latex(self, printer):
        a, b = self.args
        return r"\frac{" + printer._print(a) + "}{" + printer._print(b) + "}"


def sum_i(expr: sp.Expr) -> sp.Sum:
    return sp.Sum(expr, (i, 1, S.d))


def sum_t(expr: sp.Expr, lo=1, hi=T) -> sp.Sum:
    return sp.Sum(expr, (t, lo, hi))


def dist2(time) -> sp.Expr:
    """(x_{time,i} − x*_i)²."""
    return (x[time, i] - xstar[i]) ** 2


def energy(time) -> sp.Expr:
    """Σ_i m_{time,i}²/√v̂_{time,i} (without α)."""
    return sum_i(zdiv(m[time, i] ** 2, sp.sqrt(vhat[time, i])))


# ----------------------------------------------------------------------------------------
# trajectories
# ----------------------------------------------------------------------------------------

@dataclass
class Trajectory:
    """Per-step arrays of one run, padded so that row t holds step t (see the module table).

    Shapes: ``x`` (T+2, d) with row T+1 = x_{T+1}; ``m``, ``vhat``, ``g`` (T+1, d) with row 0
    = m_0 = v̂_0 = 0 (g_0 = 0 unused); ``alpha_t``, ``beta1_t``, ``loss`` (T+1,); ``x_star``
    (d,). ``params`` holds α, β1, β2, λ, D∞, G∞ as floats.
    """

    x: np.ndarray
    m: np.ndarray
    vhat: np.ndarray
    g: np.ndarray
    alpha_t: np.ndarray
    beta1_t: np.ndarray
    loss: np.ndarray
    x_star: np.ndarray
    comparator_loss: float
    params: dict = field(default_factory=dict)

    @property
    def T(self) -> int:
        return self.m.shape[0] - 1

    @property
    def d(self) -> int:
        return self.m.shape[1]

    @property
    def regret(self) -> float:
        return float(np.sum(self.loss[1:]) - self.comparator_loss)

    @classmethod
    def from_steps(cls, *, x: Sequence, x_next: Sequence, m: Sequence, vhat: Sequence,
                   g: Sequence, alpha_t: Sequence, beta1_t: Sequence, loss: Sequence,
                   x_star: Sequence, comparator_loss: float, params: dict) -> Trajectory:
        """Build from unpadded arrays over t = 1..T (``x`` = x_1..x_T, ``x_next`` = x_{T+1})."""
        xs = np.asarray(x, dtype=float)
        T, d = xs.shape
        pad = np.full((1, d), np.nan)
        zero = np.zeros((1, d))
        a = np.asarray(alpha_t, dtype=float)
        b = np.asarray(beta1_t, dtype=float)
        return cls(
            x=np.vstack([pad, xs, np.asarray(x_next, dtype=float).reshape(1, d)]),
            m=np.vstack([zero, np.asarray(m, dtype=float)]),
            vhat=np.vstack([zero, np.asarray(vhat, dtype=float)]),
            g=np.vstack([zero, np.asarray(g, dtype=float)]),
            alpha_t=np.concatenate([[float(params["alpha"])], a]),
            beta1_t=np.concatenate([[float(params["beta1"])], b]),
            loss=np.concatenate([[0.0], np.asarray(loss, dtype=float)]),
            x_star=np.asarray(x_star, dtype=float), comparator_loss=float(comparator_loss),
            params={k: float(v) for k, v in params.items()},
        )


def trajectory_from_result(result, b: int = 0) -> Trajectory:
    """The trajectory of instance ``b`` of a run made with ``trace=True`` (float values).

    Needs the comparator x* (a bounded feasible set) and the problem's D∞, G∞.
    """
    if result.trace is None:
        raise InputError("result", result.problem.spec, "needs a run with trace=True")
    inst = result.instances[b]
    if inst.comparator is None:
        raise InputError("result", result.problem.spec, "has no comparator x*")
    tr = result.trace
    to = result.arithmetic.to_float
    hp = inst.hyperparameters
    params = {"alpha": hp["alpha"], "beta1": hp["beta1"], "beta2": hp["beta2"],
              "lam": hp["beta1_decay"], "D_inf": inst.D_inf, "G_inf": inst.G_inf}
    params = {k: _real(k, v) for k, v in params.items()}

    def arr(name):
        return np.vectorize(to, otypes=[float])(np.asarray(tr[name])[:, b])

    return Trajectory.from_steps(
        x=arr("x"), x_next=[to(v) for v in inst.final_x], m=arr("m"), vhat=arr("vhat"),
        g=arr("g"), alpha_t=arr("alpha_t"), beta1_t=arr("beta1_t"), loss=arr("loss"),
        x_star=[to(v) for v in inst.comparator], comparator_loss=to(inst.comparator_loss),
        params=params)


def _real(name: str, value) -> float:
    """A hyperparameter (the decimal or ratio text the user gave: ``0.9``, ``1/3``) or a
    bound as the float64 the proof steps are evaluated in: exact as a Fraction, rounded once."""
    try:
        return float(Fraction(value) if isinstance(value, str) else value)
    except OverflowError:
        raise InputError(name, value, "lies beyond float64, in which the proof steps are "
                         "evaluated") from None


# ----------------------------------------------------------------------------------------
# evaluation of an expression on a trajectory
# ----------------------------------------------------------------------------------------

def _index(expr, traj: Trajectory, tv):
    value = _ev(expr, traj, tv)
    if isinstance(value, np.ndarray):
        return value.astype(np.int64)
    return int(round(float(value)))


def _ev(e, traj: Trajectory, tv):
    """Value of ``e``: a float, or an array broadcastable to (len(tv), d)."""
    if e.is_Number:
        return float(e)
    if isinstance(e, sp.Symbol):
        if e == t:
            if tv is None:
                raise ValueError("t is free outside a sum over t")
            return tv
        if e == T:
            return traj.T
        if e == S.d:
            return traj.d
        if e == S.R_T:
            return traj.regret
        if e.name in traj.params:
            return traj.params[e.name]
        raise KeyError(f"no value for {e.name}")
    if isinstance(e, sp.Indexed):
        name = e.base.label.name
        data = getattr(traj, QUANTITIES[name][0])
        if name == "xstar":
            return data[None, :]
        row = _index(e.indices[0], traj, tv)
        if len(e.indices) == 2:
            return data[row.ravel(), :] if np.ndim(row) else data[row, :][None, :]
        return data[row.ravel()][:, None] if np.ndim(row) else data[row]
    if e.is_Add:
        total = 0.0
        for a in e.args:
            total = total + _ev(a, traj, tv)
        return total
    if e.is_Mul:
        total = 1.0
        for a in e.args:
            total = total * _ev(a, traj, tv)
        return total
    if e.is_Pow:
        base, exponent = e.args
        return np.power(_ev(base, traj, tv), _ev(exponent, traj, tv))
    if isinstance(e, zdiv):
        a, b = (np.asarray(_ev(arg, traj, tv), dtype=float) for arg in e.args)
        a, b = np.broadcast_arrays(a, b)
        return np.divide(a, b, out=np.zeros(a.shape), where=b != 0)
    if isinstance(e, sp.log):
        return np.log(_ev(e.args[0], traj, tv))
    if isinstance(e, sp.Sum):
        return _sum(e.function, list(e.limits), traj, tv)
    raise TypeError(f"cannot evaluate {type(e).__name__}: {e}")


def _sum(body, limits, traj: Trajectory, tv):
    """Σ over ``limits`` (innermost first, as sympy stores them) of ``body``."""
    if not limits:
        return _ev(body, traj, tv)
    var, lo, hi = limits[-1]
    inner_limits = limits[:-1]
    inner_expr = sp.Tuple(body, *[sp.Tuple(*lim) for lim in inner_limits])
    if var == i:
        value = np.asarray(_sum(body, inner_limits, traj, tv), dtype=float)
        if not inner_expr.has(i):
            return value * traj.d
        return np.sum(value, axis=-1, keepdims=True)
    if var != t:
        raise TypeError(f"cannot sum over {var}")
    lo_v, hi_v = _index(lo, traj, tv), _index(hi, traj, tv)
    if hi_v < lo_v:
        return 0.0
    steps = np.arange(lo_v, hi_v + 1)[:, None]
    value = np.asarray(_sum(body, inner_limits, traj, steps), dtype=float)
    if value.ndim == 0:
        return value * len(steps)
    value = np.broadcast_to(value, (len(steps), value.shape[-1]))
    return np.sum(value, axis=0, keepdims=True)


def evaluate_on(expr: sp.Expr, traj: Trajectory, steps: tuple[int, int] | None = None):
    """``expr`` on ``traj``: a float, or (with ``steps`` = (a, b)) an array over t = a..b."""
    if steps is None:
        value = np.asarray(_ev(expr, traj, None), dtype=float)
        return float(value.reshape(-1)[0]) if value.size == 1 else value
    a, b = steps
    tv = np.arange(a, b + 1)[:, None]
    value = np.asarray(_ev(expr, traj, tv), dtype=float)
    value = np.broadcast_to(value, (len(tv), value.shape[-1] if value.ndim else 1))
    return value[:, 0].copy()


# ----------------------------------------------------------------------------------------
# proof steps
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProofStep:
    """One step of a proof: ``lhs rel rhs`` with ``rel`` in {"<=", "=="}.

    ``scope`` is ``per-step`` (one inequality for each t in ``steps``, bounds may use T) or
    ``total``. ``valid`` is False for a step a published proof uses that does not hold in
    general (the verify module should find runs where it fails). ``requires`` names the
    hypotheses the step uses (beyond those of the chain).
    """

    name: str
    chain: str
    statement: str
    lhs: sp.Expr
    rhs: sp.Expr
    relation: str = "<="
    scope: str = "total"
    steps: tuple = (1, T)
    valid: bool = True
    requires: str = ""
    source: str = ""

    @property
    def needs(self) -> tuple[str, ...]:
        """The trajectory quantities (``Trajectory`` attributes) the step reads."""
        out = set()
        for e in (self.lhs, self.rhs):
            for ind in e.atoms(sp.Indexed):
                out.add(QUANTITIES[ind.base.label.name][0])
            if e.has(S.R_T):
                out.update(("loss", "comparator_loss"))
        return tuple(sorted(out))

    def latex(self) -> str:
        rel = r" \leq " if self.relation == "<=" else " = "
        names = dict(S.LATEX_NAMES)
        names.update(_LATEX)
        body = (sp.latex(self.lhs, symbol_names=names, mul_symbol="dot") + rel
                + sp.latex(self.rhs, symbol_names=names, mul_symbol="dot"))
        if self.scope == "per-step":
            lo, hi = self.steps
            body += rf" \quad ({sp.latex(lo)} \leq t \leq {sp.latex(hi)})"
        return body

    def evaluate(self, traj: Trajectory):
        """``(lhs, rhs)`` on ``traj``: arrays over t (per-step) or floats (total)."""
        if self.scope == "per-step":
            lo = _index(sp.sympify(self.steps[0]), traj, None)
            hi = _index(sp.sympify(self.steps[1]), traj, None)
            return (evaluate_on(self.lhs, traj, (lo, hi)), evaluate_on(self.rhs, traj, (lo, hi)))
        return evaluate_on(self.lhs, traj), evaluate_on(self.rhs, traj)

    def holds(self, traj: Trajectory, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """True when lhs ≤ rhs (or =) everywhere up to the float tolerance ``rtol·scale``."""
        return self.decide(traj, rtol, atol) != "fail"

    def decide(self, traj: Trajectory, rtol: float = 1e-9, atol: float = 1e-12) -> str:
        """The step's verdict on ``traj`` in floating point, band = rtol·max(|lhs|, |rhs|) +
        atol: ``fail`` where lhs exceeds rhs by more than the band somewhere; for ≤,
        ``pass`` only where lhs ≤ rhs − band everywhere, ``undecided`` where some t is a tie
        within the band (equality cases of an inequality: floats cannot tell = from a tiny >);
        for = (an identity), ``pass`` where |lhs − rhs| ≤ band everywhere — the record's claim
        then states the tolerance."""
        lhs, rhs = (np.atleast_1d(np.asarray(v, dtype=float)) for v in self.evaluate(traj))
        band = np.maximum(np.abs(lhs), np.abs(rhs)) * rtol + atol
        if self.relation == "==":
            return "pass" if bool(np.all(np.abs(lhs - rhs) <= band)) else "fail"
        if not bool(np.all(lhs <= rhs + band)):
            return "fail"
        return "pass" if bool(np.all(lhs <= rhs - band)) else "undecided"


# common expressions --------------------------------------------------------------------
a_w = sp.sqrt(vhat[t, i]) / alpha_t[t]                          # a_{t,i} = √v̂_{t,i}/α_t
c_w = sp.sqrt(vhat[t, i]) / (2 * alpha_t[t] * (1 - beta1_t[t]))  # c_{t,i}
c_prev = sp.sqrt(vhat[t - 1, i]) / (2 * alpha_t[t - 1] * (1 - beta1_t[t - 1]))
inner_g = sum_t(sum_i(g[t, i] * (x[t, i] - xstar[i])))
ENERGY_T = sum_t(alpha_t[t] * energy(t))
NORM_T = sum_i(sp.sqrt(sum_t(g[t, i] ** 2)))
SQRT_VHAT_T = sum_i(sp.sqrt(vhat[T, i]))
B_SUM = sum_t(sum_i(beta1_t[t] * sp.sqrt(vhat[t, i]) / alpha_t[t]))
#: run statistics written over the trajectory (one expression for bounds and steps)
STATISTICS = {S.V_T: SQRT_VHAT_T, S.N_T: NORM_T, S.B_T: B_SUM, S.E_T: ENERGY_T}


def bound_on_trajectory(name: str) -> sp.Expr:
    """The right-hand side of bound ``name`` with its statistics written over a trajectory."""
    return BOUNDS[name].rhs.subs(DEFINITIONS).subs(STATISTICS)


REDDI = "Reddi et al., proof of Theorem 4 (appendix) [reddi2018]"
TP = "Tran & Phong (2019), Lemma 3.1 / eq. (3.1) [tran2019]"

_CONVEXITY = ProofStep(
    name="convexity", chain="common",
    statement="R_T ≤ Σ_t ⟨g_t, x_t − x*⟩ (f_t convex, g_t = ∇f_t(x_t))",
    lhs=S.R_T, rhs=inner_g, source="definition of a subgradient")

THEOREM4_STEPS: tuple[ProofStep, ...] = (
    _CONVEXITY,
    ProofStep(
        name="theorem4.projection", chain="theorem4", scope="per-step",
        statement="‖x_{t+1} − x*‖²_{V̂_t^{1/2}} ≤ ‖x_t − α_t V̂_t^{−1/2} m_t − x*‖²_{V̂_t^{1/2}}: "
                  "Π_{F,√V̂_t} is non-expansive in its own norm and fixes x* ∈ F",
        lhs=sum_i(sp.sqrt(vhat[t, i]) * dist2(t + 1)),
        rhs=sum_i(sp.sqrt(vhat[t, i])
                  * (x[t, i] - alpha_t[t] * zdiv(m[t, i], sp.sqrt(vhat[t, i])) - xstar[i]) ** 2),
        source="McMahan & Streeter (2010), Lemma 4 [mcmahan2010], as used by " + REDDI),
    ProofStep(
        name="theorem4.young", chain="theorem4", scope="per-step", steps=(2, T),
        statement="−β1,t⟨m_{t−1}, x_t − x*⟩ ≤ β1,t[α_{t−1}‖V̂_{t−1}^{−1/4}m_{t−1}‖²/2 + "
                  "‖V̂_{t−1}^{1/4}(x_t − x*)‖²/(2α_{t−1})] (Young / Cauchy–Schwarz)",
        lhs=-beta1_t[t] * sum_i(m[t - 1, i] * (x[t, i] - xstar[i])),
        rhs=beta1_t[t] * (alpha_t[t - 1] * energy(t - 1) / 2
                          + sum_i(sp.sqrt(vhat[t - 1, i]) * dist2(t)) / (2 * alpha_t[t - 1])),
        source=REDDI),
    ProofStep(
        name="theorem4.one-step", chain="theorem4", scope="per-step",
        statement="⟨g_t, x_t − x*⟩ ≤ [Σ_i √v̂_{t,i}(D_t − D_{t+1})/(2α_t) + α_t E_t/2 + "
                  "β1,t α_{t−1}E_{t−1}/2 + β1,t Σ_i √v̂_{t−1,i} D_t/(2α_{t−1})]/(1 − β1,t), "
                  "D_t = (x_{t,i} − x*_i)², E_t = Σ_i m_{t,i}²/√v̂_{t,i}",
        lhs=sum_i(g[t, i] * (x[t, i] - xstar[i])),
        rhs=(sum_i(sp.sqrt(vhat[t, i]) * (dist2(t) - dist2(t + 1))) / (2 * alpha_t[t])
             + alpha_t[t] * energy(t) / 2 + beta1_t[t] * alpha_t[t - 1] * energy(t - 1) / 2
             + beta1_t[t] * sum_i(sp.sqrt(vhat[t - 1, i]) * dist2(t)) / (2 * alpha_t[t - 1]))
        / (1 - beta1_t[t]),
        requires="m_t = β1,t m_{t−1} + (1−β1,t) g_t",
        source=REDDI + "; " + TP),
    ProofStep(
        name="theorem4.lemma3.1", chain="theorem4",
        statement="Tran & Phong's Lemma 3.1: R_T ≤ Σ_t Σ_i c_{t,i}(D_t − D_{t+1}) + "
                  "Σ_t α_t E_t/(1−β1) + Σ_{t≥2} β1,t Σ_i √v̂_{t−1,i} D_t/(2α_{t−1}(1−β1)), "
                  "c_{t,i} = √v̂_{t,i}/(2α_t(1−β1,t)); 1/(1−β1,t) ≤ 1/(1−β1) only on "
                  "non-negative terms",
        lhs=S.R_T,
        rhs=sum_t(sum_i(c_w * (dist2(t) - dist2(t + 1))))
        + sum_t(alpha_t[t] * energy(t)) / (1 - S.beta1)
        + sum_t(beta1_t[t] * sum_i(sp.sqrt(vhat[t - 1, i]) * dist2(t))
                / (2 * alpha_t[t - 1] * (1 - S.beta1)), 2, T),
        requires="0 ≤ β1,t ≤ β1 < 1", source=TP),
    ProofStep(
        name="theorem4.abel-identity", chain="theorem4", relation="==",
        statement="Abel summation: Σ_t c_t(D_t − D_{t+1}) = c_1 D_1 + Σ_{t≥2}(c_t − c_{t−1})D_t − "
                  "c_T D_{T+1} (per coordinate, summed over i)",
        lhs=sum_t(sum_i(c_w * (dist2(t) - dist2(t + 1)))),
        rhs=sum_i(c_w.subs(t, 1) * dist2(1)) + sum_t(sum_i((c_w - c_prev) * dist2(t)), 2, T)
        - sum_i(c_w.subs(t, T) * dist2(T + 1)),
        source="summation by parts"),
    ProofStep(
        name="theorem4.abel-bound", chain="theorem4",
        statement="with the true weights: Σ_t c_t(D_t − D_{t+1}) ≤ D∞²/(2(1−β1)) Σ_i "
                  "[√v̂_{T,i}/α_T + Σ_{t≥2} β1,t √v̂_{t−1,i}/α_{t−1}], from c_t − c_{t−1} ≤ "
                  "(a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1)), a_t = √v̂_t/α_t non-decreasing",
        lhs=sum_t(sum_i(c_w * (dist2(t) - dist2(t + 1)))),
        rhs=S.D_inf ** 2 / (2 * (1 - S.beta1))
        * (sum_i(sp.sqrt(vhat[T, i]) / alpha_t[T])
           + sum_t(beta1_t[t] * sum_i(sp.sqrt(vhat[t - 1, i]) / alpha_t[t - 1]), 2, T)),
        requires="α_t non-increasing, v̂_t non-decreasing, β1,1 = β1, |x_{t,i} − x*_i| ≤ D∞",
        source="Reddi, Kale & Kumar, arXiv:1904.09237, proof of Theorem 4; the Lean "
        "`abel_beta_le` [reddi2019arxiv; lean-adambeyond]; derived here"),
    ProofStep(
        name="theorem4.paper-replacement", chain="theorem4", valid=False,
        statement="the paper's step: Σ_t c_t(D_t − D_{t+1}) ≤ Σ_t Σ_i √v̂_{t,i}(D_t − D_{t+1})/"
                  "(2α_t(1−β1)) — enlarging the weight of a negative difference; fails on "
                  "Tran & Phong's Example 3.2",
        lhs=sum_t(sum_i(c_w * (dist2(t) - dist2(t + 1)))),
        rhs=sum_t(sum_i(sp.sqrt(vhat[t, i]) * (dist2(t) - dist2(t + 1))
                        / (2 * alpha_t[t] * (1 - S.beta1)))),
        source=TP + " (the 'red inequality' of their eq. (3.1))"),
    ProofStep(
        name="theorem4.paper-monotone-weights", chain="theorem4", scope="per-step",
        steps=(2, T), valid=False,
        statement="the paper's implied monotonicity √v̂_{t−1}/(α_{t−1}(1−β1,t−1)) ≤ "
                  "√v̂_t/(α_t(1−β1,t)) summed over i (fails when β1,t decreases faster than "
                  "√v̂_t/α_t grows)",
        lhs=sum_i(2 * c_prev), rhs=sum_i(2 * c_w), source=TP),
    ProofStep(
        name="theorem4.lemma2", chain="theorem4",
        statement="Lemma 2: Σ_t α_t‖V̂_t^{−1/4}m_t‖² ≤ α√(1+ln T)/((1−β1)(1−γ)√(1−β2)) "
                  "Σ_i ‖g_{1:T,i}‖₂",
        lhs=ENERGY_T, rhs=BOUNDS["lemma2"].rhs.subs({S.gamma: S.beta1 / sp.sqrt(S.beta2)})
        .subs(STATISTICS),
        requires="α_t = α/√t, β1,t ≤ β1, γ < 1, v̂ ≥ v", source=REDDI + ", Lemma 2"),
    ProofStep(
        name="theorem4.final", chain="theorem4",
        statement="R_T ≤ Theorem 4 (d) on the run's own statistics",
        lhs=S.R_T, rhs=bound_on_trajectory("theorem4-derived"),
        source="theorem4-derived"),
)

CONSTANT_BETA1_STEPS: tuple[ProofStep, ...] = (
    _CONVEXITY,
    ProofStep(
        name="constant-beta1.identity", chain="constant-beta1", relation="==",
        statement="Σ_t⟨g_t, x_t − x*⟩ = Σ_t⟨m_t, x_t − x*⟩ + β1/(1−β1)⟨m_T, x_T − x*⟩ + "
                  "β1/(1−β1) Σ_{t≥2}⟨m_{t−1}, x_{t−1} − x_t⟩ (g_t = (m_t − β1 m_{t−1})/(1−β1), "
                  "m_0 = 0)",
        lhs=inner_g,
        rhs=sum_t(sum_i(m[t, i] * (x[t, i] - xstar[i])))
        + S.beta1 / (1 - S.beta1) * sum_i(m[T, i] * (x[T, i] - xstar[i]))
        + S.beta1 / (1 - S.beta1) * sum_t(sum_i(m[t - 1, i] * (x[t - 1, i] - x[t, i])), 2, T),
        requires="β1,t = β1 for all t",
        source="after Alacaoglu, Malitsky, Mertikopoulos & Cevher 2020 [alacaoglu2020]"),
    ProofStep(
        name="constant-beta1.projection", chain="constant-beta1", scope="per-step",
        statement="⟨m_t, x_t − x*⟩ ≤ Σ_i √v̂_{t,i}(D_t − D_{t+1})/(2α_t) + α_t‖V̂_t^{−1/4}m_t‖²/2",
        lhs=sum_i(m[t, i] * (x[t, i] - xstar[i])),
        rhs=sum_i(sp.sqrt(vhat[t, i]) * (dist2(t) - dist2(t + 1))) / (2 * alpha_t[t])
        + alpha_t[t] * energy(t) / 2,
        source="the projection inequality expanded (derived here)"),
    ProofStep(
        name="constant-beta1.telescoping", chain="constant-beta1",
        statement="Σ_t Σ_i √v̂_{t,i}(D_t − D_{t+1})/(2α_t) ≤ D∞² Σ_i √v̂_{T,i}/(2α_T)",
        lhs=sum_t(sum_i(sp.sqrt(vhat[t, i]) * (dist2(t) - dist2(t + 1)) / (2 * alpha_t[t]))),
        rhs=S.D_inf ** 2 * sum_i(sp.sqrt(vhat[T, i])) / (2 * alpha_t[T]),
        requires="√v̂_{t,i}/α_t non-decreasing in t; |x_{t,i} − x*_i| ≤ D∞",
        source="Abel summation with non-negative increments (derived here)"),
    ProofStep(
        name="constant-beta1.last-term", chain="constant-beta1",
        statement="β1/(1−β1)⟨m_T, x_T − x*⟩ ≤ β1 d D∞ G∞/(1−β1) (|m_{T,i}| ≤ G∞)",
        lhs=S.beta1 / (1 - S.beta1) * sum_i(m[T, i] * (x[T, i] - xstar[i])),
        rhs=S.beta1 * S.d * S.D_inf * S.G_inf / (1 - S.beta1),
        source="m_T is a sub-convex combination of gradients (derived here)"),
    ProofStep(
        name="constant-beta1.cauchy-schwarz", chain="constant-beta1", scope="per-step",
        steps=(2, T),
        statement="⟨m_{t−1}, x_{t−1} − x_t⟩ ≤ α_{t−1}‖V̂_{t−1}^{−1/4}m_{t−1}‖² (Cauchy–Schwarz in "
                  "the V̂_{t−1}^{±1/2} norms; ‖x_t − x_{t−1}‖_{V̂_{t−1}^{1/2}} ≤ "
                  "α_{t−1}‖V̂_{t−1}^{−1/4}m_{t−1}‖ since the projection is non-expansive)",
        lhs=sum_i(m[t - 1, i] * (x[t - 1, i] - x[t, i])),
        rhs=alpha_t[t - 1] * energy(t - 1), source="derived here"),
    ProofStep(
        name="constant-beta1.momentum-energy", chain="constant-beta1",
        statement="Σ_t α_t‖V̂_t^{−1/4}m_t‖² ≤ (1−β1)α√(1+ln T)/((1−γ)√(1−β2)) Σ_i ‖g_{1:T,i}‖₂",
        lhs=ENERGY_T, rhs=bound_on_trajectory("lemma2-constant-beta1"),
        requires="β1 constant, α_t = α/√t, γ < 1", source="lemma2-constant-beta1"),
    ProofStep(
        name="constant-beta1.final", chain="constant-beta1",
        statement="R_T ≤ the constant-β1 bound on the run's own statistics",
        lhs=S.R_T, rhs=bound_on_trajectory("constant-beta1"), source="constant-beta1"),
)

CHAINS: dict[str, tuple[ProofStep, ...]] = {
    "theorem4": THEOREM4_STEPS,
    "constant-beta1": CONSTANT_BETA1_STEPS,
}


def proof_steps(chain: str) -> tuple[ProofStep, ...]:
    """The steps of ``chain`` (``theorem4`` or ``constant-beta1``), in proof order."""
    if chain not in CHAINS:
        raise unknown_name("chain", chain, list(CHAINS))
    return CHAINS[chain]
