"""A regret bound as one sympy expression with its assumptions and its source.

A :class:`Bound` states ``lhs ≤ rhs`` where ``lhs`` is the regret R_T (or, for Lemma 2, the
momentum energy E_T) and ``rhs`` an expression in the named symbols of
:mod:`~amsgrad_theory.symbolic.symbols`. The same object

* prints LaTeX (:meth:`Bound.latex`) and a legend of its symbols,
* evaluates on numbers or on a simulation's statistics (:meth:`Bound.evaluate`,
  :meth:`Bound.evaluate_run`): compiled once per backend with ``lambdify`` for floats (numpy)
  and mpmath, walked exactly in python-flint ``arb`` balls for certified comparisons,
* gives its worst-case order in T (:meth:`Bound.worst_case`, :meth:`Bound.order`) using
  Σ_i √v̂_{T,i} ≤ d G∞ and ‖g_{1:T,i}‖₂ ≤ G∞ √T and the β1,t schedule's sum,
* refuses values that violate its assumptions (:class:`AssumptionError` names the assumption:
  γ ≥ 1, β ∉ [0, 1), α ≤ 0, T < 1, a schedule the theorem does not cover, …).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..errors import InputError
from . import symbols as S
from .asymptotic import leading_order


class AssumptionError(InputError):
    """Values (or a run) that violate an assumption of a bound; names the assumption.

    >>> str(AssumptionError("gamma < 1", "gamma = 1.05", "theorem4-iclr"))
    "assumption='gamma < 1': violated by gamma = 1.05 (needed by theorem4-iclr)"
    """

    def __init__(self, assumption: str, detail: str, bound: str):
        self.assumption = assumption
        self.bound = bound
        super().__init__("assumption", assumption, f"violated by {detail} (needed by {bound})")


@dataclass(frozen=True)
class Assumption:
    """One hypothesis of a bound.

    ``condition`` is a sympy relation in the bound's parameters, decided exactly on rational
    inputs; ``structural`` lists the variant fields (and ``hp.<name>`` hyperparameters) a run
    must have, each with its admissible values. An assumption with neither is stated only
    (e.g. convexity of the losses, which every problem family of the toolkit satisfies).
    """

    name: str
    text: str
    condition: sp.Basic | None = None
    structural: Mapping[str, tuple] | None = None

    def check_values(self, values: Mapping[sp.Symbol, Any], bound: str) -> None:
        if self.condition is None:
            return
        needed = self.condition.free_symbols
        by_name = {sym.name: val for sym, val in values.items()}
        if not {sym.name for sym in needed} <= set(by_name):
            return
        grids = {sym: _exact_list(by_name[sym.name]) for sym in needed}
        keys = sorted(grids, key=lambda sym: sym.name)
        for combo in _product([grids[key] for key in keys]):
            subs = dict(zip(keys, combo))
            verdict = self.condition.subs(subs)
            if verdict is sp.false or verdict is False:
                detail = ", ".join(f"{key.name} = {_short(subs[key])}" for key in keys)
                derived = _derived_detail(self.name, subs)
                raise AssumptionError(self.name, derived + detail, bound)

    def check_run(self, variant, hyperparameters: Mapping[str, str], bound: str) -> None:
        if not self.structural:
            return
        for key, allowed in self.structural.items():
            if key.startswith("hp."):
                name = key[3:]
                value = Fraction(str(hyperparameters.get(name, "0")))
                if value not in {Fraction(str(a)) for a in allowed}:
                    raise AssumptionError(self.name, f"{name} = {hyperparameters.get(name)}",
                                          bound)
            else:
                value = getattr(variant, key)
                if value not in allowed:
                    raise AssumptionError(self.name, f"variant {variant.name!r} with {key} = "
                                          f"{value!r}", bound)


def _derived_detail(name: str, subs: Mapping[sp.Symbol, Any]) -> str:
    named = {sym.name: val for sym, val in subs.items()}
    if "beta1" in named and "beta2" in named and "gamma" in name:
        b1, b2 = named["beta1"], named["beta2"]
        if b2 > 0:
            g = (b1 if "KB" not in name else b1 ** 2) / sp.sqrt(b2)
            return f"{'gamma_KB' if 'KB' in name else 'gamma'} = {float(g):.6g} from "
    return ""


def _short(value) -> str:
    if isinstance(value, sp.Rational) and value.q != 1:
        return f"{float(value):.10g}"
    return str(value)


def _product(lists):
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for tail in _product(lists[1:]):
            yield (head,) + tail


def _exact(value) -> sp.Expr:
    """A sympy number equal to ``value`` (exact for ints, Fractions, decimal strings, floats)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, str):
        q = Fraction(value)
        return sp.Rational(q.numerator, q.denominator)
    if isinstance(value, mpmath.mpf):
        return sp.Rational(*value.man_exp_ratio()) if hasattr(value, "man_exp_ratio") \
            else sp.Rational(Fraction(float(value)))
    try:
        from flint import arb  # python-flint: ball arithmetic, imported where balls are used

        if isinstance(value, arb):
            return sp.Rational(Fraction(float(value.mid().str(30, radius=False))))
    except ImportError:  # pragma: no cover - python-flint is a dependency
        pass
    f = float(value)
    if not math.isfinite(f):
        return sp.oo if f > 0 else (-sp.oo if f < 0 else sp.nan)
    return sp.Rational(Fraction(f))


