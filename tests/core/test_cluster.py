"""Sweeps on Dask distributed (amsgrad_theory.engine.cluster): tasks cut from the plan, the
same bytes as in process, and nothing lost when a worker or the client dies — against a real
local cluster of 2 worker processes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from amsgrad_theory.cli import main
from amsgrad_theory.engine import cluster
from amsgrad_theory.engine.sweep import grid, run_sweep
from amsgrad_theory.errors import InputError

distributed = pytest.importorskip("distributed")

FLAGS = ["sweep", "-a", "amsgrad", "-a", "adam", "-p", "random-linear:d=3",
         "--grid", "alpha=[0.1,0.2,0.3]", "--seeds", "0:12", "--steps", "1000", "--quiet"]
TOTAL = 72                # configurations: 2 algorithms × 3 α × 12 seeds, in 2 chunks
TASK = ["--task-size", "4"]     # 18 tasks (the default would make one task of this sweep)


def configs():
    return grid(["amsgrad", "adam"], "random-linear:d=3", {"alpha": ["0.1", "0.2", "0.3"]},
                list(range(12)))


@pytest.fixture(scope="module")
def client():
    """A real local cluster: 2 worker processes (nannies restart a killed one)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local, \
            distributed.Client(local) as c:
        yield c


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> bytes:
    """The in-process CSV of FLAGS."""
    out = tmp_path_factory.mktemp("inproc") / "s.csv"
    assert main([*FLAGS, "--out", str(out)]) == 0
    return out.read_bytes()


def lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[1:-1]


# --------------------------------------------------------------------------------------------
# tasks
# --------------------------------------------------------------------------------------------

def test_tasks_cover_every_configuration_once_in_order():
    chunks = [(0, list(range(10))), (1, list(range(10, 13))), (4, [20, 21])]
    for size in (1, 3, 4, 100):
        tasks = cluster.plan_tasks(chunks, [7, 7, 7], size)
        parts = [part for task in tasks for part in task]
        assert [i for _, indices in parts for i in indices] == [*range(13), 20, 21]
        assert all(sum(len(ix) for _, ix in task) == size for task in tasks[:-1])
        assert {c for c, ix in parts if ix[0] < 10} == {0} and parts[-1][0] == 4


