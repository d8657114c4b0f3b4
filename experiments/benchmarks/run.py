"""Benchmarks of amsgrad-theory against the measuring sticks of issue 4, side by side.

Run:  .venv/bin/python experiments/benchmarks/run.py [--quick] [--json FILE] [--rounds N]
      [--only 1,2,...]

Every target times its contestants interleaved (round-robin inside one process) and reports
medians over rounds, and the median of the per-round ratios. Nothing here asserts speed: the
machine is shared and noisy; the printed table and the JSON are the result.

Targets (see README, "Performance"):
 1  batched closed-form simulation (periodic-linear, bernoulli-linear; B = 4096, d = 1,
    T = 20 000, float64 and float32, one core) vs VECTORISED C loops (reference.c, compiled
    now with the system compiler, one compilation per stick; sticks.py): statistics="regret"
    vs the BARE loop (the same update, the regret's accumulators, the non-finite check),
    statistics="full" vs the SAME-STATISTICS loop; x_T and every statistic compared bit for
    bit; float32 / float64; two cores vs one; compile time cold and warm. gcc's
    vectorisation report (-fopt-info-vec-all) says whether each stick's lane loop
    vectorised: a ratio against one that did not is INVALID. The instruction mix of both
    lane loops (per lane-step; asm_mix.py) is the measured reason for a miss;
    obstacles.py measures what each feature of the toolkit's kernel costs.
 2  vs torch.optim.Adam(amsgrad=True) (foreach and fused) stepping the same batch as one
    parameter tensor: speed and agreement of x_T.
 3  large state with a generic gradient oracle (B = 1, d = 10^7, float32) vs the memory
    bandwidth bound for the streams the step touches (measured in-place bandwidth).
 4  abstraction overhead: the numpy engine vs a hand-written numpy loop of the same
    computation (B = 4096, d = 1 and B = 1, d = 10^6).
 5  arbitrary precision: arb:100 vs mpmath:30 through the toolkit; the toolkit's mpmath path
    vs a raw mpmath loop computing the same statistics.
 6  memory: peak RSS of T = 10^5 and T = 10^7 runs (B = 1, streaming statistics only).
 7  GPU: the batched torch path on CUDA (float32, float64), when a GPU is present.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from amsgrad_theory import get_problem, simulate  # noqa: E402
from amsgrad_theory.verify.fidelity import ulps  # noqa: E402

sys.path.insert(0, str(HERE))
import asm_mix  # noqa: E402
import sticks  # noqa: E402


def engine_module(name: str):
    """``amsgrad_theory.engine.<name>`` (``amsgrad_theory.<name>`` before the engine package)."""
    try:
        return importlib.import_module(f"amsgrad_theory.engine.{name}")
    except ImportError:
        return importlib.import_module(f"amsgrad_theory.{name}")


SIMULATE_MODULE = engine_module("simulate")

# ------------------------------------------------------------------------------------------
# timing
# ------------------------------------------------------------------------------------------

def interleaved(contestants: dict, rounds: int) -> dict:
    """Time each callable once per round, round-robin; medians and per-round times."""
    times = {name: [] for name in contestants}
    for _ in range(rounds):
        for name, fn in contestants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: {"median_s": statistics.median(ts), "rounds_s": ts}
            for name, ts in times.items()}


def ratio(times: dict, num: str, den: str) -> float:
    """Median over rounds of time[den]/time[num] (> 1: num is faster)."""
    return statistics.median(b / a for a, b in zip(times[num]["rounds_s"],
                                                   times[den]["rounds_s"]))


# ------------------------------------------------------------------------------------------
# target 1: batched closed-form simulation vs vectorised C loops
# ------------------------------------------------------------------------------------------

#: what each toolkit statistics mode is measured against (sticks.STATS)
STICK_OF = {"regret": "bare", "full": "same"}


def compile_elsewhere(runs: list[dict]) -> dict:
    """Compile the toolkit kernels of ``runs`` in a child process, which saves them to the
    disk cache, and return the assembly of each run's lane loop (``tag`` → text or None).

    The timed process then loads the kernels from disk, as every process after the first on
    a machine does. Timed in the process that compiled it, the same kernel can run at another
    speed: AMSGrad with full statistics (float64, B = 4096, T = 2·10⁴, Zen 5) took 0.24 s
    per call there and 0.13–0.15 s in the two processes that loaded its object code, every
    repetition alike; float32 went the other way (``compile_place.py``). Each run:
    ``variant``, ``problem`` and ``instances`` (a few are enough: a kernel depends on the
    problem's family, not its size), ``hyperparameters``, ``arithmetic``, ``statistics``,
    ``steps`` (as timed: the steps decide whether the underflow watch is compiled in) and
    ``tag``. With the disk cache off
    (``AMSGRAD_THEORY_NUMBA_CACHE=0``) nothing can be handed over: {} (the timed process
    compiles, and its own assembly is used)."""
    if not importlib.import_module("amsgrad_theory.engine.compiled").DISK_CACHE:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "runs.json"
        out = Path(tmp) / "asm.json"
        spec.write_text(json.dumps({"runs": runs, "out": str(out)}))
        r = subprocess.run([sys.executable, str(Path(__file__).resolve()),
                            "--compile-kernels", str(spec)], capture_output=True, text=True,
                           cwd=ROOT)
        if r.returncode != 0:
            print(f"compiling the kernels in a child process failed; they compile here:\n"
                  f"{r.stderr[-2000:]}", file=sys.stderr)
            return {}
        return json.loads(out.read_text())


def _compile_kernels(spec_path: str) -> int:
    """The child of :func:`compile_elsewhere`."""
    compiled = importlib.import_module("amsgrad_theory.engine.compiled")
    engines = importlib.import_module("amsgrad_theory.engine.engines")
    spec = json.loads(Path(spec_path).read_text())
    asm = {}
    for run in spec["runs"]:
        problem = get_problem(run["problem"], instances=run["instances"])

        def once():
            # the kernel's own code holds a copy of the block function, optimised again
            # with it (AMSGrad float64: 7.4 against 8.0 instructions per lane-step with
            # regret statistics, 14.25 against 15.25 with all): that copy is what a process
            # that loads the kernel from disk runs, so its lane loop is the one read
            before = set(engines._KERNELS)
            simulate(run["variant"], problem, steps=run["steps"], arithmetic=run["arithmetic"],
                     hyperparameters=run["hyperparameters"], statistics=run["statistics"])
            new = [engines._KERNELS[k][0] for k in engines._KERNELS if k not in before]
            if len(new) != 1:
                return None
            kernel = getattr(new[0], "__wrapped__", new[0])
            text = asm_mix.dispatcher_asm(kernel)
            return text if text and asm_mix.lane_loop(text) else None

        asm[run["tag"]] = once()            # compiles and saves it, or loads it from disk
        if asm[run["tag"]] is None:         # it was on disk: compile it again here to read it
            compiled.DISK_CACHE = False
            engines._KERNELS.clear()
            try:
                asm[run["tag"]] = once()
            finally:
                compiled.DISK_CACHE = True
                engines._KERNELS.clear()
    Path(spec["out"]).write_text(json.dumps(asm))
    return 0


T1_GOALS = {"regret": 0.6, "full": 0.7, "float32_over_float64": 1.7, "two_cores": 1.8}


def target1_plan(quick: bool) -> list:
    """(problem, dtype, statistics) measured; --quick keeps three (each costs a compile)."""
    if quick:
        return [("periodic-linear", "float64", "full"), ("periodic-linear", "float32", "regret"),
                ("bernoulli-linear", "float64", "full")]
    return [(p, d, s) for p in sticks.PROBLEMS for d in sticks.DTYPES for s in STICK_OF]


def target1(built: dict, B: int, T: int, rounds: int, quick: bool) -> dict:
    """The toolkit's blocked numba kernel vs vectorised C loops of the same computation.

    Per problem, dtype and statistics mode: toolkit (``statistics="regret"`` / ``"full"``) vs
    the BARE stick (the update and the regret's accumulators) / the SAME-STATISTICS stick,
    interleaved; x_T and every statistic compared bit for bit; the toolkit's float32/float64
    throughput; two cores vs one. A ratio whose stick's lane loop did not vectorise (gcc's
    report) is marked invalid. The instruction mix of both lane loops is the measured reason.
    """
    import numba

    from amsgrad_theory.arithmetic.floats import parse_float
    from amsgrad_theory.problems.rng import make_hash, threshold

    C = np.linspace(2, 10, B)
    c = np.ones(B)
    alpha = 0.1 * (1 + np.arange(B) % 4)
    period = np.full(B, 3, dtype=np.int64)
    seeds = np.arange(B)
    key = np.array([make_hash(int)[0](int(s)) for s in seeds], dtype=np.uint64)
    p = "0.3"
    thresh = np.full(B, threshold(p), dtype=np.uint64)
    hps = [{"alpha": repr(float(a)), "beta1": "0.9", "beta2": "0.99"} for a in alpha]
    specs = {
        "periodic-linear": ("periodic-linear:c=1,period=3",
                            [{"C": repr(float(v))} for v in C]),
        "bernoulli-linear": (f"bernoulli-linear:c=1,p={p}",
                             [{"C": repr(float(v)), "seed": str(s)} for v, s in zip(C, seeds)]),
    }
    problems = {name: get_problem(spec, instances=inst) for name, (spec, inst) in specs.items()}
    ck = SIMULATE_MODULE.checkpoint_steps(T)
    plan = target1_plan(quick)
    mcpu = asm_mix.host_cpu()
    cc = sticks.compiler()
    out = {"B": B, "steps": T, "block": sticks.block_size(), "compiler_flags": sticks.FLAGS,
           "sticks": {s.name: s.describe() for s in built.values()}, "targets": [],
           "machine_cpu": mcpu}

    def run_toolkit(problem, dtype="float64", stats="regret", threads=1):
        numba.set_num_threads(threads)
        return simulate("amsgrad", problem, steps=T, arithmetic=f"{dtype}:numba",
                        hyperparameters=hps, statistics=stats)

    def target(name, value, goal, stick=None, context=None, valid=True, why=None):
        if stick is not None and not stick.vectorized:
            valid, why = False, f"the {stick.name} C loop's lane loop did not vectorise"
        out["targets"].append({"target": name, "value": value, "goal": goal, "valid": valid,
                               "invalid_because": None if valid else why,
                               "stick": stick.name if stick else None, "context": context})

    # the kernels compile in a child process and load here from disk (compile_elsewhere)
    elsewhere = compile_elsewhere([
        {"variant": "amsgrad", "problem": specs[p][0], "instances": specs[p][1][:4],
         "hyperparameters": hps[:4], "arithmetic": f"{d}:numba", "statistics": s,
         "steps": T, "tag": f"{p} {d}/{s}"} for p, d, s in plan])
    out["kernels"] = ("compiled in a child process, loaded from the disk cache" if elsewhere
                      else "compiled in this process (disk cache off)")
    for name, problem in problems.items():
        todo = [(d, s) for p, d, s in plan if p == name]
        if not todo:
            continue
        mu = np.array([parse_float(str(q.get("mu", "0"))) for q in problem.params])
        entry = {"first_call_s": {}, "warm_call_s": {}, "bitwise": {}}
        contestants = {}
        buffers = {}
        tk_asm = {}
        for dtype, stats in todo:
            kind = STICK_OF[stats]
            tag = f"{dtype}/{stats}"
            before = asm_mix.block_functions()
            t0 = time.perf_counter()
            res = run_toolkit(problem, dtype, stats)     # loads the kernel (or compiles it)
            entry["first_call_s"][tag] = time.perf_counter() - t0
            new = [f for k, f in asm_mix.block_functions().items() if k not in before]
            if elsewhere.get(f"{name} {tag}"):
                tk_asm[tag] = elsewhere[f"{name} {tag}"]
            elif len(new) == 1:           # this run's per-block function: its lane loop
                tk_asm[tag] = asm_mix.dispatcher_asm(new[0])
            t0 = time.perf_counter()
            res = run_toolkit(problem, dtype, stats)
            entry["warm_call_s"][tag] = time.perf_counter() - t0
            contestants[f"toolkit {tag}"] = (lambda d=dtype, s=stats:
                                            run_toolkit(problem, d, s))
            for k in (kind, "update"):
                st = built[(dtype, name, k)]
                if st.lib is None:
                    continue
                inp = buffers.setdefault((dtype, k), sticks.Inputs(
                    alpha, C, c, period, key, thresh, mu, checkpoints=ck))
                sticks.run(st, inp, T)
                if k == kind:
                    entry["bitwise"][tag] = sticks.compare(res, inp, kind)
                contestants[f"C {dtype}/{k}"] = (lambda st=st, inp=inp: sticks.run(st, inp, T))
        times = interleaved(contestants, rounds)
        rate = {k: B * T / v["median_s"] for k, v in times.items()}
        entry["instance_steps_per_s"] = rate
        entry["ratios"] = {}
        for dtype, stats in todo:
            kind = STICK_OF[stats]
            stick = built[(dtype, name, kind)]
            tag = f"{dtype}/{stats}"
            if f"C {dtype}/{kind}" not in times:
                continue
            r = ratio(times, f"toolkit {tag}", f"C {dtype}/{kind}")
            entry["ratios"][f"{stats} / {kind} C loop, {dtype}"] = r
            target(f"{name}: {stats} statistics / {kind} C loop, {dtype}", r,
                   T1_GOALS[stats], stick)
        for stats in STICK_OF:
            a, b = f"toolkit float32/{stats}", f"toolkit float64/{stats}"
            if a in times and b in times:
                r = ratio(times, a, b)
                kind = STICK_OF[stats]
                ctx = None
                if f"C float32/{kind}" in times and f"C float64/{kind}" in times:
                    ctx = ratio(times, f"C float32/{kind}", f"C float64/{kind}")
                entry["ratios"][f"float32 / float64, {stats}"] = r
                target(f"{name}: float32 / float64 throughput, {stats}", r,
                       T1_GOALS["float32_over_float64"], context=ctx and
                       f"the {kind} C loops' own: {ctx:.2f}")
        # two cores vs one: the toolkit's first measured mode, and its C stick
        dtype, stats = todo[0]
        kind = STICK_OF[stats]
        st = built[(dtype, name, kind)]
        inp = buffers[(dtype, kind)]
        pair = {
            "toolkit2": lambda: run_toolkit(problem, dtype, stats, 2),
            "toolkit1": lambda: run_toolkit(problem, dtype, stats, 1),
            "C2": lambda: sticks.run(st, inp, T, 2), "C1": lambda: sticks.run(st, inp, T, 1),
        }
        # each once untimed (the first two-thread call starts numba's threads), then as many
        # rounds as the one-core rows (with two rounds, one run of five read 1.41 where the
        # others read 1.75–1.87, the C loop 2.00 in all)
        interleaved(pair, 1)
        two = interleaved(pair, rounds)
        entry["two_core_speedup"] = ratio(two, "toolkit2", "toolkit1")
        entry["C_two_core_speedup"] = ratio(two, "C2", "C1")
        entry["two_core_mode"] = f"{dtype}/{stats}"
        # the machine gave two free cores only if the C loop itself scaled
        free = entry["C_two_core_speedup"] >= T1_GOALS["two_cores"]
        target(f"{name}: 2 cores / 1 core, {dtype}/{stats}", entry["two_core_speedup"],
               T1_GOALS["two_cores"], st,
               context=f"the C loop's own: {entry['C_two_core_speedup']:.2f}", valid=free,
               why="the C loop itself did not scale to the goal: two cores were not free")
        numba.set_num_threads(1)
        flat = [v for eq in entry["bitwise"].values() for v in eq.values()]
        entry["bitwise_equal_x_T"] = all(eq["x_T"] for eq in entry["bitwise"].values())
        entry["bitwise_equal_loss"] = all(eq.get("loss", True)
                                          for eq in entry["bitwise"].values())
        entry["bitwise_equal_all_statistics"] = all(flat)
        # the measured reason: the instruction mix of both lane loops
        mixes = {}
        for dtype, stats in todo:
            kind = STICK_OF[stats]
            m = {}
            a = tk_asm.get(f"{dtype}/{stats}")
            if a:
                m["toolkit"] = asm_mix.mix(a, mcpu)
            st = built[(dtype, name, kind)]
            if cc and st.lib is not None:
                a = asm_mix.gcc_asm(cc, sticks.SOURCE, sticks.FLAGS, st.defines)
                if a:
                    m["C"] = asm_mix.mix(a, mcpu)
            mixes[f"{dtype}/{stats}"] = m
        entry["instruction_mix"] = mixes
        out[name] = entry
    # cold compile in a fresh process
    code = ("import time; t=time.perf_counter(); from amsgrad_theory import simulate; "
            "simulate('amsgrad','reddi-online:C=3',steps=10,arithmetic='float64:numba'); "
            "print(time.perf_counter()-t)")
    cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    out["compile_cold_process_s"] = float(cold.stdout.strip() or "nan")
    return out


# ------------------------------------------------------------------------------------------
# target 2: vs torch.optim.Adam(amsgrad=True)
# ------------------------------------------------------------------------------------------

def bare_rule_loop(variant_name: str, T: int, hyperparameters: dict, lo: float, hi: float):
    """The toolkit's own update rule (:func:`amsgrad_theory.algorithms.make_rule`) in a bare
    numba loop on Theorem 1's periodic gradients: no statistics, no checkpoints, no error
    checks, coefficients once per step. It is the ceiling of any path that computes the same
    arithmetic (its x_T is bit-identical to the toolkit's)."""
    import numba

    from amsgrad_theory.algorithms import get_variant, make_rule
    from amsgrad_theory.arithmetic.floats import numba_namespace

    ns = numba_namespace("float64")         # the compiled engine's lanes and scalars
    V = get_variant(variant_name)
    hp = V.hyperparameters(**hyperparameters)
    rule = make_rule(V.specialize([hp]), ns, ns, numba.njit(error_model="numpy", inline="always"))
    update, powers, finish = rule.update, rule.powers, rule.finish
    alpha, eps = float(hp["alpha"]), float(hp["eps"])
    b1, b2 = float(hp["beta1"]), float(hp["beta2"])

    @numba.njit(error_model="numpy")
    def loop(C, x):
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        vh = np.zeros_like(x)
        for t in range(1, T + 1):
            p = powers(float(t), b1, b2, 1.0)
            co = finish(alpha, eps, 0.0, 0.0, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7],
                        p[8])
            for j in range(x.shape[0]):
                g = C[j] if t % 3 == 1 else -1.0
                mj, vj, vhj, xh, _, _, _, _ = update(x[j], m[j], v[j], vh[j], g, co)
                m[j] = mj
                v[j] = vj
                vh[j] = vhj
                x[j] = min(max(xh, lo), hi)
        return x

    return loop


def target2(B, T, rounds):
    import numba
    import torch

    numba.set_num_threads(1)
    torch.set_num_threads(1)
    C = np.linspace(2, 10, B)
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": repr(float(v))} for v in C])
    Ct = torch.tensor(C, dtype=torch.float64)

    def torch_run(**flags):
        p = torch.zeros(B, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=1e-3, amsgrad=True, **flags)
        big = torch.empty(B, dtype=torch.float64)
        for t in range(1, T + 1):
            big.copy_(Ct) if t % 3 == 1 else big.fill_(-1.0)
            p.grad = big
            opt.step()
            with torch.no_grad():
                p.clamp_(-1.0, 1.0)
        return p.detach().numpy().copy()

    def toolkit(statistics="regret"):
        return simulate("amsgrad-pytorch", problem, steps=T, arithmetic="float64:numba",
                        statistics=statistics)

    compile_elsewhere([
        {"variant": "amsgrad-pytorch", "problem": "periodic-linear:c=1,period=3",
         "instances": [{"C": repr(float(v))} for v in C[:4]], "hyperparameters": None,
         "arithmetic": "float64:numba", "statistics": s, "steps": T, "tag": s}
        for s in ("regret", "full")])
    bare = bare_rule_loop("amsgrad-pytorch", T, {"alpha": "0.001"}, -1.0, 1.0)
    x_bare = bare(C, np.zeros(B))
    toolkit()
    toolkit("full")
    x_tk = toolkit().table()["final_x"][:, 0]
    x_full = toolkit("full").table()["final_x"][:, 0]
    x_fe = torch_run(foreach=True)
    x_fu = torch_run(fused=True)
    times = interleaved({"toolkit": toolkit, "toolkit_full": lambda: toolkit("full"),
                         "foreach": lambda: torch_run(foreach=True),
                         "fused": lambda: torch_run(fused=True),
                         "bare_rule": lambda: bare(C, np.zeros(B))}, rounds)
    return {
        "instance_steps": B * T,
        "toolkit_instance_steps_per_s": B * T / times["toolkit"]["median_s"],
        "toolkit_full_statistics_instance_steps_per_s":
            B * T / times["toolkit_full"]["median_s"],
        "foreach_instance_steps_per_s": B * T / times["foreach"]["median_s"],
        "fused_instance_steps_per_s": B * T / times["fused"]["median_s"],
        "speedup_vs_foreach": ratio(times, "toolkit", "foreach"),
        "speedup_vs_fused": ratio(times, "toolkit", "fused"),
        "full_statistics_speedup_vs_fused": ratio(times, "toolkit_full", "fused"),
        "bare_rule_instance_steps_per_s": B * T / times["bare_rule"]["median_s"],
        "bare_rule_speedup_vs_fused": ratio(times, "bare_rule", "fused"),
        "bare_rule_speedup_vs_foreach": ratio(times, "bare_rule", "foreach"),
        "identical_x_bare_rule_vs_toolkit": bool(np.array_equal(x_bare, x_tk)),
        "target": 6.0,
        "max_abs_diff_x_vs_foreach": float(np.max(np.abs(x_tk - x_fe))),
        "max_abs_diff_x_vs_fused": float(np.max(np.abs(x_tk - x_fu))),
        "identical_x_full_vs_regret_statistics": bool(np.array_equal(x_tk, x_full)),
        "note": "toolkit: statistics='regret' (torch keeps none); toolkit_full keeps every "
                "streaming statistic (effective-step record, Σg², bound terms); bare_rule: "
                "the same update arithmetic with nothing else (the ceiling of equal results)",
    }


# ------------------------------------------------------------------------------------------
# target 3: large state, generic oracle, vs the memory-bandwidth bound
# ------------------------------------------------------------------------------------------

def inplace_bandwidth(n: int, rounds: int) -> float:
    """GB/s of a += s·b over float32 arrays (read a, b, write a: 12 bytes/element), 1 thread."""
    import numba

    @numba.njit(error_model="numpy")
    def triad(a, b, s):
        for i in range(a.shape[0]):
            a[i] += s * b[i]

    a = np.ones(n, np.float32)
    b = np.ones(n, np.float32)
    triad(a, b, np.float32(0.5))
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        triad(a, b, np.float32(0.5))
        ts.append(time.perf_counter() - t0)
    return 12 * n / statistics.median(ts) / 1e9


def same_streams_rate(n: int, rounds: int) -> float:
    """Coordinates/s of a loop touching exactly the update pass's streams (g read; x, m, v, v̂
    float32 and Σg² float64 read and written; one float32 write) with a trivial update: the
    rate the memory system allows for that access pattern, whatever the arithmetic."""
    import numba

    @numba.njit(error_model="numpy")
    def touch(g, x, m, v, vh, s2, rise):
        for i in range(g.shape[0]):
            gi = g[i]
            x[i] += gi
            m[i] += gi
            v[i] += gi
            vh[i] += gi
            s2[i] += gi
            rise[i] = gi

    f = [np.ones(n, np.float32) for _ in range(6)]
    s2 = np.ones(n, np.float64)
    touch(f[0], f[1], f[2], f[3], f[4], s2, f[5])
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        touch(f[0], f[1], f[2], f[3], f[4], s2, f[5])
        ts.append(time.perf_counter() - t0)
    return n / statistics.median(ts)


def target3(d, T, rounds):
    import numba

    oracle_module = engine_module("oracle")
    STREAMS, GradientOracle = oracle_module.STREAMS, oracle_module.GradientOracle
    simulate_oracle = oracle_module.simulate_oracle

    numba.set_num_threads(1)
    base = np.random.default_rng(0).standard_normal(d).astype(np.float32)

    def gradient(t, x, out):
        np.multiply(base, np.float32(1.0 / np.sqrt(t)), out=out)

    oracle = GradientOracle(gradient, d)
    simulate_oracle("amsgrad", oracle, steps=2, arithmetic="float32", threads=1)
    step_rates, full_rates = [], []
    for _ in range(rounds):
        r = simulate_oracle("amsgrad", oracle, steps=T, arithmetic="float32", threads=1)
        step_rates.append(d * T / r.step_time)
        full_rates.append(d * T / r.wall_time)
    bw = inplace_bandwidth(d, rounds)
    # bytes per coordinate-step of the update pass: g read 4, rise write 4, x m v v̂ r+w 4·8,
    # Σg² float64 r+w 16
    step_bytes = 4 + 4 + 4 * 8 + 16
    bound = bw * 1e9 / step_bytes
    bound_with_oracle = bw * 1e9 / (step_bytes + 4)
    same = same_streams_rate(d, rounds)
    return {
        "same_streams_coordinates_per_s": same,
        "same_streams_fraction_of_bound": same / bound,
        "step_over_same_streams": statistics.median(step_rates) / same,
        "d": d, "steps": T, "streams": STREAMS, "bytes_per_coordinate_step": step_bytes,
        "measured_inplace_bandwidth_GBps": bw,
        "step_coordinate_steps_per_s": statistics.median(step_rates),
        "bound_coordinate_steps_per_s": bound,
        "fraction_of_bound_step": statistics.median(step_rates) / bound,
        "with_oracle_coordinate_steps_per_s": statistics.median(full_rates),
        "fraction_of_bound_with_oracle": statistics.median(full_rates) / bound_with_oracle,
        "target": 0.85,
    }


# ------------------------------------------------------------------------------------------
# target 4: abstraction overhead vs a hand-written numpy loop
# ------------------------------------------------------------------------------------------

def handwritten_numpy(problem_kind, B, d, T, alpha, beta1, beta2, C=None, seed_key=None,
                      active=None):
    """AMSGrad (paper form) with the same statistics as the toolkit, written directly."""
    from amsgrad_theory.problems.rng import TWO23, make_hash

    def zeros(dtype=np.float64):
        return np.zeros((B, d), dtype)

    x, m, v, vh = zeros(), zeros(), zeros(), zeros()
    eprev, emax = np.full((B, d), np.inf), zeros()
    ecnt, efirst, etmax, vhdec = (zeros(np.int64) for _ in range(4))
    loss, G, sg2, mag, b1acc, energy = (zeros() for _ in range(6))
    phase = np.zeros((B, 1), np.int64)
    a = np.asarray(alpha, float).reshape(B, 1)
    if problem_kind == "random":
        U = lambda n: np.asarray(n).astype(np.uint64)  # noqa: E731
        _, draw, bits23 = make_hash(U)
        i = np.arange(d, dtype=np.uint64)[None, :]
        k = U(seed_key)
        mean = bits23(draw(k, U(0), i, U(7))).astype(np.float64) / TWO23 - 0.5
    for t in range(1, T + 1):
        a_t = a / np.sqrt(float(t))
        if problem_kind == "periodic":
            nxt = phase + 1
            phase = np.where(nxt == 3, 0, nxt)
            g = np.where(phase == 1, C.reshape(B, 1), -1.0) + np.zeros((B, d))
        else:
            act = draw(k, U(t), i, U(0)) < U(active)
            u = bits23(draw(k, U(t), i, U(1))).astype(np.float64) / TWO23
            g = np.where(act, 1.0 * (mean + (u - 0.5)), 0.0)
        loss += g * x
        G += g
        sg2 += g * g
        mag = np.maximum(mag, np.abs(g))
        vh_old = vh
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g)
        vh = np.maximum(vh, v)
        root = np.sqrt(vh)
        pos = root > 0
        safe = np.where(pos, root, 1.0)
        xhat = x - a_t * (m / safe)
        eta = np.where(pos, a_t / safe, np.inf)
        vhdec += vh_old > vh
        for _ in range(2):   # η and η̂ (equal for the paper's AMSGrad), as the toolkit tracks both
            finite = np.isfinite(eprev) & np.isfinite(eta)
            rise = finite & (eta > eprev)
            ecnt += rise
            ok = finite & (eprev > 0)
            rel = np.where(ok, np.where(ok, eta, 1.0) / np.where(ok, eprev, 1.0) - 1.0, 0.0)
            better = rise & (rel > emax)
            etmax = np.where(better, t, etmax)
            efirst = efirst + rise * (efirst == 0) * t
            emax = np.maximum(emax, np.where(rise, rel, 0.0))
        b1acc += beta1 * root / a_t
        energy += np.where(pos, a_t * m * m / safe, 0.0)
        x = np.minimum(np.maximum(xhat, -1.0), 1.0)
        eprev = eta
        if not np.all(np.isfinite(x)):
            raise FloatingPointError
    return x


