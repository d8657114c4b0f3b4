"""Tran & Phong's Example 3.2 and the failing step of the Theorem 4 proof, from the proof checker.

The proof of Reddi et al.'s Theorem 4 bounds Σ_t c_t(D_t − D_{t+1}), c_{t,i} =
√v̂_{t,i}/(2α_t(1−β1,t)), D_t = (x_{t,i} − x*_i)², by replacing 1/(1−β1,t) with 1/(1−β1) *before*
the Abel summation (Tran & Phong 2019, eq. (3.1) [tran2019]). That enlarges the coefficients
of terms D_t − D_{t+1} of either sign, so it is not an upper bound in general. Tran & Phong
(IEEE Access 2019) give the counterexample: Reddi et al.'s synthetic cost (the Figure 1
sequence), x_1 = 1, β1 = 0.9, β1,t = β1·0.001^{t−1}, β2 = 0.999, α_t = 0.001/√t, T = 2.

This study runs that example through the ``theorem4`` chain of
:mod:`amsgrad_theory.symbolic.steps` (every link evaluated on the trajectory by
:func:`~amsgrad_theory.verify.proof.check_chain`), follows the replacement step along T on the
same sequence, lets Hypothesis search every link of both chains for a failing run (shrunk to a
minimal one), and runs the chain derived here for constant β1 on its own example. Records: each
valid link holds (``proof_step``), each of the paper's links fails where it does
(``proof_step_fails``), and the searches (``proof_search``, sampled with their case counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import RunSpec
from ..plots import (
    FigureStyle,
    Table,
    annotates,
    decorate,
    footer,
    latex_table,
    new_figure,
    title,
)
from ..records import Record
from ..symbolic.steps import CHAINS
from ..verify.proof import EXAMPLES, check_chain
from .base import Context, Study, checked

SOURCE = ("Tran Thi Phuong & Le Trieu Phong, 'On the Convergence Proof of AMSGrad and a New "
          "Version', IEEE Access 7 (2019), Example 3.2 and Lemma 3.1; Reddi et al. ICLR 2018, "
          "proof of Theorem 4 [tran2019; reddi2018]")


@dataclass(frozen=True)
class TranPhongParameters:
    """Parameters of the Tran–Phong study (defaults: the ``small`` size)."""

    #: horizons at which the replacement step is evaluated on Example 3.2's sequence
    horizons: tuple[int, ...] = (2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 3000,
                                 5000)
    #: Hypothesis cases per link and chain
    search_examples: int = 200


SIZES = {
    "tiny": {"horizons": (2, 10, 100, 1000), "search_examples": 15},
    "small": {},
    "paper": {"horizons": (2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 1500, 2000, 2500,
                           3000, 5000, 10_000, 30_000, 100_000),
              "search_examples": 1000},
}


def margin(lhs, rhs) -> float:
    """(rhs − lhs)/(|lhs| + |rhs|) ∈ [−1, 1] (the worst t of a per-step link): < 0 ⇔ it fails."""
    lv, rv = np.atleast_1d(np.asarray(lhs, float)), np.atleast_1d(np.asarray(rhs, float))
    scale = np.abs(lv) + np.abs(rv)
    m = np.where(scale > 0, (rv - lv) / np.where(scale > 0, scale, 1.0), 0.0)
    return float(m.min())


def chain_records(res) -> list[Record]:
    """A record per link of an evaluated chain: valid links hold, the paper's links fail."""
    out = []
    for st in res.steps:
        if st.valid or st.holds:
            out.append(checked("proof_step", res.run, chain=res.chain, step=st.name))
        else:
            out.append(checked(
                "proof_step_fails", res.run, chain=res.chain, step=st.name,
                claim=f"the paper's step {st.name} fails on {res.run.problem}, T = "
                      f"{res.run.steps}: {_fmt(st.lhs)} > {_fmt(st.rhs)}"))
    return out


def _fmt(value) -> str:
    arr = np.atleast_1d(np.asarray(value, float))
    return f"{arr[0]:.6g}" if arr.size == 1 else "[" + ", ".join(f"{v:.4g}" for v in arr) + "]"


