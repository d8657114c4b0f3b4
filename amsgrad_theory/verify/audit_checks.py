"""Deterministic audit checks: model agreement per code path, AMSGrad = Adam, state_dict.

* :func:`compare_path` runs one code path (an ordinary run from θ = x0 on a battery of gradient
  sequences, one per coordinate) and compares it step for step with the toolkit's exact model
  (``simulate`` in float64, or on torch float32 tensors for float32): the largest deviation of
  θ_t and of each state tensor, in units in the last place of the path's dtype,
  ulps(a, b) = |a − b| / ulp(max(|a|, |b|)).
* :func:`amsgrad_equivalence` counts the leading steps on which ``amsgrad=True`` is bit-identical
  to ``amsgrad=False`` (PyTorch 2.13 torch/optim/adam.py [pytorch-2.13]: while the
  zero-initialised raw v is rising,
  max(v̂, v) = v and the max never binds, even though the corrected v/(1−β2^t) falls).
* :func:`state_dict_round_trip` saves the optimizer mid-run, loads the state into a fresh
  optimizer from the same factory and checks that both continue bit-identically and that the
  max state survived (fairseq#3965 [fairseq-issue3965]; the ``amsgrad`` flag of a checkpoint
  overrides the constructor's: PyTorch 2.13 torch/optim/optimizer.py,
  ``Optimizer.load_state_dict`` [pytorch-2.13]).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from ..errors import InputError
from .audit_invariants import INVARIANTS, evaluate, readings
from .audit_subjects import TorchSubject, run_model

#: torch state names → the model's trace names
STATE_NAMES = {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vhat"}
#: the sequences of the path battery (one coordinate each), in order
BATTERY = ("one-then-zeros", "one-then-0.05", "inv-sqrt", "gaussian", "late-spike", "jumps",
           "constant")
#: named sequences a user may ask for (``--equivalence-sequence``)
NAMED_SEQUENCES = BATTERY + ("pair",)
BATTERY_X0 = (0.5, -0.25, 1.0, -1.0, 0.125, 2.0, -0.5)
BATTERY_SHAPES = ((4,), (3, 1))


def _f32(values) -> np.ndarray:
    """Round to float32 (so float32 and float64 runs see the same gradients), as float64."""
    return np.asarray(values, dtype=np.float64).astype(np.float32).astype(np.float64)


def named_sequence(name: str, T: int) -> np.ndarray:
    """One of :data:`NAMED_SEQUENCES`, T steps, every value exact in float32.

    ``one-then-zeros``, ``one-then-0.05``, ``inv-sqrt`` g_t = 1/√t, ``gaussian`` iid N(0, 1)
    from numpy's default_rng(0), ``late-spike`` 0.1 with one 1.0 at t = ⌊T/2⌋ + 1, ``jumps``
    ±0.3 with ×5 every 7th step, ``constant`` 1.0, ``pair`` (1, 0) (T is ignored).
    """
    t = np.arange(1, T + 1, dtype=np.float64)
    if name == "pair":
        return np.array([1.0, 0.0])
    if name == "one-then-zeros":
        g = np.where(t == 1, 1.0, 0.0)
    elif name == "one-then-0.05":
        g = np.where(t == 1, 1.0, 0.05)
    elif name == "inv-sqrt":
        g = 1.0 / np.sqrt(t)
    elif name == "gaussian":
        g = np.random.default_rng(0).standard_normal(T)
    elif name == "late-spike":
        g = np.where(t == T // 2 + 1, 1.0, 0.1)
    elif name == "jumps":
        g = (-1.0) ** t * 0.3 * np.where(t % 7 == 0, 5.0, 1.0)
    elif name == "constant":
        g = np.ones(T)
    else:
        raise InputError("sequence", name, "unknown; valid: " + ", ".join(NAMED_SEQUENCES))
    return _f32(g)


def battery(T: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(names, gradients (T, d), x0 (d,)): the :data:`BATTERY` sequences side by side."""
    G = np.stack([named_sequence(n, T) for n in BATTERY], axis=1)
    return BATTERY, G, np.array(BATTERY_X0)


