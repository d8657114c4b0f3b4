"""Every derivation by name: bounds, lemmas, bias-correction facts, counterexamples.

:func:`get_derivation` returns an object with ``name``, ``kind``, ``title``, ``source``,
``assumption_texts``, ``statement`` (sympy), ``latex()``, ``legend()``, ``records()`` (the checks
that establish or refute it) and ``to_dict()`` (the ``derive --json`` object: at least
``name``, ``source``, ``assumptions``, ``latex``, ``sympy`` and ``order``, a sympy-parsable
worst-case order in ``order_variable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from ..errors import unknown_name
from ..records import Record
from . import bias, properties
from . import symbols as S
from .asymptotic import leading_order
from .bound import Bound
from .bounds import BOUNDS
from .counterexamples import COUNTEREXAMPLES
from .lemmas import LEMMAS


@dataclass(frozen=True)
class Derivation:
    """A named statement that is not a regret bound (lemma, bias fact, counterexample)."""

    name: str
    kind: str
    title: str
    statement: sp.Basic
    source: str
    status: str
    assumptions: tuple[str, ...]
    check: Callable[[], list[Record]]
    order: str | None = None
    order_variable: str | None = None

    @property
    def assumption_texts(self) -> list[str]:
        return list(self.assumptions)

    def latex(self) -> str:
        return S.latex(self.statement)

    def legend(self) -> list[str]:
        used = self.statement.free_symbols
        return [S.MEANING[sym] for sym in S.ALL if sym in used and sym in S.MEANING]

    def records(self) -> list[Record]:
        return self.check()

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "title": self.title,
                "source": self.source, "status": self.status,
                "assumptions": self.assumption_texts, "latex": self.latex(),
                "sympy": str(self.statement), "legend": self.legend(), "order": self.order,
                "order_variable": self.order_variable}


def _bound_records(bound: Bound) -> list[Record]:
    out = [properties.scale_consistency(bound)]
    out.extend(properties.sublinear(bound, sch) for sch in bound.schedules)
    return out


def _lemma_order(lemma) -> tuple[str | None, str | None]:
    if lemma.order_variable is None:
        return None, None
    rhs = lemma.statement.rhs
    return str(leading_order(rhs, lemma.order_variable)), lemma.order_variable.name


def _build() -> dict[str, object]:
    out: dict[str, object] = dict(BOUNDS)
    nu = sp.Function("nu")
    out["bias-first-moment"] = Derivation(
        "bias-first-moment", "bias-correction",
        "E[m_t] = (1−β1^t) E[g_t] + ζ_t (unrolled EMA, expectation by linearity)",
        bias.bias_statement(S.beta1), "Kingma & Ba §3 (the first moment 'completely "
        "analogous'); derived here by sympy", "derived here",
        ("m_0 = 0", "μ_j = E[g_j]; ζ_t = 0 when μ_j is stationary"),
        lambda: [bias.check_unrolling(), bias.check_bias(S.beta1)], "1", "t")
    out["bias-second-moment"] = Derivation(
        "bias-second-moment", "bias-correction",
        "E[v_t] = (1−β2^t) E[g_t²] + ζ_t (unrolled EMA, expectation by linearity)",
        bias.bias_statement(S.beta2, nu), "Kingma & Ba §3, eqs. (1)–(4); derived here by sympy",
        "derived here", ("v_0 = 0", "ν_j = E[g_j²]; ζ_t = 0 when ν_j is stationary"),
        lambda: [bias.check_unrolling(), bias.check_bias(S.beta2)], "1", "t")
    out["rho"] = Derivation(
        "rho", "bias-correction",
        "ρ(t) = √(1−β2^t)/(1−β1^t): PyTorch's AMSGrad step multiplier; → 1, minimum at t*",
        sp.Eq(sp.Function("rho")(S.t), bias.RHO),
        "PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]",
        "derived here", ("0 < β1 < β2 < 1",),
        lambda: [bias.rho_limit(), bias.rho_minimum("0.9", "0.999").record(),
                 bias.rho_minimum("0.9", "0.99").record()], "1", "t")
    out["rho-rise"] = Derivation(
        "rho-rise", "bias-correction",
        "after step s the bias-corrected AMSGrad m̂-step can grow by up to 1/√(1−β2^s)",
        sp.Le(sp.sqrt((1 - S.beta2 ** S.t) / (1 - S.beta2 ** S.s)),
              1 / sp.sqrt(1 - S.beta2 ** S.s)),
        "PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]", "derived here",
        ("t ≥ s ≥ 1", "0 < β2 < 1", "the max not refreshed after s"),
        lambda: [bias.rise_supremum()], "1", "t")
    for lemma in LEMMAS.values():
        order, var = _lemma_order(lemma)
        out[f"lemma:{lemma.name}"] = Derivation(
            f"lemma:{lemma.name}", "lemma", lemma.title, lemma.statement, lemma.source,
            "derived here" if "derived" in lemma.source else "printed", lemma.assumptions,
            lemma.records, order, var)
    for ce in COUNTEREXAMPLES.values():
        out[f"counterexample:{ce.name}"] = Derivation(
            f"counterexample:{ce.name}", "counterexample", ce.title, ce.statement, ce.source,
            "printed", ce.assumptions, ce.records, ce.order, "T")
    return out


_REGISTRY: dict[str, object] | None = None


def registry() -> dict[str, object]:
    """name → derivation (built once)."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _build()
    return _REGISTRY


def derivation_names() -> list[str]:
    return list(registry())


def get_derivation(name: str):
    """The derivation called ``name``; an unknown name raises an InputError listing them."""
    reg = registry()
    if name not in reg:
        raise unknown_name("NAME", name, list(reg))
    return reg[name]


def derivation_records(name: str) -> list[Record]:
    """The checks of derivation ``name`` (bounds: scale consistency and R_T/T → 0)."""
    item = get_derivation(name)
    if isinstance(item, Bound):
        return _bound_records(item)
    return item.records()
