"""A study whose process dies mid-run (as under the out-of-memory killer): a worker of
``reproduce all`` side by side imports it by name, so it lives in a module of its own."""

from __future__ import annotations

import os
from dataclasses import dataclass

from amsgrad_theory.reproduce.base import Study


@dataclass(frozen=True)
class DyingParameters:
    """No parameters."""


def run(params, ctx) -> dict:
    os._exit(9)             # no exception, no cleanup: the process is simply gone


STUDY = Study(name="dying", title="a study whose process dies", parameters=DyingParameters,
              run=run)