def run(p: TranPhongParameters, ctx: Context) -> dict:
    example, chain, description = EXAMPLES["tran-phong-3.2"]
    cb_spec, cb_chain, cb_description = EXAMPLES["constant-beta1"]
    links = [(chain, st) for st in CHAINS[chain]] + [(cb_chain, st) for st in CHAINS[cb_chain]]
    total = 2 + len(p.horizons) + len(links)
    records: list[Record] = []
    table = Table(list(TABLE_COLUMNS))
    with ctx.bar(total, "chains, horizons and searches", unit="item") as bar:
        ex = check_chain(example, chain)
        records += chain_records(ex)
        bar.update(1)
        cb = check_chain(cb_spec, cb_chain)
        records += chain_records(cb)
        bar.update(1)
        for part, res in (("example-3.2", ex), ("constant-beta1", cb)):
            for st in res.steps:
                add_link_rows(table, part, res.chain, st, res.run.steps)
        along = []
        for T in p.horizons:
            res = check_chain(example.with_(steps=T), chain)
            st = next(s for s in res.steps if s.name == "theorem4.paper-replacement")
            along.append((T, float(np.atleast_1d(st.lhs)[0]), float(np.atleast_1d(st.rhs)[0]),
                          st.holds, res.valid_links_hold))
            add_link_rows(table, "replacement-along-T", chain, st, T)
            bar.update(1)
        fails_at = [T for T, _, _, holds, _ in along if not holds]
        holds_at = [T for T, _, _, holds, _ in along if holds]
        for T in fails_at:
            records.append(checked(
                "proof_step_fails", example.with_(steps=T), chain=chain,
                step="theorem4.paper-replacement",
                claim=f"the paper's replacement of 1/(1−β1,t) by 1/(1−β1) fails on Example 3.2's "
                      f"sequence at T = {T}"))
        for T in holds_at:
            records.append(checked(
                "proof_step", example.with_(steps=T), chain=chain,
                step="theorem4.paper-replacement",
                claim=f"on Example 3.2's sequence the replacement step holds again at T = {T} "
                      f"(it is not valid in general: the failures above)"))
        searches = []
        for ch, link in links:
            if link.name == "convexity" and ch != chain:
                bar.update(1)
                continue            # the same link in both chains: searched once
            expect = not link.valid
            rec = checked("proof_search", example if ch == chain else cb_spec, chain=ch,
                          step=link.name, max_examples=p.search_examples, expect_failure=expect)
            records.append(rec)
            witness = rec.details.get("witness")
            searches.append({"chain": ch, "link": link.name, "valid_in_general": link.valid,
                             "found_failure": rec.details["found_failure"],
                             "cases": rec.cases, "verdict": rec.verdict,
                             "witness_steps": None if not witness else witness["steps"],
                             "witness_cli": (rec.witness or {}).get("cli"),
                             "witness_run": witness})
            bar.update(1)
    for s in searches:
        if s["found_failure"] and s["witness_run"]:
            # the shrunk witness replayed as a pinned record of its own
            spec = RunSpec.from_dict(s["witness_run"])
            records.append(checked(
                "proof_step_fails", spec, chain=s["chain"], step=s["link"],
                claim=f"the shrunk counterexample to {s['link']}: {spec.problem}, "
                      f"T = {spec.steps}, x_1 = {spec.x0}"))
    search_table = searches_table(searches)
    ctx.write_csv("tran-phong-searches.csv", search_table)
    ctx.write_text("tran-phong-searches.tex", latex_table(
        search_table, ["chain", "link", "valid in general", "failure found", "cases",
                       "witness steps", "verdict"]))
    fig = draw(p, ex, cb, along, searches, ctx.style)
    first = ex.first_failure
    ctx.save_figure(fig, "tran-phong", table=table, records=records,
                    title="Tran & Phong's Example 3.2: the failing step of the Theorem 4 proof",
                    parameters={k: getattr(p, k) for k in p.__dataclass_fields__},
                    seeds={"hypothesis": 0},
                    caption=f"Each link of the proof of Reddi et al.'s (2018) Theorem 4 "
                            f"evaluated on {description} (top left) and of the constant-β1 "
                            f"chain derived here on its own example (top right): the margin "
                            f"(rhs − lhs)/(|lhs| + |rhs|) at the worst step, negative where "
                            f"the link fails; blue links are valid in general, orange ones are "
                            f"the paper's steps (Tran & Phong 2019). First failing link: "
                            f"{first.name if first else 'none'}. Bottom: the replacement of "
                            f"1/(1 − β1,t) by 1/(1 − β1) along the horizon T on the same "
                            f"sequence (shaded where it fails). The Hypothesis search of every "
                            f"link ({p.search_examples} cases each) is the table "
                            f"tran-phong-searches.csv/.tex.")
    highlights = [
        f"Example 3.2 (T = 2): first failing link {first.name if first else 'none'}"
        + (f" ({_fmt(first.lhs)} > {_fmt(first.rhs)})" if first else "")
        + f"; every valid link holds: {ex.valid_links_hold}",
        f"replacement step on the same sequence fails at T ∈ {fails_at}, holds at T ∈ "
        f"{holds_at}",
        f"constant-β1 chain on its example: every link holds: {cb.first_failure is None}",
    ]
    for s in searches:
        if s["found_failure"]:
            highlights.append(f"search {s['link']}: failing run shrunk to {s['witness_steps']} "
                              f"steps — {s['witness_cli']}")
    broken = [T for T, *_rest, valid_hold in along if not valid_hold]
    highlights.append("every valid link holds at every horizon" if not broken else
                      f"A VALID LINK FAILS at T ∈ {broken}")
    none_found = [s["link"] for s in searches if not s["found_failure"]]
    highlights.append(f"no failing run in {p.search_examples} cases for the {len(none_found)} "
                      f"valid links")
    return {"example": ex.to_dict(), "constant_beta1": cb.to_dict(),
            "replacement_along_T": [{"T": T, "lhs": lhs, "rhs": rhs, "holds": h,
                                     "valid_links_hold": v} for T, lhs, rhs, h, v in along],
            "searches": searches, "source": SOURCE, "highlights": highlights}


