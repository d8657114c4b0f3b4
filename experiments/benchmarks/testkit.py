"""How long one test-kit assertion takes at its default settings.

Run:  .venv/bin/python experiments/benchmarks/testkit.py [--rounds N] [--json FILE]

Each helper of ``amsgrad_theory.testing`` runs at its defaults (Hypothesis' default profile:
100 examples; the seed of a derandomized profile) on torch's ``Adam(amsgrad=True)``, on a
warm process (imports and the first optimizer done), ``--rounds`` times; the median is the
figure. The target (issue 10): ≤ 1 s per assertion on this machine. The searches that pass run
every example; a failing one stops at the first failure and shrinks it, so the passing runs
are the long ones:

* ``assert_effective_step_nonincreasing(adam, schedule="inv-sqrt")`` — passes;
* ``assert_max_nondecreasing(adam)`` — passes;
* ``assert_matches_reference(adam, "amsgrad-pytorch")`` — passes (bit for bit).

Nothing here asserts a time: the machine is shared; the printed table is the result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from hypothesis import settings

from amsgrad_theory.testing import (
    assert_effective_step_nonincreasing,
    assert_matches_reference,
    assert_max_nondecreasing,
)


def adam(params):
    return torch.optim.Adam(params, lr=1e-3, amsgrad=True)


CASES = {
    "assert_effective_step_nonincreasing(inv-sqrt)":
        lambda: assert_effective_step_nonincreasing(adam, schedule="inv-sqrt"),
    "assert_max_nondecreasing": lambda: assert_max_nondecreasing(adam),
    "assert_matches_reference(amsgrad-pytorch)":
        lambda: assert_matches_reference(adam, "amsgrad-pytorch"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None, metavar="FILE")
    args = parser.parse_args()
    settings.register_profile("benchmark", derandomize=True)   # the defaults, one fixed seed
    settings.load_profile("benchmark")
    assert_max_nondecreasing(adam, max_examples=3)             # warm: imports, first build
    out = {}
    for name, case in CASES.items():
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            case()
            times.append(time.perf_counter() - start)
        out[name] = {"median_s": statistics.median(times), "times_s": times}
        print(f"{name:48} {statistics.median(times):6.2f} s   (rounds: "
              + ", ".join(f"{t:.2f}" for t in times) + ")")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
