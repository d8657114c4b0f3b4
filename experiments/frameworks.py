"""Effective steps η̂_t, η_t of the paper's AMSGrad, PyTorch's, Keras', optax's and the seed
article's on the same gradient sequences, with ρ(t) overlaid and the window where the real
torch AMSGrad is bit-identical to its Adam. Fields: amsgrad_theory.reproduce.frameworks.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.frameworks import FrameworksParameters

OUT = "out/frameworks"
PARAMETERS = FrameworksParameters(lr="0.001", beta1="0.9", beta2="0.999", steps=3000,
                                  inv_sqrt_steps=1000)

if __name__ == "__main__":
    summary = run_study("frameworks", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
