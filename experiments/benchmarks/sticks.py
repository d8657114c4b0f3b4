"""The C measuring sticks of target 1 (``reference.c``): build, vectorisation report, calls.

Each stick is one compilation of ``reference.c`` (float64/float32 × problem × statistics), so
the compiler's vectorisation report (``-fopt-info-vec-all``) of a compilation speaks of that
stick alone. A stick counts as vectorised when the report says "loop vectorized" at its lane
loop (the line marked ``LANE LOOP`` or the ``#pragma omp simd`` above it); otherwise targets
measured against it are INVALID, and the report's "missed" lines for that loop say why.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "reference.c"
#: -ffp-contract=off: no fused multiply-add (the toolkit rounds every product); -fno-math-errno:
#: sqrt is an instruction; -fno-trapping-math: floating-point exceptions are not observed (the
#: default of LLVM, hence of numba), which lets gcc turn a select before a division into a
#: vector blend ("control flow in loop" otherwise). None of them changes an IEEE result.
FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off", "-fno-trapping-math",
         "-fopenmp", "-shared", "-fPIC"]
PROBLEMS = {"periodic-linear": 0, "bernoulli-linear": 1}
STATS = {"update": 0, "bare": 1, "same": 2}     # update only (context), regret, full
DTYPES = ("float64", "float32")
N_LANE_OUT, N_ACC_OUT, N_CNT_OUT = 6, 7, 4


@dataclass
class Stick:
    dtype: str
    problem: str
    stats: str
    path: Path | None = None
    defines: list = field(default_factory=list)     # the -D flags of this stick
    lib: ctypes.CDLL | None = None
    error: str | None = None
    vectorized: bool = False
    vector_bytes: int | None = None
    lane_loop_lines: tuple = ()
    optimized: list = field(default_factory=list)   # report lines at the lane loop
    missed: list = field(default_factory=list)      # first "missed" lines at the lane loop

    @property
    def name(self) -> str:
        return f"{self.dtype}/{self.problem}/{self.stats}"

    def describe(self) -> dict:
        return {"vectorized": self.vectorized, "vector_bytes": self.vector_bytes,
                "lane_loop_lines": list(self.lane_loop_lines), "report": self.optimized,
                "missed": self.missed, "error": self.error}


def lane_loop_lines(source: Path = SOURCE) -> tuple:
    """Line numbers gcc may give the lane loop: its ``for`` (marked LANE LOOP) and the loop
    body's first line."""
    lines = source.read_text().splitlines()
    for n, text in enumerate(lines, start=1):
        if "LANE LOOP" in text and "for" in text:
            return (n, n + 1)
    raise RuntimeError("reference.c has no line marked LANE LOOP")


def parse_report(text: str, lines: tuple, source_name: str = SOURCE.name):
    """(vectorized, vector bytes, optimized lines, missed lines) of the lane loop."""
    pat = re.compile(rf"{re.escape(source_name)}:(\d+):\d+: (optimized|missed): (.*)")
    optimized, missed = [], []
    for raw in text.splitlines():
        m = pat.search(raw.strip())
        if not m or int(m.group(1)) not in lines:
            continue
        (optimized if m.group(2) == "optimized" else missed).append(raw.strip())
    width = None
    vectorized = False
    for line in optimized:
        m = re.search(r"loop vectorized using (\d+) byte vectors", line)
        if m:
            vectorized = True
            width = max(width or 0, int(m.group(1)))
    if any("couldn't vectorize loop" in line for line in missed):
        vectorized = False
    seen = []
    for line in missed:                     # the distinct reasons, in order
        reason = line.split("missed: ", 1)[-1]
        if reason not in seen:
            seen.append(reason)
    return vectorized, width, optimized, seen[:12]


def compiler() -> str | None:
    return shutil.which("gcc") or shutil.which("cc")


def build_one(cc: str, tmp: Path, dtype: str, problem: str, stats: str, lines: tuple,
              blk: int | None = None, extra=()) -> Stick:
    s = Stick(dtype, problem, stats, lane_loop_lines=lines)
    tag = f"{dtype}_{PROBLEMS[problem]}_{STATS[stats]}" + (f"_b{blk}" if blk else "")
    out = tmp / f"stick_{tag}.so"
    log = tmp / f"stick_{tag}.vec.log"
    defs = [f"-DPROBLEM={PROBLEMS[problem]}", f"-DSTATS={STATS[stats]}"]
    if dtype == "float32":
        defs.append("-DREAL32")
    if blk:
        defs.append(f"-DBLK={blk}")
    cmd = [cc, *FLAGS, *defs, *extra, f"-fopt-info-vec-all={log}", str(SOURCE), "-o", str(out)]
    built = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    if built.returncode != 0:
        s.error = built.stderr.strip()[-500:]
        return s
    s.path = out
    s.defines = defs
    s.lib = ctypes.CDLL(str(out))
    s.lib.stick.restype = ctypes.c_int
    text = log.read_text() if log.exists() else ""
    s.vectorized, s.vector_bytes, s.optimized, s.missed = parse_report(text, lines)
    return s


def build_all(tmp: Path, keys=None, blk: int | None = None, extra=()) -> dict | None:
    """The sticks ``keys`` ((dtype, problem, stats) triples; default every one), compiled two
    at a time: {key: Stick}; None without a C compiler."""
    cc = compiler()
    if cc is None:
        return None
    lines = lane_loop_lines()
    if keys is None:
        keys = [(d, p, s) for d in DTYPES for p in PROBLEMS for s in STATS]
    keys = list(dict.fromkeys(keys))
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda k: build_one(cc, tmp, *k, lines, blk, extra), keys))
    return dict(zip(keys, built))


