"""The benchmark script's ``--quick`` smoke run: every target runs and the results it compares
agree (the fast paths equal their references); no speed is asserted (machines are shared).
It compiles a C stick per target-1 cell and every toolkit path: minutes, so ``-m slow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_runs_every_target_and_its_paths_agree(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, str(ROOT / "experiments" / "benchmarks" / "run.py"),
                          "--quick", "--rounds", "1", "--json", str(out)],
                         capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    data = json.loads(out.read_text())
    for k in range(1, 8):
        assert f"target{k}" in data, k
    t1 = data["target1"]
    if "skipped" not in t1:               # needs a C compiler
        for name in ("periodic-linear", "bernoulli-linear"):
            assert t1[name]["bitwise_equal_x_T"] and t1[name]["bitwise_equal_loss"], name
        if os.environ.get("AMSGRAD_THEORY_NUMBA_CACHE", "1") != "0":
            # timed where the kernels load from disk, their lane loops read in the child
            assert t1["kernels"] == "compiled in a child process, loaded from the disk cache"
            mixes = t1["periodic-linear"]["instruction_mix"]
            assert mixes and all("toolkit" in m for m in mixes.values()), mixes
    t2 = data["target2"]
    assert t2["identical_x_bare_rule_vs_toolkit"]
    assert t2["identical_x_full_vs_regret_statistics"]
    assert t2["max_abs_diff_x_vs_foreach"] <= 1e-15
    assert data["target5"]["same_x_T_as_raw"]
    assert 0.9 < data["target6"]["ratio_large_over_small"] < 1.1
    assert "target" in run.stdout.splitlines()[0]


def test_asm_mix_finds_an_all_ones_register_that_waits_for_the_loop():
    """The benchmark's instruction-mix reason counts the all-ones registers a lane loop makes
    with vpternlogd from a register the loop itself last wrote (a false dependency) — not
    those made from a register cleared by an idiom, nor a masked store's source."""
    sys.path.insert(0, str(ROOT / "experiments" / "benchmarks"))
    import asm_mix

    stale = ["vsqrtpd\t%zmm14, %zmm18", "vcmpltpd\t%zmm14, %zmm18, %k1",
             "vmovupd\t%zmm18, 1024(%rbp,%rax,8) {%k1}",
             "vpternlogd\t$255, %zmm18, %zmm18, %zmm18", "vpsubq\t%zmm18, %zmm13, %zmm14"]
    assert asm_mix.stale_all_ones(stale) == 1
    cleared = ["vpxord\t%zmm18, %zmm18, %zmm18", *stale[1:]]
    assert asm_mix.stale_all_ones(cleared) == 0
    # a loop that wraps: the last writer of zmm3 is found at the loop's end
    wraps = ["vpternlogd\t$255, %zmm3, %zmm3, %zmm3", "vpaddq\t%zmm3, %zmm1, %zmm1",
             "vdivpd\t%zmm4, %zmm5, %zmm3"]
    assert asm_mix.stale_all_ones(wraps) == 1
    assert asm_mix._STORE.match(stale[2])
