"""Assertion helpers for a user's own pytest suite: AMSGrad's invariants and exact-model
agreement for any ``optimizer_factory(params) -> torch.optim.Optimizer``.

Each helper runs a Hypothesis search over gradient sequences of one coordinate, and on failure
raises :class:`AssertionError` with the Hypothesis-shrunk smallest counterexample and the lines
that replay it — in Python, with every argument the call changed from its default, and from the
shell. The helpers' frames are hidden from pytest's tracebacks (``__tracebackhide__``).

The search follows the active Hypothesis profile: ``max_examples=None`` takes the profile's,
and ``seed=None`` takes pytest's ``--hypothesis-seed`` when given, else 0 under a
``derandomize`` profile, else a fresh seed (printed with a failure, so it replays).

The readings are those of the framework audit (:mod:`amsgrad_theory.verify.audit_invariants`):
θ is reset to 0 before every step, so the displacement Δ_t is read exactly, and

* η_t = −Δ_t/m_t with m_t = β1 m_{t−1} + (1 − β1) g_t recomputed in float64,
* η̂_t = η_t (1 − β1^t) (the factor on m̂_t; = γ/(√v̂_t/√(1−β2^t) + ε) for PyTorch),
* v̂_t from inverting the model's step form (``scaled`` for PyTorch:
  √v̂_t = √(1−β2^t)(γ m̂_t/|Δ_t| − ε)).

Reddi et al. (ICLR 2018, Algorithm 2, Theorem 4) require v̂_t non-decreasing and Γ_t ⪰ 0, i.e.
η_t non-increasing; PyTorch's ``Adam(amsgrad=True)`` keeps the first and, with a constant
learning rate, breaks the second (``amsgrad-theory audit torch-adam-amsgrad``).

β1, β2, ε and γ are read from the optimizer's first param group (``betas``, ``eps``, ``lr``;
missing keys take the model variant's defaults).
"""

from __future__ import annotations

import math
import random
import shlex
from collections.abc import Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Verbosity, find, settings
from hypothesis import core as _hypothesis_core
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from ..algorithms import get_variant
from ..errors import InputError
from ..strategies import search_settings
from ..verify.audit import callable_label, model_command, replay_command
from ..verify.audit_checks import ulps
from ..verify.audit_invariants import check_sequence, default_rtol, search
from ..verify.audit_subjects import TorchSubject, run_model
from .strategies import InvalidArgument, check_choice, check_int, gradient_sequences

READINGS = ("eta_hat", "eta", "both")
_SCHEDULES = ("constant", "inv-sqrt")
_DTYPES = ("float64", "float32")


# ------------------------------------------------------------------------------------------
# the reference tolerance
# ------------------------------------------------------------------------------------------

def reference_tolerance(theta_model: np.ndarray, x0: float, dtype: str) -> np.ndarray:
    """The default tolerance of :func:`assert_matches_reference`, per step t:

        |θ_t − θ_t^model| ≤ (8 + 2t)·ε·P_t,   P_t = |x_1| + Σ_{s≤t} |θ_{s+1}^model − θ_s^model|,

    ε the dtype's machine epsilon. Why: two correct implementations that order their
    operations differently round differently at every operation. To first order every such
    difference at step s is a few units of ε times a quantity no larger than the path length
    P_s — the step Δ_s itself (its m, v, √, division and bias corrections), or θ_s in the
    update θ_s − Δ_s — and the differences of m and v carry on into later steps, at most one
    unit per step each: t steps give at most (c + 2t)·ε·P_t. The path length, not |θ_t|, is
    the scale because θ may cross zero, where a ulp says nothing about the size of the error.
    Measured here: three independent, correct AMSGrad implementations (different operation
    orders, ``lerp_`` or products, ``addcdiv_`` or explicit quotients) stay within 4.2·ε·P_t
    over 200 steps in float32 and float64, while a wrong bias correction or a missing max is
    off by far more.
    """
    theta = np.asarray(theta_model, dtype=np.float64)
    previous = np.concatenate([[float(x0)], theta[:-1]])
    path = abs(float(x0)) + np.cumsum(np.abs(theta - previous))
    t = np.arange(1, theta.size + 1)
    return (8 + 2 * t) * float(np.finfo(dtype).eps) * path


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


