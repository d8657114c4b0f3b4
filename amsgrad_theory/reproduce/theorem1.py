"""Theorem 1 of Reddi et al.: Adam's average regret does not vanish; AMSGrad's does.

Problem (Reddi, Kale & Kumar 2018, Theorem 1 [reddi2018]; ``reddi-online:C=C``): F = [−1, 1],
f_t(x) = C·x if t mod 3 = 1, else −x, C > 2; a block of three steps sums to (C − 2)·x, so
x* = −1. Adam with β1 = 0, β2 = 1/(1 + C²), α_t = α/√t, started at x_1 = 1, returns to x = 1
after every block: x_{3k+1} = 1 for all k (the proof's structure), so each block costs at least
C·2 − 2 − 2 = 2C − 4 against x* = −1 and

    R_T / T ≥ (2C − 4)/3        (R_t ≥ (2C − 4)·t/3 at every t, see below).

AMSGrad on the same sequence keeps v̂ at its first large value, so the −1 steps are not scaled
up between the C steps; it goes to −1 and R_T/T → 0.

The bound holds at every t, not only at block ends: with x_{3k+1} = 1, step 3k+1 costs 2C and
steps 3k+2, 3k+3 cost −x_t − 1 ≥ −2 each, so R_{3k+1} ≥ (2C − 4)k + 2C and
R_{3k+2} ≥ (2C − 4)k + 2C − 2, both ≥ (2C − 4)(3k + j)/3.

Step size: α = 0.5 (the Lean formalisation's α_t = (1/2)/√t [lean-adambeyond]; the paper
asks α small enough). The records: Adam's R_t/t ≥ (2C−4)/3 at every checkpoint of the last
decade and x_t = 1 exactly at every t ≡ 1 (mod 3) of a traced run; AMSGrad's R_T/T ≤ a stated
threshold, x_T within 0.01 of −1, and sublinear regret.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..engine import RunSpec, lane_steps, run_specs
from ..plots import COLORS, Table, annotates, decorate, footer, new_figure, note, title
from ..problems.spec import _decimal
from ..records import Record
from ..verify.run_checks import checkpoint_series
from .base import Context, Study, checked

SOURCE = ("Reddi, Kale, Kumar, ICLR 2018, Theorem 1 and its proof (Appendix A) "
          "[reddi2018]")


@dataclass(frozen=True)
class Theorem1Parameters:
    """Parameters of the Theorem 1 study (defaults: the ``small`` size)."""

    Cs: tuple[int, ...] = (3, 4, 5, 7, 10, 20)
    alpha: str = "0.5"
    x0: str = "1"
    steps: int = 100_000
    #: the traced run that checks x_{3k+1} = 1 (T = 3K + 1 checks k ≤ K)
    trace_steps: int = 30_001
    window: float = 0.1
    amsgrad_average_regret_max: float = 0.01
    amsgrad_x_max: float = -0.99
    #: the earlier measurements of FACTS, re-measured at this T (None: skip)
    facts_steps: int | None = 30_000


SIZES = {
    "tiny": {"Cs": (3, 5), "steps": 3_000, "trace_steps": 301, "window": 0.5,
             "amsgrad_average_regret_max": 0.2, "amsgrad_x_max": -0.9, "facts_steps": None},
    "small": {},
    "paper": {"Cs": (3, 4, 5, 6, 7, 8, 10, 15, 20, 30, 50, 100), "steps": 1_000_000,
              "trace_steps": 300_001, "amsgrad_average_regret_max": 0.005},
}


def beta2_of(C: int) -> str:
    """β2 = 1/(1 + C²), exact (a decimal where it terminates, else a fraction)."""
    q = Fraction(1, 1 + C * C)
    return _decimal(q)


def spec_for(p: Theorem1Parameters, algorithm: str, C: int, steps: int | None = None,
             alpha: str | None = None) -> RunSpec:
    return RunSpec(algorithm=algorithm, problem=f"reddi-online:C={C}", steps=steps or p.steps,
                   hyperparameters={"alpha": alpha or p.alpha, "beta1": "0",
                                    "beta2": beta2_of(C)}, x0=p.x0)


def bound(C: int) -> float:
    """(2C − 4)/3: Adam's average regret lower bound on the Theorem 1 sequence."""
    return (2 * C - 4) / 3