def target4(rounds, quick):
    out = {}
    B, T = (4096, 2000) if not quick else (512, 100)
    C = np.linspace(2, 10, B)
    alpha = 0.1 * (1 + np.arange(B) % 4)
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": repr(float(v))} for v in C])
    hps = [{"alpha": repr(float(a)), "beta1": "0.9", "beta2": "0.99"} for a in alpha]
    times = interleaved({
        "toolkit_numpy": lambda: simulate("amsgrad", problem, steps=T,
                                          arithmetic="float64:numpy", hyperparameters=hps),
        "handwritten": lambda: handwritten_numpy("periodic", B, 1, T, alpha, 0.9, 0.99, C=C),
    }, rounds)
    out["B4096_d1"] = {"B": B, "d": 1, "steps": T,
                       "toolkit_over_handwritten": 1 / ratio(times, "toolkit_numpy",
                                                             "handwritten"),
                       "target_at_most": 1.3}
    d, T2 = (1_000_000, 30) if not quick else (10_000, 5)
    spec = f"random-linear:d={d},seed=3"
    problem = get_problem(spec)
    from amsgrad_theory.problems.rng import make_hash

    key = make_hash(int)[0](3)
    times = interleaved({
        "toolkit_numpy": lambda: simulate("amsgrad", problem, steps=T2,
                                          arithmetic="float64:numpy",
                                          hyperparameters={"alpha": "0.1", "beta1": "0.9",
                                                           "beta2": "0.99"}),
        "handwritten": lambda: handwritten_numpy("random", 1, d, T2, [0.1], 0.9, 0.99,
                                                 seed_key=key, active=2 ** 32),
    }, rounds)
    out["B1_d1e6"] = {"B": 1, "d": d, "steps": T2,
                      "toolkit_over_handwritten": 1 / ratio(times, "toolkit_numpy",
                                                            "handwritten"),
                      "target_at_most": 1.3}
    return out


