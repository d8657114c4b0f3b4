"""Figure 1 of Reddi, Kale & Kumar (ICLR 2018): Adam goes to the worst point, AMSGrad does not.

Problem (Reddi, Kale & Kumar 2018, Section 5 [reddi2018]; ``reddi-figure1``): F = [−1, 1],
f_t(x) = 1010·x if t mod 101 = 1, else −10·x. A period sums to 10·x, so x* = −1; sitting at
x = +1 costs 2·1010 − 100·20 = 20 per period, R_t/t → 20/101 ≈ 0.198. Stochastic version
(``reddi-figure1-stochastic``): f_t(x) = 1010·x with probability p = 0.01, else −10·x;
F(x) = E f_t(x) = μ·x with μ = 0.2 (the realised threshold probability makes μ exact to 1e-8),
so E-regret Σ_s (F(x_s) − F(−1)) = μ Σ_s (x_s + 1) and its late-window rate over (s, T] divided
by 2μ is (x̄ + 1)/2, x̄ the exact mean iterate over the window ("position": 0 at x* = −1, 1 at
the worst point +1).

Algorithms: the paper's Adam and AMSGrad (no bias correction, projection onto F), β1 = 0.9,
β2 = 0.99 as in the paper, x_1 = 0. The paper states no step size. The runs use
α_t = α/√t (the theory's schedule; α = 0.5 is the Lean formalisation's choice for Theorem 1
[lean-adambeyond]) with α ∈ {0.1, 0.5, 1}, and constant α ∈ {10⁻³, 10⁻²} (the remark after
Theorem 1: the example holds for constant steps too; torchbearer's reimplementation uses 10⁻³).
Measured (small size, T = 10⁷): Adam sits at +1 for every α (R_t/t ≥ 0.19 throughout the last
decade); AMSGrad with α = 0.5/√t has x_t ≤ −0.99 over the last decade and R_T/T ≈ 0.011.
Stochastic: after 10⁶ steps at α = 0.5/√t AMSGrad is still far from −1 on most seeds
(an earlier independent measurement found x_T ≈ −0.61 with another RNG); at T = 10⁷ with
α = 1/√t its late mean iterate is within 0.2 of −1 on every seed, so the pass thresholds of the
stochastic records are stated for α = 1/√t and T = 10⁷.

Every threshold is a field of :class:`Figure1Parameters`, printed on the figure and stored in
the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import RunSpec, lane_steps, run_specs
from ..plots import (
    BAND,
    COLORS,
    FigureStyle,
    Table,
    annotates,
    finite_or_none,
    footer,
    mean_band,
    new_figure,
    note,
    plain_log_ticks,
    shared_legend,
    title,
)
from ..problems import get_problem
from ..records import Record, Report
from ..verify.run_checks import checkpoint_series, window_rate_value
from .base import Context, Study, checked

SOURCE = ("Reddi, Kale, Kumar, 'On the Convergence of Adam and Beyond', ICLR 2018, Figure 1 "
          "and Section 5 (synthetic experiments) [reddi2018]")


@dataclass(frozen=True)
class Figure1Parameters:
    """Parameters of the Figure 1 study (defaults: the ``small`` size)."""

    beta1: str = "0.9"
    beta2: str = "0.99"
    x0: str = "0"
    online_steps: int = 10_000_000
    stochastic_steps: int = 10_000_000
    #: α of α_t = α/√t (online)
    inv_sqrt_alphas: tuple[str, ...] = ("0.1", "0.5", "1")
    #: constant α (online)
    constant_alphas: tuple[str, ...] = ("0.001", "0.01")
    stochastic_inv_sqrt_alphas: tuple[str, ...] = ("0.5", "1")
    #: constant α on the stochastic problem (paper size only: each schedule × problem × variant
    #: compiles its own numba kernel, ~10 s each)
    stochastic_constant_alphas: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    #: the α (of α/√t) whose runs carry the pass/fail records
    online_alpha: str = "0.5"
    stochastic_alpha: str = "1"
    constant_alpha: str = "0.001"
    #: records look at the checkpoints t ∈ [window·T, T]
    window: float = 0.1
    adam_x_min: float = 0.9
    adam_average_regret_min: float = 0.19
    amsgrad_x_max: float = -0.99
    amsgrad_average_regret_max: float = 0.02
    amsgrad_rate_max: float = 0.01
    constant_amsgrad_x_max: float = -0.9
    stochastic_adam_position_min: float = 0.95
    stochastic_amsgrad_position_max: float = 0.1
    #: the comparisons with earlier measurements (FACTS_ONLINE) run at this T (None: skip them)
    facts_steps: int | None = 1_000_000


SIZES = {
    # seconds, python engine (B·T < 300k lane-steps): a smoke test of the machinery whose
    # thresholds say only what 2·10⁴ steps establish
    "tiny": {"online_steps": 20_000, "stochastic_steps": 20_000, "inv_sqrt_alphas": ("0.5",),
             "constant_alphas": (), "stochastic_inv_sqrt_alphas": ("1",),
             "stochastic_constant_alphas": (), "seeds": (0,), "window": 0.5,
             "amsgrad_x_max": -0.5, "amsgrad_average_regret_max": 0.5,
             "amsgrad_rate_max": 0.5, "adam_average_regret_min": 0.19,
             "stochastic_amsgrad_position_max": 0.9, "stochastic_adam_position_min": 0.9,
             "facts_steps": None},
    "small": {},
    "paper": {"online_steps": 100_000_000, "stochastic_steps": 100_000_000,
              "inv_sqrt_alphas": ("0.1", "0.5", "1", "2"),
              "constant_alphas": ("0.001", "0.01", "0.1"),
              "stochastic_inv_sqrt_alphas": ("0.5", "1", "2"),
              "stochastic_constant_alphas": ("0.001", "0.01"),
              "seeds": tuple(range(10)), "amsgrad_average_regret_max": 0.01,
              "amsgrad_rate_max": 0.005},
}

ONLINE = "reddi-figure1"
STOCHASTIC = "reddi-figure1-stochastic"


def _spec(p: Figure1Parameters, algorithm: str, schedule: str, alpha: str, steps: int,
          problem: str) -> RunSpec:
    return RunSpec(algorithm=algorithm, problem=problem, steps=steps,
                   hyperparameters={"alpha": alpha, "beta1": p.beta1, "beta2": p.beta2},
                   x0=p.x0, schedule=schedule)


def online_specs(p: Figure1Parameters) -> list[tuple[str, str, RunSpec]]:
    """(schedule, α, spec) for every online run, Adam and AMSGrad."""
    out = []
    for schedule, alphas in (("inv-sqrt", p.inv_sqrt_alphas), ("constant", p.constant_alphas)):
        for alpha in alphas:
            for alg in ("adam", "amsgrad"):
                out.append((schedule, alpha, _spec(p, alg, schedule, alpha, p.online_steps,
                                                   ONLINE)))
    return out


def stochastic_specs(p: Figure1Parameters, steps: int | None = None,
                     alphas: dict[str, tuple[str, ...]] | None = None):
    """(schedule, α, seed, spec) for every stochastic run."""
    out = []
    alphas = alphas or {"inv-sqrt": p.stochastic_inv_sqrt_alphas,
                        "constant": p.stochastic_constant_alphas}
    for schedule, values in alphas.items():
        for alpha in values:
            for seed in p.seeds:
                for alg in ("adam", "amsgrad"):
                    out.append((schedule, alpha, seed, _spec(
                        p, alg, schedule, alpha, steps or p.stochastic_steps,
                        f"{STOCHASTIC}:seed={seed}")))
    return out


def _mu(spec: RunSpec) -> float:
    return float(__import__("fractions").Fraction(get_problem(spec.problem).params[0]["mu"]))


# ------------------------------------------------------------------------------------------
# records
# ------------------------------------------------------------------------------------------

def online_records(p: Figure1Parameters, runs) -> list[Record]:
    """The claims the online panel makes, each replayable."""
    recs = []
    w = p.window
    for schedule, alpha, spec, view in runs:
        T = spec.steps
        tag = f"α_t = {alpha}/√t" if schedule == "inv-sqrt" else f"α = {alpha}"
        if spec.algorithm == "adam" and (alpha == p.online_alpha or schedule == "constant"):
            recs.append(checked("checkpoint_window", spec, view, series="x", statistic="min",
                                op=">=", value=p.adam_x_min, start_fraction=w,
                                claim=f"Adam ({tag}) goes to the worst point: x_t ≥ "
                                      f"{p.adam_x_min} at every checkpoint t ∈ [{w:g}T, T], "
                                      f"T = {T}"))
            recs.append(checked("checkpoint_window", spec, view, series="average_regret",
                                statistic="min", op=">=", value=p.adam_average_regret_min,
                                start_fraction=w,
                                claim=f"Adam ({tag}) has non-vanishing average regret: R_t/t ≥ "
                                      f"{p.adam_average_regret_min} at every checkpoint "
                                      f"t ∈ [{w:g}T, T] (x = +1 costs 20/101 ≈ 0.198)"))
        if spec.algorithm == "amsgrad" and schedule == "inv-sqrt" and alpha == p.online_alpha:
            recs.append(checked("checkpoint_window", spec, view, series="x", statistic="max",
                                op="<=", value=p.amsgrad_x_max, start_fraction=w,
                                claim=f"AMSGrad ({tag}) goes to the optimum −1: x_t ≤ "
                                      f"{p.amsgrad_x_max} at every checkpoint t ∈ [{w:g}T, T], "
                                      f"T = {T}"))
            recs.append(checked("checkpoint_window", spec, view, series="average_regret",
                                statistic="last", op="<=", value=p.amsgrad_average_regret_max,
                                claim=f"AMSGrad ({tag}): R_T/T ≤ {p.amsgrad_average_regret_max}"
                                      f" at T = {T}"))
            recs.append(checked("window_rate", spec, view, series="regret", op="<=",
                                value=p.amsgrad_rate_max, start_fraction=w,
                                claim=f"AMSGrad ({tag}): the late average regret "
                                      f"(R_T − R_s)/(T − s), s ≈ {w:g}T, is ≤ "
                                      f"{p.amsgrad_rate_max}"))
            recs.append(checked("regret_sublinear", spec, view))
        if spec.algorithm == "amsgrad" and schedule == "constant" and alpha == p.constant_alpha:
            recs.append(checked("checkpoint_window", spec, view, series="x", statistic="last",
                                op="<=", value=p.constant_amsgrad_x_max,
                                claim=f"AMSGrad ({tag}) approaches −1: x_T ≤ "
                                      f"{p.constant_amsgrad_x_max} at T = {T}"))
    return recs


def stochastic_records(p: Figure1Parameters, runs) -> list[Record]:
    recs = []
    w = p.window
    for schedule, alpha, seed, spec, view in runs:
        if schedule != "inv-sqrt" or alpha != p.stochastic_alpha:
            continue
        two_mu = 2 * _mu(spec)
        tag = f"α_t = {alpha}/√t, seed {seed}"
        if spec.algorithm == "adam":
            recs.append(checked(
                "window_rate", spec, view, series="expected_regret", op=">=",
                value=p.stochastic_adam_position_min, start_fraction=w, scale=two_mu,
                claim=f"stochastic Adam ({tag}) goes to the worst point: over the late window "
                      f"(≈{w:g}T, T] its mean iterate x̄ has (x̄+1)/2 ≥ "
                      f"{p.stochastic_adam_position_min} (exact, from the expected regret)"))
        else:
            recs.append(checked(
                "window_rate", spec, view, series="expected_regret", op="<=",
                value=p.stochastic_amsgrad_position_max, start_fraction=w, scale=two_mu,
                claim=f"stochastic AMSGrad ({tag}) goes to the optimum: over the late window "
                      f"(≈{w:g}T, T] its mean iterate x̄ has (x̄+1)/2 ≤ "
                      f"{p.stochastic_amsgrad_position_max}"))
    return recs


#: earlier independent measurements on the Figure 1 sequences (hypotheses here, re-measured),
#: as (algorithm, schedule, α, what, expected, tolerance)
FACTS_ONLINE = (
    ("amsgrad", "inv-sqrt", "0.5", "x_T", -0.997, 0.002),
    ("amsgrad", "inv-sqrt", "1", "x_T", -0.995, 0.002),
    ("amsgrad", "inv-sqrt", "0.1", "x_T", -0.495, 0.01),
    ("amsgrad", "constant", "0.001", "x_T", -0.78, 0.01),
    ("adam", "inv-sqrt", "0.1", "x_T", 1.0, 5e-5),
    ("adam", "inv-sqrt", "0.5", "x_T", 1.0, 5e-5),
    ("adam", "inv-sqrt", "1", "x_T", 1.0, 5e-5),
    ("adam", "constant", "0.001", "x_T", 1.0, 5e-5),
    ("adam", "constant", "0.01", "x_T", 1.0, 5e-5),
    ("adam", "inv-sqrt", "0.5", "R_T/T", 20 / 101, 0.01),
    ("adam", "inv-sqrt", "1", "R_T/T", 20 / 101, 0.01),
    ("adam", "constant", "0.001", "R_T/T", 20 / 101, 0.01),
    ("adam", "constant", "0.01", "R_T/T", 20 / 101, 0.01),
)


def facts_report(p: Figure1Parameters, ctx: Context, bar) -> tuple[Report, list[dict]]:
    """Compare with earlier independent measurements (hypotheses here, re-measured)."""
    T = p.facts_steps
    assert T is not None    # run() calls this only where facts_steps is set
    specs = [_spec(p, alg, sched, alpha, T, ONLINE) for alg, sched, alpha, *_ in FACTS_ONLINE]
    stoch = [s for s in stochastic_specs(p, T, {"inv-sqrt": ("0.5",)})]
    views = run_specs(specs + [s[3] for s in stoch], bar=bar)
    records, rows = [], []
    for (alg, sched, alpha, what, expected, tol), spec, view in zip(FACTS_ONLINE, specs, views):
        series, stat = ("x", "last") if what == "x_T" else ("average_regret", "last")
        tag = f"α_t = {alpha}/√t" if sched == "inv-sqrt" else f"α = {alpha}"
        rec = checked("checkpoint_window", spec, view, series=series, statistic=stat, op="in",
                      value=[expected - tol, expected + tol],
                      claim=f"earlier measurement: {alg} ({tag}) on Figure 1 online has {what} = "
                            f"{expected:.4g} ± {tol:g} at T = {T}",
                      source="Reddi, Kale & Kumar 2018, Figure 1 (online) [reddi2018]; the "
                             "expected value is an earlier independent measurement")
        records.append(rec)
        rows.append({"claim": rec.claim, "expected": expected, "measured": rec.details["value"],
                     "verdict": rec.verdict})
    for (_sched, alpha, seed, spec), view in zip(stoch, views[len(specs):]):
        if spec.algorithm != "amsgrad":
            continue
        rec = checked("window_rate", spec, view, series="expected_regret", op=">=", value=0.05,
                      start_fraction=p.window, scale=2 * _mu(spec),
                      claim=f"earlier measurement: stochastic AMSGrad (α_t = {alpha}/√t, seed "
                            f"{seed}) is still far from −1 after T = {T} steps: late mean x̄ "
                            f"has (x̄+1)/2 ≥ 0.05 (x̄ ≥ −0.9)",
                      source="Reddi, Kale & Kumar 2018, Figure 1 (stochastic) [reddi2018]; "
                             "an earlier independent measurement, another RNG")
        records.append(rec)
        rows.append({"claim": rec.claim, "expected": ">= 0.05", "measured": rec.details["value"],
                     "verdict": rec.verdict})
    rep = ctx.report("Figure 1: earlier measured numbers, re-measured", records,
                     parameters={"steps": T, "beta1": p.beta1, "beta2": p.beta2, "x0": p.x0},
                     seeds={"stochastic": list(p.seeds)})
    return rep, rows


# ------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------

def _series(view, name: str):
    return checkpoint_series(view, name)


def _style(schedule: str, alpha: str, alphas: tuple[str, ...]) -> dict:
    k = alphas.index(alpha) if alpha in alphas else 0
    styles = ("-", "--", ":", "-.")
    return {"linestyle": styles[k % len(styles)]}


def _name(algorithm: str) -> str:
    return "Adam" if algorithm == "adam" else "AMSGrad"


def alpha_label(schedule: str, alpha: str) -> str:
    r"""The step size in mathtext: $\alpha_t = 0.5/\sqrt{t}$ or $\alpha_t = 0.001$."""
    return rf"$\alpha_t = {alpha}/\sqrt{{t}}$" if schedule == "inv-sqrt" else \
        rf"$\alpha_t = {alpha}$"


SCHEDULE_TITLES = {"inv-sqrt": r"$\alpha_t = \alpha/\sqrt{t}$",
                   "constant": r"constant $\alpha_t = \alpha$"}


def online_figure(p: Figure1Parameters, runs, table: Table, style: FigureStyle | None = None):
    schedules = [s for s, a in (("inv-sqrt", p.inv_sqrt_alphas), ("constant", p.constant_alphas))
                 if a]
    fig, axes = new_figure(len(schedules), 2, width=5.2, height=3.4, style=style,
                           aspect=0.55, extra_height=0.35)
    for row, schedule in enumerate(schedules):
        alphas = p.inv_sqrt_alphas if schedule == "inv-sqrt" else p.constant_alphas
        ax_r, ax_x = axes[row]
        for sched, alpha, spec, view in runs:
            if sched != schedule:
                continue
            ts, avg = _series(view, "average_regret")
            _, xs = _series(view, "x")
            _, reg = _series(view, "regret")
            label = f"{_name(spec.algorithm)}, {alpha_label(schedule, alpha)}"
            line = _style(schedule, alpha, alphas)
            color = COLORS[spec.algorithm]
            ax_r.plot(ts, avg, color=color, label=label, **line)
            ax_x.plot(ts, xs, color=color, label=label, **line)
            for t, a, x, r in zip(ts, avg, xs, reg):
                table.add("online", spec.algorithm, schedule, float(alpha), None, t, x, r, a,
                          None, None)
        ax_r.axhline(20 / 101, color="0.5", linewidth=0.8, linestyle=":",
                     label=r"$20/101$: $x_t \equiv +1$")
        for ax in (ax_r, ax_x):
            ax.set_xscale("log")
            ax.set_xlabel(r"step $t$")
            ax.grid(True, which="major", alpha=0.3)
        ax_r.set_yscale("log")
        ax_r.set_ylabel(r"average regret $R_t/t$")
        ax_x.set_ylabel(r"iterate $x_t$")
        ax_x.set_ylim(-1.08, 1.08)
        if annotates(style):
            heading = SCHEDULE_TITLES[schedule]
            ax_r.set_title(f"online, {heading}: average regret", fontsize=9)
            ax_x.set_title(f"online, {heading}: iterate", fontsize=9)
        else:
            ax_r.set_title(SCHEDULE_TITLES[schedule], loc="left")
    shared_legend(fig, [ax for row in axes for ax in row], ncol=3)
    note(axes[0][0], f"T = {p.online_steps:.0e}, β1 = {p.beta1}, β2 = {p.beta2}, x_1 = {p.x0}\n"
                     f"pass: Adam min x_t ≥ {p.adam_x_min}, min R_t/t ≥ "
                     f"{p.adam_average_regret_min}\non t ∈ [{p.window:g}T, T]; AMSGrad "
                     f"(α = {p.online_alpha}/√t) max x_t ≤ {p.amsgrad_x_max},\nR_T/T ≤ "
                     f"{p.amsgrad_average_regret_max}, late rate ≤ {p.amsgrad_rate_max}",
         loc="lower left", style=style)
    title(fig, "Reddi et al. Figure 1 (online): f_t = 1010x every 101 steps, −10x otherwise, "
               "on [−1, 1]; optimum x* = −1", style)
    footer(fig, "paper's Adam and AMSGrad (no bias correction); the paper states no α. "
                "Re-check: amsgrad-theory verify --sidecar figure1-online.json", style=style)
    return fig


def stochastic_figure(p: Figure1Parameters, runs, table: Table,
                      style: FigureStyle | None = None):
    """Per (algorithm, α): the mean over the seeds and the 10–90 % quantile band."""
    schedules = [s for s, a in (("inv-sqrt", p.stochastic_inv_sqrt_alphas),
                                ("constant", p.stochastic_constant_alphas)) if a]
    fig, axes = new_figure(len(schedules), 3, width=4.4, height=3.3, style=style,
                           aspect=0.8, extra_height=0.3)
    lo, hi = BAND
    for row, schedule in enumerate(schedules):
        alphas = p.stochastic_inv_sqrt_alphas if schedule == "inv-sqrt" else \
            p.stochastic_constant_alphas
        ax_r, ax_e, ax_x = axes[row]
        groups: dict = {}
        for sched, alpha, seed, spec, view in runs:
            if sched != schedule:
                continue
            ts, avg = _series(view, "average_regret")
            _, eavg = _series(view, "expected_average_regret")
            _, xs = _series(view, "x")
            _, reg = _series(view, "regret")
            _, ereg = _series(view, "expected_regret")
            group = groups.setdefault((spec.algorithm, alpha), {"t": ts, "avg": [], "eavg": [],
                                                                "x": []})
            if list(group["t"]) != list(ts):
                raise ValueError(f"seed {seed} has other checkpoints than seed {p.seeds[0]}")
            group["avg"].append(avg)
            group["eavg"].append(eavg)
            group["x"].append(xs)
            for t, a, x, r, e in zip(ts, avg, xs, reg, ereg):
                table.add("stochastic", spec.algorithm, schedule, float(alpha), seed, t, x, r, a,
                          e, None if e is None else e / t)
        for (algorithm, alpha), group in groups.items():
            label = f"{_name(algorithm)}, {alpha_label(schedule, alpha)}"
            line = {**_style(schedule, alpha, alphas), "color": COLORS[algorithm]}
            mean_band(ax_r, group["t"], group["avg"], label=label, **line)
            mean_band(ax_e, group["t"], group["eavg"], **line)
            mean_band(ax_x, group["t"], group["x"], **line)
        for ax in (ax_r, ax_e, ax_x):
            ax.set_xscale("log")
            ax.set_xlabel(r"step $t$")
            ax.grid(True, which="major", alpha=0.3)
        ax_r.set_yscale("symlog", linthresh=0.1)
        ax_r.set_yticks([-1, -0.1, 0, 0.1, 1, 10])
        ax_r.set_yticklabels(["$-1$", "$-0.1$", "$0$", "$0.1$", "$1$", "$10$"])
        ax_r.set_ylabel(r"realised $R_t/t$")
        ax_e.set_yscale("log")
        plain_log_ticks(ax_e.yaxis)
        ax_e.set_ylabel(r"expected $R_t/t$")
        ax_e.axhline(0.4, color="0.5", linewidth=0.8, linestyle=":")
        ax_x.set_ylabel(r"iterate $x_t$")
        ax_x.set_ylim(-1.08, 1.08)
        if annotates(style):
            heading = SCHEDULE_TITLES[schedule]
            ax_r.set_title(f"stochastic, {heading}: realised average regret", fontsize=8.5)
            ax_e.set_title(f"stochastic, {heading}: expected average regret", fontsize=8.5)
            ax_x.set_title(f"stochastic, {heading}: iterate", fontsize=8.5)
        elif len(schedules) > 1:
            ax_r.set_title(SCHEDULE_TITLES[schedule], loc="left")
    shared_legend(fig, [row[0] for row in axes], ncol=4,
                  title=None if annotates(style) else
                  f"mean over {len(p.seeds)} seed{'s' if len(p.seeds) > 1 else ''}, band: "
                  f"{lo:.0%}–{hi:.0%} quantiles")
    note(axes[0][1], f"T = {p.stochastic_steps:.0e}, β1 = {p.beta1}, β2 = {p.beta2}, "
                     f"x_1 = {p.x0}\nseeds {', '.join(map(str, p.seeds))}; F(x) = 0.2x, "
                     "F(+1) − F(−1) = 0.4\n"
                     f"pass (α = {p.stochastic_alpha}/√t, late window): Adam (x̄+1)/2 ≥ "
                     f"{p.stochastic_adam_position_min},\nAMSGrad (x̄+1)/2 ≤ "
                     f"{p.stochastic_amsgrad_position_max}", loc="lower right", style=style)
    title(fig, "Reddi et al. Figure 1 (stochastic): f_t = 1010x with probability 0.01, else "
               "−10x, on [−1, 1]", style)
    footer(fig, "Re-check: amsgrad-theory verify --sidecar figure1-stochastic.json", style=style)
    return fig


TABLE_COLUMNS = ["panel", "algorithm", "schedule", "alpha", "seed", "t", "x", "regret",
                 "average_regret", "expected_regret", "expected_average_regret"]


def run(p: Figure1Parameters, ctx: Context) -> dict:
    online = online_specs(p)
    stoch = stochastic_specs(p)
    facts_specs = 0 if not p.facts_steps else (len(FACTS_ONLINE) + 2 * len(p.seeds)) * \
        p.facts_steps
    total = lane_steps([s for _, _, s in online]) + lane_steps([s[3] for s in stoch]) + \
        facts_specs
    with ctx.bar(total, "Figure 1 runs", unit="step") as bar:
        views = run_specs([s for _, _, s in online], bar=bar)
        online_runs = [(sch, a, s, v) for (sch, a, s), v in zip(online, views)]
        views = run_specs([s[3] for s in stoch], bar=bar)
        stoch_runs = [(*s[:3], s[3], v) for s, v in zip(stoch, views)]
        facts = facts_report(p, ctx, bar) if p.facts_steps else None

    params = {k: getattr(p, k) for k in p.__dataclass_fields__}
    table = Table(list(TABLE_COLUMNS))
    fig = online_figure(p, online_runs, table, ctx.style)
    recs = online_records(p, online_runs)
    ctx.save_figure(fig, "figure1-online", table=table, records=recs,
                    title="Reddi et al. Figure 1 (online): Adam → +1, AMSGrad → −1",
                    parameters=params, seeds={}, caption=_caption_online(p))
    table_s = Table(list(TABLE_COLUMNS))
    fig = stochastic_figure(p, stoch_runs, table_s, ctx.style)
    recs_s = stochastic_records(p, stoch_runs)
    ctx.save_figure(fig, "figure1-stochastic", table=table_s, records=recs_s,
                    title="Reddi et al. Figure 1 (stochastic): Adam → +1, AMSGrad → −1",
                    parameters=params, seeds={"problem_seeds": list(p.seeds)},
                    caption=_caption_stochastic(p))
    results = {"online": _online_numbers(online_runs), "stochastic": _stoch_numbers(stoch_runs)}
    out: dict[str, Any] = {"results": results, "source": SOURCE}
    if facts is not None:
        rep, rows = facts
        ctx.write_report("figure1-facts.json", rep)
        out["facts"] = rows
        out["facts_contradicted"] = [r for r in rows if r["verdict"] != "pass"]
    return out


def _online_numbers(runs) -> list[dict]:
    out = []
    for schedule, alpha, spec, view in runs:
        ts, avg = _series(view, "average_regret")
        _, xs = _series(view, "x")
        out.append({"algorithm": spec.algorithm, "schedule": schedule, "alpha": alpha,
                    "T": spec.steps, "x_T": finite_or_none(xs[-1]),
                    "average_regret_T": finite_or_none(avg[-1])})
    return out


def _stoch_numbers(runs) -> list[dict]:
    out = []
    for schedule, alpha, seed, spec, view in runs:
        _, xs = _series(view, "x")
        rate, s = window_rate_value(view, "expected_regret", 0.1)
        xbar = None if rate is None else rate / _mu(spec) - 1
        out.append({"algorithm": spec.algorithm, "schedule": schedule, "alpha": alpha,
                    "seed": seed, "T": spec.steps, "x_T": finite_or_none(xs[-1]),
                    "late_mean_x": finite_or_none(xbar)})
    return out


def _caption_online(p: Figure1Parameters) -> str:
    return (f"Average regret R_t/t (left) and iterate x_t (right) of the paper's Adam and "
            f"AMSGrad (no bias correction, projection onto [−1, 1]) on the online problem of "
            f"Reddi et al. (2018), Figure 1: f_t(x) = 1010x when t mod 101 = 1, else −10x; "
            f"x* = −1, and x ≡ +1 costs R_t/t = 20/101 (dotted). β1 = {p.beta1}, β2 = "
            f"{p.beta2}, x_1 = {p.x0}, T = {p.online_steps}; α_t = α/√t with α ∈ "
            f"{{{', '.join(p.inv_sqrt_alphas)}}}"
            + (f" and constant α ∈ {{{', '.join(p.constant_alphas)}}}"
               if p.constant_alphas else "") + ".")


def _caption_stochastic(p: Figure1Parameters) -> str:
    lo, hi = BAND
    return (f"The stochastic version (f_t(x) = 1010x with probability 0.01, else −10x; "
            f"F(x) = E f_t(x) = 0.2x): realised average regret R_t/t against the hindsight "
            f"comparator, expected average regret Σ_s (F(x_s) − F(−1))/t (dotted: 0.4, the "
            f"worst point) and the iterate x_t; lines are the mean over {len(p.seeds)} seed"
            f"{'s' if len(p.seeds) != 1 else ''} ({', '.join(map(str, p.seeds))}), bands the "
            f"{lo:.0%}–{hi:.0%} quantiles across them. β1 = {p.beta1}, β2 = {p.beta2}, "
            f"x_1 = {p.x0}, T = {p.stochastic_steps}.")


STUDY = Study(name="figure1", title="Reddi et al. Figure 1: Adam vs AMSGrad on the synthetic "
              "example", parameters=Figure1Parameters, run=run, sizes=SIZES, source=SOURCE)
