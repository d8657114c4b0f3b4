"""sympy in the paper's notation: the LaTeX a reader of Reddi et al. (2018) expects.

:func:`amsgrad_theory.symbolic.symbols.latex` writes every product with ``\\cdot`` and every
undefined function as ``D\\left(t\\right)``, because sympy's LaTeX parser must read the text
back (the round-trip check of :mod:`.properties`). This module prints the same expressions as
the papers do [reddi2018; tran2019]:

* products by juxtaposition, ``2 \\alpha \\left(1 - \\beta_{1}\\right)``, with a thin
  space ``\\,`` after a root before a letter (``\\sqrt{T}\\, V_{T}``) and ``\\times`` only
  between two numerals;
* a sequence indexed by the step as a subscript: D(t) → ``D_{t}``, μ(j) → ``\\mu_{j}``,
  c(t − 1) → ``c_{t - 1}``; an indexed name that already carries a subscript takes the step
  after a comma: β1[t] → ``\\beta_{1,t}`` (β_{1,t} = β_1 λ^{t−1} in Reddi et al.'s
  Corollary 1), v̂[t, i] → ``\\hat{v}_{t,i}``. Only the names of :data:`FUNCTIONS` are
  functions of a real argument and keep their parentheses: ρ(t) of PyTorch's bias correction;
* nested sums as iterated ``\\sum_{t=1}^{T} \\sum_{i=1}^{d}`` (outermost first), fractional
  powers folded (``\\left(N + 1\\right)^{3/2}``), ``\\log T`` without parentheses around a
  symbol, and a sum that starts with a negative term when a positive one exists reordered
  (``t - j``, not ``- j + t``).

Only the text changes: :func:`latex` of an expression is a pure function of it, so the paper
prints the same sympy object the numeric checks evaluate (DESIGN, principle 5).
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter

from . import symbols as S

#: LaTeX of a sequence's name when it is indexed (function names and IndexedBase labels):
#: the steps module's v̂ and x*, β1[t] and the abel-coefficient lemma's β(t), which is
#: β_{1,t} there (its title: "c_t − c_{t−1} ≤ (a_t − a_{t−1} + β1,t a_{t−1})/(2(1−β1))")
INDEXED: dict[str, str] = {
    "vhat": r"\hat{v}", "xstar": r"x^{*}", "beta1": r"\beta_{1}", "beta2": r"\beta_{2}",
    "beta": r"\beta_{1}", "alpha": r"\alpha", "mu": r"\mu", "nu": r"\nu", "rho": r"\rho",
}
#: undefined functions that are functions of a real argument, printed f(x), not f_x
FUNCTIONS: frozenset[str] = frozenset({"rho"})

#: marks a product's separator until the factors on both sides are known
_SEP = "\x00"


def _closing_root(text: str) -> bool:
    """Whether ``text`` ends with the closing brace of a ``\\sqrt{…}`` or ``\\sqrt[n]{…}``."""
    if not text.endswith("}"):
        return False
    depth = 0
    for k in range(len(text) - 1, -1, -1):
        if text[k] == "}":
            depth += 1
        elif text[k] == "{":
            depth -= 1
            if depth == 0:
                head = text[:k]
                if head.endswith("]"):
                    head = head[:head.rfind("[")]
                return head.endswith(r"\sqrt")
    return False


def _subscripted(base: str, index: str) -> str:
    """``base`` with ``index`` as its subscript; ``X_{k}`` + t → ``X_{k,t}``."""
    if base.endswith("}") and "_{" in base:
        head, _, sub = base.rpartition("_{")
        if sub.count("{") == sub.count("}") - 1:
            return f"{head}_{{{sub[:-1]},{index}}}"
    if "_" in base:                       # a subscript we cannot extend: brace the base
        base = "{" + base + "}"
    return f"{base}_{{{index}}}"


class PaperPrinter(LatexPrinter):
    """sympy's :class:`~sympy.printing.latex.LatexPrinter` with the paper's notation.

    See the module docstring for every rule; settings are sympy's (``symbol_names`` adds to
    the papers' names of :data:`symbols.LATEX_NAMES`).
    """

    def __init__(self, settings: dict | None = None):
        names = dict(S.LATEX_NAMES)
        names[S.d] = "d"                  # the braces only served sympy's parser
        settings = dict(settings or {})
        names.update(settings.pop("symbol_names", {}))
        settings.setdefault("fold_frac_powers", True)
        super().__init__({"symbol_names": names, **settings})
        self._settings["mul_symbol_latex"] = _SEP
        self._settings["mul_symbol_latex_numbers"] = r" \times "

    # -- products ---------------------------------------------------------------------------
    def _print_Mul(self, expr):
        text = super()._print_Mul(expr)
        parts = text.split(_SEP)
        out = parts[0]
        for part in parts[1:]:
            part = part.lstrip()
            thin = _closing_root(out.rstrip()) and not part.startswith(r"\left")
            out = out.rstrip() + (r"\, " if thin else " ") + part
        return out

    # -- sums -------------------------------------------------------------------------------
    def _print_Add(self, expr, order=None):
        terms = list(self._as_ordered_terms(expr, order=order))
        if terms[0].could_extract_minus_sign():
            first = next((k for k, term in enumerate(terms)
                          if not term.could_extract_minus_sign()), None)
            if first is not None:
                terms.insert(0, terms.pop(first))
        tex = ""
        for k, term in enumerate(terms):
            if k and term.could_extract_minus_sign():
                tex += " - "
                term = -term
            elif k:
                tex += " + "
            term_tex = self._print(term)
            if self._needs_add_brackets(term):
                term_tex = rf"\left({term_tex}\right)"
            tex += term_tex
        return tex

    def _print_Sum(self, expr):
        head = ""
        for var, lo, hi in reversed(expr.limits):
            head += rf"\sum_{{{self._print(var)}={self._print(lo)}}}^{{{self._print(hi)}}} "
        body = expr.function
        if isinstance(body, sp.Add):
            return head + rf"\left({self._print(body)}\right)"
        return head + self._print(body)

    # -- sequences --------------------------------------------------------------------------
    def _sequence_name(self, name: str) -> str:
        return INDEXED.get(name) or self._print(sp.Symbol(name))

    def _print_Indexed(self, expr):
        index = ",".join(self._print(i) for i in expr.indices)
        return _subscripted(self._sequence_name(expr.base.label.name), index)

    def _print_Function(self, expr, exp=None):
        if not isinstance(expr, AppliedUndef):
            return super()._print_Function(expr, exp)
        name = expr.func.__name__
        args = ",".join(self._print(a) for a in expr.args)
        if name in FUNCTIONS:
            text = f"{self._sequence_name(name)}({args})"
            return rf"{text}^{{{exp}}}" if exp is not None else text
        text = _subscripted(self._sequence_name(name), args)
        return rf"{text}^{{{exp}}}" if exp is not None else text

    def _print_log(self, expr, exp=None):
        arg = expr.args[0]
        name = r"\ln" if self._settings["ln_notation"] else r"\log"
        if arg.is_Symbol:
            tex = rf"{name} {self._print(arg)}"
            return rf"{name}^{{{exp}}} {self._print(arg)}" if exp is not None else tex
        tex = rf"{name}\left({self._print(arg)}\right)"
        return rf"{tex}^{{{exp}}}" if exp is not None else tex


def latex(expr: sp.Basic, **settings: Any) -> str:
    """LaTeX of ``expr`` in the paper's notation (see the module docstring).

    >>> import sympy as sp
    >>> from amsgrad_theory.symbolic import symbols as S
    >>> latex(2 * S.alpha * (1 - S.beta1))
    '2 \\\\alpha \\\\left(1 - \\\\beta_{1}\\\\right)'
    >>> latex(sp.Function("D")(S.t + 1))
    'D_{t + 1}'
    """
    return PaperPrinter(settings).doprint(expr)


_RELATIONS = {"<=": r" \leq ", "==": " = ", ">=": r" \geq ", "<": " < ", ">": " > "}


def statement(item: Any) -> str:
    """The LaTeX of a derivation of :mod:`.registry` or a proof step, in the paper's notation.

    A :class:`~.bound.Bound` prints ``lhs ≤ rhs``; a derivation its ``statement``; a
    :class:`~.steps.ProofStep` ``lhs`` relation ``rhs`` and, for a per-step link, its range
    of t, as :meth:`ProofStep.latex` does with sympy's default notation.
    """
    if hasattr(item, "relation"):                 # a proof step
        body = latex(item.lhs) + _RELATIONS[item.relation] + latex(item.rhs)
        if item.scope == "per-step":
            lo, hi = item.steps
            body += rf" \quad ({latex(sp.sympify(lo))} \leq t \leq {latex(sp.sympify(hi))})"
        return body
    if hasattr(item, "statement") and isinstance(item.statement, sp.Basic):
        return latex(item.statement)
    return latex(item.lhs) + r" \leq " + latex(item.rhs)
