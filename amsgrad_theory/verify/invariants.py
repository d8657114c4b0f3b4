"""Invariants of a run, each returned as a :class:`~amsgrad_theory.records.Record`.

* ``vhat_nondecreasing`` — the maxed moment v̂_{t,i} never decreased (variants that keep a max);
* ``effective_step_nonincreasing`` — η_{t,i} ≤ η_{t−1,i} wherever both are finite: the proof's
  Γ_t ⪰ 0 (Reddi et al. eq. 2) for the factor on the raw momentum;
* ``corrected_step_nonincreasing`` — the same for η̂ (the factor on the momentum the
  implementation divides, the "learning rate" users think of);
* ``iterates_feasible`` — every recorded iterate lies in F;
* ``regret_sublinear`` — R_t = o(t): the least-squares slope of log R_t on log t over the last
  two decades of checkpoints is below 1 with a 95 % margin, and R_t/t falls from decade to
  decade;
* ``arithmetics_agree`` — the same run in other arithmetics agrees within a stated tolerance
  (an arb ball must contain the other values: certified).

How each verdict is established. The claims are about the exact computation, so:

* ``structural`` — v̂ is a running max (or a sum of squares), or the variant's form makes η and
  η̂ non-increasing for every input (:attr:`~amsgrad_theory.algorithms.Variant.monotone_steps`):
  the claim holds for every run; the run's own comparisons are reported alongside;
* ``float`` — a float run counts a rise (or a drop of v̂) only where the margin exceeds the
  step's tie window τ_t, a bound on the rounding error of the two compared values
  (:mod:`amsgrad_theory.algorithms.rules`); a margin within it is a tie the run cannot decide
  and the record is ``undecided`` (``verify`` then decides it in ball arithmetic);
* ``certified`` — under arb every comparison is decided with all rounding enclosed, and an
  overlap is ``undecided``, never ``pass``.
"""

from __future__ import annotations

import math
from typing import Any

from ..engine import RunSpec
from ..records import Record


def _method(result) -> str:
    return "certified" if result.arithmetic.spec.startswith("arb") else "float"


def _structural(name: str, claim: str, reason: str, details: dict) -> Record:
    return Record(name=name, claim=claim, method="structural", verdict="pass",
                  details={"reason": reason, **details})


def _step_record(result, spec: RunSpec | None, b: int, which: str) -> Record:
    inst = result.instances[b]
    tr = inst.effective_step if which == "effective" else inst.corrected_step
    symbol = "η" if which == "effective" else "η̂"
    name = f"{which}_step_nonincreasing" if which == "effective" else \
        "corrected_step_nonincreasing"
    claim = (f"{symbol}_t,i ≤ {symbol}_t−1,i for every step t and coordinate i where both are "
             f"finite ({result.variant.name}, {result.steps} steps)")
    reason = result.variant.monotone_steps
    if reason is not None:
        observed = {"run_method": _method(result)}
        if tr.tracked:
            # the rounded run's own comparisons (no window: the claim does not rest on them)
            observed.update({"rises_in_the_run": tr.increases,
                             "largest_relative_rise_in_the_run": tr.max_increase})
        return _structural(name, claim, reason, observed)
    if not tr.tracked:
        return Record(name=name, claim=claim, method=_method(result), verdict="undecided",
                      details={"reason": "the run kept regret statistics only "
                                         "(statistics='regret')"})
    if tr.nonincreasing is True:
        verdict = "pass"
    elif tr.nonincreasing is False:
        verdict = "fail"
    else:
        verdict = "undecided"
    witness = None
    if verdict == "fail" and spec is not None:
        shortest = spec.with_(steps=tr.first_increase_step)
        witness = {"cli": shortest.cli(), "run": shortest.to_dict(),
                   "first_increase_step": tr.first_increase_step,
                   "max_increase_step": tr.max_increase_step,
                   "coordinate": tr.max_increase_coordinate}
    details = {}
    if verdict == "undecided" and _method(result) == "float":
        details["reason"] = (f"{tr.undecided} comparison(s) within the rounding bound τ_t: "
                             "ties this run cannot decide (verify decides them in arb)")
    return Record(
        name=name, claim=claim, method=_method(result), verdict=verdict, witness=witness,
        details={**details, "increases": tr.increases, "undecided": tr.undecided,
                 "max_relative_increase": tr.max_increase,
                 "max_increase_step": tr.max_increase_step,
                 "first_increase_step": tr.first_increase_step},
    )