def records_for(p: Theorem1Parameters, C: int, adam_spec, adam_view, ams_spec,
                ams_view) -> list[Record]:
    w = p.window
    recs = [
        checked("checkpoint_window", adam_spec, adam_view, series="average_regret",
                statistic="min", op=">=", value=bound(C), start_fraction=w,
                claim=f"C = {C}: Adam's R_t/t ≥ (2C−4)/3 = {bound(C):.6g} at every checkpoint "
                      f"t ∈ [{w:g}T, T], T = {p.steps} (Theorem 1)"),
        checked("trace_phase_value", adam_spec.with_(steps=p.trace_steps), None, period=3,
                phase=1, value=1.0,
                claim=f"C = {C}: Adam returns to x = 1 after every block: x_(3k+1) = 1 exactly "
                      f"for every 3k+1 ≤ {p.trace_steps} (the proof of Theorem 1)"),
        checked("checkpoint_window", ams_spec, ams_view, series="average_regret",
                statistic="last", op="<=", value=p.amsgrad_average_regret_max,
                claim=f"C = {C}: AMSGrad's R_T/T ≤ {p.amsgrad_average_regret_max} at T = "
                      f"{p.steps}"),
        checked("checkpoint_window", ams_spec, ams_view, series="x", statistic="last",
                op="<=", value=p.amsgrad_x_max,
                claim=f"C = {C}: AMSGrad's x_T ≤ {p.amsgrad_x_max} (optimum −1) at T = "
                      f"{p.steps}"),
        checked("regret_sublinear", ams_spec, ams_view),
    ]
    return recs


#: earlier independent measurements (hypotheses here, re-measured): (C, α, Adam's R_T/T at
#: T = 30000)
FACTS = ((3, "0.5", 0.669), (5, "0.5", 2.003), (10, "0.5", 5.336),
         (3, "1", 0.669), (5, "1", 2.003), (10, "1", 5.336))
FACT_SOURCE = ("Reddi, Kale & Kumar 2018, Theorem 1 [reddi2018]; the expected values are an "
               "earlier independent measurement")


def facts_report(p: Theorem1Parameters, ctx: Context, bar):
    T = p.facts_steps
    specs = [spec_for(p, "adam", C, T, alpha) for C, alpha, _ in FACTS] + \
        [spec_for(p, "amsgrad", C, T, alpha) for C, alpha, _ in FACTS]
    views = run_specs(specs, bar=bar)
    records, rows = [], []
    n = len(FACTS)
    for (C, alpha, fact), spec, view in zip(FACTS, specs[:n], views[:n]):
        rec = checked("checkpoint_window", spec, view, series="average_regret",
                      statistic="last", op="in", value=[bound(C), fact + 0.0015],
                      claim=f"earlier measurement: Adam, C = {C}, α = {alpha}: R_T/T ≈ {fact} "
                            f"(within [(2C−4)/3, {fact + 0.0015:.4f}]) at T = {T}",
                      source=FACT_SOURCE)
        records.append(rec)
        rows.append({"claim": rec.claim, "expected": fact, "measured": rec.details["value"],
                     "verdict": rec.verdict})
    for (C, alpha, _), spec, view in zip(FACTS, specs[n:], views[n:]):
        for series, op, value, what in (("x", "in", [-1.0, -0.998], "x_T ∈ [−1, −0.998]"),
                                        ("average_regret", "<", 0.01, "R_T/T < 0.01")):
            rec = checked("checkpoint_window", spec, view, series=series, statistic="last",
                          op=op, value=value,
                          claim=f"earlier measurement: AMSGrad, C = {C}, α = {alpha}: {what} at "
                                f"T = {T}", source=FACT_SOURCE)
            records.append(rec)
            rows.append({"claim": rec.claim, "expected": what, "measured": rec.details["value"],
                         "verdict": rec.verdict})
    rep = ctx.report("Theorem 1: earlier measured numbers, re-measured", records,
                     parameters={"steps": T, "x0": p.x0})
    return rep, rows


