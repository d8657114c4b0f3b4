"""reproduce on Dask (issue 14): the grid of ``phase`` runs as tasks on a local cluster of two
worker processes and gives the in-process run's table, records and figure."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

distributed = pytest.importorskip("distributed")


@pytest.mark.slow   # ≈ 30 s: a cluster and a study in a subprocess (the next test is the quick one)
def test_phase_on_two_workers_gives_the_in_process_outputs(tiny_run, tmp_path):
    here, _ = tiny_run("phase")
    proc = subprocess.run([sys.executable, "-m", "amsgrad_theory.cli", "reproduce", "phase",
                           "--size", "tiny", "--out", str(tmp_path), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert "Dask: a local cluster of 2 worker processes" in proc.stderr
    there = tmp_path / "phase"
    for name in ("phase.csv", "phase.png", "phase.pdf"):
        assert (there / name).read_bytes() == (here / name).read_bytes(), name
    a, b = (json.loads((d / "phase.json").read_text()) for d in (here, there))
    assert a["records"] == b["records"]


def test_map_specs_on_a_cluster_equals_in_process():
    from functools import partial

    from amsgrad_theory.engine import RunSpec, map_specs
    from amsgrad_theory.reproduce.phase import evaluate_horizons

    specs = [RunSpec(algorithm=alg, problem=f"periodic-linear:C={C},c=1,period={C}", steps=400,
                     x0="0", hyperparameters={"alpha": "0.5", "beta1": "0.9", "beta2": b2})
             for alg in ("adam", "amsgrad") for C in (2, 3, 5) for b2 in ("0.5", "0.99")]
    tags = [int(s.problem.split("C=")[1].split(",")[0]) for s in specs]
    reduce = partial(evaluate_horizons, family="theorem2", horizons=[400, 40],
                     x_threshold=0.9, rate_threshold=0.5)
    here = map_specs(specs, reduce, tags)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        # tasks of two batches' worth each: several tasks, each returning plain rows
        there = map_specs(specs, reduce, tags, client=client, task_lane_steps=1200)
    assert there == here
    assert {len(rows) for rows in here} == {2}