def check_vhat(result, b: int = 0) -> Record | None:
    if not result.variant.maxes:
        return None
    inst = result.instances[b]
    if result.variant.monotone_vhat is not None:
        observed = {"run_method": _method(result)}
        if inst.effective_step.tracked:
            observed["drops_in_the_run"] = inst.vhat_decreases
        return _structural("vhat_nondecreasing",
                           "the maxed second moment v̂_t,i never decreased",
                           result.variant.monotone_vhat, observed)
    if not inst.effective_step.tracked:
        return Record(name="vhat_nondecreasing",
                      claim="the maxed second moment v̂_t,i never decreased",
                      method=_method(result), verdict="undecided",
                      details={"reason": "the run kept regret statistics only"})
    verdict = "fail" if inst.vhat_decreases else "undecided" if inst.vhat_undecided else "pass"
    return Record(name="vhat_nondecreasing",
                  claim="the maxed second moment v̂_t,i never decreased",
                  method=_method(result), verdict=verdict,
                  details={"decreases": inst.vhat_decreases, "undecided": inst.vhat_undecided})


def set_in_words(feasible) -> str:
    """The feasible set F as a claim names it: the box [lo, hi]^d, the ball ‖x‖₂ ≤ R, or ℝ^d."""
    if feasible.kind == "box":
        return f"the box [{feasible.lo}, {feasible.hi}]^d"
    if feasible.kind == "ball":
        return f"the ball ‖x‖₂ ≤ {feasible.radius}"
    return "ℝ^d (no constraint)"


def check_feasible(result, b: int = 0) -> Record:
    ar = result.arithmetic.eager() if not result.arithmetic.spec.startswith("arb") \
        else result.arithmetic
    inst = result.instances[b]
    feasible = result.problem.set
    points = [inst.final_x, inst.last_played_x] + list(inst.checkpoint_x or [])
    worst = 0.0
    verdict = "pass"
    for x in points:
        if feasible.kind == "box":
            lo, hi = ar.scalar(feasible.lo), ar.scalar(feasible.hi)
            for v in x:
                v = ar.lane(str(v)) if isinstance(v, str) else v
                below, above = lo - v, v - hi
                for gap in (below, above):
                    if gap > 0:
                        verdict = "fail"
                        worst = max(worst, ar.to_float(gap))
                    elif not gap <= 0:
                        verdict = "undecided" if verdict == "pass" else verdict
        elif feasible.kind == "ball":
            R = ar.scalar(feasible.radius)
            norm2 = sum((v * v for v in x), ar.scalar(0))
            excess = norm2 - R * R
            # the projection solves the secular equation to rounding: allow a few ulps of R²
            slack = 8 * 2.0 ** -52 * float(R * R) if result.arithmetic.spec.startswith(
                ("float", "torch")) else 0.0
            if ar.to_float(excess) > slack:
                verdict = "fail"
                worst = max(worst, ar.to_float(excess))
    return Record(name="iterates_feasible",
                  claim=f"every recorded iterate (x_T, x_(T+1), checkpoints) lies in "
                        f"{set_in_words(feasible)}",
                  method=_method(result), verdict=verdict,
                  details={"points": len(points), "largest_violation": worst})


def fit_exponent(ts, values) -> tuple[float, float] | tuple[None, None]:
    """Least-squares slope k of log R_t = c + k·log t over the points with R_t > 0, and its
    standard error; (None, None) with fewer than 4 such points. R_t ∝ t^k: k = 1/2 for an
    O(√T) regret, 1 for a linear one."""
    positive = [(t, r) for t, r in zip(ts, values) if r is not None and r > 0 and t > 0]
    if len(positive) < 4:
        return None, None
    xs = [math.log(t) for t, _ in positive]
    ys = [math.log(r) for _, r in positive]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    resid = [y - (my + slope * (x - mx)) for x, y in zip(xs, ys)]
    return slope, math.sqrt(sum(e * e for e in resid) / max(1, n - 2) / sxx)