def _exact_list(value) -> list[sp.Expr]:
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.unique(np.asarray(value, dtype=object)))
        return [_exact(v) for v in items]
    return [_exact(value)]


# ----------------------------------------------------------------------------------------
# common assumptions
# ----------------------------------------------------------------------------------------

def _plain(sym: sp.Symbol) -> sp.Symbol:
    """A symbol of the same name without sign assumptions (so ``T >= 1`` stays a question)."""
    return sp.Symbol(sym.name, real=True)


_T, _alpha, _b1, _b2, _lam = (_plain(x) for x in (S.T, S.alpha, S.beta1, S.beta2, S.lam))
A_T = Assumption("T >= 1", "T ≥ 1 (an integer horizon)", _T >= 1)
A_ALPHA = Assumption("alpha > 0", "α > 0", _alpha > 0)
A_BETA1 = Assumption("0 <= beta1 < 1", "0 ≤ β1 < 1", sp.And(_b1 >= 0, _b1 < 1))
A_BETA2 = Assumption("0 < beta2 < 1", "0 < β2 < 1", sp.And(_b2 > 0, _b2 < 1))
A_GAMMA = Assumption("gamma < 1", "γ = β1/√β2 < 1", _b1 ** 2 < _b2)
A_GAMMA_KB = Assumption("gamma_KB < 1", "γ = β1²/√β2 < 1 (Kingma & Ba's γ)", _b1 ** 4 < _b2)
A_LAMBDA = Assumption("0 < lambda < 1", "0 < λ < 1", sp.And(_lam > 0, _lam < 1))
A_D = Assumption("D_inf bounded", "F has bounded ℓ∞ diameter D∞: ‖x − y‖∞ ≤ D∞ on F",
                 _plain(S.D_inf) > 0)
A_G = Assumption("G_inf bounds the gradients", "‖∇f_t(x)‖∞ ≤ G∞ for all t and x ∈ F",
                 _plain(S.G_inf) >= 0)
A_CONVEX = Assumption("convex losses", "every f_t is convex (online convex optimization)")
A_ALPHA_T = Assumption("alpha_t = alpha/sqrt(t)", "α_t = α/√t",
                       structural={"alpha_schedule": ("inv-sqrt",)})
A_BETA1_T = Assumption("beta1_t <= beta1", "0 ≤ β1,t ≤ β1 = β1,1 for all t",
                       structural={"beta1_schedule": ("constant", "exp-decay", "inv-t")})
A_EXP = Assumption("beta1_t = beta1*lam^(t-1)", "β1,t = β1 λ^{t−1}",
                   structural={"beta1_schedule": ("exp-decay",)})
