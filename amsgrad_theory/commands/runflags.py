"""The flags that describe one run (shared by ``simulate``, ``verify`` and ``check-proof``).

:func:`spec_from_args` is the one place where flags become a
:class:`~amsgrad_theory.engine.run.RunSpec`; every command then runs that spec.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from ..algorithms import HYPERPARAMETERS, variant_names
from ..engine import Result, RunSpec
from ..errors import InputError
from ..problems import get_problem, split_spec


def add_run_arguments(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    g = p.add_argument_group("the run")
    g.add_argument("--algorithm", "-a", required=required, metavar="NAME",
                   help="variant: " + ", ".join(variant_names()))
    g.add_argument("--problem", "-p", required=required, metavar="SPEC",
                   help="problem spec name:key=value,… (e.g. reddi-online:C=3, "
                        "gradient-sequence:g=[1,0])")
    g.add_argument("--steps", "-T", type=int, required=required, metavar="T",
                   help="number of steps T (t = 1..T)")
    g.add_argument("--arithmetic", default="float64", metavar="A",
                   help="float64 | float32 | mpmath:DPS | arb:BITS | torch[:DEVICE[:DTYPE]]")
    g.add_argument("--x0", default=None, metavar="X",
                   help="start point x_1: a number (every coordinate) or a JSON array "
                        "(default 0)")
    g.add_argument("--seed", default=None, metavar="N",
                   help="seed of the problem's random stream (random and Bernoulli problems)")
    h = p.add_argument_group("hyperparameters (omitted: the variant's documented default)")
    h.add_argument("--alpha", default=None, metavar="A", help="step size α (> 0)")
    h.add_argument("--schedule", choices=("constant", "inv-sqrt"), default=None,
                   help="α_t = α (constant) or α/√t (inv-sqrt)")
    h.add_argument("--beta1", default=None, metavar="B", help="β1 ∈ [0, 1)")
    h.add_argument("--beta1-decay", default=None, metavar="LAMBDA",
                   help="β1,t = β1·λ^(t−1) (sets --beta1-schedule exp-decay)")
    h.add_argument("--beta1-schedule", choices=("constant", "exp-decay", "inv-t"), default=None,
                   help="β1,t = β1, β1·λ^(t−1) or β1/t")
    h.add_argument("--beta2", default=None, metavar="B", help="β2 ∈ [0, 1)")
    h.add_argument("--eps", default=None, metavar="E", help="ε ≥ 0")
    h.add_argument("--eps-root", default=None, metavar="E", help="ε inside the root (optax)")
    h.add_argument("--weight-decay", default=None, metavar="WD", help="weight decay ≥ 0")
    h.add_argument("--decoupled", action="store_true", default=None,
                   help="decoupled weight decay (AdamW) instead of L2")


def _problem_spec(args) -> str:
    """The problem spec with ``--seed`` merged in (refused where it clashes or means nothing)."""
    spec = args.problem
    if args.seed is None:
        return spec
    name, params = split_spec(spec)
    if "seed" in params:
        if params["seed"] != str(args.seed):
            raise InputError("seed", args.seed,
                             f"the problem spec already sets seed={params['seed']}")
        return spec
    if "seed" not in get_problem(spec).params[0]:
        raise InputError("seed", args.seed, f"problem {name} has no random stream")
    return f"{spec}{',' if ':' in spec else ':'}seed={args.seed}"


def spec_from_args(args) -> RunSpec:
    """The run the flags describe, validated (nothing runs half-way on bad input).

    ``--beta1-decay`` without ``--beta1-schedule`` means the exponential schedule
    β1,t = β1·λ^{t−1}.
    """
    beta1_schedule = args.beta1_schedule
    if args.beta1_decay is not None and beta1_schedule is None:
        beta1_schedule = "exp-decay"
    given = {"alpha": args.alpha, "beta1": args.beta1, "beta2": args.beta2, "eps": args.eps,
             "eps_root": args.eps_root, "beta1_decay": args.beta1_decay,
             "weight_decay": args.weight_decay}
    spec = RunSpec(algorithm=args.algorithm, problem=_problem_spec(args), steps=args.steps,
                   arithmetic=args.arithmetic,
                   hyperparameters={k: v for k, v in given.items()
                                    if v is not None and k in HYPERPARAMETERS},
                   x0=args.x0, schedule=args.schedule, beta1_schedule=beta1_schedule,
                   decoupled=args.decoupled or None)
    spec.validate()
    return spec


def run_spec(spec: RunSpec, *, quiet: bool = False, trace: bool = False,
             progress_from: int = 5_000_000) -> Result:
    """Run ``spec`` with a progress bar on stderr for runs of at least ``progress_from``
    lane-steps (unless ``quiet``)."""
    problem = get_problem(spec.problem)
    bar = callback = None
    if not quiet and spec.steps * problem.B * problem.d >= progress_from:
        bar = tqdm(total=spec.steps, unit="step", file=sys.stderr, disable=None, leave=False)

        def callback(done, total):
            bar.update(done - bar.n)
    try:
        return spec.run(trace=trace, progress=callback)
    finally:
        if bar is not None:
            bar.close()
