"""The documentation site: every example of docs/*.md runs, and the site builds with
``mkdocs build --strict`` (every warning an error) — the way CI builds it.

A page's ``python`` and ``bash`` code blocks run in order, in one temporary folder per page
(files one block writes, the next reads), the Python blocks in one namespace per page. A
``bash`` block whose every command is ``amsgrad-theory …`` runs in this process through the
command line's entry point (the same ``main`` the console script calls: no interpreter start
per command); any other runs under ``bash -e``. A block runs to exit status 0 unless the line
before its fence says otherwise, invisibly in the rendered page:

* ``<!-- docs-test: exit=N -->`` — the block's (last) command must exit with N;
* ``<!-- docs-test: skip (reason) -->`` — not run (installing packages).

Blocks in other languages (``text``, ``pycon``, ``toml``…) are prose and not run; ``sh``,
``shell``, ``console`` and ``py`` are refused, so that no example goes silently unrun.
"""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from amsgrad_theory.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
               if "hooks" not in p.parts)
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```"
                   r"[ \t]*$", re.M | re.S)
MARK = re.compile(r"<!--\s*docs-test:\s*(?:exit=(?P<code>\d+)\s*|skip\b[^>]*)-->\s*$")
RUN = ("python", "bash")
REFUSED = ("sh", "shell", "console", "py", "python3", "zsh")


def blocks(page: str) -> list[dict]:
    """The code blocks of ``page``: language, code, line, expected exit status (None: skip)."""
    text = (DOCS / page).read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        expect: int | None = 0
        if mark is not None:
            expect = int(mark["code"]) if mark["code"] is not None else None
        out.append({"lang": m["lang"], "code": m["body"], "line": line, "expect": expect,
                    "indented": bool(m["indent"])})
    return out


def commands(code: str) -> list[list[str]] | None:
    """The ``amsgrad-theory`` command lines of a bash block (continuations joined, comments
    dropped), or None when the block holds anything else (it then runs under bash)."""
    joined = re.sub(r"\\\n", " ", code)
    out = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] != "amsgrad-theory" or any(c in line for c in "|&;><$`"):
            return None
        out.append(words[1:])
    return out


def run_bash(code: str) -> int:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    done = subprocess.run(["bash", "-e", "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


def test_every_example_block_is_run_or_marked():
    for page in PAGES:
        for b in blocks(page):
            where = f"docs/{page}:{b['line']}"
            assert b["lang"] not in REFUSED, f"{where}: write ```python or ```bash"
            assert not (b["indented"] and b["lang"] in RUN), \
                f"{where}: an indented {b['lang']} block is not run; put it at the margin"


@pytest.mark.parametrize("page", PAGES)
def test_examples_run(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for b in blocks(page):
        if b["lang"] not in RUN or b["expect"] is None:
            continue
        where = f"docs/{page}:{b['line']}"
        if b["lang"] == "python":
            exec(compile(b["code"], where, "exec"), namespace)
            continue
        argvs = commands(b["code"])
        if argvs is None:
            code = run_bash(b["code"])
        else:
            for k, argv in enumerate(argvs):
                try:
                    code = main(argv)
                except SystemExit as exit_:         # --help, and argparse's own errors
                    code = exit_.code if isinstance(exit_.code, int) else 2
                if k < len(argvs) - 1:
                    assert code == 0, f"{where}: amsgrad-theory {shlex.join(argv)} exited {code}"
        out, err = capsys.readouterr()
        assert code == b["expect"], (f"{where}: exit status {code}, expected {b['expect']}\n"
                                     f"{out[-3000:]}\n{err[-3000:]}")


@pytest.mark.heavy
def test_site_builds_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "--config-file", str(ROOT / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    # the generated theory pages hold the symbolic layer's LaTeX, as display math
    from amsgrad_theory.symbolic import get_derivation

    bounds = (site / "theory" / "bounds" / "index.html").read_text(encoding="utf-8")
    latex = get_derivation("theorem4-derived").latex()
    assert f'<div class="arithmatex">\\[\n{latex}\n\\]</div>' in bounds.replace("&amp;", "&")
    # prose is text, not Markdown: every step of a proof reads as the symbolic layer states it
    from amsgrad_theory.symbolic import CHAINS, proof_steps

    proofs = (site / "theory" / "proofs" / "index.html").read_text(encoding="utf-8")
    shown = html.unescape(re.sub(r"<[^>]+>", "", proofs))
    for chain in CHAINS:
        for step in proof_steps(chain):
            assert step.statement in shown, step.name
    # a source's [key] links to its entry of the bibliography
    assert 'href="../../references/#reddi2019arxiv"' in bounds
    references = (site / "references" / "index.html").read_text(encoding="utf-8")
    assert 'id="reddi2019arxiv"' in references
    # the API reference is rendered from docstrings, their roles as links
    engine = (site / "reference" / "engine" / "index.html").read_text(encoding="utf-8")
    assert 'id="amsgrad_theory.engine.sweep.run_sweep"' in engine
    assert ":func:" not in engine and 'href="#amsgrad_theory.engine.sweep.run_sweep"' in engine