A_INV_T = Assumption("beta1_t = beta1/t", "β1,t = β1/t",
                     structural={"beta1_schedule": ("inv-t",)})
A_CONSTANT = Assumption("beta1_t = beta1", "β1,t = β1 constant",
                        structural={"beta1_schedule": ("constant",)})
_PAPER_FORM = {"first_moment": ("ema",), "second_moment": ("ema",), "correct_m": (False,),
               "correct_v": ("none",), "step_form": ("normalized",), "hp.eps": ("0",),
               "hp.eps_root": ("0",), "hp.weight_decay": ("0",)}
A_AMSGRAD = Assumption("AMSGrad (Algorithm 2)", "x_t, m_t, v_t, v̂_t from Algorithm 2 of Reddi "
                       "et al. (running max of the raw v, no bias correction, no ε)",
                       structural=dict(_PAPER_FORM, max_rule=("running-max",),
                                       beta2_schedule=("constant",)))
A_ADAMX = Assumption("AdamX (Tran & Phong Algorithm 2)", "x_t from AdamX: v̂_t = max(((1−β1,t)/"
                     "(1−β1,t−1))² v̂_{t−1}, v_t)",
                     structural=dict(_PAPER_FORM, max_rule=("adamx",),
                                     beta2_schedule=("constant",)))
A_ADAMNC = Assumption("AdamNC (Algorithm 3)", "x_t from AdamNC: Adam with β1,t, β2,t and no max",
                      structural=dict(_PAPER_FORM, max_rule=("none",)))
A_ADAMNC_CONDITIONS = Assumption(
    "AdamNC conditions (1)-(2)",
    "(1) √v_{t,i}/α_t ≥ ‖g_{1:t,i}‖₂/ζ and (2) √v_{t,i}/α_t ≥ √v_{t−1,i}/α_{t−1}; both hold "
    "with ζ = α for β2,t = 1 − 1/t (v_t = Σ_{j≤t} g_j²/t)",
    structural={"beta2_schedule": ("one-minus-inv-t",)})
A_KINGMA_BA = Assumption(
    "Adam (Kingma & Ba Algorithm 1)", "θ_t from Kingma & Ba's Adam with bias corrections "
    "m̂ = m/(1−β1^t), v̂ = v/(1−β2^t) and ε = 0",
    structural={"first_moment": ("ema",), "second_moment": ("ema",), "correct_m": (True,),
                "correct_v": ("before-max",), "max_rule": ("none",),
                "step_form": ("normalized",), "hp.eps": ("0",), "hp.eps_root": ("0",),
                "hp.weight_decay": ("0",)})

#: the parameter assumptions every AMSGrad-type bound makes
BASIC = (A_T, A_ALPHA, A_BETA1, A_BETA2, A_D, A_G, A_CONVEX)


# ----------------------------------------------------------------------------------------
# worst cases of the statistics under each β1,t schedule
# ----------------------------------------------------------------------------------------

#: Σ_{t=1}^T √t ≤ ∫_1^{T+1} √x dx (√ increasing), Σ λ^{t−1}√t ≤ Σ t λ^{t−1} = 1/(1−λ)²,
#: Σ 1/√t ≤ 2√T − 1 (lemmas.py proves each); with √v̂_{t,i} ≤ G∞ these bound B_T and A_T.
WORST_CASE: dict[str, dict[sp.Symbol, sp.Expr]] = {
    "constant": {
        S.B_T: S.beta1 * S.d * S.G_inf / S.alpha
        * sp.Rational(2, 3) * ((S.T + 1) ** sp.Rational(3, 2) - 1),
        S.A_T: S.beta1 * sp.Rational(2, 3) * (S.T ** sp.Rational(3, 2) - 1),
    },
    "exp-decay": {
        S.B_T: S.beta1 * S.d * S.G_inf / (S.alpha * (1 - S.lam) ** 2),
        S.A_T: S.beta1 * S.lam / (1 - S.lam) ** 2,
    },
    "inv-t": {
        S.B_T: S.beta1 * S.d * S.G_inf * (2 * sp.sqrt(S.T) - 1) / S.alpha,
        S.A_T: S.beta1 * (2 * sp.sqrt(S.T) - 1),
    },
}
#: schedule-free worst cases: √v̂_{T,i} ≤ G∞ and ‖g_{1:T,i}‖₂ ≤ G∞√T
WORST_CASE_COMMON: dict[sp.Symbol, sp.Expr] = {
    S.V_T: S.d * S.G_inf,
    S.N_T: S.d * S.G_inf * sp.sqrt(S.T),
}
#: derived symbols, substituted before evaluation
DEFINITIONS: dict[sp.Symbol, sp.Expr] = {
    S.gamma: S.beta1 / sp.sqrt(S.beta2),
    S.gamma_KB: S.beta1 ** 2 / sp.sqrt(S.beta2),
}