# ------------------------------------------------------------------------------------------
# target 5: arbitrary precision
# ------------------------------------------------------------------------------------------

def raw_mpmath(T, dps=30, C=3):
    """AMSGrad (paper) on Theorem 1's sequence with the toolkit's statistics, in raw mpmath."""
    import mpmath

    ctx = mpmath.MPContext()
    ctx.dps = dps
    mpf = ctx.mpf
    alpha, b1, b2 = mpf("0.1"), mpf("0.9"), mpf("0.999")
    one, zero, inf = mpf(1), mpf(0), ctx.inf
    w1, w2 = one - b1, one - b2
    Cm, cm = mpf(C), mpf(1)
    x = m = v = vh = zero
    loss = G = sg2 = mag = b1acc = energy = zero
    eprev, emax = inf, zero
    ecnt = efirst = etmax = vhdec = 0
    hprev, hmax = inf, zero
    hcnt = hfirst = htmax = 0
    for t in range(1, T + 1):
        tf = mpf(t)
        a_t = alpha / ctx.sqrt(tf)
        g = Cm if t % 3 == 1 else -cm
        loss += g * x
        G += g
        sg2 += g * g
        mag = mag if mag >= abs(g) else abs(g)
        m = b1 * m + w1 * g
        v = b2 * v + w2 * (g * g)
        vh_new = vh if vh >= v else v
        vhdec += vh > vh_new
        vh = vh_new
        root = ctx.sqrt(vh)
        safe = root if root > 0 else one
        xhat = x - a_t * (m / safe)
        eta = a_t / safe if root > 0 else inf
        hat = eta
        for which in (0, 1):
            prev = eprev if which == 0 else hprev
            new = eta if which == 0 else hat
            finite = ctx.isfinite(prev) and ctx.isfinite(new)
            rise = finite and new > prev
            if rise:
                rel = new / prev - 1
                if which == 0:
                    ecnt += 1
                    efirst = efirst or t
                    if rel > emax:
                        emax, etmax = rel, t
                else:
                    hcnt += 1
                    hfirst = hfirst or t
                    if rel > hmax:
                        hmax, htmax = rel, t
        b1acc += b1 * root / a_t
        energy += a_t * m * m / safe if root > 0 else zero
        x = xhat if xhat >= -1 else -one
        x = x if x <= 1 else one
        eprev, hprev = eta, hat
    stats = {"G": G, "sg2": sg2, "mag": mag, "b1acc": b1acc, "energy": energy,
             "eta": (ecnt, efirst, etmax, emax), "eta_hat": (hcnt, hfirst, htmax, hmax),
             "vhat_decreases": vhdec}
    return x, loss, stats


