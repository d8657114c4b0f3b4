"""Assertion helpers for a user's own pytest suite: AMSGrad's invariants and exact-model
agreement for any ``optimizer_factory(params) -> torch.optim.Optimizer``.

Each helper runs a hypothesis search (seeded, no example database, quiet) over gradient
sequences of one coordinate, and on failure raises :class:`AssertionError` with the
hypothesis-shrunk smallest counterexample and a command that replays it. The readings are those
of the framework audit (:mod:`amsgrad_theory.verify.audit_invariants`): θ is reset to 0 before
every step, so the displacement Δ_t is read exactly, and

* η_t = −Δ_t/m_t with m_t = β1 m_{t−1} + (1 − β1) g_t recomputed in float64,
* η̂_t = η_t (1 − β1^t) (the factor on m̂_t; = γ/(√v̂_t/√(1−β2^t) + ε) for PyTorch),
* v̂_t from inverting the model's step form (``scaled`` for PyTorch:
  √v̂_t = √(1−β2^t)(γ m̂_t/|Δ_t| − ε)).

Reddi et al. (ICLR 2018, Algorithm 2, Theorem 4) require v̂_t non-decreasing and
Γ_t ⪰ 0, i.e. η_t non-increasing; implementations.md §0 shows PyTorch keeps the first and breaks
the others with a constant learning rate.

β1, β2, ε and γ are read from the optimizer's first param group (``betas``, ``eps``, ``lr``;
missing keys take the model variant's defaults).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Verbosity, find, settings
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from ..algorithms import get_variant
from ..errors import InputError
from ..verify.audit import callable_label, model_command, replay_command
from ..verify.audit_checks import ulps
from ..verify.audit_invariants import check_sequence, default_rtol, search
from ..verify.audit_subjects import TorchSubject, run_model
from .strategies import InvalidArgument, check_choice, check_int, gradient_sequences

READINGS = ("eta_hat", "eta", "both")
_SCHEDULES = ("constant", "inv-sqrt")
_DTYPES = ("float64", "float32")


# ------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------

def _check_factory(optimizer_factory) -> None:
    if not callable(optimizer_factory):
        raise InvalidArgument("optimizer_factory", optimizer_factory,
                              "must be callable: params -> torch.optim.Optimizer")


def _check_rtol(rtol) -> float | None:
    if rtol is None:
        return None
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not 0 < rtol < 1:
        raise InvalidArgument("rtol", rtol, "must be a number in (0, 1)")
    return float(rtol)


def _check_sequence(sequence) -> list[float] | None:
    if sequence is None:
        return None
    if isinstance(sequence, (str, bytes)) or not isinstance(sequence, (Sequence, np.ndarray)) \
            or len(sequence) == 0:
        raise InvalidArgument("sequence", sequence, "must be a non-empty list of numbers")
    out = []
    for v in sequence:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(v)):
            raise InvalidArgument("sequence", sequence, f"entry {v!r} is not a finite number")
        out.append(float(v))
    return out


def _check_strategy(gradients) -> SearchStrategy:
    if gradients is None:
        return gradient_sequences()
    if not isinstance(gradients, SearchStrategy):
        raise InvalidArgument("gradients", gradients,
                              "must be a hypothesis strategy of lists of floats")
    return gradients


def _subject(optimizer_factory, *, model: str, schedule: str | None, dtype: str,
             rtol: float | None, model_argument: str = "model"):
    _check_factory(optimizer_factory)
    if schedule is not None:
        check_choice("schedule", schedule, _SCHEDULES)
    check_choice("dtype", dtype, _DTYPES)
    try:
        variant = get_variant(model)
    except InputError as exc:
        raise InvalidArgument(model_argument, model, exc.message) from None
    if schedule is not None:
        variant = get_variant(variant, alpha_schedule=schedule)
    label = _label(optimizer_factory)
    subject = TorchSubject(optimizer_factory, label, variant, dtype=dtype,
                           schedule=variant.alpha_schedule, rtol=rtol or default_rtol(dtype))
    try:
        subject.hyperparameters()      # builds one optimizer: checks what the factory returns
    except InputError as exc:
        raise InvalidArgument("optimizer_factory", optimizer_factory, exc.message) from None
    except Exception as exc:
        raise InvalidArgument("optimizer_factory", optimizer_factory,
                              f"raised {type(exc).__name__}: {exc} when called with a list of "
                              "parameters") from None
    return subject


def _label(factory) -> str:
    return callable_label(factory)


def _replay(subject, helper: str, gradients: list[float], extra: str = "", *,
            model: bool = False) -> str:
    seq = "[" + ", ".join(repr(v) for v in gradients) + "]"
    lines = [f"replay in Python: {helper}(<your factory>, sequence={seq}{extra})"]
    if model:
        lines.append("the model's run: " + model_command(
            subject.model.name, gradients, subject.hyperparameters(), subject.schedule))
    else:
        command = replay_command(subject.label, gradients, schedule=subject.schedule,
                                 dtype=subject.dtype, path="single")
        if command is not None and "<" not in subject.label:
            lines.append(f"replay from the shell: {command}")
    return "\n  ".join(lines)


# ------------------------------------------------------------------------------------------
# invariants
# ------------------------------------------------------------------------------------------

_WHAT = {
    "finite_steps": "the optimizer failed",
    "vhat_nondecreasing": "the maxed second moment v̂ decreased",
    "eta_hat_nonincreasing": "the effective step η̂ (on the bias-corrected momentum) increased",
    "eta_nonincreasing": "the effective step η (on the raw momentum) increased",
}


def _check_invariants(helper: str, optimizer_factory, names: tuple[str, ...], *, schedule,
                      dtype, model, gradients, sequence, max_examples, seed, rtol) -> None:
    rtol = _check_rtol(rtol)
    max_examples = check_int("max_examples", max_examples, low=1)
    seed = check_int("seed", seed, low=0)
    given = _check_sequence(sequence)
    strategy = _check_strategy(gradients)
    subject = _subject(optimizer_factory, model=model, schedule=schedule, dtype=dtype, rtol=rtol)
    names = ("finite_steps", *names)
    if given is not None:
        result = check_sequence(subject, given, names=names, rtol=subject.rtol)
        how = "the given sequence"
    else:
        result = search(subject, strategy, names=names, max_examples=max_examples, seed=seed,
                        rtol=subject.rtol)
        how = f"shrunk by hypothesis from {result.cases} cases, seed {seed}"
    for outcome in result.outcomes:
        if outcome.holds:
            continue
        ex = outcome.counterexample
        g = ex["gradients"]
        if outcome.name == "finite_steps":
            head = f"{_WHAT['finite_steps']} at step {ex['step']}: {ex['error']}"
        else:
            head = (f"{_WHAT[outcome.name]} at step {ex['step']}: {ex['before']:.9g} → "
                    f"{ex['after']:.9g} (by {ex['relative_change']:.4%}; tolerance "
                    f"{outcome.rtol:g})")
        raise AssertionError(
            f"{head}\n  gradients ({how}, {len(g)} steps): {g}\n"
            f"  optimizer: {subject.label} ({dtype}, {subject.schedule} learning rate, "
            f"model {subject.model.name})\n  {_replay(subject, helper, g)}")


def assert_effective_step_nonincreasing(
        optimizer_factory: Callable, *, reading: str = "both", schedule: str = "constant",
        dtype: str = "float64", model: str = "amsgrad-pytorch",
        gradients: SearchStrategy | None = None, sequence: Sequence[float] | None = None,
        max_examples: int = 100, seed: int = 0, rtol: float | None = None) -> None:
    """Assert that the effective step never increases: η̂_t ≤ η̂_{t−1} and/or η_t ≤ η_{t−1}
    (Γ_t ⪰ 0, Reddi et al. 2018, Theorem 4), with every step finite.

    ``reading``: ``"eta_hat"``, ``"eta"`` or ``"both"``. ``schedule="inv-sqrt"`` applies
    α_t = α/√t through ``torch.optim.lr_scheduler.LambdaLR``. ``gradients`` is the strategy to
    search (default :func:`~amsgrad_theory.testing.strategies.gradient_sequences`);
    ``sequence`` checks one sequence instead (a replay). ``rtol`` is the relative increase that
    counts (default 1e-9 in float64, 1e-5 in float32).

    PyTorch's ``Adam(amsgrad=True)`` fails with a constant learning rate: η̂ rises 41.4 % on
    g = (1, 0) (implementations.md §0); with ``schedule="inv-sqrt"`` it passes.
    """
    check_choice("reading", reading, READINGS)
    names = {"eta_hat": ("eta_hat_nonincreasing",), "eta": ("eta_nonincreasing",),
             "both": ("eta_hat_nonincreasing", "eta_nonincreasing")}[reading]
    _check_invariants("assert_effective_step_nonincreasing", optimizer_factory, names,
                      schedule=schedule, dtype=dtype, model=model, gradients=gradients,
                      sequence=sequence, max_examples=max_examples, seed=seed, rtol=rtol)


def assert_max_nondecreasing(
        optimizer_factory: Callable, *, schedule: str = "constant", dtype: str = "float64",
        model: str = "amsgrad-pytorch", gradients: SearchStrategy | None = None,
        sequence: Sequence[float] | None = None, max_examples: int = 100, seed: int = 0,
        rtol: float | None = None) -> None:
    """Assert that the maxed second moment v̂_t — read from the parameter displacement, not from
    the optimizer's state — never decreases, with every step finite.

    Catches a running max that is computed but never written back to state (pytorch#78807,
    chainer#7661): such an optimizer is plain Adam, whose v̂ falls as soon as g_t² < v_{t−1}
    (the shrunk counterexample is g = (1, 0)).
    """
    _check_invariants("assert_max_nondecreasing", optimizer_factory, ("vhat_nondecreasing",),
                      schedule=schedule, dtype=dtype, model=model, gradients=gradients,
                      sequence=sequence, max_examples=max_examples, seed=seed, rtol=rtol)


# ------------------------------------------------------------------------------------------
# agreement with the exact model
# ------------------------------------------------------------------------------------------

def assert_matches_reference(
        optimizer_factory: Callable, variant: str = "amsgrad-pytorch", *,
        dtype: str = "float64", schedule: str | None = None, x0: float = 0.5,
        max_ulps: float = 4, lr_tolerance: float = 0.0,
        gradients: SearchStrategy | None = None, sequence: Sequence[float] | None = None,
        max_examples: int = 50, seed: int = 0) -> None:
    """Assert that the optimizer follows the toolkit's model of ``variant`` step for step.

    Both run from θ_1 = ``x0`` on the same gradients (hyperparameters read from the optimizer's
    param group); the model is ``simulate(variant, "gradient-sequence:…,set=none")`` in float64,
    or on torch float32 tensors for ``dtype="float32"``. A step agrees when
    |θ_t − θ_t^model| ≤ ``max_ulps`` ulps of the dtype or ≤ ``lr_tolerance``·γ. The PyTorch
    variants model torch 2.13's single-tensor Adam/AdamW bit for bit (without L2 weight decay;
    see the audit notes).
    """
    if isinstance(max_ulps, bool) or not isinstance(max_ulps, (int, float)) or max_ulps < 0:
        raise InvalidArgument("max_ulps", max_ulps, "must be a number >= 0")
    if isinstance(lr_tolerance, bool) or not isinstance(lr_tolerance, (int, float)) \
            or lr_tolerance < 0:
        raise InvalidArgument("lr_tolerance", lr_tolerance, "must be a number >= 0")
    if isinstance(x0, bool) or not isinstance(x0, (int, float)) or not np.isfinite(x0):
        raise InvalidArgument("x0", x0, "must be a finite number")
    max_examples = check_int("max_examples", max_examples, low=1)
    seed = check_int("seed", seed, low=0)
    given = _check_sequence(sequence)
    strategy = _check_strategy(gradients)
    subject = _subject(optimizer_factory, model=variant, schedule=schedule, dtype=dtype,
                       rtol=None, model_argument="variant")
    hyper = subject.hyperparameters()
    start = np.array([float(x0)])

    def compare(g) -> dict | None:
        G = np.asarray(g, dtype=np.float64).reshape(-1, 1)
        real = subject.trajectory(G, start)
        if real.error is not None:
            return {"step": real.error.step, "error": real.error.message}
        model = run_model(subject.model, hyper, G, start, dtype=dtype)
        u = ulps(real.theta[:, 0], model["theta"][:, 0], dtype)
        drift = np.abs(real.theta[:, 0] - model["theta"][:, 0])
        bad = np.flatnonzero((u > max_ulps) & (drift > lr_tolerance * hyper["alpha"]))
        if bad.size == 0:
            return None
        t = int(bad[0])
        return {"step": t + 1, "theta": float(real.theta[t, 0]),
                "model": float(model["theta"][t, 0]), "ulps": float(u[t])}

    if given is not None:
        found, problem, how = given, compare(given), "the given sequence"
    else:
        cache: dict = {}

        def differs(g) -> bool:
            key = tuple(g)
            if key not in cache:
                cache[key] = compare(g)
            return cache[key] is not None

        config = settings(max_examples=max_examples, database=None, deadline=None,
                          derandomize=False, verbosity=Verbosity.quiet, print_blob=False,
                          suppress_health_check=list(HealthCheck))
        try:
            found = find(strategy, differs, settings=config, random=random.Random(seed))
        except NoSuchExample:
            return
        problem = cache[tuple(found)]
        how = f"shrunk by hypothesis from {len(cache)} cases, seed {seed}"
    if problem is None:
        return
    if "error" in problem:
        head = f"the optimizer failed at step {problem['step']}: {problem['error']}"
    else:
        head = (f"θ differs from the model {subject.model.name} at step {problem['step']}: "
                f"{problem['theta']!r} vs {problem['model']!r} ({problem['ulps']:.4g} ulps; "
                f"allowed {max_ulps:g} ulps or {lr_tolerance:g}·lr)")
    raise AssertionError(
        f"{head}\n  gradients ({how}, {len(found)} steps): {list(found)}\n"
        f"  optimizer: {subject.label} ({dtype}, x0 = {x0!r}, hyperparameters {hyper})\n"
        "  " + _replay(subject, "assert_matches_reference", list(found),
                         f", variant={variant!r}", model=True))


__all__ = ["assert_effective_step_nonincreasing", "assert_max_nondecreasing",
           "assert_matches_reference", "READINGS"]
