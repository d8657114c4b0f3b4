"""Audit subjects: a real optimizer (or a model) that the audit feeds controlled gradients.

A subject answers two questions about a gradient table G (T steps × d coordinates):

``measure(G)``  the *θ reset trick*: before every step the parameters are set to 0, so the
                step's displacement Δ_t = θ_t^after − 0 is read exactly (no cancellation
                against a large θ), and weight decay — L2 (g + λθ) or decoupled (θ(1 − γλ)) —
                contributes nothing. The effective step is then η_t = −Δ_t/m_t with m_t the
                momentum recomputed in float64 from the gradients (see
                :mod:`~amsgrad_theory.verify.audit_invariants`). Nothing is read from the
                optimizer's state, so a running max that is computed but never written back
                (pytorch#78807, chainer#7661) shows in the displacement.
``trajectory(G, x0)``  an ordinary run from θ = x0: the parameters and every per-parameter state
                tensor after each step, for the step-for-step comparison with the exact model.

Targets (:func:`resolve_target`):

``torch-adam-amsgrad``   ``torch.optim.Adam(amsgrad=True)``; model ``amsgrad-pytorch``
``torch-adamw-amsgrad``  ``torch.optim.AdamW(amsgrad=True)``; model ``amsgrad-adamw-pytorch``
``optax-amsgrad``        ``optax.amsgrad`` (needs the optional extra ``[jax]``); model
                         ``amsgrad-optax``
``MODULE:FACTORY``       a callable taking a list of parameters and returning a
                         ``torch.optim.Optimizer`` (``MODULE`` may also be a path to a ``.py``
                         file); model ``amsgrad-pytorch`` unless another is given.

torch code paths (PyTorch 2.13 torch/optim/adam.py [pytorch-2.13]): ``single``
(foreach=False), ``foreach``,
``fused`` (the CPU kernel), ``differentiable`` (the capturable branch's arithmetic: 1 − β^t in
the float32 ``step`` tensor); ``capturable`` is tried and reported unavailable on the CPU. On a
CUDA machine the same paths also run on ``cuda``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..algorithms import Variant, get_variant
from ..engine import simulate
from ..errors import InputError, NumericalError

BUILTIN_TARGETS = {
    "torch-adam-amsgrad": ("Adam", "amsgrad-pytorch", "adam-pytorch"),
    "torch-adamw-amsgrad": ("AdamW", "amsgrad-adamw-pytorch", None),
}
OPTAX_TARGET = "optax-amsgrad"
TARGET_NAMES = (*BUILTIN_TARGETS, OPTAX_TARGET, "MODULE:FACTORY")
#: torch code paths and the constructor options that select them
TORCH_PATHS = {
    "single": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
    "differentiable": {"differentiable": True},
    "capturable": {"capturable": True},
}
SCHEDULES = ("constant", "inv-sqrt")
#: prefix of the module name under which a ``FILE.py:FACTORY`` target is loaded
FILE_MODULE_PREFIX = "_amsgrad_audit_file_"
DTYPES = ("float64", "float32")


@dataclass
class StepError:
    """The optimizer raised, or produced a non-finite parameter, at step ``step`` (1-based)."""

    step: int
    message: str

    def to_dict(self) -> dict:
        return {"step": self.step, "error": self.message}


@dataclass
class Measurement:
    """Displacements of the θ reset trick (see the module docstring).

    ``delta`` and ``gradients`` have shape (T, d) (float64); ``lr`` has shape (T,): the step size
    γ_t the optimizer used at step t (after any scheduler). ``steps`` is the number of completed
    steps (< T when ``error`` is set; rows past it are NaN).
    """

    gradients: np.ndarray
    delta: np.ndarray
    lr: np.ndarray
    steps: int
    error: StepError | None = None
    # the model's own readings, for model subjects (η, η̂, v̂ of the trace)
    readings: dict | None = None


@dataclass
class OptimizerRun:
    """An ordinary run: ``theta[t]`` is θ after step t+1, ``state[key][t]`` likewise."""

    theta: np.ndarray
    state: dict[str, np.ndarray]
    lr: np.ndarray
    steps: int
    error: StepError | None = None


@dataclass
class TorchSubject:
    """A torch optimizer built by ``factory(params)`` on parameters of ``dtype`` on ``device``.

    ``plain_tensors``: pass tensors with ``requires_grad=False`` instead of ``nn.Parameter``
    (the differentiable path refuses in-place updates of leaves that require grad).
    """

    factory: Callable
    label: str
    model: Variant
    dtype: str = "float64"
    device: str = "cpu"
    schedule: str = "constant"
    plain_tensors: bool = False
    rtol: float | None = None
    _hyper: dict | None = field(default=None, repr=False)

    # -------------------------------------------------------------- construction
    @property
    def torch_dtype(self):
        import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

        return getattr(torch, self.dtype)

    @property
    def unit_roundoff(self) -> float:
        return 2.0 ** -53 if self.dtype == "float64" else 2.0 ** -24

    def parameters(self, values: np.ndarray, shapes: Sequence[tuple] | None = None) -> list:
        import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

        values = np.asarray(values, dtype=np.float64)
        shapes = list(shapes) if shapes else [(values.size,)]
        out, k = [], 0
        for shape in shapes:
            n = int(np.prod(shape))
            t = torch.tensor(values[k:k + n], dtype=self.torch_dtype,
                             device=self.device).reshape(shape)
            out.append(t if self.plain_tensors else torch.nn.Parameter(t))
            k += n
        return out

    def build(self, params: list):
        """(optimizer, scheduler or None); raises :class:`InputError` if not an optimizer."""
        import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

        optimizer = self.factory(params)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise InputError("target", self.label,
                             f"the factory returned {type(optimizer).__name__}, not a "
                             "torch.optim.Optimizer")
        scheduler = None
        if self.schedule == "inv-sqrt":
            if "lr" not in optimizer.param_groups[0]:
                raise InputError("schedule", self.schedule,
                                 f"{self.label} has no 'lr' in its param groups")
            # α_t = α/√t through a torch scheduler: at step t, last_epoch = t − 1
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda epoch: 1.0 / math.sqrt(epoch + 1))
        return optimizer, scheduler

    def hyperparameters(self) -> dict:
        """γ, β1, β2, ε, λ read from the optimizer's first param group (floats).

        Keys the optimizer lacks take the model's defaults. These drive the float64 momentum
        recursion of the effective-step reading and the exact model's run.
        """
        if self._hyper is None:
            defaults = self.model.hyperparameters()
            opt, _ = self.build(self.parameters(np.zeros(1)))
            group = opt.param_groups[0]
            betas = group.get("betas", (defaults["beta1"], defaults["beta2"]))
            self._hyper = {
                "alpha": _as_float(group.get("lr", defaults["alpha"])),
                "beta1": _as_float(betas[0]),
                "beta2": _as_float(betas[1]),
                "eps": _as_float(group.get("eps", defaults["eps"])),
                "weight_decay": _as_float(group.get("weight_decay",
                                                    defaults["weight_decay"])),
            }
        return dict(self._hyper)

    # -------------------------------------------------------------- running
    def _run(self, gradients: np.ndarray, x0: np.ndarray | None, shapes, reset: bool):
        import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

        gradients = np.atleast_2d(np.asarray(gradients, dtype=np.float64))
        if gradients.shape[0] == 1 and gradients.shape[1] > 1 and shapes is None:
            gradients = gradients.T
        T, d = gradients.shape
        start = np.zeros(d) if x0 is None else np.asarray(x0, dtype=np.float64)
        params = self.parameters(start, shapes)
        optimizer, scheduler = self.build(params)
        theta = np.full((T, d), np.nan)
        lr = np.full(T, np.nan)
        states: dict[str, np.ndarray] = {}
        sizes = [p.numel() for p in params]
        error = None
        steps = 0
        for t in range(T):
            try:
                with torch.no_grad():
                    if reset:
                        for p in params:
                            p.zero_()
                    k = 0
                    for p, n in zip(params, sizes):
                        p.grad = torch.tensor(gradients[t, k:k + n], dtype=self.torch_dtype,
                                              device=self.device).reshape(p.shape)
                        k += n
                lr[t] = _as_float(optimizer.param_groups[0].get("lr", math.nan))
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                row = _flat(params)
            except Exception as exc:  # the optimizer under audit failed: a finding
                error = StepError(t + 1, f"{type(exc).__name__}: {exc}")
                break
            if not np.all(np.isfinite(row)):
                bad = int(np.flatnonzero(~np.isfinite(row))[0])
                error = StepError(t + 1, f"non-finite parameter {float(row[bad])!r} "
                                         f"(coordinate {bad})")
                break
            theta[t] = row
            if not reset:
                for key, value in _state_rows(optimizer, params, sizes).items():
                    states.setdefault(key, np.full((T, d), np.nan))[t] = value
            steps = t + 1
        return theta, lr, states, steps, error, optimizer, params

    def measure(self, gradients) -> Measurement:
        """Displacements Δ_t under the θ reset trick (gradients: (T,) or (T, d))."""
        g = np.asarray(gradients, dtype=np.float64)
        g = g.reshape(-1, 1) if g.ndim == 1 else g
        delta, lr, _, steps, error, _, _ = self._run(g, None, None, reset=True)
        return Measurement(gradients=g, delta=delta, lr=lr, steps=steps, error=error)

    def trajectory(self, gradients: np.ndarray, x0: np.ndarray,
                   shapes: Sequence[tuple] | None = None) -> OptimizerRun:
        theta, lr, states, steps, error, _, _ = self._run(gradients, x0, shapes, reset=False)
        return OptimizerRun(theta=theta, state=states, lr=lr, steps=steps, error=error)


def _as_float(value) -> float:
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


def _flat(params) -> np.ndarray:
    return np.concatenate([p.detach().to("cpu").double().reshape(-1).numpy() for p in params])


def _state_rows(optimizer, params, sizes) -> dict[str, np.ndarray]:
    """Per-parameter state tensors of the parameter's size, flattened and concatenated."""
    rows: dict[str, list] = {}
    for p, n in zip(params, sizes):
        state = optimizer.state.get(p, {})
        for key, value in state.items():
            if hasattr(value, "numel") and value.numel() == n and value.is_floating_point():
                rows.setdefault(key, []).append(value.detach().to("cpu").double().reshape(-1)
                                                .numpy())
    return {k: np.concatenate(v) for k, v in rows.items() if len(v) == len(params)}


