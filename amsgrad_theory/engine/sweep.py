"""Sweeps: a grid (or list) of configurations run batched, to CSV plus a JSON summary.

A configuration is a :class:`GridPoint` — (variant, problem spec, the grid's values of the
problem parameters and hyperparameters, seed) — which becomes a
:class:`~amsgrad_theory.engine.run.RunSpec` once steps, arithmetic and start point are fixed.
Configurations that can share a batch (:func:`~amsgrad_theory.engine.run.batch_key`) run as
one :func:`~amsgrad_theory.engine.simulate.simulate` call with one instance each, in chunks of
at most ``chunk_size`` instances.

**A tidy table.** The CSV opens with ``pandas.read_csv`` and pivots as it is: besides
:data:`COLUMNS` (``parameters``, the grid values as a JSON object of their texts, and
``final_x``, the last iterate as a JSON array, stay for the tools that read them) it has one
column per grid axis, named as the axis and holding its value as given (``beta1`` → ``0.9``;
a ``seed`` axis fills ``seed``), and one column per coordinate of the last iterate,
``final_x_0`` … ``final_x_{d-1}`` (d the largest dimension in the sweep; empty where a
problem has fewer): :func:`header`. So ``df.pivot_table(index="beta1", columns="beta2",
values="regret")`` needs no ``json_normalize``.

What survives a fault (a kill at any moment, a full disk, a deleted file, a second writer):

* **The CSV is its own journal.** Every row carries ``key``, a digest of the run it describes
  (:func:`run_key`: variant, problem spec with its grid values and seed, steps, arithmetic,
  hyperparameters, start point — everything that changes a row), and, last, ``digest``, a
  SHA-256 prefix of all its other fields. A chunk's rows are appended, flushed and fsync'd
  before the next chunk starts. A torn write (a kill or ``ENOSPC`` in the middle of a row)
  leaves a last row whose digest does not check.
* **A configuration is done iff its intact row is in the CSV.** ``resume=True`` reads the
  CSV, keeps the rows whose digest checks and whose key is a configuration of this sweep (one
  per configuration), discards the rest, and rewrites the CSV with the kept rows (temporary
  file, fsync, :func:`os.replace`) before appending. So the chunk size may change between
  runs, a torn row is recomputed, and a deleted CSV is recomputed, never skipped.
* **The settings are checked.** ``<csv>.progress.json`` (written atomically) records the
  sweep's row-defining settings (:func:`settings`) and the fingerprint of its ordered
  configuration keys; a resume whose settings differ is refused with an
  :class:`~amsgrad_theory.errors.InputError` naming what differs, and so are rows of another
  sweep (their keys are not this sweep's) when that file is gone.
* **One writer.** The sweep holds an exclusive, non-blocking :func:`fcntl.flock` on
  ``<csv>.lock`` from before it touches any file until it returns; a second sweep on the same
  CSV is refused at once. The kernel drops the lock when its holder dies, so a killed sweep
  never leaves a stale lock (the empty lock file stays, on purpose: removing it would race).
* **Same bytes.** When the last chunk is done the CSV holds one row per configuration, in
  configuration order (``config`` ascending; rewritten atomically where the chunks ran in
  another order), so with the same chunk size an interrupted and resumed sweep leaves the same
  bytes as an uninterrupted one. ``chunk`` records which chunk of its run computed a row.
* **A failing instance is a row.** An instance that meets a non-finite value
  (:class:`~amsgrad_theory.errors.NumericalError`) gets a row with the error text in
  ``error`` and empty numbers; its siblings in the chunk are run again without it. So does a
  configuration whose run raises another of the toolkit's errors (an
  :class:`~amsgrad_theory.errors.InputError` only its run finds, such as an ``x0`` outside
  its own feasible set): the batch is halved until the configurations that fail alone are
  found.

Beyond one machine (``client=``, :mod:`~amsgrad_theory.engine.cluster`): the configurations
still to run are cut into tasks (:func:`~amsgrad_theory.engine.cluster.plan_tasks`) that Dask
distributed runs on its workers (:func:`run_task`, the function the in-process path runs too);
each task's rows come back as it finishes and are committed as above, by this process alone.
A row does not depend on the other instances of its batch, and ``chunk`` is the chunk of this
sweep's plan (``chunk_size``) whichever task computed it, so the final CSV is byte-identical to
an in-process run's. A worker that dies takes only its running tasks with it (Dask runs them
again elsewhere); a client that dies leaves the committed rows, and ``resume=True`` — on any
cluster, or none — runs the rest.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import itertools
import json
import math
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from ..algorithms import HYPERPARAMETERS, get_variant
from ..errors import AmsgradTheoryError, InputError, NumericalError
from ..problems import get_problem, parse_sequence, split_spec
from ..records import versions
from . import cluster
from .run import RunSpec, batch_key, batches, run_batch

#: the columns every sweep CSV has, in order; :func:`header` adds the tidy columns of a sweep
COLUMNS = ("config", "chunk", "algorithm", "problem", "arithmetic", "steps", "seed",
           "parameters", "regret", "average_regret", "loss", "comparator_loss", "final_x",
           "effective_step_increases", "max_effective_step_increase",
           "corrected_step_increases", "max_corrected_step_increase", "vhat_decreases",
           "error", "key", "digest")
#: the version of the CSV and progress-file layout (a resume refuses files of another):
#: 2 had :data:`COLUMNS` alone; 3 adds the tidy columns of :func:`header`
FORMAT = 3
#: the most configurations one sweep may hold (checked before any list is built)
MAX_CONFIGURATIONS = 1_000_000
#: the settings that change a row, each with the flag that sets it
SETTINGS = {"algorithm": "--algorithm", "problem": "--problem", "grid": "--grid",
            "seeds": "--seeds", "steps": "--steps", "arithmetic": "--arithmetic", "x0": "--x0"}
_RANGE = re.compile(r"(-?\d+):(-?\d+)")
_INTEGER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class GridPoint:
    """One configuration of a sweep: its coordinates on the grid."""

    algorithm: str
    problem: str                  # base spec (name:fixed=params)
    parameters: tuple             # ((key, value), …) problem parameters and hyperparameters
    seed: int | None = None

    def hyperparameters(self) -> dict:
        return {k: v for k, v in self.parameters if k in HYPERPARAMETERS}

    def problem_parameters(self) -> dict:
        out = {k: v for k, v in self.parameters if k not in HYPERPARAMETERS}
        if self.seed is not None:
            out["seed"] = str(self.seed)
        return out

    def problem_spec(self) -> str:
        name, base = split_spec(self.problem)
        merged = dict(base)
        merged.update(self.problem_parameters())
        if not merged:
            return name
        return name + ":" + ",".join(f"{k}={v}" for k, v in merged.items())

    def spec(self, steps: int, arithmetic: str = "float64", x0=None) -> RunSpec:
        """The run of this point."""
        return RunSpec(self.algorithm, self.problem_spec(), steps, arithmetic,
                       self.hyperparameters(), None if x0 is None else str(x0))


def parse_values(text: str, argument: str = "grid") -> list[str]:
    """``[0.1,0.3]`` (JSON list; numbers keep their decimal text, arrays stay JSON),
    ``a,b,c``, or ``start:stop`` (integers, stop excluded).

    Raises :class:`InputError` naming ``argument`` for malformed JSON, an empty list or
    range, a value given twice, or more than :data:`MAX_CONFIGURATIONS` values.
    """
    text = text.strip()
    if text.startswith("["):
        try:
            values = [_value_text(argument, text, v) for v in parse_sequence(text)]
        except InputError as exc:
            raise InputError(argument, text, exc.message) from None
        except RecursionError:
            raise InputError(argument, text, "nested too deeply") from None
    elif _RANGE.fullmatch(text.replace(" ", "")):
        lo, hi = (int(v) for v in text.replace(" ", "").split(":"))
        if hi - lo > MAX_CONFIGURATIONS:
            raise InputError(argument, text, f"{hi - lo} values; a sweep holds at most "
                             f"{MAX_CONFIGURATIONS} configurations")
        values = [str(v) for v in range(lo, hi)]
    else:
        values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise InputError(argument, text, "no values" + (" (start:stop needs start < stop)"
                                                        if ":" in text else ""))
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise InputError(argument, text, f"value {v!r} given twice")
        seen.add(v)
    return values


def _value_text(argument: str, text: str, value, nested: bool = False) -> str:
    """One value of a JSON list as the text a spec takes: numbers (decimal text, never a
    binary float) and strings as given, arrays as JSON."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value) if nested else value
    if isinstance(value, list):
        return "[" + ",".join(_value_text(argument, text, v, True) for v in value) + "]"
    raise InputError(argument, text, f"{json.dumps(value)} is not a number, a string or an "
                     "array")


