"""The command line reads like its peers (issue 15.5): help without markup, examples as
written, every flag documented, suggestions for misspelt names, counts written as 1e6."""

from __future__ import annotations

import argparse
import importlib
import json
import re

import pytest

from amsgrad_theory.cli import COMMANDS, build_parser, layout, main, plain
from amsgrad_theory.commands.runflags import count

WIDTH = 80


@pytest.fixture(autouse=True)
def terminal(monkeypatch):
    """Help laid out for an 80-column terminal, whatever runs the tests."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))


def cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:       # argparse's errors and --help
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def every_action():
    for name, parser in subparsers().items():
        for action in parser._actions:
            flag = "/".join(action.option_strings) or action.dest
            yield pytest.param(name, action, id=f"{name} {flag}")


@pytest.mark.parametrize("command, action", list(every_action()))
def test_every_flag_has_help(command, action):
    assert (action.help or "").strip() not in ("", argparse.SUPPRESS), \
        f"amsgrad-theory {command} {action.option_strings or action.dest} has no help"


def test_every_command_has_help_in_the_list(capsys):
    code, out, _ = cli(["--help"], capsys)
    assert code == 0
    for name, (_, help_text) in COMMANDS.items():
        assert name in out and help_text.split()[0] in out


#: what a docstring for developers shows: reST roles and literals, the module's own notes
MARKUP = re.compile(r"``|:(func|mod|class|meth|data|attr):`|\*\*")


def test_top_level_help_is_for_users(capsys):
    code, out, _ = cli(["--help"], capsys)
    assert code == 0 and not MARKUP.search(out)
    assert "Thin:" not in out and "add_arguments" not in out         # the module's docstring
    assert "amsgrad-theory COMMAND --help" in out and "Exit status" in out
    assert "  amsgrad-theory simulate -a amsgrad -p reddi-online:C=3 -T 1e4\n" in out


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_help_has_no_markup_and_keeps_its_examples(command, capsys):
    code, out, _ = cli([command, "--help"], capsys)
    assert code == 0 and not MARKUP.search(out), MARKUP.search(out)
    doc = importlib.import_module(f"amsgrad_theory.commands.{COMMANDS[command][0]}").__doc__
    examples = [line for line in doc.splitlines() if line.startswith("  ")]
    lines = out.splitlines()
    for line in examples:                      # indented lines: exactly as written
        assert plain(line).rstrip() in lines, (command, line)
    # prose is reflowed to the terminal, argument help wrapped to it (argparse lays out the
    # usage, up to the first blank line, and keeps a group of alternatives on one line)
    for line in lines[lines.index(""):]:
        if line.rstrip() not in [plain(e).rstrip() for e in examples] \
                and not line.startswith("usage:") and "Example:" not in line:
            assert len(line) <= WIDTH or " " not in line.strip(), (command, line)


def test_markup_becomes_plain_text():
    assert plain("see :func:`~amsgrad_theory.records.seal_report` and :mod:`a.b`") == \
        "see seal_report and a.b"
    assert plain("``--example tran-phong-3.2`` (**not valid**)") == \
        "--example tran-phong-3.2 (not valid)"


def test_layout_reflows_prose_and_keeps_literal_blocks():
    text = ("A sentence that is long enough to need wrapping at a narrow width of\n"
            "thirty columns.\n\nExamples:\n  cmd --a 1 \\\n      --b 2\n\n* a bullet item that "
            "wraps onto a second line\n\nExample: amsgrad-theory paper --out paper-build\n")
    lines = layout(text, 30)
    assert lines[:3] == ["A sentence that is long enough", "to need wrapping at a narrow",
                         "width of thirty columns."]
    assert lines[4:7] == ["Examples:", "  cmd --a 1 \\", "      --b 2"]
    assert lines[8:10] == ["* a bullet item that wraps", "  onto a second line"]
    assert lines[-1] == "Example: amsgrad-theory paper --out paper-build"


# ------------------------------------------------------------------------------------------
# did you mean …?
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, suggestion", [
    (["simulat"], "did you mean simulate?"),
    (["chek-proof"], "did you mean check-proof?"),
    (["simulate", "-a", "amsgard", "-p", "reddi-online", "-T", "3"], "did you mean amsgrad?"),
    (["simulate", "-a", "amsgrad-pytroch", "-p", "reddi-online", "-T", "3"],
     "did you mean amsgrad-pytorch?"),
    (["simulate", "-a", "amsgrad", "-p", "redi-online:C=3", "-T", "3"],
     "did you mean reddi-online?"),
    (["simulate", "-a", "amsgrad", "-p", "reddi-online:C=3,priod=3", "-T", "3"],
     "did you mean period?"),
    (["simulate", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", "--arithmetic", "flot64"],
     "did you mean float64?"),
    (["simulate", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", "--arithmetic",
      "mpmth:30"], "did you mean mpmath:30?"),
    (["simulate", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", "--schedule", "inv_sqrt"],
     "did you mean inv-sqrt?"),
    (["derive", "theorem4-derivd"], "did you mean theorem4-derived?"),
    (["check-proof", "--example", "tran-phong-32"], "did you mean tran-phong-3.2?"),
    (["check-proof", "--example", "tran-phong-3.2", "--chain", "theorm4"],
     "did you mean theorem4?"),
    (["audit", "torch-adam-amsgrad", "--sequence", "constnt", "-q"], "did you mean constant?"),
    (["audit", "torch-adam-amsgrad", "--skip", "pathes", "-q"], "did you mean paths?"),
    (["reproduce", "figur1", "--size", "tiny"], "did you mean figure1?"),
    (["reproduce", "figure1", "--size", "tinny"], "did you mean tiny?"),
    (["sweep", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", "--grid", "bta1=[0.1]"],
     "did you mean beta1?"),
    (["sweep", "-a", "amsgrad", "-p", "reddi-online", "-T", "3", "--grid", "CC=[1]"],
     "did you mean C"),
])
def test_misspelt_names_get_a_suggestion(argv, suggestion, capsys, tmp_path):
    if argv[0] == "sweep":
        argv = argv + ["--out", str(tmp_path / "s.csv")]
    code, out, err = cli(argv, capsys)
    assert code == 2 and suggestion in err and "Traceback" not in err, err


def test_no_suggestion_when_nothing_is_close(capsys):
    code, _, err = cli(["simulate", "-a", "xyzzy", "-p", "reddi-online", "-T", "3"], capsys)
    assert code == 2 and "did you mean" not in err and "valid names: adagrad" in err


# ------------------------------------------------------------------------------------------
# counts: 1e6 as 1000000; fractions, non-finite and huge texts refused naming the flag
# ------------------------------------------------------------------------------------------

#: the required arguments of each command, to parse one flag in context
REQUIRED = {"simulate": ["-a", "amsgrad", "-p", "reddi-online", "-T", "1"],
            "sweep": ["-a", "amsgrad", "-p", "reddi-online", "-T", "1"],
            "audit": ["torch-adam-amsgrad"], "derive": [], "verify": [], "check-proof": [],
            "fidelity": [], "reproduce": ["figure1"], "paper": []}


def count_flags():
    for name, parser in subparsers().items():
        for action in parser._actions:
            if action.type is count:
                yield pytest.param(name, action, id=f"{name} {action.option_strings[0]}")


COUNT_FLAGS = list(count_flags())


def test_the_count_flags_are_the_integer_flags():
    flags = {(p.values[0], p.values[1].option_strings[0]) for p in COUNT_FLAGS}
    assert {("simulate", "--steps"), ("sweep", "--steps"), ("sweep", "--workers"),
            ("sweep", "--chunk-size"), ("verify", "--certify"), ("check-proof", "--search"),
            ("audit", "--max-examples"), ("fidelity", "--steps")} <= flags
    for name, parser in subparsers().items():
        assert not [a for a in parser._actions if a.type is int], name


@pytest.mark.parametrize("command, action", COUNT_FLAGS)
def test_counts_take_integral_floats(command, action):
    parser = build_parser(command)
    flag = action.option_strings[0]
    args = parser.parse_args([command, *REQUIRED[command], flag, "2e1"])
    assert getattr(args, action.dest) == 20
    args = parser.parse_args([command, *REQUIRED[command], flag, "1_000"])
    assert getattr(args, action.dest) == 1000


@pytest.mark.parametrize("text", ["1.5", "1e400", "nan", "inf", "1e-3", "x", "1e19"])
@pytest.mark.parametrize("command, action", COUNT_FLAGS)
def test_counts_refuse_fractions_and_non_finite_texts(command, action, text, capsys):
    flag = action.option_strings[0]
    code, out, err = cli([command, *REQUIRED[command], f"{flag}={text}"], capsys)
    assert code == 2 and flag in err and repr(text) in err and "Traceback" not in err


def test_steps_written_as_a_float_run_that_many_steps(capsys):
    code, out, err = cli(["simulate", "-a", "amsgrad", "-p", "reddi-online", "-T", "1e3",
                          "-q", "--json"], capsys)
    assert code == 0 and json.loads(out)["steps"] == 1000, err


def test_sweep_seeds_bounds_take_integral_floats(tmp_path, capsys):
    out_csv = tmp_path / "s.csv"
    code, out, err = cli(["sweep", "-a", "amsgrad", "-p", "bernoulli-linear", "-T", "2e0",
                          "--seeds", "0:3e0", "-q", "--json", "--out", str(out_csv)], capsys)
    assert code == 0 and json.loads(out)["rows"] == 3, err
    code, _, err = cli(["sweep", "-a", "amsgrad", "-p", "bernoulli-linear", "-T", "2",
                        "--seeds", "0:1e400", "-q", "--out", str(out_csv)], capsys)
    assert code == 2 and "seeds='0:1e400'" in err and "'1e400'" in err