def _search_config(max_examples, seed) -> tuple[settings, int, str]:
    """The Hypothesis settings of a search (the active profile's, quiet, no deadline, no
    database: failures are replayed by the printed lines) and its seed, with where it came
    from."""
    profile = settings.default
    if profile is None:             # hypothesis loads its default profile on import
        raise RuntimeError("hypothesis has no active settings profile")
    forced = getattr(_hypothesis_core, "global_force_seed", None)   # pytest --hypothesis-seed
    if max_examples is not None:
        max_examples = check_int("max_examples", max_examples, low=1)
    if seed is not None:
        seed, origin = check_int("seed", seed, low=0), "seed"
    elif forced is not None:
        seed, origin = int(forced) % 2 ** 64, "--hypothesis-seed"
    elif profile.derandomize:
        seed, origin = 0, "the derandomized profile"
    else:
        seed, origin = random.SystemRandom().randrange(2 ** 32), "drawn"
    config = search_settings(profile, max_examples=max_examples or profile.max_examples,
                      database=None, deadline=None, derandomize=False,
                      verbosity=Verbosity.quiet, print_blob=False,
                      suppress_health_check=list(HealthCheck))
    return config, seed, origin


def _subject(optimizer_factory, *, model: str, schedule: str | None, dtype: str,
             rtol: float | None, model_argument: str = "model"):
    """The optimizer and its model. ``schedule`` drives both: the model's α_t and, for
    ``inv-sqrt``, the optimizer's lr through ``LambdaLR(1/√t)``; None leaves the optimizer as
    built and the model with its own schedule."""
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
    label = callable_label(optimizer_factory)
    subject = TorchSubject(optimizer_factory, label, variant, dtype=dtype,
                           schedule=schedule or "constant", rtol=rtol or default_rtol(dtype))
    try:
        subject.hyperparameters()      # builds one optimizer: checks what the factory returns
    except InputError as exc:
        raise InvalidArgument("optimizer_factory", optimizer_factory, exc.message) from None
    except Exception as exc:
        raise InvalidArgument("optimizer_factory", optimizer_factory,
                              f"raised {type(exc).__name__}: {exc} when called with a list of "
                              "parameters") from None
    return subject


def _schedules(subject) -> str:
    driven = ("lr driven by LambdaLR(1/√t)" if subject.schedule == "inv-sqrt"
              else "lr as built, no scheduler")
    return f"{driven}; model {subject.model.name} with α_t = " + (
        "α/√t" if subject.model.alpha_schedule == "inv-sqrt" else "α")


def _python_call(helper: str, gradients: list[float], arguments: dict) -> str:
    """``helper(<your factory>, sequence=[…], name=value, …)``: every non-default argument."""
    seq = "[" + ", ".join(repr(float(v)) for v in gradients) + "]"
    extra = "".join(f", {k}={v!r}" for k, v in arguments.items())
    return f"{helper}(<your factory>, sequence={seq}{extra})"


def _non_default(given: dict, defaults: dict) -> dict:
    return {k: v for k, v in given.items() if v != defaults[k]}


# ------------------------------------------------------------------------------------------
# invariants
# ------------------------------------------------------------------------------------------

_WHAT = {
    "finite_steps": "the optimizer failed",
    "vhat_nondecreasing": "the maxed second moment v̂ decreased",
    "eta_hat_nonincreasing": "the effective step η̂ (on the bias-corrected momentum) increased",
    "eta_nonincreasing": "the effective step η (on the raw momentum) increased",
}
_INVARIANT_DEFAULTS = {"reading": "both", "schedule": "constant", "dtype": "float64",
                       "model": "amsgrad-pytorch", "rtol": None}


