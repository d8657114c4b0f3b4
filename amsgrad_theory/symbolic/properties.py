"""Checks on the symbolic objects, each returning a :class:`~amsgrad_theory.records.Record`.

* :func:`scale_consistency` — rescaling the decision variable x ↦ kx with the same losses maps
  D∞ ↦ kD∞, D_2 ↦ kD_2, g ↦ g/k (G∞, N_T ↦ /k), v̂ ↦ v̂/k² (V_T ↦ V_T/k), and AMSGrad's trajectory
  onto itself when α ↦ kα (so B_T ↦ B_T/k², E_T and R_T unchanged, ζ ↦ kζ). A correct regret
  bound must be invariant; each additive term's exponent of k is reported.
* :func:`sublinear` — worst-case bound/T → 0 under a β1,t schedule, by sympy **and** numerically
  (:func:`~amsgrad_theory.symbolic.asymptotic.checked_limit`).
* :func:`latex_roundtrip` — the LaTeX of a statement parsed back by sympy's LaTeX parser and
  compared numerically with the original at sample points.
"""

from __future__ import annotations

import math
import random
import warnings
from typing import Any

import sympy as sp
from sympy.parsing.latex import parse_latex

from ..records import Record
from . import symbols as S
from .asymptotic import checked_limit
from .bound import Bound

#: x ↦ kx: how each symbol scales (exponent of k)
SCALING: dict[sp.Symbol, int] = {
    S.D_inf: 1, S.D_2: 1, S.G_inf: -1, S.alpha: 1, S.V_T: -1, S.N_T: -1, S.B_T: -2, S.E_T: 0,
    S.zeta: 1, S.R_T: 0,
}


def _term_exponent(term: sp.Expr) -> sp.Expr:
    scaled = term.subs({sym: S.k ** e * sym for sym, e in SCALING.items()}, simultaneous=True)
    ratio = sp.simplify(sp.powsimp(scaled / term, force=True))
    if ratio == 1:
        return sp.S.Zero
    exponent = sp.simplify(sp.log(ratio) / sp.log(S.k))
    return exponent


def scale_consistency(bound: Bound) -> Record:
    """Is ``bound`` invariant under x ↦ kx (see the module docstring)? Symbolic, per term."""
    terms = sp.Add.make_args(sp.expand(bound.rhs, deep=False))
    exponents = {str(term): str(_term_exponent(term)) for term in terms}
    offending = [term for term, e in exponents.items() if e != "0"]
    lhs_exponent = SCALING.get(bound.lhs, 0)
    ok = not offending and lhs_exponent == 0
    return Record(
        claim=f"{bound.name} is invariant under x ↦ kx (D∞ ↦ kD∞, G∞ ↦ G∞/k, α ↦ kα, "
              "v̂ ↦ v̂/k²; regret unchanged)",
        method="symbolic", verdict="pass" if ok else "fail", name=f"scale:{bound.name}",
        details={"term_exponents_of_k": exponents, "offending_terms": offending,
                 "status": bound.status},
        witness=None if ok else {"k": 2, "terms": offending}, source=bound.source)


def sublinear(bound: Bound, schedule: str | None = None) -> Record:
    """Does the worst case of ``bound`` under ``schedule`` grow slower than T (R_T/T → 0)?

    Constants are fixed at representative values (α = β1 = λ = 1/2, β2 = 9/10, D∞ = G∞ = d = 1,
    t0 = 3, ζ = 1/2) after the worst-case substitution; the limit of worst/T is computed by sympy
    and at T = 10^8 … 10^65536 in mpmath. ``pass``: both say 0. ``fail``: both say it does not
    vanish (the bound says nothing about average regret). ``undecided``: the routes disagree.
    """
    schedule = schedule or bound.schedules[0]
    worst = bound.worst_case(schedule)
    values = {S.alpha: sp.Rational(1, 2), S.beta1: sp.Rational(1, 2), S.lam: sp.Rational(1, 2),
              S.beta2: sp.Rational(9, 10), S.D_inf: 1, S.G_inf: 1, S.d: 1, S.D_2: 1,
              S.t_0: 3, S.zeta: sp.Rational(1, 2)}
    expr = worst.subs({S.gamma: S.beta1 / sp.sqrt(S.beta2),
                       S.gamma_KB: S.beta1 ** 2 / sp.sqrt(S.beta2)}).subs(values).doit()
    check = checked_limit(expr / S.T, S.T)
    if check.agree is True:
        verdict = "pass" if check.symbolic == 0 else "fail"
    else:
        verdict = "undecided"
    return Record(
        claim=f"{bound.name}: worst-case bound / T → 0 as T → ∞ (β1,t schedule {schedule})",
        method="symbolic", verdict=verdict, name=f"sublinear:{bound.name}:{schedule}",
        details={"order": str(bound.order(schedule)), "limit": check.to_dict()},
        source=bound.source)


