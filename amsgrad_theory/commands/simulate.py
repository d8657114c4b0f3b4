"""Run a variant on a problem for T steps and print its streaming statistics: the
hyperparameters and the α_t and β1,t schedules that ran, the last iterates, the regret R_T
against the best fixed point in hindsight, and whether the effective steps η_t and η̂_t ever
increased (where, by how much).

Examples:
  amsgrad-theory simulate --algorithm amsgrad --problem reddi-online:C=3 --steps 1e4
  amsgrad-theory simulate --algorithm amsgrad --problem reddi-online:C=3 --beta1 0 \\
      --beta2 0.1 --steps 30000 --x0 1 --json
  amsgrad-theory simulate -a adam -p random-linear:d=3 -T 1e6 --schedule inv-sqrt

Exit status: 0 the run finished; 2 bad input, or a run that left its arithmetic's range
(the message names the quantity and the step).
"""

from __future__ import annotations

import json

from ..engine import run_summary
from .runflags import add_run_arguments, run_spec, spec_from_args


def add_arguments(p) -> None:
    add_run_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


#: each schedule a variant may run (its field's value) as the formula of α_t, β1,t and β2,t
SCHEDULES = {
    "alpha_schedule": ("alpha_t", {"constant": "α_t = α", "inv-sqrt": "α_t = α/√t"}),
    "beta1_schedule": ("beta1_t", {"constant": "β1,t = β1", "exp-decay": "β1,t = β1·λ^(t−1)",
                                   "inv-t": "β1,t = β1/t"}),
    "beta2_schedule": ("beta2_t", {"constant": "β2,t = β2", "one-minus-inv-t": "β2,t = 1 − 1/t"}),
}
#: how the weight decay wd enters a step, by the variant's weight_decay_mode
WEIGHT_DECAY = {"l2": "L2: g_t + wd·x_t", "decoupled": "decoupled: x_t(1 − α_t·wd) first",
                "none": "none"}


def run(args) -> int:
    spec = spec_from_args(args)
    result = run_spec(spec, quiet=args.quiet)
    summary = run_summary(result)
    summary.update(effective_settings(result.variant, spec.hyperparameters))
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary))
    return 0


def effective_settings(variant, given: dict) -> dict:
    """What the run's variant did beyond its hyperparameters' values (keys added to the
    summary): the schedule of each of α_t, β1,t, β2,t as its formula, how weight decay
    entered, and which hyperparameters were given (the others are the variant's defaults)."""
    schedules = {key: formulas[getattr(variant, field)]
                 for field, (key, formulas) in SCHEDULES.items()}
    return {"beta2_schedule": variant.beta2_schedule, "schedules": schedules,
            "weight_decay_mode": variant.weight_decay_mode,
            "hyperparameters_given": sorted(given)}


def format_summary(s: dict) -> str:
    given = s.get("hyperparameters_given")
    origin = "" if given is None else (
        f" (all {s['algorithm']}'s defaults)" if not given else
        f" (given: {', '.join(given)}; the others {s['algorithm']}'s defaults)"
        if len(given) < len(s["hyperparameters"]) else " (all given)")
    lines = [
        f"{s['algorithm']} on {s['problem']} — {s['steps']} steps in {s['arithmetic']} "
        f"({s['engine']} engine, {s['wall_time_s']:.3g} s)",
        "hyperparameters: " + ", ".join(f"{k}={v}" for k, v in s["hyperparameters"].items())
        + origin,
    ]
    if s.get("schedules"):
        lines.append("schedules: " + "; ".join(s["schedules"].values())
                     + f"; weight decay: {WEIGHT_DECAY[s['weight_decay_mode']]}")
    lines += [
        f"x_T = {_fmt(s['last_played_x'])}   x_(T+1) = {_fmt(s['final_x'])}",
    ]
    if s["regret"] is None:
        lines.append("regret: undefined (no comparator: unconstrained set)")
    else:
        lines.append(f"regret R_T = {s['regret']:.10g}   R_T/T = {s['average_regret']:.6g}   "
                     f"comparator x* = {_fmt(s['comparator'])}")
    if s.get("expected_regret") is not None:
        lines.append(f"expected regret Σ(F(x_t) − min F) = {s['expected_regret']:.10g}")
    for key, label in (("effective_step", "η (factor on m_t)"),
                       ("corrected_step", "η̂ (factor on the divided momentum)")):
        nonincreasing = s[f"{key}_nonincreasing" if key == "effective_step"
                          else "corrected_step_nonincreasing"]
        detail = s["effective_steps"][key]
        if nonincreasing:
            state = "never increased"
        elif nonincreasing is None:
            state = (f"undecided ({detail['undecided']} comparisons within the rounding "
                     "bound: ties this run cannot decide; verify decides them in arb)")
        else:
            state = (f"increased {detail['increases']} times; largest +{detail['max_increase']:.4g}"
                     f" at t={detail['max_increase_step']}, i={detail['max_increase_coordinate']};"
                     f" first at t={detail['first_increase_step']}")
        lines.append(f"{label}: {state}")
    lines.append(f"D∞ = {s['D_inf']}, G∞ = {s['G_inf']}")
    return "\n".join(lines)


def _fmt(values) -> str:
    if values is None:
        return "—"
    return "[" + ", ".join(f"{v:.8g}" for v in values) + "]"