def ulps(a: np.ndarray, b: np.ndarray, dtype: str) -> np.ndarray:
    """|a − b| in units in the last place of ``dtype`` at max(|a|, |b|) (0 where equal)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    big = np.maximum(np.abs(a), np.abs(b))
    if dtype == "float32":
        unit = np.spacing(big.astype(np.float32)).astype(np.float64)
    else:
        unit = np.spacing(big)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(a == b, 0.0, np.abs(a - b) / unit)
    return np.where(np.isnan(a) | np.isnan(b), np.inf, out)


def _relative(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    big = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(a == b, 0.0, np.abs(a - b) / big)


def _deviation(real: np.ndarray, model: np.ndarray, dtype: str, steps: int) -> dict:
    r, m = real[:steps], model[:steps]
    u = ulps(r, m, dtype)
    rel = _relative(r, m)
    differing = np.flatnonzero(np.any(u > 0, axis=1)) if steps else np.array([], dtype=int)
    return {"max_ulps": float(np.max(u)) if u.size else 0.0,
            "max_relative": float(np.max(rel)) if rel.size else 0.0,
            "max_abs": float(np.max(np.abs(r - m))) if u.size else 0.0,
            "bit_identical": bool(u.size and not np.any(u > 0)),
            "first_difference_step": int(differing[0]) + 1 if differing.size else None}


def path_tolerance(path: str, dtype: str, device: str = "cpu") -> dict:
    """How closely a path must follow the exact model to *agree* (README, "Fidelity to the
    frameworks").

    ``state_relative`` bounds |a − b|/max(|a|, |b|) of every state tensor; ``theta_over_lr``
    bounds |θ − θ_model|/γ (a drift in units of the step size, scale-free where θ crosses 0).
    single/foreach are modelled exactly (0); fused reorders ``exp_avg_sq`` (measured ≤ 1.3e-6
    relative in float32, ≤ 2e-15 in float64; θ ≤ 1.2e-4·γ after 300 steps); the differentiable
    and capturable branch computes 1 − β^t from the float32 step (≈1e-5 relative per step,
    θ ≤ 1.2e-3·γ); a user factory, optax and every path on an accelerator (whose kernels may
    contract a·b + c into FMAs; not measured here) are held to the fused bounds.
    """
    if path in ("single", "foreach") and device == "cpu":
        return {"state_relative": 0.0, "theta_over_lr": 0.0}
    if path in ("differentiable", "capturable"):
        return {"state_relative": 1e-4, "theta_over_lr": 1e-2}
    if dtype == "float64":
        return {"state_relative": 1e-12, "theta_over_lr": 1e-9}
    return {"state_relative": 1e-5, "theta_over_lr": 1e-3}


def compare_path(subject: TorchSubject, path: str, *, steps: int, hyper: dict,
                 rtol: float, reference=None) -> dict:
    """Run ``subject`` on the battery and compare it with the exact model (and ``reference``,
    the single-tensor run of the same dtype, if given). Returns the JSON ``paths`` entry;
    ``_trajectory`` holds the raw run for later comparisons (dropped from the JSON)."""
    names, G, x0 = battery(steps)
    entry: dict[str, Any] = {
        "path": path, "dtype": subject.dtype, "device": getattr(subject, "device", "cpu"),
        "model": subject.model.name,
        "model_arithmetic": subject.model.exact_arithmetic(subject.dtype),
        "steps": steps, "sequences": list(names), "available": True}
    try:
        traj = subject.trajectory(G, x0, BATTERY_SHAPES)
    except Exception as exc:  # the path cannot be constructed here (e.g. fused on this dtype)
        entry.update(available=False, reason=f"{type(exc).__name__}: {exc}")
        return entry
    if traj.error is not None and traj.error.step == 1 and path in ("capturable", "fused"):
        entry.update(available=False, reason=traj.error.message)
        return entry
    entry["error"] = None if traj.error is None else traj.error.to_dict()
    model = run_model(subject.model, hyper, G, x0, dtype=subject.dtype)
    n = traj.steps
    parts = {"theta": _deviation(traj.theta, model["theta"], subject.dtype, n)}
    for key, value in traj.state.items():
        if key in STATE_NAMES:
            parts[key] = _deviation(value, model[STATE_NAMES[key]], subject.dtype, n)
    lr = float(hyper["alpha"])
    parts["theta"]["max_over_lr"] = parts["theta"]["max_abs"] / lr
    entry["agreement"] = parts
    entry["max_ulps"] = max(p["max_ulps"] for p in parts.values())
    entry["state_max_relative"] = max((p["max_relative"] for k, p in parts.items()
                                       if k != "theta"), default=0.0)
    entry["theta_max_over_lr"] = parts["theta"]["max_over_lr"]
    entry["bit_identical_to_model"] = all(p["bit_identical"] for p in parts.values()) \
        and traj.error is None
    tol = path_tolerance(path, subject.dtype, entry["device"])
    entry["tolerance"] = tol
    entry["agrees_with_model"] = (traj.error is None
                                  and entry["state_max_relative"] <= tol["state_relative"]
                                  and entry["theta_max_over_lr"] <= tol["theta_over_lr"])
    if reference is not None:
        entry["vs_single"] = _versus(traj, reference, subject.dtype)
    # the invariants on the battery, one coordinate per sequence (θ reset trick)
    measurement = subject.measure(G)
    ev = evaluate(subject, G, rtol, INVARIANTS, measurement=measurement)
    # per-step effective step against the model's (θ-independent unless L2 weight decay)
    if subject.model.weight_decay_mode == "decoupled" or not hyper.get("weight_decay"):
        r = readings(measurement, subject.hyperparameters(), subject.model,
                     subject.unit_roundoff, rtol)
        ok = r.judged & np.isfinite(model["eta_hat"])
        rel = _relative(r.eta_hat[ok], model["eta_hat"][ok])
        entry["effective_step_max_relative"] = float(np.max(rel)) if rel.size else 0.0
    entry["invariants"] = {}
    for name in INVARIANTS:
        v = ev.violations[name]
        info: dict[str, Any] = {"holds": v is None,
                                "max_relative_increase": float(ev.worst[name])}
        if v is not None:
            info["first_violation"] = (v.to_dict() if hasattr(v, "to_dict") else
                                       {"sequence": names[v.coordinate], "step": v.step,
                                        "relative_change": v.relative_change})
        entry["invariants"][name] = info
    entry["rtol"] = rtol
    entry["_trajectory"] = traj
    return entry


def _versus(traj, reference, dtype: str) -> dict:
    n = min(traj.steps, reference.steps)
    out = {"theta": _deviation(traj.theta, reference.theta, dtype, n)}
    for key in traj.state:
        if key in reference.state:
            out[key] = _deviation(traj.state[key], reference.state[key], dtype, n)
    return {"bit_identical": all(p["bit_identical"] for p in out.values()),
            "max_ulps": max(p["max_ulps"] for p in out.values()), "parts": out}


def amsgrad_equivalence(amsgrad: TorchSubject, plain: TorchSubject, gradients: np.ndarray,
                        name: str, *, x0: float = 0.5) -> dict:
    """Leading steps on which the AMSGrad run equals the plain-Adam run bit for bit.

    Also the growth of η̂ over the run under AMSGrad, max_t η̂_t / min_{s≤t} η̂_s (θ reset trick):
    the invariant's violation measured where the two are indistinguishable.
    """
    G = np.asarray(gradients, dtype=np.float64).reshape(-1, 1)
    T = G.shape[0]
    a = amsgrad.trajectory(G, np.array([x0]))
    b = plain.trajectory(G, np.array([x0]))
    n = min(a.steps, b.steps)
    same = np.all(a.theta[:n] == b.theta[:n], axis=1)
    identical = int(np.argmin(same)) if not np.all(same) else n
    r = readings(amsgrad.measure(G), amsgrad.hyperparameters(), amsgrad.model,
                 amsgrad.unit_roundoff, amsgrad.rtol or 1e-9)
    eh = r.eta_hat[:, 0]
    finite = np.isfinite(eh)
    growth = None
    if finite.any():
        running_min = np.fmin.accumulate(np.where(finite, eh, np.nan))
        growth = float(np.nanmax(eh / running_min))
    return {"sequence": name, "steps": T, "identical_steps": identical,
            "first_difference_step": None if identical == n else identical + 1,
            "bit_identical_throughout": identical == T,
            "plain": plain.label, "eta_hat_growth": growth,
            "errors": [e.to_dict() for e in (a.error, b.error) if e is not None]}


def state_dict_round_trip(subject: TorchSubject, *, before: int = 10, after: int = 10) -> dict:
    """Save after ``before`` steps of ``one-then-zeros`` (so the max binds: v decays while v̂
    stays), load into a fresh optimizer, continue both for ``after`` steps (gradients 0.05)."""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    G = np.concatenate([named_sequence("one-then-zeros", before),
                        _f32(np.full(after, 0.05))]).reshape(-1, 1)
    params_a = subject.parameters(np.array([0.5]))
    opt_a, sched_a = subject.build(params_a)

    def step(opt, sched, params, g):
        with torch.no_grad():
            params[0].grad = torch.tensor([g], dtype=subject.torch_dtype, device=subject.device)
        opt.step()
        if sched is not None:
            sched.step()

    out: dict[str, Any] = {"steps_before_save": before, "steps_after_load": after}
    try:
        for t in range(before):
            step(opt_a, sched_a, params_a, G[t, 0])
        saved_state = {k: (v.detach().clone() if hasattr(v, "detach") else copy.deepcopy(v))
                       for k, v in opt_a.state[params_a[0]].items()}
        sd = copy.deepcopy(opt_a.state_dict())
        sched_sd = None if sched_a is None else copy.deepcopy(sched_a.state_dict())
        params_b = subject.parameters(params_a[0].detach().cpu().double().numpy())
        opt_b, sched_b = subject.build(params_b)
        opt_b.load_state_dict(sd)
        if sched_b is not None:
            sched_b.load_state_dict(sched_sd)
        loaded = opt_b.state[params_b[0]]
        keys = sorted(saved_state)
        max_keys = [k for k in keys if "max" in k]
        missing = [k for k in keys if k not in loaded]
        preserved = {k: bool(k in loaded and _same(saved_state[k], loaded[k])) for k in keys}
        same_steps = 0
        diverged = None
        for t in range(before, before + after):
            step(opt_a, sched_a, params_a, G[t, 0])
            step(opt_b, sched_b, params_b, G[t, 0])
            if torch.equal(params_a[0].detach().cpu(), params_b[0].detach().cpu()):
                same_steps += 1
            elif diverged is None:
                diverged = t + 1
    except Exception as exc:
        out.update(round_trip_identical=False, max_state_preserved=False,
                   error=f"{type(exc).__name__}: {exc}")
        return out
    out.update(state_keys=keys, max_state_keys=max_keys, missing_after_load=missing,
               preserved=preserved,
               max_state_preserved=bool(max_keys) and all(preserved[k] for k in max_keys),
               round_trip_identical=diverged is None and all(preserved.values()),
               identical_steps_after_load=same_steps, first_divergence_step=diverged)
    return out


def _same(a, b) -> bool:
    if hasattr(a, "detach") and hasattr(b, "detach"):
        return bool(a.shape == b.shape and a.dtype == b.dtype
                    and (a.detach().cpu() == b.detach().cpu()).all())
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - exotic state values
        return False


def checkpoint_flag_override(class_name: str, hyper: dict) -> dict:
    """torch: does an ``amsgrad=False`` checkpoint silently turn ``amsgrad=True`` off?"""
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    cls = getattr(torch.optim, class_name)
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    plain = cls([p], lr=hyper["alpha"], amsgrad=False)
    p.grad = torch.ones(1, dtype=torch.float64)
    plain.step()
    q = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    ams = cls([q], lr=hyper["alpha"], amsgrad=True)
    ams.load_state_dict(copy.deepcopy(plain.state_dict()))
    flag = ams.param_groups[0]["amsgrad"]
    return {"constructor_amsgrad": True, "after_loading_amsgrad_false_checkpoint": bool(flag),
            "checkpoint_overrides_constructor": not flag}


def finite(x) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