def block_size(source: Path = SOURCE) -> int:
    """The default block (instances per block) of reference.c."""
    m = re.search(r"#define BLK (\d+)", source.read_text())
    return int(m.group(1)) if m else -1


def _p(a):
    return a.ctypes.data_as(ctypes.c_void_p)


class Inputs:
    """Per-instance parameters of target 1's batch, as the sticks take them."""

    def __init__(self, alpha, C, c, period, key, thresh, mu, lo=-1.0, hi=1.0,
                 beta1=0.9, beta2=0.99, checkpoints=None):
        self.B = len(alpha)
        f = lambda a: np.ascontiguousarray(a, dtype=np.float64)  # noqa: E731
        self.alpha, self.C, self.c, self.mu = f(alpha), f(C), f(c), f(mu)
        self.period = np.ascontiguousarray(period, dtype=np.int64)
        self.key = np.ascontiguousarray(key, dtype=np.uint64)
        self.thresh = np.ascontiguousarray(thresh, dtype=np.uint64)
        self.lo, self.hi, self.beta1, self.beta2 = lo, hi, beta1, beta2
        self.ck = np.ascontiguousarray(checkpoints if checkpoints is not None else [],
                                       dtype=np.int64)
        B = self.B
        self.lane = np.zeros((N_LANE_OUT, B))
        self.acc = np.zeros((N_ACC_OUT, B))
        self.cnt = np.zeros((N_CNT_OUT, B), dtype=np.int64)
        self.rec = np.zeros((B, max(1, len(self.ck))))


def run(stick: Stick, inp: Inputs, T: int, threads: int = 1) -> int:
    """Run the stick (results in ``inp.lane``, ``inp.acc``, ``inp.cnt``, ``inp.rec``)."""
    return stick.lib.stick(
        inp.B, T, _p(inp.alpha), ctypes.c_double(inp.beta1), ctypes.c_double(inp.beta2),
        _p(inp.C), _p(inp.c), _p(inp.period), _p(inp.key), _p(inp.thresh), _p(inp.mu),
        ctypes.c_double(inp.lo), ctypes.c_double(inp.hi), _p(inp.ck), len(inp.ck),
        _p(inp.lane), _p(inp.acc), _p(inp.cnt), _p(inp.rec), threads)


def layout():
    """The toolkit's row indices (amsgrad_theory.engine.layout, or the older kernels module)."""
    import importlib

    for name in ("amsgrad_theory.engine.layout", "amsgrad_theory.engine.kernels",
                 "amsgrad_theory.kernels"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("no module of the toolkit holds its row layout")


def compare(result, inp: Inputs, stats: str) -> dict:
    """Which of the stick's outputs equal the toolkit run's bit for bit (by quantity), read
    through the run's per-instance accessors (lane, acc, cnt, rec)."""
    K = layout()
    st = result._state
    B = inp.B

    def rows(get, row, dtype=np.float64):
        return np.array([get(row, b)[0] for b in range(B)], dtype=dtype)

    same = lambda a, b: bool(np.array_equal(a, b))  # noqa: E731
    out = {"x_T": same(rows(st.lane, K.X), inp.lane[0])}
    if stats == "update":
        return out
    out.update({"m": same(rows(st.lane, K.M), inp.lane[1]),
                "v": same(rows(st.lane, K.V), inp.lane[2]),
                "vhat": same(rows(st.lane, K.VH), inp.lane[3]),
                "loss": same(rows(st.acc, K.LOSS), inp.acc[0]),
                "expected_loss": same(rows(st.acc, K.EXPECTED), inp.acc[1]),
                "G": same(rows(st.acc, K.S0), inp.acc[2])})
    if len(inp.ck):
        rec = np.array([np.asarray(st.rec(b))[:, 1] for b in range(B)], dtype=np.float64)
        out["checkpoint_loss"] = same(rec, inp.rec[:, :len(inp.ck)])
    if stats == "same":
        cnt = lambda row: rows(st.cnt, row, np.int64)  # noqa: E731
        out.update({
            "eta_T": same(rows(st.lane, K.EPREV), inp.lane[4])
            and same(rows(st.lane, K.HPREV), inp.lane[4]),
            "max_rise": same(rows(st.lane, K.EMAX), inp.lane[5])
            and same(rows(st.lane, K.HMAX), inp.lane[5]),
            "sum_g2": same(rows(st.acc, K.SG2), inp.acc[3]),
            "max_abs_g": same(rows(st.acc, K.MAG), inp.acc[4]),
            "sum_b1_root_over_alpha": same(rows(st.acc, K.B1), inp.acc[5]),
            "energy": same(rows(st.acc, K.ENERGY), inp.acc[6]),
            "rises": same(cnt(K.ECNT), inp.cnt[0]) and same(cnt(K.HCNT), inp.cnt[0]),
            "step_of_max_rise": same(cnt(K.ETMAX), inp.cnt[1])
            and same(cnt(K.HTMAX), inp.cnt[1]),
            "first_rise": same(cnt(K.EFIRST), inp.cnt[2]) and same(cnt(K.HFIRST), inp.cnt[2]),
            "vhat_decreases": same(cnt(K.VHDEC), inp.cnt[3]),
        })
    return out
