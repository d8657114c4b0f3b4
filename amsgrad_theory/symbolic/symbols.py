"""The named sympy symbols of the regret bounds, and the run statistics they stand for.

Every bound of :mod:`~amsgrad_theory.symbolic.bounds` is an expression in these symbols. Names
are plain identifiers (so ``str(expr)`` parses back with :func:`parse`); LaTeX names follow the
papers (``\\beta_{1}``, ``D_{\\infty}``, …).

Run statistics (Reddi et al. notation; i = 1..d coordinates, t = 1..T steps):

=========  ====================================================  ================================
symbol     meaning                                               run statistic (``checkpoints``)
=========  ====================================================  ================================
``V_T``    Σ_i √v̂_{T,i}                                           ``sum_sqrt_vhat``
``N_T``    Σ_i ‖g_{1:T,i}‖₂ = Σ_i (Σ_t g_{t,i}²)^{1/2}             ``sum_grad_norm``
``B_T``    Σ_{t=1}^T Σ_i β1,t √v̂_{t,i} / α_t                     ``sum_beta1_sqrt_vhat_over_alpha``
``E_T``    Σ_{t=1}^T α_t Σ_i m_{t,i}² / √v̂_{t,i} (0 where v̂ = 0)   ``momentum_energy``
``A_T``    Σ_{t=2}^T β1,t √(t−1)  (AdamX Thm 5.1; schedule only)  computed from the schedule
``R_T``    regret Σ_t f_t(x_t) − min_{x∈F} Σ_t f_t(x)             ``checkpoint_regret``
=========  ====================================================  ================================

Parameters: ``T`` (horizon), ``d`` (dimension), ``alpha`` (α of α_t = α/√t), ``beta1``
(β1 = β1,1 ≥ β1,t), ``beta2``, ``lam`` (λ of β1,t = β1 λ^{t−1}), ``D_inf`` (ℓ∞ diameter of F),
``G_inf`` (≥ sup_t ‖∇f_t‖∞), ``D_2`` (ℓ2 diameter, Kingma & Ba), ``zeta`` (AdamNC's ζ),
``t_0`` (Tran & Phong's Lemma 4.3 index). Derived: ``gamma`` = β1/√β2 (Reddi et al.),
``gamma_KB`` = β1²/√β2 (Kingma & Ba).
"""

from __future__ import annotations

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import parse_expr
from sympy.printing.latex import LatexPrinter

T = sp.Symbol("T", positive=True, integer=True)
t = sp.Symbol("t", positive=True, integer=True)
s = sp.Symbol("s", positive=True, integer=True)
N = sp.Symbol("N", positive=True, integer=True)
d = sp.Symbol("d", positive=True, integer=True)
alpha = sp.Symbol("alpha", positive=True)
beta1 = sp.Symbol("beta1", positive=True)
beta2 = sp.Symbol("beta2", positive=True)
lam = sp.Symbol("lam", positive=True)
gamma = sp.Symbol("gamma", positive=True)
gamma_KB = sp.Symbol("gamma_KB", positive=True)
D_inf = sp.Symbol("D_inf", positive=True)
G_inf = sp.Symbol("G_inf", positive=True)
D_2 = sp.Symbol("D_2", positive=True)
zeta = sp.Symbol("zeta", positive=True)
t_0 = sp.Symbol("t_0", positive=True, integer=True)
V_T = sp.Symbol("V_T", nonnegative=True)
N_T = sp.Symbol("N_T", nonnegative=True)
B_T = sp.Symbol("B_T", nonnegative=True)
E_T = sp.Symbol("E_T", nonnegative=True)
A_T = sp.Symbol("A_T", nonnegative=True)
R_T = sp.Symbol("R_T", real=True)
#: the scale factor of the rescaling x ↦ kx (scale-consistency check)
k = sp.Symbol("k", positive=True)

#: LaTeX names (the printer's ``symbol_names``); every one parses back with sympy's LaTeX parser
#: (``d`` is braced: the parser reads ``d \\cdot`` as a differential, ``{d}`` renders the same)
LATEX_NAMES: dict[sp.Symbol, str] = {
    d: "{d}",
    alpha: r"\alpha", beta1: r"\beta_{1}", beta2: r"\beta_{2}", lam: r"\lambda",
    gamma: r"\gamma", gamma_KB: r"\gamma_{KB}", D_inf: r"D_{\infty}", G_inf: r"G_{\infty}",
    D_2: r"D_{2}", zeta: r"\zeta", t_0: r"t_{0}", V_T: r"V_{T}", N_T: r"N_{T}", B_T: r"B_{T}",
    E_T: r"E_{T}", A_T: r"A_{T}", R_T: r"R_{T}",
}