# ----------------------------------------------------------------------------------------
# LaTeX validity
# ----------------------------------------------------------------------------------------

def _sample_value(sym: sp.Symbol, rng: random.Random) -> sp.Expr:
    name = sym.name
    if sym.is_integer:
        return sp.Integer(rng.randint(2, 9))
    if name.startswith("beta") or name in ("lam", "gamma", "gamma_KB", "u"):
        return sp.Rational(rng.randint(5, 45), 100)
    return sp.Rational(rng.randint(20, 300), 100)


def _numeric(expr: sp.Basic, subs: dict, functions: dict) -> complex:
    value = expr.xreplace(subs)
    for name, fn in functions.items():
        value = value.replace(lambda e, nm=name: isinstance(e, sp.core.function.AppliedUndef)
                              and e.func.__name__ == nm, lambda e, f=fn: f(*e.args))
    value = value.doit()
    return complex(sp.N(value, 30))


def latex_roundtrip(statement: sp.Basic, latex_text: str, samples: int = 4,
                    seed: int = 0) -> Record:
    """Parse ``latex_text`` with sympy's LaTeX parser and compare with ``statement``.

    Each symbol's parsed form is learned by parsing its own LaTeX; undefined functions are
    replaced by fixed rational functions; both sides (or both relations' sides) are evaluated at
    ``samples`` random rational points and must agree to 1e-20 (relative).
    Needs ``antlr4-python3-runtime`` 4.11 (sympy's parser); raises ImportError otherwise.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = parse_latex(latex_text)
        back = {}
        for sym in statement.free_symbols:
            back[parse_latex(S.latex(sym))] = sym
    parsed = parsed.xreplace(back)
    # parsed symbols that are not the original ones by identity but share a name
    names = {sym.name: sym for sym in statement.free_symbols}
    parsed = parsed.xreplace({p: names[p.name] for p in parsed.free_symbols
                              if isinstance(p, sp.Symbol) and p.name in names})
    functions = {f.func.__name__: (lambda *args, k=len(f.func.__name__):
                                   sp.Rational(k + 1, 3) + sum(sp.Rational(j + 1, 7) * a
                                                               for j, a in enumerate(args)))
                 for f in statement.atoms(sp.core.function.AppliedUndef)}
    rng = random.Random(seed)
    mismatches: list[str | dict[str, Any]] = []   # a reason, or a sample where they differ
    if parsed is sp.true and isinstance(statement, sp.Eq):
        # the parser evaluates an identity whose sides agree after automatic simplification;
        # then the original's sides must agree at the sample points too
        parsed = sp.Eq(statement.lhs, statement.lhs, evaluate=False)
        pairs_note = "the parser evaluated the identity to True"
    else:
        pairs_note = ""
    if isinstance(statement, sp.core.relational.Relational) != isinstance(
            parsed, sp.core.relational.Relational):
        mismatches.append("relation lost")
    pairs = ([(statement.lhs, parsed.lhs), (statement.rhs, parsed.rhs)]
             if isinstance(statement, sp.core.relational.Relational)
             and isinstance(parsed, sp.core.relational.Relational) else [(statement, parsed)])
    if isinstance(statement, sp.core.relational.Relational) and isinstance(
            parsed, sp.core.relational.Relational) and type(statement) is not type(parsed):
        mismatches.append(f"relation {type(statement).__name__} read as {type(parsed).__name__}")
    extra = parsed.free_symbols - statement.free_symbols
    if extra:
        mismatches.append(f"unknown symbols after parsing: {sorted(map(str, extra))}")
    known = {f.func.__name__ for f in statement.atoms(sp.core.function.AppliedUndef)}
    calls = {f.func.__name__ for f in parsed.atoms(sp.core.function.AppliedUndef)} - known
    if calls:
        mismatches.append(f"read as function applications: {sorted(calls)}")
    for _ in range(samples if not mismatches else 0):
        subs = {sym: _sample_value(sym, rng) for sym in statement.free_symbols}
        for original, reread in pairs:
            try:
                a = _numeric(original, subs, functions)
                b = _numeric(reread, subs, functions)
            except (TypeError, ValueError) as exc:
                mismatches.append(f"not evaluable: {exc}")
                continue
            if not (abs(a - b) <= 1e-20 * max(1.0, abs(a))) or not math.isfinite(abs(a)):
                mismatches.append({"at": {str(k): str(v) for k, v in subs.items()},
                                   "original": str(a), "parsed": str(b)})
    return Record(claim="the LaTeX parses back (sympy parse_latex) to the same statement",
                  method="sampled", cases=samples, seed=seed,
                  verdict="pass" if not mismatches else "fail",
                  details={"latex": latex_text, "parsed": str(parsed),
                           "mismatches": mismatches[:3], "note": pairs_note})
