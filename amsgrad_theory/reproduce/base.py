"""What every study shares: its description, its run context and its output folder.

A study is a module of :mod:`amsgrad_theory.reproduce` that defines ``STUDY``, a :class:`Study`:
a name, a title, a parameters dataclass (its defaults are the ``small`` size; ``sizes`` holds
the overrides of the other sizes) and ``run(parameters, context) -> summary``. The run draws its
figures through :meth:`Context.save_figure` (PNG, PDF, CSV and a sidecar of check records) and
returns a JSON-friendly summary; :func:`amsgrad_theory.reproduce.run_study` writes that summary
as ``summary.json`` next to the figures, after :meth:`Context.seal` has sealed every sidecar
(:func:`~amsgrad_theory.records.seal_report`: the SHA-256 of its figure's PNG, PDF and CSV and
of the study's tables, the binding of each claim to its recipe, each quantity's tolerance).

One run, one folder (:func:`staged`): a study writes into a fresh folder ``.OUT.tmp-PID``
beside its output folder; once every file is written, sealed and fsynced, that folder takes
the place of ``OUT`` in one atomic exchange (``renameat2(RENAME_EXCHANGE)`` on Linux; two
renames elsewhere, where ``OUT`` is briefly absent but never mixed). So ``OUT`` holds one
whole run, old or new — never a new figure beside an old summary; an interrupted run leaves the
old one as it was. Leftovers of runs that were killed (``.OUT.tmp-PID``, ``.OUT.old-PID``
whose process is gone) are removed by the next run.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import functools
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..engine import InstanceView, RunSpec
from ..errors import InputError
from ..plots import (
    FigureStyle,
    _deferred_interrupts,
    get_style,
    save_figure,
    write_json,
    write_text,
)
from ..records import Record, Report, file_sha256, seal_report
from ..verify.checks import run_check

#: the sizes every study accepts (``small`` is the default: a few minutes for ``all``)
SIZES = ("tiny", "small", "paper", "large")


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
        # ``large`` (grids for a cluster: ``reproduce phase --size large --workers N``) is the
        # ``paper`` size for the studies that have no grid to enlarge
        values = dict(self.sizes.get(size, self.sizes.get("paper", {}) if size == "large"
                                     else {}))
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
    #: how the figures are drawn (``reproduce --style``; :data:`~amsgrad_theory.plots.STYLES`)
    style: FigureStyle = field(default_factory=lambda: get_style(None))
    files: list[str] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    #: the study's tables beside its figures (write_csv, write_text): every sidecar vouches
    tables: list[str] = field(default_factory=list)
    #: a Dask client for the studies whose grids run as tasks (``reproduce --workers N`` /
    #: ``--scheduler``; :func:`~amsgrad_theory.engine.map_specs`); None: in process
    client: Any = None
    #: progress bars (off for a study run beside others: ``reproduce all --jobs N``)
    bars: bool = True

    # ---------------------------------------------------------------- progress
    def bar(self, total: float, desc: str, unit: str = "step"):
        """A tqdm bar on stderr (silent under ``quiet``, without ``bars``, or when stderr is
        not a terminal)."""
        return tqdm(total=total, desc=f"{self.study}: {desc}", unit=unit, file=sys.stderr,
                    disable=True if self.quiet or not self.bars else None, leave=False,
                    unit_scale=True)

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
        """Write the figure, its CSV and its sidecar. ``caption`` describes what the figure
        shows; the sidecar's ``caption`` adds how it was checked (:func:`figure_caption`)."""
        rep = self.report(title, records, parameters, seeds)
        rep.caption = figure_caption(caption, rep.records, stem)
        paths = save_figure(fig, self.out, stem, table=table, report=rep, caption=caption,
                            style=self.style)
        self.files.extend(paths.values())
        entry = {"stem": stem, "title": title, "caption": caption,
                 "checked_caption": rep.caption, "style": self.style.name,
                 "verdict": rep.verdict,
                 "records": len(rep.records), "files": {k: Path(p).name for k, p in paths.items()},
                 "verdicts": _count(r.verdict for r in rep.records)}
        self.figures.append(entry)
        self.log(f"wrote {stem}.png/.pdf/.csv/.json ({len(rep.records)} records, "
                 f"verdict {rep.verdict})")
        return entry

    def write_csv(self, name: str, table) -> str:
        return self.write_text(name, table.to_csv())

    def write_json(self, name: str, data: Any) -> str:
        path = write_json(self.out / name, data)
        self.files.append(str(path))
        return str(path)

    def write_report(self, name: str, report: Report) -> str:
        """A report without a figure, sealed (it vouches for its records only)."""
        return self.write_json(name, seal_report(report.to_dict()))

    def write_text(self, name: str, text: str) -> str:
        path = write_text(self.out / name, text)
        self.files.append(str(path))
        self.tables.append(path.name)
        return str(path)

    def seal(self) -> None:
        """Seal every figure's sidecar: it vouches for its PNG, PDF and CSV and for the
        study's tables (:func:`~amsgrad_theory.records.seal_report`). Called once the study
        has written everything, in its staging folder."""
        for figure in self.figures:
            files = figure["files"]
            vouched = [files[k] for k in files if k != "json"] + self.tables
            path = self.out / files["json"]
            data = json.loads(path.read_text(encoding="utf-8"))
            write_json(path, seal_report(data, {name: file_sha256(self.out / name)
                                                for name in vouched}))


