"""Framework audits: does a real AMSGrad implementation keep AMSGrad's invariants, and does it
compute what the toolkit's exact model of it computes?

>>> r = audit("torch-adam-amsgrad", sections=("invariants",), max_examples=50)  # doctest: +SKIP
>>> r.counterexample["gradients"], round(r.counterexample["relative_change"], 5)  # doctest: +SKIP
([1.0, 0.0], 0.41386)

An audit of TARGET (see :mod:`~amsgrad_theory.verify.audit_subjects`) has four sections:

``invariants``   hypothesis feeds gradient sequences (:func:`~amsgrad_theory.strategies.
                 gradient_sequences`, kind "any") to the optimizer, reads η_t, η̂_t and v̂_t from the
                 parameter displacement (θ reset trick; never from the optimizer's state alone)
                 and checks v̂ non-decreasing, η̂ and η non-increasing and every step finite
                 (:mod:`~amsgrad_theory.verify.audit_invariants`). Each failing invariant comes
                 with its hypothesis-shrunk smallest gradient sequence. Known results (torch 2.13,
                 torch/optim/adam.py [pytorch-2.13]; README "Findings"): with constant lr, η̂
                 rises 41.4 % on g = (1, 0) and η rises at t = 13 on (1, 0×12), because torch
                 takes the max over the raw v and divides by √(1−β2^t) after it — AMSGrad with
                 the hidden step size α·√(1−β2^t)/(1−β1^t); with α_t = α/√t (a LambdaLR
                 scheduler) every invariant holds.
``paths``        every torch code path (single, foreach, fused, differentiable; capturable where
                 it runs) in float64 and float32, step for step against the exact model
                 (``amsgrad-pytorch`` / ``amsgrad-adamw-pytorch`` run by ``simulate``), largest
                 deviation in ulps; and against the single-tensor path.
``equivalence``  how many leading steps ``amsgrad=True`` is bit-identical to ``amsgrad=False``.
``state-dict``   whether a state_dict round trip preserves the max state (and the continuation).

Exit status of the CLI: 0 all invariants hold, 1 an invariant failed (a finding), 2 bad input.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..records import Record, Report, command_line
from ..strategies import gradient_sequences
from .audit_checks import (
    NAMED_SEQUENCES,
    amsgrad_equivalence,
    checkpoint_flag_override,
    compare_path,
    named_sequence,
    state_dict_round_trip,
)
from .audit_invariants import (
    CLAIMS,
    INVARIANTS,
    SOURCE,
    InvariantOutcome,
    check_sequence,
    default_rtol,
    search,
)
from .audit_subjects import (
    BUILTIN_TARGETS,
    FILE_MODULE_PREFIX,
    OPTAX_TARGET,
    TORCH_PATHS,
    OptaxSubject,
    TorchSubject,
    builtin_hyperparameters,
    check_options,
    load_factory,
    model_for,
    optax_available,
    sequence_spec,
    torch_factory,
)

SECTIONS = ("invariants", "paths", "equivalence", "state-dict")
#: the torch paths a built-in audit runs, in order (capturable is tried, and CPU refuses it)
AUDITED_PATHS = ("single", "foreach", "fused", "differentiable", "capturable")

Progress = Callable[[str, int, int | None], None]


@dataclass
class AuditResult:
    """Everything an audit established (``to_dict()`` is the ``--json`` object)."""

    target: str
    model: str
    schedule: str
    dtype: str
    path: str
    hyperparameters: dict
    invariants: list[InvariantOutcome]
    search: dict
    paths: list[dict]
    equivalence: dict | None
    state_dict: dict | None
    checkpoint: dict | None
    report: Report
    notes: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        """True when every invariant held on every case tried."""
        return all(o.holds for o in self.invariants)

    @property
    def counterexample(self) -> dict | None:
        """The counterexample of the first failing invariant (order of :data:`INVARIANTS`)."""
        for o in self.invariants:
            if not o.holds:
                return o.counterexample
        return None

    @property
    def max_relative_increase(self) -> float:
        """The largest violation ratio over all invariants (η_t/η_{t−1} − 1, or v̂_{t−1}/v̂_t − 1
        for the max), whatever its size (0.0 if nothing ever moved the wrong way)."""
        return max((o.max_relative_increase for o in self.invariants), default=0.0)

    @property
    def matches_model(self) -> bool | None:
        """Whether every available path agrees with the model (within
        :func:`~amsgrad_theory.verify.audit_checks.path_tolerance`)."""
        checked = [p for p in self.paths if p.get("available")]
        if not checked:
            return None
        return all(p.get("agrees_with_model", False) for p in checked)

    @property
    def exit_status(self) -> int:
        return 0 if self.holds else 1

    def to_dict(self) -> dict:
        """The ``--json`` object.

        ``target``, ``model`` (the exact model variant), ``schedule``, ``dtype``, ``path``,
        ``hyperparameters`` (what the optimizer ran with); ``holds`` (every invariant);
        ``invariants``: one entry per invariant {``name``, ``claim``, ``holds``,
        ``counterexample`` (null or {``gradients``, ``length``, ``step``, ``before``,
        ``after``, ``relative_change`` — or ``error`` — ``replay``, ``model_replay``}),
        ``max_relative_increase``, ``cases``, ``rtol``}; ``counterexample`` (the first failing
        invariant's); ``max_relative_increase`` (over all invariants); ``search`` (method,
        seed, cases); ``paths``: per path {``path``, ``dtype``, ``device``, ``available``,
        ``agreement`` (per tensor: ``max_ulps``, ``max_relative``, ``max_abs``,
        ``bit_identical``, ``first_difference_step``), ``max_ulps``, ``state_max_relative``,
        ``theta_max_over_lr``, ``effective_step_max_relative``, ``bit_identical_to_model``,
        ``tolerance``, ``agrees_with_model``, ``vs_single``, ``invariants``}; ``matches_model``;
        ``equivalence``; ``state_dict``; ``checkpoint``; ``notes``; ``report`` (the
        Record/Report schema, records of method "sampled" or "float").
        """
        return {
            "target": self.target, "model": self.model, "schedule": self.schedule,
            "dtype": self.dtype, "path": self.path, "hyperparameters": self.hyperparameters,
            "holds": self.holds, "invariants": [o.to_dict() for o in self.invariants],
            "counterexample": self.counterexample,
            "max_relative_increase": self.max_relative_increase,
            "search": self.search, "paths": [_public(p) for p in self.paths],
            "matches_model": self.matches_model, "equivalence": self.equivalence,
            "state_dict": self.state_dict, "checkpoint": self.checkpoint,
            "notes": self.notes, "report": self.report.to_dict(),
        }


def _public(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


# --------------------------------------------------------------------------------------------
# the audit
# --------------------------------------------------------------------------------------------

def _validate_int(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(name, value, f"must be an integer >= {low}")
    return int(value)


def _parse_sequence(sequence) -> list[float]:
    if isinstance(sequence, str):
        text = sequence.strip()
        if text in NAMED_SEQUENCES:
            return [float(v) for v in named_sequence(text, 2 if text == "pair" else 100)]
        try:
            sequence = json.loads(text)
        except json.JSONDecodeError:
            raise InputError("sequence", sequence, "unknown (not a JSON array of numbers "
                             "either); valid names: " + ", ".join(NAMED_SEQUENCES)) from None
    if not isinstance(sequence, (list, tuple, np.ndarray)) or len(sequence) == 0:
        raise InputError("sequence", sequence, "must be a non-empty list of numbers")
    out = []
    for v in sequence:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
            raise InputError("sequence", sequence, f"entry {v!r} is not a number")
        if not math.isfinite(float(v)):
            raise InputError("sequence", sequence, f"entry {v!r} is not finite")
        out.append(float(v))
    return out


def _subject_for(target, *, schedule: str, dtype: str, path: str, model: str | None,
                 hyper_overrides: dict | None, rtol: float | None):
    """(kind, label, subject, hyperparameters) for ``target``; InputError naming bad input."""
    overrides = {k: v for k, v in (hyper_overrides or {}).items() if v is not None}
    if path not in TORCH_PATHS:
        raise InputError("path", path, "must be one of " + ", ".join(TORCH_PATHS))
    if isinstance(target, str) and target in BUILTIN_TARGETS:
        class_name, model_name, _ = BUILTIN_TARGETS[target]
        if model is not None and model != model_name:
            raise InputError("model", model, f"{target} is audited against {model_name}")
        hyper = builtin_hyperparameters(target, overrides)
        subject = TorchSubject(torch_factory(class_name, hyper, TORCH_PATHS[path]), target,
                               model_for(model_name, schedule), dtype=dtype, schedule=schedule,
                               plain_tensors=path == "differentiable",
                               rtol=rtol or default_rtol(dtype, path))
        return "builtin", target, subject, hyper
    if path != "single":
        raise InputError("path", path, "only the built-in torch targets have code paths")
    if overrides:
        key = sorted(overrides)[0]
        raise InputError(key, overrides[key], "hyperparameters are fixed by the target's own "
                         "factory; only the built-in torch targets take them")
    if target == OPTAX_TARGET:
        ok, reason = optax_available()
        if not ok:
            raise InputError("target", target, reason)
        if dtype != "float32":
            raise InputError("dtype", dtype, "optax-amsgrad runs in jax's default float32")
        optax_subject = OptaxSubject(model_for(model or "amsgrad-optax", schedule),
                                     schedule=schedule, rtol=rtol or default_rtol("float32"))
        return "optax", target, optax_subject, optax_subject.hyperparameters()
    if callable(target):
        factory, label = target, callable_label(target)
    elif isinstance(target, str):
        factory, label = load_factory(target), target
    else:
        raise InputError("target", target, "must be a target name, MODULE:FACTORY or a callable")
    subject = TorchSubject(factory, label, model_for(model or "amsgrad-pytorch", schedule),
                           dtype=dtype, schedule=schedule, rtol=rtol or default_rtol(dtype))
    try:
        hyper = subject.hyperparameters()      # builds one optimizer: the factory is checked
    except InputError:
        raise
    except Exception as exc:
        raise InputError("target", label, f"the factory raised {type(exc).__name__}: {exc} "
                         "when called with a list of parameters") from None
    return "factory", label, subject, hyper


def callable_label(factory) -> str:
    """``MODULE:QUALNAME`` of a factory (``FILE.py:QUALNAME`` when it was loaded from a file by
    :func:`~amsgrad_theory.verify.audit_subjects.load_factory`), as the CLI accepts it."""
    module = getattr(factory, "__module__", None) or "?"
    name = getattr(factory, "__qualname__", None) or type(factory).__name__
    loaded = getattr(sys.modules.get(module), "__file__", None)    # its file, or None
    if module.startswith(FILE_MODULE_PREFIX) and loaded:
        module = loaded
    return f"{module}:{name}"


def _importable(label: str) -> bool:
    return ":" in label and "<" not in label and not label.startswith("?")


def replay_command(label: str, gradients: Sequence[float], *, schedule: str, dtype: str,
                   path: str, hyper_flags: str = "") -> str | None:
    """The CLI command that re-checks one gradient sequence (None if the target is a callable
    that the CLI cannot import)."""
    if not _importable(label) and label not in BUILTIN_TARGETS and label != OPTAX_TARGET:
        return None
    seq = "[" + ", ".join(repr(float(v)) for v in gradients) + "]"
    parts = ["amsgrad-theory", "audit", shlex.quote(label), "--sequence", shlex.quote(seq),
             "--schedule", schedule, "--dtype", dtype]
    if path != "single":
        parts += ["--path", path]
    return " ".join(parts) + hyper_flags + " --json"


def model_command(model: str, gradients: Sequence[float], hyper: dict, schedule: str, *,
                  x0: float | None = None, arithmetic: str | None = None) -> str:
    """``amsgrad-theory simulate`` of the exact model on the same gradients (from ``x0``, in
    ``arithmetic``, where given)."""
    spec = sequence_spec(np.asarray(gradients, dtype=np.float64))
    flags = [f"--alpha {hyper['alpha']!r}", f"--beta1 {hyper['beta1']!r}",
             f"--beta2 {hyper['beta2']!r}", f"--eps {hyper['eps']!r}"]
    if hyper.get("weight_decay"):
        flags.append(f"--weight-decay {hyper['weight_decay']!r}")
    if x0 is not None:
        flags.append(f"--x0 {float(x0)!r}")
    if arithmetic is not None:
        flags.append(f"--arithmetic {arithmetic}")
    return (f"amsgrad-theory simulate --algorithm {model} --problem {shlex.quote(spec)} "
            f"--steps {len(gradients)} --schedule {schedule} " + " ".join(flags) + " --json")


def audit(target: str | Callable, *, schedule: str = "constant", dtype: str | None = None,
          path: str = "single", model: str | None = None, hyperparameters: dict | None = None,
          max_examples: int = 300, max_size: int = 40, seed: int = 0, rtol: float | None = None,
          sequence=None, sections: Sequence[str] = SECTIONS, path_steps: int = 200,
          equivalence_sequence: str = "one-then-0.05", equivalence_steps: int = 3000,
          progress: Progress | None = None, command: str | None = None) -> AuditResult:
    """Audit ``target`` (a name of :data:`~amsgrad_theory.verify.audit_subjects.TARGET_NAMES`,
    ``MODULE:FACTORY``, or a callable ``params → torch.optim.Optimizer``).

    ``schedule``: ``constant`` or ``inv-sqrt`` (α_t = α/√t through ``LambdaLR``); ``dtype``
    (default float64; float32 for optax) and ``path`` choose the configuration the invariant
    search runs (the paths section runs them all); ``model`` overrides the exact model a
    factory is compared with; ``hyperparameters`` (``alpha``, ``beta1``, ``beta2``, ``eps``,
    ``weight_decay``) override a built-in target's torch defaults. The search draws
    ``max_examples`` sequences of length ≤ ``max_size`` per invariant, seeded by ``seed``;
    ``sequence`` instead checks one given sequence (a replay).
    ``rtol`` is the relative change that counts as a violation (default by dtype and path,
    :func:`~amsgrad_theory.verify.audit_invariants.default_rtol`).
    """
    if dtype is None:
        dtype = "float32" if target == OPTAX_TARGET else "float64"
    check_options(schedule, dtype)
    if isinstance(sections, str):
        sections = (sections,)
    for s in sections:
        if s not in SECTIONS:
            raise InputError("sections", s, "must be among " + ", ".join(SECTIONS))
    max_examples = _validate_int("max_examples", max_examples, 1)
    max_size = _validate_int("max_size", max_size, 2)
    seed = _validate_int("seed", seed, 0)
    path_steps = _validate_int("path_steps", path_steps, 2)
    equivalence_steps = _validate_int("equivalence_steps", equivalence_steps, 1)
    if equivalence_sequence not in NAMED_SEQUENCES:
        raise InputError("equivalence_sequence", equivalence_sequence,
                         "must be one of " + ", ".join(NAMED_SEQUENCES))
    if rtol is not None and (isinstance(rtol, bool) or not isinstance(rtol, (int, float))
                             or not 0 < rtol < 1):
        raise InputError("rtol", rtol, "must be a number in (0, 1)")
    gradients = None if sequence is None else _parse_sequence(sequence)
    kind, label, subject, hyper = _subject_for(target, schedule=schedule, dtype=dtype, path=path,
                                               model=model, hyper_overrides=hyperparameters,
                                               rtol=rtol)
    user_rtol, rtol = rtol, subject.rtol
    tick = progress or (lambda stage, done, total: None)
    hyper_flags = ""
    if kind == "builtin" and hyperparameters:
        names = {"alpha": "--lr", "beta1": "--beta1", "beta2": "--beta2", "eps": "--eps",
                 "weight_decay": "--weight-decay"}
        hyper_flags = "".join(f" {names[k]} {v!r}" for k, v in hyperparameters.items()
                              if v is not None)
    report = Report(title=f"audit {label}", command=command or command_line(),
                    seeds={"hypothesis": seed},
                    parameters={"target": label, "schedule": schedule, "dtype": dtype,
                                "path": path, "model": subject.model.name, "rtol": rtol,
                                "hyperparameters": hyper})
    notes: list[str] = []

    # ------------------------------------------------------------------ invariants
    outcomes: list[InvariantOutcome] = []
    search_info: dict = {}
    if "invariants" in sections:
        if gradients is not None:
            tick("invariants", 0, 1)
            result = check_sequence(subject, gradients, rtol=rtol)
            tick("invariants", 1, 1)
            method = "float"
            search_info = {"method": "given sequence", "cases": 1, "sequence": gradients}
        else:
            strategy = gradient_sequences(kind="any", max_size=max_size)
            result = search(subject, strategy, max_examples=max_examples, seed=seed, rtol=rtol,
                            progress=lambda n: tick("invariants", n, None))
            method = "sampled"
            search_info = {"method": "hypothesis.find per invariant, shrunk", "seed": seed,
                           "max_examples": max_examples, "max_size": max_size,
                           "strategy": f"gradient_sequences(kind='any', max_size={max_size})",
                           "cases": result.cases}
        outcomes = result.outcomes
        for o in outcomes:
            ce = o.counterexample       # None exactly where the invariant holds
            o.claim = CLAIMS[o.name]
            if o.counterexample is not None:
                g = o.counterexample["gradients"]
                o.counterexample["replay"] = replay_command(label, g, schedule=schedule,
                                                            dtype=dtype, path=path,
                                                            hyper_flags=hyper_flags)
                o.counterexample["model_replay"] = model_command(subject.model.name, g, hyper,
                                                                 schedule)
            report.add(Record(
                name=f"audit.{o.name}", claim=f"{label} ({schedule} lr, {dtype}, {path}): "
                + CLAIMS[o.name], method=method, verdict="pass" if o.holds else "fail",
                cases=result.cases, seed=seed if method == "sampled" else None,
                witness=None if ce is None else dict(ce, cli=ce.get("replay")),
                details={"max_relative_increase": o.max_relative_increase, "rtol": rtol},
                source=SOURCE))

    # ------------------------------------------------------------------ paths
    paths: list[dict] = []
    if "paths" in sections:
        configs = _path_configs(kind, subject, hyper, label, schedule)
        references: dict = {}
        for i, (pname, psubject) in enumerate(configs):
            tick("paths", i, len(configs))
            prtol = user_rtol or default_rtol(psubject.dtype, pname)
            key = (psubject.dtype, getattr(psubject, "device", "cpu"))
            entry = compare_path(psubject, pname, steps=path_steps, hyper=hyper, rtol=prtol,
                                 reference=references.get(key) if pname != "single" else None)
            if pname == "single" and entry.get("available"):
                references[key] = entry["_trajectory"]
            if entry.get("available"):
                tol = entry["tolerance"]
                report.add(Record(
                    name=f"audit.path.{pname}.{psubject.dtype}.{entry['device']}",
                    claim=f"{label} path {pname} ({psubject.dtype}, {entry['device']}) agrees "
                    f"step for step with the model {psubject.model.name} on the battery "
                    f"({path_steps} steps): state within relative {tol['state_relative']:g}, "
                    f"θ within {tol['theta_over_lr']:g}·lr",
                    method="float", verdict="pass" if entry["agrees_with_model"] else "fail",
                    details={k: entry.get(k) for k in (
                        "max_ulps", "state_max_relative", "theta_max_over_lr",
                        "effective_step_max_relative", "bit_identical_to_model")},
                    source="PyTorch 2.13 torch/optim/adam.py: _single_tensor_adam, "
                    "_multi_tensor_adam, _fused_adam [pytorch-2.13]"))
            paths.append(entry)
        tick("paths", len(configs), len(configs))

    # ------------------------------------------------------------------ equivalence
    equivalence = None
    if "equivalence" in sections and kind in ("builtin", "factory"):
        tick("equivalence", 0, 1)
        plain = _plain_subject(kind, subject, hyper, path, label)
        g = named_sequence(equivalence_sequence, equivalence_steps)
        equivalence = amsgrad_equivalence(subject, plain, g, equivalence_sequence)
        report.add(Record(
            name="audit.amsgrad_equals_adam",
            claim=f"{label} with amsgrad is bit-identical to {plain.label} for the first "
            f"{equivalence['identical_steps']} of {equivalence['steps']} steps on "
            f"{equivalence_sequence}", method="float", verdict="pass",
            details=equivalence, source="PyTorch 2.13 torch/optim/adam.py, "
            "_single_tensor_adam: max(max_exp_avg_sq, exp_avg_sq) over the raw v "
            "[pytorch-2.13]"))
        tick("equivalence", 1, 1)

    # ------------------------------------------------------------------ state_dict
    state = checkpoint = None
    if "state-dict" in sections and isinstance(subject, TorchSubject):
        tick("state-dict", 0, 1)
        state = state_dict_round_trip(subject)
        report.add(Record(
            name="audit.state_dict_round_trip",
            claim=f"{label}: a state_dict round trip preserves the max state and the run "
            "continues bit-identically", method="float",
            verdict="pass" if state.get("round_trip_identical") and state.get(
                "max_state_preserved") else "fail",
            details=state, source="fairseq#3965; PyTorch 2.13 torch/optim/optimizer.py, "
            "Optimizer.load_state_dict [fairseq-issue3965; pytorch-2.13]"))
        if kind == "builtin":
            checkpoint = checkpoint_flag_override(BUILTIN_TARGETS[label][0], hyper)
            notes.append("torch's load_state_dict restores the checkpoint's 'amsgrad' flag: an "
                         "amsgrad=False checkpoint loaded into amsgrad=True runs as plain Adam"
                         if checkpoint["checkpoint_overrides_constructor"] else
                         "the constructor's amsgrad flag survives loading a checkpoint")
        tick("state-dict", 1, 1)
    if kind == "optax" and "state-dict" in sections:
        notes.append("state-dict and equivalence sections apply to torch optimizers only")

    return AuditResult(target=label, model=subject.model.name, schedule=schedule, dtype=dtype,
                       path=path, hyperparameters=hyper, invariants=outcomes,
                       search=search_info, paths=paths, equivalence=equivalence,
                       state_dict=state, checkpoint=checkpoint, report=report, notes=notes)


def _path_configs(kind: str, subject, hyper: dict, label: str, schedule: str):
    """(path name, subject) for every configuration the paths section runs."""
    if kind == "optax":
        return [("optax", subject)]
    if kind == "factory":
        out = []
        for dtype in ("float64", "float32"):
            out.append(("factory", TorchSubject(subject.factory, label, subject.model,
                                                dtype=dtype, schedule=schedule)))
        return out
    import torch  # torch: imported on first use, not by `import amsgrad_theory` (≈ 1 s)

    class_name = BUILTIN_TARGETS[label][0]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    out = []
    for device in devices:
        for dtype in ("float64", "float32"):
            for pname in AUDITED_PATHS:
                out.append((pname, TorchSubject(
                    torch_factory(class_name, hyper, TORCH_PATHS[pname]), label, subject.model,
                    dtype=dtype, device=device, schedule=schedule,
                    plain_tensors=pname == "differentiable",
                    rtol=default_rtol(dtype, pname))))
    return out


def _plain_subject(kind: str, subject: TorchSubject, hyper: dict, path: str,
                   label: str) -> TorchSubject:
    """The same optimizer with ``amsgrad=False`` (for a factory: torch's Adam or AdamW with the
    factory's hyperparameters, by the model's weight-decay mode)."""
    if kind == "builtin":
        class_name = BUILTIN_TARGETS[label][0]
        options = TORCH_PATHS[path]
    else:
        class_name = "AdamW" if subject.model.weight_decay_mode == "decoupled" else "Adam"
        options = {"foreach": False}
    factory = torch_factory(class_name, hyper, options, amsgrad=False)
    return TorchSubject(factory, f"torch.optim.{class_name}(amsgrad=False)", subject.model,
                        dtype=subject.dtype, device=subject.device, schedule=subject.schedule,
                        plain_tensors=subject.plain_tensors, rtol=subject.rtol)


__all__ = ["audit", "AuditResult", "callable_label", "SECTIONS", "AUDITED_PATHS", "INVARIANTS",
           "replay_command", "model_command"]
