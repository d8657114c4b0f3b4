"""Realized regret vs the derived, corrected and printed regret bounds, on log-log axes.

AMSGrad with α_t = α/√t, β1,t = β1·λ^{t−1} and constant β1 on random OCO problems, plus the
regression runs on which printed statements fail. Fields: amsgrad_theory.reproduce.bound.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.bound import BoundParameters

OUT = "out/bound"
PARAMETERS = BoundParameters(problems=("random-linear:d=10,seed=1",
                                       "random-quadratic:d=10,seed=1"),
                             steps=100_000, alpha="0.5", beta1="0.9", beta2="0.999",
                             beta1_decay="0.999")

if __name__ == "__main__":
    summary = run_study("bound", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
