"""The invariants an AMSGrad implementation should keep, read from parameter displacements,
and the hypothesis search for their smallest counterexample.

Readings (per step t and coordinate; Δ_t from the θ reset trick, γ_t the step size the optimizer
used, β1, β2, ε read from its param group):

* momentum, recomputed in float64:  m_t = β1 m_{t−1} + (1 − β1) g_t,  m_0 = 0
  (m_t = g_t for variants without a first moment);
* effective step on the raw momentum:  η_t = −Δ_t / m_t;
* on the momentum the implementation divides:  η̂_t = η_t·(1 − β1^t) where the model corrects
  m (η̂_t = γ/(√v̂_t/√(1−β2^t) + ε) for PyTorch 2.13, torch/optim/adam.py,
  _single_tensor_adam [pytorch-2.13]), else η̂_t = η_t;
* the maxed second moment the step divided by, by inverting the model's step form
  (:mod:`~amsgrad_theory.algorithms.variant`): with F_t the factor on m_t (``scaled``:
  γ_t/(1−β1^t); ``folded``: γ_t√(1−β2^t)/(1−β1^t); ``normalized``: γ_t/(1−β1^t) or γ_t) and
  D_t = F_t/η_t the denominator, √v̂_t = √(1−β2^t)(D_t − ε) (``scaled``), else D_t − ε
  (v̂_t = (D_t − ε)² − ε_root where ε_root sits inside the root).

Invariants (Reddi et al. 2018, Algorithm 2 and the condition Γ_t ⪰ 0 of Theorem 4
[reddi2018], read for the frameworks' effective steps η and η̂ defined above):

``finite_steps``           every step runs and leaves the parameters finite;
``vhat_nondecreasing``     v̂_t ≥ v̂_{t−1} (the running max is kept, and written back);
``eta_hat_nonincreasing``  η̂_t ≤ η̂_{t−1};
``eta_nonincreasing``      η_t ≤ η_{t−1}  (Γ_t ⪰ 0).

A comparison is made only between steps whose reading is well conditioned: the optimizer's own
m_t, rounded in its dtype (unit roundoff u), differs from the float64 one by at most ≈ u·E_t to
first order, E_t = β1 E_{t−1} + 2(1−β1)|g_t − m_{t−1}| + |m_t| (each step's rounding errors,
fading like β1^k); a step is judged only when u(E_t/|m_t| + 4) (and, for v̂, twice it times the
amplification D_t/(D_t − ε)) stays below rtol/4, so cancellation in m never reads as a change.
Steps are compared with the previous judged step. A violation is a change
beyond the relative tolerance ``rtol``; the largest relative change seen is reported whatever
its size.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Verbosity, find, settings
from hypothesis.errors import NoSuchExample

from ..strategies import search_settings
from .audit_subjects import Measurement, StepError

INVARIANTS = ("finite_steps", "vhat_nondecreasing", "eta_hat_nonincreasing",
              "eta_nonincreasing")
CLAIMS = {
    "finite_steps": "every optimizer step runs and leaves the parameters finite",
    "vhat_nondecreasing": "the maxed second moment v̂_t, read from the parameter displacement, "
                          "never decreases (AMSGrad's running max is kept and written back)",
    "eta_hat_nonincreasing": "the effective step η̂_t = α_t/(√v̂_t/√(1−β2^t)+ε) on the divided "
                             "momentum never increases",
    "eta_nonincreasing": "the effective step η_t on the raw momentum m_t never increases "
                         "(Γ_t ⪰ 0, Reddi et al. 2018, Theorem 4)",
}
SOURCE = ("Reddi, Kale, Kumar, ICLR 2018, Algorithm 2 and Theorem 4 (Γ_t ⪰ 0) [reddi2018]; "
          "PyTorch 2.13 torch/optim/adam.py, _single_tensor_adam [pytorch-2.13]")


def default_rtol(dtype: str, path: str = "single") -> float:
    """Relative tolerance of a violation: rounding must never count as one.

    float64: 1e-9; float32: 1e-5; the differentiable/capturable paths compute 1 − β^t in the
    float32 ``step`` tensor (≈1e-5 relative even for float64 parameters; PyTorch 2.13
    torch/optim/adam.py, _single_tensor_adam's capturable branch [pytorch-2.13]): 1e-4.
    """
    if path in ("differentiable", "capturable"):
        return 1e-4
    return 1e-9 if dtype == "float64" else 1e-5


@dataclass
class Readings:
    """η, η̂, v̂ (arrays (T, d), NaN where not judged) of one measurement."""

    eta: np.ndarray
    eta_hat: np.ndarray
    vhat: np.ndarray
    judged: np.ndarray
    judged_vhat: np.ndarray
    steps: int
    error: StepError | None


def readings(measurement: Measurement, hyper: dict, variant, unit_roundoff: float,
             rtol: float) -> Readings:
    """Effective steps and v̂ from displacements (see the module docstring)."""
    if measurement.readings is not None:
        # a model's own readings; as for a real optimizer, a step that moves nothing (m_t = 0)
        # has no observable effective step
        r = measurement.readings
        ok = np.isfinite(r["eta"]) & np.isfinite(r["eta_hat"]) & (r["m"] != 0)
        return Readings(np.where(ok, r["eta"], np.nan), np.where(ok, r["eta_hat"], np.nan),
                        np.where(np.isfinite(r["vhat"]), r["vhat"], np.nan), ok,
                        np.isfinite(r["vhat"]), measurement.steps, measurement.error)
    g = measurement.gradients
    T, d = g.shape
    b1, b2 = float(hyper["beta1"]), float(hyper["beta2"])
    eps = float(hyper.get("eps", 0.0))
    eps_root = float(hyper.get("eps_root", 0.0))
    m = np.zeros(d)
    err = np.zeros(d)
    eta = np.full((T, d), np.nan)
    eta_hat = np.full((T, d), np.nan)
    vhat = np.full((T, d), np.nan)
    judged = np.zeros((T, d), dtype=bool)
    judged_v = np.zeros((T, d), dtype=bool)
    first = variant.first_moment == "ema"
    for t in range(measurement.steps):
        tt = t + 1
        if first:
            step_size = (1.0 - b1) * np.abs(g[t] - m)
            m = b1 * m + (1.0 - b1) * g[t]
            # first-order rounding bound of the optimizer's m_t, in units of u: the old error
            # decays by β1; the step adds |(1−β1)(g − m)| twice (difference, product) and |m_t|
            err = b1 * err + 2.0 * step_size + np.abs(m)
        else:
            m = g[t].copy()
            err = np.zeros(d)
        bc1 = 1.0 - b1 ** tt if variant.correct_m else 1.0
        bc2 = 1.0 - b2 ** tt
        gamma = float(measurement.lr[t])
        with np.errstate(divide="ignore", invalid="ignore"):
            e = -measurement.delta[t] / m
            error_bound = unit_roundoff * (np.where(m != 0, err / np.abs(m), np.inf) + 4)
        ok = (m != 0) & (e > 0) & np.isfinite(e) & (error_bound <= rtol / 4)
        eta[t] = np.where(ok, e, np.nan)
        eta_hat[t] = np.where(ok, e * bc1, np.nan)
        judged[t] = ok
        if variant.step_form == "scaled":
            factor = gamma / bc1
        elif variant.step_form == "folded":
            factor = gamma * np.sqrt(bc2) / bc1
        else:
            factor = gamma / bc1
        with np.errstate(divide="ignore", invalid="ignore"):
            den = factor / e
            root = den - eps
            amplification = np.where(root > 0, den / root, np.inf)
        if variant.step_form == "scaled":
            root = root * np.sqrt(bc2)
        value = root * root
        if variant.step_form == "normalized" and variant.eps_root_inside:
            value = value - eps_root
        okv = ok & (root > 0) & (2 * error_bound * amplification <= rtol / 4)
        vhat[t] = np.where(okv, value, np.nan)
        judged_v[t] = okv
    return Readings(eta, eta_hat, vhat, judged, judged_v, measurement.steps, measurement.error)


@dataclass
class Violation:
    """The first violation of one invariant in one measurement (1-based steps)."""

    step: int
    previous_step: int
    coordinate: int
    before: float
    after: float
    relative_change: float


def _scan(values: np.ndarray, judged: np.ndarray, rtol: float,
          increase_is_bad: bool) -> tuple[Violation | None, float]:
    """First change beyond ``rtol`` in the bad direction, and the largest such change seen."""
    worst = 0.0
    first: Violation | None = None
    T, d = values.shape
    for i in range(d):
        prev_t = None
        for t in range(T):
            if not judged[t, i]:
                continue
            if prev_t is not None:
                before, after = values[prev_t, i], values[t, i]
                change = after / before - 1.0 if increase_is_bad else before / after - 1.0
                worst = max(worst, change)
                if change > rtol and (first is None or t + 1 < first.step):
                    first = Violation(t + 1, prev_t + 1, i, float(before), float(after),
                                      float(change))
            prev_t = t
    return first, worst


@dataclass
class Evaluation:
    """All invariants on one gradient sequence."""

    violations: dict[str, Violation | StepError | None]
    worst: dict[str, float]

    def violates(self, name: str) -> bool:
        return self.violations[name] is not None


def evaluate(subject, gradients, rtol: float, names=INVARIANTS, *,
             measurement: Measurement | None = None) -> Evaluation:
    """Measure ``subject`` on ``gradients`` (unless ``measurement`` is given) and check each
    invariant in ``names``."""
    if measurement is None:
        measurement = subject.measure(gradients)
    r = readings(measurement, subject.hyperparameters(), subject.model, subject.unit_roundoff,
                 rtol)
    violations: dict = {}
    worst: dict = {}
    for name in names:
        if name == "finite_steps":
            violations[name] = r.error
            worst[name] = 0.0
            continue
        if name == "vhat_nondecreasing":
            if not subject.model.maxes:
                violations[name], worst[name] = None, 0.0
                continue
            v, w = _scan(r.vhat, r.judged_vhat, rtol, increase_is_bad=False)
        elif name == "eta_hat_nonincreasing":
            v, w = _scan(r.eta_hat, r.judged, rtol, increase_is_bad=True)
        else:
            v, w = _scan(r.eta, r.judged, rtol, increase_is_bad=True)
        violations[name], worst[name] = v, w
    return Evaluation(violations, worst)


@dataclass
class InvariantOutcome:
    """What the search established for one invariant (the JSON ``invariants`` entries)."""

    name: str
    holds: bool
    counterexample: dict | None
    max_relative_increase: float
    cases: int
    rtol: float
    claim: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "claim": self.claim or CLAIMS.get(self.name, ""),
                "holds": self.holds, "counterexample": self.counterexample,
                "max_relative_increase": self.max_relative_increase, "cases": self.cases,
                "rtol": self.rtol}


def witness(name: str, gradients: list[float], found) -> dict:
    """A counterexample as JSON: the gradients and what happened at which step."""
    out = {"invariant": name, "gradients": [float(v) for v in gradients],
           "length": len(gradients)}
    if isinstance(found, StepError):
        out.update(found.to_dict())
    elif found is not None:
        out.update(step=found.step, previous_step=found.previous_step, before=found.before,
                   after=found.after, relative_change=found.relative_change)
    return out


@dataclass
class SearchResult:
    outcomes: list[InvariantOutcome]
    cases: int
    seed: int
    evaluations: dict = field(default_factory=dict)


def search(subject, strategy, *, names=INVARIANTS, max_examples: int = 200, seed: int = 0,
           rtol: float, progress: Callable[[int], None] | None = None,
           config: settings | None = None) -> SearchResult:
    """For each invariant, the hypothesis-shrunk smallest gradient sequence that violates it.

    One ``hypothesis.find`` per invariant, every one seeded with ``seed`` (so the searches replay
    the same examples; each sequence is measured once and cached). ``max_examples`` bounds the
    generated examples per invariant; shrinking then minimises the first violation found
    (shortlex on the sequence, then simpler floats). ``config`` replaces the search's own
    settings (the test kit passes the active Hypothesis profile's).
    """
    cache: dict[tuple, Evaluation] = {}
    worst = dict.fromkeys(names, 0.0)

    def run(gradients) -> Evaluation:
        key = tuple(float(v) for v in gradients)
        hit = cache.get(key)
        if hit is None:
            hit = evaluate(subject, np.asarray(key, dtype=np.float64), rtol, names)
            cache[key] = hit
            for n in names:
                worst[n] = max(worst[n], hit.worst[n])
            if progress is not None:
                progress(len(cache))
        return hit

    if config is None:
        config = search_settings(max_examples=max_examples, database=None, deadline=None,
                          derandomize=False, verbosity=Verbosity.quiet, print_blob=False,
                          suppress_health_check=list(HealthCheck))
    outcomes = []
    for name in names:
        def violated(gradients, n: str = name) -> bool:
            return run(gradients).violates(n)

        try:
            found = find(strategy, violated, settings=config,
                         random=random.Random(seed))
        except NoSuchExample:
            outcomes.append(InvariantOutcome(name, True, None, worst[name], len(cache), rtol))
            continue
        ex = witness(name, found, run(found).violations[name])
        outcomes.append(InvariantOutcome(name, False, ex, worst[name], len(cache), rtol))
    for o in outcomes:          # the largest change over every case of every search
        o.max_relative_increase = worst[o.name]
        o.cases = len(cache)
    return SearchResult(outcomes, len(cache), seed, cache)


def check_sequence(subject, gradients, *, names=INVARIANTS, rtol: float) -> SearchResult:
    """The invariants on one given sequence (a replay: no search, no shrinking)."""
    ev = evaluate(subject, np.asarray(gradients, dtype=np.float64), rtol, names)
    outcomes = []
    for name in names:
        v = ev.violations[name]
        ex = None if v is None else witness(name, list(gradients), v)
        outcomes.append(InvariantOutcome(name, v is None, ex, ev.worst[name], 1, rtol))
    return SearchResult(outcomes, 1, 0, {})
