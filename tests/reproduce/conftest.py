"""Each study runs once per test session at the ``tiny`` size (seconds); tests read its output."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``tiny_run(name)`` → (folder, summary) of ``reproduce NAME --size tiny`` (cached)."""
    from amsgrad_theory.reproduce import run_study

    cache: dict = {}

    def get(name: str):
        if name not in cache:
            out = tmp_path_factory.mktemp(f"reproduce-{name}")
            cache[name] = (out, run_study(name, out, size="tiny", quiet=True))
        return cache[name]

    return get
