"""Reproducible studies: the paper's experiments and the seed article's claims, with their records.

Each study is one module of this package defining ``STUDY`` (a :class:`~.base.Study`) and
registering its own checks (the records of its sidecars replay by name);
:data:`STUDIES` lists them in the order ``reproduce all`` runs them. Adding ``reproduce/NAME.py``
with a ``STUDY`` and listing it there makes ``amsgrad-theory reproduce NAME`` run it.

>>> "figure1" in study_names() and "all" in study_names()
True

Run one from Python::

    from amsgrad_theory.reproduce import run_study
    summary = run_study("figure1", out="out", size="small", style="paper")   # → out/figure1/

One layout: study NAME always writes into ``OUT/NAME/``, run alone or under ``all`` (which
adds ``OUT/summary.json``), so ``paper --reuse OUT`` finds every study where ``reproduce all``
put it. Every study writes, in its folder, PNG + PDF figures (drawn in a
:data:`~amsgrad_theory.plots.STYLES` style), the CSV of the plotted numbers (tidy: one column
per parameter and per quantity, one row per plotted point), a sidecar per figure (a sealed
verify Report with a plain-text ``caption``: ``amsgrad-theory verify --sidecar F`` recomputes
its records and checks its seal) and ``summary.json``. A run replaces its folder
(``OUT/NAME``; ``OUT`` under ``all``) whole, in one step, when it is complete
(:func:`~.base.staged`): the folder always holds one whole run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import pickle
import shlex
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import InputError, unknown_name
from ..plots import FigureStyle, get_style, style_context, write_json
from . import bound, claims, figure1, frameworks, phase, theorem1, tran_phong
from .base import SIZES, Context, Study, is_run_folder, staged

#: every study, in the order ``all`` runs them (and lists them in its summary)
STUDIES: dict[str, Study] = {study.name: study for study in (
    figure1.STUDY, theorem1.STUDY, tran_phong.STUDY, frameworks.STUDY, bound.STUDY, phase.STUDY,
    claims.STUDY)}

#: the order in which ``all --jobs N`` hands studies to its processes: the longest first, so
#: the last to finish is a short one. Measured on 2 cores, ``reproduce all --jobs 1`` with the
#: kernels cached, seconds at tiny / small: frameworks 8.4 / 24.1, tran-phong 5.6 / 19.3,
#: claims 3.9 / 15.9, figure1 4.0 / 11.3, bound 4.5 / 4.1, phase 1.7 / 8.6, theorem1
#: 0.9 / 2.2. A study not listed goes last.
LONGEST_FIRST = ("frameworks", "tran-phong", "claims", "figure1", "bound", "phase",
                 "theorem1")


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


def check_output_folder(out: str | os.PathLike, *, whole_run: bool = False) -> Path:
    """Create ``out`` (and parents) and prove it writable, before any work; else InputError.

    ``whole_run``: ``out`` is to be replaced by one run of reproduce (:func:`~.base.staged`),
    so it must be empty or hold a run reproduce wrote (its ``summary.json``) — never a folder
    of other files, which the swap would remove — and its parent must be writable too.
    """
    path = Path(os.path.realpath(out)) if whole_run else Path(out)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError("out", str(out), f"cannot create the folder: "
                                          f"{exc.strerror or exc}") from None
    if not path.is_dir():
        raise InputError("out", str(out), "not a folder")
    probes = [path / f".write-probe-{os.getpid()}"]
    if whole_run:
        if not is_run_folder(path):
            names = sorted(p.name for p in path.iterdir())
            raise InputError("out", str(out), f"holds files reproduce did not write "
                                              f"({', '.join(names[:3])}{', …' if names[3:] else ''}"
                                              f"); a run replaces its folder whole: give a new "
                                              f"or empty folder, or one reproduce wrote")
        probes.append(path.with_name(f".{path.name}.write-probe-{os.getpid()}"))
    for probe in probes:
        try:
            probe.write_text("probe", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            raise InputError("out", str(out), f"not writable: {exc.strerror or exc}") from None
    return path


def equivalent_command(name: str, out: str | os.PathLike, size: str,
                       style: str | None = None) -> str:
    style = get_style(style).name
    return f"amsgrad-theory reproduce {shlex.quote(name)} --out {shlex.quote(str(out))} " \
           f"--size {size} --style {style}"


def output_folder(name: str, out: str | os.PathLike) -> Path:
    """The folder a run of ``name`` replaces whole, checked before any work (InputError
    otherwise): ``out`` for ``all``, ``out/NAME`` for one study (``out`` itself may hold
    anything else: other studies' folders, the user's files)."""
    if name == "all":
        return check_output_folder(out, whole_run=True)
    get_study(name)
    root = check_output_folder(out)
    return check_output_folder(root / name, whole_run=True)


def run_study(name: str, out: str | os.PathLike, *, size: str = "small", quiet: bool = False,
              parameters: Any = None, command: str | None = None,
              style: str | FigureStyle | None = None, client: Any = None,
              jobs: int = 1) -> dict:
    """Run study ``name`` into ``out/NAME/`` (``all``: every study, each into ``out/NAME/``,
    and ``out/summary.json``).

    ``parameters``: a parameters object of the study (overrides ``size``), e.g.
    ``figure1.Figure1Parameters(online_steps=10**6)``. ``style``: how the figures are drawn,
    ``"paper"`` (default), ``"slides"`` or ``"report"`` (:data:`~amsgrad_theory.plots.STYLES`).
    Returns the summary (also written as ``summary.json``). ``client``: a Dask client (or
    an address, as :func:`~amsgrad_theory.engine.map_specs` takes it) on whose workers the
    grid studies (``phase``) run their grids as tasks; the others run in process. The outputs
    are those of an in-process run.

    ``out/NAME`` (``out`` under ``all``) is replaced whole, in one step, once the run is
    complete (:func:`~.base.staged`: the run is written beside it first, its sidecars sealed,
    every file fsynced); until then it keeps the previous run, and an interrupted run leaves it
    untouched. It must be new, empty or a folder reproduce wrote (InputError otherwise).

    ``jobs`` (``all`` only): how many studies run at once, each in a process of its own (at
    most one per study; 1, the default, runs them one after another in this process;
    ``reproduce all`` takes :func:`default_jobs`, one per CPU). The outputs are the same bytes
    either way; a study's numba and torch threads are the CPUs divided among the jobs. Side by
    side, the workers are started by *spawn*, which imports the caller's ``__main__`` in each:
    a script must then run this under ``if __name__ == "__main__":``.
    """
    if size not in SIZES:
        raise InputError("size", size, "must be one of " + ", ".join(SIZES))
    check_jobs(name, jobs, client is not None)
    chosen = get_style(style)
    command = command or equivalent_command(name, out, size, chosen.name)
    if name == "all" and parameters is not None:
        raise InputError("parameters", parameters, "give parameters for one study, not all")
    folder = output_folder(name, out)
    if name == "all":
        t0 = time.perf_counter()
        every = studies()
        jobs = min(jobs, len(every))
        with staged(folder) as staging:
            if jobs > 1:
                results = _run_parallel(every, jobs, staging, size, quiet, command, chosen)
            else:
                results = {study_name: _run_one(study, study.parameters_for(size),
                                                staging / study_name, size, quiet, command,
                                                chosen, client)
                           for study_name, study in every.items()}
            summary = {"study": "all", "size": size, "style": chosen.name, "command": command,
                       "wall_time_s": time.perf_counter() - t0, "studies": results,
                       "status": _overall(results.values())}
            write_json(staging / "summary.json", summary)
        return summary
    study = get_study(name)
    params = parameters if parameters is not None else study.parameters_for(size)
    with staged(folder) as staging:
        summary = _run_one(study, params, staging, size if parameters is None else "custom",
                           quiet, command, chosen, client)
    return summary


def check_jobs(name: str, jobs: int | None, clustered: bool = False) -> None:
    """InputError unless ``jobs`` (``run_study``'s, ``reproduce --jobs``) fits: None (not
    given), or an integer ≥ 1 that is 1 unless ``name`` is ``all`` run in process (not
    ``clustered``)."""
    if jobs is None:
        return
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError("jobs", jobs, "must be an integer >= 1")
    if jobs > 1 and name != "all":
        raise InputError("jobs", jobs, "runs the studies of all side by side; one study "
                                       "runs in one process")
    if jobs > 1 and clustered:
        raise InputError("jobs", jobs, "with a Dask cluster the studies run one after "
                                       "another here (the grid study's tasks go to the "
                                       "cluster): leave --jobs out")


def default_jobs(count: int) -> int:
    """Studies ``all`` runs at once by default (in process; with a Dask cluster it runs them
    one after another): one per CPU this process may use, at most ``count``."""
    return max(1, min(count, _cpus()))


def _cpus() -> int:
    """The CPUs this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _run_parallel(every: dict[str, Study], jobs: int, staging: Path, size: str, quiet: bool,
                  command: str, style: FigureStyle) -> dict:
    """Run ``every`` study in ``jobs`` worker processes (``concurrent.futures``, started by
    *spawn*: nothing of this process's threads is inherited), handed out the longest first
    (:data:`LONGEST_FIRST`) as workers come free; their summaries in the order of ``every``.

    Each worker runs a study exactly as :func:`_run_one` does here, into ``staging/NAME``,
    with its share of the CPUs for numba's and torch's threads and no progress bars of its own
    (its log lines still go to stderr, each prefixed with its study); this process shows one
    bar of studies done. The first error of a study is raised here as it was raised there (or,
    when it does not pickle, as a RuntimeError holding its traceback); a worker that dies (the
    out-of-memory killer, a crash) is a ``BrokenProcessPool``. Either way, and on Ctrl-C or
    SIGTERM, the other workers are terminated and :func:`~.base.staged` removes the partial
    run. The workers ignore SIGINT: Ctrl-C is this process's to handle.
    """
    rank = {name: k for k, name in enumerate(LONGEST_FIRST)}
    order = sorted(every, key=lambda name: rank.get(name, len(rank)))
    threads = max(1, _cpus() // jobs)
    done: dict[str, dict] = {}
    before = set(multiprocessing.active_children())
    terminated = _terminating_on_sigterm()
    executor = None
    try:
        executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_worker_init, initargs=(threads,))
        futures = {executor.submit(_run_in_worker, every[name], every[name].parameters_for(size),
                                   staging / name, size, quiet, command, style): name
                   for name in order}
        with tqdm(total=len(order), desc="reproduce all", unit="study", file=sys.stderr,
                  disable=True if quiet else None, leave=False) as bar:
            for future in as_completed(futures):
                done[futures[future]] = future.result()      # a study's error is raised here
                bar.update(1)
    except BaseException:
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        for process in set(multiprocessing.active_children()) - before:
            process.terminate()
            process.join()
        raise
    finally:
        terminated()
    executor.shutdown()
    return {name: done[name] for name in every}