def build_python_kernel(spec: str):
    """Build the specialised interpreted lane loop of AMSGrad on reddi-online:C=3 once (the
    engine's layout before and after amsgrad_theory.engine.interpreted); returns whether
    specialisation is on for a run of SPECIALIZE_MIN_WORK lane-steps or more."""
    from amsgrad_theory.algorithms import get_variant
    from amsgrad_theory.arithmetic import get_arithmetic
    from amsgrad_theory.problems import get_problem

    ar, variant = get_arithmetic(spec), get_variant("amsgrad")
    problem = get_problem("reddi-online:C=3")
    try:
        interpreted = importlib.import_module("amsgrad_theory.engine.interpreted")
        engines = importlib.import_module("amsgrad_theory.engine.engines")
    except ImportError:
        kernels = engine_module("kernels")
        kernels.make_python_kernel(ar, variant, problem, specialized=True)
        return kernels.SPECIALIZE, SIMULATE_MODULE.SPECIALIZE_MIN_WORK
    xp, sp = ar.namespaces("interpreted")
    interpreted.make_python_kernel(ar, xp, sp, variant, problem, specialized=True)
    return engines.SPECIALIZE, engines.SPECIALIZE_MIN_WORK


def target5(T, rounds):
    build = {}
    for spec in ("arb:100", "mpmath:30"):      # the specialised loop's one-time build, cold
        t = time.perf_counter()
        specialize_on, min_work = build_python_kernel(spec)
        build[spec] = time.perf_counter() - t
    ts = interleaved({
        "arb100": lambda: simulate("amsgrad", "reddi-online:C=3", steps=T, arithmetic="arb:100"),
        "mpmath30": lambda: simulate("amsgrad", "reddi-online:C=3", steps=T,
                                     arithmetic="mpmath:30"),
        "raw_mpmath30": lambda: raw_mpmath(T),
    }, rounds)
    r_tk = simulate("amsgrad", "reddi-online:C=3", steps=T, arithmetic="mpmath:30")
    x_raw, _, _ = raw_mpmath(T)
    return {
        "steps": T,
        "specialized": T >= min_work and specialize_on,
        "specialize_build_s": build,
        "arb_speedup_over_mpmath": ratio(ts, "arb100", "mpmath30"),
        "arb_target": 5.0,
        "toolkit_mpmath_over_raw": 1 / ratio(ts, "mpmath30", "raw_mpmath30"),
        "mpmath_target_at_most": 1.3,
        "toolkit_mpmath_us_per_step": 1e6 * ts["mpmath30"]["median_s"] / T,
        "raw_mpmath_us_per_step": 1e6 * ts["raw_mpmath30"]["median_s"] / T,
        "arb_us_per_step": 1e6 * ts["arb100"]["median_s"] / T,
        "same_x_T_as_raw": str(r_tk.final_x[0]) == str(x_raw),
    }


