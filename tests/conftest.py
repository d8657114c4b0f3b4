"""Test plumbing: hypothesis profiles, markers, CUDA skipping, the "no tests ran" exit."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, print_blob=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, print_blob=True, max_examples=100)
settings.register_profile("thorough", deadline=None, print_blob=True, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI")
                                                                 else "dev"))


def _cuda_available() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:  # pragma: no cover - torch is a dependency
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # the studies run once per worker (tests/reproduce/conftest.py): keep their readers together;
    # and the tests that compile numba kernels share one worker, where each kernel is compiled
    # once per session (on two workers at once, both compiled it: 8-10 s each on CI's cores).
    # tryfirst: xdist's loadgroup reads the xdist_group marks in this same hook, so they must be
    # added before it runs (without it tests/reproduce/test_grouping.py fails, as it does under
    # pytest 9.2, whose node ids xdist 3.8 cannot suffix: constraints/dev.txt pins 9.1.1)
    # xdist hands the tests out in this order (after the groups, largest first): a test of
    # several seconds handed out last keeps one worker busy while the other has finished
    # (the fidelity matrix: 7 s of one worker alone at the end of a 196 s run), so the heavy
    # ones go first (a stable sort: the order stays otherwise)
    items.sort(key=lambda item: "heavy" not in item.keywords)
    for item in items:
        if "reproduce" in item.path.parts:
            item.add_marker(pytest.mark.xdist_group("studies"))
        elif "compiled" in item.keywords or "numba" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("compiled"))
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pd():
    """pandas, for the tests that read CSVs with it: imported when one of them runs, not at
    collection, where every xdist worker paid 0.7 s for it before its first test."""
    return pytest.importorskip("pandas")


def pytest_sessionfinish(session, exitstatus):
    # "no tests ran" (exit 5, e.g. `-m cuda` on a machine without CUDA) is not a failure
    if exitstatus == 5:
        session.exitstatus = 0