def parse_seeds(text: str) -> list[int]:
    """``--seeds``: ``start:stop``, ``[s1,s2,…]`` or ``s1,s2``; integers, each once."""
    values = parse_values(text, "seeds")
    for v in values:
        if not _INTEGER.fullmatch(v):
            raise InputError("seeds", text, f"{v!r} is not an integer (expected start:stop, "
                             "[s1,s2,…] or s1,s2)")
    return [int(v) for v in values]


def grid(algorithms: list[str], problem: str, axes: dict[str, list[str]],
         seeds: list[int] | None = None) -> list[GridPoint]:
    """The product of ``axes`` (name → values) for each algorithm and seed.

    Every configuration must differ from every other (a repeated algorithm, or ``seed`` both
    an axis and ``seeds``, is refused), and there are at most :data:`MAX_CONFIGURATIONS`.
    """
    for k, algorithm in enumerate(algorithms):
        get_variant(algorithm)   # validates the name
        if algorithm in algorithms[:k]:
            raise InputError("algorithm", algorithm, "given twice")
    if seeds is not None:
        if not seeds:
            raise InputError("seeds", "[]", "no seeds")
        if "seed" in axes:
            raise InputError("grid", "seed=…", "the seeds are given twice (--grid seed=… "
                             "and --seeds); give them once")
    size = len(algorithms) * math.prod(len(v) for v in axes.values()) * len(seeds or [None])
    if size > MAX_CONFIGURATIONS:
        raise InputError("grid", " × ".join(str(len(v)) for v in axes.values()) or "[]",
                         f"{size} configurations; a sweep holds at most {MAX_CONFIGURATIONS}")
    names = list(axes)
    out = []
    for algorithm in algorithms:
        for values in itertools.product(*(axes[n] for n in names)):
            params = tuple(zip(names, values))
            for seed in (seeds if seeds else [None]):
                out.append(GridPoint(algorithm, problem, params, seed))
    return out


