"""Reddi et al. Figure 1 (online and stochastic): Adam → +1, AMSGrad → −1.

Copy this file, change the parameters below, run it: it writes the figures (PNG, PDF), the CSV
of the plotted numbers, a sidecar per figure (re-check with ``amsgrad-theory verify --sidecar``)
and summary.json under OUT. Every field is documented in
``amsgrad_theory.reproduce.figure1.Figure1Parameters``; the defaults are the ``small`` size of
``amsgrad-theory reproduce figure1``.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.figure1 import Figure1Parameters

OUT = "out/figure1"
PARAMETERS = Figure1Parameters(
    beta1="0.9", beta2="0.99",                 # the paper's setting
    online_steps=10_000_000, stochastic_steps=10_000_000,
    inv_sqrt_alphas=("0.1", "0.5", "1"),       # α_t = α/√t (the paper states no α)
    constant_alphas=("0.001", "0.01"),         # constant α
    seeds=(0, 1, 2, 3, 4),                     # the stochastic version's streams
    online_alpha="0.5", stochastic_alpha="1",  # the α whose runs carry the pass/fail records
)

if __name__ == "__main__":
    summary = run_study("figure1", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