def test_default_tasks_hold_the_work_that_keeps_overhead_under_1_percent():
    lane = 3 * 1000                               # d × T of one instance
    per_task = -(-cluster.TASK_LANE_STEPS // lane)
    tasks = cluster.plan_tasks([(0, list(range(10 * per_task + 5)))], [lane])
    assert [sum(len(ix) for _, ix in t) for t in tasks] == [per_task] * 10 + [5]
    # a configuration larger than a task is a task; a small sweep is one task
    assert len(cluster.plan_tasks([(0, [0, 1, 2])], [10 * cluster.TASK_LANE_STEPS])) == 3
    assert len(cluster.plan_tasks([(0, [0, 1]), (1, [2])], [10, 10])) == 1


def test_tasks_come_in_whole_rounds_of_the_workers():
    """29 tasks of one size on 2 workers end with one worker idle for a task; re-cut into 28
    of equal work, both finish together. Explicit task sizes and sweeps of fewer tasks than
    workers are left as they are."""
    lane = 3 * 1000
    per_task = -(-cluster.TASK_LANE_STEPS // lane)
    chunks = [(0, list(range(20 * per_task))), (1, list(range(20 * per_task, 29 * per_task)))]
    alone = cluster.plan_tasks(chunks, [lane, lane])
    assert len(alone) == 29
    for slots in (2, 3, 4, 8):
        tasks = cluster.plan_tasks(chunks, [lane, lane], slots=slots)
        sizes = [sum(len(ix) for _, ix in t) for t in tasks]
        assert len(tasks) == 29 // slots * slots, slots
        assert max(sizes) - min(sizes) < len(tasks) and min(sizes) >= per_task
        parts = [i for t in tasks for _, ix in t for i in ix]
        assert parts == list(range(29 * per_task))          # each once, in order
    assert cluster.plan_tasks(chunks, [lane, lane], slots=29) == alone
    assert len(cluster.plan_tasks(chunks, [lane, lane], slots=30)) == 29
    assert cluster.plan_tasks(chunks, [lane, lane], 7, slots=2) == \
        cluster.plan_tasks(chunks, [lane, lane], 7)


def test_in_process_sweep_never_imports_dask(tmp_path):
    code = ("import sys\nfrom amsgrad_theory.cli import main\n"
            f"assert main({[*FLAGS[:-2], '10', '--quiet', '--out', str(tmp_path / 's.csv')]!r})"
            " == 0\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("[]")


# --------------------------------------------------------------------------------------------
# bad input: exit 2 at once, naming the argument
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("extra, needle", [
    (["--workers", "0"], "workers=0"),
    (["--workers", "-2"], "workers=-2"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with"),
    (["--scheduler", "tcp://127.0.0.1:1", "--scheduler-file", "f.json"], "not allowed with"),
    (["--task-size", "4"], "task_size=4"),
    (["--workers", "2", "--task-size", "0"], "task_size=0"),
    (["--scheduler-file", "MISSING"], "scheduler_file="),
    (["--scheduler", "tcp://127.0.0.1:1"], "scheduler='tcp://127.0.0.1:1'"),
    (["--scheduler", "nonsense"], "scheduler='nonsense'"),
    (["--scheduler", "SILENT"], "no Dask scheduler answered"),
])
def test_bad_cluster_input_exits_2_at_once(tmp_path, capsys, monkeypatch, extra, needle):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 1.0)
    with socket.socket() as silent:          # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        extra = [f"tcp://127.0.0.1:{silent.getsockname()[1]}" if e == "SILENT" else
                 str(tmp_path / e) if e == "MISSING" else e for e in extra]
        started = time.monotonic()
        try:
            code = main([*FLAGS, "--out", str(tmp_path / "s.csv"), *extra])
        except SystemExit as exc:            # argparse's own refusal
            code = exc.code
        elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err and elapsed < 4


# --------------------------------------------------------------------------------------------
# a real cluster: same bytes, faults
# --------------------------------------------------------------------------------------------

def test_a_worker_killed_mid_sweep_loses_nothing(client, expected, tmp_path):
    out = tmp_path / "s.csv"
    killed = {}

    def kill_a_busy_worker(done, total, configurations):
        if done != 1:
            return
        pids = client.run(os.getpid)
        busy = [w for w, keys in client.processing().items() if keys]
        assert busy and configurations < TOTAL          # mid-sweep, a task running
        killed["pid"] = pids[busy[0]]
        os.kill(killed["pid"], signal.SIGKILL)

    result = run_sweep(configs(), steps=1000, csv_path=out, client=client, task_size=4,
                       on_task=kill_a_busy_worker)
    assert killed and killed["pid"] not in client.run(os.getpid).values()
    assert out.read_bytes() == expected             # no row lost, none twice, same bytes
    assert result.summary["tasks"] == 18 and result.summary["errors"] == 0


@pytest.mark.slow
def test_the_client_killed_mid_sweep_resumes_on_a_fresh_cluster(client, expected, tmp_path,
                                                                 capsys):
    out = tmp_path / "s.csv"
    proc = subprocess.Popen([sys.executable, "-m", "amsgrad_theory.cli", *FLAGS, *TASK,
                             "--scheduler", client.scheduler.address, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while (not out.exists() or out.read_bytes().count(b"\n") < 9) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    kept = lines(out.read_bytes())
    assert 8 <= len(kept) < TOTAL and set(kept) <= set(lines(expected))
    assert main([*FLAGS, *TASK, "--workers", "2", "--out", str(out), "--resume"]) == 0
    capsys.readouterr()
    assert out.read_bytes() == expected


def test_a_failing_configuration_is_an_error_row_as_in_process(client, tmp_path, capsys):
    # radius=0.1 puts --x0 0.5 outside that configuration's feasible set, which only its run
    # finds; C=1e200 overflows reddi-online's second moment (g² = 1e400; C=1e400 itself is
    # refused before any run, as an input that does not survive conversion to float64)
    for flags, errors, text in (
            (["-a", "amsgrad", "-p", "random-linear:d=2", "--grid", "radius=[1,0.1,2]",
              "--seeds", "0:3", "--x0", "0.5"], 3, b"x0='0.5': outside the feasible set"),
            (["-a", "amsgrad", "-p", "reddi-online", "--grid", "C=[3,1e200,5]"], 1,
             b"non-finite v (beyond the largest float64)")):
        argv = ["sweep", *flags, "--steps", "20", "--json"]
        a, b = tmp_path / "a.csv", tmp_path / "b.csv"
        assert main([*argv, "--out", str(a)]) == 1
        assert json.loads(capsys.readouterr().out)["errors"] == errors
        code = main([*argv, "--out", str(b), "--scheduler", client.scheduler.address,
                     "--task-size", "2"])
        out, err = capsys.readouterr()
        assert code == 1 and json.loads(out)["errors"] == errors
        assert "Dask: the scheduler at tcp://" in err
        assert a.read_bytes() == b.read_bytes() and a.read_bytes().count(text) == errors


def test_an_address_string_is_a_client(client, expected, tmp_path):
    result = run_sweep(configs(), steps=1000, csv_path=tmp_path / "s.csv",
                       client=client.scheduler.address, task_size=36)
    assert (tmp_path / "s.csv").read_bytes() == expected and result.summary["tasks"] == 2
    assert result.summary["cluster"] == f"the scheduler at {client.scheduler.address}"


def test_a_local_cluster_starts_while_the_sweep_is_planned_and_stops_on_bad_input(
        tmp_path, monkeypatch):
    """`--workers N` starts its cluster in a thread of its own (Connection.start) while the
    sweep is planned; its workers import the task's code as they start (Dask's preload); a
    grid that planning refuses stops the cluster it started: no process is left behind."""
    import psutil

    from amsgrad_theory.engine.run import RunSpec

    # the processes that run already (the module's cluster, what an earlier test left): by
    # PID, not by start time (psutil's is exact to a second only, the boot time's precision)
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    def started_here():
        """Processes this test started that still run (with their command lines, for the
        message), but multiprocessing's resource tracker, which outlives a cluster on
        purpose."""
        alive = []
        for p in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):       # gone while we looked: not alive
                line = " ".join(p.cmdline())
                if p.pid not in before and "resource_tracker" not in line:
                    alive.append((p.pid, line[-120:]))
        return alive

    import dask

    with cluster.Connection(workers=1).start() as client:
        preloaded = client.run(lambda: sorted(m for m in ("amsgrad_theory.engine.sweep", "numba")
                                              if m in sys.modules))
        assert list(preloaded.values()) == [["amsgrad_theory.engine.sweep", "numba"]]
        # the local cluster's monitoring runs at LOCAL_CONFIG's pace, in the scheduler and the
        # worker alike; the caller's own configuration keeps Dask's defaults
        worker = client.run(lambda: [dask.config.get(k) for k in cluster.LOCAL_CONFIG])
        assert list(worker.values()) == [list(cluster.LOCAL_CONFIG.values())]
        ticks = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler._tick_interval)
        assert ticks == 1.0
        assert dask.config.get("distributed.admin.tick.interval") == "20ms"
    deadline = time.monotonic() + 10
    while started_here() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert started_here() == []
    starting = []
    validate = RunSpec.validate

    def validating(self):
        starting.append("amsgrad-cluster-start" in {t.name for t in threading.enumerate()})
        return validate(self)

    monkeypatch.setattr(RunSpec, "validate", validating)
    bad = grid(["amsgrad"], "random-linear:d=3", {"alpha": ["0.1", "-1"]}, [0])
    with pytest.raises(InputError, match="alpha"):
        run_sweep(bad, steps=10, csv_path=tmp_path / "s.csv", client=cluster.Connection(
            workers=1))
    assert starting and starting[0]            # the cluster was starting while planning ran
    # the start was waited for, and what it started closed, before run_sweep raised
    assert "amsgrad-cluster-start" not in {t.name for t in threading.enumerate()}
    assert started_here() == []