# ------------------------------------------------------------------------------------------
# target 6: memory
# ------------------------------------------------------------------------------------------

def target6(quick):
    out = {}
    for T in ((10_000, 100_000) if quick else (100_000, 10_000_000)):
        code = ("import resource; from amsgrad_theory import simulate; "
                f"simulate('amsgrad','reddi-figure1',steps={T},arithmetic='float64:numba'); "
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=ROOT)
        out[f"T={T}"] = {"peak_rss_MiB": int(r.stdout.strip().splitlines()[-1]) / 1024}
    keys = list(out)
    out["ratio_large_over_small"] = out[keys[1]]["peak_rss_MiB"] / out[keys[0]]["peak_rss_MiB"]
    return out


# ------------------------------------------------------------------------------------------
# target 7: GPU
# ------------------------------------------------------------------------------------------

def target7(quick):
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    out = {"device": device if device == "cpu" else torch.cuda.get_device_name(0)}
    B, T = (65536, 2000) if device == "cuda" and not quick else (1024, 200 if not quick else 50)
    C = np.linspace(2, 10, B)
    problem = get_problem("periodic-linear:c=1,period=3",
                          instances=[{"C": repr(float(v))} for v in C])
    for dtype in ("float32", "float64"):
        ar = f"torch:{device}:{dtype}"
        # warm: kernels built (the specialised step loop, once) before the timed run
        simulate("amsgrad", problem, steps=min(T, 50), arithmetic=ar)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        run = simulate("amsgrad", problem, steps=T, arithmetic=ar)
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        # x_T against the CPU float path (the compiled engine, same dtype), in units in the
        # last place of the dtype (the GPU's compiler may fuse a·b + c where the CPU rounds
        # twice: the target allows 4)
        cpu = simulate("amsgrad", problem, steps=T, arithmetic=f"{dtype}:numba")
        gap = ulps(run.table()["final_x"][:, 0], cpu.table()["final_x"][:, 0], dtype)
        out[dtype] = {"B": B, "steps": T, "instance_steps_per_s": B * T / dt,
                      "max_ulps_x_T_vs_cpu": int(gap.max()), "x_T_within_4_ulps":
                      bool(gap.max() <= 4), "cpu_path": f"{dtype}:numba"}
    out["pending"] = device != "cuda"
    if device == "cuda":
        # the device's streaming bandwidth (a large device-to-device copy) and the fraction the
        # batched path reaches, counting only the lane state it must read and write per step
        n = 1 << 28
        a = torch.empty(n, dtype=torch.float32, device="cuda")
        b = torch.empty_like(a)
        b.copy_(a)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(10):
            b.copy_(a)
        torch.cuda.synchronize()
        bw = 10 * 2 * 4 * n / (time.perf_counter() - t0)
        out["device_copy_bandwidth_GBps"] = bw / 1e9
        for dtype, size in (("float32", 4), ("float64", 8)):
            # lane state x, x_t, m, v, v̂, η, η̂, max η, max η̂, w (lane dtype) + 9 float64
            # accumulators + 10 int64 counters, each read and written once per step
            per_step = 2 * (10 * size + 9 * 8 + 10 * 8)
            rate = out[dtype]["instance_steps_per_s"]
            out[dtype]["bytes_per_instance_step_lower_bound"] = per_step
            out[dtype]["fraction_of_copy_bandwidth"] = rate * per_step / bw
    return out