#: the columns of tran-phong.csv: one row per link and, for a link stated at every step, per
#: step (``step_index`` 1, 2, …; empty for a link on sums)
TABLE_COLUMNS = ["part", "chain", "link", "valid_in_general", "T", "step_index", "link_holds",
                 "lhs", "rhs", "margin"]


def add_link_rows(table: Table, part: str, chain: str, step, T: int) -> None:
    """A row per value of the link: its lhs, rhs and margin (one row for a scalar link)."""
    lhs = np.atleast_1d(np.asarray(step.lhs, float))
    rhs = np.atleast_1d(np.asarray(step.rhs, float))
    scalar = np.ndim(step.lhs) == 0
    for k, (lv, rv) in enumerate(zip(lhs, rhs)):
        table.add(part, chain, step.name, bool(step.valid), T, None if scalar else k + 1,
                  bool(step.holds), float(lv), float(rv), margin(lv, rv))


def searches_table(searches: list[dict]) -> Table:
    """The Hypothesis search of every link: did it find a failing run, in how many cases."""
    table = Table(["chain", "link", "valid_in_general", "found_failure", "cases",
                   "witness_steps", "verdict"])
    for s in searches:
        table.add(s["chain"], s["link"], s["valid_in_general"], s["found_failure"], s["cases"],
                  s["witness_steps"], s["verdict"])
    return table


def _short(name: str) -> str:
    return name.split(".", 1)[-1]


