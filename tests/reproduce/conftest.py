"""Each study runs once per test session at the ``tiny`` size (seconds); tests read its output."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``tiny_run(name)`` → (DIR/NAME, summary) of ``reproduce NAME --out DIR --size tiny``
    (cached; the default style, paper)."""
    from amsgrad_theory.reproduce import run_study

    cache: dict = {}

    def get(name: str):
        if name not in cache:
            out = tmp_path_factory.mktemp(f"reproduce-{name}")
            summary = run_study(name, out, size="tiny", quiet=True)
            cache[name] = (out / name, summary)      # one layout: --out DIR writes DIR/NAME/
        return cache[name]

    return get
