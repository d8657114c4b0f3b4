"""Compiled kernels persist across processes, and a changed key compiles afresh."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from amsgrad_theory.engine import compiled

PROBE = """
import json, sys
from amsgrad_theory import simulate
from amsgrad_theory.engine import compiled, engines
# the package's source digest, fixed by the test (a changed one stands for a code change)
compiled.source_digest = lambda: sys.argv[1]
out = []
for run in sys.argv[2:]:
    steps, arithmetic = run.split("@")
    # d = 2: the scalar kernel, which compiles in about half the time of the blocked one
    r = simulate("amsgrad", "random-linear:d=2", steps=int(steps), arithmetic=arithmetic)
    kernels = [getattr(k, "__wrapped__", k) for k, _ in engines._KERNELS.values()]
    stats = [k.stats for k in kernels if hasattr(k, "stats")]
    out.append({"hits": sum(sum(s.cache_hits.values()) for s in stats),
                "misses": sum(sum(s.cache_misses.values()) for s in stats),
                "flat": [hasattr(k.py_func, "__specialized_source__") for k in kernels
                         if hasattr(k, "py_func")],
                "regret": float(r.regret), "engine": r.engine})
print(json.dumps(out))
"""

LONG, SHORT = "200000@float64:numba", "10000@float64"


def _probe(cache, *runs, digest="source-a"):
    """Runs ``steps@arithmetic`` one after another in a fresh process whose numba cache is
    ``cache``; for each: the cache hits and misses so far, the regret and the engine."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "AMSGRAD_THEORY_NUMBA_CACHE": "1"}
    run = subprocess.run([sys.executable, "-c", PROBE, digest, *runs],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1])


@pytest.mark.heavy
def test_a_second_process_loads_the_kernel(tmp_path):
    # a run too short to be worth compiling (2 · 10 000 < NUMBA_THRESHOLD lane-steps) is
    # interpreted while its kernel is not on disk, and compiled once an earlier run left it
    # there (loading ≈ 0.05 s against ≈ 5 µs per interpreted lane-step); the same numbers
    short_fresh, first = _probe(tmp_path, SHORT, LONG)
    # each kernel has an index of its own, named by its key: numba's default (one index per
    # factory function) lets two processes saving different kernels name one data file
    indexes = [p.name for p in tmp_path.rglob("*.nbi")]
    assert indexes and all(re.search(r"-[0-9a-f]{64}\.nbi$", name) for name in indexes)
    second, short_cached = _probe(tmp_path, LONG, SHORT)
    assert first["misses"] >= 1 and first["hits"] == 0
    assert second["hits"] >= 1 and second["misses"] == 0
    # compiled from the flat kernel, loaded through the plain one (flattening costs more than
    # loading; numba finds the code under the kernel's key alone)
    assert first["flat"] == [True] and second["flat"] == [False]
    assert second["regret"] == first["regret"]
    assert (short_fresh["engine"], short_cached["engine"]) == ("python", "numba")
    assert short_cached["regret"] == short_fresh["regret"]


@pytest.mark.slow
def test_a_code_change_compiles_afresh(tmp_path):
    _probe(tmp_path, LONG)
    [changed] = _probe(tmp_path, LONG, digest="source-b")
    assert changed["misses"] >= 1 and changed["hits"] == 0


def test_the_key_names_what_the_kernel_is_built_from():
    key = ("compiled", "float64", True, True, False, ("ema",), "reddi-online", "box", True, False)
    assert compiled.kernel_cache_key(key) == compiled.kernel_cache_key(tuple(key))
    assert compiled.kernel_cache_key(key) != compiled.kernel_cache_key(key[:-1] + (True,))
    assert len(compiled.source_digest()) == 64


TWO_KERNELS = """
import json, sys
from amsgrad_theory import get_problem, simulate
from amsgrad_theory.engine import compiled
compiled.source_digest = lambda: "source-two-kernels"
problem = get_problem("periodic-linear:c=1,period=3", instances=[{"C": "2"}, {"C": "5"}])
out = {}
for statistics in sys.argv[1:]:
    r = simulate("amsgrad", problem, steps=300, arithmetic="float64:numba",
                 statistics=statistics)
    out[statistics] = [list(map(float, r._state.acc(row, 1))) for row in range(9)]
print(json.dumps(out))
"""


def _two_kernels(cache, *statistics, disk=True):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache),
           "AMSGRAD_THEORY_NUMBA_CACHE": "1" if disk else "0"}
    run = subprocess.run([sys.executable, "-c", TWO_KERNELS, *statistics],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.splitlines()[-1])


