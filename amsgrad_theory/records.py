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
                         bound on the rounding error of the compared values),
             "digest"    (SHA-256 digests compared exactly: a report's seal, see below)
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

**Seals.** :func:`seal_report` adds a ``seal`` to a report's JSON (a figure's sidecar, ``verify
--json`` output) and :func:`seal_differences`, :func:`compare_record`, :func:`match_records`
and :func:`file_differences` say, field by field, where a report no longer agrees with it.
A seal holds:

* for every record, in order (the list of records expected): its name and claim, the SHA-256
  of claim + recipe (``binding``), a digest of every leaf of the claim, of the recipe and of
  the annotations a command adds around a check (:data:`ANNOTATIONS`), and the tolerance class
  of every quantity the recipe recomputes (``quantities``: ``details.value`` → ``float`` …);
* the tolerance of each class (:data:`TOLERANCES`): ``exact`` (equal, of the same JSON type:
  integers, strings, booleans, null), ``float`` and ``certified`` (floats of a float or of a
  certified record: within ``ulps`` units in the last place, 0 as written — the runs are
  deterministic, so the machine that wrote a sidecar recomputes it bit for bit; a certified
  record's floats are read from arb balls at the recipe's fixed precision, and its verdict is
  the enclosure's);
* the SHA-256 of every file the report vouches for (a figure's PNG, PDF and CSV, the study's
  tables beside it), a digest of every leaf of the header (title, command, parameters, …),
  the package version that sealed it, and the SHA-256 of the whole report (``sha256``).

What a seal guarantees, once ``verify --sidecar`` has recomputed every recipe and found no
difference: every recorded quantity and verdict is what its recipe gives now (no edit of a
value can survive this: the value is recomputed, not trusted); every claim, recipe, file and
header is the one sealed, and no record was added or removed since — unless the seal itself
was rewritten to match. A seal is a checksum, not a signature: whoever can write the sidecar
can write a consistent new seal (only a claim re-worded in its recipe too, or a file edit, can
hide that way; values cannot). Compare the sidecar's own SHA-256, which ``verify --sidecar``
prints, with a copy kept elsewhere to rule that out.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.metadata
import json
import math
import platform
import shlex
import sys
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ._version import __version__

METHODS = ("symbolic", "certified", "sampled", "structural", "float", "digest")
VERDICTS = ("pass", "fail", "undecided")
#: a report's verdict → the exit status of the command (2 is bad input, never a verdict)
EXIT_STATUS = {"pass": 0, "fail": 1, "undecided": 3}
EXIT_STATUSES = {**EXIT_STATUS, "bad input": 2}
SCHEMA_VERSION = 1


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become strings, tuples lists, numpy scalars and subclasses
    of str, int and float the plain Python ones (so a value compares as its JSON would)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return "inf" if value > 0 else "-inf" if value < 0 else "nan"
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)           # a str (or a subclass, such as torch's version), or any other


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


