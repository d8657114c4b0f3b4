"""Faults against `amsgrad-theory sweep`: a sweep subprocess killed (SIGKILL) at seeded random
moments, its last write torn, its files deleted between runs, a second writer at once. After
each, ``--resume`` must leave a CSV byte-identical to an uninterrupted run's, or refuse with
exit 2. The test counts what it injected and checks README's sentence states those figures.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from amsgrad_theory.cli import main

SEED = 11
FLAGS = ["sweep", "-a", "amsgrad", "-a", "adam", "-p", "random-linear:d=3",
         "--grid", "alpha=[0.1,0.2,0.3]", "--seeds", "0:12", "--steps", "100",
         "--chunk-size", "4", "--quiet"]
TOTAL = 72                    # configurations: 2 algorithms × 3 α × 12 seeds, in 18 chunks
README = Path(__file__).resolve().parents[2] / "README.md"


def spawn(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "amsgrad_theory.cli", *FLAGS, "--out",
                             str(out), *extra], cwd=out.parent, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def rows_in(path: Path) -> int:
    """Complete rows in the CSV so far (-1: not created yet)."""
    try:
        return path.read_bytes().count(b"\n") - 1
    except FileNotFoundError:
        return -1


def kill_at(proc: subprocess.Popen, out: Path, rows: int, delay: float) -> None:
    """SIGKILL ``proc`` ``delay`` seconds after its CSV holds ``rows`` rows."""
    deadline = time.monotonic() + 120
    while rows_in(out) < rows and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    # killed while writing, or (after its last row) while importing what its summary names
    assert proc.returncode == -signal.SIGKILL


def resume(out: Path, capsys) -> int:
    code = main([*FLAGS, "--out", str(out), "--resume"])
    capsys.readouterr()
    return code


def tear(out: Path, rng: random.Random) -> None:
    """Truncate the CSV inside its last row, as a kill or a full disk mid-write leaves it."""
    data = out.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    os.truncate(out, rng.randrange(start + 1, max(start + 2, len(data) - 1)))


def lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")[1:-1]


@pytest.mark.heavy
def test_sweep_survives_faults(tmp_path, capsys):
    rng = random.Random(SEED)
    base = tmp_path / "base.csv"
    assert main([*FLAGS, "--out", str(base)]) == 0
    capsys.readouterr()
    expected = base.read_bytes()
    assert len(lines(expected)) == TOTAL
    faults: Counter = Counter()
    lost = 0

    def check(out: Path) -> None:
        nonlocal lost
        # every complete row the faults left is a row of the uninterrupted run
        if out.exists():
            assert set(lines(out.read_bytes())) <= set(lines(expected))
        assert resume(out, capsys) == 0
        final = out.read_bytes()
        lost += len(set(lines(expected)) - set(lines(final)))
        assert final == expected

    for k, extra in enumerate(["tear", "tear", "delete progress", "delete csv",
                               "kill the resume"]):
        out = tmp_path / f"r{k}.csv"
        proc = spawn(out)
        if extra == "kill the resume":
            kill_at(proc, out, -1, rng.uniform(0.0, 0.5))       # while it starts up
        else:
            kill_at(proc, out, rng.randrange(1, TOTAL - 8), rng.uniform(0.0, 0.02))
        faults["kill"] += 1
        if extra == "tear":
            tear(out, rng)
            faults["tear"] += 1
        elif extra.startswith("delete"):
            target = out if extra == "delete csv" else \
                out.with_name(out.name + ".progress.json")
            target.unlink(missing_ok=True)
            faults["delete"] += 1
        else:
            proc = spawn(out, "--resume")
            kill_at(proc, out, rng.randrange(rows_in(out) + 1, TOTAL - 2), rng.uniform(0, 0.02))
            faults["kill"] += 1
        check(out)

    # two writers at once: the first is stopped holding the lock, the second is refused at
    # once and touches nothing; then the first is killed
    out = tmp_path / "w.csv"
    first = spawn(out)
    while rows_in(out) < 1 and first.poll() is None:
        time.sleep(0.001)
    assert first.poll() is None
    first.send_signal(signal.SIGSTOP)
    os.waitpid(first.pid, os.WUNTRACED)          # stopped now (not reaped: Popen still owns it)
    before = out.read_bytes()
    second = spawn(out)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and "another sweep is writing it" in err
    assert "Traceback" not in err and out.read_bytes() == before
    faults["second writer"] += 1
    first.send_signal(signal.SIGCONT)
    kill_at(first, out, rng.randrange(2, TOTAL - 8), rng.uniform(0, 0.02))
    faults["kill"] += 1
    check(out)

    assert lost == 0
    total = sum(faults.values())
    sentence = (f"The fault test (`tests/core/test_sweep_faults.py`) injects {total} faults — "
                f"{faults['kill']} SIGKILLs at seeded random moments, {faults['tear']} torn "
                f"last rows, {faults['delete']} deleted files and {faults['second writer']} "
                f"second writer at once (refused with exit 2) — and after each `--resume` "
                f"leaves a CSV byte-identical to an uninterrupted run's: {lost} rows lost.")
    assert sentence in " ".join(README.read_text().split())