# --------------------------------------------------------------------------------------------
# model subjects: the toolkit's exact model, run through simulate
# --------------------------------------------------------------------------------------------

def sequence_spec(gradients: np.ndarray) -> str:
    """``gradient-sequence:g=[…],set=none`` replaying the rows of ``gradients`` exactly."""
    g = np.asarray(gradients, dtype=np.float64)
    if g.ndim == 1 or g.shape[1] == 1:
        body = ",".join(repr(float(v)) for v in g.reshape(-1))
    else:
        body = ",".join("[" + ",".join(repr(float(v)) for v in row) + "]" for row in g)
    return f"gradient-sequence:g=[{body}],set=none"


def run_model(variant: Variant, hyper: dict, gradients: np.ndarray, x0=None, *,
              dtype: str = "float64", arithmetic: str | None = None,
              theta_only: bool = False) -> dict[str, np.ndarray]:
    """The model's trace on ``gradients`` (T × d): arrays (T, d) for x_{t+1} ("theta"), m, v, v̂,
    η, η̂ (``simulate(..., trace=True)``), in ``arithmetic`` (default: the one that reproduces
    the framework, ``variant.exact_arithmetic(dtype)``). ``theta_only``: θ alone, from a run
    that keeps no effective-step statistics (faster)."""
    g = np.asarray(gradients, dtype=np.float64)
    g = g.reshape(-1, 1) if g.ndim == 1 else g
    T, d = g.shape
    x = None if x0 is None else [repr(float(v)) for v in np.asarray(x0).reshape(-1)]
    hp = {k: repr(float(v)) for k, v in hyper.items()}
    if variant.weight_decay_mode == "l2" and float(hyper.get("weight_decay", 0)) == 0:
        hp.pop("weight_decay", None)
    result = simulate(variant, sequence_spec(g), steps=T,
                      arithmetic=arithmetic or variant.exact_arithmetic(dtype),
                      hyperparameters=hp, x0=x, trace=True,
                      statistics="regret" if theta_only else "full")
    tr = result.trace

    def col(name):
        # one instance (B = 1): (T, 1, d) and (1, T, d) both read as (T, d)
        return np.asarray(tr[name], dtype=np.float64).reshape(T, d)

    if theta_only:
        return {"theta": col("xhat")}
    return {"theta": col("xhat"), "m": col("m"), "v": col("v"), "vhat": col("vhat"),
            "eta": col("eta"), "eta_hat": col("eta_hat")}


