"""The instruction mix of a lane loop, from its x86 assembly (gcc's ``-S`` or numba's
``inspect_asm``): the measured reason a target is missed.

The lane loop is the innermost loop that contains the packed square root (every lane-step takes
exactly one √v̂, so lanes per iteration = packed square roots × lanes per register). Counts are
per lane-step. ``llvm-mca`` (if installed) adds a static estimate of the cycles per lane-step
on the host CPU's model.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

_LABEL = re.compile(r"^(\.?[\w.$]+):")
_JUMP = re.compile(r"^\s+j\w*\s+(\.?[\w.$]+)")
_PSQRT = re.compile(r"^\s*v?sqrtp([sd])\s+.*%([xyz])mm")
_STORE = re.compile(r"^v?(mov\w*|maskmov\w*)\s+%[xyz]mm\d+,\s*.*\)(\s*\{%k\d\})?$")
_LANES = {("d", "x"): 2, ("d", "y"): 4, ("d", "z"): 8, ("s", "x"): 4, ("s", "y"): 8,
          ("s", "z"): 16}


def lane_loop(asm: str) -> list[str] | None:
    """The instructions of the smallest loop (backward jump) around a packed square root."""
    lines = asm.splitlines()
    labels = {}
    for i, line in enumerate(lines):
        m = _LABEL.match(line.strip())
        if m:
            labels[m.group(1)] = i
    roots = [i for i, line in enumerate(lines) if _PSQRT.match(line.strip())]
    best = None
    for i, line in enumerate(lines):
        m = _JUMP.match(line)
        if not m or m.group(1) not in labels:
            continue
        a = labels[m.group(1)]
        if any(a <= r <= i for r in roots) and (best is None or i - a < best[1] - best[0]):
            best = (a, i)
    if best is None:
        return None
    body = []
    for line in lines[best[0]:best[1] + 1]:
        s = line.strip()
        if not s or s.startswith((".", "#", ";")) or _LABEL.match(s):
            continue
        body.append(s.split("#")[0].strip())
    return body


def mix(asm: str, mcpu: str | None = None) -> dict | None:
    """Per lane-step counts of the lane loop: instructions, stores, loads, packed divisions and
    square roots, masked moves, blends, conversions; lanes per iteration and vector width."""
    body = lane_loop(asm)
    if body is None:
        return None
    ops = Counter(s.split()[0] for s in body)
    lanes = 0
    width = None
    for s in body:
        m = _PSQRT.match(s)
        if m:
            lanes += _LANES[(m.group(1), m.group(2))]
            width = {"x": 16, "y": 32, "z": 64}[m.group(2)]
    if lanes == 0:
        return None
    stores = sum(1 for s in body if _STORE.match(s))
    mem = sum(1 for s in body if "(" in s)
    per = lambda n: round(n / lanes, 2)  # noqa: E731
    count = lambda pat: sum(v for k, v in ops.items() if re.match(pat, k))  # noqa: E731
    out = {
        "lanes_per_iteration": lanes,
        "vector_bytes": width,
        "instructions": per(len(body)),
        "stores": per(stores),
        "loads": per(mem - stores),
        "divisions": per(count(r"v?divp[sd]")),
        "square_roots": per(count(r"v?sqrtp[sd]")),
        "scalar_div_sqrt": per(count(r"v?(div|sqrt)s[sd]")),
        "masked_moves": per(count(r"v?p?maskmov")),
        "blends": per(count(r"v?p?blendv")),
        "conversions": per(count(r"v?cvt")),
        "int64_ops": per(count(r"vp\w+q$")),
        "masked_stores": per(sum(1 for s in body if _STORE.match(s) and "{%k" in s)),
        "stale_all_ones": stale_all_ones(body),
    }
    if mcpu:
        cycles = mca_cycles(body, mcpu)
        if cycles is not None:
            out["mca_cycles"] = round(cycles / lanes, 2)
    return out


_ALL_ONES = re.compile(r"^vpternlog[dq]\s+\$(?:255|0xff),\s*%([xyz]mm\d+),\s*%\1,\s*%\1$")
_ZERO_IDIOM = re.compile(r"^v?p?xor\w*\s+%([xyz]mm\d+),\s*%\1,\s*%\1$")


def stale_all_ones(body: list[str]) -> int:
    """How many all-ones registers the loop makes with ``vpternlogd $255, r, r, r`` where r
    was last written by an instruction of the loop itself. LLVM makes −1 that way (for x + 1
    it computes x − (−1)); the instruction reads r, a false dependency the CPU honours (Zen 5
    does), so when r's last writer ends a long chain (the update's square root and
    divisions), every iteration waits for the one before: the lane loop ran 3.5× slower
    (``kernel_bisect.py --asm``)."""
    def written(s):         # the destination register (AT&T: the last operand), if a vector one
        m = re.search(r",\s*%([xyz]mm\d+)(\s*\{%k\d\})*(\s*\{z\})?$", s)
        return None if m is None or _STORE.match(s) else m.group(1)[1:]

    regs = [written(s) for s in body]
    stale = 0
    for i, s in enumerate(body):
        m = _ALL_ONES.match(s)
        if not m:
            continue
        n = m.group(1)[1:]
        for k in range(1, len(body)):              # back through the loop, wrapping round
            j = (i - k) % len(body)
            if regs[j] == n:
                stale += not _ZERO_IDIOM.match(body[j])
                break
    return stale


def mca_cycles(body: list[str], mcpu: str, iterations: int = 200) -> float | None:
    """llvm-mca's estimate of cycles per iteration of ``body`` on ``mcpu`` (None: no tool)."""
    tool = shutil.which("llvm-mca")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loop.s"
        path.write_text("\n".join(body) + "\n")
        r = subprocess.run([tool, f"-mcpu={mcpu}", f"-iterations={iterations}", str(path)],
                           capture_output=True, text=True)
    m = re.search(r"Total Cycles:\s+(\d+)", r.stdout)
    return int(m.group(1)) / iterations if m else None


def host_cpu() -> str | None:
    """LLVM's name of the host CPU (as numba's ``llvmlite`` sees it), for llvm-mca."""
    try:
        import llvmlite.binding as llvm

        return llvm.get_host_cpu_name()
    except Exception:         # pragma: no cover - llvmlite comes with numba
        return None


def gcc_asm(cc: str, source: Path, flags: list[str], defines: list[str]) -> str | None:
    """gcc's assembly of ``source`` with the stick's flags (minus -shared/-fPIC)."""
    keep = [f for f in flags if f not in ("-shared",)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stick.s"
        r = subprocess.run([cc, *keep, *defines, "-S", str(source), "-o", str(out)],
                           capture_output=True, text=True)
        return out.read_text() if r.returncode == 0 else None


def block_functions(name: str = "run_block") -> dict:
    """{id: dispatcher} of every numba dispatcher alive in this process whose Python function
    is called ``name`` and has been compiled (the toolkit's per-block function of the blocked
    kernel). Found through the garbage collector, so it does not depend on where the engine
    caches its kernels: take the ones that appear after a run to get that run's."""
    import gc

    from numba.core.dispatcher import Dispatcher

    out = {}
    for obj in gc.get_objects():
        try:
            if isinstance(obj, Dispatcher) and obj.py_func.__name__ == name and obj.signatures:
                out[id(obj)] = obj
        except ReferenceError:      # a dead weak proxy
            continue
    return out


def dispatcher_asm(dispatcher) -> str | None:
    """The assembly of a numba dispatcher's first compiled signature."""
    try:
        return dispatcher.inspect_asm(dispatcher.signatures[0])
    except Exception:       # pragma: no cover - numba internals moved
        return None
