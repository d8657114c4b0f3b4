"""``amsgrad-theory``: the command line. Thin: each subcommand lives in
:mod:`amsgrad_theory.commands` (``add_arguments(parser)`` and ``run(args) -> exit status``).

Only the module of the subcommand that runs is imported, so ``simulate`` does not pay for
sympy, and ``derive`` does not pay for numba.

Exit status: 0 success; 1 a check failed (verify, audit, check-proof: a finding, not an error);
2 bad input (the message names the argument and its value; no traceback), a run too large for
the memory available among them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import textwrap

from ._version import __version__
from .commands.suggest import did_you_mean, with_suggestion
from .errors import AmsgradTheoryError, InputError

#: subcommand → (module under amsgrad_theory.commands, one-line help)
COMMANDS = {
    "simulate": ("simulate", "run a variant on a problem and print streaming statistics"),
    "derive": ("derive", "print a derivation (bound, lemma, bias correction) as LaTeX or JSON"),
    "verify": ("verify", "check invariants and bounds on a run, or re-check a figure's sidecar"),
    "check-proof": ("check_proof", "evaluate each step of a regret proof on a run"),
    "audit": ("audit", "audit a real optimizer implementation against its exact model"),
    "fidelity": ("fidelity", "the framework models against the real frameworks, cell by cell"),
    "sweep": ("sweep", "run a grid of configurations batched, to CSV and JSON"),
    "reproduce": ("reproduce", "reproduce a study of the paper: figures, data, sidecars"),
    "paper": ("paper", "regenerate the paper's generated parts and build its PDF"),
}

DESCRIPTION = ("Make the theory of the AMSGrad optimizer checkable: derive its bounds, simulate "
               "online convex optimization in any arithmetic, verify invariants and proofs on "
               "runs, audit real implementations, reproduce the paper's experiments.")
EPILOG = """Examples:
  amsgrad-theory simulate -a amsgrad -p reddi-online:C=3 -T 1e4
  amsgrad-theory verify -a amsgrad -p reddi-online:C=3 -T 1e4
  amsgrad-theory derive --list
  amsgrad-theory reproduce figure1 --size tiny

Run 'amsgrad-theory COMMAND --help' for a command's flags and examples.

Exit status: 0 success; 1 a check failed (a finding, not an error); 2 bad input (the message
names the argument and its value); 3 a check is undecided (verify, check-proof)."""

#: reStructuredText roles (:func:`~a.b.c`, :mod:`a.b`) and literals (``x``) in docstrings
_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``", re.S)
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)


def plain(text: str) -> str:
    """A docstring as help text: roles become their target's last name or their title
    (:func:`~amsgrad_theory.records.seal_report` → seal_report), ``literals`` and **bold**
    plain text."""
    def role(match: re.Match) -> str:
        target = match.group(1).strip()
        return target if "~" not in match.group(0) else target.rsplit(".", 1)[-1]
    return _BOLD.sub(r"\1", _LITERAL.sub(r"\1", _ROLE.sub(role, text)))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Argument help wrapped to the terminal, as argparse does; in the description and the
    epilog, prose paragraphs are reflowed to the terminal while indented lines (examples,
    command lines) and a paragraph that starts with "Example" are kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(layout(text, width, indent))


def layout(text: str, width: int, indent: str = "") -> list[str]:
    """The lines of ``text`` (see :class:`HelpFormatter`); bullets (``* ``, ``- ``) hang."""
    out: list[str] = []
    prose: list[str] = []
    literal = False

    def flush() -> None:
        if prose:
            bullet = prose[0][:2] if prose[0][:2] in ("* ", "- ") else ""
            out.extend(textwrap.wrap(" ".join(prose), max(width, 20), initial_indent=indent,
                                     subsequent_indent=indent + " " * len(bullet),
                                     break_on_hyphens=False, break_long_words=False))
            prose.clear()

    for line in textwrap.dedent(text).strip("\n").splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            literal = False
            if out and out[-1]:
                out.append("")
        elif literal or line[:1].isspace() or (not prose and stripped.startswith("Example")):
            flush()
            literal = True
            out.append(indent + line.rstrip())
        elif stripped[:2] in ("* ", "- "):
            flush()
            prose.append(stripped)
        else:
            prose.append(stripped)
    flush()
    return out


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):  # argparse's own errors: one line, exit 2
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _check_value(self, action, value):
        # argparse's own check of choices (subcommands, --schedule, --size …), with the
        # closest choices suggested
        if action.choices is not None and value not in action.choices:
            choices = [str(c) for c in action.choices]
            hint = did_you_mean(value, choices)
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}"
                                         + (f" ({hint})" if hint else "")
                                         + f"; choose from {', '.join(choices)}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (None: every command's)."""
    parser = _Parser(prog="amsgrad-theory", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        if command is not None and name != command:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        mod = importlib.import_module(f".commands.{module}", __package__)
        p = sub.add_parser(name, help=help_text,
                           description=plain(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named on the command line (the first word that is one), if any."""
    for word in argv:
        if word in COMMANDS:
            return word
        if not word.startswith("-"):
            return None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser(command) if command is not None else build_parser("")
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except AmsgradTheoryError as exc:
        text = with_suggestion(exc) if isinstance(exc, InputError) else str(exc)
        print(f"amsgrad-theory {args.command}: error: {text}", file=sys.stderr)
        return 2
    except (MemoryError, RuntimeError) as exc:  # beyond the estimate of the up-front check
        if isinstance(exc, RuntimeError) and type(exc).__name__ != "OutOfMemoryError":
            raise                                   # (torch.cuda's; torch is not imported here)
        print(f"amsgrad-theory {args.command}: error: out of memory; give a smaller problem "
              "(d, T) or a lower precision", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:       # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
