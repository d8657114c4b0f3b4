"""``amsgrad-theory``: the command line. Thin: each subcommand lives in
:mod:`amsgrad_theory.commands` (``add_arguments(parser)`` and ``run(args) -> exit status``).

Exit status: 0 success; 1 a check failed (verify, audit, check-proof: a finding, not an error);
2 bad input (the message names the argument and its value; no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import AmsgradTheoryError

#: subcommand → (module under amsgrad_theory.commands, one-line help)
COMMANDS = {
    "simulate": ("simulate", "run a variant on a problem and print streaming statistics"),
    "derive": ("derive", "print a derivation (bound, lemma, bias correction) as LaTeX or JSON"),
    "verify": ("verify", "check invariants and bounds on a run, or re-check a figure's sidecar"),
    "check-proof": ("check_proof", "evaluate each step of a regret proof on a run"),
    "audit": ("audit", "audit a real optimizer implementation against its exact model"),
    "sweep": ("sweep", "run a grid of configurations batched, to CSV and JSON"),
    "reproduce": ("reproduce", "reproduce a study of the paper: figures, data, sidecars"),
    "paper": ("paper", "regenerate the paper's generated parts and build its PDF"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line, exit 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="amsgrad-theory", description=__doc__.split("\n\n")[0])
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(f".commands.{module}", __package__)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"commands.{module}"):
                continue  # a command not built yet is simply absent
            raise
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except AmsgradTheoryError as exc:
        print(f"amsgrad-theory {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:       # e.g. piped into `head`: stop quietly
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
