"""Verification: check records and reports, invariants, proof steps, certificates, audits."""

from .records import METHODS, VERDICTS, Record, Report, validate_report

__all__ = ["Record", "Report", "validate_report", "METHODS", "VERDICTS"]
