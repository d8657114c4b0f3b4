"""Realized regret against the derived bounds and their printed versions, on log-log axes.

Every bound of :mod:`amsgrad_theory.symbolic.bounds` whose assumptions a run satisfies is
evaluated on that run's own statistics at every checkpoint t (D∞ and G∞ of the feasible set and
the stream, Σ_t ‖g_{1:t,i}‖, Σ_i √(t·v̂_{t,i}), …; :func:`~amsgrad_theory.symbolic.bound.run_values`)
and compared with the realized regret R_t = Σ_{s≤t} f_s(x_s) − min_{x∈F} Σ_{s≤t} f_s(x):

* AMSGrad (Algorithm 2, α_t = α/√t) with β1,t = β1·λ^{t−1} against Theorem 4 as printed
  (OpenReview, ICLR, arXiv), Theorem 4 derived here (the corrected proof), Corollary 1 printed,
  corrected and derived here, and Tran & Phong's Theorem 4.1;
* the same with constant β1 against the constant-β1 bound derived here,
  R_T ≤ D∞²√T·V_T/(2α) + (1+β1)α√(1+ln T)·N_T/(2(1−γ)√(1−β2)) + β1·d·D∞G∞/(1−β1),
  and its variants;
* the runs on which printed statements fail
  (:data:`~amsgrad_theory.verify.bounds_on_runs.REGRESSION_RUNS`): Theorem 4 (a) / Corollary 1 (a)
  of the OpenReview version (α missing from the first term), the AdamNC Theorem 5 (a) /
  Corollary 2 (a) and Kingma & Ba's Theorem 4.1 on the Theorem 1 sequence.

The fitted exponent k of R_t ∝ t^k (least squares of log R_t on log t over t ∈ [T/100, T]) is
stated for every run: an O(√T) bound allows k ≈ 1/2 (plus logarithms), Adam on Theorem 1's
sequence has k = 1. Records: each applicable bound holds on each run (``bound``), each printed
refutation is re-established (``bound_violated``), the exponents (``regret_exponent``) and
sublinearity (``regret_sublinear``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine import RunSpec, lane_steps, run_specs
from ..plots import (
    FigureStyle,
    Table,
    annotates,
    decorate,
    finite_or_none,
    footer,
    new_figure,
    note,
    title,
)
from ..records import Record
from ..symbolic.bounds import BOUNDS
from ..verify.bounds_on_runs import REGRESSION_RUNS, applicable_bounds
from ..verify.invariants import fit_exponent
from ..verify.run_checks import checkpoint_series, late_window
from .base import Context, Study, checked

SOURCE = ("Reddi, Kale, Kumar, ICLR 2018, Theorem 4 and Corollary 1 (three versions); Tran & "
          "Phong, IEEE Access 2019, Theorem 4.1; Kingma & Ba, ICLR 2015, Theorem 4.1; the "
          "corrected and constant-β1 bounds derived in amsgrad_theory.symbolic "
          "[reddi2017openreview; reddi2018; reddi2019arxiv; tran2019; kingma2015]")

#: the bound families drawn on the exp-decay and constant-β1 panels
EXP_DECAY_BOUNDS = ("theorem4-openreview", "theorem4-iclr", "theorem4-arxiv", "theorem4-derived",
                    "corollary1-openreview", "corollary1-arxiv", "corollary1-corrected-arxiv",
                    "corollary1-corrected-derived", "tran-phong-4.1")
CONSTANT_BOUNDS = ("theorem4-iclr", "theorem4-derived", "constant-beta1",
                   "constant-beta1-no-log", "constant-beta1-energy")
#: the printed statements refuted on the regression runs, with the valid bound drawn beside
VIOLATIONS = (("theorem4-openreview", "theorem4-derived"),
              ("kingma-ba-4.1", None))


@dataclass(frozen=True)
class BoundParameters:
    """Parameters of the bound study (defaults: the ``small`` size)."""

    problems: tuple[str, ...] = ("random-linear:d=10,seed=1", "random-quadratic:d=10,seed=1")
    steps: int = 100_000
    alpha: str = "0.5"
    beta1: str = "0.9"
    beta2: str = "0.999"
    beta1_decay: str = "0.999"
    x0: str = "0"
    #: the exponent is fitted over the checkpoints t ∈ [exponent_start·T, T]
    exponent_start: float = 0.01
    #: AMSGrad's fitted exponent must be below this (O(√T) with logarithms: ≈ 0.5)
    exponent_max: float = 0.75
    #: Adam (Kingma & Ba) on Theorem 1's sequence: the exponent of a linear regret
    linear_exponent_min: float = 0.95
    #: the Kingma & Ba regression run's horizon (its regret is linear, the bound √T)
    violation_steps: int = 3_000


SIZES = {
    "tiny": {"problems": ("random-linear:d=10,seed=1",), "steps": 3_000,
             "violation_steps": 1_000},
    "small": {},
    "paper": {"problems": ("random-linear:d=10,seed=1", "random-quadratic:d=10,seed=1",
                           "random-linear:d=100,sparsity=0.1,seed=2",
                           "random-logistic:d=10,seed=3"),
              "steps": 1_000_000, "violation_steps": 30_000},
}

STATUS_STYLE = {"printed": ("#D55E00", "--"), "corrected": ("#009E73", "-."),
                "derived here": ("#0072B2", "-")}


def main_specs(p: BoundParameters) -> list[RunSpec]:
    """AMSGrad with β1,t = β1λ^{t−1} and with constant β1 on every problem."""
    specs = []
    for schedule in ("exp-decay", "constant"):
        hp = {"alpha": p.alpha, "beta1": p.beta1, "beta2": p.beta2}
        if schedule == "exp-decay":
            hp["beta1_decay"] = p.beta1_decay
        for problem in p.problems:
            specs.append(RunSpec("amsgrad", problem, p.steps, hyperparameters=hp, x0=p.x0,
                                 schedule="inv-sqrt", beta1_schedule=schedule))
    return specs


def regression_specs(p: BoundParameters) -> dict[str, RunSpec]:
    """The runs of :data:`~amsgrad_theory.verify.bounds_on_runs.REGRESSION_RUNS` as run specs (the
    Kingma & Ba run at ``violation_steps``)."""
    out = {}
    for name, case in REGRESSION_RUNS.items():
        steps = p.violation_steps if name == "kingma-ba-4.1" else case["steps"]
        out[name] = RunSpec(case["algorithm"], case["problem"], steps,
                            hyperparameters=dict(case["hyperparameters"]), x0=case.get("x0"),
                            schedule=case.get("alpha_schedule", "inv-sqrt"),
                            beta1_schedule=case["beta1_schedule"])
    return out


def curves(view, names) -> dict[str, list]:
    """Bound name → its values at the run's checkpoints (floats, None where undefined)."""
    out = {}
    for name in names:
        values = BOUNDS[name].evaluate_run(view, 0)
        out[name] = [finite_or_none(view.arithmetic.to_float(v)) if v is not None else None
                     for v in values]
    return out


