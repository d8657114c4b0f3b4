"""JSON summaries of runs (the ``simulate --json`` object and what reports embed)."""

from __future__ import annotations

import math
from fractions import Fraction

from .._version import __version__


def _f(ar, value):
    if value is None:
        return None
    x = ar.to_float(value)
    return x if math.isfinite(x) else None


def _q(value):
    if value is None:
        return None
    return float(value) if isinstance(value, Fraction) else value


def _tracking_dict(tr) -> dict:
    return {"nonincreasing": tr.nonincreasing, "max_increase": tr.max_increase,
            "max_increase_step": tr.max_increase_step,
            "max_increase_coordinate": tr.max_increase_coordinate,
            "first_increase_step": tr.first_increase_step, "increases": tr.increases,
            "undecided": tr.undecided}


def run_summary(result, b: int = 0) -> dict:
    """The ``simulate --json`` object for instance ``b`` of ``result``."""
    ar = result.arithmetic
    inst = result.instances[b]
    T = result.steps
    regret = _f(ar, inst.regret)
    out = {
        "algorithm": result.variant.name,
        "problem": result.problem.spec,
        "arithmetic": ar.number,
        "engine": result.engine,
        "steps": T,
        "hyperparameters": dict(inst.hyperparameters),
        "schedule": result.variant.alpha_schedule,
        "beta1_schedule": result.variant.beta1_schedule,
        "final_x": [_f(ar, v) for v in inst.final_x],
        "last_played_x": [_f(ar, v) for v in inst.last_played_x],
        "comparator": None if inst.comparator is None else [_f(ar, v) for v in inst.comparator],
        "comparator_loss": _f(ar, inst.comparator_loss),
        "comparator_tolerance": inst.comparator_tolerance,
        "D_inf": _q(inst.D_inf),
        "G_inf": _q(inst.G_inf),
        "loss": _f(ar, inst.loss),
        "regret": regret,
        "average_regret": None if regret is None else regret / T,
        "expected_regret": _f(ar, inst.expected_regret),
        "effective_step_nonincreasing": inst.effective_step.nonincreasing,
        "max_effective_step_increase": inst.effective_step.max_increase,
        "first_increase_step": inst.effective_step.first_increase_step,
        "corrected_step_nonincreasing": inst.corrected_step.nonincreasing,
        "max_corrected_step_increase": inst.corrected_step.max_increase,
        "first_corrected_increase_step": inst.corrected_step.first_increase_step,
        "effective_steps": {"effective_step": _tracking_dict(inst.effective_step),
                            "corrected_step": _tracking_dict(inst.corrected_step)},
        # True, False, or None (no max kept, or a tie the rounding cannot decide)
        "vhat_nondecreasing": (None if not result.variant.maxes else False
                               if inst.vhat_decreases else None if inst.vhat_undecided
                               else True),
        "vhat_T": [_f(ar, v) for v in inst.vhat],
        "statistics": {
            "sum_sqrt_vhat": _f(ar, inst.checkpoints["sum_sqrt_vhat"][-1]),
            "sum_grad_norm": _f(ar, inst.checkpoints["sum_grad_norm"][-1]),
            "sum_beta1_sqrt_vhat_over_alpha":
                _f(ar, inst.checkpoints["sum_beta1_sqrt_vhat_over_alpha"][-1]),
            "momentum_energy": _f(ar, inst.checkpoints["momentum_energy"][-1]),
            "max_abs_grad": _f(ar, inst.checkpoints["max_abs_grad"][-1]),
        },
        "checkpoints": {
            "t": inst.checkpoints["t"],
            "regret": None if inst.checkpoint_regret is None
            else [_f(ar, r) for r in inst.checkpoint_regret],
        },
        "variant_source": result.variant.source,
        "wall_time_s": result.wall_time,
        "version": __version__,
    }
    if ar.exact_decimal:
        out["regret_decimal"] = None if inst.regret is None else ar.to_decimal(inst.regret)
        out["final_x_decimal"] = [ar.to_decimal(v) for v in inst.final_x]
    return out
