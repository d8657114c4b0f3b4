"""The studies' readers share one worker (tests/conftest.py marks them ``xdist_group("studies")``).

Under ``--dist loadgroup`` pytest-xdist appends the group to each grouped test's node id; when
that stopped working (pytest 9.2 with xdist 3.8, xdist#1386 [xdist-issue1386]) the mark was
silently ignored and every worker ran every study's tiny run. This test fails in that case.
"""

from __future__ import annotations

import os

import pytest


def test_the_studies_group_is_honoured_by_the_scheduler(request):
    # xdist sets option.loadgroup on its workers only
    if not os.environ.get("PYTEST_XDIST_WORKER") or not getattr(request.config.option,
                                                                "loadgroup", False):
        pytest.skip("not on a pytest-xdist worker under --dist loadgroup")
    assert request.node.get_closest_marker("xdist_group") is not None
    assert request.node.nodeid.endswith("@studies"), (
        f"{request.node.nodeid}: xdist's loadgroup did not group this test; the studies would "
        "run once per worker")