# ----------------------------------------------------------------------------------------
# the Bound
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Bound:
    """``lhs ≤ rhs`` with its assumptions and source (see the module docstring).

    ``status`` is one of ``printed`` (as the cited text prints it), ``corrected`` (a printed
    statement with an identified error repaired), ``derived here`` (this toolkit's own
    derivation, every step checkable in :mod:`~amsgrad_theory.symbolic.steps`).
    ``schedules`` are the β1,t schedules the bound covers, the first being the one its
    :meth:`order` reports by default (the worst its hypotheses allow).
    """

    name: str
    title: str
    rhs: sp.Expr
    source: str
    status: str
    assumptions: tuple[Assumption, ...]
    schedules: tuple[str, ...] = ("constant", "exp-decay", "inv-t")
    lhs: sp.Symbol = S.R_T
    notes: str = ""
    _compiled: dict = field(default_factory=dict, repr=False)

    kind = "bound"

    # ---- the expression -------------------------------------------------------------------
    @property
    def statement(self) -> sp.Rel:
        """``lhs ≤ rhs`` as a sympy relation."""
        return sp.Le(self.lhs, self.rhs, evaluate=False)

    @property
    def expression(self) -> sp.Expr:
        """``rhs`` with the derived symbols (γ) replaced by their definitions."""
        return self.rhs.subs(DEFINITIONS)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """The symbols a value must be given for, sorted by name."""
        return tuple(sorted(self.expression.free_symbols, key=lambda s: s.name))

    def latex(self) -> str:
        """``R_{T} \\leq …`` (products with ``\\cdot``; see :func:`symbols.latex`)."""
        return S.latex(self.lhs) + r" \leq " + S.latex(self.rhs)

    def legend(self) -> list[str]:
        """One LaTeX line per symbol of the statement: what it means."""
        used = (self.rhs.free_symbols | {self.lhs})
        return [S.MEANING[sym] for sym in S.ALL if sym in used and sym in S.MEANING]

    @property
    def assumption_texts(self) -> list[str]:
        return [a.text for a in self.assumptions]

    # ---- evaluation -----------------------------------------------------------------------
    def check_values(self, values: Mapping[sp.Symbol, Any]) -> None:
        """Raise :class:`AssumptionError` if ``values`` violate a numeric assumption."""
        for a in self.assumptions:
            a.check_values(values, self.name)

    def check_run(self, variant, hyperparameters: Mapping[str, str]) -> None:
        """Raise :class:`AssumptionError` if the run's variant is not covered by the bound."""
        for a in self.assumptions:
            a.check_run(variant, hyperparameters, self.name)

    def _function(self, backend: str) -> Callable:
        if backend not in self._compiled:
            args = self.parameters
            if backend == "float":
                fn = sp.lambdify(args, self.expression, modules="numpy")
            elif backend == "mpmath":
                fn = sp.lambdify(args, self.expression, modules="mpmath")
            elif backend == "arb":
                expr = self.expression

                def fn(*vals, _expr=expr, _args=args):
                    return arb_evaluate(_expr, dict(zip(_args, vals)))
            else:
                raise InputError("backend", backend, "must be float, mpmath or arb")
            self._compiled[backend] = fn
        return self._compiled[backend]

    def evaluate(self, values: Mapping[str | sp.Symbol, Any], backend: str = "float",
                 *, dps: int = 50, bits: int = 128):
        """The right-hand side at ``values`` (keys: symbols or their names).

        ``float``: numpy (arrays broadcast, e.g. T and the statistics over checkpoints);
        ``mpmath``: at ``dps`` digits; ``arb``: a python-flint ball at ``bits`` bits that
        encloses the exact value for the given inputs (floats and rationals are taken exactly).
        Assumptions are checked exactly first.
        """
        vals = _symbol_keys(values)
        self.check_values(vals)
        missing = [p for p in self.parameters if p not in vals]
        if missing:
            raise InputError(missing[0].name, None, f"{self.name} needs a value for "
                             f"{missing[0].name} ({S.MEANING.get(missing[0], '')})")
        args = [vals[p] for p in self.parameters]
        fn = self._function(backend)
        if backend == "float":
            return fn(*[_to_float(a) for a in args])
        if backend == "mpmath":
            with mpmath.workdps(dps):
                return fn(*[_to_mpf(a) for a in args])
        import flint  # python-flint: ball arithmetic, imported where balls are used

        old = flint.ctx.prec
        flint.ctx.prec = bits
        try:
            return fn(*[_to_arb_any(a) for a in args])
        finally:
            flint.ctx.prec = old

    def evaluate_run(self, result, b: int = 0, backend: str | None = None):
        """The bound at every checkpoint of instance ``b`` of a simulation ``result``.

        Statistics come from ``result.instances[b].checkpoints`` (see :func:`run_values`);
        the variant and hyperparameters are checked against the structural assumptions.
        ``backend`` defaults to the run's arithmetic (float64 → float, mpmath → mpmath,
        arb → arb). Float: a numpy array; else a list of mpf/arb values.
        """
        inst = result.instances[b]
        self.check_run(result.variant, inst.hyperparameters)
        backend = backend or _backend_of(result)
        values = run_values(result, b, self)
        if backend == "float":
            return np.asarray(self.evaluate(values, "float"), dtype=float) * np.ones(
                len(values[S.T]))
        out = []
        for j in range(len(values[S.T])):
            point = {key: (val[j] if isinstance(val, (list, np.ndarray)) else val)
                     for key, val in values.items()}
            out.append(self.evaluate(point, backend, **_precision_of(result)))
        return out

    def lhs_run(self, result, b: int = 0) -> list:
        """The left-hand side at every checkpoint (regret, or momentum energy for Lemma 2)."""
        inst = result.instances[b]
        if self.lhs == S.E_T:
            return list(inst.checkpoints["momentum_energy"])
        if inst.checkpoint_regret is None:
            raise InputError("result", result.problem.spec, "the run has no regret (no "
                             "comparator); a regret bound cannot be compared")
        return list(inst.checkpoint_regret)

    # ---- worst case and order -------------------------------------------------------------
    def worst_case(self, schedule: str | None = None) -> sp.Expr:
        """``rhs`` with every run statistic replaced by its worst case under ``schedule``.

        V_T ≤ d G∞, N_T ≤ d G∞ √T, E_T ≤ Lemma 2's right side, B_T and A_T by the schedule's
        sums (:data:`WORST_CASE`). The result depends on T and constants only.
        """
        schedule = schedule or self.schedules[0]
        if schedule not in self.schedules:
            raise AssumptionError("beta1_t schedule", f"schedule {schedule!r} (covered: "
                                  f"{', '.join(self.schedules)})", self.name)
        subs = dict(WORST_CASE_COMMON)
        subs.update(WORST_CASE[schedule])
        subs[S.E_T] = (S.alpha * sp.sqrt(1 + sp.log(S.T)) * subs[S.N_T]
                       / ((1 - S.beta1) * (1 - S.gamma) * sp.sqrt(1 - S.beta2)))
        return self.rhs.subs(subs)

    def order(self, schedule: str | None = None) -> sp.Expr:
        """The worst-case growth in T (e.g. ``sqrt(T)*sqrt(log(T))``), checked by a limit."""
        return leading_order(self.worst_case(schedule), S.T)

    def orders(self) -> dict[str, str]:
        return {sch: str(self.order(sch)) for sch in self.schedules}

    def to_dict(self) -> dict:
        """The JSON object of ``amsgrad-theory derive NAME --json``."""
        return {
            "name": self.name, "kind": self.kind, "title": self.title, "source": self.source,
            "status": self.status, "assumptions": self.assumption_texts,
            "lhs": str(self.lhs), "latex": self.latex(), "sympy": str(self.rhs),
            "statement": f"{self.lhs} <= {self.rhs}", "legend": self.legend(),
            "order": str(self.order()), "order_variable": "T",
            "order_schedule": self.schedules[0], "orders": self.orders(),
            "notes": self.notes,
        }


