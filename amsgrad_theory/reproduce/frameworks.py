"""Effective steps of the paper's AMSGrad and of the frameworks' on the same gradient sequences.

For each variant the run's trace gives, per step t (coordinate 0):

* η̂_t — the factor on the momentum the implementation divides (m̂_t = m_t/(1−β1^t) where m is
  corrected): PyTorch γ/(√v̂_t/√(1−β2^t) + ε), Keras γ√(1−β2^t)/(√v̂_t + ε̂), optax
  γ/(√(ν̂max_t + ε_root) + ε), the seed article γ/(√v̂_t + ε), the paper α/(√t·√v̂_t);
* η_t — the factor on the raw momentum m_t (every correction folded in; Γ_t ⪰ 0 of Reddi et
  al.'s Theorem 4 ⇔ η non-increasing).

PyTorch and Keras take the max over the *raw* v and correct after it, which is the paper's
AMSGrad with the step schedule α_t = γ·ρ(t), ρ(t) = √(1−β2^t)/(1−β1^t) (PyTorch 2.13
torch/optim/adam.py [pytorch-2.13]; Keras 3.15 keras/src/optimizers/adam.py [keras-3.15]):
η_t = γρ(t)/(√v̂_t + ε√(1−β2^t)) for PyTorch and γρ(t)/(√v̂_t + ε̂) for Keras. ρ, from
:func:`amsgrad_theory.symbolic.bias.rho`, is overlaid on the η panels through this identity
(checked to 1e-12 per step by the ``rho_identity`` records); its certified minimum is at
t = 12 for (0.9, 0.999) (``rho_minimum``), after which η rises with ρ whenever the max is not
refreshed.

The shaded window marks the leading steps on which the real ``torch.optim.Adam(amsgrad=True)``
is bit-identical to ``torch.optim.Adam(amsgrad=False)`` on the same sequence (the audit's
:func:`~amsgrad_theory.verify.audit_checks.amsgrad_equivalence`, torch's single-tensor path,
float64): while the zero-initialised raw v is still rising, max(v̂, v) = v and the max never
binds (PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]).

Sequences (one coordinate; x_1 = 0, no projection): "spike then small" (1, 0.05, 0.05, …),
"spike then zero" (1, 0, 0, …) and g_t = 1/√t (6 significant digits). Keras and optax are the
toolkit's models of them (``amsgrad-keras``, ``amsgrad-optax``, bit-exact against Keras 3.15.1
and optax 0.2.8 [keras-3.15; optax-0.2.8], README "Fidelity to the frameworks"), so the study
runs where neither library is installed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..engine import InstanceView, RunSpec, run_specs
from ..plots import (
    COLORS,
    Table,
    annotates,
    decorate,
    footer,
    new_figure,
    note,
    shared_legend,
    title,
)
from ..records import Record
from ..symbolic.bias import rho_minimum
from ..verify.run_checks import growth, rho_prediction, rho_values
from .base import Context, Study, checked, traced

SOURCE = ("Reddi et al. ICLR 2018 Algorithm 2 [reddi2018]; PyTorch 2.13 torch/optim/adam.py "
          "[pytorch-2.13]; Keras 3.15 keras/src/optimizers/adam.py [keras-3.15]; optax 0.2.8 "
          "optax/_src/transform.py::scale_by_amsgrad [optax-0.2.8]")

VARIANTS = ("amsgrad", "amsgrad-pytorch", "amsgrad-keras", "amsgrad-optax", "amsgrad-seed")
LABELS = {"amsgrad": "paper (α/√t)", "amsgrad-pytorch": "PyTorch", "amsgrad-keras": "Keras",
          "amsgrad-optax": "optax", "amsgrad-seed": "seed article"}
#: variants whose η̂ and η are non-increasing by construction (a running max, a non-increasing
#: step size and no correction applied after the max)
MONOTONE = ("amsgrad", "amsgrad-optax", "amsgrad-seed")


@dataclass(frozen=True)
class FrameworksParameters:
    """Parameters of the frameworks study (defaults: the ``small`` size)."""

    lr: str = "0.001"
    beta1: str = "0.9"
    beta2: str = "0.999"
    steps: int = 3000
    inv_sqrt_steps: int = 1000
    #: extra (β1, β2) pairs whose ρ(t) and certified minimiser are shown
    rho_pairs: tuple[tuple[str, str], ...] = (("0.9", "0.99"), ("0.9", "0.999"),
                                              ("0.9", "0.9999"))


SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"steps": 300, "inv_sqrt_steps": 300, "rho_pairs": (("0.9", "0.999"),)},
    "small": {},
    "paper": {"steps": 20_000, "inv_sqrt_steps": 3000},
}


def sequences(p: FrameworksParameters) -> list[tuple[str, str, int]]:
    """(label, problem spec, T) of the gradient sequences."""
    inv = ",".join(f"{1 / math.sqrt(t):.6g}" for t in range(1, p.inv_sqrt_steps + 1))
    return [("spike then small: g = (1, 0.05, 0.05, …)",
             "gradient-sequence:g=[1],tail=0.05,set=none", p.steps),
            ("spike then zero: g = (1, 0, 0, …)", "gradient-sequence:g=[1],tail=0,set=none",
             p.steps),
            ("g_t = 1/√t", f"gradient-sequence:g=[{inv}],tail=0,set=none", p.inv_sqrt_steps)]


#: the sequences' names in frameworks-effective-step.csv and their titles on the figure
SEQUENCE_IDS = ("spike-small", "spike-zero", "inv-sqrt")
SEQUENCE_TITLES = (r"$g = (1, 0.05, 0.05, \ldots)$", r"$g = (1, 0, 0, \ldots)$",
                   r"$g_t = 1/\sqrt{t}$")


def spec_for(p: FrameworksParameters, variant: str, problem: str, steps: int) -> RunSpec:
    return RunSpec(algorithm=variant, problem=problem, steps=steps,
                   hyperparameters={"alpha": p.lr, "beta1": p.beta1, "beta2": p.beta2})


def records_for(p, label: str, runs: dict, equivalence: Record) -> list[Record]:
    recs: list[Record] = [equivalence]
    for variant, (spec, view) in runs.items():
        name = LABELS[variant]
        if variant in MONOTONE:
            for which, symbol in (("eta_hat", "η̂"), ("eta", "η")):
                recs.append(checked("step_growth", spec, view, which=which, op="<=", value=1.0,
                                    claim=f"{name}: {symbol}_t never increases on {label} "
                                          f"(max_t {symbol}_t/min_(s≤t) {symbol}_s ≤ 1), "
                                          f"T = {spec.steps}"))
        else:
            g_hat = growth(traced(view)["eta_hat"][:, 0, 0])
            g_raw = growth(traced(view)["eta"][:, 0, 0])
            recs.append(checked("step_growth", spec, view, which="eta_hat", op=">", value=1.01,
                                claim=f"{name}: η̂_t increases on {label}: max_t η̂_t/"
                                      f"min_(s≤t) η̂_s = {g_hat['growth']:.4g} > 1.01 (first "
                                      f"increase at t = {g_hat['first_increase_step']})"))
            if g_raw["growth"] is not None and g_raw["growth"] > 1.0:
                recs.append(checked("step_growth", spec, view, which="eta", op=">", value=1.0,
                                    claim=f"{name}: η_t (raw momentum) increases on {label}: "
                                          f"growth {g_raw['growth']:.4g} (first at t = "
                                          f"{g_raw['first_increase_step']})"))
            recs.append(checked("rho_identity", spec, view, rtol=1e-12,
                                claim=f"{name} is the paper's AMSGrad with α_t = lr·ρ(t) on "
                                      f"{label}: η_t = lr·ρ(t)/(√v̂_t + ε…) to 1e-12 per step"))
    return recs


def run(p: FrameworksParameters, ctx: Context) -> dict:
    seqs = sequences(p)
    specs = [spec_for(p, v, problem, T) for _, problem, T in seqs for v in VARIANTS]
    with ctx.bar(len(specs) + len(seqs), "traces and torch runs", unit="run") as bar:
        views = []
        for spec in specs:     # short traced runs (python engine); one at a time for the bar
            views += run_specs([spec], trace=True)
            bar.update(1)
        equivalences = []
        for _, problem, T in seqs:
            base = spec_for(p, "amsgrad-pytorch", problem, T)
            first = checked("torch_amsgrad_equivalence", base, None, expected_identical=-1)
            n = first.details["identical_steps"]
            rec = checked("torch_amsgrad_equivalence", base, None, expected_identical=n,
                          claim=f"torch {first.details['torch']}: Adam(amsgrad=True) is "
                                f"bit-identical to Adam(amsgrad=False) for the first {n} of {T} "
                                f"steps on {problem.split(':')[1][:40]}…")
            equivalences.append(rec)
            bar.update(1)
    by_seq: list[dict[str, tuple[RunSpec, InstanceView]]] = []
    k = 0
    for _ in seqs:
        runs = {}
        for v in VARIANTS:
            runs[v] = (specs[k], views[k])
            k += 1
        by_seq.append(runs)

    table = Table(["sequence", "variant", "t", "g", "eta_hat_over_lr", "eta_over_lr", "vhat",
                   "rho", "pytorch_eta_from_rho_over_lr", "torch_bit_identical"])
    lr = float(p.lr)
    style = ctx.style
    report = annotates(style)
    fig, axes = new_figure(2, len(seqs), width=4.6, height=3.5, style=style, aspect=0.72,
                           extra_height=0.45)
    records: list[Record] = []
    summary_rows = []
    for col, ((label, _problem, T), runs, eq) in enumerate(zip(seqs, by_seq, equivalences)):
        ax_h, ax_e = axes[0][col], axes[1][col]
        n_identical = eq.details["identical_steps"]
        rho = rho_values(T, p.beta1, p.beta2)
        _, view_pt = runs["amsgrad-pytorch"]
        hp = view_pt.instances[0].hyperparameters
        pred = rho_prediction(view_pt.variant, hp, traced(view_pt)["vhat"][:, 0, 0], T)
        ts = list(range(1, T + 1))
        for variant, (_spec, view) in runs.items():
            eh = traced(view)["eta_hat"][:, 0, 0] / lr
            e = traced(view)["eta"][:, 0, 0] / lr
            g = traced(view)["g"][:, 0, 0]
            vh = traced(view)["vhat"][:, 0, 0]
            line: dict[str, Any] = {"color": COLORS[variant], "label": LABELS[variant]}
            if variant == "amsgrad-pytorch":     # drawn wide, under Keras (equal up to ε)
                line.update(linewidth=3.2 if report else 2.6, alpha=0.6)
            elif variant == "amsgrad-keras":
                line.update(linestyle="--")
            ax_h.plot(ts, eh, **line)
            ax_e.plot(ts, e, **line)
            for t in ts:
                table.add(SEQUENCE_IDS[col], variant, t, float(g[t - 1]), float(eh[t - 1]),
                          float(e[t - 1]), float(vh[t - 1]), rho[t - 1], pred[t - 1] / lr,
                          t <= n_identical)
            gh = growth(traced(view)["eta_hat"][:, 0, 0])
            ge = growth(traced(view)["eta"][:, 0, 0])
            summary_rows.append({"sequence": label, "variant": variant,
                                 "eta_hat_growth": gh["growth"],
                                 "eta_hat_first_increase": gh["first_increase_step"],
                                 "eta_growth": ge["growth"],
                                 "eta_first_increase": ge["first_increase_step"]})
        ax_e.plot(ts, [v / lr for v in pred], ":", color="black", linewidth=1.6,
                  label=r"$\gamma\rho(t)/(\sqrt{\hat v_t}+\epsilon\sqrt{1-\beta_2^t})$, "
                        r"$\rho$ symbolic")
        for ax in (ax_h, ax_e):
            if n_identical > 0:
                ax.axvspan(1, n_identical + 0.5, color="0.87", zorder=0,
                           label="steps on which the real torch AMSGrad is bitwise its Adam")
                if report:
                    ax.text(0.02, 0.98, f"torch AMSGrad ≡ Adam bitwise: t ≤ {n_identical}",
                            transform=ax.transAxes, fontsize=6.5, va="top", color="0.3")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"step $t$")
            ax.grid(True, which="major", alpha=0.3)
        if report:
            ax_h.set_title(f"{label}\nη̂_t / lr (step on the divided momentum)", fontsize=8.5)
            ax_e.set_title("η_t / lr (step on the raw momentum m_t)", fontsize=8.5)
        else:
            ax_h.set_title(SEQUENCE_TITLES[col])
        ax_h.set_ylabel(r"$\hat\eta_t/\mathrm{lr}$" + ("" if report else
                                                         " (divided momentum)"))
        ax_e.set_ylabel(r"$\eta_t/\mathrm{lr}$" + ("" if report else " (raw momentum $m_t$)"))
        records += records_for(p, label, runs, eq)
    note(axes[0][-1], f"lr = {p.lr}, β1 = {p.beta1}, β2 = {p.beta2}\nε: 1e-8 (Keras ε̂ = 1e-7; "
                      "paper none)\nT = " + ", ".join(str(T) for *_, T in seqs),
         loc="lower right", style=style)
    if report:
        handles, labels = axes[1][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7.5,
                   title="Keras and optax: the toolkit's models (bit-exact: README, Fidelity); "
                         "the window: real torch.optim.Adam. Re-check: amsgrad-theory verify "
                         "--sidecar frameworks-effective-step.json", title_fontsize=7)
    else:
        shared_legend(fig, [ax for row in axes for ax in row], ncol=4)
    title(fig, "Effective steps of AMSGrad as published and as implemented (same gradients, "
               "one coordinate)", style)
    params = {k: getattr(p, k) for k in p.__dataclass_fields__}
    ctx.save_figure(fig, "frameworks-effective-step", table=table, records=records,
                    title="Effective steps: paper vs PyTorch, Keras, optax and the seed article",
                    parameters=params,
                    caption=f"Effective steps on the same gradients (one coordinate, x_1 = 0, "
                            f"no projection) of the paper's AMSGrad (α_t = lr/√t), PyTorch's "
                            f"and Keras' amsgrad=True, optax's scale_by_amsgrad and the seed "
                            f"article's pseudocode: top, η̂_t/lr, the factor on the momentum "
                            f"each implementation divides; bottom, η_t/lr, the factor on the "
                            f"raw momentum m_t, with PyTorch's predicted from the symbolic "
                            f"ρ(t) = √(1 − β2^t)/(1 − β1^t) (dotted). Columns: g = (1, 0.05, "
                            f"0.05, …), g = (1, 0, 0, …) and g_t = 1/√t. Shaded: the steps on "
                            f"which the real torch.optim.Adam(amsgrad=True) is bitwise its "
                            f"Adam. lr = {p.lr}, β1 = {p.beta1}, β2 = {p.beta2}; Keras and "
                            f"optax are the toolkit's bit-exact models of them.")
    rho_summary = rho_figure(p, ctx)
    highlights = []
    for row in summary_rows:
        if row["variant"] in ("amsgrad-pytorch", "amsgrad-keras"):
            highlights.append(f"{LABELS[row['variant']]} on {row['sequence']}: η̂ grows "
                              f"×{row['eta_hat_growth']:.4g} (first increase at t = "
                              f"{row['eta_hat_first_increase']}), η ×{row['eta_growth']:.4g}")
    for (label, _, T), eq in zip(seqs, equivalences):
        highlights.append(f"torch AMSGrad ≡ Adam bitwise for {eq.details['identical_steps']}/{T}"
                          f" steps on {label}")
    return {"results": {"effective_steps": summary_rows,
                        "torch_bit_identical_steps": {label: eq.details["identical_steps"]
                                                      for (label, _, _), eq in
                                                      zip(seqs, equivalences)},
                        "rho": rho_summary},
            "highlights": highlights, "source": SOURCE}


#: an earlier independent computation: (0.9, 0.999) → minimum 0.1522 at t = 12
RHO_FACT = (("0.9", "0.999"), 12, 0.1522)


def rho_figure(p: FrameworksParameters, ctx: Context) -> list[dict]:
    """ρ(t) for each (β1, β2) of ``rho_pairs`` with its certified minimiser marked."""
    T = max(p.steps, 10_000)
    style = ctx.style
    fig, axes = new_figure(1, 1, width=6.4, height=4.0, style=style, span="column", aspect=0.62,
                           extra_height=0.3)
    ax = axes[0][0]
    table = Table(["beta1", "beta2", "t", "rho"])
    records, rows = [], []
    nominal = spec_for(p, "amsgrad-pytorch", "gradient-sequence:g=[1],tail=0.05,set=none", 1)
    for b1, b2 in p.rho_pairs:
        values = rho_values(T, b1, b2)
        ts = list(range(1, T + 1))
        m = rho_minimum(b1, b2)
        expected = RHO_FACT[1] if (b1, b2) == RHO_FACT[0] else m.t_integer
        line, = ax.plot(ts, values, label=rf"$\beta_1 = {b1}$, $\beta_2 = {b2}$")
        ax.plot([m.t_integer], [float(m.value)], "o", color=line.get_color())
        ax.annotate(rf"min {float(m.value):.4f} at $t = {m.t_integer}$",
                    (m.t_integer, float(m.value)), textcoords="offset points", xytext=(4, -10),
                    fontsize=7 if annotates(style) else None, color=line.get_color())
        for t, v in zip(ts, values):
            table.add(b1, b2, t, v)
        src = " (earlier computation: t = 12, 0.1522)" if (b1, b2) == RHO_FACT[0] else ""
        records.append(checked("rho_minimum", nominal, None, beta1=b1, beta2=b2,
                               expected_t=expected,
                               claim=f"ρ(t) = √(1−β2^t)/(1−β1^t) for (β1, β2) = ({b1}, {b2}) "
                                     f"is smallest at integer t = {expected}{src}"))
        rows.append({"beta1": b1, "beta2": b2, "t_min": m.t_integer,
                     "rho_min": float(m.value), "t_continuous": float(m.t_continuous)})
    ax.axhline(1.0, color="0.5", linewidth=0.8, linestyle=":")
    ax.set_ylim(0, 1.05)
    decorate(ax, xlabel=r"step $t$",
             ylabel=r"$\rho(t) = \sqrt{1-\beta_2^t}\,/\,(1-\beta_1^t)$",
             title="PyTorch/Keras AMSGrad = paper's AMSGrad with α_t = lr·ρ(t)"
             if annotates(style) else None, ylog=False,
             fontsize=7 if annotates(style) else None,
             legend="lower right" if annotates(style) else None)
    if not annotates(style):
        shared_legend(fig, [ax], ncol=2)
    note(ax, "ρ from amsgrad_theory.symbolic.bias (mpmath);\nminimisers certified in ball "
             "arithmetic", loc="center right", style=style)
    footer(fig, "Re-check: amsgrad-theory verify --sidecar frameworks-rho.json", style=style)
    ctx.save_figure(fig, "frameworks-rho", table=table, records=records,
                    title="The step multiplier ρ(t) of framework AMSGrad and its minimum",
                    parameters={"pairs": [list(x) for x in p.rho_pairs], "T": T},
                    caption="The step multiplier ρ(t) = √(1 − β2^t)/(1 − β1^t) by which "
                            "PyTorch's and Keras' amsgrad=True is the paper's AMSGrad with "
                            "α_t = lr·ρ(t), for (β1, β2) ∈ {"
                            + ", ".join(f"({b1}, {b2})" for b1, b2 in p.rho_pairs)
                            + f"}}, t ≤ {T}; dots: the integer minimiser, certified in ball "
                              "arithmetic (computed with mpmath).")
    return rows


STUDY = Study(name="frameworks", title="Effective-step traces: the paper's AMSGrad vs PyTorch, "
              "Keras, optax and the seed article", parameters=FrameworksParameters, run=run,
              sizes=SIZES, source=SOURCE)
