"""Verification: check records and reports, invariants, proof steps, certificates, audits.

``audit`` (real optimizer implementations against their exact models) is imported lazily:
it needs torch.
"""

from ..records import METHODS, VERDICTS, Record, Report, validate_report
from .runspec import RunSpec

__all__ = ["Record", "Report", "RunSpec", "validate_report", "METHODS", "VERDICTS", "audit"]


def __getattr__(name):
    if name == "audit":
        from .audit import audit

        return audit
    raise AttributeError(name)
