"""Sweeps: batched grids to CSV, resumable after an interruption, whatever the fault
(kills and torn rows: also tests/core/test_sweep_faults.py)."""

from __future__ import annotations

import csv
import errno
import fcntl
import json
import os
import sys
from pathlib import Path

import pytest

import amsgrad_theory.engine.sweep as sweep_module
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


# --------------------------------------------------------------------------------------------
# issue 11: work that survives every fault
# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# issue 11: work that survives every fault
# --------------------------------------------------------------------------------------------

FLAGS = ["sweep", "-a", "amsgrad", "-a", "adam", "-p", "random-linear:d=2",
         "--grid", "alpha=[0.1,0.2,0.3]", "--seeds", "0:12", "--steps", "50", "--quiet"]


def sweep(path, *extra) -> int:
    """The CLI sweep of FLAGS into ``path``."""
    return main([*FLAGS, "--out", str(path), *extra])


def cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def body(path):
    """The CSV's rows without the columns that record how they were computed."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: v for k, v in r.items() if k not in ("chunk", "digest")} for r in rows]


def interrupted(path, chunk_size, chunks):
    """A CLI sweep of FLAGS stopped (KeyboardInterrupt) after ``chunks`` chunks."""
    original, calls = sweep_module._append, []

    def append_then_stop(*args):
        original(*args)
        calls.append(1)
        if len(calls) == chunks:
            raise KeyboardInterrupt

    sweep_module._append = append_then_stop
    try:
        assert sweep(path, "--chunk-size", str(chunk_size)) == 130
    finally:
        sweep_module._append = original


def test_resume_with_another_chunk_size_keeps_every_configuration(tmp_path, capsys):
    base, path = tmp_path / "base.csv", tmp_path / "s.csv"
    assert sweep(base, "--chunk-size", "6") == 0
    interrupted(path, 5, 3)
    assert len(body(path)) == 15
    assert sweep(path, "--chunk-size", "6", "--resume") == 0
    capsys.readouterr()
    assert len(body(path)) == 72 and body(path) == body(base)


@pytest.mark.parametrize("changed, needle", [
    (["--x0", "0.5"], "--x0"), (["--steps", "60"], "--steps"),
    (["--arithmetic", "float32"], "--arithmetic"), (["--seeds", "0:11"], "--seeds"),
    (["--grid", "beta2=[0.9]"], "--grid"), (["-a", "adamx"], "--algorithm"),
    (["-p", "random-linear:d=3"], "--problem"),
])
def test_resume_refuses_a_changed_row_defining_flag(tmp_path, capsys, changed, needle):
    path = tmp_path / "s.csv"
    interrupted(path, 5, 2)
    before = path.read_bytes()
    code, _, err = cli([*FLAGS, *changed, "--out", str(path), "--resume"], capsys)
    assert code == 2 and needle in err and "resume=" in err and "Traceback" not in err
    assert path.read_bytes() == before


def tear_last_row(path):
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    os.truncate(path, last + (len(data) - last) // 2)   # mid-row, as a kill or a short write


def garble_rows(path):
    data = path.read_bytes().split(b"\r\n")
    data[5] = data[5].replace(b"amsgrad", b"adamxxx")    # a changed field
    data[9] = b"\x00garbage"
    path.write_bytes(b"\r\n".join(data))


@pytest.mark.parametrize("fault", [tear_last_row, Path.unlink, garble_rows])
def test_resume_recomputes_what_a_fault_broke(tmp_path, capsys, fault):
    base, path = tmp_path / "base.csv", tmp_path / "s.csv"
    assert sweep(base) == 0 and sweep(path) == 0
    fault(path)                         # the progress file stays: it says every chunk is done
    for _ in range(2):                  # the second resume finds the CSV whole
        assert sweep(path, "--resume") == 0
        assert path.read_bytes() == base.read_bytes()
    capsys.readouterr()


def test_disk_full_mid_row_exits_2_and_resumes(tmp_path, capsys, monkeypatch):
    base, path = tmp_path / "base.csv", tmp_path / "s.csv"
    assert sweep(base, "--chunk-size", "4") == 0
    original, calls = sweep_module._append, []

    def short_write(target, text):
        calls.append(1)
        if len(calls) == 3:
            original(target, text[: len(text) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        original(target, text)

    monkeypatch.setattr(sweep_module, "_append", short_write)
    code, _, err = cli([*FLAGS, "--out", str(path), "--chunk-size", "4"], capsys)
    assert code == 2 and "No space left" in err and "--resume" in err
    assert "Traceback" not in err
    monkeypatch.setattr(sweep_module, "_append", original)
    for _ in range(2):
        assert sweep(path, "--chunk-size", "4", "--resume") == 0
        assert path.read_bytes() == base.read_bytes()
    capsys.readouterr()


def test_a_second_writer_is_refused_at_once(tmp_path, capsys):
    path = tmp_path / "s.csv"
    assert sweep(path) == 0
    before = path.read_bytes()
    with open(tmp_path / "s.csv.lock", "w") as lock:     # a sweep holding the lock
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in ([], ["--resume"]):
            code, _, err = cli([*FLAGS, "--out", str(path), *extra], capsys)
            assert code == 2 and "another sweep is writing it" in err and "s.csv.lock" in err
    assert path.read_bytes() == before


def test_a_failing_instance_gets_an_error_row_and_its_siblings_run(tmp_path):
    # C = 1e200 is a float64, its square is not: v overflows at the first step
    configs = grid(["amsgrad"], "reddi-online", {"C": ["3", "1e200", "5"]})
    out = run_sweep(configs, steps=20, csv_path=tmp_path / "s.csv")
    rows = body(tmp_path / "s.csv")
    assert [r["config"] for r in rows] == ["0", "1", "2"] and out.summary["errors"] == 1
    assert rows[1]["error"] == ("non-finite v (beyond the largest float64) at a step in "
                                "t=1..20, coordinate i=0")
    assert rows[1]["regret"] == "" and rows[0]["error"] == rows[2]["error"] == ""
    for row, c in ((rows[0], "3"), (rows[2], "5")):
        assert float(row["regret"]) == float(simulate("amsgrad", f"reddi-online:C={c}",
                                                      steps=20).regret)


@pytest.mark.parametrize("extra, needle", [
    (["--seeds", "a:b"], "seeds='a:b'"),
    (["--seeds", "1.5"], "seeds='1.5'"),
    (["--seeds", '["x"]'], "seeds='[\"x\"]'"),
    (["--seeds", "0:100000000"], "seeds='0:100000000'"),
    (["--seeds", "5:1"], "seeds='5:1'"),
    (["--seeds", "0:0"], "seeds='0:0'"),
    (["--seeds", "[1,1]"], "seeds='[1,1]'"),
    (["--grid", "alpha=[0.1]", "--grid", "alpha=[0.2]"], "grid='alpha=[0.2]'"),
    (["--grid", "beta1=[nan]"], "beta1='[nan]'"),
    (["--grid", "seed=[1]", "--seeds", "0:2"], "grid="),
    (["-a", "amsgrad"], "algorithm='amsgrad'"),
    (["--out", "DIR"], "out='DIR'"),
    (["--out", "FILE/x.csv"], "out='FILE/x.csv'"),
    (["--out", ""], "out=''"),
    (["--out", "/proc/x.csv"], "out='/proc/x.csv'"),
])
def test_bad_sweep_input_exits_2_naming_the_argument(tmp_path, capsys, extra, needle):
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("")
    extra = [str(tmp_path / e) if e in ("DIR", "FILE/x.csv") else e for e in extra]
    needle = needle.replace("'DIR", f"'{tmp_path}/DIR").replace("'FILE", f"'{tmp_path}/FILE")
    argv = ["sweep", "-a", "amsgrad", "-p", "reddi-online", "--steps", "5", "--quiet",
            "--out", str(tmp_path / "s.csv"), *extra]
    code, out, err = cli(argv, capsys)
    assert code == 2 and needle in err and "Traceback" not in err and out == ""


@pytest.mark.parametrize("progress", [
    "{chunks: [0",                                               # not JSON
    "[1, 2]",
    '{"fingerprint": "0123456789abcdef", "chunks": [0, 1]}',     # the old format
    '{"fingerprint": "0123456789abcdef", "chunks": null}',
    '{"format": 2, "fingerprint": "x", "settings": "all"}',
    "\udcff\x00",                                                # not UTF-8
])
def test_malformed_progress_file_exits_2(tmp_path, capsys, progress):
    path = tmp_path / "s.csv"
    interrupted(path, 5, 2)
    (tmp_path / "s.csv.progress.json").write_bytes(progress.encode("utf-8", "surrogateescape"))
    code, _, err = cli([*FLAGS, "--out", str(path), "--resume"], capsys)
    assert code == 2 and "resume=" in err and "progress" in err and "Traceback" not in err


@pytest.mark.parametrize("content", ["config,regret\n0,1.5\n",
                                     "config,chunk,algorithm\n0,zero,adam\n"])
def test_foreign_csv_exits_2(tmp_path, capsys, content):
    path = tmp_path / "s.csv"
    path.write_text(content)
    code, _, err = cli([*FLAGS, "--out", str(path), "--resume"], capsys)
    assert code == 2 and "resume=" in err and "header" in err and "Traceback" not in err
    assert path.read_text() == content


def test_rows_of_another_sweep_are_refused_without_progress_file(tmp_path, capsys):
    path = tmp_path / "s.csv"
    assert sweep(path, "--x0", "0.5") == 0
    (tmp_path / "s.csv.progress.json").unlink()
    code, _, err = cli([*FLAGS, "--out", str(path), "--resume"], capsys)
    assert code == 2 and "another sweep" in err and "Traceback" not in err


def test_gradient_sequence_and_array_grids(tmp_path, capsys):
    for extra in (["-p", "gradient-sequence:g=[1,0]"],
                  ["-p", "gradient-sequence:g=[1,0],set=none", "--grid", "tail=[0,1]"],
                  ["-p", "gradient-sequence", "--grid", "g=[[1,0],[2,0]]"]):
        code, _, err = cli(["sweep", "-a", "amsgrad", "--steps", "6", "--quiet",
                            "--out", str(tmp_path / "g.csv"), *extra], capsys)
        assert code == 0, err
    assert parse_values('[1, [1, 0.10], "box"]') == ["1", "[1,0.10]", "box"]


# --------------------------------------------------------------------------------------------
# issue 14: a configuration that fails only when run is a row; exit 1 says so
# --------------------------------------------------------------------------------------------

def test_an_error_only_the_run_finds_is_a_row_and_exit_1(tmp_path, capsys):
    # --x0 0.5 lies outside the box of radius 0.1 (found by simulate, not by validation)
    argv = ["sweep", "-a", "amsgrad", "-p", "random-linear:d=2", "--grid",
            "radius=[1,0.1]", "--seeds", "0:3", "--x0", "0.5", "--steps", "20", "--json",
            "--out", str(tmp_path / "s.csv")]
    code, out, _ = cli(argv, capsys)
    assert code == 1 and json.loads(out)["errors"] == 3
    rows = body(tmp_path / "s.csv")
    assert [r["error"] != "" for r in rows] == [False] * 3 + [True] * 3
    assert rows[3]["error"].startswith("x0='0.5': outside the feasible set")
    assert rows[3]["regret"] == "" and rows[3]["parameters"] == '{"radius": "0.1"}'
    for row in rows[:3]:
        alone = simulate("amsgrad", f"random-linear:d=2,radius=1,seed={row['seed']}",
                         steps=20, x0="0.5")
        assert float(row["regret"]) == float(alone.regret)
    assert sweep(tmp_path / "ok.csv") == 0                    # no failure: exit 0


def test_on_task_reports_tasks_and_configurations(tmp_path):
    calls = []
    run_sweep(configs(), steps=50, csv_path=tmp_path / "s.csv", chunk_size=3,
              on_task=lambda *args: calls.append(args))
    assert calls[0] == (0, 4, 0) and calls[-1] == (4, 4, 8)
    assert [c[2] for c in calls] == [0, 3, 4, 7, 8]            # 2 algorithms: chunks 3+1, 3+1
    calls.clear()
    run_sweep(configs(), steps=50, csv_path=tmp_path / "s.csv", chunk_size=3, resume=True,
              on_task=lambda *args: calls.append(args))
    assert calls == [(0, 0, 8)]
