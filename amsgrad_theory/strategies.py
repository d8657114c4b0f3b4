"""Hypothesis strategies for testing optimizers of the Adam/AMSGrad family.

Every strategy builds valid values directly (never by filtering), so it cannot trip
``HealthCheck.filter_too_much``, and never produces NaN, ±inf or subnormal numbers:

* :func:`gradient_sequences` — one-coordinate gradient sequences g_1, …, g_T (plain, sparse,
  bursty, decaying, spiky/adversarial). Every value is 0 or has magnitude in
  [``min_magnitude``, ``max_magnitude``] and is exactly representable in float``width``, so the
  same sequence drives a float32 and a float64 optimizer without a rounding of its own.
* :func:`hyperparameters` — dicts of decimal strings (α, β1, β2, ε, …) that a
  :class:`~amsgrad_theory.algorithms.Variant` accepts, optionally restricted to the region
  γ = β1/√β2 < 1 (the condition of Reddi et al., Theorem 4 and Corollary 1) or its complement;
  the region is decided exactly on rationals (β1² < β2), never in floating point.
* :func:`problems` — problem spec strings that :func:`~amsgrad_theory.problems.get_problem`
  accepts (Reddi et al.'s Theorem 1 stream, periodic and Bernoulli linear losses, replayed
  gradient sequences, the random families).

Invalid arguments raise :class:`InvalidArgument` at call time, naming the argument and its value
(``min_size=5, max_size=2: max_size must be >= min_size``), as Hypothesis's own strategies do.

Example (a user's own test)::

    from hypothesis import given
    from amsgrad_theory.testing import strategies as ats

    @given(ats.gradient_sequences(kind="sparse", max_size=30))
    def test_my_optimizer_is_finite(gradients):
        ...
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import numpy as np
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument as _HypothesisInvalidArgument

from .algorithms import Variant, get_variant
from .errors import InputError

#: the kinds of gradient sequence :func:`gradient_sequences` draws ("any" mixes all of them)
SEQUENCE_KINDS = ("plain", "sparse", "bursty", "decaying", "spiky", "any")
#: the β1/β2 regions of :func:`hyperparameters` (γ = β1/√β2)
REGIONS = ("any", "gamma<1", "gamma>=1")
#: the problem families :func:`problems` draws from
PROBLEM_FAMILIES = ("reddi-online", "periodic-linear", "bernoulli-linear", "gradient-sequence",
                    "random-linear", "random-quadratic")

_BETA_DIGITS = 5                 # β1, β2 are k/10^5: exact decimals, exactly comparable
_BETA_SCALE = 10 ** _BETA_DIGITS


def search_settings(parent: settings | None = None, **changes) -> settings:
    """Hypothesis settings for a search by :func:`hypothesis.find`, which returns the minimal
    example it shrank to: ``parent`` (or Hypothesis's defaults) with ``changes``, without the
    explain phase. That phase serves a failing test's report — which ``find`` never prints — and
    costs a traced run: once an example fails, every run while shrinking executes under
    ``sys.settrace`` (``sys.monitoring`` from Python 3.12) to collect the branches it takes,
    and afterwards the example's parts are varied again to say which ones the failure does not
    depend on."""
    phases = tuple(p for p in settings(parent).phases if p is not Phase.explain)
    return settings(parent, phases=phases, **changes)


class InvalidArgument(InputError, _HypothesisInvalidArgument):
    """A strategy or assertion helper was called with an invalid argument.

    It is both the toolkit's :class:`~amsgrad_theory.errors.InputError` (it names the argument
    and its value) and :class:`hypothesis.errors.InvalidArgument`, so either ``except`` works.
    """


# ------------------------------------------------------------------------------------------
# argument validation (shared with the assertion helpers)
# ------------------------------------------------------------------------------------------

def check_choice(name: str, value: object, choices: Sequence[str]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise InvalidArgument(name, value, "must be one of " + ", ".join(map(repr, choices)))


def check_int(name: str, value: object, *, low: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(name, value, f"must be an integer, not {type(value).__name__}")
    if low is not None and value < low:
        raise InvalidArgument(name, value, f"must be >= {low}")
    return int(value)


def check_positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InvalidArgument(name, value, f"must be a number, not {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidArgument(name, value, "must be finite and > 0")
    return value


def _check_width(width: object) -> np.dtype:
    if width not in (32, 64) or isinstance(width, bool):
        raise InvalidArgument("width", width, "must be 32 or 64")
    return np.dtype(np.float32 if width == 32 else np.float64)


def _check_magnitudes(min_magnitude, max_magnitude, dtype: np.dtype) -> tuple[float, float]:
    lo = check_positive_float("min_magnitude", min_magnitude)
    hi = check_positive_float("max_magnitude", max_magnitude)
    info = np.finfo(dtype)
    if lo < float(info.tiny):
        raise InvalidArgument("min_magnitude", min_magnitude,
                              f"must be >= {float(info.tiny)!r}, the smallest normal "
                              f"float{dtype.itemsize * 8} (no subnormals)")
    if hi > math.sqrt(float(info.max)) / 2:
        raise InvalidArgument("max_magnitude", max_magnitude,
                              f"must be <= {math.sqrt(float(info.max)) / 2:.6g} so that g² stays "
                              f"finite in float{dtype.itemsize * 8}")
    if lo > hi:
        raise InvalidArgument("min_magnitude", min_magnitude,
                              f"must be <= max_magnitude={max_magnitude!r}")
    if float(dtype.type(lo)) < lo:
        lo = float(np.nextafter(dtype.type(lo), dtype.type(np.inf)))
    if float(dtype.type(hi)) > hi:
        hi = float(np.nextafter(dtype.type(hi), dtype.type(0)))
    if lo > hi:
        raise InvalidArgument("min_magnitude", min_magnitude,
                              f"no float{dtype.itemsize * 8} lies in [min_magnitude, "
                              "max_magnitude]")
    return lo, hi


# ------------------------------------------------------------------------------------------
# gradient sequences
# ------------------------------------------------------------------------------------------

def _clamp(value: float, lo: float, hi: float, dtype: np.dtype) -> float:
    """Round ``value`` to ``dtype`` and put it in {0} ∪ ±[lo, hi] (tiny values become 0)."""
    sign = -1.0 if value < 0 else 1.0
    mag = abs(value)
    if not math.isfinite(mag) or mag > hi:
        mag = hi
    mag = float(dtype.type(mag))
    if mag > hi:
        mag = float(np.nextafter(dtype.type(hi), dtype.type(0)))
    if mag < lo:
        return 0.0
    return sign * mag


def _fit(values: list[float], min_size: int, max_size: int) -> list[float]:
    values = values[:max_size]
    return values + [0.0] * (min_size - len(values))


def gradient_sequences(*, kind: str = "any", min_size: int = 2, max_size: int = 40,
                       min_magnitude: float = 2.0 ** -10, max_magnitude: float = 2.0 ** 10,
                       allow_negative: bool = True,
                       width: int = 32) -> st.SearchStrategy[list[float]]:
    """Gradient sequences g_1, …, g_T of one coordinate, T ∈ [``min_size``, ``max_size``].

    Every entry is 0.0 or a float of magnitude in [``min_magnitude``, ``max_magnitude``],
    exactly representable in float``width`` (never NaN, ±inf or subnormal).

    ``kind``:

    ``"plain"``     each g_t is 0 or ±magnitude, independently; shrinks towards short sequences
                    of small integers (the torch η̂ counterexample shrinks to ``[1.0, 0.0]``).
    ``"sparse"``    mostly zeros: a few non-zero entries at drawn positions (rare features).
    ``"bursty"``    bursts of a constant value separated by runs of zeros.
    ``"decaying"``  g_t = ± c·t^(−p), p ∈ {1/2, 1, 2}, or c·ρ^(t−1), ρ ∈ {0, 1/2, 0.9, 0.99}
                    (ρ = 0 is "c, then zeros"; optionally alternating in sign); entries that
                    would fall below ``min_magnitude`` become 0.
    ``"spiky"``     adversarial: a base level b with spikes S = k·b every P steps, signs as in
                    Reddi et al.'s Theorem 1 stream (+S, then −b), or one late spike in a
                    constant stream.
    ``"any"``       one of the above (``"plain"`` first, so shrinking prefers it).

    ``allow_negative=False`` draws magnitudes only.
    """
    check_choice("kind", kind, SEQUENCE_KINDS)
    min_size = check_int("min_size", min_size, low=1)
    max_size = check_int("max_size", max_size, low=1)
    if max_size < min_size:
        raise InvalidArgument("max_size", max_size, f"must be >= min_size={min_size}")
    if not isinstance(allow_negative, bool):
        raise InvalidArgument("allow_negative", allow_negative, "must be a bool")
    dtype = _check_width(width)
    lo, hi = _check_magnitudes(min_magnitude, max_magnitude, dtype)
    if kind == "any":
        return st.one_of(*[_sequence_kind(k, min_size, max_size, lo, hi, allow_negative, dtype)
                           for k in SEQUENCE_KINDS[:-1]])
    return _sequence_kind(kind, min_size, max_size, lo, hi, allow_negative, dtype)


def _sequence_kind(kind, min_size, max_size, lo, hi, allow_negative, dtype):
    width = dtype.itemsize * 8
    magnitude = st.floats(min_value=lo, max_value=hi, width=width, allow_nan=False,
                          allow_infinity=False, allow_subnormal=False)
    if allow_negative:
        signed = st.tuples(magnitude, st.booleans()).map(lambda p: -p[0] if p[1] else p[0])
    else:
        signed = magnitude
    entry = st.one_of(st.just(0.0), signed)
    if kind == "plain":
        return st.lists(entry, min_size=min_size, max_size=max_size)

    if kind == "sparse":
        @st.composite
        def sparse(draw: st.DrawFn) -> list[float]:
            n = draw(st.integers(min_size, max_size))
            positions = draw(st.lists(st.integers(0, n - 1), min_size=1,
                                      max_size=max(1, n // 4), unique=True))
            out = [0.0] * n
            for i in positions:
                out[i] = draw(signed)
            return out
        return sparse()

    if kind == "bursty":
        block = st.tuples(st.integers(1, 8), signed, st.integers(0, 8))

        @st.composite
        def bursty(draw: st.DrawFn) -> list[float]:
            blocks = draw(st.lists(block, min_size=1, max_size=max_size))
            out: list[float] = []
            for length, value, gap in blocks:
                out += [value] * length + [0.0] * gap
                if len(out) >= max_size:
                    break
            return _fit(out, min_size, max_size)
        return bursty()

    if kind == "decaying":
        @st.composite
        def decaying(draw: st.DrawFn) -> list[float]:
            n = draw(st.integers(min_size, max_size))
            c = draw(magnitude)
            alternate = allow_negative and draw(st.booleans())
            if draw(st.booleans()):
                p = draw(st.sampled_from((0.5, 1.0, 2.0)))
                raw = [c * t ** -p for t in range(1, n + 1)]
            else:
                rho = draw(st.sampled_from((0.0, 0.5, 0.9, 0.99)))
                raw = [c * rho ** (t - 1) for t in range(1, n + 1)]
            return [_clamp(-v if alternate and t % 2 else v, lo, hi, dtype)
                    for t, v in enumerate(raw)]
        return decaying()

    if kind == "spiky":
        @st.composite
        def spiky(draw: st.DrawFn) -> list[float]:
            n = draw(st.integers(min_size, max_size))
            base = draw(magnitude)
            spike = _clamp(base * draw(st.sampled_from((2.0, 3.0, 10.0, 101.0, 1000.0))),
                           lo, hi, dtype)
            if draw(st.booleans()):
                period = draw(st.integers(2, max(2, min(20, n))))
                sign = -1.0 if allow_negative else 1.0
                return [spike if t % period == 0 else sign * base for t in range(n)]
            at = draw(st.integers(0, n - 1))
            return [spike if t == at else base for t in range(n)]
        return spiky()
    raise AssertionError(kind)  # pragma: no cover - check_choice rejects it


# ------------------------------------------------------------------------------------------
# hyperparameters
# ------------------------------------------------------------------------------------------

def _decimal_text(q: Fraction) -> str:
    """An exact decimal string for a rational with a power-of-ten denominator."""
    text = format(Decimal(q.numerator) / Decimal(q.denominator), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _scaled(k: int, digits: int) -> str:
    return _decimal_text(Fraction(k, 10 ** digits))


def hyperparameters(*, variant: str | Variant | None = None, region: str = "any",
                    min_alpha: float = 1e-4, max_alpha: float = 1.0,
                    eps: bool = True) -> st.SearchStrategy[dict[str, str]]:
    """Hyperparameter dicts (decimal strings) that ``variant`` accepts.

    * α = m·10^(−e) with m ∈ {1, …, 9}, within [``min_alpha``, ``max_alpha``];
    * β2 = k2/10⁵ ∈ (0, 1) and β1 = k1/10⁵ ∈ [0, 1), with, by ``region``:
      ``"gamma<1"`` γ = β1/√β2 < 1, i.e. β1² < β2 (Reddi et al. 2018, Theorem 4:
      "γ = β1/√β2 < 1"), built as k1 ≤ ⌊√(k2·10⁵ − 1)⌋;
      ``"gamma>=1"`` β1² ≥ β2 (outside the theorem's assumption); ``"any"`` either;
    * ε ∈ {1e-8, 1e-7, 1e-6} when ``eps`` (else no ε key: the variant's default, 0 for the
      paper's variants);
    * ``beta1_decay`` λ ∈ (0, 1] when ``variant`` uses β1,t = β1·λ^(t−1).

    ``variant`` is a name or a :class:`~amsgrad_theory.algorithms.Variant` (default: keys for
    every schedule). Shrinks towards α = 1e-3-like values, β2 = 0.999, β1 = 0.9 where the region
    allows it.
    """


    check_choice("region", region, REGIONS)
    min_alpha = check_positive_float("min_alpha", min_alpha)
    max_alpha = check_positive_float("max_alpha", max_alpha)
    if min_alpha > max_alpha:
        raise InvalidArgument("min_alpha", min_alpha, f"must be <= max_alpha={max_alpha!r}")
    if not isinstance(eps, bool):
        raise InvalidArgument("eps", eps, "must be a bool")
    if variant is not None:
        try:
            variant = get_variant(variant)
        except InputError as exc:
            raise InvalidArgument("variant", variant, exc.message) from None
    decay = variant is not None and variant.beta1_schedule == "exp-decay"

    alphas = sorted({(m, e) for m in range(1, 10) for e in range(0, 13)
                     if min_alpha <= m * 10.0 ** -e <= max_alpha},
                    key=lambda p: (abs(math.log10(p[0] * 10.0 ** -p[1]) + 3), p))
    if not alphas:
        raise InvalidArgument("min_alpha", min_alpha,
                              f"no value m·10^-e lies in [min_alpha, max_alpha={max_alpha!r}]")
    alpha = st.sampled_from(alphas).map(lambda p: _scaled(p[0], p[1]))

    k2_max = _BETA_SCALE - 1 if region != "gamma>=1" else _BETA_SCALE - 2
    typical = [k for k in (99900, 99990, 99000, 95000, 90000) if k <= k2_max]
    k2s = st.one_of(st.sampled_from(typical), st.integers(1, k2_max))

    def betas(k2: int):
        bound = math.isqrt(k2 * _BETA_SCALE - 1)   # largest k1 with k1² < k2·10⁵
        if region == "gamma<1":
            k1s = st.integers(0, bound)
            preferred = [k for k in (90000, 0, 50000) if k <= bound]
        elif region == "gamma>=1":
            k1s = st.integers(bound + 1, _BETA_SCALE - 1)
            preferred = [k for k in (90000, 99000) if k > bound]
        else:
            k1s = st.integers(0, _BETA_SCALE - 1)
            preferred = [90000, 0]
        if preferred:
            k1s = st.one_of(st.sampled_from(preferred), k1s)
        return k1s.map(lambda k1: (k1, k2))

    pair = k2s.flatmap(betas)
    parts = {"alpha": alpha, "betas": pair}
    if eps:
        parts["eps"] = st.sampled_from(("0.00000001", "0.0000001", "0.000001"))
    if decay:
        parts["beta1_decay"] = st.integers(1, 10_000).map(lambda k: _scaled(k, 4))

    def assemble(values: dict) -> dict[str, str]:
        k1, k2 = values.pop("betas")
        values["beta1"] = _scaled(k1, _BETA_DIGITS)
        values["beta2"] = _scaled(k2, _BETA_DIGITS)
        return values

    return st.fixed_dictionaries(parts).map(assemble)


def gamma_below_one(hp: dict[str, str]) -> bool:
    """Whether γ = β1/√β2 < 1, decided exactly on the decimal strings (β1² < β2)."""
    return Fraction(hp["beta1"]) ** 2 < Fraction(hp["beta2"])


# ------------------------------------------------------------------------------------------
# problems
# ------------------------------------------------------------------------------------------

def problems(*, families: Sequence[str] | None = None,
             max_dimension: int = 8) -> st.SearchStrategy[str]:
    """Problem spec strings accepted by :func:`~amsgrad_theory.problems.get_problem`.

    ``families`` restricts the choice (default: all of :data:`PROBLEM_FAMILIES`); the random
    families draw d ∈ [1, ``max_dimension``]. Reddi et al.'s Theorem 1 stream draws C ∈ {3, …,
    20} (the theorem needs C > 2); replayed gradient sequences come from
    :func:`gradient_sequences` and use ``set=none``.
    """
    if families is None:
        families = PROBLEM_FAMILIES
    if isinstance(families, str) or not isinstance(families, Sequence) or not families:
        raise InvalidArgument("families", families,
                              "must be a non-empty list of " + ", ".join(PROBLEM_FAMILIES))
    for family in families:
        check_choice("families", family, PROBLEM_FAMILIES)
    max_dimension = check_int("max_dimension", max_dimension, low=1)
    small = st.integers(1, 20).map(str)
    seeds = st.integers(0, 2 ** 16)
    dims = st.integers(1, max_dimension)
    options = {
        "reddi-online": st.integers(3, 20).map(lambda C: f"reddi-online:C={C}"),
        "periodic-linear": st.tuples(small, small, st.integers(2, 12)).map(
            lambda p: f"periodic-linear:C={p[0]},c={p[1]},period={p[2]}"),
        "bernoulli-linear": st.tuples(small, small, st.integers(0, 100), seeds).map(
            lambda p: f"bernoulli-linear:C={p[0]},c={p[1]},p={_scaled(p[2], 2)},seed={p[3]}"),
        "gradient-sequence": gradient_sequences(max_size=20).map(
            lambda g: "gradient-sequence:g=[" + ",".join(repr(v) for v in g) + "],set=none"),
        "random-linear": st.tuples(dims, st.integers(1, 4), seeds).map(
            lambda p: f"random-linear:d={p[0]},sparsity={_scaled(p[1] * 25, 2)},seed={p[2]}"),
        "random-quadratic": st.tuples(dims, st.integers(1, 4), seeds).map(
            lambda p: f"random-quadratic:d={p[0]},sparsity={_scaled(p[1] * 25, 2)},"
                      f"seed={p[2]}"),
    }
    return st.one_of(*[options[f] for f in families])


__all__ = ["gradient_sequences", "hyperparameters", "problems", "gamma_below_one",
           "InvalidArgument", "SEQUENCE_KINDS", "REGIONS", "PROBLEM_FAMILIES"]