def draw(p: TranPhongParameters, ex, cb, along, searches, style: FigureStyle | None = None):
    from matplotlib.patches import Patch  # matplotlib: imported only when a figure is drawn

    fig, axes = new_figure(2, 2, width=5.6, height=4.0, style=style, aspect=0.6,
                           extra_height=0.25)
    report = annotates(style)
    colors = {True: "#0072B2", False: "#D55E00"}

    def margins(ax, res, heading):
        steps = res.steps[::-1]
        names = [_short(s.name) for s in steps]
        vals = [margin(s.lhs, s.rhs) for s in steps]
        cs = [colors[bool(s.valid)] for s in steps]
        ax.barh(range(len(names)), vals, color=cs, height=0.7)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=6 if report else None)
        ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel("(rhs − lhs)/(|lhs| + |rhs|), worst t  (< 0: the link fails)" if report
                      else r"margin $(\mathrm{rhs}-\mathrm{lhs})/(|\mathrm{lhs}|+|\mathrm{rhs}|)$"
                           r" at the worst $t$", fontsize=8 if report else None)
        ax.set_title(heading, fontsize=9 if report else None)
        ax.grid(True, axis="x", alpha=0.3)
        for k, (s, v) in enumerate(zip(steps, vals)):
            if not s.holds:
                ax.text(0.05, k, f"{_fmt(s.lhs)} > {_fmt(s.rhs)}", va="center", ha="left",
                        color=colors[False], fontsize=6 if report else None)
            elif abs(v) < 1e-9:
                ax.text(0.05, k, "tight", va="center", ha="left", color="0.3",
                        fontsize=6 if report else None)

    margins(axes[0][0], ex, "Example 3.2 (T = 2): each link of the Theorem 4 proof\n"
                            "blue: valid in general; orange: the paper's steps" if report else
            rf"Theorem 4's proof, Example 3.2 ($T = {ex.run.steps}$)")
    margins(axes[0][1], cb, "the constant-β1 chain derived here, on its example\n"
                            f"({cb.run.problem}, T = {cb.run.steps})" if report else
            rf"constant-$\beta_1$ chain (derived here), $T = {cb.run.steps}$")
    gs = axes[1][0].get_subplotspec().get_gridspec()
    axes[1][0].remove()
    axes[1][1].remove()
    ax = fig.add_subplot(gs[1, :])
    Ts = [a[0] for a in along]
    ax.plot(Ts, [a[1] for a in along], "o-", color=colors[True], markersize=3,
            label="lhs: Σ_t c_t (D_t − D_(t+1)) with the true 1/(1−β1,t)" if report else
            r"$\sum_t c_t (D_t - D_{t+1})$ with $1/(1-\beta_{1,t})$")
    ax.plot(Ts, [a[2] for a in along], "s--", color=colors[False], markersize=3,
            label="rhs: the paper's replacement by 1/(1−β1)" if report else
            r"the paper's replacement by $1/(1-\beta_1)$")
    for T, _lhs, _rhs, holds, _ in along:
        if not holds:
            ax.axvspan(T * 0.9, T * 1.1, color=colors[False], alpha=0.12, linewidth=0)
    ax.set_yscale("symlog", linthresh=100)
    decorate(ax, xlabel="horizon T (Example 3.2's sequence, the same hyperparameters)" if report
             else r"horizon $T$ (Example 3.2's sequence and hyperparameters)",
             ylabel="value (symlog)" if report else "value (symlog scale)",
             title="the replacement step along T (shaded: it fails)" if report else None,
             ylog=False, legend="best")
    if report:
        ax.set_title("the replacement step along T (shaded: it fails); the Hypothesis search "
                     f"of every link ({p.search_examples} cases): tran-phong-searches.csv",
                     fontsize=9)
    else:
        fig.legend([Patch(color=colors[True]), Patch(color=colors[False]),
                    Patch(color=colors[False], alpha=0.12)],
                   ["valid in general", "the paper's step", "horizons where it fails"],
                   loc="outside lower center", ncol=3)
    title(fig, "Tran & Phong: the replacement of 1/(1−β1,t) by 1/(1−β1) in Reddi et al.'s "
               "proof of Theorem 4", style)
    footer(fig, "AMSGrad, β1 = 0.9, β1,t = β1·0.001^(t−1), β2 = 0.999, α_t = 0.001/√t, "
                "x_1 = 1, Reddi et al.'s synthetic cost. Re-check: amsgrad-theory verify "
                "--sidecar tran-phong.json", style=style)
    return fig


STUDY = Study(name="tran-phong", title="Tran & Phong's Example 3.2: the failing step of the "
              "Theorem 4 proof, found by the proof-step checker", parameters=TranPhongParameters,
              run=run, sizes=SIZES, source=SOURCE)
