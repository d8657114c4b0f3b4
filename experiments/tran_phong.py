"""Tran & Phong's Example 3.2 through the proof-step checker, and a Hypothesis search of every
link of the Theorem 4 chain and of the constant-β1 chain. Fields:
amsgrad_theory.reproduce.tran_phong.
"""

from amsgrad_theory.reproduce import run_study
from amsgrad_theory.reproduce.tran_phong import TranPhongParameters

OUT = "out/tran-phong"
PARAMETERS = TranPhongParameters(horizons=(2, 3, 5, 10, 30, 100, 300, 1000, 3000),
                                 search_examples=500)

if __name__ == "__main__":
    summary = run_study("tran-phong", OUT, parameters=PARAMETERS)
    print(summary["status"], f"{summary['wall_time_s']:.1f} s")
