"""Checks on runs that studies and sidecars name: each record carries the recipe that replays it.

Registered in :data:`~amsgrad_theory.verify.checks.CHECKS` (importing :mod:`amsgrad_theory.verify`
registers them), so that ``amsgrad-theory verify --sidecar F`` can re-establish every record of a
study's sidecar by name.

Checks on one run's checkpoints (log-spaced steps t, see
:func:`~amsgrad_theory.engine.simulate.checkpoint_steps`):

* ``checkpoint_window``  a statistic (min, max, mean, last) of a series over the checkpoints
  t ∈ [f·T, T] compared with a threshold. Series: ``x`` (x_t, coordinate 0), ``regret`` R_t,
  ``average_regret`` R_t/t, ``expected_regret`` Σ_{s≤t}(F(x_s) − min F) and
  ``expected_average_regret`` (the same over t; stochastic problems with a known mean F).
* ``window_rate``  the exact per-step rate of a cumulative series over the window (s, T]:
  (S_T − S_s)/(T − s), s the largest checkpoint ≤ f·T, divided by ``scale``, vs a threshold.
  For R_t it is the average regret of the late steps only, which a good start cannot mask.

Checks on one run's trace (short runs):

* ``trace_phase_value``  x_t equals a value exactly at every t ≡ phase (mod period) — the
  structure of the proof of Theorem 1 of Reddi et al. (x_{3k+1} = 1);
* ``step_growth``  max_t η_t / min_{s≤t} η_s of an effective step (``eta`` or ``eta_hat``) and its
  first increase, vs a threshold (1 ⇔ never increases);
* ``rho_identity``  a framework AMSGrad (PyTorch ``scaled``, Keras ``folded``) is the paper's
  AMSGrad with α_t = lr·ρ(t), ρ(t) = √(1−β2^t)/(1−β1^t) (PyTorch 2.13 torch/optim/adam.py
  [pytorch-2.13]; Keras 3.15 keras/src/optimizers/adam.py [keras-3.15]): the traced
  η_t equals lr·ρ(t)/(√v̂_t + ε√(1−β2^t)) (PyTorch) or lr·ρ(t)/(√v̂_t + ε) (Keras) to ``rtol``,
  with ρ from :func:`amsgrad_theory.symbolic.bias.rho`.

Other checks: ``rho_minimum`` (the certified integer minimiser of ρ), ``torch_amsgrad_equivalence``
(the leading steps on which the real ``torch.optim.Adam(amsgrad=True)`` is bit-identical to
``amsgrad=False``, via :func:`~amsgrad_theory.verify.audit_checks.amsgrad_equivalence`).
The studies register their own checks beside them (``phase_search`` in
:mod:`amsgrad_theory.reproduce.phase`, ``claim_*`` in :mod:`amsgrad_theory.reproduce.claims`).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ..algorithms import get_variant
from ..engine import RunSpec
from ..problems import get_problem
from ..records import Record
from ..symbolic.bias import rho_minimum, rho_series
from .audit_checks import amsgrad_equivalence
from .audit_subjects import TorchSubject, torch_factory
from .bounds_on_runs import bound_records
from .checks import register
from .invariants import fit_exponent
from .proof import check_chain, search_failures

#: comparisons of a measured value ``a`` with ``b`` (for ``in``: b is the pair (low, high))
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "abs<=": lambda a, b: abs(a) <= b,
    "in": lambda a, b: b[0] <= a <= b[1],
}
SERIES = ("x", "regret", "average_regret", "expected_regret", "expected_average_regret")
STATISTICS = ("min", "max", "mean", "last")


def compare(value: float | None, op: str, threshold) -> str:
    """'pass'/'fail' of ``value op threshold`` (``in``: threshold = [lo, hi], inclusive);
    'undecided' for a missing or non-finite value."""
    if op not in _OPS:
        raise ValueError(f"op={op!r}: must be one of {', '.join(_OPS)}")
    if value is None or not math.isfinite(value):
        return "undecided"
    return "pass" if _OPS[op](value, threshold) else "fail"


def _run(spec: RunSpec, result, *, trace: bool = False):
    if result is not None and (not trace or result.trace is not None):
        return result
    return spec.run(trace=trace)


def checkpoint_series(result, series: str, instance: int = 0) -> tuple[list[int], list]:
    """(checkpoint steps, values) of ``series`` (see the module docstring) as floats/None."""
    inst = result.instances[instance]
    ar = result.arithmetic
    ts = [int(t) for t in inst.checkpoints["t"]]

    def f(v):
        if v is None:
            return None
        x = float(ar.to_float(v))
        return x if math.isfinite(x) else None

    if series == "x" or series.startswith("x."):
        i = int(series.split(".")[1]) if "." in series else 0
        if inst.checkpoint_x is None:
            raise ValueError("the run kept no checkpoint iterates")
        return ts, [f(x[i]) for x in inst.checkpoint_x]
    if series in ("regret", "average_regret"):
        reg = inst.checkpoint_regret
        if reg is None:
            return ts, [None] * len(ts)
        values = [f(r) for r in reg]
    elif series in ("expected_regret", "expected_average_regret"):
        er = inst.checkpoints.get("expected_regret")
        if er is None:
            return ts, [None] * len(ts)
        values = [f(r) for r in er]
    else:
        raise ValueError(f"series={series!r}: must be one of {', '.join(SERIES)}")
    if series.startswith("average") or series.startswith("expected_average"):
        values = [None if v is None else v / t for v, t in zip(values, ts)]
    return ts, values


def _reduce(values: list[float], statistic: str) -> float | None:
    if not values:
        return None
    if statistic == "min":
        return min(values)
    if statistic == "max":
        return max(values)
    if statistic == "mean":
        return sum(values) / len(values)
    if statistic == "last":
        return values[-1]
    raise ValueError(f"statistic={statistic!r}: must be one of {', '.join(STATISTICS)}")


def late_window(result, series: str, start_fraction: float) -> tuple[int, list[tuple]]:
    """(T, [(t, value)]) of ``series`` over the checkpoints t ∈ [start_fraction·T, T]."""
    ts, values = checkpoint_series(result, series)
    T = result.steps
    return T, [(t, v) for t, v in zip(ts, values) if t >= start_fraction * T]


@register("checkpoint_window")
def checkpoint_window(spec: RunSpec, series: str, statistic: str, op: str, value,
                      start_fraction: float = 0.1, claim: str | None = None,
                      _result=None) -> Record:
    """``statistic`` of ``series`` over the checkpoints t ∈ [start_fraction·T, T], compared:
    ``statistic op value``."""
    result = _run(spec, _result)
    T, window = late_window(result, series, start_fraction)
    missing = sum(1 for _, v in window if v is None)
    got = None if missing else _reduce([v for _, v in window], statistic)
    verdict = compare(got, op, value)
    return Record(
        name="checkpoint_window",
        claim=claim or f"{statistic} of {series} over checkpoints t ∈ [{start_fraction:g}·T, T] "
                       f"{op} {value} ({spec.algorithm} on {spec.problem}, T = {T})",
        method="float", verdict=verdict,
        details={"series": series, "statistic": statistic, "op": op, "threshold": value,
                 "value": got, "window": [window[0][0], window[-1][0]] if window else None,
                 "checkpoints": len(window), "missing": missing},
        witness=None if verdict != "fail" else {"cli": spec.cli()})


def window_rate_value(result, series: str, start_fraction: float,
                      instance: int = 0) -> tuple[float | None, int]:
    """((S_T − S_s)/(T − s), s) with s the largest checkpoint ≤ start_fraction·T."""
    if series not in ("regret", "expected_regret"):
        raise ValueError("window_rate needs a cumulative series: regret or expected_regret")
    ts, values = checkpoint_series(result, series, instance)
    T = result.steps
    earlier = [k for k, t in enumerate(ts) if t <= start_fraction * T and t < T]
    if not earlier:
        return None, 0
    k = earlier[-1]
    if values[k] is None or values[-1] is None:
        return None, ts[k]
    return (values[-1] - values[k]) / (T - ts[k]), ts[k]


@register("window_rate")
def window_rate(spec: RunSpec, series: str, op: str, value: float, start_fraction: float = 0.1,
                scale: float = 1.0, claim: str | None = None, _result=None) -> Record:
    """(S_T − S_s)/((T − s)·scale) ``op`` ``value``: the per-step rate over the late window."""
    result = _run(spec, _result)
    rate, s = window_rate_value(result, series, start_fraction)
    got = None if rate is None else rate / scale
    verdict = compare(got, op, value)
    return Record(
        name="window_rate",
        claim=claim or f"({series}_T − {series}_s)/(T − s) / {scale:g} {op} {value:g} over "
                       f"(s, T] = ({s}, {result.steps}] ({spec.algorithm} on {spec.problem})",
        method="float", verdict=verdict,
        details={"series": series, "op": op, "threshold": value, "value": got, "rate": rate,
                 "scale": scale, "s": s, "T": result.steps},
        witness=None if verdict != "fail" else {"cli": spec.cli()})


@register("regret_exponent")
def regret_exponent(spec: RunSpec, op: str, value: float, start_fraction: float = 0.01,
                    series: str = "regret", claim: str | None = None, _result=None) -> Record:
    """The fitted exponent k of R_t ∝ t^k (least squares of log R_t on log t over the
    checkpoints t ∈ [f·T, T] with R_t > 0, see
    :func:`~amsgrad_theory.verify.invariants.fit_exponent`) compared: ``k op value``.
    k ≈ 1/2 for an O(√T) regret, 1 for a linear one."""
    result = _run(spec, _result)
    T, window = late_window(result, series, start_fraction)
    slope, se = fit_exponent([t for t, _ in window], [v for _, v in window])
    verdict = compare(slope, op, value)
    return Record(
        name="regret_exponent",
        claim=claim or f"fitted exponent k of {series} ∝ t^k over t ∈ [{start_fraction:g}·T, T] "
                       f"{op} {value} ({spec.algorithm} on {spec.problem}, T = {T})",
        method="float", verdict=verdict,
        details={"exponent": slope, "stderr": se, "op": op, "threshold": value,
                 "window": [window[0][0], window[-1][0]] if window else None,
                 "points": len(window)},
        witness=None if verdict != "fail" else {"cli": spec.cli()})


@register("bound_violated")
def bound_violated(spec: RunSpec, bound: str, instance: int = 0, claim: str | None = None,
                   _result=None) -> Record:
    """A (printed) bound is violated on this run: some checkpoint has lhs > rhs (the inverse of
    the ``bound`` check of :mod:`amsgrad_theory.verify.bounds`; the witness of a refutation).
    ``pass`` when the bound check fails, ``fail`` when it holds, ``undecided`` otherwise."""
    result = _run(spec, _result)
    inner = bound_records(result, spec, instance, names=[bound])[0]
    verdict = {"fail": "pass", "pass": "fail"}.get(inner.verdict, "undecided")
    first = (inner.witness or {}).get("first_failing_t")
    return Record(
        name=f"violated:{bound}",
        claim=claim or f"{bound} is violated on this run: {inner.details.get('status', '')} "
                       f"bound below the realized value at some checkpoint",
        method=inner.method, verdict=verdict,
        details={"bound": bound, "max_ratio": inner.details.get("max_ratio"),
                 "at_t": inner.details.get("at_t"), "first_failing_t": first,
                 "status": inner.details.get("status")},
        witness={"cli": spec.cli("verify"), "first_failing_t": first} if verdict == "pass"
        else None,
        source=inner.source)


@register("proof_step_fails")
def proof_step_fails(spec: RunSpec, chain: str, step: str, claim: str | None = None,
                     _result=None) -> Record:
    """A link of a proof chain fails on this run (the inverse of ``proof_step`` of
    :mod:`amsgrad_theory.verify.proof`): ``pass`` when lhs > rhs — a counterexample to the link."""
    res = check_chain(spec, chain, result=_result)
    link = next((s for s in res.steps if s.name == step), None)
    if link is None:
        raise KeyError(f"no step {step!r} in chain {chain!r}")
    verdict = "fail" if link.holds else "pass"
    return Record(
        name=f"fails:{step}",
        claim=claim or f"{step} fails on this run ({link.statement})",
        method="float", verdict=verdict,
        details={"lhs": link.lhs, "rhs": link.rhs, "valid_in_general": link.valid,
                 "first_failing_t": link.first_failing_t, "chain": chain},
        witness={"cli": spec.cli("check-proof"), "first_failing_t": link.first_failing_t}
        if verdict == "pass" else None,
        source=link.source)


@register("proof_search")
def proof_search(spec: RunSpec, chain: str, step: str, max_examples: int,
                 expect_failure: bool, claim: str | None = None) -> Record:
    """Hypothesis searches the runs covered by ``chain``'s hypotheses
    (:func:`~amsgrad_theory.verify.proof.run_strategy`) for one on which ``step`` fails
    (:func:`~amsgrad_theory.verify.proof.search_failures`, derandomised). ``expect_failure``:
    the claim is that a failing run is found (and shrunk); otherwise that none of
    ``max_examples`` runs breaks the step. ``spec`` names the chain's example run (the search
    does not start from it)."""
    found = search_failures(step, chain, max_examples=max_examples)
    failing = found.verdict == "fail"
    verdict = "pass" if failing == bool(expect_failure) else "fail"
    what = (f"Hypothesis finds a run on which {step} fails within {max_examples} cases and "
            f"shrinks it" if expect_failure else
            f"no run among {max_examples} generated by Hypothesis breaks {step}")
    return Record(
        name=f"search:{step}", claim=claim or what, method="sampled", verdict=verdict,
        cases=found.cases, seed=0,
        details={"chain": chain, "found_failure": failing,
                 "witness": (found.witness or {}).get("run"), "lhs": found.details.get("lhs"),
                 "rhs": found.details.get("rhs"), "valid_in_general":
                 found.details.get("valid_in_general")},
        witness=found.witness if failing else None)


@register("trace_phase_value")
def trace_phase_value(spec: RunSpec, period: int, phase: int, value: float,
                      claim: str | None = None, _result=None) -> Record:
    """x_t == ``value`` exactly (float equality) at every t ≤ T with t ≡ phase (mod period)."""
    result = _run(spec, _result, trace=True)
    x = result.trace["x"][:, 0, 0]
    ts = [t for t in range(1, result.steps + 1) if t % period == phase % period]
    bad = [t for t in ts if float(x[t - 1]) != value]
    verdict = "pass" if not bad else "fail"
    return Record(
        name="trace_phase_value",
        claim=claim or f"x_t = {value:g} at every t ≡ {phase} (mod {period}), t ≤ {result.steps} "
                       f"({spec.algorithm} on {spec.problem})",
        method="float", verdict=verdict,
        details={"period": period, "phase": phase, "value": value, "steps_checked": len(ts),
                 "first_exception": bad[0] if bad else None,
                 "x_at_first_exception": float(x[bad[0] - 1]) if bad else None},
        witness=None if not bad else {"cli": spec.with_(steps=bad[0]).cli()})


def growth(values) -> dict:
    """max_t v_t / min_{s≤t} v_s over the finite positive entries, the number of steps with
    v_t > v_{t−1}, and the first of them (1-based)."""
    v = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(v) & (v > 0)
    if not ok.any():
        return {"growth": None, "increases": 0, "first_increase_step": None}
    w = np.where(ok, v, np.nan)
    running_min = np.fmin.accumulate(w)
    ratio = float(np.nanmax(w / running_min))
    inc = np.flatnonzero(ok[1:] & ok[:-1] & (v[1:] > v[:-1])) + 2
    return {"growth": ratio, "increases": int(inc.size),
            "first_increase_step": int(inc[0]) if inc.size else None,
            "first": float(w[np.flatnonzero(ok)[0]]), "last": float(w[np.flatnonzero(ok)[-1]])}


@register("step_growth")
def step_growth(spec: RunSpec, which: str, op: str, value: float, claim: str | None = None,
                _result=None) -> Record:
    """growth = max_t η_t / min_{s≤t} η_s of ``which`` (``eta``/``eta_hat``), coordinate 0."""
    if which not in ("eta", "eta_hat"):
        raise ValueError("which must be eta or eta_hat")
    result = _run(spec, _result, trace=True)
    info = growth(result.trace[which][:, 0, 0])
    verdict = compare(info["growth"], op, value)
    symbol = "η" if which == "eta" else "η̂"
    return Record(
        name="step_growth",
        claim=claim or f"max_t {symbol}_t / min_(s≤t) {symbol}_s {op} {value:g} "
                       f"({spec.algorithm} on {spec.problem}, T = {result.steps})",
        method="float", verdict=verdict, details={"which": which, "op": op, "threshold": value,
                                                  "value": info["growth"], **info},
        witness=None if verdict != "fail" else {"cli": spec.cli()})


def rho_values(steps: int, beta1: str, beta2: str) -> list[float]:
    """ρ(t) = √(1−β2^t)/(1−β1^t), t = 1..steps, from the symbolic module (mpmath, as floats)."""
    return [float(v) for v in rho_series(range(1, steps + 1), beta1, beta2, dps=30)]


def rho_prediction(variant, hp: dict, vhat, steps: int) -> list[float]:
    """η_t of a framework AMSGrad predicted as the paper's AMSGrad with α_t = lr·ρ(t), lr as
    the framework stores it (Keras keeps its learning rate in float32: 0.001 is
    0.0010000000474974513, 4.7e-8 away, far more than the identity's 1e-12)."""
    lr, eps = float(hp["alpha"]), float(hp["eps"])
    if variant.learning_rate_in == "float32":
        lr = float(np.float32(lr))
    b2 = float(hp["beta2"])
    rho = rho_values(steps, hp["beta1"], hp["beta2"])
    out = []
    for t in range(1, steps + 1):
        root = math.sqrt(float(vhat[t - 1]))
        if variant.step_form == "scaled":
            denom = root + eps * math.sqrt(1.0 - b2 ** t)
        elif variant.step_form == "folded":
            denom = root + eps
        else:
            raise ValueError(f"{variant.name}: ρ(t) describes the scaled/folded step forms only")
        out.append(lr * rho[t - 1] / denom if denom > 0 else math.inf)
    return out


@register("rho_identity")
def rho_identity(spec: RunSpec, rtol: float = 1e-12, claim: str | None = None,
                 _result=None) -> Record:
    """The traced η_t of a scaled/folded framework AMSGrad equals lr·ρ(t)/(√v̂_t + ε·…)."""
    result = _run(spec, _result, trace=True)
    variant = result.variant
    hp = result.instances[0].hyperparameters
    eta = result.trace["eta"][:, 0, 0]
    pred = np.array(rho_prediction(variant, hp, result.trace["vhat"][:, 0, 0], result.steps))
    ok = np.isfinite(eta) & np.isfinite(pred)
    rel = np.abs(eta[ok] - pred[ok]) / np.abs(pred[ok])
    worst = float(rel.max()) if rel.size else None
    verdict = compare(worst, "<=", rtol)
    return Record(
        name="rho_identity",
        claim=claim or f"{spec.algorithm} is the paper's AMSGrad with α_t = lr·ρ(t): its η_t "
                       f"matches lr·ρ(t)/(√v̂_t + ε…) to {rtol:g} on {spec.problem}",
        method="float", verdict=verdict,
        details={"max_relative_deviation": worst, "rtol": rtol, "steps_compared": int(ok.sum()),
                 "rho_source": "amsgrad_theory.symbolic.bias.rho"},
        witness=None if verdict != "fail" else {"cli": spec.cli()},
        source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]; Keras "
        "3.15 keras/src/optimizers/adam.py [keras-3.15]")


