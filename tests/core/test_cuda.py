"""The batched torch path on CUDA (skipped cleanly where no GPU is present)."""

from __future__ import annotations

import numpy as np
import pytest

from amsgrad_theory import get_problem, simulate

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-5)])
def test_cuda_batch_agrees_with_cpu(dtype, tol):
    C = [3, 5, 10, 20]
    problem = get_problem("periodic-linear:c=1,period=3", instances=[{"C": str(c)} for c in C])
    hps = [{"alpha": a} for a in ("0.5", "0.1", "0.3", "0.05")]
    gpu = simulate("amsgrad", problem, steps=300, arithmetic=f"torch:cuda:{dtype}",
                   hyperparameters=hps)
    cpu = simulate("amsgrad", problem, steps=300, arithmetic="float64", hyperparameters=hps)
    a, b = gpu.table(), cpu.table()
    assert np.allclose(a["final_x"], b["final_x"], rtol=tol, atol=tol)
    assert np.allclose(a["regret"], b["regret"], rtol=tol * 100, atol=tol * 100)
    assert (a["effective_step_increases"] == 0).all()


def test_cuda_random_problem_runs():
    r = simulate("amsgrad-pytorch", "random-logistic:d=8,seed=1", steps=200,
                 arithmetic="torch:cuda:float32")
    assert np.isfinite(float(r.regret))