@pytest.mark.heavy
def test_two_kernels_from_disk_in_one_process_each_run_their_own_code(tmp_path):
    """Two blocked kernels compiled by two processes, then loaded by a third: numba names a
    compiled function after its qualified name and a per-process counter, so the regret and
    the full-statistics kernel, each the first kernel of its process, carried the same symbol
    for their block function, and the second one loaded ran the first one's code: full
    statistics silently all zero (found 2026-12-07 by the benchmark's bitwise check)."""
    fresh = _two_kernels(tmp_path / "none", "full", disk=False)["full"]
    _two_kernels(tmp_path, "regret")          # each compiled and saved by a process of its own
    _two_kernels(tmp_path, "full")
    both = _two_kernels(tmp_path, "regret", "full")      # both loaded here, regret first
    assert both["full"] == fresh
    assert any(v != 0 for row in both["full"][2:6] for v in row)   # Σg², max|g|, bound terms


def test_stale_kernels_are_pruned_and_nothing_else(tmp_path):
    # the files of kept kernels compiled from other package sources (another source tag, or
    # the untagged names of earlier versions) go, all of a kernel's files together, once none
    # of them was written or used for a day; this source's kernels, recent ones, Python's
    # .pyc files and other modules' numba files stay
    now = 1_000_000_000.0
    day = compiled.STALE_AFTER_S
    current, other = compiled.source_tag(), "0123456789ab"
    assert current != other
    base = "compiled.make_blocked_kernel.locals.kernel-176.py311"

    def kernel(tag, key, age, marker_age=None):
        stem = f"{base}-{tag}-{key}" if tag else f"{base}-{key}"
        names = [f"{stem}.nbi", f"{stem}.1.nbc"]
        ok = f"amsgrad-{tag}-{key}.ok" if tag else f"amsgrad-{key}.ok"
        for name in names:
            (tmp_path / name).write_bytes(b"x")
            os.utime(tmp_path / name, (now - age, now - age))
        (tmp_path / ok).write_bytes(b"")
        age = age if marker_age is None else marker_age
        os.utime(tmp_path / ok, (now - age, now - age))
        return {*names, ok}

    stale_old = kernel(other, "a" * 64, 2 * day)
    untagged_old = kernel(None, "b" * 64, 3 * day)
    stale_recent = kernel(other, "c" * 64, day / 2)
    stale_but_used = kernel(other, "d" * 64, 5 * day, marker_age=60)   # another version runs it
    current_old = kernel(current, "e" * 64, 9 * day)
    others = {"compiled.cpython-311.pyc", f"arrays.f-1.py311-{'f' * 64}.nbi", "notes.txt"}
    for name in others:
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - 9 * day, now - 9 * day))
    deleted = compiled.prune_stale_kernels(tmp_path, now=now)
    assert set(deleted) == stale_old | untagged_old
    left = {p.name for p in tmp_path.iterdir()}
    assert left == stale_recent | stale_but_used | current_old | others


def test_llvm_loop_remarks_are_dropped_and_everything_else_kept(capfd):
    """A forced vector width makes LLVM write a "loop not vectorized" remark to descriptor 2
    for every loop it cannot vectorise; those lines go, other output written there meanwhile
    (by C code or Python) still reaches the user, in order."""
    import os
    import sys

    from amsgrad_theory.engine.compiled import _without_llvm_remarks

    with _without_llvm_remarks():
        os.write(2, b"remark: <unknown>:0:0: loop not vectorized: call instruction cannot "
                    b"be vectorized\nfrom C\n")
        print("from Python", file=sys.stderr, flush=True)
        os.write(2, b"remark: <unknown>:0:0: loop not vectorized: unsupported switch\n"
                    b"from C, again\n")
    err = capfd.readouterr().err
    assert "loop not vectorized" not in err and "from Python" in err
    assert err.index("from C\n") < err.index("from C, again")


def test_only_blocked_float32_kernels_on_measured_hosts_get_a_forced_width():
    from amsgrad_theory.arithmetic import get_arithmetic
    from amsgrad_theory.engine import compiled

    f32, f64 = get_arithmetic("float32:numba"), get_arithmetic("float64:numba")
    assert compiled.vector_width(f64, True) is None
    assert compiled.vector_width(f32, False) is None
    want = compiled.FLOAT32_AVX512_LANES if compiled._host_measured_wide() else None
    assert compiled.vector_width(f32, True) == want
