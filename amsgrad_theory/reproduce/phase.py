"""Where Adam fails: the smallest bad C over a (β1, β2) grid, for Theorems 2 and 3 of Reddi et al.

Families (Reddi, Kale & Kumar 2018, Theorems 2 and 3 [reddi2018]):

* Theorem 2 (online, period C): f_t(x) = C·x if t mod C = 1, else −x, on F = [−1, 1]
  (``periodic-linear:C=C,c=1,period=C``). A period sums to x, so x* = −1, and sitting at the
  worst point +1 costs 2 per period: the worst average regret is 2/C.
* Theorem 3 (stochastic): f_t(x) = C·x with probability p = (1+δ)/(C+1), else −x
  (``reddi-theorem3:C=C,delta=δ,seed=s``); F(x) = E f_t(x) = μ·x with μ = δ (exactly, up to the
  2⁻³² threshold grid), x* = −1, worst expected average regret 2μ.

Both theorems say: for β1 < √β2 *some* C makes Adam's average regret stay bounded away from 0.
They do not say which C, nor that larger C keep failing, nor anything for β1 ≥ √β2. This study
measures it. For each (β1, β2) and each candidate C, Adam (the paper's, α_t = α/√t, x_1 = 0, with
projection onto F) runs T steps, as one batch per family (numba lanes on the CPU; the same batch
runs on torch with ``arithmetic="torch:cuda:float64"`` — the ``arithmetics_agree`` record checks
torch against float64 on one instance).

"Fails at C within horizon H" means, over the last decade (H/10, H] of the run:

* the iterate sits at the wrong end: x̄ ≥ ``x_threshold`` (0.9), where x̄ is the mean of x_t
  over the checkpoints of the window (Theorem 2), or exactly (from the expected regret, which is
  μ Σ (x_t + 1); Theorem 3); and
* the average regret of the window is bounded away from 0: (R_H − R_s)/(H − s) ≥
  ``rate_threshold`` × the worst rate (2/C, or 2μ for the expected regret), s ≈ H/10.

Both conditions are needed: for large C AMSGrad's iterate makes an O(C·α/√t) sawtooth within a
period whose regret can exceed 2/C per step at finite t while the iterate heads to −1 (the rate
condition alone would flag it); Adam's failure is the drift to +1 that the proofs construct
(x_{t+C} ≥ min{1, x_t + λ/√t}). C* = the smallest failing candidate, found by a coarse scan and
then every integer between the last passing and the first failing coarse candidate; evaluated
at H = T and H = T/10 to show how the finite horizon moves it. For Theorem 3, C fails only if it
fails on every seed. AMSGrad runs on exactly the same instances for contrast.

Known: the ``reddi-theorem2`` alias of the problem registry keeps period 3 whatever C (a core
bug, reported); this study spells the family as ``periodic-linear``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np

from ..engine import RunSpec, map_specs
from ..plots import (
    COLORS,
    FigureStyle,
    Table,
    annotates,
    footer,
    new_figure,
    note,
    plain_log_ticks,
    title,
)
from ..records import Record
from ..verify.checks import register
from ..verify.run_checks import checkpoint_series
from .base import Context, Study, checked

SOURCE = ("Reddi, Kale, Kumar, ICLR 2018, Theorems 2 and 3 (β1 < √β2) and their constructions "
          "[reddi2018]")
FAMILIES = ("theorem2", "theorem3")
TITLES = {"theorem2": "Theorem 2 family (online, period C)",
          "theorem3": "Theorem 3 family (stochastic, p = (1+δ)/(C+1))"}
SHORT_TITLES = {"theorem2": "Theorem 2", "theorem3": "Theorem 3"}


@dataclass(frozen=True)
class PhaseParameters:
    """Parameters of the phase study (defaults: the ``small`` size)."""

    beta1s: tuple[str, ...] = ("0", "0.3", "0.5", "0.7", "0.9")
    beta2s: tuple[str, ...] = ("0.1", "0.3", "0.5", "0.7", "0.9", "0.99", "0.999")
    candidates: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 70, 100, 150, 200)
    alpha: str = "0.5"
    x0: str = "0"
    steps: int = 100_000
    delta: str = "0.1"
    seeds: tuple[int, ...] = (0, 1)
    x_threshold: float = 0.9
    rate_threshold: float = 0.5
    refine: bool = True
    arithmetic: str = "float64"
    #: the torch-vs-float64 agreement record (steps of one instance; 0: skip)
    agreement_steps: int = 2000


SIZES = {
    "tiny": {"beta1s": ("0", "0.9"), "beta2s": ("0.5", "0.99"), "candidates": (2, 4, 8, 16),
             "steps": 3000, "seeds": (0,), "refine": False, "agreement_steps": 200},
    "small": {},
    "paper": {"beta1s": ("0", "0.2", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "0.95"),
              "beta2s": ("0.1", "0.3", "0.5", "0.7", "0.8", "0.9", "0.95", "0.99", "0.995",
                         "0.999", "0.9999"),
              "candidates": (2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 70, 100, 150,
                             200, 300, 500, 700, 1000),
              "steps": 1_000_000, "seeds": (0, 1, 2)},
    # a 100 × 100 grid, for a cluster (README, "Beyond one machine"): β1 = 0, 0.01, …, 0.99,
    # and β2 spaced evenly in log(1 − β2) from 0.9 down to 0.001 (β2 = 0.1 … 0.999), so the
    # boundary β1 = √β2 crosses the map smoothly; ≈ 1e11 lane-steps before refinement
    "large": {"beta1s": tuple(f"{k / 100:g}" for k in range(100)),
              "beta2s": tuple(f"{1 - 0.9 * (0.001 / 0.9) ** (k / 99):.6g}" for k in range(100)),
              "candidates": (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 70, 100, 150, 200),
              "steps": 100_000, "seeds": (0, 1)},
}


def problem_spec(family: str, C: int, delta: str = "0.1", seed: int = 0) -> str:
    if family == "theorem2":
        return f"periodic-linear:C={C},c=1,period={C}"
    if family == "theorem3":
        return f"reddi-theorem3:C={C},delta={delta},seed={seed}"
    raise ValueError(f"family={family!r}: must be one of {', '.join(FAMILIES)}")


def template(p: PhaseParameters, algorithm: str, family: str, beta1: str, beta2: str,
             steps: int | None = None) -> RunSpec:
    """The run of one grid point (its problem: the first candidate; the check varies C)."""
    return RunSpec(algorithm=algorithm, problem=problem_spec(family, p.candidates[0], p.delta),
                   steps=steps or p.steps, arithmetic=p.arithmetic, x0=p.x0,
                   hyperparameters={"alpha": p.alpha, "beta1": beta1, "beta2": beta2})


def evaluate_horizons(view, C: int, *, family: str, horizons, x_threshold: float,
                      rate_threshold: float) -> list[dict]:
    """:func:`evaluate` at every horizon: what one run of the grid reduces to (plain rows, so
    that a Dask worker returns these and not the run; :func:`~amsgrad_theory.engine.map_specs`)."""
    return [evaluate(view, family, C, h, x_threshold, rate_threshold) for h in horizons]


def evaluate(view, family: str, C: int, horizon: int, x_threshold: float,
             rate_threshold: float) -> dict:
    """x̄ and the regret-rate ratio over the window (horizon/10, horizon]; fails or not."""
    inst = view.instances[0]
    ts = [int(t) for t in inst.checkpoints["t"]]
    k_end = max(k for k, t in enumerate(ts) if t <= horizon)   # the checkpoint ≤ horizon
    end = ts[k_end]
    k_start = max(k for k, t in enumerate(ts) if t <= end / 10)
    s = ts[k_start]
    if family == "theorem2":
        _, xs = checkpoint_series(view, "x")
        _, reg = checkpoint_series(view, "regret")
        window = [x for t, x in zip(ts, xs) if s < t <= end]
        xbar = sum(window) / len(window)
        rate = (reg[k_end] - reg[k_start]) / (end - s)
        ratio = rate / (2.0 / C)
    else:
        mu = float(Fraction(view.problem.params[0]["mu"]))
        _, er = checkpoint_series(view, "expected_regret")
        rate = (er[k_end] - er[k_start]) / (end - s)
        ratio = rate / (2.0 * mu)
        xbar = 2.0 * ratio - 1.0
    fails = bool(xbar >= x_threshold and ratio >= rate_threshold)
    return {"C": C, "horizon": horizon, "window_from": s, "mean_x": xbar, "rate_ratio": ratio,
            "fails": fails}


def failures(spec: RunSpec, family: str, candidates: list[int], beta1: str, beta2: str, *,
             seeds=(0,), delta: str = "0.1", x_threshold: float = 0.9,
             rate_threshold: float = 0.5, horizons=None, bar=None) -> list[dict]:
    """Evaluate every candidate C of one grid point (all seeds batched in one run)."""
    grid = {(beta1, beta2): list(candidates)}
    rows = evaluate_grid(spec, family, grid, seeds=seeds, delta=delta, x_threshold=x_threshold,
                         rate_threshold=rate_threshold, horizons=horizons, bar=bar)
    return rows[(beta1, beta2)]


def evaluate_grid(spec: RunSpec, family: str, grid: dict, *, seeds=(0,), delta: str = "0.1",
                  x_threshold: float = 0.9, rate_threshold: float = 0.5, horizons=None,
                  bar=None, client=None) -> dict:
    """{(β1, β2): rows} for every candidate C of every grid point, as one batch per family.

    ``spec`` gives the algorithm, steps, α, x_1 and arithmetic; a row per (C, horizon) holds
    x̄, the rate ratio and ``fails`` (every seed fails, for Theorem 3). ``client``: a Dask
    client (``reproduce phase --workers N / --scheduler``): the grid's runs are cut into tasks
    that each return their rows (:func:`~amsgrad_theory.engine.map_specs`); same rows.
    """
    horizons = horizons or [spec.steps]
    seeds = list(seeds) if family == "theorem3" else [0]
    specs, keys = [], []
    for (b1, b2), cands in grid.items():
        for C in cands:
            for seed in seeds:
                hp = dict(spec.hyperparameters, beta1=b1, beta2=b2)
                specs.append(spec.with_(problem=problem_spec(family, C, delta, seed),
                                        hyperparameters=hp))
                keys.append((b1, b2, C, seed))
    reduce = partial(evaluate_horizons, family=family, horizons=list(horizons),
                     x_threshold=x_threshold, rate_threshold=rate_threshold)
    evaluated = map_specs(specs, reduce, [C for _, _, C, _ in keys], bar=bar, client=client)
    per: dict = {}
    for (b1, b2, C, _seed), rows_of_run in zip(keys, evaluated):
        for h, row in zip(horizons, rows_of_run):
            per.setdefault((b1, b2), {}).setdefault((C, h), []).append(row)
    out: dict = {}
    for point, cells in per.items():
        rows = []
        for (C, h), seed_rows in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            rows.append({"C": C, "horizon": h,
                         "mean_x": min(r["mean_x"] for r in seed_rows),
                         "rate_ratio": min(r["rate_ratio"] for r in seed_rows),
                         "fails": all(r["fails"] for r in seed_rows),
                         "seeds": len(seed_rows)})
        out[point] = rows
    return out


def smallest_failing(rows: list[dict], horizon: int) -> int | None:
    failing = [r["C"] for r in rows if r["horizon"] == horizon and r["fails"]]
    return min(failing) if failing else None


def _refinement(rows: list[dict], horizon: int) -> list[int]:
    """Integers strictly between the largest passing candidate below C* and C*."""
    cstar = smallest_failing(rows, horizon)
    if cstar is None:
        return []
    below = [r["C"] for r in rows if r["horizon"] == horizon and r["C"] < cstar]
    if not below:
        return []
    return list(range(max(below) + 1, cstar))


def search(p: PhaseParameters, algorithm: str, family: str, ctx: Context, bar) -> dict:
    """Coarse scan over the candidates, then every integer in the gap below the first failure."""
    spec = template(p, algorithm, family, p.beta1s[0], p.beta2s[0])
    horizons = [p.steps, p.steps // 10]
    grid = {(b1, b2): list(p.candidates) for b1 in p.beta1s for b2 in p.beta2s}
    rows = evaluate_grid(spec, family, grid, seeds=p.seeds, delta=p.delta,
                         x_threshold=p.x_threshold, rate_threshold=p.rate_threshold,
                         horizons=horizons, bar=bar, client=ctx.client)
    if p.refine:
        extra = {pt: _refinement(r, p.steps) for pt, r in rows.items()}
        extra = {pt: c for pt, c in extra.items() if c}
        if extra:
            more = evaluate_grid(spec, family, extra, seeds=p.seeds, delta=p.delta,
                                 x_threshold=p.x_threshold, rate_threshold=p.rate_threshold,
                                 horizons=horizons, bar=bar, client=ctx.client)
            for pt, r in more.items():
                rows[pt] = sorted(rows[pt] + r, key=lambda row: (row["horizon"], row["C"]))
    return rows


def _work(p: PhaseParameters) -> int:
    n = len(p.beta1s) * len(p.beta2s) * len(p.candidates)
    return 2 * n * p.steps * (1 + len(p.seeds))


def run(p: PhaseParameters, ctx: Context) -> dict:
    results: dict = {}
    with ctx.bar(_work(p), "grid × C batches", unit="step") as bar:
        for family in FAMILIES:
            for algorithm in ("adam", "amsgrad"):
                results[(family, algorithm)] = search(p, algorithm, family, ctx, bar)
    records: list[Record] = []
    with ctx.bar(len(p.beta1s) * len(p.beta2s) * 4, "records", unit="point") as bar:
        for (family, algorithm), rows in results.items():
            for (b1, b2), r in rows.items():
                cands = sorted({row["C"] for row in r if row["horizon"] == p.steps})
                cstar = smallest_failing(r, p.steps)
                spec = template(p, algorithm, family, b1, b2)
                inside = float(b1) < math.sqrt(float(b2))
                what = "Adam" if algorithm == "adam" else "AMSGrad"
                result = f"C* = {cstar}" if cstar is not None else \
                    f"no C ≤ {max(cands)} fails"
                rec = checked("phase_search", spec, r, family=family, candidates=cands,
                              beta1=b1, beta2=b2, expected=cstar, horizon=p.steps,
                              seeds=list(p.seeds) if family == "theorem3" else [0],
                              delta=p.delta, x_threshold=p.x_threshold,
                              rate_threshold=p.rate_threshold,
                              claim=f"{what}, {TITLES[family]}, (β1, β2) = ({b1}, {b2}) "
                                    f"[{'β1 < √β2' if inside else 'β1 ≥ √β2'}]: {result} "
                                    f"within T = {p.steps} (x̄ ≥ {p.x_threshold} and late "
                                    f"regret ≥ {p.rate_threshold}× worst)")
                records.append(rec)
                bar.update(1)
    if p.agreement_steps:
        spec = template(p, "adam", "theorem2", p.beta1s[0], p.beta2s[-1],
                        steps=p.agreement_steps).with_(arithmetic="float64")
        records.append(checked("arithmetics_agree", spec, None,
                               arithmetics=["torch:cpu:float64", "float64"], rtol=1e-9))
    table = Table(["family", "algorithm", "beta1", "beta2", "inside_condition", "C", "horizon",
                   "mean_x", "rate_ratio", "fails", "smallest_failing_C"])
    summary = []
    for (family, algorithm), rows in results.items():
        for (b1, b2), r in rows.items():
            inside = float(b1) < math.sqrt(float(b2))
            for h in (p.steps, p.steps // 10):
                cstar = smallest_failing(r, h)
                for row in r:
                    if row["horizon"] == h:
                        table.add(family, algorithm, b1, b2, inside, row["C"], h, row["mean_x"],
                                  row["rate_ratio"], row["fails"], cstar)
                summary.append({"family": family, "algorithm": algorithm, "beta1": b1,
                                "beta2": b2, "inside_condition": inside, "horizon": h,
                                "smallest_failing_C": cstar})
    fig = figure(p, results, ctx.style)
    mapped = mapped_algorithms(p, results)
    ctx.save_figure(fig, "phase", table=table, records=records,
                    title="Where Adam fails: smallest bad C over (β1, β2), Theorems 2 and 3",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    seeds={"theorem3": list(p.seeds)},
                    caption=f"The smallest C among {{{', '.join(map(str, p.candidates))}}} "
                            f"(refined to every integer below the first failure) at which "
                            f"Adam fails within T = {p.steps} steps on the constructions of "
                            f"Reddi et al.'s (2018) Theorem 2 (online, period C; top) and "
                            f"Theorem 3 (stochastic, δ = {p.delta}, every seed of "
                            f"{', '.join(map(str, p.seeds))} failing; bottom), over the "
                            f"(β1, β2) grid, α_t = {p.alpha}/√t, x_1 = {p.x0}: '—' where no "
                            f"candidate fails, in parentheses C* within T/10 where it differs; "
                            f"hatched: β1 ≥ √β2, outside the theorems' condition (the line "
                            f"β1 = √β2). Fails: the late mean iterate x̄ ≥ {p.x_threshold} and "
                            f"the late regret ≥ {p.rate_threshold}× the worst. "
                            + ("AMSGrad fails at no grid point (its x̄ is dashed on the right)"
                               if mapped == ["adam"] else "AMSGrad's map for contrast")
                            + f"; right: x̄ against C at β1 = {p.beta1s[0]}.")
    adam_fail_outside = [s for s in summary if s["algorithm"] == "adam" and s["horizon"] ==
                         p.steps and not s["inside_condition"] and s["smallest_failing_C"]]
    ams_fail = [s for s in summary if s["algorithm"] == "amsgrad" and s["horizon"] == p.steps
                and s["smallest_failing_C"]]
    adam_never = [s for s in summary if s["algorithm"] == "adam" and s["horizon"] == p.steps
                  and s["smallest_failing_C"] is None]
    adam_fail = [s for s in summary if s["algorithm"] == "adam" and s["horizon"] == p.steps
                 and s["smallest_failing_C"]]
    highlights = [
        f"Adam fails at some C ≤ {max(p.candidates)} at {len(adam_fail)}/"
        f"{len(p.beta1s) * len(p.beta2s) * 2} grid points (both families)",
        f"of which {len(adam_fail_outside)} lie outside β1 < √β2 (the theorems say nothing there)",
        f"AMSGrad fails at {len(ams_fail)} grid points",
        f"Adam: no failing C within the candidates at {len(adam_never)} grid points "
        "(a larger C or T may be needed)",
    ]
    worst_ams = max(((row["mean_x"], fam, b1, b2, row["C"])
                     for (fam, alg), rows in results.items() if alg == "amsgrad"
                     for (b1, b2), r in rows.items() for row in r if row["horizon"] == p.steps),
                    default=None)
    if worst_ams is not None:
        highlights.append(f"AMSGrad's largest late mean iterate: x̄ = {worst_ams[0]:.3f} "
                          f"({worst_ams[1]}, β1 = {worst_ams[2]}, β2 = {worst_ams[3]}, C = "
                          f"{worst_ams[4]}) — below the {p.x_threshold} threshold; large C slow "
                          "AMSGrad down (its step after a spike is ≈ α/(√t·C·√(1−β2)))")
    return {"results": summary, "highlights": highlights, "source": SOURCE,
            "adam_fails_outside_condition": adam_fail_outside, "amsgrad_fails": ams_fail}


def _text_color(cmap, norm, value) -> str:
    """Black on light cells, white on dark ones (by the cell colour's luminance)."""
    if value is None:
        return "black"
    r, g, b, _ = cmap(norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def mapped_algorithms(p: PhaseParameters, results: dict) -> list[str]:
    """The algorithms drawn as maps of C*: Adam always, AMSGrad only where it fails at some
    grid point (else its map would be all '—'; its x̄ stays on the line panels)."""
    fails = any(smallest_failing(r, p.steps) is not None
                for (_family, algorithm), rows in results.items() if algorithm == "amsgrad"
                for r in rows.values())
    return ["adam", "amsgrad"] if fails else ["adam"]


def figure(p: PhaseParameters, results: dict, style: FigureStyle | None = None):
    import matplotlib  # matplotlib: imported only when a figure is drawn
    import matplotlib.ticker
    from matplotlib.colors import LogNorm

    report = annotates(style)
    mapped = ["adam", "amsgrad"] if report else mapped_algorithms(p, results)
    fig, axes = new_figure(2, len(mapped) + 1, width=4.3, height=3.6, style=style,
                           aspect=0.56, extra_height=0.3)
    cmap = matplotlib.colormaps["viridis_r"].with_extremes(bad="white")
    norm = LogNorm(vmin=min(p.candidates), vmax=max(p.candidates))
    nb1, nb2 = len(p.beta1s), len(p.beta2s)
    # a dense grid (``large``) is a map: no number per cell, a tick every tenth row/column,
    # and the x̄ panel at seven β2 spread over the grid
    dense = nb1 * nb2 > 200
    every1, every2 = (max(1, nb1 // 10), max(1, nb2 // 10)) if dense else (1, 1)
    shown_b2 = [p.beta2s[round(k * (nb2 - 1) / 6)] for k in range(7)] if dense else p.beta2s
    image = None
    for row, family in enumerate(FAMILIES):
        for col, algorithm in enumerate(mapped):
            ax = axes[row][col]
            rows = results[(family, algorithm)]
            grid = np.full((nb1, nb2), np.nan)
            for i, b1 in enumerate(p.beta1s):
                for j, b2 in enumerate(p.beta2s):
                    cstar = smallest_failing(rows[(b1, b2)], p.steps)
                    early = smallest_failing(rows[(b1, b2)], p.steps // 10)
                    if cstar is not None:
                        grid[i, j] = cstar
                    if dense:
                        continue
                    text = str(cstar) if cstar is not None else "—"
                    if early != cstar:
                        text += f"\n({early if early is not None else '—'})"
                    ax.text(j, i, text, ha="center", va="center",
                            fontsize=6.5 if report else 6, color=_text_color(cmap, norm, cstar))
                    if float(b1) >= math.sqrt(float(b2)):
                        ax.add_patch(matplotlib.patches.Rectangle(
                            (j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                            edgecolor="0.6", linewidth=0, alpha=0.6))
            image = ax.imshow(np.ma.masked_invalid(grid), origin="lower", cmap=cmap, norm=norm,
                              aspect="auto")
            # the curve β1 = √β2 between cells: the theorems' condition is below it
            xs, ys = [], []
            for j, b2 in enumerate(p.beta2s):
                inside = [i for i, b1 in enumerate(p.beta1s) if float(b1) < math.sqrt(float(b2))]
                level = (max(inside) + 0.5) if inside else -0.5
                xs += [j - 0.5, j + 0.5]
                ys += [level, level]
            ax.plot(xs, ys, color=COLORS[algorithm], linewidth=2.0)
            ax.set_xticks(range(0, nb2, every2))
            ax.set_xticklabels(p.beta2s[::every2], rotation=45, fontsize=7 if report else None)
            ax.set_yticks(range(0, nb1, every1))
            ax.set_yticklabels(p.beta1s[::every1], fontsize=7 if report else None)
            ax.set_xlabel("β2" if report else r"$\beta_2$")
            ax.set_ylabel("β1" if report else r"$\beta_1$")
            name = "Adam" if algorithm == "adam" else "AMSGrad"
            ax.set_title(f"{name}: smallest failing C\n{TITLES[family]}" if report else
                         f"{SHORT_TITLES[family]}: {name}'s smallest failing $C$",
                         fontsize=8 if report else None)
        # the raw data: x̄ against C at the first β1, for each β2 (Adam solid, AMSGrad dashed)
        ax = axes[row][len(mapped)]
        b1 = p.beta1s[0]
        cm = matplotlib.colormaps["plasma"]
        for j, b2 in enumerate(shown_b2):
            color = cm(j / max(1, len(shown_b2) - 1) * 0.85)
            for algorithm, line in (("adam", "-"), ("amsgrad", "--")):
                r = [x for x in results[(family, algorithm)][(b1, b2)] if x["horizon"] == p.steps]
                ax.plot([x["C"] for x in r], [x["mean_x"] for x in r], line, color=color,
                        linewidth=1.1, label=f"β2 = {b2}" if algorithm == "adam" else None)
        ax.axhline(p.x_threshold, color="0.4", linestyle=":", linewidth=0.9)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("C" if report else r"$C$")
        ax.set_ylabel("late mean iterate x̄ (window (T/10, T])" if report else
                      r"late mean iterate $\bar x$")
        ax.set_title(f"x̄ against C at β1 = {b1}: Adam (solid), AMSGrad (dashed)" if report else
                     rf"{SHORT_TITLES[family]}: $\bar x$ at $\beta_1 = {b1}$",
                     fontsize=8 if report else None)
        ax.grid(True, alpha=0.3)
        if report:
            ax.legend(fontsize=6, loc="center right")
    if not report:
        from matplotlib.lines import Line2D  # matplotlib: only when a figure is drawn

        handles, labels = axes[0][len(mapped)].get_legend_handles_labels()
        key = [Line2D([], [], color="0.3", linestyle="-"), Line2D([], [], color="0.3",
                                                                   linestyle="--")]
        fig.legend(key + handles, ["Adam", "AMSGrad"] + [f"${label}$".replace("β2", r"\beta_2")
                                                         for label in labels],
                   loc="outside lower center", ncol=min(8, len(labels) + 2))
    if image is not None:
        bar = fig.colorbar(image, ax=[row[len(mapped) - 1] for row in axes],
                           label="smallest failing C" if report else r"smallest failing $C$",
                           shrink=0.8)
        plain_log_ticks(bar.ax.yaxis)
    note(axes[0][-1], f"T = {p.steps:.0e}, α_t = {p.alpha}/√t, x_1 = {p.x0}; fails: x̄ ≥ "
                     f"{p.x_threshold}\nand late regret ≥ {p.rate_threshold}× worst; thick line "
                     "β1 = √β2,\nhatched: β1 ≥ √β2 (outside the theorems' condition)\n"
                     f"(in parentheses: C* at T/10); Thm 3: δ = {p.delta}, seeds "
                     f"{', '.join(map(str, p.seeds))}", loc="lower right", fontsize=6,
         style=style)
    title(fig, "Where Adam fails: the smallest C of Reddi et al.'s constructions, over "
               "(β1, β2)", style)
    footer(fig, "candidates C ∈ {" + ", ".join(map(str, p.candidates)) + "} (+ every integer in "
                "the gap below the first failure). Re-check: amsgrad-theory verify --sidecar "
                "phase.json", below=0.15, style=style)
    return fig


STUDY = Study(name="phase", title="Where Adam fails: smallest bad C over (β1, β2) for Theorems "
              "2 and 3", parameters=PhaseParameters, run=run, sizes=SIZES, source=SOURCE)


@register("phase_search")
def phase_search(spec: RunSpec, family: str, candidates: list, beta1: str, beta2: str,
                 expected: int | None, horizon: int | None = None, seeds: list | None = None,
                 delta: str = "0.1", x_threshold: float = 0.9, rate_threshold: float = 0.5,
                 claim: str | None = None, _result=None) -> Record:
    """The smallest C among ``candidates`` at which ``spec.algorithm`` fails (see
    :func:`failures`) is ``expected`` (None: none fails).

    ``_result``: the rows of :func:`failures` already computed for this grid point (the study
    passes them; a replay recomputes them)."""
    h = horizon or spec.steps
    rows = _result
    if rows is None:
        rows = failures(spec, family, [int(c) for c in candidates], beta1, beta2,
                        seeds=seeds or [0], delta=delta, x_threshold=x_threshold,
                        rate_threshold=rate_threshold, horizons=[h])
    failing = [r["C"] for r in rows if r["horizon"] == h and r["fails"]]
    smallest = min(failing) if failing else None
    verdict = "pass" if smallest == expected else "fail"
    return Record(
        name="phase_search",
        claim=claim or f"{spec.algorithm} on the {family} family with (β1, β2) = ({beta1}, "
                       f"{beta2}): the smallest failing C among {len(candidates)} candidates "
                       f"within {h} steps is {expected}",
        method="sampled", verdict=verdict, cases=len(candidates) * len(seeds or [0]),
        seed=int((seeds or [0])[0]),
        details={"smallest_failing_C": smallest, "expected": expected, "horizon": h,
                 "cases": len(candidates) * len(seeds or [0]),
                 "failing": failing, "x_threshold": x_threshold,
                 "rate_threshold": rate_threshold},
        witness=None if verdict == "pass" else {"cli": spec.cli()})
