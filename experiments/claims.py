"""The seed article's claims, each confirmed, refuted or out of reach, with evidence.
Fields: amsgrad_theory.reproduce.claims.ClaimsParameters. Writes claims.md and claims.csv too.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.claims import ClaimsParameters

OUT = "out/claims"
PARAMETERS = ClaimsParameters(
    families=("random-quadratic", "random-linear"), d=20,
    sparsities=("0.02", "0.05", "0.1", "0.2", "0.5", "1"), seeds=(0, 1, 2, 3, 4),
    beta2s=("0.99", "0.999"), lr="0.01", steps=10_000,
    batch_sizes=(1, 4, 16, 64), batch_beta2s=("0.9", "0.99", "0.999"), batch_steps=2000,
)

if __name__ == "__main__":
    summary = run_study("claims", OUT, parameters=PARAMETERS)
    for row in summary["results"]:
        print(f"{row['claim']}: {row['verdict']}")
