"""Problem specs: ``name:key=value,key=value`` (a list value is a JSON array: ``g=[1,0]``).

>>> get_problem("periodic-linear:C=3,c=1,period=3").params[0]["C"]
'3'
>>> get_problem("gradient-sequence:g=[1,0]").sequence
[[['1'], ['0']]]
"""

from __future__ import annotations

from fractions import Fraction

from ..errors import InputError, unknown_name
from .rng import make_hash, threshold
from .sets import FeasibleSet
from .streams import FAMILIES, Problem, parse_sequence

#: name → (family, fixed parameters, description)
ALIASES = {
    "reddi-online": ("periodic-linear", {"c": "1", "period": "3"},
                     "Theorem 1 of Reddi et al.: C·x every third step, −x otherwise (C > 2)"),
    "reddi-theorem2": ("periodic-linear", {"c": "1"},
                       "Theorem 2 of Reddi et al.: C·x when t mod C = 1, −x otherwise"),
    "reddi-figure1": ("periodic-linear", {"C": "1010", "c": "10", "period": "101"},
                      "Figure 1 of Reddi et al.: 1010x every 101 steps, −10x otherwise"),
    "reddi-figure1-stochastic": ("bernoulli-linear", {"C": "1010", "c": "10", "p": "0.01"},
                                 "Figure 1 (stochastic): 1010x with probability 0.01, else −10x"),
    "reddi-theorem3": ("bernoulli-linear", {"c": "1"},
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


def _number(spec: str, key: str, value: str) -> Fraction:
    try:
        return Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise InputError(key, value, f"not a number (in problem {spec!r})") from None


def _integer(spec: str, key: str, value: str, low: int) -> int:
    q = _number(spec, key, value)
    if q.denominator != 1 or q < low:
        raise InputError(key, value, f"must be an integer >= {low} (in problem {spec!r})")
    return int(q)


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
    if name == "reddi-theorem3":
        base.pop("p", None)
    allowed = set(_DEFAULTS[family]) | set(_REQUIRED.get(family, ())) | {"delta"}
    if name == "reddi-theorem2":
        allowed |= {"C"}
    for key in given:
        if key not in allowed or (key == "delta" and name != "reddi-theorem3"):
            raise InputError(key, given[key], f"not a parameter of {name}; valid: "
                             + ", ".join(sorted(k for k in allowed if k != "delta"
                                                or name == "reddi-theorem3")))
    base.update(given)
    for key in _REQUIRED.get(family, ()):
        if key not in base:
            raise InputError(key, None, f"{name} needs {key}=…")
    rows = [dict(base, **(inst or {})) for inst in (instances or [{}])]
    return _build(family, name, spec, rows)


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
    r = _number(spec, "radius", radius)
    if set_kind == "box":
        # for a box, radius is its half-width: [−radius, radius]^d (the ℓ∞ ball)
        if r <= 0:
            raise InputError("radius", radius, "must be > 0")
        feasible = FeasibleSet("box", lo=_decimal(-r), hi=_decimal(r))
    else:
        feasible = FeasibleSet(set_kind, radius=_decimal(r))
    params: list[dict] = []
    d = 1
    for row in rows:
        p: dict = {}
        if family in ("periodic-linear",):
            if name == "reddi-theorem2":
                row["period"] = row.get("C")     # Theorem 2: C·x when t mod C = 1
            p["C"] = _decimal(_number(spec, "C", row["C"]))
            p["c"] = _decimal(_number(spec, "c", row["c"]))
            p["period"] = _integer(spec, "period", row["period"], 2)
        elif family == "bernoulli-linear":
            C = _number(spec, "C", row["C"])
            c = _number(spec, "c", row["c"])
            if name == "reddi-theorem3":
                delta = _number(spec, "delta", row.get("delta", "0.1"))
                prob = (1 + delta) / (C + 1)
                p["delta"] = _decimal(delta)
            else:
                prob = _number(spec, "p", row["p"])
            if not 0 <= prob <= 1:
                raise InputError("p", _decimal(prob), "must lie in [0, 1]")
            k = threshold(prob)
            realised = Fraction(k, 1 << 32)
            seed = _integer(spec, "seed", row["seed"], 0)
            p.update(C=_decimal(C), c=_decimal(c), p=_decimal(prob), seed=seed,
                     p_realised=_decimal(realised),
                     mu=_decimal(realised * C - (1 - realised) * c),
                     key=key_of(seed), threshold=k)
        elif family == "gradient-sequence":
            entries = parse_sequence(row["g"])
            table = []
            for entry in entries:
                vec = entry if isinstance(entry, list) else [entry]
                if not vec:
                    raise InputError("g", row["g"], "empty gradient vector")
                for v in vec:
                    if isinstance(v, (list, dict, str)) or v is None or isinstance(v, bool):
                        raise InputError("g", row["g"], "entries must be numbers or arrays of "
                                         "numbers")
                table.append([str(v) for v in vec])
            widths = {len(v) for v in table}
            if len(widths) != 1:
                raise InputError("g", row["g"], "all gradient vectors need the same length")
            d = widths.pop()
            p["tail"] = _decimal(_number(spec, "tail", row["tail"]))
            p["length"] = len(table)
            sequence = (sequence or []) + [table]
        else:
            d = _integer(spec, "d", row["d"], 1)
            sparsity = _number(spec, "sparsity", row["sparsity"])
            if not 0 < sparsity <= 1:
                raise InputError("sparsity", row["sparsity"], "must lie in (0, 1]")
            seed = _integer(spec, "seed", row["seed"], 0)
            p.update(d=d, sparsity=_decimal(sparsity), seed=seed, key=key_of(seed),
                     active=threshold(sparsity))
            if family == "random-linear":
                scale = _number(spec, "scale", row["scale"])
                if scale <= 0:
                    raise InputError("scale", row["scale"], "must be > 0")
                p["scale"] = _decimal(scale)
        params.append(p)
    if family == "gradient-sequence":
        lengths = {len(t) for t in sequence}
        if len(lengths) != 1:
            raise InputError("g", None, "all instances of a batch need sequences of one length")
    dims = {pp.get("d", d) for pp in params}
    if len(dims) != 1:
        raise InputError("d", sorted(dims), "all instances of a batch share one dimension")
    canonical = spec if len(rows) == 1 else f"{spec} (batch of {len(rows)})"
    problem = cls(family=family, spec=canonical, d=dims.pop(), set=feasible, params=params,
                  sequence=sequence)
    if name in ALIASES:
        problem.meta["alias"] = name
    return problem
