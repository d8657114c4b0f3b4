"""Sweeps: batched grids to CSV, resumable after an interruption."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from amsgrad_theory import simulate
from amsgrad_theory.cli import main
from amsgrad_theory.engine.sweep import grid, parse_values, run_sweep
from amsgrad_theory.errors import InputError


def configs():
    return grid(["adam", "amsgrad"], "reddi-theorem2", {"C": ["3", "5"], "beta2": ["0.9", "0.99"],
                                                         "alpha": ["0.2"]})


def test_grid_and_values():
    assert parse_values("[1, 2.5]") == ["1", "2.5"] and parse_values("0:3") == ["0", "1", "2"]
    assert parse_values("a,b") == ["a", "b"]
    assert len(configs()) == 8


def test_rows_equal_separate_runs(tmp_path):
    out = run_sweep(configs(), steps=400, csv_path=tmp_path / "s.csv", chunk_size=3)
    assert len(out.rows) == 8
    for row in out.rows:
        params = json.loads(row["parameters"])
        alone = simulate(row["algorithm"], f"reddi-theorem2:C={params['C']}", steps=400,
                         hyperparameters={"beta2": params["beta2"], "alpha": params["alpha"]})
        assert float(row["regret"]) == float(alone.regret)


def test_resume_skips_finished_chunks(tmp_path, monkeypatch):
    path = tmp_path / "s.csv"
    calls = []

    def stop_after_two(done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(configs(), steps=300, csv_path=path, chunk_size=2, progress=stop_after_two)
    with path.open() as fh:
        assert len(list(csv.DictReader(fh))) == 4          # two chunks of two
    sim_module = sys.modules["amsgrad_theory.engine.run"]
    ran = []
    original = sim_module.simulate

    def counting(*args, **kwargs):
        ran.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(sim_module, "simulate", counting)
    resumed = run_sweep(configs(), steps=300, csv_path=path, chunk_size=2, resume=True)
    assert len(ran) == 2                                      # only the two missing chunks
    monkeypatch.setattr(sim_module, "simulate", original)
    fresh = run_sweep(configs(), steps=300, csv_path=tmp_path / "f.csv", chunk_size=2)
    key = lambda r: int(r["config"])  # noqa: E731
    assert [float(r["regret"]) for r in sorted(resumed.rows, key=key)] == \
        [float(r["regret"]) for r in sorted(fresh.rows, key=key)]


def test_resume_refuses_a_changed_grid(tmp_path):
    path = tmp_path / "s.csv"
    run_sweep(configs(), steps=100, csv_path=path)
    with pytest.raises(InputError):
        run_sweep(configs(), steps=200, csv_path=path, resume=True)


def test_cli_sweep(tmp_path, capsys):
    out = tmp_path / "r.csv"
    code = main(["sweep", "-a", "amsgrad", "-p", "random-linear:d=2", "--grid", "alpha=[0.1,0.3]",
                 "--seeds", "0:3", "--steps", "200", "--out", str(out), "--json", "--quiet"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["rows"] == 6 and out.exists()
    assert (tmp_path / "r.csv.json").exists()
    code = main(["sweep", "-a", "amsgrad", "-p", "reddi-online", "--seeds", "0:2",
                 "--steps", "10", "--out", str(out), "--quiet"])
    assert code == 2
