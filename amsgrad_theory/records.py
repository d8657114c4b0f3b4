"""Check records and reports: every claim the toolkit makes says how it was established.

A :class:`Record` is one checked claim::

    claim    what is asserted, in words ("η_t never increases on this run")
    method   "symbolic"  (an identity or inequality proven by sympy),
             "certified" (decided in ball arithmetic: every rounding error enclosed),
             "sampled"   (hypothesis or a sweep: N cases, with the seed),
             "structural" (follows from the form of the update for every input — a running
                         max, a non-increasing α_t — so no run, exact or rounded, can break
                         it; the run's own comparisons are kept in the details),
             "float"     (floating point backs it: decided only where the margin exceeds a
                         bound on the rounding error of the compared values)
    verdict  "pass" | "fail" | "undecided" (balls overlap, or a float margin within the
             rounding bound; never reported as pass)
    witness  when it fails: the shortest input that breaks it, replayable (``cli`` holds the
             command line that reproduces it)
    details  the numbers behind the verdict (lhs, rhs, ratio, tolerance, …)

A report's verdict decides the exit status of the command that made it (:data:`EXIT_STATUS`):
0 pass, 1 fail (a finding), 3 undecided (nothing failed, but some claim could not be decided:
a tie within the rounding bound, overlapping balls, too few checkpoints); 2 is bad input. The
JSON carries both (``exit_status``, ``exit_statuses``).

A :class:`Report` collects records with the exact command, the versions of every library that
computed them, the seeds and the time; it serialises to JSON validated by
``amsgrad_theory/schemas/report.schema.json`` (plots, sidecars and the paper read it).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

METHODS = ("symbolic", "certified", "sampled", "structural", "float")
VERDICTS = ("pass", "fail", "undecided")
#: a report's verdict → the exit status of the command (2 is bad input, never a verdict)
EXIT_STATUS = {"pass": 0, "fail": 1, "undecided": 3}
EXIT_STATUSES = {**EXIT_STATUS, "bad input": 2}
SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become strings, tuples lists, numpy scalars Python ones."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else "-inf" if value < 0 else "nan"
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


@dataclass
class Record:
    claim: str
    method: str
    verdict: str
    details: dict = field(default_factory=dict)
    witness: dict | None = None
    cases: int | None = None
    seed: int | None = None
    name: str | None = None
    source: str | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method={self.method!r}: must be one of {METHODS}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict={self.verdict!r}: must be one of {VERDICTS}")
        if self.method == "sampled" and self.cases is None:
            raise ValueError("a sampled record states its number of cases")

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    def to_dict(self) -> dict:
        return _clean({k: v for k, v in asdict(self).items()})

    @classmethod
    def from_dict(cls, data: dict) -> Record:
        keys = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in keys})


def versions() -> dict:
    """Versions of the libraries that computed a result."""
    out = {"python": platform.python_version()}
    for mod in ("amsgrad_theory", "numpy", "sympy", "mpmath", "flint", "numba", "torch", "scipy",
                "hypothesis", "matplotlib"):
        try:
            m = __import__(mod)
            out[mod if mod != "flint" else "python-flint"] = getattr(m, "__version__", "?")
        except Exception:  # pragma: no cover - optional
            continue
    return out


@dataclass
class Report:
    title: str
    records: list[Record] = field(default_factory=list)
    command: str | None = None
    seeds: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    versions: dict = field(default_factory=versions)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC)
                         .isoformat(timespec="seconds"))

    def add(self, record: Record) -> Record:
        self.records.append(record)
        return record

    def extend(self, records) -> None:
        self.records.extend(records)

    @property
    def verdict(self) -> str:
        """fail if any record fails; else undecided if any is undecided; else pass."""
        verdicts = {r.verdict for r in self.records}
        if "fail" in verdicts:
            return "fail"
        if "undecided" in verdicts:
            return "undecided"
        return "pass"

    @property
    def exit_status(self) -> int:
        """0 pass, 1 fail, 3 undecided (:data:`EXIT_STATUS`)."""
        return EXIT_STATUS[self.verdict]

    def to_dict(self) -> dict:
        return _clean({
            "schema_version": SCHEMA_VERSION, "title": self.title, "command": self.command,
            "created": self.created, "versions": self.versions, "seeds": self.seeds,
            "parameters": self.parameters, "verdict": self.verdict,
            "exit_status": self.exit_status, "exit_statuses": EXIT_STATUSES,
            "records": [r.to_dict() for r in self.records],
        })

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), **kwargs)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        validate_report(data)
        return cls(title=data["title"], command=data.get("command"), seeds=data.get("seeds", {}),
                   parameters=data.get("parameters", {}), versions=data.get("versions", {}),
                   created=data.get("created", ""),
                   records=[Record.from_dict(r) for r in data["records"]])


def schema() -> dict:
    text = resources.files("amsgrad_theory").joinpath("schemas/report.schema.json").read_text()
    return json.loads(text)


def validate_report(data: dict) -> None:
    """Raise ``ValueError`` naming the first problem if ``data`` is not a valid report."""
    try:
        import jsonschema  # jsonschema: a dev dependency; without it the schema's keys are checked
    except ImportError:  # pragma: no cover - jsonschema is a dev dependency
        for key in ("schema_version", "title", "records"):
            if key not in data:
                raise ValueError(f"report lacks {key!r}") from None
        return
    try:
        jsonschema.validate(data, schema())
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        raise ValueError(f"invalid report at {path or '(root)'}: {exc.message}") from None


def command_line() -> str:
    """The command that is running, as one shell-ready string."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("amsgrad-theory"):
        argv[0] = "amsgrad-theory"
    return " ".join(shlex.quote(a) for a in argv)