@register("rho_minimum")
def rho_minimum_check(spec: RunSpec, beta1: str, beta2: str, expected_t: int,
                      claim: str | None = None) -> Record:
    """The integer minimiser of ρ(t) for (β1, β2) is ``expected_t`` (certified, arb balls)."""
    m = rho_minimum(beta1, beta2)
    verdict = "pass" if m.t_integer == expected_t else "fail"
    return Record(
        name="rho_minimum",
        claim=claim or f"ρ(t) for (β1, β2) = ({beta1}, {beta2}) is smallest at t = {expected_t}",
        method="certified", verdict=verdict,
        details={"t_integer": m.t_integer, "value": float(m.value),
                 "t_continuous": float(m.t_continuous), "checked_up_to": m.checked_up_to},
        source="ρ(t) of PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam "
        "[pytorch-2.13]")


def sequence_of(spec: RunSpec):
    """The gradients g_1..g_T (float64 array (T, d)) of a ``gradient-sequence`` spec."""
    problem = get_problem(spec.problem)
    if problem.family != "gradient-sequence" or problem.sequence is None:
        raise ValueError("needs a gradient-sequence problem")
    rows = problem.sequence[0]
    tail = float(Fraction(problem.params[0]["tail"]))
    d = problem.d
    G = np.full((spec.steps, d), tail)
    for t, row in enumerate(rows[:spec.steps]):
        G[t] = [float(Fraction(v)) for v in row]
    return G


