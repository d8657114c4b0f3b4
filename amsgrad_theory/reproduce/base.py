"""What every study shares: its description and its run context.

A study is a module of :mod:`amsgrad_theory.reproduce` that defines ``STUDY``, a :class:`Study`:
a name, a title, a parameters dataclass (its defaults are the ``small`` size; ``sizes`` holds
the overrides of the other sizes) and ``run(parameters, context) -> summary``. The run draws its
figures through :meth:`Context.save_figure` (PNG, PDF, CSV and a sidecar of check records) and
returns a JSON-friendly summary; :func:`amsgrad_theory.reproduce.run_study` writes that summary
as ``summary.json`` next to the figures.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..engine import RunSpec
from ..errors import InputError
from ..plots import save_figure, write_json, write_text
from ..records import Record, Report
from ..verify.checks import run_check

#: the sizes every study accepts (``small`` is the default: a few minutes for ``all``)
SIZES = ("tiny", "small", "paper")


@dataclass(frozen=True)
class Study:
    """One reproducible study.

    ``parameters`` is a frozen dataclass whose defaults are the ``small`` size; ``sizes`` maps
    ``tiny``/``paper`` to field overrides. ``run(parameters, context)`` returns the summary.
    """

    name: str
    title: str
    parameters: type
    run: Callable[[Any, Context], dict]
    sizes: dict[str, dict] = field(default_factory=dict)
    source: str = ""

    def parameters_for(self, size: str = "small", **overrides: Any) -> Any:
        if size not in SIZES:
            raise InputError("size", size, "must be one of " + ", ".join(SIZES))
        values = dict(self.sizes.get(size, {}))
        values.update(overrides)
        names = {f.name for f in dataclasses.fields(self.parameters)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InputError(unknown[0], values[unknown[0]],
                             f"not a parameter of {self.name}; valid: " + ", ".join(sorted(names)))
        return self.parameters(**values)


@dataclass
class Context:
    """Where a study writes, how loudly, and what it has written so far."""

    out: Path
    study: str
    size: str = "small"
    quiet: bool = False
    command: str | None = None
    files: list[str] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)

    # ---------------------------------------------------------------- progress
    def bar(self, total: float, desc: str, unit: str = "step"):
        """A tqdm bar on stderr (silent under ``quiet`` or when stderr is not a terminal)."""
        return tqdm(total=total, desc=f"{self.study}: {desc}", unit=unit, file=sys.stderr,
                    disable=True if self.quiet else None, leave=False, unit_scale=True)

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[{self.study}] {message}", file=sys.stderr)

    # ---------------------------------------------------------------- output
    def report(self, title: str, records: Sequence[Record], parameters: dict | None = None,
               seeds: dict | None = None) -> Report:
        """A sidecar report with the command that reproduces it."""
        rep = Report(title=title, records=list(records), command=self.command,
                     seeds=dict(seeds or {}), parameters=dict(parameters or {}))
        rep.parameters.setdefault("study", self.study)
        rep.parameters.setdefault("size", self.size)
        return rep

    def save_figure(self, fig, stem: str, *, table, records: Sequence[Record], title: str,
                    parameters: dict | None = None, seeds: dict | None = None,
                    caption: str = "") -> dict:
        rep = self.report(title, records, parameters, seeds)
        paths = save_figure(fig, self.out, stem, table=table, report=rep, caption=caption)
        self.files.extend(paths.values())
        entry = {"stem": stem, "title": title, "caption": caption, "verdict": rep.verdict,
                 "records": len(rep.records), "files": {k: Path(p).name for k, p in paths.items()},
                 "verdicts": _count(r.verdict for r in rep.records)}
        self.figures.append(entry)
        self.log(f"wrote {stem}.png/.pdf/.csv/.json ({len(rep.records)} records, "
                 f"verdict {rep.verdict})")
        return entry

    def write_csv(self, name: str, table) -> str:
        path = write_text(self.out / name, table.to_csv())
        self.files.append(str(path))
        return str(path)

    def write_json(self, name: str, data: Any) -> str:
        path = write_json(self.out / name, data)
        self.files.append(str(path))
        return str(path)

    def write_text(self, name: str, text: str) -> str:
        path = write_text(self.out / name, text)
        self.files.append(str(path))
        return str(path)


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def checked(name: str, spec: RunSpec, view=None, **args) -> Record:
    """:func:`~amsgrad_theory.verify.checks.run_check` reusing an existing run (``view``)."""
    if view is not None:
        return run_check(name, spec, _result=view, **args)
    return run_check(name, spec, **args)