def label_of(spec: RunSpec) -> str:
    return (f"{spec.algorithm}, β1,t {spec.beta1_schedule}, {spec.problem}, T = {spec.steps}")


def run(p: BoundParameters, ctx: Context) -> dict:
    mains = main_specs(p)
    regress = regression_specs(p)
    specs = mains + list(regress.values())
    with ctx.bar(lane_steps(specs), "runs") as bar:
        views = run_specs(specs, bar=bar)
    main_views = views[:len(mains)]
    reg_views = dict(zip(regress, views[len(mains):]))

    records: list[Record] = []
    table = Table(["run", "algorithm", "problem", "beta1_schedule", "t", "series", "status",
                   "value"])
    ratios: dict[str, dict] = {}
    runs_out = []

    def add_series(run_id, spec, view, names):
        ts, regret = checkpoint_series(view, "regret")
        for t, r in zip(ts, regret):
            table.add(run_id, spec.algorithm, spec.problem, spec.beta1_schedule, t, "regret",
                      "realized", r)
        values = curves(view, names)
        for name, vals in values.items():
            for t, v in zip(ts, vals):
                table.add(run_id, spec.algorithm, spec.problem, spec.beta1_schedule, t, name,
                          BOUNDS[name].status, v)
        return ts, regret, values

    def note_ratio(name, rec, run_id, violated):
        """Bound ``name``'s tally: runs, violations, its largest ratio and the run of it."""
        ratio = finite_or_none(rec.details.get("max_ratio"))
        entry = ratios.setdefault(name, {"bound": name, "status": BOUNDS[name].status,
                                         "max_ratio": None, "run": None, "runs": 0,
                                         "violations": 0})
        entry["runs"] += 1
        if ratio is not None and (entry["max_ratio"] is None or ratio > entry["max_ratio"]):
            entry["max_ratio"], entry["run"] = ratio, run_id
        entry["violations"] += bool(violated)

    drawn: dict[str | None, tuple] = {}     # a main run's β1 schedule or a bound → panel
    with ctx.bar(len(specs), "bounds on each run", unit="run") as bar:
        for k, (spec, view) in enumerate(zip(mains, main_views)):
            run_id = f"main-{k + 1}"
            names = [b.name for b in applicable_bounds(view)]
            for name in names:
                rec = checked("bound", spec, view, bound=name)
                records.append(rec)
                note_ratio(name, rec, run_id, rec.verdict == "fail")
            exp_rec = checked("regret_exponent", spec, view, op="<", value=p.exponent_max,
                              start_fraction=p.exponent_start,
                              claim=f"AMSGrad's regret grows like t^k with fitted k < "
                                    f"{p.exponent_max} over t ∈ [{p.exponent_start:g}T, T] "
                                    f"({label_of(spec)})")
            records.append(exp_rec)
            records.append(checked("regret_sublinear", spec, view))
            plotted = [n for n in (EXP_DECAY_BOUNDS if spec.beta1_schedule == "exp-decay"
                                   else CONSTANT_BOUNDS) if n in names]
            ts, regret, values = add_series(run_id, spec, view, names)
            if spec.problem == p.problems[0]:
                drawn[spec.beta1_schedule] = (spec, ts, regret, values, plotted,
                                              exp_rec.details["exponent"])
            runs_out.append({"run": run_id, "spec": spec.to_dict(), "cli": spec.cli("verify"),
                             "regret_T": regret[-1], "exponent": exp_rec.details["exponent"],
                             "exponent_stderr": exp_rec.details["stderr"],
                             "bounds": len(names)})
            bar.update(1)
        for name, spec in regress.items():
            view = reg_views[name]
            run_id = f"regression-{name}"
            rec = checked("bound_violated", spec, view, bound=name,
                          claim=f"the printed {name} is violated: the realized "
                                f"{BOUNDS[name].lhs} exceeds it ({label_of(spec)})",
                          source=BOUNDS[name].source)
            records.append(rec)
            note_ratio(name, rec, run_id, rec.verdict == "pass")   # pass: it is violated
            valid = [b.name for b in applicable_bounds(view) if b.status != "printed"]
            for other in valid:
                r2 = checked("bound", spec, view, bound=other)
                records.append(r2)
                note_ratio(other, r2, run_id, r2.verdict == "fail")
            if name == "kingma-ba-4.1":
                records.append(checked(
                    "regret_exponent", spec, view, op=">=", value=p.linear_exponent_min,
                    start_fraction=0.1,
                    claim=f"Adam (Kingma & Ba) on Theorem 1's sequence has linear regret: fitted "
                          f"k ≥ {p.linear_exponent_min} over t ∈ [T/10, T] ({label_of(spec)})"))
            ts, regret, values = add_series(run_id, spec, view, [name] + valid)
            _, window = late_window(view, "regret", p.exponent_start)
            drawn[name] = (spec, ts, regret, values, [name] + valid[:1],
                           fit_exponent([t for t, _ in window], [r for _, r in window])[0])
            runs_out.append({"run": run_id, "spec": spec.to_dict(), "cli": spec.cli("verify"),
                             "regret_T": regret[-1], "refutes": name,
                             "max_ratio": rec.details.get("max_ratio"),
                             "first_failing_t": rec.details.get("first_failing_t")})
            bar.update(1)

    fig = draw(p, drawn, ratios, ctx.style)
    ctx.save_figure(fig, "bound", table=table, records=records,
                    title="Realized regret vs the derived, corrected and printed regret bounds",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    caption=f"Realized regret R_t of AMSGrad (α_t = {p.alpha}/√t, β1 = "
                            f"{p.beta1}, β2 = {p.beta2}, x_1 = {p.x0}) on {p.problems[0]}, "
                            f"T = {p.steps}, against every bound whose assumptions the run "
                            f"satisfies, each evaluated on the run's own statistics: top left "
                            f"with β1,t = β1·{p.beta1_decay}^(t−1) (Theorem 4 and Corollary 1 "
                            f"of Reddi et al. as printed, corrected and derived here; Tran & "
                            f"Phong's Theorem 4.1), top right with constant β1; dashed: "
                            f"printed, dash-dot: corrected, solid: derived here. Bottom left: "
                            f"the regression runs on which printed statements fall below the "
                            f"realized regret. Bottom right: the largest ratio of R_t to each "
                            f"bound over all runs and checkpoints (> 1: violated).")
    bound_table = Table(["bound", "status", "runs", "violations", "max_ratio", "run"])
    for name in sorted(ratios, key=lambda n: (-(ratios[n]["max_ratio"] or 0), n)):
        e = ratios[name]
        bound_table.add(name, e["status"], e["runs"], e["violations"], e["max_ratio"], e["run"])
    ctx.write_csv("bound-ratios.csv", bound_table)
    valid_violated = [n for n, e in ratios.items()
                      if e["status"] != "printed" and e["violations"]]
    printed_refuted = sorted(n for n, e in ratios.items()
                             if e["status"] == "printed" and e["violations"])
    highlights = [f"{r['run']}: R_T = {r['regret_T']:.4g}, fitted exponent "
                  f"{r['exponent']:.3f} ± {r['exponent_stderr']:.3f}" for r in runs_out
                  if r.get("exponent") is not None]
    highlights += [f"printed {n} violated: max R/bound = {ratios[n]['max_ratio']:.3g}"
                   for n in printed_refuted]
    highlights.append("no derived or corrected bound violated on any run" if not valid_violated
                      else f"VALID BOUNDS VIOLATED: {valid_violated}")
    return {"runs": runs_out, "bounds": [ratios[n] for n in sorted(ratios)],
            "printed_refuted": printed_refuted, "valid_bounds_violated": valid_violated,
            "source": SOURCE, "highlights": highlights}