def header(configs: list[GridPoint], dimension: int) -> tuple[str, ...]:
    """The CSV's columns for ``configs``: :data:`COLUMNS` with, after ``parameters``, one
    column per grid axis (in order of first appearance; a ``seed`` axis is the ``seed``
    column) and, after ``final_x``, ``final_x_0`` … ``final_x_{dimension-1}``."""
    axes = dict.fromkeys(name for c in configs for name, _ in c.parameters if name != "seed")
    at, vector = COLUMNS.index("parameters") + 1, COLUMNS.index("final_x") + 1
    return (COLUMNS[:at] + tuple(axes) + COLUMNS[at:vector]
            + tuple(f"final_x_{k}" for k in range(dimension)) + COLUMNS[vector:])


def run_key(spec: RunSpec) -> str:
    """A digest of everything that changes a row of ``spec`` (its whole :class:`RunSpec`)."""
    text = json.dumps({"format": FORMAT, **spec.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(keys: list[str]) -> str:
    """The sweep's identity: a digest of its configurations' :func:`run_key` values, in order."""
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:16]


def settings(configs: list[GridPoint], steps: int, arithmetic: str, x0=None) -> dict:
    """The row-defining settings of a sweep, as its flags give them (:data:`SETTINGS`)."""
    axes: dict[str, list[str]] = {}
    for c in configs:
        for name, value in c.parameters:
            values = axes.setdefault(name, [])
            if value not in values:
                values.append(value)
    return {"algorithm": list(dict.fromkeys(c.algorithm for c in configs)),
            "problem": list(dict.fromkeys(c.problem for c in configs)),
            "grid": axes,
            "seeds": list(dict.fromkeys(c.seed for c in configs if c.seed is not None)),
            "steps": steps, "arithmetic": arithmetic,
            "x0": None if x0 is None else str(x0)}


@dataclass
class SweepResult:
    """The rows (one dict of CSV texts per configuration, in order) and the summary."""

    csv_path: Path | None
    rows: list[dict]
    summary: dict = field(default_factory=dict)


def run_sweep(configs: list[GridPoint], *, steps: int, arithmetic: str = "float64",
              x0=None, csv_path: str | Path | None = None, resume: bool = False,
              chunk_size: int = 4096, progress=None, client=None, task_size: int | None = None,
              on_task=None) -> SweepResult:
    """Run every configuration; write its row to ``csv_path`` (see the module doc for what a
    fault can and cannot do to it). ``resume``: keep the intact rows of an interrupted run of
    the same sweep and run only the configurations without one. ``progress(done, total)``
    counts instance-steps and is called after each task's rows are committed.

    ``client``: run the tasks on Dask distributed — a ``distributed.Client``, a scheduler
    address (``tcp://host:8786``) or a :class:`~amsgrad_theory.engine.cluster.Connection`
    (entered after the sweep's input is checked and its CSV locked; a local cluster,
    ``Connection(workers=N)``, is started while the sweep is planned, and stopped if planning
    refuses the grid); None runs them here,
    without importing Dask. ``task_size``: instances per task on a cluster (default: sized so
    Dask's per-task overhead stays under 1 %, :mod:`~amsgrad_theory.engine.cluster`); in
    process a task is a chunk. ``on_task(done, total, configurations)`` is called before the
    first task (0, the tasks to run, the configurations already done) and after each task's
    rows are committed.
    """
    if not configs:
        raise InputError("grid", "[]", "the sweep has no configurations")
    if chunk_size < 1:
        raise InputError("chunk_size", chunk_size, "must be >= 1")
    target = cluster.connection(client)
    if task_size is not None and target is None:
        raise InputError("task_size", task_size, "only a sweep on a cluster (client=…, "
                         "--scheduler, --scheduler-file or --workers) is cut into tasks")
    if task_size is not None and task_size < 1:
        raise InputError("task_size", task_size, "must be >= 1")
    # a fresh sweep's local cluster starts (its workers importing the package) while the
    # sweep is planned, and is stopped again if planning refuses the grid; one resumed may
    # have nothing left to run, and starts none. A running scheduler answers within moments:
    # it is connected to once the input is checked and the CSV locked.
    early = target if target is not None and target.workers is not None and not resume \
        else None
    if early is not None:
        early.start()
    try:
        return _run(configs, steps=steps, arithmetic=arithmetic, x0=x0, csv_path=csv_path,
                    resume=resume, chunk_size=chunk_size, progress=progress, target=target,
                    task_size=task_size, on_task=on_task)
    finally:
        if early is not None:
            early.close()       # entered and closed already, unless planning failed


def _run(configs: list[GridPoint], *, steps: int, arithmetic: str, x0, csv_path, resume: bool,
         chunk_size: int, progress, target, task_size: int | None, on_task) -> SweepResult:
    """:func:`run_sweep` once its arguments are checked and its cluster (``target``) is
    starting."""
    # validate everything before any work
    specs = [c.spec(steps, arithmetic, x0) for c in configs]
    batch_keys, dims = [], []      # what planning needs of each problem, parsed once
    for spec in specs:
        problem = spec.validate()
        batch_keys.append(batch_key(spec, problem))
        dims.append(problem.d)
    keys = [run_key(spec) for spec in specs]
    index = {key: i for i, key in enumerate(keys)}
    if len(index) < len(keys):
        i = next(i for i, key in enumerate(keys) if index[key] != i)
        raise InputError("grid", f"configuration {i}", f"is the same run as configuration "
                         f"{index[keys[i]]}: {specs[i].cli()}")
    plan = list(batches(specs, chunk_size, batch_keys))
    columns = header(configs, max(dims))
    journal = None
    if csv_path is not None:
        journal = _Journal(_out_path(csv_path), keys, plan, columns,
                           {"settings": settings(configs, steps, arithmetic, x0),
                            "fingerprint": fingerprint(keys), "configurations": len(configs),
                            "steps": steps, "arithmetic": arithmetic})
    with journal.open(resume) if journal is not None else contextlib.nullcontext():
        rows = dict(journal.rows) if journal is not None else {}
        resumed = len(rows)
        total_work = steps * len(configs)
        started = time.perf_counter()
        sim_time = 0.0
        todo = [(chunk, [i for i in indices if i not in rows])
                for chunk, indices in enumerate(plan)]
        todo = [(chunk, indices) for chunk, indices in todo if indices]
        with contextlib.ExitStack() as stack:
            # nothing left to run (a finished sweep resumed): no cluster to start
            dask_client = stack.enter_context(target) if target is not None and todo else None
            connected = time.perf_counter() - started if dask_client is not None else 0.0
            # each task's rows (configuration index -> CSV texts) and its compute seconds
            finished: Iterator[tuple[dict[int, list[str]], float]]
            if dask_client is None:
                tasks = [[part] for part in todo]
                finished = (run_task(_points(task, configs), steps=steps,
                                     arithmetic=arithmetic, x0=x0, columns=columns)
                            for task in tasks)
            else:
                lanes = [steps * dims[indices[0]] for _, indices in todo]
                tasks = cluster.plan_tasks(todo, lanes, task_size,
                                           slots=cluster.worker_threads(dask_client))
                finished = cluster.results(
                    dask_client, run_task, [_points(task, configs) for task in tasks],
                    [_task_key(task, keys) for task in tasks],
                    steps=steps, arithmetic=arithmetic, x0=x0, columns=columns)
            if on_task is not None:
                on_task(0, len(tasks), len(rows))
            for done, (fresh, seconds) in enumerate(finished, 1):
                sim_time += seconds
                fresh = {i: texts for i, texts in fresh.items() if i not in rows}
                if journal is not None:
                    journal.append(fresh)
                rows.update(fresh)
                if progress is not None:
                    progress(steps * len(rows), total_work)
                if on_task is not None:
                    on_task(done, len(tasks), len(rows))
        if journal is not None:
            journal.finish()
        wall = time.perf_counter() - started
    ordered = [dict(zip(columns, rows[i])) for i in range(len(configs))]
    summary = summarize(ordered, steps=steps, arithmetic=arithmetic, wall=wall,
                        sim_time=sim_time, configurations=len(configs))
    summary["resumed_rows"] = resumed
    summary["discarded_rows"] = journal.discarded if journal is not None else 0
    summary["tasks"] = len(tasks)
    summary["cluster"] = target.describe() if target is not None else None
    # of wall_time_s: the wait for the connection, what of the cluster's start (begun before
    # planning) planning did not cover (0 in process)
    summary["cluster_start_s"] = connected
    return SweepResult(csv_path=journal.path if journal is not None else None, rows=ordered,
                       summary=summary)


def run_task(parts: list[tuple[int, list[tuple[int, GridPoint]]]], *, steps: int,
             arithmetic: str, x0=None, columns: tuple[str, ...] | None = None,
             ) -> tuple[dict[int, list[str]], float]:
    """One task of a sweep — in this process or on a Dask worker — and its compute seconds.

    ``parts``: ``(chunk, [(configuration index, GridPoint), …])``, each run as one batch. The
    rows depend on the configurations alone (a problem's seed is part of its configuration),
    never on the worker, the task or the order: ``{configuration index: CSV texts}`` in the
    order of ``columns``, the sweep's :func:`header` (None: the header of these parts alone).
    """
    started = time.perf_counter()
    if columns is None:
        points = [c for _, part in parts for _, c in part]
        columns = header(points, max(get_problem(c.spec(steps, arithmetic, x0).problem).d
                                     for c in points))
    rows: dict[int, list[str]] = {}
    for chunk, part in parts:
        configs = dict(part)
        specs = {i: c.spec(steps, arithmetic, x0) for i, c in configs.items()}
        keys = {i: run_key(spec) for i, spec in specs.items()}
        rows.update(_run_chunk(configs, specs, keys, list(configs), chunk, columns))
    return rows, time.perf_counter() - started


def _points(task: list[tuple[int, list[int]]], configs: list[GridPoint]) -> list:
    """A task's parts with their configurations (what :func:`run_task` takes)."""
    return [(chunk, [(i, configs[i]) for i in indices]) for chunk, indices in task]


def _task_key(task: list[tuple[int, list[int]]], keys: list[str]) -> str:
    """Dask's name of a task: a digest of its parts (the same task, the same name)."""
    text = ";".join(f"{chunk}:" + ",".join(keys[i] for i in indices)
                    for chunk, indices in task)
    return "amsgrad-sweep-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _run_chunk(configs, specs, keys, todo: list[int], chunk: int,
               columns: tuple[str, ...]) -> dict[int, list[str]]:
    """Rows (CSV texts) of configurations ``todo`` (indices into ``configs``, ``specs`` and
    ``keys``), run as one batch. An instance that fails numerically is taken out, given its
    error text, and the rest are run again; another toolkit error of the batch names no
    instance, so the batch is halved until each configuration that fails alone has its row."""
    pending = list(todo)
    rows: dict[int, list[str]] = {}
    while pending:
        try:
            table = run_batch([specs[i] for i in pending]).table()
        except NumericalError as exc:
            if not 0 <= exc.instance < len(pending):
                raise
            # the text of the instance's own run (no batch position: it depends on the chunk)
            error = str(NumericalError(exc.what, exc.step, exc.coordinate, kind=exc.kind,
                                       since=exc.since))
            i = pending.pop(exc.instance)
            rows[i] = _row(i, chunk, configs[i], specs[i], keys[i], None, 0, error, columns)
            continue
        except AmsgradTheoryError as exc:
            if len(pending) > 1:
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    rows.update(_run_chunk(configs, specs, keys, part, chunk, columns))
            else:
                i = pending[0]
                rows[i] = _row(i, chunk, configs[i], specs[i], keys[i], None, 0, str(exc),
                               columns)
            break
        for j, i in enumerate(pending):
            rows[i] = _row(i, chunk, configs[i], specs[i], keys[i], table, j, "", columns)
        break
    return rows