def run(p: Theorem1Parameters, ctx: Context) -> dict:
    specs = []
    for C in p.Cs:
        specs += [spec_for(p, "adam", C), spec_for(p, "amsgrad", C)]
    facts_work = 2 * len(FACTS) * (p.facts_steps or 0)
    with ctx.bar(lane_steps(specs) + facts_work, "Theorem 1 runs") as bar:
        views = run_specs(specs, bar=bar)
        facts = facts_report(p, ctx, bar) if p.facts_steps else None
    by = {(s.algorithm, s.problem): (s, v) for s, v in zip(specs, views)}
    with ctx.bar(len(p.Cs), "traced runs and records", unit="C") as bar:
        records = []
        for C in p.Cs:
            a = by[("adam", f"reddi-online:C={C}")]
            m = by[("amsgrad", f"reddi-online:C={C}")]
            records += records_for(p, C, a[0], a[1], m[0], m[1])
            bar.update(1)
    table = Table(["C", "beta2", "algorithm", "t", "average_regret", "x",
                   "bound_2C_minus_4_over_3"])
    finals = []
    style = ctx.style
    fig, axes = new_figure(1, 2, width=5.6, height=4.0, style=style, aspect=0.62,
                           extra_height=0.3)
    ax_t, ax_c = axes[0]
    import matplotlib  # matplotlib: imported only when a figure is drawn
    from matplotlib.lines import Line2D

    cmap = matplotlib.colormaps["viridis"]
    for k, C in enumerate(p.Cs):
        color = cmap(k / max(1, len(p.Cs) - 1) * 0.9)
        row = {"C": C, "bound": bound(C)}
        for alg, line in (("adam", "-"), ("amsgrad", "--")):
            spec, view = by[(alg, f"reddi-online:C={C}")]
            ts, avg = checkpoint_series(view, "average_regret")
            _, xs = checkpoint_series(view, "x")
            for t, a, x in zip(ts, avg, xs):
                table.add(C, float(Fraction(beta2_of(C))), alg, t, a, x, bound(C))
            ax_t.plot(ts, avg, line, color=color,
                      label=f"$C = {C}$" if alg == "adam" else None)
            row[f"{alg}_average_regret_T"] = avg[-1]
            row[f"{alg}_x_T"] = xs[-1]
        ax_t.axhline(bound(C), color=color, linewidth=0.7, linestyle=":")
        finals.append(row)
    key = [Line2D([], [], color="0.3", linestyle=ls, label=label) for ls, label in
           (("-", "Adam"), ("--", "AMSGrad"), (":", r"$(2C-4)/3$"))]
    if annotates(style):
        decorate(ax_t, xlabel="step t", ylabel="average regret R_t / t",
                 title="R_t/t: Adam (solid) vs AMSGrad (dashed); dotted: (2C−4)/3",
                 legend="lower left", fontsize=7, ncol=2)
    else:
        decorate(ax_t, xlabel=r"step $t$", ylabel=r"average regret $R_t/t$", title=None,
                 legend=None)
        handles, labels = ax_t.get_legend_handles_labels()
        fig.legend(key + handles, [h.get_label() for h in key] + labels,
                   loc="outside lower center", ncol=min(len(key) + len(labels), 6))
    Cs = list(p.Cs)
    ax_c.plot(Cs, [bound(C) for C in Cs], "-", color="0.5",
              label=r"$(2C-4)/3$ (Theorem 1)")
    ax_c.plot(Cs, [r["adam_average_regret_T"] for r in finals], "o", color=COLORS["adam"],
              label=r"Adam $R_T/T$")
    ax_c.plot(Cs, [max(r["amsgrad_average_regret_T"], 1e-6) for r in finals], "s",
              color=COLORS["amsgrad"], label=r"AMSGrad $R_T/T$")
    decorate(ax_c, xlabel=r"$C$", ylabel=rf"$R_T/T$ at $T = {p.steps}$",
             title="average regret at T against C" if annotates(style) else None,
             fontsize=7 if annotates(style) else None, legend="best")
    ax_c.set_xticks(Cs)
    ax_c.set_xticklabels([str(C) for C in Cs])
    ax_c.minorticks_off()
    note(ax_c, f"β1 = 0, β2 = 1/(1+C²), α_t = {p.alpha}/√t, x_1 = {p.x0}\n"
               f"pass: Adam R_t/t ≥ (2C−4)/3 on [{p.window:g}T, T];\nx_(3k+1) = 1 for 3k+1 ≤ "
               f"{p.trace_steps}; AMSGrad R_T/T ≤ {p.amsgrad_average_regret_max},\n"
               f"x_T ≤ {p.amsgrad_x_max}", loc="center right", style=style)
    title(fig, "Reddi et al. Theorem 1: f_t = Cx if t mod 3 = 1, else −x, on [−1, 1]", style)
    footer(fig, "paper's Adam and AMSGrad (no bias correction). Re-check: amsgrad-theory verify "
                "--sidecar theorem1.json", style=style)
    ctx.save_figure(fig, "theorem1", table=table, records=records,
                    title="Reddi et al. Theorem 1: R_T/T ≥ (2C−4)/3 for Adam, → 0 for AMSGrad",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    caption=f"Left: average regret R_t/t of the paper's Adam (solid) and "
                            f"AMSGrad (dashed) on Reddi et al.'s (2018) Theorem 1 sequence "
                            f"f_t(x) = Cx if t mod 3 = 1, else −x, on [−1, 1], for C ∈ "
                            f"{{{', '.join(map(str, p.Cs))}}}; dotted: Adam's lower bound "
                            f"(2C − 4)/3. Right: R_T/T at T = {p.steps} against C. β1 = 0, "
                            f"β2 = 1/(1 + C²), α_t = {p.alpha}/√t, x_1 = {p.x0}.")
    out = {"results": finals, "source": SOURCE,
           "highlights": [f"C = {r['C']}: Adam R_T/T = {r['adam_average_regret_T']:.4f} "
                          f"(bound {r['bound']:.4f}), AMSGrad R_T/T = "
                          f"{r['amsgrad_average_regret_T']:.4f}, x_T = {r['amsgrad_x_T']:.4f}"
                          for r in finals]}
    if facts is not None:
        rep, rows = facts
        ctx.write_report("theorem1-facts.json", rep)
        out["facts"] = rows
        out["facts_contradicted"] = [r for r in rows if r["verdict"] != "pass"]
    return out


STUDY = Study(name="theorem1", title="Reddi et al. Theorem 1 across C: Adam's R_T/T ≥ (2C−4)/3, "
              "AMSGrad's → 0", parameters=Theorem1Parameters, run=run, sizes=SIZES,
              source=SOURCE)
