"""Problem specs: ``name:key=value,key=value`` (a list value is a JSON array: ``g=[1,0]``).

>>> get_problem("periodic-linear:C=3,c=1,period=3").params[0]["C"]
'3'
>>> get_problem("gradient-sequence:g=[1,0]").sequence
[[['1'], ['0']]]
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from fractions import Fraction

from ..errors import InputError, unknown_name
from .rng import make_hash, threshold
from .sets import FeasibleSet
from .streams import FAMILIES, Problem, parse_sequence

#: name → (family, fixed parameters, description)
ALIASES = {
    "reddi-online": ("periodic-linear", {"c": "1", "period": "3"},
                     "Theorem 1 of Reddi et al.: C·x every third step, −x otherwise (C > 2)"),
    "reddi-theorem2": ("periodic-linear", {"c": "1", "period": "C"},
                       "Theorem 2 of Reddi et al.: C·x when t mod C = 1, −x otherwise"),
    "reddi-figure1": ("periodic-linear", {"C": "1010", "c": "10", "period": "101"},
                      "Figure 1 of Reddi et al.: 1010x every 101 steps, −10x otherwise"),
    "reddi-figure1-stochastic": ("bernoulli-linear", {"C": "1010", "c": "10", "p": "0.01"},
                                 "Figure 1 (stochastic): 1010x with probability 0.01, else −10x"),
    "reddi-theorem3": ("bernoulli-linear", {"c": "1", "p": "(1+delta)/(C+1)"},
                       "Theorem 3 of Reddi et al.: C·x with p = (1+δ)/(C+1), else −x"),
}

_DEFAULTS = {
    "periodic-linear": {"C": "3", "c": "1", "period": "3"},
    "bernoulli-linear": {"C": "3", "c": "1", "p": "0.5", "seed": "0"},
    "gradient-sequence": {"tail": "0", "set": "box"},
    "random-linear": {"d": "10", "sparsity": "1", "set": "box", "radius": "1", "seed": "0",
                      "scale": "1"},
    "random-quadratic": {"d": "10", "sparsity": "1", "set": "box", "radius": "1", "seed": "0"},
    "random-logistic": {"d": "10", "sparsity": "1", "set": "box", "radius": "1", "seed": "0"},
    "random-hinge": {"d": "10", "sparsity": "1", "set": "box", "radius": "1", "seed": "0"},
}
_REQUIRED = {"gradient-sequence": ("g",)}


def problem_names() -> list[str]:
    return list(FAMILIES) + list(ALIASES)


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``name:k=v,k=[..]`` → (name, {k: v}); commas inside brackets do not split."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError("problem", spec, "empty problem spec")
    name, _, rest = spec.strip().partition(":")
    params: dict[str, str] = {}
    if rest.strip():
        depth, item, items = 0, "", []
        for ch in rest:
            if ch in "[":
                depth += 1
            elif ch in "]":
                depth -= 1
            if ch == "," and depth == 0:
                items.append(item)
                item = ""
            else:
                item += ch
        items.append(item)
        if depth != 0:
            raise InputError("problem", spec, "unbalanced brackets")
        for entry in items:
            key, eq, value = entry.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise InputError("problem", spec, f"malformed entry {entry!r} (expected key=value)")
            if key.strip() in params:
                raise InputError("problem", spec, f"parameter {key.strip()!r} given twice")
            params[key.strip()] = value.strip()
    return name.strip(), params


#: the largest decimal exponent, and the longest text, of a number given as text: 10^±1000
#: lies beyond every float format (float64 reaches 10^±308) and within reach of mpmath and arb,
#: and the exact rationals of such numbers stay small enough to print as decimals
MAX_EXPONENT = 1000
MAX_LENGTH = 1000
#: the syntax of a number given as text: a plain ASCII decimal, or an integer ratio ``a/b``
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_RATIO = re.compile(r"[+-]?\d+/\d+")
_NON_FINITE = ("nan", "inf", "infinity", "snan")
#: Fraction(text), kept per text: a sweep's 10⁴ configurations repeat a few numbers, and
#: parsing them was most of the time it took to plan (Fractions are immutable, safe to share)
_exact = functools.lru_cache(maxsize=4096)(Fraction)


def parse_number(argument: str, text: object, where: str = "") -> Fraction:
    """The exact rational value of a user's number: a decimal (``0.1``, ``-3e-5``) or an
    integer ratio (``1/3``).

    Every arithmetic parses these texts (so no underscores, no non-ASCII digits, no
    ``nan``/``inf``); a text is at most :data:`MAX_LENGTH` characters and its decimal exponent
    lies within ±:data:`MAX_EXPONENT` (10^999999999 alone would take gigabytes as a rational).
    Anything else is an :class:`~amsgrad_theory.errors.InputError` naming ``argument`` and the
    user's ``text`` (``where`` is added to the message, e.g. the problem spec it came from).

    >>> parse_number("C", "1e-3"), parse_number("C", " 2/6 ")
    (Fraction(1, 1000), Fraction(1, 3))
    """
    context = f" (in {where})" if where else ""
    body = text.strip() if isinstance(text, str) else str(text)
    if len(body) > MAX_LENGTH:
        raise InputError(argument, text, f"longer than {MAX_LENGTH} characters{context}")
    if _RATIO.fullmatch(body):
        num, _, den = body.partition("/")
        if int(den) == 0:
            raise InputError(argument, text, f"division by zero{context}")
        return Fraction(int(num), int(den))
    match = _NUMBER.fullmatch(body)
    if not match:
        what = "not a finite number" if body.lower().lstrip("+-") in _NON_FINITE \
            else "not a number (a decimal such as 0.1 or 2e-3, or a ratio a/b)"
        raise InputError(argument, text, what + context)
    exponent = int(match.group(2)[1:]) if match.group(2) else 0
    if abs(exponent) > MAX_EXPONENT:
        raise InputError(argument, text, f"exponent beyond ±{MAX_EXPONENT}{context}")
    return _exact(body)


def _number(spec: str, key: str, value: str) -> Fraction:
    try:
        return parse_number(key, value)
    except InputError:
        # the message names the spec: built only for a refusal (a gradient table's spec is
        # long, and its repr per entry was most of the time a table took to read)
        return parse_number(key, value, f"problem {spec!r}")


def _integer(spec: str, key: str, value: str, low: int, high: int, why: str = "") -> int:
    q = _number(spec, key, value)
    if q.denominator != 1 or not low <= q <= high:
        raise InputError(key, value, f"must be an integer in [{low}, {high}]{why} "
                         f"(in problem {spec!r})")
    return int(q)


#: bounds of the integer parameters: counters of the random stream are 32-bit
#: (:mod:`~amsgrad_theory.problems.rng`), a period is held in int64
SEED_MAX = (1 << 32) - 1
DIMENSION_MAX = (1 << 32) - 1
PERIOD_MAX = (1 << 63) - 1
#: the margin families solve their comparator in float64, where radius² must be a normal number
MARGIN_FAMILIES = ("random-logistic", "random-hinge")
MARGIN_RADIUS = (Fraction(1, 10 ** 150), Fraction(10 ** 150))


def _decimal(q: Fraction) -> str:
    """An exact string for a rational: a decimal when it terminates, else ``a/b``.

    >>> _decimal(Fraction(1, 10)), _decimal(Fraction(-3, 8)), _decimal(Fraction(1, 3))
    ('0.1', '-0.375', '1/3')
    """
    if q.denominator == 1:
        return str(q.numerator)
    d, twos, fives = q.denominator, 0, 0
    while d % 2 == 0:
        d, twos = d // 2, twos + 1
    while d % 5 == 0:
        d, fives = d // 5, fives + 1
    if d != 1:
        return f"{q.numerator}/{q.denominator}"
    places = max(twos, fives)
    digits = str(abs(q.numerator * 10 ** places // q.denominator)).rjust(places + 1, "0")
    sign = "-" if q < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def get_problem(spec: str | Problem, instances: list[dict] | None = None) -> Problem:
    """The problem named by ``spec``; ``instances`` (dicts of parameter overrides) makes a batch.

    Every instance of a batch shares the family, the dimension and the feasible set; its numeric
    parameters (C, c, p, seed, …) may differ.
    """
    if isinstance(spec, Problem):
        return spec
    name, given = split_spec(spec)
    fixed: dict[str, str] = {}
    if name in ALIASES:
        family, fixed, _ = ALIASES[name]
        clash = set(given) & set(fixed)
        if clash:
            raise InputError("problem", spec, f"{name} fixes {', '.join(sorted(clash))}")
    elif name in FAMILIES:
        family = name
    else:
        raise unknown_name("problem", name, problem_names())
    base = dict(_DEFAULTS[family])
    base.update(fixed)
    allowed = set(_DEFAULTS[family]) | set(_REQUIRED.get(family, ())) | {"delta"}
    if name == "reddi-theorem2":
        allowed |= {"C"}
    if name != "reddi-theorem3":
        allowed.discard("delta")
    _check_keys(given, name, allowed)
    base.update(given)
    for key in _REQUIRED.get(family, ()):
        if key not in base:
            raise InputError(key, None, f"{name} needs {key}=…")
    rows = [dict(base, **(inst or {})) for inst in (instances or [{}])]
    for i, inst in enumerate(instances or ()):
        # an instance's keys are checked as the spec's are: a misspelt or foreign key would
        # otherwise be ignored, and the instance would run the default silently
        _check_keys(inst or {}, name, allowed, f" (instance {i})")
        clash = set(inst or ()) & set(fixed)
        if clash:
            raise InputError("instances", inst, f"{name} fixes {', '.join(sorted(clash))} "
                             f"(instance {i})")
    return _build(family, name, spec, rows)


def _check_keys(given: dict, name: str, allowed: set, where: str = "") -> None:
    """Refuse a key that is not a parameter of problem ``name``."""
    for key in given:
        if key not in allowed:
            raise InputError(key, given[key], f"not a parameter of {name}{where}; valid: "
                             + ", ".join(sorted(allowed)))


def _build(family: str, name: str, spec: str, rows: list[dict]) -> Problem:
    key_of = make_hash(int)[0]
    cls = FAMILIES[family]
    sequence = None
    set_kind = rows[0].get("set", "box")
    for row in rows:
        if row.get("set", "box") != set_kind:
            raise InputError("set", row.get("set"), "all instances of a batch share one set")
    radius = rows[0].get("radius", "1")
    if set_kind not in ("box", "ball", "none"):
        raise InputError("set", set_kind, "must be box, ball or none")
    if family == "gradient-sequence" and set_kind == "ball":
        raise InputError("set", set_kind, "gradient-sequence supports set=box or set=none")
    inputs: list[tuple[str, str]] = []
    r = _number(spec, "radius", radius)
    if set_kind != "none":
        if r <= 0:
            raise InputError("radius", radius, "must be > 0")
        if family in MARGIN_FAMILIES and not MARGIN_RADIUS[0] <= r <= MARGIN_RADIUS[1]:
            raise InputError("radius", radius, f"{family} solves its comparator in float64, "
                             "where radius² must be a normal number: must lie in "
                             "[1e-150, 1e150]")
        if "radius" in _DEFAULTS[family]:
            inputs.append(("radius", radius))
    if set_kind == "box":
        # for a box, radius is its half-width: [−radius, radius]^d (the ℓ∞ ball)
        feasible = FeasibleSet("box", lo=_decimal(-r), hi=_decimal(r))
    else:
        feasible = FeasibleSet(set_kind, radius=_decimal(r))
    params: list[dict] = []
    d = 1
    for row in rows:
        p: dict = {}
        if family in ("periodic-linear",):
            p["C"] = _decimal(_number(spec, "C", row["C"]))
            p["c"] = _decimal(_number(spec, "c", row["c"]))
            if name == "reddi-theorem2":     # Theorem 2: C·x when t mod C = 1
                p["period"] = _integer(spec, "C", row["C"], 2, PERIOD_MAX,
                                       ", as reddi-theorem2's period is C")
            else:
                p["period"] = _integer(spec, "period", row["period"], 2, PERIOD_MAX)
            inputs += [("C", row["C"]), ("c", row["c"])]
        elif family == "bernoulli-linear":
            C = _number(spec, "C", row["C"])
            c = _number(spec, "c", row["c"])
            if name == "reddi-theorem3":
                prob = _theorem3_probability(spec, C, row)
                p["delta"] = _decimal(_number(spec, "delta", row.get("delta", "0.1")))
            else:
                prob = _number(spec, "p", row["p"])
                if not 0 <= prob <= 1:
                    raise InputError("p", row["p"], "must lie in [0, 1]")
            k = threshold(prob)
            realised = Fraction(k, 1 << 32)
            seed = _integer(spec, "seed", row["seed"], 0, SEED_MAX, _SEED_WHY)
            p.update(C=_decimal(C), c=_decimal(c), p=_decimal(prob), seed=seed,
                     p_realised=_decimal(realised),
                     mu=_decimal(realised * C - (1 - realised) * c),
                     key=key_of(seed), threshold=k)
            inputs += [("C", row["C"]), ("c", row["c"])]
        elif family == "gradient-sequence":
            table = _gradient_table(spec, row["g"])
            widths = {len(v) for v in table}
            if len(widths) != 1:
                raise InputError("g", row["g"], "all gradient vectors need the same length")
            d = widths.pop()
            p["tail"] = _decimal(_number(spec, "tail", row["tail"]))
            p["length"] = len(table)
            sequence = (sequence or []) + [table]
            inputs += [("g", v) for vec in table for v in vec] + [("tail", row["tail"])]
        else:
            d = _integer(spec, "d", row["d"], 1, DIMENSION_MAX, _COUNTER_WHY)
            sparsity = _number(spec, "sparsity", row["sparsity"])
            if not 0 < sparsity <= 1:
                raise InputError("sparsity", row["sparsity"], "must lie in (0, 1]")
            seed = _integer(spec, "seed", row["seed"], 0, SEED_MAX, _SEED_WHY)
            p.update(d=d, sparsity=_decimal(sparsity), seed=seed, key=key_of(seed),
                     active=threshold(sparsity))
            if family == "random-linear":
                scale = _number(spec, "scale", row["scale"])
                if scale <= 0:
                    raise InputError("scale", row["scale"], "must be > 0")
                p["scale"] = _decimal(scale)
                inputs.append(("scale", row["scale"]))
        params.append(p)
    if family == "gradient-sequence":
        if sequence is None:            # every row sets it: rows is never empty
            raise InputError("g", None, "gradient-sequence needs at least one instance")
        lengths = {len(t) for t in sequence}
        if len(lengths) != 1:
            raise InputError("g", None, "all instances of a batch need sequences of one length")
    dims = {pp.get("d", d) for pp in params}
    if len(dims) != 1:
        raise InputError("d", sorted(dims), "all instances of a batch share one dimension")
    canonical = spec if len(rows) == 1 else f"{spec} (batch of {len(rows)})"
    problem = cls(family=family, spec=canonical, d=dims.pop(), set=feasible, params=params,
                  sequence=sequence, inputs=list(dict.fromkeys(inputs)))
    if name in ALIASES:
        problem.meta["alias"] = name
    return problem


_SEED_WHY = " (the random stream keys on its 32 bits)"
_COUNTER_WHY = " (the random stream counts coordinates in 32 bits)"


def _theorem3_probability(spec: str, C: Fraction, row: dict) -> Fraction:
    """Reddi et al.'s Theorem 3: p = (1+δ)/(C+1), which must lie in [0, 1] (C ≥ δ ≥ −1)."""
    delta_text = row.get("delta", "0.1")
    delta = _number(spec, "delta", delta_text)
    if C <= -1:
        raise InputError("C", row["C"], "reddi-theorem3 needs C > -1 (p = (1+δ)/(C+1))")
    if delta < -1:
        raise InputError("delta", delta_text, "must be >= -1 (p = (1+δ)/(C+1) >= 0)")
    if C < delta:       # name the one the user gave (delta has no default in the row)
        if "delta" in row:
            raise InputError("delta", delta_text, f"reddi-theorem3 needs delta <= C = {row['C']}"
                             " (p = (1+δ)/(C+1) <= 1)")
        raise InputError("C", row["C"], f"reddi-theorem3 needs C >= delta = {delta_text} "
                         "(p = (1+δ)/(C+1) <= 1)")
    return (1 + delta) / (C + 1)


def _gradient_table(spec: str, text: str) -> list[list[str]]:
    """The rows of ``g=[…]``: each entry a number or an array of numbers, as decimal text."""
    table = []
    for entry in parse_sequence(text):
        vec = entry if isinstance(entry, list) else [entry]
        if not vec:
            raise InputError("g", text, "empty gradient vector")
        for v in vec:
            if not isinstance(v, Decimal):
                raise InputError("g", text, "entries must be numbers or arrays of numbers")
        row = [str(v) for v in vec]
        for v in row:
            _number(spec, "g", v)
        table.append(row)
    return table
