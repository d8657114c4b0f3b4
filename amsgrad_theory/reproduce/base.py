"""What every study shares: its description, its run context, and batched runs of many specs.

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

from ..records import Record, Report
from ..verify.runspec import RunSpec

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
        from ..errors import InputError

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
        from tqdm import tqdm

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
        from ..plots import save_figure

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
        from ..plots import write_text

        path = write_text(self.out / name, table.to_csv())
        self.files.append(str(path))
        return str(path)

    def write_json(self, name: str, data: Any) -> str:
        from ..plots import write_json

        path = write_json(self.out / name, data)
        self.files.append(str(path))
        return str(path)

    def write_text(self, name: str, text: str) -> str:
        from ..plots import write_text

        path = write_text(self.out / name, text)
        self.files.append(str(path))
        return str(path)


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


# ------------------------------------------------------------------------------------------
# batched runs of many single-instance specs
# ------------------------------------------------------------------------------------------

def _group_key(spec: RunSpec) -> tuple:
    from ..problems.spec import split_spec

    name, _ = split_spec(spec.problem)
    return (spec.algorithm, spec.schedule, spec.beta1_schedule, spec.decoupled, spec.steps,
            spec.arithmetic, spec.x0, name)


def run_specs(specs: Sequence[RunSpec], *, bar=None, trace: bool = False) -> list:
    """Run every spec, batching those that differ only in hyperparameters and problem
    parameters into one :func:`~amsgrad_theory.simulate.simulate` call (B instances).

    Returns one single-instance :class:`~amsgrad_theory.simulate.Result` view per spec, in
    order: ``view.instances == [its instance]`` and ``view.problem`` is the spec's own problem,
    so :func:`~amsgrad_theory.report.run_summary` and the registered checks read it exactly as
    they read ``spec.run()`` (the replay of a sidecar record). ``bar`` (tqdm) advances by
    lane-steps B·T.
    """
    from ..problems import get_problem
    from ..problems.spec import split_spec
    from ..simulate import simulate

    groups: dict[tuple, list[int]] = {}
    for k, spec in enumerate(specs):
        get_problem(spec.problem)             # validates each spec on its own first
        spec.variant().hyperparameters(**spec.hyperparameters)
        groups.setdefault(_group_key(spec), []).append(k)
    views: list = [None] * len(specs)
    for indices in groups.values():
        first = specs[indices[0]]
        instances = [split_spec(specs[k].problem)[1] for k in indices]
        # the first spec is the base (it carries required keys such as g=…); each instance
        # overrides with its own parameters
        problem = get_problem(first.problem, instances=instances)
        hps = [dict(specs[k].hyperparameters) for k in indices]
        done = [0]

        def progress(n, total, _B=len(indices), _done=done):
            if bar is not None:
                bar.update((n - _done[0]) * _B)
            _done[0] = n

        result = simulate(first.variant(), problem, steps=first.steps,
                          arithmetic=first.arithmetic, hyperparameters=hps, x0=first.x0,
                          trace=trace, progress=progress)
        for j, k in enumerate(indices):
            views[k] = instance_view(result, j, get_problem(specs[k].problem))
    return views


class InstanceView:
    """Instance ``b`` of a batched :class:`~amsgrad_theory.simulate.Result`, read as a
    single-instance result: ``instances == [that instance]``, ``trace`` sliced to it, and
    ``problem`` the instance's own (single) problem. It answers what
    :func:`~amsgrad_theory.report.run_summary`, the invariants and the registered checks read.
    """

    def __init__(self, result, b: int, problem=None):
        self.variant = result.variant
        self.problem = problem if problem is not None else result.problem
        self.arithmetic = result.arithmetic
        self.steps = result.steps
        self.engine = result.engine
        self.wall_time = result.wall_time
        self.notes = list(getattr(result, "notes", []))
        self.instances = [result.instances[b]]
        self.trace = None
        if result.trace is not None:
            self.trace = {key: value[:, b:b + 1] for key, value in result.trace.items()}
        self.batch_index = b

    def __getattr__(self, name):
        if name.startswith("_") or name == "instances":
            raise AttributeError(name)
        from ..simulate import instance_attribute

        return instance_attribute(self.instances[0], name)

    def to_float(self, value):
        return None if value is None else self.arithmetic.to_float(value)


def instance_view(result, b: int, problem=None) -> InstanceView:
    """A single-instance view of instance ``b`` of a batched result (trace sliced too)."""
    return InstanceView(result, b, problem)


def lane_steps(specs: Sequence[RunSpec]) -> int:
    """Σ T over specs (the total a progress bar of :func:`run_specs` counts to), d = 1 each."""
    from ..problems import get_problem

    return sum(s.steps * get_problem(s.problem).d for s in specs)


def checked(name: str, spec: RunSpec, view=None, **args) -> Record:
    """:func:`~amsgrad_theory.verify.checks.run_check` reusing an existing run (``view``), with the
    module that registers the check noted in the recipe (``recipe["module"]``)."""
    from ..verify import study_checks  # noqa: F401  (registers the study checks)
    from ..verify.checks import run_check

    record = run_check(name, spec, _result=view, **args) if view is not None else \
        run_check(name, spec, **args)
    record.details["recipe"]["module"] = "amsgrad_theory.verify.study_checks"
    return record
