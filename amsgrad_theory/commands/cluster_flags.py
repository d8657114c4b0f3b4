"""The flags that send a command's tasks to Dask distributed (the ``cluster`` extra):
``--scheduler ADDRESS``, ``--scheduler-file FILE`` or ``--workers N``, at most one of them.

Without any, the command runs in process and never imports Dask. With one, the command opens a
:class:`~amsgrad_theory.engine.cluster.Connection` (an unanswering scheduler, a missing
scheduler file or ``--workers 0`` is exit 2 naming the flag, within a few seconds).
"""

from __future__ import annotations

import contextlib
import sys

from ..engine.cluster import Connection
from .runflags import count


def add_cluster_arguments(p, what: str = "the tasks") -> None:
    """Add the three mutually exclusive flags to parser ``p``; ``what`` runs there."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help=f"run {what} on a running Dask scheduler's workers, e.g. "
                            "tcp://host:8786")
    where.add_argument("--scheduler-file", default=None, metavar="FILE",
                       help="the same, the scheduler named by the file `dask scheduler "
                            "--scheduler-file FILE` wrote")
    where.add_argument("--workers", type=count, default=None, metavar="N",
                       help=f"run {what} on a local Dask cluster of N worker processes")


def cluster_target(args) -> Connection | None:
    """The connection the flags name (not yet opened), or None for an in-process run; its log
    line (workers, dashboard address) goes to stderr unless ``--quiet``."""
    if (args.scheduler, args.scheduler_file, args.workers) == (None, None, None):
        return None
    log = None if getattr(args, "quiet", False) else \
        (lambda text: print(text, file=sys.stderr))
    return Connection(args.scheduler, scheduler_file=args.scheduler_file,
                      workers=args.workers, log=log)


def opened(target: Connection | None):
    """``with opened(target) as client``: the Dask client, or None in process."""
    return target if target is not None else contextlib.nullcontext(None)
