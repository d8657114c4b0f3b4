"""Audit a real optimizer implementation: AMSGrad's invariants read from the parameter
displacement (hypothesis-shrunk counterexamples), step-for-step agreement of every torch code
path with the toolkit's exact model (ulps), amsgrad=True vs amsgrad=False, state_dict round trip.

TARGET: torch-adam-amsgrad | torch-adamw-amsgrad | optax-amsgrad (needs jax and optax) |
MODULE:FACTORY (a callable taking a list of parameters and returning a torch.optim.Optimizer;
MODULE may be a path to a .py file).

MODULE:FACTORY imports and runs your module: its top-level code executes, as `import MODULE`
would, so audit only code you trust. MODULE is looked up on sys.path with the working directory
appended last (installed packages are never shadowed by a file of the same name there); a
path to a .py file loads that one file.

Examples:
  amsgrad-theory audit torch-adam-amsgrad --json
  amsgrad-theory audit torch-adam-amsgrad --schedule inv-sqrt
  amsgrad-theory audit mypkg.optim:make_optimizer --skip paths
  amsgrad-theory audit torch-adam-amsgrad --sequence '[1.0, 0.0]'

Exit status: 0 every invariant holds; 1 an invariant failed (a finding); 2 bad input.
"""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from ..algorithms import get_variant
from ..arithmetic import get_arithmetic
from ..problems import parse_number
from ..verify.audit import AUDITED_PATHS, SECTIONS, audit
from ..verify.audit_checks import NAMED_SEQUENCES
from ..verify.audit_subjects import BUILTIN_TARGETS
from .runflags import check_memory, count, number_texts, tolerance