def _symbol_keys(values: Mapping[str | sp.Symbol, Any]) -> dict[sp.Symbol, Any]:
    out = {}
    for key, val in values.items():
        sym = key if isinstance(key, sp.Symbol) else S.BY_NAME.get(key)
        if sym is None:
            raise InputError("values", key, "unknown symbol; valid: "
                             + ", ".join(sorted(S.BY_NAME)))
        out[sym] = val
    return out


def _to_float(value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)  # an integer stays one (a summation bound such as t0)
    if isinstance(value, (list, tuple, np.ndarray)):
        return np.asarray([_to_float(v) for v in value], dtype=float)
    if isinstance(value, (Fraction, str)):
        return float(Fraction(value))
    try:
        from flint import arb  # python-flint: ball arithmetic, imported where balls are used

        if isinstance(value, arb):
            return float(value.mid().str(20, radius=False))
    except ImportError:  # pragma: no cover
        pass
    return float(value)


def _to_mpf(value):
    if isinstance(value, (Fraction, str)):
        q = Fraction(value)
        return mpmath.mpf(q.numerator) / q.denominator
    if isinstance(value, (int, np.integer)):
        return int(value)   # exact in mpmath, and usable as a summation bound (t0)
    if isinstance(value, mpmath.mpf):
        return value
    return mpmath.mpf(float(value))


