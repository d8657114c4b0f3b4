"""Every derivation's LaTeX compiles in a minimal document (where a LaTeX engine is installed)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from amsgrad_theory.symbolic.registry import registry

pytestmark = pytest.mark.latex

ENGINE = shutil.which("pdflatex")


@pytest.mark.skipif(ENGINE is None, reason="no LaTeX engine (apt-get install texlive-latex-base)")
def test_every_derivation_compiles(tmp_path):
    body = []
    for name, item in registry().items():
        body.append(r"\noindent\texttt{" + name.replace("_", r"\_") + r"}:" + "\n"
                    r"\begin{dmath*}" + item.latex() + r"\end{dmath*}")
    doc = (r"\documentclass{article}\usepackage{amsmath,amssymb,breqn}"
           r"\begin{document}" + "\n".join(body) + r"\end{document}")
    (tmp_path / "d.tex").write_text(doc)
    run = subprocess.run([ENGINE, "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert (tmp_path / "d.pdf").stat().st_size > 1000