def _check_invariants(helper: str, optimizer_factory, names: tuple[str, ...], *, schedule,
                      dtype, model, gradients, sequence, max_examples, seed, rtol,
                      reading=None) -> None:
    __tracebackhide__ = True
    rtol = _check_rtol(rtol)
    given = _check_sequence(sequence)
    strategy = _check_strategy(gradients)
    config, seed, origin = _search_config(max_examples, seed)
    subject = _subject(optimizer_factory, model=model, schedule=schedule, dtype=dtype, rtol=rtol)
    names = ("finite_steps", *names)
    if given is not None:
        result = check_sequence(subject, given, names=names, rtol=subject.rtol)
        how = "the given sequence"
    else:
        result = search(subject, strategy, names=names, seed=seed, rtol=subject.rtol,
                        config=config)
        how = f"shrunk by hypothesis from {result.cases} cases, seed {seed} ({origin})"
    arguments = {"schedule": schedule, "dtype": dtype, "model": model, "rtol": rtol}
    if reading is not None:
        arguments = {"reading": reading, **arguments}
    arguments = _non_default(arguments, _INVARIANT_DEFAULTS)
    for outcome in result.outcomes:
        if outcome.holds:
            continue
        ex = outcome.counterexample
        if ex is None:              # a failed outcome always carries its counterexample
            raise AssertionError(f"{outcome.name} failed without a counterexample")
        g = ex["gradients"]
        if outcome.name == "finite_steps":
            head = f"{_WHAT['finite_steps']} at step {ex['step']}: {ex['error']}"
        else:
            head = (f"{_WHAT[outcome.name]} at step {ex['step']}: {ex['before']:.9g} → "
                    f"{ex['after']:.9g} (by {ex['relative_change']:.4%}; tolerance "
                    f"{outcome.rtol:g})")
        lines = ["replay in Python: " + _python_call(helper, g, arguments)]
        command = replay_command(subject.label, g, schedule=subject.schedule, dtype=dtype,
                                 path="single")
        if command is not None and "<" not in subject.label:
            flags = ""
            if model != _INVARIANT_DEFAULTS["model"]:
                flags += f" --model {shlex.quote(model)}"
            if rtol is not None:
                flags += f" --rtol {rtol!r}"
            flags += " --skip paths --skip equivalence --skip state-dict"
            lines.append("replay from the shell: " + command.replace(" --json",
                                                                      flags + " --json"))
        raise AssertionError(
            f"{head}\n  gradients ({how}, {len(g)} steps): {g}\n"
            f"  optimizer: {subject.label} ({dtype}; {_schedules(subject)})\n  "
            + "\n  ".join(lines))


def assert_effective_step_nonincreasing(
        optimizer_factory: Callable, *, reading: str = "both", schedule: str = "constant",
        dtype: str = "float64", model: str = "amsgrad-pytorch",
        gradients: SearchStrategy | None = None, sequence: Sequence[float] | None = None,
        max_examples: int | None = None, seed: int | None = None,
        rtol: float | None = None) -> None:
    """Assert that the effective step never increases: η̂_t ≤ η̂_{t−1} and/or η_t ≤ η_{t−1}
    (Γ_t ⪰ 0, Reddi et al. 2018, Theorem 4), with every step finite.

    ``reading``: ``"eta_hat"``, ``"eta"`` or ``"both"``. ``schedule="inv-sqrt"`` applies
    α_t = α/√t through ``torch.optim.lr_scheduler.LambdaLR`` (and to the model);
    ``"constant"`` leaves the optimizer's lr as built. ``gradients`` is the strategy to search
    (default :func:`~amsgrad_theory.testing.strategies.gradient_sequences`); ``sequence``
    checks one sequence instead (a replay). ``rtol`` is the relative increase that counts
    (default 1e-9 in float64, 1e-5 in float32). ``max_examples``/``seed``: None follows the
    active Hypothesis profile and ``--hypothesis-seed`` (module docstring).

    PyTorch's ``Adam(amsgrad=True)`` fails with a constant learning rate: η̂ rises 41.4 % on
    g = (1, 0); with ``schedule="inv-sqrt"`` it passes.
    """
    __tracebackhide__ = True
    check_choice("reading", reading, READINGS)
    names = {"eta_hat": ("eta_hat_nonincreasing",), "eta": ("eta_nonincreasing",),
             "both": ("eta_hat_nonincreasing", "eta_nonincreasing")}[reading]
    _check_invariants("assert_effective_step_nonincreasing", optimizer_factory, names,
                      schedule=schedule, dtype=dtype, model=model, gradients=gradients,
                      sequence=sequence, max_examples=max_examples, seed=seed, rtol=rtol,
                      reading=reading)


