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
