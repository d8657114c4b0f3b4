"""Sweeps: a grid (or list) of configurations run batched, to CSV plus a JSON summary.

A configuration is a :class:`GridPoint` — (variant, problem spec, the grid's values of the
problem parameters and hyperparameters, seed) — which becomes a
:class:`~amsgrad_theory.engine.run.RunSpec` once steps, arithmetic and start point are fixed.
GridPointurations that can share a batch (:func:`~amsgrad_theory.engine.run.batch_key`) run as one
:func:`~amsgrad_theory.engine.simulate.simulate` call with one instance each, in chunks of at
most ``chunk_size`` instances.

Resumable: each finished chunk appends its rows to the CSV and is recorded in
``<csv>.progress.json`` (written atomically); a re-run with ``resume=True`` skips recorded
chunks, so an interrupted sweep loses at most the chunk that was running. A changed grid is
detected (a fingerprint of the configuration list) and refused instead of mixing results.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..algorithms import HYPERPARAMETERS, get_variant
from ..errors import InputError
from ..problems import parse_sequence, split_spec
from ..records import versions
from .run import RunSpec, batches, run_batch

COLUMNS = ("config", "chunk", "algorithm", "problem", "arithmetic", "steps", "seed",
           "parameters", "regret", "average_regret", "loss", "comparator_loss", "final_x",
           "effective_step_increases", "max_effective_step_increase",
           "corrected_step_increases", "max_corrected_step_increase", "vhat_decreases")


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


def parse_values(text: str) -> list[str]:
    """``[0.1,0.3]`` (JSON list), ``a,b,c``, or ``start:stop`` (integers, stop excluded)."""
    text = text.strip()
    if text.startswith("["):
        return [str(v) for v in parse_sequence(text)]
    if ":" in text and text.replace(":", "").replace("-", "").isdigit():
        lo, hi = (int(v) for v in text.split(":"))
        return [str(v) for v in range(lo, hi)]
    return [v.strip() for v in text.split(",") if v.strip()]


def grid(algorithms: list[str], problem: str, axes: dict[str, list[str]],
         seeds: list[int] | None = None) -> list[GridPoint]:
    """The product of ``axes`` (name → values) for each algorithm and seed."""
    names = list(axes)
    out = []
    for algorithm in algorithms:
        get_variant(algorithm)   # validates the name
        for values in itertools.product(*(axes[n] for n in names)):
            params = tuple(zip(names, values))
            for seed in (seeds if seeds else [None]):
                out.append(GridPoint(algorithm, problem, params, seed))
    return out


def fingerprint(configs: list[GridPoint], steps: int, arithmetic: str) -> str:
    h = hashlib.sha256(f"{steps}|{arithmetic}".encode())
    for c in configs:
        h.update(repr((c.algorithm, c.problem, c.parameters, c.seed)).encode())
    return h.hexdigest()[:16]


@dataclass
class SweepResult:
    csv_path: Path | None
    rows: list[dict]
    summary: dict = field(default_factory=dict)


def run_sweep(configs: list[GridPoint], *, steps: int, arithmetic: str = "float64",
              x0=None, csv_path: str | Path | None = None, resume: bool = False,
              chunk_size: int = 4096, progress=None) -> SweepResult:
    """Run every configuration; write rows to ``csv_path`` chunk by chunk (see module doc)."""
    if not configs:
        raise InputError("grid", "[]", "the sweep has no configurations")
    if chunk_size < 1:
        raise InputError("chunk_size", chunk_size, "must be >= 1")
    # validate everything before any work
    specs = [c.spec(steps, arithmetic, x0) for c in configs]
    for spec in specs:
        spec.validate()
    fp = fingerprint(configs, steps, arithmetic)
    done_chunks: set[int] = set()
    progress_path = None
    rows: list[dict] = []
    if csv_path is not None:
        csv_path = Path(csv_path)
        progress_path = csv_path.with_name(csv_path.name + ".progress.json")
        if resume and progress_path.exists():
            state = json.loads(progress_path.read_text())
            if state.get("fingerprint") != fp:
                raise InputError("resume", str(csv_path), "the CSV belongs to a different sweep "
                                 "(grid, steps or arithmetic changed)")
            done_chunks = set(state.get("chunks", []))
            if csv_path.exists():
                with csv_path.open(newline="") as fh:
                    rows = [r for r in csv.DictReader(fh) if int(r["chunk"]) in done_chunks]
        elif csv_path.exists() and not resume:
            csv_path.unlink()
        # rewrite the CSV with exactly the rows of completed chunks (drops a partial chunk)
        _write_rows(csv_path, rows, header=True, mode="w")
    total_work = steps * len(configs)
    done_work = steps * sum(1 for r in rows)
    started = time.perf_counter()
    sim_time = 0.0
    for chunk, indices in enumerate(batches(specs, chunk_size)):
        if chunk in done_chunks:
            continue
        chunk_configs = [configs[i] for i in indices]
        t0 = time.perf_counter()
        table = run_batch([specs[i] for i in indices]).table()
        sim_time += time.perf_counter() - t0
        new_rows = []
        for j, (i, c) in enumerate(zip(indices, chunk_configs)):
            new_rows.append({
                "config": i, "chunk": chunk, "algorithm": c.algorithm,
                "problem": specs[i].problem, "arithmetic": arithmetic, "steps": steps,
                "seed": "" if c.seed is None else c.seed,
                "parameters": json.dumps(dict(c.parameters)),
                "regret": _num(table["regret"][j]),
                "average_regret": _num(table["average_regret"][j]),
                "loss": _num(table["loss"][j]),
                "comparator_loss": _num(table["comparator_loss"][j]),
                "final_x": json.dumps([float(v) for v in table["final_x"][j]]),
                "effective_step_increases": int(table["effective_step_increases"][j]),
                "max_effective_step_increase": _num(table["max_effective_step_increase"][j]),
                "corrected_step_increases": int(table["corrected_step_increases"][j]),
                "max_corrected_step_increase": _num(table["max_corrected_step_increase"][j]),
                "vhat_decreases": int(table["vhat_decreases"][j]),
            })
        rows.extend(new_rows)
        done_chunks.add(chunk)
        if csv_path is not None:
            _write_rows(csv_path, new_rows, header=False, mode="a")
            _atomic_json(progress_path, {"fingerprint": fp, "chunks": sorted(done_chunks),
                                         "configurations": len(configs), "steps": steps,
                                         "arithmetic": arithmetic})
        done_work += steps * len(indices)
        if progress is not None:
            progress(done_work, total_work)
    wall = time.perf_counter() - started
    summary = summarize(rows, steps=steps, arithmetic=arithmetic, wall=wall, sim_time=sim_time,
                        configurations=len(configs))
    return SweepResult(csv_path=csv_path, rows=rows, summary=summary)


def _num(value) -> float | str:
    value = float(value)
    return value if np.isfinite(value) else ""


def _write_rows(path: Path, rows: list[dict], *, header: bool, mode: str) -> None:
    with path.open(mode, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        if header:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
        fh.flush()
        os.fsync(fh.fileno())


def _atomic_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def summarize(rows: list[dict], *, steps: int, arithmetic: str, wall: float, sim_time: float,
              configurations: int) -> dict:
    """Per-algorithm aggregates of a sweep's rows."""
    by_algo: dict[str, list[dict]] = {}
    for r in rows:
        by_algo.setdefault(r["algorithm"], []).append(r)
    per = {}
    for algo, rs in by_algo.items():
        avg = np.array([float(r["average_regret"]) for r in rs if r["average_regret"] != ""])
        inc = np.array([int(r["effective_step_increases"]) for r in rs])
        hat = np.array([int(r["corrected_step_increases"]) for r in rs])
        per[algo] = {
            "configurations": len(rs),
            "average_regret": {"min": float(avg.min()) if avg.size else None,
                               "median": float(np.median(avg)) if avg.size else None,
                               "max": float(avg.max()) if avg.size else None},
            "fraction_with_effective_step_increase": float(np.mean(inc > 0)) if inc.size else 0,
            "fraction_with_corrected_step_increase": float(np.mean(hat > 0)) if hat.size else 0,
        }
    return {"configurations": configurations, "rows": len(rows), "steps": steps,
            "arithmetic": arithmetic, "wall_time_s": wall, "simulation_time_s": sim_time,
            "instance_steps_per_s": (len(rows) * steps / sim_time) if sim_time > 0 else None,
            "algorithms": per, "versions": versions()}