def _terminating_on_sigterm():
    """While the workers run, SIGTERM (``kill``, ``timeout``, a batch system ending the job)
    raises SystemExit(143) here, so that the workers are stopped and the partial run removed,
    as on Ctrl-C; returns what restores the previous handler. (Only the main thread may set
    handlers; elsewhere nothing changes.)"""
    def stop(signum, frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:          # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def _worker_init(threads: int) -> None:
    """A worker of :func:`_run_parallel`: SIGINT is its parent's to handle; numba and torch
    use ``threads`` threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a multiprocessing RLock, a named semaphore that a worker
    # terminated mid-study could not release (multiprocessing's resource tracker then warns of
    # a leak at exit); the bars are off here, and a thread lock is all one process needs
    tqdm.set_lock(threading.RLock())
    numba = sys.modules.get("numba")
    if numba is None:                   # not imported yet (the CLI's case): set before it is
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
    else:                               # numba reads the variable once: use its own setter
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    torch = sys.modules.get("torch")
    if torch is None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
    else:
        torch.set_num_threads(threads)


def _run_in_worker(study: Study, params: Any, folder: Path, size: str, quiet: bool,
                   command: str, style: FigureStyle) -> dict:
    """One study of :func:`_run_parallel`, in a worker: its summary. An error that would not
    reach the parent whole (it does not pickle) is replaced by a RuntimeError with its
    traceback."""
    try:
        return _run_one(study, params, folder, size, quiet, command, style, bars=False)
    except BaseException as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            text = "".join(traceback.format_exception(exc))
            raise RuntimeError(f"study {study.name} failed in its worker process:\n{text}") \
                from None
        raise


def _run_one(study: Study, params: Any, folder: Path, size: str, quiet: bool,
             command: str, style: FigureStyle, client: Any = None, bars: bool = True) -> dict:
    """Run ``study`` into ``folder`` (a staging folder): figures, sealed sidecars, summary.
    ``bars``: show its progress bars (unless ``quiet``); its log lines follow ``quiet``."""
    folder.mkdir(parents=True, exist_ok=True)
    ctx = Context(out=folder, study=study.name, size=size, quiet=quiet, command=command,
                  style=style, client=client, bars=bars)
    t0 = time.perf_counter()
    with style_context(style):
        summary = study.run(params, ctx)
    wall = time.perf_counter() - t0
    ctx.seal()
    summary = {"study": study.name, "title": study.title, "size": ctx.size,
               "style": style.name, "command": ctx.command, "parameters": _params_dict(params),
               "wall_time_s": wall, "figures": ctx.figures, **summary}
    summary.setdefault("status", _status(f["verdict"] for f in ctx.figures))
    write_json(folder / "summary.json", summary)
    summary["files"] = sorted({Path(p).name for p in ctx.files} | {"summary.json"})
    return summary


def _params_dict(params: Any) -> dict:
    if dataclasses.is_dataclass(params):
        return {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    return dict(params)


#: a study's status from its figures' verdicts, and the exit status of ``reproduce``: a figure
#: that fails is "not reproduced" (1); one whose checks are only undecided (a tie no
#: arithmetic decided) leaves the study "undecided" (3), as ``verify`` reports it
STATUS_EXIT = {"reproduced": 0, "not reproduced": 1, "undecided": 3}


def _status(verdicts) -> str:
    verdicts = set(verdicts)
    if verdicts <= {"pass"}:
        return "reproduced"
    return "undecided" if verdicts <= {"pass", "undecided"} else "not reproduced"


def _overall(summaries) -> str:
    statuses = {s.get("status") for s in summaries}
    for status in ("not reproduced", "undecided"):
        if status in statuses:
            return status
    return "reproduced"


__all__ = ["STATUS_EXIT", "STUDIES", "Study", "Context", "SIZES", "studies", "study_names",
           "get_study", "run_study", "check_output_folder", "output_folder", "default_jobs",
           "check_jobs"]