def _to_arb_any(value):
    from flint import arb  # python-flint: ball arithmetic, imported where balls are used

    if isinstance(value, arb):
        return value
    if isinstance(value, (Fraction, str)):
        q = Fraction(value)
        return arb(q.numerator) / q.denominator
    if isinstance(value, (int, np.integer)):
        return arb(int(value))
    if isinstance(value, mpmath.mpf):
        man, exp = value.man_exp
        return arb(int(man)) * arb(2) ** int(exp)
    return arb(float(value))


def arb_evaluate(expr: sp.Expr, values: Mapping[sp.Symbol, Any]):
    """``expr`` in python-flint ball arithmetic (an enclosure of the exact value).

    Handles +, ×, powers (integer, rational, symbolic), √, log, exp and finite sums
    ``Sum(f, (t, a, b))`` with integer bounds; sympy numbers are converted exactly (rationals)
    or as the ball of their decimal digits (floats).
    """
    from flint import arb  # python-flint: ball arithmetic, imported where balls are used

    def ev(e, env):
        if e in env:
            return env[e]
        if e.is_Integer:
            return arb(int(e))
        if e.is_Rational:
            return arb(int(e.p)) / int(e.q)
        if e.is_Float:
            return arb(str(e))
        if e is sp.pi:
            return arb.pi()
        if e is sp.E:
            return arb(1).exp()
        if e.is_Add:
            total = arb(0)
            for a in e.args:
                total = total + ev(a, env)
            return total
        if e.is_Mul:
            total = arb(1)
            for a in e.args:
                total = total * ev(a, env)
            return total
        if e.is_Pow:
            base, exponent = e.args
            if exponent.is_Integer:
                return ev(base, env) ** int(exponent)
            if exponent == sp.S.Half:
                return ev(base, env).sqrt()
            if exponent == -sp.S.Half:
                return 1 / ev(base, env).sqrt()
            return ev(base, env) ** ev(exponent, env)
        if isinstance(e, sp.log):
            return ev(e.args[0], env).log()
        if isinstance(e, sp.exp):
            return ev(e.args[0], env).exp()
        if isinstance(e, sp.Sum):
            body, (var, lo, hi) = e.args[0], e.args[1]
            lo_v, hi_v = ev(lo, env), ev(hi, env)
            lo_z, hi_z = lo_v.unique_fmpz(), hi_v.unique_fmpz()
            if lo_z is None or hi_z is None:
                raise TypeError(f"summation bounds of {e} are not exact integers")
            lo_i, hi_i = int(lo_z), int(hi_z)
            total = arb(0)
            for n in range(lo_i, hi_i + 1):
                total = total + ev(body, {**env, var: arb(n)})
            return total
        raise TypeError(f"arb evaluation of {type(e).__name__} ({e}) is not supported")

    env = {sym: _to_arb_any(val) for sym, val in values.items()}
    return ev(sp.sympify(expr), env)