def add_arguments(p) -> None:
    p.add_argument("target", metavar="TARGET",
                   help="torch-adam-amsgrad, torch-adamw-amsgrad, optax-amsgrad or "
                        "MODULE:FACTORY (imports and runs MODULE: audit only code you trust)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    g = p.add_argument_group("what the invariant search runs")
    g.add_argument("--schedule", choices=("constant", "inv-sqrt"), default="constant",
                   help="learning rate: constant, or α/√t through torch's LambdaLR")
    g.add_argument("--dtype", choices=("float64", "float32"), default=None,
                   help="parameter dtype of the invariant search (default float64; float32 "
                        "for optax; the paths section runs both)")
    g.add_argument("--path", choices=AUDITED_PATHS[:-1], default="single",
                   help="torch code path of the invariant search (built-in targets)")
    g.add_argument("--model", default=None, metavar="VARIANT",
                   help="the exact model a MODULE:FACTORY is compared with "
                        "(default amsgrad-pytorch)")
    g.add_argument("--max-examples", type=count, default=300, metavar="N",
                   help="hypothesis examples per invariant (default 300)")
    g.add_argument("--max-size", type=count, default=40, metavar="T",
                   help="longest gradient sequence drawn (default 40)")
    g.add_argument("--seed", type=count, default=0, help="hypothesis seed (default 0)")
    g.add_argument("--rtol", type=tolerance, default=None, metavar="R",
                   help="relative change that counts as a violation (default 1e-9 float64, "
                        "1e-5 float32, 1e-4 differentiable)")
    g.add_argument("--sequence", default=None, metavar="JSON",
                   help="check this one gradient sequence (a replay) instead of searching; "
                        "a JSON array or one of " + ", ".join(NAMED_SEQUENCES))
    h = p.add_argument_group("hyperparameters of a built-in torch target (default: torch's)")
    h.add_argument("--lr", default=None, metavar="LR", help="learning rate α (> 0)")
    h.add_argument("--beta1", default=None, metavar="B1", help="β1 ∈ [0, 1)")
    h.add_argument("--beta2", default=None, metavar="B2", help="β2 ∈ [0, 1)")
    h.add_argument("--eps", default=None, metavar="EPS", help="ε ≥ 0")
    h.add_argument("--weight-decay", default=None, metavar="WD", help="weight decay ≥ 0")
    s = p.add_argument_group("the other sections")
    s.add_argument("--skip", action="append", default=[], choices=SECTIONS,
                   help="skip a section (repeatable)")
    s.add_argument("--path-steps", type=count, default=200, metavar="T",
                   help="steps of the path battery (default 200)")
    s.add_argument("--equivalence-sequence", default="one-then-0.05", choices=NAMED_SEQUENCES,
                   metavar="NAME", help="sequence of the amsgrad=True vs amsgrad=False count: "
                   + ", ".join(NAMED_SEQUENCES) + " (default one-then-0.05)")
    s.add_argument("--equivalence-steps", type=count, default=3000, metavar="T",
                   help="steps of that count (default 3000)")


class _Bars:
    """One tqdm bar per section, on stderr (disabled by --quiet or when stderr is no tty)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar: tqdm | None = None
        self.stage: str | None = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            unit = "case" if stage == "invariants" else "step"
            self.bar = tqdm(total=total, desc=f"audit {stage}", unit=unit, file=sys.stderr,
                            leave=False, disable=None)
        assert self.bar is not None     # opened above at a section's first call, closed after all
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


#: bytes the paths section keeps per step (every path's trajectory and its model's), and the
#: equivalence section: peak resident memory measured here
PATH_STEP_BYTES, EQUIVALENCE_STEP_BYTES = 8192, 64


def run(args) -> int:
    hyper = {"alpha": args.lr, "beta1": args.beta1, "beta2": args.beta2, "eps": args.eps,
             "weight_decay": args.weight_decay}
    _check_hyperparameters(args.target, {k: v for k, v in hyper.items() if v is not None})
    if args.sequence is not None and args.sequence.strip().startswith("["):
        for text in number_texts("sequence", args.sequence):
            get_arithmetic("float64").check_input("sequence", text)
    needs: dict[str, int] = {}
    if "paths" not in args.skip:
        needs["path_steps"] = PATH_STEP_BYTES * max(args.path_steps, 0)
    if "equivalence" not in args.skip:
        needs["equivalence_steps"] = EQUIVALENCE_STEP_BYTES * max(args.equivalence_steps, 0)
    if needs:
        largest = max(needs, key=needs.__getitem__)
        check_memory(largest, getattr(args, largest), sum(needs.values()),
                     "the audit's " + " and ".join(f"{f} = {getattr(args, f):,}" for f in needs))
    bars = _Bars(args.quiet)
    try:
        result = audit(
            args.target, schedule=args.schedule, dtype=args.dtype, path=args.path,
            model=args.model, hyperparameters={k: v for k, v in hyper.items() if v is not None},
            max_examples=args.max_examples, max_size=args.max_size, seed=args.seed,
            rtol=args.rtol, sequence=args.sequence,
            sections=tuple(s for s in SECTIONS if s not in args.skip),
            path_steps=args.path_steps, equivalence_sequence=args.equivalence_sequence,
            equivalence_steps=args.equivalence_steps, progress=bars)
    finally:
        bars.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        print(format_result(result))
    return result.exit_status


def _check_hyperparameters(target: str, given: dict[str, str]) -> None:
    """Each hyperparameter given a decimal number that survives conversion to float64 (torch
    takes Python floats) and lies in the model's range; the error quotes the user's text."""
    float64 = get_arithmetic("float64")
    for key, value in given.items():
        parse_number(key, value)
        float64.check_input(key, value)
    if given and target in BUILTIN_TARGETS:
        get_variant(BUILTIN_TARGETS[target][1]).hyperparameters(**given)


def _g(x) -> str:
    return "—" if x is None else f"{x:.4g}"


def _largest(parts: dict) -> tuple[str, dict]:
    """The tensor (θ or a state) that differs the most (relative), and its deviation."""
    name, worst = max(parts.items(), key=lambda item: item[1]["max_relative"])
    return ("θ" if name == "theta" else name), worst


def path_agreement(p: dict) -> list[str]:
    """One torch code path against the exact model, in words. The verdict rests on the
    tolerance of the path (verify.audit_checks.path_tolerance): every state tensor within a
    relative difference, θ within a drift in units of the learning rate. A count of ulps
    alone does not say whether a path agrees: in float64 one ulp is 2⁻⁵² relative, so the
    differentiable branch's 1e-5 relative (its 1 − β^t from a float32 step count, within its
    tolerance) is ≈ 10¹¹ ulps. The verdict is the tolerance's; the difference is shown both
    ways, relative and in ulps. Lines: the verdict, then its details."""
    lines = []
    if p["bit_identical_to_model"]:
        text = "agrees (bit-identical)"
    else:
        tol = p["tolerance"]
        measured = (f"θ drift {_g(p['theta_max_over_lr'])}·lr (allowed {tol['theta_over_lr']:g}"
                    f"·lr), state rel {_g(p['state_max_relative'])} (allowed "
                    f"{tol['state_relative']:g})")
        if p.get("effective_step_max_relative") is not None:
            measured += f", η̂ rel {_g(p['effective_step_max_relative'])}"
        if p.get("error"):
            measured = (f"the path stopped at step {p['error'].get('step')}: "
                        f"{p['error'].get('error')}; " + measured)
        name, worst = _largest(p["agreement"])
        verdict = "agrees within tolerance" if p["agrees_with_model"] else "DISAGREES"
        text = f"{verdict}: {measured}"
        lines.append(f"not bit-identical: {name} differs by up to {_g(worst['max_relative'])} "
                     f"relative ({_g(p['max_ulps'])} ulps at most, over θ and the state), "
                     f"first at step {worst['first_difference_step']}")
    vs = p.get("vs_single")
    if vs is not None:
        if vs["bit_identical"]:
            text += "; = single"
        else:
            name, worst = _largest(vs["parts"])
            lines.append(f"vs single-tensor: {name} differs by up to "
                         f"{_g(worst['max_relative'])} relative ({_g(vs['max_ulps'])} ulps "
                         "at most)")
    return [text, *lines]


def state_dict_failure(s: dict) -> str:
    """What a failed state_dict round trip lost, in words."""
    if s.get("error"):
        return f"the round trip raised {s['error']}"
    lost = [k for k, kept in (s.get("preserved") or {}).items() if not kept]
    parts = []
    if not s.get("max_state_keys"):
        parts.append("the state holds no max tensor")
    if lost:
        parts.append("not restored: " + ", ".join(lost))
    if s.get("first_divergence_step") is not None:
        parts.append(f"the continuation diverges at step {s['first_divergence_step']} "
                     f"({s.get('identical_steps_after_load')} identical steps after loading)")
    return "; ".join(parts) or "see --json"


def format_result(r) -> str:
    """The human-readable summary of an :class:`~amsgrad_theory.verify.audit.AuditResult`."""
    lines = [f"audit of {r.target} against the model {r.model} ({r.schedule} learning rate, "
             f"{r.dtype}, path {r.path})",
             "hyperparameters: " + ", ".join(f"{k}={v}" for k, v in r.hyperparameters.items())]
    if r.invariants:
        seed = r.search.get("seed")
        lines.append(f"invariants ({r.search.get('method')}, {r.search.get('cases')} case(s)"
                     + ("" if seed is None else f", seed {seed}") + "):")
        for o in r.invariants:
            mark = "holds " if o.holds else "FAILS "
            line = f"  {mark} {o.name:23s} largest relative change {o.max_relative_increase:.6g}"
            lines.append(line)
            if not o.holds:
                ex = o.counterexample
                if "error" in ex:
                    lines.append(f"         step {ex['step']}: {ex['error']}")
                else:
                    kind = "shrunk counterexample" if r.search.get("seed") is not None \
                        else "counterexample"
                    lines.append(f"         {kind} g = {ex['gradients']}: "
                                 f"{ex['before']:.9g} → {ex['after']:.9g} at t = {ex['step']} "
                                 f"(by {ex['relative_change']:.4%})")
                if ex.get("replay"):
                    lines.append(f"         replay: {ex['replay']}")
    if r.paths:
        lines.append("paths (battery vs the exact model; vs single-tensor):")
        for p in r.paths:
            where = f"{p['path']:14s} {p['dtype']} {p['device']}"
            if not p.get("available"):
                lines.append(f"  {where}: unavailable ({p.get('reason', '')[:80]})")
                continue
            verdict, *detail = path_agreement(p)
            lines.append(f"  {where}: {verdict}")
            lines += [f"  {'':{len(where)}}  {line}" for line in detail]
    if r.equivalence:
        e = r.equivalence
        lines.append(f"amsgrad=True vs {e['plain']}: bit-identical for {e['identical_steps']}/"
                     f"{e['steps']} steps on {e['sequence']} (η̂ grew ×{_g(e['eta_hat_growth'])})")
    if r.state_dict:
        s = r.state_dict
        lines.append("state_dict round trip: " + (
            "max state preserved, continuation bit-identical" if s.get("round_trip_identical")
            and s.get("max_state_preserved") else f"FAILED ({state_dict_failure(s)})"))
    lines += [f"note: {n}" for n in r.notes]
    if not r.invariants:
        verdict = "no invariant checked (section skipped)"
    else:
        verdict = "every invariant holds" if r.holds else "an invariant FAILED (exit 1)"
    lines.append(f"verdict: {verdict}")
    return "\n".join(lines)