@dataclass
class ModelSubject:
    """The toolkit's model of a variant as an audit subject (η, η̂, v̂ read off its trace)."""

    variant: Variant
    hyper: dict
    dtype: str = "float64"
    label: str = ""
    rtol: float | None = None

    @property
    def model(self) -> Variant:
        return self.variant

    @property
    def unit_roundoff(self) -> float:
        return 2.0 ** -53 if self.dtype == "float64" else 2.0 ** -24

    def hyperparameters(self) -> dict:
        return dict(self.hyper)

    def measure(self, gradients) -> Measurement:
        g = np.asarray(gradients, dtype=np.float64)
        g = g.reshape(-1, 1) if g.ndim == 1 else g
        T = g.shape[0]
        try:
            tr = run_model(self.variant, self.hyper, g, dtype=self.dtype)
        except NumericalError as exc:
            return Measurement(g, np.full(g.shape, np.nan), np.full(T, np.nan), exc.step - 1,
                               StepError(exc.step, str(exc)))
        return Measurement(g, np.full(g.shape, np.nan), np.full(T, float(self.hyper["alpha"])),
                           T, None, readings={k: tr[k] for k in ("eta", "eta_hat", "vhat", "m")})


# --------------------------------------------------------------------------------------------
# resolving a target
# --------------------------------------------------------------------------------------------

