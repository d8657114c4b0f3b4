"""Reddi et al. Theorem 1 across C: Adam's R_T/T ≥ (2C − 4)/3, AMSGrad's → 0.

β1 = 0, β2 = 1/(1 + C²), α_t = α/√t, x_1 = 1. Fields: amsgrad_theory.reproduce.theorem1.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.theorem1 import Theorem1Parameters

OUT = "out/theorem1"
PARAMETERS = Theorem1Parameters(Cs=(3, 4, 5, 7, 10, 20), alpha="0.5", steps=100_000,
                                trace_steps=30_001)

if __name__ == "__main__":
    summary = run_study("theorem1", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