#: what each symbol means, in words and LaTeX (the legend printed under a formula)
MEANING: dict[sp.Symbol, str] = {
    T: "T: the horizon (number of steps)",
    d: "d: the dimension",
    alpha: r"\alpha: the step-size constant, \alpha_{t} = \alpha/\sqrt{t}",
    beta1: r"\beta_{1} = \beta_{1,1} \geq \beta_{1,t}: the first-moment constant",
    beta2: r"\beta_{2}: the second-moment constant",
    lam: r"\lambda: the decay of \beta_{1,t} = \beta_{1}\lambda^{t-1}",
    gamma: r"\gamma = \beta_{1}/\sqrt{\beta_{2}} (Reddi et al.)",
    gamma_KB: r"\gamma_{KB} = \beta_{1}^{2}/\sqrt{\beta_{2}} (Kingma & Ba)",
    D_inf: r"D_{\infty} = \sup_{x,y \in F} \|x - y\|_{\infty}",
    G_inf: r"G_{\infty} \geq \sup_{t} \|\nabla f_{t}\|_{\infty}",
    D_2: r"D_{2} = \sup_{x,y \in F} \|x - y\|_{2}",
    zeta: r"\zeta: the constant of AdamNC's condition (1) (\zeta = \alpha for "
          r"\beta_{2,t} = 1 - 1/t)",
    t_0: r"t_{0}: the index of Tran & Phong's Lemma 4.3",
    V_T: r"V_{T} = \sum_{i=1}^{d} \sqrt{\hat{v}_{T,i}}",
    N_T: r"N_{T} = \sum_{i=1}^{d} \|g_{1:T,i}\|_{2}",
    B_T: r"B_{T} = \sum_{t=1}^{T} \sum_{i=1}^{d} \beta_{1,t} \sqrt{\hat{v}_{t,i}} / \alpha_{t}",
    E_T: r"E_{T} = \sum_{t=1}^{T} \alpha_{t} \|\hat{V}_{t}^{-1/4} m_{t}\|^{2}",
    A_T: r"A_{T} = \sum_{t=2}^{T} \beta_{1,t} \sqrt{t - 1}",
    R_T: r"R_{T} = \sum_{t=1}^{T} f_{t}(x_{t}) - \min_{x \in F} \sum_{t=1}^{T} f_{t}(x)",
    N: "N: the number of terms",
    t: "t: the step",
    s: "s: an earlier step",
}

#: statistic symbol → key of ``InstanceResult.checkpoints`` (per-checkpoint values)
CHECKPOINT_KEYS: dict[sp.Symbol, str] = {
    V_T: "sum_sqrt_vhat", N_T: "sum_grad_norm", B_T: "sum_beta1_sqrt_vhat_over_alpha",
    E_T: "momentum_energy",
}

ALL: tuple[sp.Symbol, ...] = (T, t, s, N, d, alpha, beta1, beta2, lam, gamma, gamma_KB, D_inf,
                              G_inf, D_2, zeta, t_0, V_T, N_T, B_T, E_T, A_T, R_T, k)
BY_NAME: dict[str, sp.Symbol] = {sym.name: sym for sym in ALL}


def parse(text: str) -> sp.Expr:
    """Parse ``str(expr)`` of a bound back into the same symbols (``sympy.parse_expr``)."""
    return parse_expr(text, local_dict=dict(BY_NAME))


class _Printer(LatexPrinter):
    """sympy's LaTeX printer, with undefined functions written ``c\\left(t\\right)``.

    (sympy writes ``c{\\left(t \\right)}``, which its own LaTeX parser reads as a product.)
    """

    def _print_Function(self, expr, exp=None):
        if isinstance(expr, AppliedUndef):
            name = self._print(sp.Symbol(expr.func.__name__))
            args = ", ".join(self._print(a) for a in expr.args)
            text = rf"{name}\left({args}\right)"
            return rf"{text}^{{{exp}}}" if exp is not None else text
        return super()._print_Function(expr, exp)


def latex(expr: sp.Basic, names: dict | None = None) -> str:
    """LaTeX of ``expr`` with the papers' symbol names (plus ``names``).

    Products are written with ``\\cdot``: without it ``\\alpha \\left(1 - \\beta_{1}\\right)``
    reads as a function application to sympy's LaTeX parser (and to a careless reader).
    """
    symbol_names = dict(LATEX_NAMES)
    symbol_names.update(names or {})
    printer = _Printer({"symbol_names": symbol_names, "mul_symbol": "dot",
                        "ln_notation": False})
    return printer.doprint(expr)