def _row(i: int, chunk: int, config: GridPoint, spec: RunSpec, key: str, table, j: int,
         error: str, columns: tuple[str, ...]) -> list[str]:
    """Row ``i`` as the CSV's texts, in the order of ``columns`` (:func:`header`), its digest
    last."""
    parameters = dict(config.parameters)
    fields = {**parameters, "config": str(i), "chunk": str(chunk),
              "algorithm": config.algorithm, "problem": spec.problem,
              "arithmetic": spec.arithmetic, "steps": str(spec.steps),
              "seed": parameters.get("seed", "") if config.seed is None else str(config.seed),
              "parameters": json.dumps(parameters), "error": error, "key": key}
    if table is not None:
        for name in ("regret", "average_regret", "loss", "comparator_loss",
                     "max_effective_step_increase", "max_corrected_step_increase"):
            fields[name] = _num(table[name][j])
        for name in ("effective_step_increases", "corrected_step_increases",
                     "vhat_decreases"):
            fields[name] = str(int(table[name][j]))
        final_x = [float(v) for v in table["final_x"][j]]
        fields["final_x"] = json.dumps(final_x)
        fields.update((f"final_x_{k}", _num(v)) for k, v in enumerate(final_x))
    texts = [fields.get(name, "") for name in columns[:-1]]
    return texts + [_digest(texts)]


