"""Fidelity: the toolkit's framework models against the real libraries, cell by cell.

Every installed framework — PyTorch, Keras 3 (jax and torch backends), optax — runs AMSGrad on
a fixed battery, and the toolkit's model of the same code path and configuration runs on the
same gradients. After every step θ and every state tensor (m, v, v̂) are compared in all bits.

The battery (:class:`Battery`): 20 gradient streams, one per coordinate — the impulse
(1, 0, 0, …), a later small spike, a constant, sign flips, eight random streams with zeros,
sign flips and spikes of ×10 to ×1000, 1/√t, streams whose g² is subnormal in float32 and in
float64, a large one, zeros then ones, three N(0, 1) — under four hyperparameter sets (the
defaults; lr 0.25, β (0.95, 0.9999), ε 1e-10; lr 0.05, β (0.8, 0.99), ε 1e-6; lr 0.0123,
β (0.3, 0.95), ε 3e-9, whose 1 − β1 ≥ ½ takes torch's second lerp branch), from x0 = 0 and
x0 = 0.5, in float32 and float64.

A cell is one (framework, path, configuration, dtype, hyperparameter set, x0); it is
``bit-exact`` or carries the largest distance in ulps and the first step that differs. The
configurations: torch's single-tensor, foreach, fused (its vector body and scalar tail) and
differentiable paths for Adam, Adam with L2 weight decay and AdamW, as one tensor of 20 and as
20 tensors of one; Keras eager (jax with x64 off and on, torch) and jitted (jax), floatx
float32 and float64; optax eager, jitted with ``apply_updates`` and with ``update`` alone, x64
off and on. The PyTorch models run in torch arithmetic (torch's CPU square root is MKL's, not
correctly rounded): each of their cells also says how far the same model in IEEE arithmetic is.

Each framework family runs in a process of its own (Keras' backend and jax's x64 flag are
process-wide): ``python -m amsgrad_theory.verify.fidelity FAMILY OUT.npz STEPS [quick]``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..algorithms import Variant, get_variant
from ..arithmetic import get_arithmetic
from ..engine import simulate
from ..errors import InputError

FRAMEWORKS = ("torch", "keras", "optax")
#: family → (framework, its process-wide configuration)
FAMILIES: dict[str, tuple[str, dict[str, Any]]] = {
    "torch": ("torch", {}),
    "keras-jax": ("keras", {"backend": "jax", "x64": False}),
    "keras-jax-x64": ("keras", {"backend": "jax", "x64": True}),
    "keras-torch": ("keras", {"backend": "torch", "x64": False}),
    "optax": ("optax", {"x64": False}),
    "optax-x64": ("optax", {"x64": True}),
}
#: name → (lr, β1, β2, ε); None: the framework's default (lr 1e-3, β (0.9, 0.999), ε 1e-8 for
#: torch and optax, 1e-7 for Keras)
HYPERPARAMETER_SETS = {
    "defaults": (None, None, None, None),
    "lr0.25-b(0.95,0.9999)-eps1e-10": (0.25, 0.95, 0.9999, 1e-10),
    "lr0.05-b(0.8,0.99)-eps1e-6": (0.05, 0.8, 0.99, 1e-6),
    "lr0.0123-b(0.3,0.95)-eps3e-9": (0.0123, 0.3, 0.95, 3e-9),
}
STARTS = (0.0, 0.5)
KEYS = ("theta", "m", "v", "vhat")
TORCH_CLASSES = {"Adam": ("Adam", 0.0), "Adam-L2": ("Adam", 0.01), "AdamW": ("AdamW", 0.01)}
TORCH_PATHS = {"single": {"foreach": False}, "foreach": {"foreach": True},
               "fused": {"fused": True},
               "differentiable": {"differentiable": True, "foreach": False}}
#: how the 20 coordinates are laid out in torch parameter tensors
TORCH_LAYOUTS = {"1x20": [20], "20x1": [1] * 20}


@dataclass(frozen=True)
class Battery:
    """The gradients, hyperparameter sets and start points every cell runs (module docstring).
    ``quick`` keeps two hyperparameter sets and one torch layout (the test suite's run)."""

    steps: int = 200
    quick: bool = False

    @property
    def hyperparameter_sets(self) -> list[str]:
        names = list(HYPERPARAMETER_SETS)
        return [names[0], names[3]] if self.quick else names

    @property
    def torch_layouts(self) -> list[str]:
        return ["1x20"] if self.quick else list(TORCH_LAYOUTS)

    def gradients(self, seed: int = 2024) -> np.ndarray:
        """(steps, 20) float64: every column one coordinate's gradient stream."""
        T = self.steps
        rng = np.random.default_rng(seed)
        t = np.arange(T)
        cols = [np.where(t == 0, 1.0, 0.0),
                np.where(t == 0, -3.0, np.where(t == 100, 0.7, 0.0)),
                np.full(T, 0.05),
                np.where(t % 2 == 0, 1.0, -1.0)]
        for _ in range(8):
            g = rng.standard_normal(T) * 10.0 ** rng.uniform(-3, 1)
            g[rng.random(T) < 0.3] = 0.0
            spikes = rng.random(T) < 0.04
            g[spikes] *= 10.0 ** rng.uniform(1, 3, spikes.sum())
            g[rng.random(T) < 0.1] *= -1
            cols.append(g)
        cols.append(1.0 / np.sqrt(t + 1.0))
        tiny = rng.standard_normal(T) * 1e-20          # g² subnormal in float32
        tiny[::7] = 0.0
        cols.append(tiny)
        cols.append(rng.standard_normal(T) * 1e-160)   # g² subnormal in float64
        big = rng.standard_normal(T) * 1e3
        big[rng.random(T) < 0.5] = 0.0
        cols.append(big)
        cols.append(np.where(t < 150, 0.0, 1.0))
        for _ in range(3):
            cols.append(rng.standard_normal(T))
        return np.stack(cols, axis=1)


def hyperparameters(name: str, default_eps: float) -> dict[str, float]:
    lr, b1, b2, eps = HYPERPARAMETER_SETS[name]
    return {"lr": 1e-3 if lr is None else lr, "b1": 0.9 if b1 is None else b1,
            "b2": 0.999 if b2 is None else b2, "eps": default_eps if eps is None else eps}


# --------------------------------------------------------------------------------------------
# the real frameworks (each family in its own process)
# --------------------------------------------------------------------------------------------

def _run_torch(battery: Battery) -> tuple[dict, dict]:
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    G = battery.gradients()
    out = {}
    for cname, (cls_name, wd) in TORCH_CLASSES.items():
        for path, opts in TORCH_PATHS.items():
            for layout in battery.torch_layouts:
                sizes = TORCH_LAYOUTS[layout]
                for dtype in ("float32", "float64"):
                    for h in battery.hyperparameter_sets:
                        hp = hyperparameters(h, 1e-8)
                        for x0 in STARTS:
                            tdt = getattr(torch, dtype)
                            ps = [torch.full((n,), x0, dtype=tdt) for n in sizes]
                            if path != "differentiable":
                                ps = [torch.nn.Parameter(p) for p in ps]
                            opt = getattr(torch.optim, cls_name)(
                                ps, lr=hp["lr"], betas=(hp["b1"], hp["b2"]), eps=hp["eps"],
                                weight_decay=wd, amsgrad=True, **opts)
                            rec: dict[str, list] = {k: [] for k in KEYS}
                            for t in range(G.shape[0]):
                                k = 0
                                with torch.no_grad():
                                    for p, n in zip(ps, sizes):
                                        p.grad = torch.tensor(G[t, k:k + n], dtype=tdt)
                                        k += n
                                opt.step()
                                rec["theta"].append(np.concatenate(
                                    [p.detach().double().numpy() for p in ps]))
                                for key, name in (("m", "exp_avg"), ("v", "exp_avg_sq"),
                                                  ("vhat", "max_exp_avg_sq")):
                                    rec[key].append(np.concatenate(
                                        [opt.state[p][name].double().numpy() for p in ps]))
                            cell = Cell("torch", path, f"{cname}, {layout}", dtype, h, x0)
                            out[cell.key] = {k: np.array(v) for k, v in rec.items()}
    info = {"version": torch.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
    return out, info


def _run_keras(battery: Battery, backend: str, x64: bool) -> tuple[dict, dict]:
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        import jax  # jax/optax: the optional extra `frameworks`, imported only to audit optax

        jax.config.update("jax_enable_x64", x64)
    import keras  # keras: the optional extra `frameworks`, imported only here

    G = battery.gradients()
    out = {}
    modes = ["eager"] + (["jit"] if backend == "jax" else [])
    dtypes = ("float32", "float64") if (backend == "torch" or x64) else ("float32",)
    for floatx in ("float32", "float64"):
        if backend == "jax" and not x64 and floatx == "float64":
            continue
        keras.config.set_floatx(floatx)
        for dtype in dtypes:
            for mode in modes:
                for h in battery.hyperparameter_sets:
                    hp = hyperparameters(h, 1e-7)
                    for x0 in STARTS:
                        var = keras.Variable(np.full(G.shape[1], x0, dtype=dtype), dtype=dtype)
                        opt = keras.optimizers.Adam(learning_rate=hp["lr"], beta_1=hp["b1"],
                                                    beta_2=hp["b2"], epsilon=hp["eps"],
                                                    amsgrad=True)
                        opt.build([var])
                        rec: dict[str, list] = {k: [] for k in KEYS}
                        if mode == "jit":
                            import jax  # jax: as above (the jitted train step)

                            step = jax.jit(lambda ov, g, tv, o=opt: o.stateless_apply(ov, g, tv))
                            ov = [x.value for x in opt.variables]
                            tv = [var.value]
                            names = [x.path for x in opt.variables]
                            for t in range(G.shape[0]):
                                g = keras.ops.convert_to_tensor(G[t].astype(dtype))
                                tv, ov = step(ov, [g], tv)
                                rec["theta"].append(np.asarray(tv[0], dtype=np.float64))
                                d = {n: np.asarray(x, dtype=np.float64)
                                     for n, x in zip(names, ov)}
                                for key, end in (("m", "_momentum"), ("v", "_velocity"),
                                                 ("vhat", "_velocity_hat")):
                                    rec[key].append(next(d[n] for n in names if n.endswith(end)))
                        else:
                            def host(x):
                                return np.asarray(keras.ops.convert_to_numpy(x), np.float64)

                            for t in range(G.shape[0]):
                                g = keras.ops.convert_to_tensor(G[t].astype(dtype))
                                opt.apply([g], [var])
                                rec["theta"].append(host(var.value))
                                rec["m"].append(host(opt._momentums[0].value))
                                rec["v"].append(host(opt._velocities[0].value))
                                rec["vhat"].append(host(opt._velocity_hats[0].value))
                        config = f"{backend}{', x64' if x64 else ''}, floatx {floatx}"
                        cell = Cell("keras", mode, config, dtype, h, x0)
                        out[cell.key] = {k: np.array(v) for k, v in rec.items()}
    info = {"version": keras.__version__}
    if backend == "jax":
        import jax  # jax: as above

        info["jax"] = jax.__version__
    return out, info


def _run_optax(battery: Battery, x64: bool) -> tuple[dict, dict]:
    import jax  # jax/optax: the optional extra `frameworks`, imported only to audit optax

    jax.config.update("jax_enable_x64", x64)
    import jax.numpy as jnp  # jax: as above
    import optax  # optax: as above

    G = battery.gradients()
    out = {}
    for dtype in ("float32", "float64") if x64 else ("float32",):
        for mode in ("eager", "jit", "jit-update"):
            for h in battery.hyperparameter_sets:
                hp = hyperparameters(h, 1e-8)
                for x0 in STARTS:
                    opt = optax.amsgrad(learning_rate=hp["lr"], b1=hp["b1"], b2=hp["b2"],
                                        eps=hp["eps"])
                    params = jnp.asarray(np.full(G.shape[1], x0), dtype=dtype)
                    state = opt.init(params)
                    step = _optax_step(jax, optax, opt, mode)
                    rec: dict[str, list] = {k: [] for k in KEYS}
                    for t in range(G.shape[0]):
                        params, state = step(params, state, jnp.asarray(G[t], dtype=dtype))
                        s = state[0]
                        rec["theta"].append(np.asarray(params, np.float64))
                        rec["m"].append(np.asarray(s.mu, np.float64))
                        rec["v"].append(np.asarray(s.nu, np.float64))
                        rec["vhat"].append(np.asarray(s.nu_max, np.float64))
                    cell = Cell("optax", mode, "x64" if x64 else "x64 off", dtype, h, x0)
                    out[cell.key] = {k: np.array(v) for k, v in rec.items()}
    return out, {"version": optax.__version__, "jax": jax.__version__}


def _optax_step(jax, optax, opt, mode: str) -> Callable:
    def step(params, state, g):
        u, state = opt.update(g, state, params)
        return optax.apply_updates(params, u), state

    if mode == "jit":
        return jax.jit(step)
    if mode == "jit-update":
        update = jax.jit(opt.update)

        def step_update(params, state, g):
            u, state = update(g, state, params)
            return optax.apply_updates(params, u), state
        return step_update
    return step


def run_family(family: str, battery: Battery) -> tuple[dict, dict]:
    """Run one family of the real frameworks in this process: (cell key → arrays, info)."""
    framework, config = FAMILIES[family]
    if framework == "torch":
        return _run_torch(battery)
    if framework == "keras":
        return _run_keras(battery, config["backend"], config["x64"])
    return _run_optax(battery, config["x64"])


def _family_in_subprocess(family: str, battery: Battery, folder: str) -> dict:
    """``run_family`` in a fresh interpreter (process-wide configuration stays its own)."""
    out = os.path.join(folder, f"{family}.npz")
    cmd = [sys.executable, "-m", "amsgrad_theory.verify.fidelity", family, out,
           str(battery.steps)] + (["quick"] if battery.quick else [])
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not os.path.exists(out):
        tail = (done.stderr or done.stdout).strip().splitlines()
        return {"status": "skipped", "reason": tail[-1] if tail else "the run failed"}
    with np.load(out, allow_pickle=False) as data:
        info = json.loads(str(data["__info__"]))
        runs: dict = {}
        for name in data.files:
            if name == "__info__":
                continue
            key, _, quantity = name.rpartition("|")
            runs.setdefault(key, {})[quantity] = data[name]
    return {"status": "ran", "info": info, "runs": runs}


# --------------------------------------------------------------------------------------------
# cells and models
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    framework: str
    path: str
    config: str
    dtype: str
    hyperparameters: str
    x0: float

    @property
    def key(self) -> str:
        return "|".join((self.framework, self.path, self.config, self.dtype,
                         self.hyperparameters, repr(self.x0)))

    @classmethod
    def from_key(cls, key: str) -> Cell:
        fw, path, config, dtype, h, x0 = key.split("|")
        return cls(fw, path, config, dtype, h, float(x0))

    @property
    def row(self) -> tuple[str, str, str, str]:
        """The README table's row: cells that differ only in data share it."""
        config = self.config
        if self.framework == "torch":
            config = config.split(",")[0]
        return (self.framework, self.path, config, self.dtype)


def model_of(cell: Cell) -> tuple[Variant, str, dict, Variant | None, int]:
    """(variant, arithmetic, hyperparameters, the scalar-tail variant or None, the vector
    width of the fused kernel) of the toolkit's model of ``cell``."""
    hp = hyperparameters(cell.hyperparameters, 1e-7 if cell.framework == "keras" else 1e-8)
    given = {"alpha": repr(hp["lr"]), "beta1": repr(hp["b1"]), "beta2": repr(hp["b2"]),
             "eps": repr(hp["eps"])}
    tail, width = None, 0
    if cell.framework == "torch":
        cname = cell.config.split(",")[0]
        base = {"single": "amsgrad-pytorch", "foreach": "amsgrad-pytorch",
                "fused": "amsgrad-pytorch-fused",
                "differentiable": "amsgrad-pytorch-differentiable"}[cell.path]
        variant = get_variant(base, decoupled=cname == "AdamW")
        if TORCH_CLASSES[cname][1]:
            given["weight_decay"] = repr(TORCH_CLASSES[cname][1])
        if cell.path == "fused":
            tail = variant.with_(v_form="torch-tail")
            width = 8 if cell.dtype == "float32" else 4     # AVX2 lanes
    elif cell.framework == "keras":
        backend = cell.config.split(",")[0]
        name = ("amsgrad-keras-torch" if backend == "torch" else
                "amsgrad-keras-jit" if cell.path == "jit" else "amsgrad-keras")
        floatx = cell.config.rsplit(" ", 1)[1]
        variant = get_variant(name).with_(learning_rate_in=floatx)
    else:
        variant = get_variant("amsgrad-optax-jit" if cell.path.startswith("jit")
                              else "amsgrad-optax")
        if cell.path == "jit-update":
            variant = variant.with_(x_form="subtract")
        if cell.config == "x64":
            variant = variant.with_(powers_in="scalar")
    return variant, variant.exact_arithmetic(cell.dtype), given, tail, width


def sequence_problem(G: np.ndarray) -> str:
    rows = ",".join("[" + ",".join(repr(float(v)) for v in row) + "]" for row in G)
    return f"gradient-sequence:g=[{rows}],set=none"


def run_model(variant: Variant, arithmetic: str, given: dict, G: np.ndarray,
              x0: float) -> dict:
    """θ, m, v, v̂ after every step (arrays (T, d) float64) of ``variant`` on ``G``.

    The framework receives G as tensors of its dtype, so the model runs on G rounded to the
    lane format (a float64 gradient of 1e-160 is 0 in float32): the numbers the framework
    saw, which therefore survive conversion into ``arithmetic``."""
    T, d = G.shape
    ar = get_arithmetic(arithmetic)
    G = np.array([[float(ar.lane(repr(float(v)))) for v in row] for row in G])
    result = simulate(variant, sequence_problem(G), steps=T, arithmetic=arithmetic,
                      hyperparameters=given, x0=repr(x0), trace=True)
    names = {"theta": "xhat", "m": "m", "v": "v", "vhat": "vhat"}
    trace = result.trace
    assert trace is not None    # simulated with trace=True
    return {k: np.asarray(trace[n], dtype=np.float64).reshape(T, d)
            for k, n in names.items()}


def tail_columns(cell: Cell, width: int) -> list[int]:
    """The coordinates the fused kernel runs through its scalar tail (the last n mod width
    elements of every tensor)."""
    if not width:
        return []
    sizes = TORCH_LAYOUTS[cell.config.split(", ")[1]]
    out, k = [], 0
    for n in sizes:
        out += list(range(k + n - n % width, k + n))
        k += n
    return out


def ulps(a: np.ndarray, b: np.ndarray, dtype: str) -> np.ndarray:
    """|a − b| in units in the last place of ``dtype`` (a monotone integer map of the bits)."""
    it = np.int32 if dtype == "float32" else np.int64
    ft = np.float32 if dtype == "float32" else np.float64

    def key(x):
        i = np.asarray(x, dtype=ft).view(it).astype(np.int64)
        return np.where(i < 0, np.int64(np.iinfo(it).min) - i, i)

    return np.abs(key(a) - key(b))


@dataclass
class Comparison:
    """A cell's verdict: bit-exact, or the largest distance in ulps and where it starts."""

    exact: bool
    max_ulps: int = 0
    first_step: int | None = None
    quantity: str | None = None
    #: max |real − model| / max_t |real| per quantity and coordinate: ulps count the floats
    #: in between, which near 0 (a momentum crossing zero) says little about the size
    max_relative: float = 0.0

    def text(self) -> str:
        if self.exact:
            return "bit-exact"
        return (f"{self.max_ulps} ulps ({self.max_relative:.1e} of the stream's scale) "
                f"from step {self.first_step} ({self.quantity})")


def compare(real: dict, model: dict, dtype: str, columns: Sequence[int] | None = None
            ) -> Comparison:
    worst, first, which, relative = 0, None, None, 0.0
    for key in KEYS:
        a, b = np.asarray(real[key]), np.asarray(model[key])
        if columns is not None:
            a, b = a[:, columns], b[:, columns]
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        if same.all():
            continue
        with np.errstate(invalid="ignore"):
            distance = np.where(same, 0, ulps(a, b, dtype))
        step = int(np.flatnonzero((~same).any(axis=1))[0]) + 1
        if first is None or step < first:
            first, which = step, key
        worst = max(worst, int(distance.max()))
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.nanmax(np.abs(a), axis=0)
            rel = np.where(same, 0.0, np.abs(a - b)) / np.where(scale > 0, scale, 1.0)
        relative = max(relative, float(np.nanmax(rel)))
    return Comparison(first is None, worst, first, which, relative)


def compare_cell(cell: Cell, real: dict, G: np.ndarray, models: dict | None = None) -> dict:
    """The model of ``cell`` against its real run, and (PyTorch) the same model in IEEE
    arithmetic.

    ``models`` (optional, one per battery) keeps each model run by its inputs: cells that differ
    only in what the framework did (torch's single and foreach paths, Adam and AdamW without
    decay) share their model, and a cell's IEEE run is often another cell's model (the torch
    matrix: 132 distinct runs of 180)."""
    runs = {} if models is None else models

    def model_run(variant: Variant, arithmetic: str) -> dict:
        key = (repr(variant), arithmetic, tuple(sorted(given.items())), repr(cell.x0))
        if key not in runs:
            runs[key] = run_model(variant, arithmetic, given, G, cell.x0)
        return runs[key]

    variant, arithmetic, given, tail, width = model_of(cell)
    model = model_run(variant, arithmetic)
    tails = tail_columns(cell, width)
    body = [c for c in range(G.shape[1]) if c not in tails]
    verdict = compare(real, model, cell.dtype, body)
    if tails and tail is not None:      # (the fused kernel's tail: both or neither)
        tail_model = model_run(tail, arithmetic)
        tail_verdict = compare(real, tail_model, cell.dtype, tails)
        verdict = _worse(verdict, tail_verdict)
    entry = {"cell": asdict(cell), "model": variant.name, "arithmetic": arithmetic,
             "numerics": _numerics(variant), "verdict": verdict.text(), "exact": verdict.exact,
             "max_ulps": verdict.max_ulps, "first_step": verdict.first_step}
    if arithmetic != cell.dtype:     # also the same model in IEEE arithmetic, for scale
        ieee = compare(real, model_run(variant, cell.dtype), cell.dtype,
                       body if tails else None)
        entry["ieee_arithmetic"] = ieee.text()
        entry["ieee_max_ulps"] = ieee.max_ulps
        entry["ieee_max_relative"] = ieee.max_relative
    return entry


def _worse(a: Comparison, b: Comparison) -> Comparison:
    if a.exact:
        return b
    if b.exact:
        return a
    # a comparison that is not exact has its first differing step
    assert a.first_step is not None and b.first_step is not None
    first = min(a.first_step, b.first_step)
    return Comparison(False, max(a.max_ulps, b.max_ulps), first,
                      a.quantity if a.first_step <= b.first_step else b.quantity)


def _numerics(variant: Variant) -> dict:
    return {k: getattr(variant, k) for k in (
        "powers_in", "coefficients_in", "learning_rate_in", "correction", "correction_root",
        "m_form", "v_form", "x_form", "flush_denormals", "exact_in")}


# --------------------------------------------------------------------------------------------
# the matrix
# --------------------------------------------------------------------------------------------

@dataclass
class Matrix:
    battery: Battery
    frameworks: dict = field(default_factory=dict)
    cells: list = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    @property
    def exact(self) -> int:
        return sum(1 for c in self.cells if c["exact"])

    def rows(self) -> list[dict]:
        """Cells grouped by (framework, path, configuration, dtype) for the README."""
        groups: dict = {}
        for c in self.cells:
            cell = Cell(**c["cell"])
            groups.setdefault(cell.row, []).append(c)
        out = []
        for (fw, path, config, dtype), cs in groups.items():
            bad = [c for c in cs if not c["exact"]]
            ieee = [c["ieee_max_ulps"] for c in cs if "ieee_max_ulps" in c]
            ieee_rel = [c.get("ieee_max_relative", 0.0) for c in cs if "ieee_max_ulps" in c]
            out.append({
                "framework": fw, "version": self.frameworks[_family_of(fw, config)]["info"][
                    "version"], "path": path, "configuration": config, "dtype": dtype,
                "model": cs[0]["model"], "arithmetic": cs[0]["arithmetic"],
                "cells": len(cs), "exact_cells": len(cs) - len(bad),
                "max_ulps": max((c["max_ulps"] for c in bad), default=0),
                "first_step": min((c["first_step"] for c in bad), default=None),
                "ieee_max_ulps": max(ieee) if ieee else None,
                "ieee_max_relative": max(ieee_rel) if ieee_rel else None})
        return out

    def to_dict(self) -> dict:
        return {"battery": asdict(self.battery), "machine": self.machine,
                "frameworks": {k: {kk: vv for kk, vv in v.items() if kk != "runs"}
                               for k, v in self.frameworks.items()},
                "exact_cells": self.exact, "cells_total": len(self.cells),
                "rows": self.rows(), "cells": self.cells}


def _family_of(framework: str, config: str) -> str:
    if framework == "torch":
        return "torch"
    if framework == "keras":
        backend = config.split(",")[0]
        return "keras-torch" if backend == "torch" else (
            "keras-jax-x64" if "x64" in config else "keras-jax")
    return "optax-x64" if config == "x64" else "optax"


def parse_frameworks(text: str | Sequence[str] | None) -> list[str]:
    """The frameworks asked for (InputError naming an unknown one)."""
    if text is None:
        return list(FRAMEWORKS)
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in names if n]
    for n in names:
        if n not in FRAMEWORKS:
            raise InputError("frameworks", n, "unknown framework; valid: " + ", ".join(FRAMEWORKS))
    if not names:
        raise InputError("frameworks", text, "name at least one framework")
    return names


def fidelity(frameworks: Sequence[str] | str | None = None, *, battery: Battery | None = None,
             progress: Callable[[str], None] | None = None) -> Matrix:
    """Run the real frameworks and the toolkit's models on the battery (module docstring).

    A framework whose import fails is reported as skipped, with its error."""
    names = parse_frameworks(frameworks)
    battery = battery or Battery()
    if not isinstance(battery.steps, int) or battery.steps < 2:
        raise InputError("steps", battery.steps, "must be an integer >= 2")
    G = battery.gradients()
    matrix = Matrix(battery, machine={"platform": platform.platform(),
                                      "machine": platform.machine(),
                                      "python": platform.python_version()})
    families = [f for f, (framework, _) in FAMILIES.items() if framework in names]
    with tempfile.TemporaryDirectory() as folder, \
            ThreadPoolExecutor(max_workers=max(1, min(len(families), os.cpu_count() or 1))) as pool:
        # the families' processes run side by side; their cells are compared in order
        running = {f: pool.submit(_family_in_subprocess, f, battery, folder) for f in families}
        models: dict = {}       # the model runs of this battery, shared by the cells
        for family in families:
            if progress is not None:
                progress(f"running {family}")
            result = running[family].result()
            matrix.frameworks[family] = result
            if result["status"] != "ran":
                continue
            for key, real in sorted(result["runs"].items()):
                matrix.cells.append(compare_cell(Cell.from_key(key), real, G, models))
    return matrix


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------

def table_text(matrix: Matrix) -> str:
    lines = [f"fidelity: {matrix.exact} of {len(matrix.cells)} cells bit-exact "
             f"({matrix.battery.steps} steps × 20 gradient streams each)"]
    for family, result in matrix.frameworks.items():
        if result["status"] != "ran":
            lines.append(f"  {family}: skipped — {result['reason']}")
    for r in matrix.rows():
        state = ("bit-exact" if r["exact_cells"] == r["cells"] else
                 f"{r['cells'] - r['exact_cells']} of {r['cells']} differ, up to "
                 f"{r['max_ulps']} ulps from step {r['first_step']}")
        ieee = "" if r["ieee_max_ulps"] is None else (
            f"; in IEEE {r['dtype']}: " + _ieee_text(r))
        lines.append(f"  {r['framework']} {r['version']} {r['path']:14} {r['configuration']:26} "
                     f"{r['dtype']}: {r['exact_cells']}/{r['cells']} {state}{ieee}  "
                     f"[{r['model']} in {r['arithmetic']}]")
    return "\n".join(lines)


def _ieee_text(row: dict) -> str:
    if row["ieee_max_ulps"] == 0:
        return "bit-exact"
    rel = row.get("ieee_max_relative")
    scale = "" if rel is None else f" ({rel:.1e} of the stream's scale)"
    return f"up to {row['ieee_max_ulps']} ulps{scale}"


README_START = "<!-- fidelity matrix: generated by `amsgrad-theory fidelity --readme README.md` -->"
README_END = "<!-- end of the fidelity matrix -->"


def table_markdown(data: dict) -> str:
    """The README's table, from a matrix's JSON (``Matrix.to_dict``)."""
    lines = [README_START, "",
             f"{data['exact_cells']} of {data['cells_total']} cells bit-exact "
             f"({data['battery']['steps']} steps × 20 gradient streams × hyperparameter sets "
             f"× start points; θ, m, v, v̂ compared after every step).", "",
             "| framework | path | configuration | dtype | model (arithmetic) | cells bit-exact "
             "| the same model in IEEE arithmetic |", "|---|---|---|---|---|---|---|"]
    for r in data["rows"]:
        exact = f"{r['exact_cells']}/{r['cells']}"
        if r["exact_cells"] != r["cells"]:
            exact += f" (up to {r['max_ulps']} ulps from step {r['first_step']})"
        ieee = "—" if r["ieee_max_ulps"] is None else _ieee_text(r)
        lines.append(f"| {r['framework']} {r['version']} | {r['path']} | {r['configuration']} "
                     f"| {r['dtype']} | `{r['model']}` ({r['arithmetic']}) | {exact} | {ieee} |")
    skipped = [f"{k}: {v['reason']}" for k, v in data["frameworks"].items()
               if v["status"] != "ran"]
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped) + "."]
    lines += ["", README_END]
    return "\n".join(lines)


def update_readme(path: str, data: dict) -> bool:
    """Replace the README's fidelity block by the table of ``data``; True if it changed."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if README_START not in text or README_END not in text:
        raise InputError("readme", path, "has no fidelity block (the markers are missing)")
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    new = head + table_markdown(data) + tail
    if new != text:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
    return new != text


def readme_block(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    start = text.index(README_START)
    return text[start:text.index(README_END) + len(README_END)]


def _main(argv: list[str]) -> int:
    family, out, steps = argv[0], argv[1], int(argv[2])
    battery = Battery(steps=steps, quick="quick" in argv[3:])
    runs, info = run_family(family, battery)
    arrays = {f"{key}|{q}": a for key, r in runs.items() for q, a in r.items()}
    arrays["__info__"] = np.array(json.dumps(info))
    np.savez(out, **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
