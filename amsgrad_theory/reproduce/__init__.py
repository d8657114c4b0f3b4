"""Reproducible studies: the paper's experiments and the seed article's claims, with their records.

Each study is one module of this package defining ``STUDY`` (a :class:`~.base.Study`) and
registering its own checks (the records of its sidecars replay by name);
:data:`STUDIES` lists them in the order ``reproduce all`` runs them. Adding ``reproduce/NAME.py``
with a ``STUDY`` and listing it there makes ``amsgrad-theory reproduce NAME`` run it.

>>> "figure1" in study_names() and "all" in study_names()
True

Run one from Python::

    from amsgrad_theory.reproduce import run_study
    summary = run_study("figure1", out="out/figure1", size="small")

Every study writes, under its folder, PNG + PDF figures, the CSV of the plotted numbers, a sidecar
per figure (a verify Report whose records ``amsgrad-theory verify --sidecar F`` replays) and
``summary.json``.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from pathlib import Path
from typing import Any

from ..errors import InputError, unknown_name
from ..plots import write_json
from . import bound, claims, figure1, frameworks, phase, theorem1, tran_phong
from .base import SIZES, Context, Study

#: every study, in the order ``all`` runs them
STUDIES: dict[str, Study] = {study.name: study for study in (
    figure1.STUDY, theorem1.STUDY, tran_phong.STUDY, frameworks.STUDY, bound.STUDY, phase.STUDY,
    claims.STUDY)}


def studies() -> dict[str, Study]:
    """Every study, by name."""
    return dict(STUDIES)


def study_names() -> list[str]:
    return list(studies()) + ["all"]


def get_study(name: str) -> Study:
    available = studies()
    if name not in available:
        raise unknown_name("name", name, list(available) + ["all"])
    return available[name]


def check_output_folder(out: str | os.PathLike) -> Path:
    """Create ``out`` (and parents) and prove it writable, before any work; else InputError."""
    path = Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("out", str(out), f"cannot create the folder: "
                                          f"{exc.strerror or exc}") from None
    if not path.is_dir():
        raise InputError("out", str(out), "not a folder")
    probe = path / f".write-probe-{os.getpid()}"
    try:
        probe.write_text("probe", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise InputError("out", str(out), f"not writable: {exc.strerror or exc}") from None
    return path


def equivalent_command(name: str, out: str | os.PathLike, size: str) -> str:
    return f"amsgrad-theory reproduce {shlex.quote(name)} --out {shlex.quote(str(out))} " \
           f"--size {size}"


def run_study(name: str, out: str | os.PathLike, *, size: str = "small", quiet: bool = False,
              parameters: Any = None, command: str | None = None) -> dict:
    """Run study ``name`` (or ``all``) writing under ``out`` (``all``: one folder per study).

    ``parameters``: a parameters object of the study (overrides ``size``), e.g.
    ``figure1.Figure1Parameters(online_steps=10**6)``. Returns the summary (also written as
    ``summary.json``).
    """
    if size not in SIZES:
        raise InputError("size", size, "must be one of " + ", ".join(SIZES))
    if name == "all":
        if parameters is not None:
            raise InputError("parameters", parameters, "give parameters for one study, not all")
        root = check_output_folder(out)
        command = command or equivalent_command(name, out, size)
        t0 = time.perf_counter()
        results = {}
        for study_name in studies():
            results[study_name] = run_study(study_name, root / study_name, size=size,
                                            quiet=quiet, command=command)
        summary = {"study": "all", "size": size, "command": command,
                   "wall_time_s": time.perf_counter() - t0, "studies": results,
                   "status": _overall(results.values())}
        write_json(root / "summary.json", summary)
        return summary
    study = get_study(name)
    params = parameters if parameters is not None else study.parameters_for(size)
    folder = check_output_folder(out)
    ctx = Context(out=folder, study=study.name, size=size if parameters is None else "custom",
                  quiet=quiet, command=command or equivalent_command(name, out, size))
    t0 = time.perf_counter()
    summary = study.run(params, ctx)
    wall = time.perf_counter() - t0
    summary = {"study": study.name, "title": study.title, "size": ctx.size,
               "command": ctx.command, "parameters": _params_dict(params),
               "wall_time_s": wall, "figures": ctx.figures, **summary}
    summary.setdefault("status", "reproduced" if all(f["verdict"] == "pass"
                                                     for f in ctx.figures) else "not reproduced")
    write_json(folder / "summary.json", summary)
    summary["files"] = sorted({Path(p).name for p in ctx.files} | {"summary.json"})
    return summary


def _params_dict(params: Any) -> dict:
    if dataclasses.is_dataclass(params):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    return dict(params)


def _overall(summaries) -> str:
    statuses = {s.get("status") for s in summaries}
    return "not reproduced" if "not reproduced" in statuses else "reproduced"


__all__ = ["STUDIES", "Study", "Context", "SIZES", "studies", "study_names", "get_study",
           "run_study", "check_output_folder"]
