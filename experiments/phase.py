"""Where Adam fails: the smallest C of Reddi et al.'s Theorem 2 and 3 constructions over a
(β1, β2) grid, AMSGrad on the same instances. Fields: amsgrad_theory.reproduce.phase.

On a CUDA machine set ``arithmetic="torch:cuda:float64"`` to run each batch (every grid point ×
every candidate C) as one (B, 1) tensor program; on CPUs the default float64 numba lanes are
about 100× faster than torch on the CPU.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.phase import PhaseParameters

OUT = "out/phase"
PARAMETERS = PhaseParameters(
    beta1s=("0", "0.3", "0.5", "0.7", "0.9"),
    beta2s=("0.1", "0.3", "0.5", "0.7", "0.9", "0.99", "0.999"),
    candidates=(2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 50, 70, 100, 150, 200),
    alpha="0.5", steps=100_000, seeds=(0, 1),
    x_threshold=0.9, rate_threshold=0.5,        # what "fails" means (see the module docstring)
    arithmetic="float64",
)

if __name__ == "__main__":
    summary = run_study("phase", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
    for line in summary["highlights"]:
        print(" ·", line)