def load_factory(text: str) -> Callable:
    """``MODULE:ATTR`` or ``path/to/file.py:ATTR`` → the callable (InputError naming it).

    Importing the module runs its top-level code (that is the point: the factory lives there).
    The current directory is appended to ``sys.path``, last, so ``audit mypkg.opt:make`` works
    from a project's root while no file there (a ``tqdm.py``, a ``numpy.py``) can shadow an
    installed package that the toolkit or torch imports later.
    """
    module_name, sep, attr = text.rpartition(":")
    if not sep or not module_name or not attr:
        raise InputError("target", text, "unknown target; valid: " + ", ".join(TARGET_NAMES))
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        if module_name.endswith(".py"):
            if not os.path.isfile(module_name):
                raise InputError("target", text, f"no such file {module_name!r}")
            name = FILE_MODULE_PREFIX + os.path.splitext(os.path.basename(module_name))[0]
            spec = importlib.util.spec_from_file_location(name, module_name)
            if spec is None or spec.loader is None:     # (a .py file always has a loader)
                raise ImportError(f"no loader for {module_name!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except InputError:
        raise
    except Exception as exc:
        raise InputError("target", text, f"cannot import {module_name!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise InputError("target", text, f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError("target", text, f"{attr!r} is not callable (an object of type "
                         f"{type(obj).__name__})")
    return obj


def torch_factory(class_name: str, hyper: dict, path_options: dict, *, amsgrad: bool = True):
    """``params → torch.optim.<class_name>(params, lr, betas, eps, weight_decay, amsgrad, …)``."""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    cls = getattr(torch.optim, class_name)

    def factory(params):
        return cls(params, lr=hyper["alpha"], betas=(hyper["beta1"], hyper["beta2"]),
                   eps=hyper["eps"], weight_decay=hyper["weight_decay"], amsgrad=amsgrad,
                   **path_options)
    factory.__qualname__ = f"torch.optim.{class_name}(amsgrad={amsgrad}, {path_options})"
    return factory


def builtin_hyperparameters(target: str, overrides: dict | None = None) -> dict:
    """The defaults of torch's own class for ``target`` (floats), with ``overrides``."""
    class_name, model_name, _ = BUILTIN_TARGETS[target]
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    sig = inspect.signature(getattr(torch.optim, class_name).__init__).parameters
    betas = sig["betas"].default
    hyper = {"alpha": float(sig["lr"].default), "beta1": float(betas[0]),
             "beta2": float(betas[1]), "eps": float(sig["eps"].default),
             "weight_decay": float(sig["weight_decay"].default)}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in hyper:
            raise InputError(key, value, "not a hyperparameter of " + target)
        try:
            hyper[key] = float(value)
        except (TypeError, ValueError):
            raise InputError(key, value, "not a number") from None
    # the model validates the ranges (β ∈ [0, 1), α > 0, ε ≥ 0, …) with the same names
    get_variant(model_name).hyperparameters(**{k: repr(v) for k, v in hyper.items()})
    return hyper


def check_options(schedule: str, dtype: str) -> None:
    if schedule not in SCHEDULES:
        raise InputError("schedule", schedule, "must be one of " + ", ".join(SCHEDULES))
    if dtype not in DTYPES:
        raise InputError("dtype", dtype, "must be one of " + ", ".join(DTYPES))


def model_for(name: str, schedule: str) -> Variant:
    """The model variant with the audit's step-size schedule (α_t = α or α/√t)."""
    try:
        return get_variant(name, alpha_schedule=schedule)
    except InputError as exc:
        if exc.argument == "algorithm":
            raise InputError("model", name, exc.message) from None
        raise


def optax_available() -> tuple[bool, str]:
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
    except Exception as exc:  # not installed: the optional extra [jax]
        return False, f"jax/optax not importable ({type(exc).__name__}: {exc}); install the " \
                      "optional extra: pip install 'amsgrad-theory[jax]'"
    return True, ""


@dataclass
class OptaxSubject:
    """``optax.amsgrad`` (google-deepmind/optax, ``optax/_src/alias.py``) on float32 arrays.

    The update ``u_t`` that ``opt.update`` returns is the displacement, so θ stays 0 (the reset
    trick needs no reset). Only built when jax and optax import (the optional extra ``[jax]``).
    """

    model: Variant
    schedule: str = "constant"
    label: str = OPTAX_TARGET
    dtype: str = "float32"
    rtol: float | None = None
    hyper: dict = field(default_factory=lambda: {"alpha": 1e-3, "beta1": 0.9, "beta2": 0.999,
                                                 "eps": 1e-8, "eps_root": 0.0})

    @property
    def unit_roundoff(self) -> float:
        return 2.0 ** -24

    def hyperparameters(self) -> dict:
        return dict(self.hyper)

    def _optimizer(self):
        # jax/optax: the optional extra `frameworks`, imported only to audit optax
        import jax.numpy as jnp
        import optax

        alpha = self.hyper["alpha"]
        lr = alpha if self.schedule == "constant" else (
            lambda count: alpha / jnp.sqrt(count + 1.0))
        return optax.amsgrad(learning_rate=lr, b1=self.hyper["beta1"], b2=self.hyper["beta2"],
                             eps=self.hyper["eps"], eps_root=self.hyper["eps_root"])

    def _lr(self, t: int) -> float:
        alpha = self.hyper["alpha"]
        return alpha if self.schedule == "constant" else alpha / math.sqrt(t)

    def _run(self, G: np.ndarray, x0: np.ndarray):
        # jax/optax: the optional extra `frameworks`, imported only to audit optax
        import jax.numpy as jnp
        import optax

        opt = self._optimizer()
        params = jnp.asarray(x0, dtype=jnp.float32)
        state = opt.init(params)
        T, d = G.shape
        theta = np.full((T, d), np.nan)
        delta = np.full((T, d), np.nan)
        states: dict[str, np.ndarray] = {}
        error, steps = None, 0
        for t in range(T):
            try:
                updates, state = opt.update(jnp.asarray(G[t], dtype=jnp.float32), state, params)
                params = optax.apply_updates(params, updates)
            except Exception as exc:
                error = StepError(t + 1, f"{type(exc).__name__}: {exc}")
                break
            delta[t] = np.asarray(updates, dtype=np.float64)
            theta[t] = np.asarray(params, dtype=np.float64)
            inner = state[0] if isinstance(state, tuple) and not hasattr(state, "mu") else state
            for key in ("mu", "nu", "nu_max"):
                if hasattr(inner, key):
                    states.setdefault(key, np.full((T, d), np.nan))[t] = np.asarray(
                        getattr(inner, key), dtype=np.float64)
            steps = t + 1
        return theta, delta, states, steps, error

    def measure(self, gradients) -> Measurement:
        g = np.asarray(gradients, dtype=np.float64)
        g = g.reshape(-1, 1) if g.ndim == 1 else g
        _, delta, _, steps, error = self._run(g, np.zeros(g.shape[1]))
        lr = np.array([self._lr(t + 1) for t in range(g.shape[0])])
        return Measurement(g, delta, lr, steps, error)

    def trajectory(self, gradients, x0, shapes=None) -> OptimizerRun:
        g = np.asarray(gradients, dtype=np.float64)
        theta, _, states, steps, error = self._run(g, np.asarray(x0, dtype=np.float64))
        renamed = {{"mu": "exp_avg", "nu": "exp_avg_sq", "nu_max": "max_exp_avg_sq"}[k]: v
                   for k, v in states.items()}
        lr = np.array([self._lr(t + 1) for t in range(g.shape[0])])
        return OptimizerRun(theta, renamed, lr, steps, error)