def _backend_of(result) -> str:
    spec = result.arithmetic.spec
    if spec.startswith("arb"):
        return "arb"
    if spec.startswith("mpmath"):
        return "mpmath"
    return "float"


def _precision_of(result) -> dict:
    spec = result.arithmetic.spec
    if spec.startswith("arb"):
        return {"bits": int(spec.split(":")[1]) + 32}
    if spec.startswith("mpmath"):
        return {"dps": int(spec.split(":")[1]) + 10}
    return {}


# ----------------------------------------------------------------------------------------
# statistics of a run
# ----------------------------------------------------------------------------------------

def schedule_sum_A(schedule: str, beta1: Fraction, lam: Fraction, T: int) -> float:
    """A_T = Σ_{t=2}^T β1,t √(t−1) for ``schedule`` (float; AdamX Theorem 5.1)."""
    b1, la = float(beta1), float(lam)
    ts = np.arange(2, T + 1, dtype=float)
    if schedule == "constant":
        rates = np.full_like(ts, b1)
    elif schedule == "exp-decay":
        rates = b1 * la ** (ts - 1)
    else:
        rates = b1 / ts
    return float(np.sum(rates * np.sqrt(ts - 1)))


def tran_phong_t0(schedule: str, beta1: Fraction, lam: Fraction | None = None,
                  limit: int = 10 ** 7) -> int:
    """The least t0 ≥ 1 with n(1−β1,n+1)² ≤ (n+1)(1−β1,n)² for every n ≥ t0.

    This is the sufficient condition of Tran & Phong's Lemma 4.3 (2019) [tran2019], decided
    rigorously: in arb balls at 256 bits (every rounding enclosed), in exact rationals where two
    balls overlap (exact powers λ^{n−1} = 999^{n−1}/1000^{n−1} cost seconds per thousand n).
    Beyond the scan the condition holds for ever: for
    β1,n = β1λ^{n−1} it follows from β1λ^{n−1}(1−λ)/(1−β1) ≤ 1/(3n) (√(1+1/n) ≥ 1 + 1/(3n))
    once nλ^n decreases; for β1/n the ratio (1−β1/(n+1))/(1−β1/n) − 1 ≤ β1/(n(n+1−β1))
    ≤ 1/(3n) once n ≥ 4β1 + 1. With λ = 1 (constant β1,t) the condition holds for every n.
    """
    import flint  # python-flint: ball arithmetic, imported where balls are used

    b1 = Fraction(beta1)
    if schedule == "exp-decay":
        if lam is None:
            raise InputError("lam", lam, "the exp-decay schedule β1,t = β1λ^{t−1} needs λ")
        la = Fraction(lam)
        if la == 1:
            return 1

        def rate(n):
            return b1 * la ** (n - 1)
    elif schedule == "inv-t":
        def rate(n):
            return b1 / n
    else:
        raise InputError("schedule", schedule, "Tran & Phong's t0 is defined for exp-decay "
                         "and inv-t")

    def ball(q: Fraction):
        return flint.arb(q.numerator) / q.denominator

    def decide(lhs_ball, rhs_ball, exact) -> bool:
        # lhs ≤ rhs decided on the balls (every rounding enclosed); only overlapping balls
        # fall back to exact rationals (exact powers of λ get slow: 999^n/1000^n)
        if lhs_ball <= rhs_ball:
            return True
        if lhs_ball > rhs_ball:
            return False
        return exact()

    with flint.ctx.workprec(256):
        b1_ball = ball(b1)
        la_ball = ball(la) if schedule == "exp-decay" else None
        power = flint.arb(1)                      # λ^{n−1} as a ball, updated incrementally
        last_fail = 0
        n = 1
        while n < limit:
            if schedule == "exp-decay":
                r_n, r_next = b1_ball * power, b1_ball * power * la_ball
            else:
                r_n, r_next = b1_ball / n, b1_ball / (n + 1)
            ok = decide(n * (1 - r_next) ** 2, (n + 1) * (1 - r_n) ** 2,
                        lambda n=n: n * (1 - rate(n + 1)) ** 2 <= (n + 1) * (1 - rate(n)) ** 2)
            if not ok:
                last_fail = n
            else:
                if schedule == "exp-decay":
                    la_f = float(la)
                    past_peak = la_f <= 0 or n >= 1 / max(1e-300, -math.log(la_f))
                    tail = decide(r_n * ball((1 - la) / (1 - b1)), flint.arb(1) / (3 * n),
                                  lambda n=n: rate(n) * (1 - la) / (1 - b1) <= Fraction(1, 3 * n))
                else:
                    past_peak = True
                    tail = n >= 4 * b1 + 1
                if past_peak and tail and n > last_fail:
                    return last_fail + 1
            if schedule == "exp-decay":
                power = power * la_ball
            n += 1
    raise ArithmeticError("t0 not found below the scan limit")  # pragma: no cover