@register("torch_amsgrad_equivalence")
def torch_amsgrad_equivalence(spec: RunSpec, expected_identical: int, x0: float = 0.5,
                              claim: str | None = None) -> Record:
    """Leading steps on which the real ``torch.optim.Adam(amsgrad=True)`` (single-tensor path,
    float64) is bit-identical to ``amsgrad=False`` on the spec's gradient sequence; pass iff
    it is ``expected_identical`` (reuses the audit's ``amsgrad_equivalence``)."""
    hp = get_variant("amsgrad-pytorch").hyperparameters(**spec.hyperparameters)
    hyper = {"alpha": float(hp["alpha"]), "beta1": float(hp["beta1"]),
             "beta2": float(hp["beta2"]), "eps": float(hp["eps"]),
             "weight_decay": float(hp["weight_decay"])}
    model = get_variant("amsgrad-pytorch")
    ams = TorchSubject(torch_factory("Adam", hyper, {"foreach": False}, amsgrad=True),
                       "torch.optim.Adam(amsgrad=True)", model)
    plain = TorchSubject(torch_factory("Adam", hyper, {"foreach": False}, amsgrad=False),
                         "torch.optim.Adam(amsgrad=False)", model)
    G = sequence_of(spec)[:, 0]
    eq = amsgrad_equivalence(ams, plain, G, spec.problem, x0=x0)
    verdict = "pass" if eq["identical_steps"] == expected_identical else "fail"
    eq = {k: v for k, v in eq.items() if k != "sequence"}
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    return Record(
        name="torch_amsgrad_equivalence",
        claim=claim or f"torch.optim.Adam(amsgrad=True) is bit-identical to amsgrad=False for "
                       f"the first {expected_identical} of {spec.steps} steps",
        method="float", verdict=verdict, details={**eq, "torch": torch.__version__,
                                                  "expected_identical": expected_identical},
        source="PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam: max(max_exp_avg_sq, "
        "exp_avg_sq) over the raw v [pytorch-2.13]")