def _num(value) -> str:
    value = float("nan" if value is None else value)
    return repr(value) if np.isfinite(value) else ""


def _digest(texts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:16]


def _out_path(path: str | Path) -> Path:
    """``csv_path`` checked: a file name in an existing directory."""
    if not str(path).strip():
        raise InputError("out", str(path), "empty path")
    path = Path(path)
    if path.is_dir():
        raise InputError("out", str(path), "is a directory; give a file name such as "
                         f"{path / 'sweep.csv'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError("out", str(path), f"{parent} is a file, not a directory")
            break
    if not path.parent.is_dir():
        raise InputError("out", str(path), f"directory {path.parent} does not exist")
    return path


class _Journal:
    """The CSV of a sweep, its progress file and its lock (the guarantees: module doc)."""

    def __init__(self, path: Path, keys: list[str], plan: list[list[int]],
                 columns: tuple[str, ...], manifest: dict):
        self.path = path
        self.keys = keys
        self.plan = plan
        self.columns = columns
        self.manifest = {"format": FORMAT, **manifest, "chunks": []}
        self.progress = path.with_name(path.name + ".progress.json")
        self.rows: dict[int, list[str]] = {}      # config index → texts, as in the file
        self.order: list[int] = []                # config indices in file order
        self.discarded = 0

    @contextlib.contextmanager
    def open(self, resume: bool) -> Iterator[None]:
        """Hold the lock while the sweep runs; first read (``resume``) and rewrite the CSV."""
        with self._lock():
            with self._writing():
                if resume:
                    self._check_settings()
                    self._read()
                else:
                    self.progress.unlink(missing_ok=True)
                self._rewrite(sorted(self.rows))
                self.manifest["chunks"] = [c for c, indices in enumerate(self.plan)
                                           if all(i in self.rows for i in indices)]
                _atomic_write(self.progress, json.dumps(self.manifest, indent=2))
            yield

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A file operation of the journal: its OSError (a full disk…) becomes InputError."""
        try:
            yield
        except OSError as exc:
            raise InputError("out", str(self.path), f"{exc.strerror or exc} "
                             f"({exc.filename or self.path}); the rows committed so far are "
                             "kept: remove the cause and rerun with --resume") from None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock = self.path.with_name(self.path.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise InputError("out", str(self.path), f"cannot create its lock file {lock}: "
                             f"{exc.strerror or exc}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError("out", str(self.path), f"another sweep is writing it (it "
                                 f"holds {lock}); wait for it to finish, or choose another "
                                 "--out") from None
            yield
        finally:
            os.close(fd)

    def _refuse(self, why: str) -> InputError:
        return InputError("resume", str(self.path), why + "; rerun without --resume to start "
                          "over, or choose another --out")

    def _older(self, what: str) -> InputError:
        """The refusal of a file another version of sweep wrote (its rows are never mixed)."""
        return self._refuse(f"{what}, written by another version of sweep (format 2: grid "
                            f"values only in `parameters`); this version writes format "
                            f"{FORMAT} (a column per grid axis and per coordinate of final_x)")

    def _check_settings(self) -> None:
        if not self.progress.exists():
            return              # the rows' own keys decide (_read)
        try:
            old = json.loads(self.progress.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._refuse(f"its progress file {self.progress.name} is not JSON "
                               f"({exc})") from None
        if isinstance(old, dict) and isinstance(old.get("format"), int) \
                and old["format"] != FORMAT:
            raise self._older(f"its progress file {self.progress.name} is of format "
                              f"{old['format']}")
        if not (isinstance(old, dict) and old.get("format") == FORMAT
                and isinstance(old.get("settings"), dict)
                and isinstance(old.get("fingerprint"), str)):
            raise self._refuse(f"its progress file {self.progress.name} was not written by "
                               "this version of sweep")
        new = self.manifest["settings"]
        differ = [f"{flag} {_brief(old['settings'].get(name))} (now {_brief(new[name])})"
                  for name, flag in SETTINGS.items() if old["settings"].get(name) != new[name]]
        if differ:
            raise self._refuse("it holds a sweep with other settings: " + ", ".join(differ))
        if old["fingerprint"] != self.manifest["fingerprint"]:
            raise self._refuse("it holds the same settings in another order of configurations "
                               "(the order of --algorithm and --grid flags)")

    def _read(self) -> None:
        """Keep the CSV's intact rows of this sweep; count the torn or repeated ones."""
        if not self.path.exists():
            return
        index = {key: i for i, key in enumerate(self.keys)}
        at = self.columns.index("key")
        foreign = 0
        with self.path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            try:
                header = next(reader, None)
                if header == list(COLUMNS):
                    raise self._older("its header is of format 2")
                if header is not None and header != list(self.columns):
                    raise self._refuse("its header is not this sweep's CSV header (expected "
                                       f"{_brief(list(self.columns))})")
                for texts in reader:
                    if len(texts) != len(self.columns) or texts[-1] != _digest(texts[:-1]):
                        self.discarded += 1
                        continue
                    i = index.get(texts[at])
                    if i is None or texts[0] != str(i):
                        foreign += 1
                    elif i in self.rows:
                        self.discarded += 1
                    else:
                        self.rows[i] = texts
            except csv.Error:     # e.g. a NUL byte: what follows is not trusted
                self.discarded += 1
        if foreign:
            raise self._refuse(f"{foreign} of its rows belong to another sweep (their "
                               "configurations are not this one's)")

    def _rewrite(self, order: list[int]) -> None:
        """The CSV with the rows ``order`` (header first), replaced atomically."""
        _atomic_write(self.path, _csv_text([list(self.columns)]
                                           + [self.rows[i] for i in order]))
        self.order = list(order)

    def append(self, rows: dict[int, list[str]]) -> None:
        """Commit a chunk's rows: appended, flushed and fsync'd."""
        with self._writing():
            _append(self.path, _csv_text(list(rows.values())))
        self.rows.update(rows)
        self.order.extend(rows)

    def finish(self) -> None:
        """Every row in configuration order; the progress file lists every chunk done."""
        with self._writing():
            if self.order != sorted(self.order):
                self._rewrite(sorted(self.order))
            self.manifest["chunks"] = list(range(len(self.plan)))
            _atomic_write(self.progress, json.dumps(self.manifest, indent=2))


def _brief(value, width: int = 60) -> str:
    """``value`` for a message: a long list by its ends and length, anything else cut short."""
    if isinstance(value, list) and len(value) > 6:
        return f"[{value[0]!r}, {value[1]!r}, …, {value[-1]!r}] ({len(value)} values)"
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _write(path: Path, text: str, mode: str) -> None:
    """Write ``text`` (``mode`` ``a``: at the end; ``w``: as all of ``path``) and fsync it."""
    with path.open(mode, newline="", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _append(path: Path, text: str) -> None:
    _write(path, text, "a")


def _atomic_write(path: Path, text: str) -> None:
    """``path`` holds ``text`` or its old content, never a mix (fsync, then os.replace)."""
    tmp = path.with_name(path.name + ".tmp")
    _write(tmp, text, "w")
    os.replace(tmp, path)


def summarize(rows: list[dict], *, steps: int, arithmetic: str, wall: float, sim_time: float,
              configurations: int) -> dict:
    """Per-algorithm aggregates of a sweep's rows (rows with an ``error`` count as errors)."""
    by_algo: dict[str, list[dict]] = {}
    for r in rows:
        by_algo.setdefault(r["algorithm"], []).append(r)
    per = {}
    for algo, rs in by_algo.items():
        ok = [r for r in rs if not r.get("error")]
        avg = np.array([float(r["average_regret"]) for r in ok if r["average_regret"] != ""])
        inc = np.array([int(r["effective_step_increases"]) for r in ok])
        hat = np.array([int(r["corrected_step_increases"]) for r in ok])
        per[algo] = {
            "configurations": len(rs),
            "errors": len(rs) - len(ok),
            "average_regret": {"min": float(avg.min()) if avg.size else None,
                               "median": float(np.median(avg)) if avg.size else None,
                               "max": float(avg.max()) if avg.size else None},
            "fraction_with_effective_step_increase": float(np.mean(inc > 0)) if inc.size else 0,
            "fraction_with_corrected_step_increase": float(np.mean(hat > 0)) if hat.size else 0,
        }
    return {"configurations": configurations, "rows": len(rows), "steps": steps,
            "arithmetic": arithmetic, "errors": sum(p["errors"] for p in per.values()),
            "wall_time_s": wall, "simulation_time_s": sim_time,
            "instance_steps_per_s": (len(rows) * steps / sim_time) if sim_time > 0 else None,
            "algorithms": per, "versions": versions()}