def run_values(result, b: int, bound: Bound | None = None) -> dict[sp.Symbol, Any]:
    """The symbol values of instance ``b`` at every checkpoint (arrays/lists over t).

    Parameters are exact (Fractions, from the decimal hyperparameters and the problem's D∞,
    G∞); statistics are in the run's arithmetic. D_2 is √d·D∞ on a box and 2R on a ball;
    ζ = α for AdamNC with β2,t = 1 − 1/t; t0 by :func:`tran_phong_t0`; A_T from the schedule.
    """
    inst = result.instances[b]
    hp = inst.hyperparameters
    ck = inst.checkpoints
    d = len(inst.vhat)
    values: dict[sp.Symbol, Any] = {
        S.T: np.asarray(ck["t"], dtype=np.int64),
        S.d: d,
        S.alpha: Fraction(hp["alpha"]),
        S.beta1: Fraction(hp["beta1"]),
        S.beta2: Fraction(hp["beta2"]),
        S.lam: Fraction(hp["beta1_decay"]),
        S.G_inf: inst.G_inf,
    }
    if inst.D_inf is not None:
        values[S.D_inf] = inst.D_inf
        if result.problem.set.kind == "box":
            values[S.D_2] = float(inst.D_inf) * math.sqrt(d)
        else:
            values[S.D_2] = inst.D_inf
    for sym, key in S.CHECKPOINT_KEYS.items():
        values[sym] = _as_array(ck[key])
    schedule = result.variant.beta1_schedule
    needed = bound.parameters if bound is not None else S.ALL
    if S.A_T in needed:
        values[S.A_T] = np.array([schedule_sum_A(schedule, values[S.beta1], values[S.lam],
                                                 int(tt)) for tt in values[S.T]])
    if S.t_0 in needed:
        values[S.t_0] = tran_phong_t0(schedule, values[S.beta1], values[S.lam])
    if S.zeta in needed and result.variant.beta2_schedule == "one-minus-inv-t":
        values[S.zeta] = values[S.alpha]
    if bound is not None:
        return {k: v for k, v in values.items() if k in bound.parameters or k == S.T}
    return values


def _as_array(items: Sequence):
    if items and isinstance(items[0], (float, np.floating, int, np.integer)):
        return np.asarray(items, dtype=float)
    return list(items)