def assert_max_nondecreasing(
        optimizer_factory: Callable, *, schedule: str = "constant", dtype: str = "float64",
        model: str = "amsgrad-pytorch", gradients: SearchStrategy | None = None,
        sequence: Sequence[float] | None = None, max_examples: int | None = None,
        seed: int | None = None, rtol: float | None = None) -> None:
    """Assert that the maxed second moment v̂_t — read from the parameter displacement, not from
    the optimizer's state — never decreases, with every step finite.

    Catches a running max that is computed but never written back to state (pytorch#78807,
    chainer#7661): such an optimizer is plain Adam, whose v̂ falls as soon as g_t² < v_{t−1}
    (the shrunk counterexample is g = (1, 0)).
    """
    __tracebackhide__ = True
    _check_invariants("assert_max_nondecreasing", optimizer_factory, ("vhat_nondecreasing",),
                      schedule=schedule, dtype=dtype, model=model, gradients=gradients,
                      sequence=sequence, max_examples=max_examples, seed=seed, rtol=rtol)


# ------------------------------------------------------------------------------------------
# agreement with the exact model
# ------------------------------------------------------------------------------------------

_REFERENCE_DEFAULTS = {"variant": "amsgrad-pytorch", "dtype": "float64", "schedule": None,
                       "x0": 0.5, "max_ulps": None, "lr_tolerance": 0.0}