#: the status of a bound in words, on the legend
STATUS_WORDS = {"printed": "printed", "corrected": "corrected", "derived here": "derived here"}


def bound_colors() -> dict[str, tuple]:
    """One colour per bound, the same on every panel (tab20, in the registry's order)."""
    import matplotlib  # matplotlib: imported only when a figure is drawn

    palette = matplotlib.colormaps["tab20"]
    return {name: palette((2 * k) % 20 + (k // 10) % 2) for k, name in enumerate(BOUNDS)}


def draw(p: BoundParameters, drawn: dict, ratios: dict, style: FigureStyle | None = None):
    from matplotlib.patches import Patch  # matplotlib: imported only when a figure is drawn

    report = annotates(style)
    fig, axes = new_figure(2, 2, width=5.6, height=4.2, style=style, aspect=0.7,
                           extra_height=0.9)
    colors = bound_colors()

    def positive(ts, values):
        pts = [(t, v) for t, v in zip(ts, values) if v is not None and v > 0]
        return [t for t, _ in pts], [v for _, v in pts]

    def panel(ax, key, heading, where):
        if key not in drawn:
            ax.set_visible(False)
            return
        spec, ts, regret, values, plotted, k = drawn[key]
        fitted = "" if k is None else (f" (fitted k = {k:.2f})" if report else
                                       rf", {where} (fit $\propto t^{{{k:.2f}}}$)")
        ax.plot(*positive(ts, regret), "-", color="black", linewidth=2.0,
                label=("realized R_t" if report else r"realized $R_t$") + fitted)
        for name in plotted:
            _, line = STATUS_STYLE.get(BOUNDS[name].status, ("0.5", ":"))
            ax.plot(*positive(ts, values[name]), line, color=colors[name], linewidth=1.0,
                    alpha=0.9, label=f"{name} ({BOUNDS[name].status})")
        if report:
            decorate(ax, xlabel="step t", ylabel="R_t and the bounds at t", title=heading,
                     legend="upper left",
                     legend_title="dashed: printed, dash-dot: corrected, solid: derived here")
        else:
            decorate(ax, xlabel=r"step $t$", ylabel=r"$R_t$ and the bounds at $t$",
                     title=heading, legend=None)

    hp = f"α_t = {p.alpha}/√t, β1 = {p.beta1}, β2 = {p.beta2}, {p.problems[0]}"
    panel(axes[0][0], "exp-decay", f"β1,t = β1·{p.beta1_decay}^(t−1): Theorem 4, Corollary 1, "
                                   f"Tran–Phong\n{hp}" if report else
          rf"$\beta_{{1,t}} = \beta_1 \lambda^{{t-1}}$, $\lambda = {p.beta1_decay}$", "top left")
    panel(axes[0][1], "constant", f"constant β1: the constant-β1 bound derived here\n{hp}"
          if report else r"constant $\beta_1$", "top right")
    ax = axes[1][0]
    run_colors = {"theorem4-openreview": "#CC79A7", "kingma-ba-4.1": "#E69F00"}
    for name, partner in VIOLATIONS:
        if name not in drawn:
            continue
        spec, ts, regret, values, plotted, k = drawn[name]
        c = run_colors[name]
        ax.plot(*positive(ts, regret), "-", color=c, linewidth=2.0,
                label=f"R_t: {spec.algorithm} on {spec.problem} (k = {k:.2f})" if report else
                rf"$R_t$: {spec.algorithm} on {spec.problem.split(':')[0]}")
        ax.plot(*positive(ts, values[name]), "--", color=c if report else colors[name],
                linewidth=1.0, label=f"{name} (printed)")
        if partner and partner in values:
            ax.plot(*positive(ts, values[partner]), "-", color=c if report else colors[partner],
                    linewidth=0.8, alpha=0.6, label=f"{partner} ({BOUNDS[partner].status})")
    decorate(ax, xlabel="step t" if report else r"step $t$",
             ylabel="R_t and the bound at t" if report else r"$R_t$ and the bound at $t$",
             title="printed statements below the realized regret (regression runs)"
             if report else "printed statements refuted (regression runs)",
             legend="upper left" if report else None)
    ax = axes[1][1]
    names = sorted((n for n in ratios if ratios[n]["max_ratio"]),
                   key=lambda n: ratios[n]["max_ratio"])
    ys = range(len(names))
    ax.barh(list(ys), [ratios[n]["max_ratio"] for n in names],
            color=[STATUS_STYLE.get(ratios[n]["status"], ("0.5",))[0] for n in names])
    ax.axvline(1.0, color="black", linewidth=1.0)
    ax.set_yticks(list(ys))
    ax.set_yticklabels(names, fontsize=6 if report else 6.5)
    ax.set_xscale("log")
    ax.set_xlabel("largest lhs / bound over all runs and checkpoints (> 1: violated)" if report
                  else r"largest $R_t$/bound over runs and $t$ ($>1$: violated)")
    ax.set_title("how tight each bound is on these runs", fontsize=9 if report else None)
    ax.grid(True, axis="x", alpha=0.3)
    note(ax, "blue: derived here; green: corrected;\norange: printed", loc="lower right",
         style=style)
    if not report:
        handles, labels = [], []
        for a in (axes[0][0], axes[0][1], axes[1][0]):
            for h, label in zip(*a.get_legend_handles_labels()):
                if label not in labels:
                    handles.append(h)
                    labels.append(label)
        for status, (color, _) in STATUS_STYLE.items():
            handles.append(Patch(color=color))
            labels.append(f"bar: {STATUS_WORDS.get(status, status)}")
        fig.legend(handles, labels, loc="outside lower center", ncol=3)
    title(fig, "Realized regret vs the AMSGrad regret bounds (log-log)", style)
    footer(fig, "bounds evaluated on each run's own statistics (D∞, G∞, ‖g_1:T,i‖, v̂_T). "
                "Re-check: amsgrad-theory verify --sidecar bound.json", style=style)
    return fig


STUDY = Study(name="bound", title="Realized regret vs the derived and printed regret bounds "
              "(log-log), with the fitted exponent of R_T", parameters=BoundParameters, run=run,
              sizes=SIZES, source=SOURCE)