def check_sublinear(result, b: int = 0, decades: int = 2) -> Record:
    """Least-squares slope of log R_t on log t over the last ``decades`` decades."""
    inst = result.instances[b]
    ar = result.arithmetic
    T = result.steps
    claim = "regret is sublinear: R_t = o(t)"
    if inst.checkpoint_regret is None:
        return Record(name="regret_sublinear", claim=claim, method="float",
                      verdict="undecided", details={"reason": "no comparator for this problem"})
    ts = inst.checkpoints["t"]
    regrets = [None if r is None else ar.to_float(r) for r in inst.checkpoint_regret]
    window = [(t, r) for t, r in zip(ts, regrets) if r is not None and t >= T / 10 ** decades]
    if T < 100 or len(window) < 4:
        return Record(name="regret_sublinear", claim=claim, method="float", verdict="undecided",
                      details={"reason": "too few checkpoints (needs T ≥ 100)", "T": T})
    final = regrets[-1]
    assert final is not None    # the last checkpoint's is R_T, known with the comparator
    averages = {t: r / t for t, r in window}
    marks = [t for t in ts if t in averages and (t == T or any(
        abs(t - T / 10 ** k) / (T / 10 ** k) < 0.05 for k in range(1, decades + 1)))]
    falling = all(averages[a] > averages[c] or averages[c] <= 0 for a, c in zip(marks, marks[1:]))
    slope, se = fit_exponent([t for t, _ in window], [r for _, r in window])
    if final <= 0:
        verdict = "pass"          # the comparator is beaten: R_T/T ≤ 0
    elif slope is not None and se is not None and slope + 2 * se < 1 and falling:
        verdict = "pass"
    elif slope is not None and se is not None and slope - 2 * se >= 1 - 1e-3:
        verdict = "fail"
    elif slope is not None and not falling and averages[marks[-1]] >= 0.5 * averages[marks[0]]:
        verdict = "fail" if slope > 0.9 else "undecided"
    else:
        verdict = "undecided"
    return Record(name="regret_sublinear", claim=claim, method="float", verdict=verdict,
                  details={"slope": slope, "slope_stderr": se, "window_from": T / 10 ** decades,
                           "average_regret_at": {str(t): averages[t] for t in marks},
                           "final_average_regret": final / T})


def check_run(result, spec: RunSpec | None = None, b: int = 0) -> list[Record]:
    """Every invariant of this section on instance ``b`` of ``result``."""
    records = []
    vh = check_vhat(result, b)
    if vh is not None:
        records.append(vh)
    records.append(_step_record(result, spec, b, "effective"))
    records.append(_step_record(result, spec, b, "corrected"))
    records.append(check_feasible(result, b))
    records.append(check_sublinear(result, b))
    for r in records:
        r.details.setdefault("run", spec.to_dict() if spec is not None else None)
    return records


def check_agreement(spec: RunSpec, arithmetics=("float64", "mpmath:50"),
                    rtol: float = 1e-9) -> Record:
    """Run ``spec`` in each arithmetic and compare regret and x_(T+1).

    Point arithmetics agree when |a − b| ≤ rtol·max(1, |b|). A ball arithmetic must contain
    the other values (a certified statement about the exact computation when the others are
    precise enough); when it does not, the record fails with the offending value.
    """
    runs = {a: spec.with_(arithmetic=a).run() for a in arithmetics}
    names = list(runs)
    reference = names[-1]
    deviations: dict[str, Any] = {}
    verdict = "pass"
    method = "float"
    ref = runs[reference].instances[0]
    ref_ar = runs[reference].arithmetic
    for name in names[:-1]:
        inst = runs[name].instances[0]
        ar = runs[name].arithmetic
        pairs = [("regret", inst.regret, ref.regret)] + [
            (f"x[{i}]", a, c) for i, (a, c) in enumerate(zip(inst.final_x, ref.final_x))]
        for label, a, c in pairs:
            if a is None or c is None:
                continue
            if name.startswith("arb"):
                method = "certified"
                contained = ar.contains(a, _arb_exact(ref_ar, c))
                if not contained:
                    verdict = "fail"
                deviations[f"{name}:{label}"] = {"contains": contained,
                                                 "radius": ar.radius(a)}
            else:
                fa, fc = ar.to_float(a), ref_ar.to_float(c)
                dev = abs(fa - fc) / max(1.0, abs(fc))
                deviations[f"{name}:{label}"] = dev
                if dev > rtol:
                    verdict = "fail"
    return Record(
        name="arithmetics_agree",
        claim=f"{spec.algorithm} on {spec.problem} ({spec.steps} steps) gives the same regret "
              f"and x_(T+1) in {', '.join(names)} within rtol {rtol:g} (arb: containment)",
        method=method, verdict=verdict,
        details={"reference": reference, "rtol": rtol, "deviations": deviations,
                 "run": spec.to_dict()},
        witness=None if verdict == "pass" else {"cli": spec.cli()},
    )


def _arb_exact(ar, value):
    """``value`` (an mpmath or float number) as an exact arb ball of radius 0."""
    from flint import arb, ctx  # python-flint: ball arithmetic, imported where balls are used

    if hasattr(value, "_mpf_"):
        sign, man, exp, _ = value._mpf_
        man = -int(man) if sign else int(man)
    else:
        num, den = float(value).as_integer_ratio()
        man, exp = num, -(den.bit_length() - 1)
    with ctx.workprec(max(64, abs(int(man)).bit_length() + 8)):
        return arb(int(man)) * arb(2) ** int(exp)