def assert_matches_reference(
        optimizer_factory: Callable, variant: str = "amsgrad-pytorch", *,
        dtype: str = "float64", schedule: str | None = None, x0: float = 0.5,
        max_ulps: float | None = None, lr_tolerance: float = 0.0,
        gradients: SearchStrategy | None = None, sequence: Sequence[float] | None = None,
        max_examples: int | None = None, seed: int | None = None) -> None:
    """Assert that the optimizer follows the toolkit's model of ``variant`` step for step.

    Both run from θ_1 = ``x0`` on the same gradients (hyperparameters read from the optimizer's
    param group); the model is ``simulate(variant, "gradient-sequence:…,set=none")``. A step
    agrees when |θ_t − θ_t^model| is within :func:`reference_tolerance` — (8 + 2t) machine
    epsilons of the path length, which every correct implementation meets whatever its
    operation order (the model then runs in IEEE arithmetic: a framework's not correctly
    rounded √ is one such difference) — or, with ``max_ulps`` given, within ``max_ulps`` ulps
    of the model in the arithmetic that reproduces the framework (``Variant.exact_arithmetic``:
    torch's own for the PyTorch models; 0 is bit for bit); ``lr_tolerance``·γ is also
    accepted.

    ``schedule``: None (default) runs the optimizer as built and the model with its own α_t
    (``amsgrad`` is α/√t: an optimizer that implements it itself matches); ``"constant"`` or
    ``"inv-sqrt"`` sets the model's α_t and, for ``inv-sqrt``, drives the optimizer's lr
    through ``LambdaLR(1/√t)``. A failure says which schedules ran.
    """
    __tracebackhide__ = True
    if max_ulps is not None and (isinstance(max_ulps, bool)
                                 or not isinstance(max_ulps, (int, float)) or max_ulps < 0):
        raise InvalidArgument("max_ulps", max_ulps, "must be a number >= 0 (or None)")
    if isinstance(lr_tolerance, bool) or not isinstance(lr_tolerance, (int, float)) \
            or lr_tolerance < 0:
        raise InvalidArgument("lr_tolerance", lr_tolerance, "must be a number >= 0")
    if isinstance(x0, bool) or not isinstance(x0, (int, float)) or not np.isfinite(x0):
        raise InvalidArgument("x0", x0, "must be a finite number")
    given = _check_sequence(sequence)
    strategy = _check_strategy(gradients)
    config, seed, origin = _search_config(max_examples, seed)
    subject = _subject(optimizer_factory, model=variant, schedule=schedule, dtype=dtype,
                       rtol=None, model_argument="variant")
    hyper = subject.hyperparameters()
    start = np.array([float(x0)])

    def compare(g) -> dict | None:
        G = np.asarray(g, dtype=np.float64).reshape(-1, 1)
        real = subject.trajectory(G, start)
        if real.error is not None:
            return {"step": real.error.step, "error": real.error.message}
        # bit-for-bit comparisons need the framework's own arithmetic (torch's √); the default
        # tolerance admits a rounding's difference, and IEEE arithmetic runs ≈ 15× faster
        theta = run_model(subject.model, hyper, G, start, dtype=dtype, theta_only=True,
                          arithmetic=None if max_ulps is not None else dtype)["theta"][:, 0]
        drift = np.abs(real.theta[:, 0] - theta)
        if max_ulps is None:
            allowed = reference_tolerance(theta, x0, dtype)
            outside = drift > allowed
        else:
            allowed = None
            outside = ulps(real.theta[:, 0], theta, dtype) > max_ulps
        bad = np.flatnonzero(outside & (drift > lr_tolerance * hyper["alpha"]))
        if bad.size == 0:
            return None
        t = int(bad[0])
        return {"step": t + 1, "theta": float(real.theta[t, 0]), "model": float(theta[t]),
                "ulps": float(ulps(real.theta[t:t + 1, 0], theta[t:t + 1], dtype)[0]),
                "difference": float(drift[t]),
                "allowed": None if allowed is None else float(allowed[t])}

    if given is not None:
        found, problem, how = given, compare(given), "the given sequence"
    else:
        cache: dict = {}

        def differs(g) -> bool:
            key = tuple(g)
            if key not in cache:
                cache[key] = compare(g)
            return cache[key] is not None

        try:
            found = find(strategy, differs, settings=config, random=random.Random(seed))
        except NoSuchExample:
            return
        problem = cache[tuple(found)]
        how = f"shrunk by hypothesis from {len(cache)} cases, seed {seed} ({origin})"
    if problem is None:
        return
    if "error" in problem:
        head = f"the optimizer failed at step {problem['step']}: {problem['error']}"
    else:
        allowed = (f"allowed {max_ulps:g} ulps" if problem["allowed"] is None else
                   f"allowed {problem['allowed']:.3g} = (8 + 2t)·ε·path length")
        if lr_tolerance:
            allowed += f" or {lr_tolerance:g}·lr"
        head = (f"θ differs from the model {subject.model.name} at step {problem['step']}: "
                f"{problem['theta']!r} vs {problem['model']!r} (by {problem['difference']:.3g},"
                f" {problem['ulps']:.4g} ulps; {allowed})")
    arguments = _non_default({"variant": variant, "dtype": dtype, "schedule": schedule,
                              "x0": x0, "max_ulps": max_ulps, "lr_tolerance": lr_tolerance},
                             _REFERENCE_DEFAULTS)
    # up to the failing step: its x_(T+1) is the model's θ there
    model_line = model_command(subject.model.name, list(found)[:problem["step"]], hyper,
                               subject.model.alpha_schedule, x0=float(x0),
                               arithmetic=subject.model.exact_arithmetic(dtype))
    raise AssertionError(
        f"{head}\n  gradients ({how}, {len(found)} steps): {list(found)}\n"
        f"  optimizer: {subject.label} ({dtype}, x0 = {x0!r}, hyperparameters {hyper}; "
        f"{_schedules(subject)})\n"
        "  replay in Python: " + _python_call("assert_matches_reference", list(found),
                                              arguments) + "\n"
        f"  the model's run to step {problem['step']} (its x_(T+1) is the model's θ there): "
        f"{model_line}")


__all__ = ["assert_effective_step_nonincreasing", "assert_max_nondecreasing",
           "assert_matches_reference", "reference_tolerance", "READINGS"]