#: how each check method establishes a record, as a caption says it
METHOD_WORDS = {"float": "floating-point runs", "certified": "certified in ball arithmetic",
                "sampled": "sampled (Hypothesis searches, sweeps)", "symbolic": "proved by sympy",
                "structural": "structural", "digest": "digests"}


def figure_caption(description: str, records: Sequence[Record], stem: str) -> str:
    """A figure's caption in plain text: what it shows (``description``), then how it was
    checked — how many records, by which method, their verdicts, each claim that does not
    pass — and the command that re-checks them (the claims themselves are the records')."""
    head = description.strip()
    if head and not head.endswith("."):
        head += "."
    n = len(records)
    if not n:
        return f"{head} No record backs it.".strip()
    methods = ", ".join(f"{k} {METHOD_WORDS.get(m, m)}" for m, k in
                        sorted(_count(r.method for r in records).items(), key=lambda mk: -mk[1]))
    verdicts = _count(r.verdict for r in records)
    outcome = f"all {n} pass" if verdicts == {"pass": n} else ", ".join(
        f"{verdicts[v]} {v}" for v in ("pass", "fail", "undecided") if verdicts.get(v))
    text = f"{head} Checked by {n} record{'s' if n != 1 else ''} ({methods}): {outcome}."
    for verdict in ("fail", "undecided"):
        claims = [r.claim.strip().rstrip(".") for r in records if r.verdict == verdict]
        if claims:
            text += f" {verdict.capitalize()}: " + "; ".join(claims) + "."
    return text + f" Re-check: amsgrad-theory verify --sidecar {stem}.json."


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


def traced(view: InstanceView) -> dict[str, Any]:
    """The trace of a run made with ``trace=True`` (series name → steps × lanes array)."""
    assert view.trace is not None
    return view.trace


# ------------------------------------------------------------------------------------------
# one run, one folder
# ------------------------------------------------------------------------------------------

def _sibling(out: Path, kind: str, pid: int | None = None) -> Path:
    return out.with_name(f".{out.name}.{kind}-{os.getpid() if pid is None else pid}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # another user's process
        return True
    return True


def remove_leftovers(out: Path) -> list[Path]:
    """Remove ``.OUT.tmp-PID`` and ``.OUT.old-PID`` beside ``out`` whose process is gone (runs
    of reproduce that were killed); a live process's are left alone. Returns what went."""
    gone = []
    for kind in ("tmp", "old"):
        for path in out.parent.glob(f".{out.name}.{kind}-*"):
            pid = path.name.rsplit("-", 1)[1]
            if not pid.isdigit() or _alive(int(pid)):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def _holds_summary(path: Path) -> bool:
    try:
        summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(summary, dict) and "study" in summary


def _leftover(path: Path) -> bool:
    return path.name.startswith(".") and (".tmp-" in path.name or ".old-" in path.name)


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` may be replaced by a run: it holds the ``summary.json`` of a run of
    reproduce, or nothing but leftovers (``.*.tmp-PID``, ``.*.old-PID``) and folders of runs
    of single studies (``reproduce NAME --out path`` writes ``path/NAME/``)."""
    if _holds_summary(path):
        return True
    return all(_leftover(p) or (p.is_dir() and not p.is_symlink() and _holds_summary(p))
               for p in path.iterdir())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` (and itself) to the disk."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            _fsync(Path(root) / name)
        _fsync(Path(root))


@functools.cache
def _renameat2():
    """libc's ``renameat2`` (Linux, glibc ≥ 2.28), or None."""
    if os.name != "posix":
        return None
    fn = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                       ctypes.c_uint]
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; False where the system or the file system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(staging: Path, out: Path) -> None:
    """Put the finished folder ``staging`` in the place of ``out`` (atomically where the
    system allows) and remove the run it replaces."""
    _fsync_tree(staging)
    old = None
    with _deferred_interrupts():
        if not out.exists() or (out.is_dir() and not any(out.iterdir())):
            os.replace(staging, out)
        elif _exchange(staging, out):
            old = staging
        else:
            old = _sibling(out, "old")
            os.replace(out, old)
            os.replace(staging, out)
    _fsync(out.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A fresh, empty folder beside ``out`` to write one run into; on leaving the block it
    replaces ``out`` (:func:`swap_in`), on any exception — KeyboardInterrupt included — it is
    removed and ``out`` is left as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    staging = _sibling(out, "tmp")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        yield staging
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
