"""A variant of the Adam family, as data.

Every difference between the paper's AMSGrad and what a framework runs — where the max is taken,
which bias corrections apply and where, where ε sits, the β1,t / β2,t / α_t schedules, which
projection is used, even the order of floating-point operations that decides rounding — is a
field of :class:`Variant`. The update rule (:mod:`amsgrad_theory.algorithms.rules`) reads these
fields; there is no per-variant code.

Notation (per coordinate; all operations elementwise; t ≥ 1; m_0 = v_0 = v̂_0 = 0):

* first moment   m_t = β1,t m_{t−1} + (1 − β1,t) g_t          (``first_moment="ema"``)
                 m_t = g_t                                    (``first_moment="none"``)
* second moment  v_t = β2,t v_{t−1} + (1 − β2,t) g_t²          (``second_moment="ema"``)
                 v_t = v_{t−1} + g_t²                          (``second_moment="sum"``, AdaGrad)
* maxed moment   v̂_t = max(v̂_{t−1}, ṽ_t)                       (``max_rule="running-max"``)
                 v̂_t = max(((1−β1,t)/(1−β1,t−1))² v̂_{t−1}, ṽ_t) (``max_rule="adamx"``)
                 v̂_t = ṽ_t                                     (``max_rule="none"``)
  where ṽ_t = v_t/(1 − β2^t) if ``correct_v="before-max"`` else v_t.
* step, by ``step_form``:
  ``"normalized"``: x̂ = x − α_t · m̃_t / (√(v̂_t + ε_root) + ε) (ε_root only where
  ``eps_root_inside``),  m̃_t = m_t/(1 − β1^t) if
  ``correct_m`` else m_t (paper, Kingma–Ba, optax, the seed article, RMSprop, AdaGrad, SGD);
  ``"scaled"`` (PyTorch): x̂ = x − (α_t/(1 − β1^t)) · m_t / (√v̂_t/√(1 − β2^t) + ε);
  ``"folded"`` (Keras): x̂ = x − (m_t · α_t√(1 − β2^t)/(1 − β1^t)) / (√v̂_t + ε̂);
  ``"capturable"`` (PyTorch's capturable/differentiable branch): with s = (1/(1 − β1^t))·α_t,
  x̂ = x + m_t / (√v̂_t/(√(1 − β2^t)·(−s)) + (1/(−s))·ε).
* x_{t+1} = Π_F(x̂): in the weighted norm ‖V̂_t^{1/4}(·)‖ (``projection="weighted"``, the paper's
  Π_{F,√V̂_t}) or the Euclidean one (``"euclidean"``; frameworks do not project, and on a box both
  are coordinatewise clipping).

How a framework rounds — its numerics — is part of the variant too:

* ``powers_in``: the numbers in which β^t and 1 − β^t (and √t, β1,t) are computed —
  ``"scalar"`` (Python doubles: PyTorch, the paper models; exact in mpmath/arb), ``"float32"``
  (float32 0-d tensors: PyTorch's capturable branch, optax with jax's x64 off) or ``"lane"``
  (the parameter's dtype: Keras); ``coefficients_in``: the same for α_t, the step factors and ε;
  ``learning_rate_in``: the dtype the framework stores the learning rate in before it meets the
  others (Keras: its ``floatx``), or None;
* ``correction``: ``"divide"`` (m/(1 − β1^t)) or ``"reciprocal"`` (m·(1/(1 − β1^t)), the
  reciprocal rounded first: optax, XLA's rewrite of a division by a broadcast scalar);
  ``correction_root``: √(1 − β2^t) as ``"pow"`` (``bc2 ** 0.5``, PyTorch) or ``"sqrt"``
  (correctly rounded: PyTorch's fused kernel);
* the moments' and the step's floating-point forms, fused multiply-adds included
  (``m_form``, ``v_form``, ``x_form``), and ``flush_denormals`` (XLA on the CPU flushes
  subnormal results and inputs to zero).

Effective steps, read off the values the step actually applies:
η_t (factor on the raw momentum m_t, every correction folded in; Γ_t ⪰ 0 ⇔ η non-increasing) and
η̂_t (factor on the momentum the implementation divides: m̂_t = m_t/(1−β1^t) where m is corrected).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from ..errors import InputError

#: Every hyperparameter, in the one order the toolkit uses (``Rule.schedule`` takes them so).
HYPERPARAMETERS = ("alpha", "beta1", "beta2", "eps", "eps_root", "beta1_decay", "weight_decay")
#: The hyperparameters the expensive, α-free part of a step's schedule depends on (β^t, β1,t):
#: ``Rule.powers`` takes them in this order; instances that share them share that work.
GROUP_HYPERPARAMETERS = ("beta1", "beta2", "beta1_decay")
#: The others, per instance: ``Rule.finish`` takes them in this order.
INSTANCE_HYPERPARAMETERS = ("alpha", "eps", "eps_root", "weight_decay")

_CHOICES = {
    "first_moment": ("ema", "none"),
    "second_moment": ("ema", "sum", "none"),
    "beta1_schedule": ("constant", "exp-decay", "inv-t"),
    "beta2_schedule": ("constant", "one-minus-inv-t"),
    "alpha_schedule": ("constant", "inv-sqrt"),
    "max_rule": ("none", "running-max", "adamx"),
    "correct_v": ("none", "before-max", "after-max"),
    "step_form": ("normalized", "scaled", "folded", "capturable"),
    "m_form": ("convex", "lerp", "torch-lerp", "fma-convex", "fma-lerp"),
    "v_form": ("convex", "lerp", "torch", "torch-tail", "fma-convex", "fma-lerp"),
    "x_form": ("subtract", "fma"),
    "powers_in": ("scalar", "float32", "lane"),
    "coefficients_in": ("scalar", "float32", "lane"),
    "correction": ("divide", "reciprocal"),
    "correction_root": ("pow", "sqrt"),
    "projection": ("weighted", "euclidean"),
    "weight_decay_mode": ("l2", "decoupled", "none"),
}


@dataclass(frozen=True)
class Variant:
    """One optimizer variant: its structure (fields), defaults and source.

    ``defaults`` holds hyperparameter defaults as decimal strings, so that mpmath and arb parse
    them exactly. ``source`` cites where the variant comes from (paper and equation, or
    framework, version and file). ``exact_in`` names the arithmetic kind in which a framework
    model is bit-exact when the framework's own elementwise operations are not correctly
    rounded (``"torch"``: PyTorch's CPU square root; run the model in ``torch:cpu:DTYPE``).
    """

    name: str
    title: str
    source: str
    first_moment: str = "ema"
    second_moment: str = "ema"
    beta1_schedule: str = "constant"
    beta2_schedule: str = "constant"
    alpha_schedule: str = "inv-sqrt"
    max_rule: str = "none"
    correct_m: bool = False
    correct_v: str = "none"
    step_form: str = "normalized"
    m_form: str = "convex"
    v_form: str = "convex"
    x_form: str = "subtract"
    powers_in: str = "scalar"
    coefficients_in: str = "scalar"
    learning_rate_in: str | None = None
    correction: str = "divide"
    correction_root: str = "pow"
    flush_denormals: bool = False
    exact_in: str | None = None
    projection: str = "weighted"
    weight_decay_mode: str = "l2"
    eps_root_inside: bool = False
    eps_free: bool = False
    #: set by the engine where the problem's gradient floor proves that no second moment of
    #: the run can underflow (then the kernels do not watch v at each step)
    underflow_free: bool = False
    defaults: Mapping[str, str] = field(default_factory=dict)
    notes: str = ""

    def __post_init__(self):
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise InputError(name, getattr(self, name), f"must be one of {', '.join(choices)}")
        after = self.correct_m and self.correct_v == "after-max"
        if self.step_form != "normalized" and not after:
            raise InputError("step_form", self.step_form,
                             "the scaled/folded/capturable forms correct m and v after the max")
        if self.x_form == "fma" and self.step_form != "normalized":
            raise InputError("x_form", self.x_form, "the fused step is a normalized form's")
        if self.learning_rate_in not in (None, "float32", "float64"):
            raise InputError("learning_rate_in", self.learning_rate_in,
                             "must be None, float32 or float64")
        if self.exact_in not in (None, "torch"):
            raise InputError("exact_in", self.exact_in, "must be None or torch")
        unknown = set(self.defaults) - set(HYPERPARAMETERS)
        if unknown:
            raise InputError("defaults", sorted(unknown), "unknown hyperparameters")

    # ------------------------------------------------------------------ derived facts
    @property
    def maxes(self) -> bool:
        """True when the variant keeps a running max (its v̂ must never decrease)."""
        return self.max_rule != "none"

    @property
    def corrects_m(self) -> bool:
        return self.correct_m

    @property
    def monotone_vhat(self) -> str | None:
        """Why v̂_t ≥ v̂_{t−1} holds for every run of this variant in exact arithmetic (and in
        floating point: a max and a sum of non-negative terms round monotonically), or None
        where it is not structural."""
        if self.second_moment == "none":
            return "v̂ is constant (no second moment)"
        if self.max_rule == "running-max":
            return "v̂_t = max(v̂_{t−1}, ṽ_t) is a running max"
        if self.max_rule == "none" and self.second_moment == "sum" and self.correct_v == "none":
            return "v_t = v_{t−1} + g_t² is a sum of squares"
        return None

    @property
    def monotone_steps(self) -> str | None:
        """Why η_t ≤ η_{t−1} and η̂_t ≤ η̂_{t−1} hold for every gradient sequence in exact
        arithmetic, or None where they do not follow from the update's form.

        They do when v̂ never decreases (:attr:`monotone_vhat`), α_t is non-increasing
        (constant or α/√t), the step is the normalized form α_t·m̃/(√(v̂ + ε_root) + ε) and v
        is not bias-corrected after the max: then η̂_t = α_t/(√(v̂_t + ε_root) + ε) and
        η_t = η̂_t/(1 − β1^t) (1 − β1^t grows with t) can only fall. The scaled, folded and
        capturable forms multiply by √(1 − β2^t), which grows: their steps can rise.
        """
        vhat = self.monotone_vhat
        if vhat is None or self.step_form != "normalized" or self.correct_v == "after-max":
            return None
        if self.alpha_schedule not in ("constant", "inv-sqrt"):
            return None
        return (f"{vhat}, α_t is {self.alpha_schedule} (non-increasing) and the step is "
                f"α_t·m̃/(√v̂ + ε){' with m̃ = m/(1 − β1^t)' if self.correct_m else ''}: "
                "η and η̂ cannot rise in exact arithmetic")

    def exact_arithmetic(self, dtype: str) -> str:
        """The arithmetic in which this model reproduces its framework's ``dtype`` runs bit for
        bit: ``torch:cpu:DTYPE`` for the PyTorch models (torch's own CPU square root), else the
        IEEE ``DTYPE`` itself."""
        if dtype not in ("float32", "float64"):
            raise InputError("dtype", dtype, "must be float32 or float64")
        return f"torch:cpu:{dtype}" if self.exact_in == "torch" else dtype

    def hyperparameters(self, **overrides: str | float | int | None) -> dict[str, str]:
        """Defaults merged with ``overrides`` (None = keep the default), validated, as strings.

        The schedules named by the variant decide which hyperparameters matter; the rest keep
        their neutral values (ε = 0, λ = 1, weight decay 0).
        """
        values = {"alpha": "0.1", "beta1": "0.9", "beta2": "0.999", "eps": "0", "eps_root": "0",
                  "beta1_decay": "1", "weight_decay": "0"}
        values.update(self.defaults)
        for key, value in overrides.items():
            if key not in HYPERPARAMETERS:
                raise InputError(key, value, "not a hyperparameter; valid: "
                                 + ", ".join(HYPERPARAMETERS))
            if value is not None:
                values[key] = value if isinstance(value, str) else repr(value)
        validate_hyperparameters(values, self)
        return values

    def structure(self) -> tuple:
        """The fields that decide the computation (not the name, source or defaults)."""
        return tuple(getattr(self, key) for key in _CHOICES) + (
            self.correct_m, self.eps_root_inside, self.eps_free, self.learning_rate_in,
            self.flush_denormals, self.underflow_free)

    def specialize(self, hyperparameters: list[dict]) -> Variant:
        """This variant with the structure the given hyperparameters allow, same results.

        Where every instance has weight decay 0 the decay is dropped (``g + 0·x = g``); where
        every ε and ε_root is 0 the denominators skip ``+ 0`` (√v̂ ≥ 0, so adding 0 is exact).
        The computation then does less, and rounds identically.
        """
        changes: dict[str, str | bool] = {}
        distinct = {(str(h["weight_decay"]), str(h["eps"]), str(h["eps_root"]))
                    for h in hyperparameters}
        if self.weight_decay_mode != "none" and all(
                _as_fraction("weight_decay", wd) == 0 for wd, _, _ in distinct):
            changes["weight_decay_mode"] = "none"
        if not self.eps_free and all(_as_fraction("eps", e) == 0 and
                                     _as_fraction("eps_root", r) == 0 for _, e, r in distinct):
            changes["eps_free"] = True
        return self.with_(**changes) if changes else self

    def with_(self, **changes: Any) -> Variant:
        """A copy with some fields changed (the name records the change)."""
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description of every field."""
        out: dict[str, Any] = {"name": self.name, "title": self.title, "source": self.source}
        for key in _CHOICES:
            out[key] = getattr(self, key)
        out["correct_m"] = self.correct_m
        out["learning_rate_in"] = self.learning_rate_in
        out["flush_denormals"] = self.flush_denormals
        out["exact_in"] = self.exact_in
        out["maxes"] = self.maxes
        out["defaults"] = dict(self.defaults)
        if self.notes:
            out["notes"] = self.notes
        return out


#: Fraction(text), kept per text: a sweep validates the same few values 10⁴ times
_exact = functools.lru_cache(maxsize=4096)(Fraction)


def _as_fraction(key: str, text: str):
    try:
        return _exact(text.strip())
    except (ValueError, ZeroDivisionError):
        raise InputError(key, text, "not a decimal number") from None


def validate_hyperparameters(values: Mapping[str, str], variant: Variant | None = None) -> None:
    """Check ranges exactly (decimal strings are compared as rationals, never as floats)."""
    q = {key: _as_fraction(key, str(values[key])) for key in HYPERPARAMETERS if key in values}
    if q["alpha"] <= 0:
        raise InputError("alpha", values["alpha"], "must be > 0")
    for key in ("beta1", "beta2"):
        if not 0 <= q[key] < 1:
            raise InputError(key, values[key], "must lie in [0, 1)")
    for key in ("eps", "eps_root", "weight_decay"):
        if q[key] < 0:
            raise InputError(key, values[key], "must be >= 0")
    if not 0 < q["beta1_decay"] <= 1:
        raise InputError("beta1_decay", values["beta1_decay"], "must lie in (0, 1]")