# ------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--json", default="benchmark-results.json", metavar="FILE")
    parser.add_argument("--only", default=None, help="comma-separated target numbers")
    parser.add_argument("--compile-kernels", default=None, metavar="SPEC",
                        help=argparse.SUPPRESS)     # the child of compile_elsewhere
    args = parser.parse_args(argv)
    if args.compile_kernels:
        return _compile_kernels(args.compile_kernels)
    quick = args.quick
    rounds = args.rounds or (2 if quick else 5)
    only = {int(v) for v in args.only.split(",")} if args.only else set(range(1, 8))
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "load_average": os.getloadavg()},
               "quick": quick, "rounds": rounds, "command": " ".join([sys.executable] + sys.argv)}
    with tempfile.TemporaryDirectory() as tmp:
        if 1 in only:
            keys = [(d, p, k) for p, d, s in target1_plan(quick)
                    for k in (STICK_OF[s], "update")]
            built = sticks.build_all(Path(tmp), keys)
            broken = [s.error for s in (built or {}).values() if s.lib is None]
            if built is None or broken:
                why = "no C compiler" if built is None else broken[0]
                print(f"reference.c did not compile: {why}", file=sys.stderr)
                results["target1"] = {"skipped": f"reference.c did not compile: {why}"}
            else:
                B, T = (4096, 20_000) if not quick else (512, 500)
                results["target1"] = target1(built, B, T, rounds, quick)
        if 2 in only:
            B, T = (4096, 20_000) if not quick else (512, 200)
            results["target2"] = target2(B, T, rounds)
        if 3 in only:
            d, T = (10_000_000, 20) if not quick else (100_000, 5)
            results["target3"] = target3(d, T, rounds)
        if 4 in only:
            results["target4"] = target4(rounds, quick)
        if 5 in only:
            results["target5"] = target5(20_000 if not quick else 200, rounds)
        if 6 in only:
            results["target6"] = target6(quick)
        if 7 in only:
            results["target7"] = target7(quick)
    results["peak_rss_MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.json).write_text(json.dumps(results, indent=2, default=float))
    print(format_table(results))
    print(f"\nJSON: {args.json}")
    return 0


def format_table(r: dict) -> str:
    rows = []

    def add(target, what, value, goal):
        rows.append((target, what, value, goal))

    t1 = r.get("target1", {})
    for e in t1.get("targets", []):
        value = f"{e['value']:.2f}"
        if not e["valid"]:
            value = f"INVALID {value}"     # see invalid_because in the JSON
        add("1", e["target"] + (f" ({e['context']})" if e.get("context") else ""), value,
            f"≥ {e['goal']}")
    for name in ("periodic-linear", "bernoulli-linear"):
        e = t1.get(name)
        if not e:
            continue
        bad = sorted({f"{tag}: {q}" for tag, eq in e["bitwise"].items()
                      for q, same in eq.items() if not same})
        add("1", f"{name}: x_T and every statistic bitwise = C",
            "True" if not bad else "False: " + ", ".join(bad)[:60], "True")
        for tag, m in e.get("instruction_mix", {}).items():
            tk, c = m.get("toolkit"), m.get("C")
            if not (tk and c):
                continue
            add("1", f"{name} {tag} lane loop per lane-step, toolkit | C:", "", "reason")
            for q in ("instructions", "stores", "loads", "divisions", "square_roots",
                      "masked_moves", "masked_stores", "stale_all_ones",
                      "lanes_per_iteration", "mca_cycles"):
                if q in tk and q in c:
                    add("1", f"    {q}", f"{tk[q]:g} | {c[q]:g}", "")
    if "compile_cold_process_s" in t1:
        add("1", "compile + first run, fresh process (s)",
            f"{t1['compile_cold_process_s']:.1f}", "report")
    t2 = r.get("target2")
    if t2:
        add("2", "toolkit / torch foreach", f"{t2['speedup_vs_foreach']:.1f}×", "≥ 6×")
        add("2", "toolkit / torch fused", f"{t2['speedup_vs_fused']:.1f}×", "≥ 6×")
        add("2", "… with every statistic / fused", f"{t2['full_statistics_speedup_vs_fused']:.1f}×",
            "report")
        add("2", "bare update rule, no statistics / fused",
            f"{t2['bare_rule_speedup_vs_fused']:.1f}×", "ceiling")
        add("2", "max |x_T − torch|", f"{t2['max_abs_diff_x_vs_foreach']:.2e}", "equal")
    t3 = r.get("target3")
    if t3:
        add("3", f"update pass / bandwidth bound ({t3['bytes_per_coordinate_step']} B)",
            f"{t3['fraction_of_bound_step']:.2f}", "≥ 0.85")
        add("3", "same streams, no arithmetic / bound",
            f"{t3['same_streams_fraction_of_bound']:.2f}", "ceiling")
        add("3", "update pass / same streams", f"{t3['step_over_same_streams']:.2f}", "context")
        add("3", "with the oracle's write", f"{t3['fraction_of_bound_with_oracle']:.2f}",
            "report")
    t4 = r.get("target4")
    if t4:
        for k, e in t4.items():
            add("4", f"numpy engine / hand-written ({k})", f"{e['toolkit_over_handwritten']:.2f}",
                "≤ 1.3")
    t5 = r.get("target5")
    if t5:
        add("5", "arb:100 speed / mpmath:30", f"{t5['arb_speedup_over_mpmath']:.1f}×", "≥ 5×")
        add("5", "toolkit mpmath / raw loop", f"{t5['toolkit_mpmath_over_raw']:.2f}", "≤ 1.3")
        b = t5["specialize_build_s"]
        add("5", "specialised loop build, once (arb · mpmath)",
            f"{b['arb:100']:.2f} · {b['mpmath:30']:.2f} s", "report")
    t6 = r.get("target6")
    if t6:
        add("6", "peak RSS, large T / small T", f"{t6['ratio_large_over_small']:.3f}", "≈ 1")
    t7 = r.get("target7")
    if t7:
        state = "pending (no GPU here)" if t7.get("pending") else t7["device"]
        add("7", f"torch batched float32 ({state})",
            f"{t7['float32']['instance_steps_per_s']:.3g}/s", "report")
        if "fraction_of_copy_bandwidth" in t7["float32"]:
            add("7", "float32 state traffic / device copy bandwidth",
                f"{t7['float32']['fraction_of_copy_bandwidth']:.2f}", "≥ 0.5")
        for dtype in ("float32", "float64"):
            add("7", f"max |x_T − {t7[dtype]['cpu_path']}| in {dtype} ulps",
                f"{t7[dtype]['max_ulps_x_T_vs_cpu']}", "≤ 4")
    width = max(len(w) for _, w, _, _ in rows) if rows else 10
    lines = [f"{'#':<2} {'measure':<{width}}  {'value':>12}  target"]
    lines += [f"{t:<2} {w:<{width}}  {v:>12}  {g}" for t, w, v, g in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