#: the distributions whose versions a record names (each under its distribution's name)
_LIBRARIES = ("numpy", "sympy", "mpmath", "python-flint", "numba", "torch", "scipy",
              "hypothesis", "matplotlib")


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    out = [("python", platform.python_version()), ("amsgrad_theory", __version__)]
    for dist in _LIBRARIES:
        try:
            out.append((dist, importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - optional
            continue
    return tuple(out)


def versions() -> dict:
    """Versions of the libraries that computed a result, as installed (read from the
    distributions' metadata: importing torch, sympy and matplotlib to read ``__version__``
    took 2.5 s of every command that writes a record)."""
    return dict(_installed_versions())


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
    #: a figure's sidecar: what the figure shows and how it was checked, in plain text (made
    #: from the records; sealed with the header like the title)
    caption: str | None = None

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
            **({"caption": self.caption} if self.caption is not None else {}),
            "records": [r.to_dict() for r in self.records],
        })

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), indent=kwargs.pop("indent", 2), **kwargs)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        validate_report(data)
        return cls(title=data["title"], command=data.get("command"), seeds=data.get("seeds", {}),
                   parameters=data.get("parameters", {}), versions=data.get("versions", {}),
                   created=data.get("created", ""), caption=data.get("caption"),
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


# ------------------------------------------------------------------------------------------
# seals: what a report vouches for, checkable field by field (see the module docstring)
# ------------------------------------------------------------------------------------------

SEAL_VERSION = 1
#: how a recomputed quantity must agree with the recorded one, per class (copied into every seal)
TOLERANCES: dict[str, dict[str, Any]] = {
    "exact": {"rule": "equal", "applies_to": "integers, strings, booleans and null: equal, of "
                                             "the same JSON type"},
    "float": {"rule": "ulps", "ulps": 0,
              "applies_to": "floats of a record that is not certified: the runs are "
                            "deterministic, so the machine that sealed them recomputes them bit "
                            "for bit (verify --ulps N accepts N units in the last place)"},
    "certified": {"rule": "ulps", "ulps": 0,
                  "applies_to": "floats of a certified record: read from arb balls at the "
                                "recipe's fixed precision, which is deterministic; the verdict "
                                "is decided by the enclosure itself"},
}
#: leaves of a record that no recipe recomputes — the recipe itself and what a command adds
#: around a check (``verify`` escalating a tie to arb); the seal binds them by digest instead
ANNOTATIONS = ("details.recipe", "details.escalated_from", "details.escalation")
#: hex digits kept of a leaf's digest: enough to say which leaf changed (the binding of claim
#: and recipe and the report's digest keep all 64)
LEAF_DIGITS = 16
#: how a difference shows a value that is not there
ABSENT = "<absent>"


def canonical_json(value: Any) -> bytes:
    """A JSON value as canonical bytes: sorted keys, no spaces, UTF-8 (what digests hash)."""
    return json.dumps(_clean(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of a JSON value in canonical form."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by its dotted path (``details.window.0``); an empty object
    or list is a leaf."""
    if isinstance(value, (dict, list)) and value:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        out: dict[str, Any] = {}
        for key, item in items:
            out.update(leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _is_annotation(path: str) -> bool:
    return any(path == a or path.startswith(a + ".") for a in ANNOTATIONS)


def quantities(record: dict) -> dict[str, Any]:
    """The leaves of a record (its JSON form) that its recipe recomputes: all but
    :data:`ANNOTATIONS`."""
    return {p: v for p, v in leaves(record).items() if not _is_annotation(p)}


def bound_leaves(record: dict) -> dict[str, Any]:
    """The leaves a seal binds by digest: the claim, the recipe and the annotations."""
    return {p: v for p, v in leaves(record).items() if p == "claim" or _is_annotation(p)}


def _leaf_digest(path: str, value: Any) -> str:
    return digest([path, value])[:LEAF_DIGITS]


def binding(record: dict) -> str:
    """SHA-256 of a record's claim together with its recipe: the claim bound to its recipe."""
    return digest({"claim": record.get("claim"),
                   "recipe": (record.get("details") or {}).get("recipe")})


def tolerance_class(value: Any, method: str | None) -> str:
    """``float`` or ``certified`` for a float of a record of that method, else ``exact``."""
    if isinstance(value, float):
        return "certified" if method == "certified" else "float"
    return "exact"


def seal_record(record: dict) -> dict:
    """A record's entry in a seal: name, claim, binding, leaf digests, quantities' classes."""
    return {"name": record.get("name"), "claim": record.get("claim"),
            "binding": binding(record),
            "digests": {p: _leaf_digest(p, v) for p, v in bound_leaves(record).items()},
            "quantities": {p: tolerance_class(v, record.get("method"))
                           for p, v in quantities(record).items()}}


def _header(data: dict) -> dict:
    return {k: v for k, v in data.items() if k not in ("records", "seal")}


def report_digest(data: dict) -> str:
    """SHA-256 of a report's JSON, seal included except the seal's own ``sha256``."""
    seal = {k: v for k, v in (data.get("seal") or {}).items() if k != "sha256"}
    return digest({**data, "seal": seal})


def seal_report(data: dict, files: dict[str, str] | None = None) -> dict:
    """``data`` (a report's JSON) with a ``seal``; ``files`` maps the name of each file the
    report vouches for (beside it) to its SHA-256 (:func:`file_sha256`)."""
    data = _clean({k: v for k, v in data.items() if k != "seal"})
    data["seal"] = {
        "version": SEAL_VERSION, "hash": "sha256", "package": "amsgrad-theory",
        "package_version": __version__, "tolerances": TOLERANCES,
        "records": [seal_record(r) for r in data["records"]],
        "files": dict(sorted((files or {}).items())),
        "header": {p: _leaf_digest(p, v) for p, v in leaves(_header(data)).items()},
    }
    data["seal"]["sha256"] = report_digest(data)
    return data


def difference(field_: str, recorded: Any, recomputed: Any, tolerance: str) -> dict:
    """One field that no longer agrees: its path, the recorded and the recomputed value."""
    return {"field": field_, "recorded": recorded, "recomputed": recomputed,
            "tolerance": tolerance}


def _agrees(recorded: Any, recomputed: Any, tolerance: dict, ulps: int | None) -> bool:
    if tolerance.get("rule") == "ulps" and type(recorded) is float \
            and type(recomputed) is float:
        n = tolerance.get("ulps", 0) if ulps is None else ulps
        if n == 0 or recorded == recomputed:
            return recorded == recomputed
        return abs(recorded - recomputed) <= n * math.ulp(max(abs(recorded), abs(recomputed)))
    return type(recorded) is type(recomputed) and recorded == recomputed


def _describe(tolerance: dict, ulps: int | None) -> str:
    if tolerance.get("rule") == "ulps":
        return f"{tolerance.get('ulps', 0) if ulps is None else ulps} ulps"
    return tolerance.get("rule", "equal")


def compare_record(recorded: dict, recomputed: dict, entry: dict | None = None,
                   tolerances: dict | None = None, ulps: int | None = None) -> list[dict]:
    """The quantities (:func:`quantities`) of ``recorded`` that the recomputed record does not
    reproduce within their tolerance; ``entry`` is the record's seal entry (its classes; a
    quantity it does not list was added after sealing), else every class is inferred."""
    tolerances = tolerances or TOLERANCES
    mine, again = quantities(recorded), quantities(recomputed)
    classes = dict(entry["quantities"]) if entry else {}
    out = []
    for path in dict.fromkeys([*classes, *mine, *again]):
        if path not in mine or path not in again:
            out.append(difference(path, mine.get(path, ABSENT), again.get(path, ABSENT),
                                  "present"))
            continue
        if entry and path not in classes:
            out.append(difference(path, mine[path], again[path], "not sealed"))
            continue
        cls = classes.get(path) or tolerance_class(mine[path], recorded.get("method"))
        tolerance = tolerances.get(cls, TOLERANCES["exact"])
        if not _agrees(mine[path], again[path], tolerance, ulps):
            out.append(difference(path, mine[path], again[path], _describe(tolerance, ulps)))
    return out


def _digest_differences(sealed: dict, now: dict[str, Any], prefix: str = "") -> list[dict]:
    out = []
    for path in dict.fromkeys([*sealed, *now]):
        current = _leaf_digest(path, now[path]) if path in now else None
        if sealed.get(path) != current:
            out.append(difference(
                prefix + path, f"sha256:{sealed[path]}… (sealed)" if path in sealed else ABSENT,
                f"{now[path]!r} (sha256:{current}…)" if path in now else ABSENT, "digest"))
    return out


def binding_differences(record: dict, entry: dict) -> list[dict]:
    """Where a record's claim, recipe or annotations differ from its seal entry: each leaf by
    name, then the binding of claim and recipe."""
    out = _digest_differences(entry.get("digests", {}), bound_leaves(record))
    now = binding(record)
    if now != entry.get("binding"):
        out.append(difference("claim+recipe", entry.get("binding"), now, "sha256"))
    return out


def match_records(records: list[dict], entries: list[dict]) -> tuple[list, list[int]]:
    """Pair each record with its seal entry: ``([(record index, entry index or None)], the
    entries no record matches)`` — by the binding of claim and recipe, then an edited record
    with the free entry that shares most of its leaf digests."""
    free = list(range(len(entries)))
    pairs: dict[int, int] = {}
    for i, record in enumerate(records):
        b = binding(record)
        j = i if i in free and entries[i].get("binding") == b else next(
            (j for j in free if entries[j].get("binding") == b), None)
        if j is not None:
            pairs[i] = j
            free.remove(j)
    for i, record in enumerate(records):
        if i in pairs or not free:
            continue
        digests = {p: _leaf_digest(p, v) for p, v in bound_leaves(record).items()}

        def shared(j: int) -> int:
            return sum(entries[j].get("digests", {}).get(p) == d for p, d in digests.items())

        j = max(free, key=shared)
        if shared(j):
            pairs[i] = j
            free.remove(j)
    return [(i, pairs.get(i)) for i in range(len(records))], free


def file_differences(seal: dict, folder: str | Path) -> list[dict]:
    """The files a seal vouches for (names beside the report, in ``folder``) whose SHA-256
    differs, or that are gone."""
    out = []
    for name, sealed in (seal.get("files") or {}).items():
        path = Path(folder) / name
        if Path(name).name != name:
            now = "not a file beside the report"
        else:
            try:
                now = file_sha256(path)
            except OSError:
                now = ABSENT
        if now != sealed:
            out.append(difference(f"files.{name}", sealed, now, "sha256"))
    return out


def header_differences(data: dict) -> list[dict]:
    """Where a sealed report's header (title, command, parameters, …) or its seal differs from
    what was sealed: each header leaf by name, then the report's own digest."""
    seal = data.get("seal") or {}
    out = _digest_differences(seal.get("header", {}), leaves(_header(data)))
    now = report_digest(data)
    if now != seal.get("sha256"):
        out.append(difference("seal.sha256", seal.get("sha256"), now, "sha256"))
    return out
