"""Verification: checks of claims on runs, invariants, bounds on runs, proof steps, certificates,
framework audits.

Importing this package registers every check of the verification layer in
:data:`~amsgrad_theory.verify.checks.CHECKS` (invariants, ``arithmetics_agree``,
``run_quantity``, ``bound``, ``proof_step``, the checks on runs of
:mod:`~amsgrad_theory.verify.run_checks`). ``audit`` (real optimizer implementations against
their exact models) needs torch: it is imported on first use.
"""

from ..engine import RunSpec
from ..records import METHODS, VERDICTS, Record, Report, validate_report
from . import bounds_on_runs, proof, run_checks
from .audit import audit
from .checks import CHECKS, recheck, register, run_check

__all__ = ["Record", "Report", "RunSpec", "validate_report", "METHODS", "VERDICTS", "audit",
           "CHECKS", "register", "run_check", "recheck", "bounds_on_runs", "proof", "run_checks"]


def __getattr__(name):
    if name == "audit":
        # torch is imported by the audit on first use, not by `import amsgrad_theory.verify`
        return audit
    raise AttributeError(name)
