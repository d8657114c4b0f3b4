"""A run, as data: what is needed to replay it from the command line or the API.

Records refer to runs by spec, so any claim in a report, a figure's sidecar or the paper can be
re-established by replaying its run (``amsgrad-theory verify --sidecar F`` does that).
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field

from ..algorithms import get_variant

_FLAG = {"alpha": "--alpha", "beta1": "--beta1", "beta2": "--beta2", "eps": "--eps",
         "eps_root": "--eps-root", "beta1_decay": "--beta1-decay",
         "weight_decay": "--weight-decay"}


@dataclass(frozen=True)
class RunSpec:
    """One run: variant (with its structural options), problem spec, steps, arithmetic, inputs.

    ``hyperparameters`` holds only what was given (decimal strings); the variant's defaults
    fill the rest, exactly as on the command line.
    """

    algorithm: str
    problem: str
    steps: int
    arithmetic: str = "float64"
    hyperparameters: dict = field(default_factory=dict)
    x0: str | None = None
    schedule: str | None = None          # α_t: constant | inv-sqrt (None: the variant's own)
    beta1_schedule: str | None = None    # constant | exp-decay | inv-t
    decoupled: bool | None = None

    def variant(self):
        return get_variant(self.algorithm, alpha_schedule=self.schedule,
                           beta1_schedule=self.beta1_schedule, decoupled=self.decoupled)

    def run(self, **kwargs):
        from ..simulate import simulate

        return simulate(self.variant(), self.problem, steps=self.steps,
                        arithmetic=self.arithmetic, hyperparameters=dict(self.hyperparameters),
                        x0=self.x0, **kwargs)

    def with_(self, **changes) -> RunSpec:
        data = asdict(self)
        data.update(changes)
        return RunSpec(**data)

    def flags(self) -> list[str]:
        """The ``simulate``/``verify``/``check-proof`` flags that describe this run."""
        out = ["--algorithm", self.algorithm, "--problem", self.problem,
               "--steps", str(self.steps)]
        if self.arithmetic != "float64":
            out += ["--arithmetic", self.arithmetic]
        if self.x0 is not None:
            out += ["--x0", str(self.x0)]
        if self.schedule:
            out += ["--schedule", self.schedule]
        if self.beta1_schedule:
            out += ["--beta1-schedule", self.beta1_schedule]
        if self.decoupled:
            out += ["--decoupled"]
        for key, value in self.hyperparameters.items():
            out.append(f"{_FLAG[key]}={value}")   # '=' keeps negative values unambiguous
        return out

    def cli(self, command: str = "simulate") -> str:
        return "amsgrad-theory " + command + " " + " ".join(shlex.quote(f) for f in self.flags())

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}) or k == "x0"}

    @classmethod
    def from_dict(cls, data: dict) -> RunSpec:
        keys = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in keys})

    @classmethod
    def from_args(cls, args) -> RunSpec:
        from ..commands.runflags import hyperparameters_from_args

        beta1_schedule = args.beta1_schedule
        if args.beta1_decay is not None and beta1_schedule is None:
            beta1_schedule = "exp-decay"
        problem = args.problem
        if getattr(args, "seed", None) is not None:
            from ..commands.runflags import problem_from_args

            problem = problem_from_args(args).spec
        return cls(algorithm=args.algorithm, problem=problem, steps=args.steps,
                   arithmetic=args.arithmetic, hyperparameters=hyperparameters_from_args(args),
                   x0=args.x0, schedule=args.schedule, beta1_schedule=beta1_schedule,
                   decoupled=args.decoupled or None)
