"""Every source the toolkit cites is one a user can open.

Code, output strings, tests and docs cite papers (authors, year, section) and framework source
files (framework, version, file, function), each followed by its key in ``paper/references.bib``
(``[reddi2018]``, ``[reddi2018; tran2019]``, ``[pytorch-2.13]``; see README, "Sources"). This
module checks that nothing cites a file the repository does not contain (notes kept outside it
while the project was built), that every ``[key]`` and every issue thread (``pytorch#78807``)
is an entry of the bibliography, and that every entry is cited somewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "paper" / "references.bib"
SELF = Path(__file__).resolve()

#: what is scanned: the package (code, schemas), the tests, the experiments, README and the paper
SCANNED = ("amsgrad_theory/**/*.py", "amsgrad_theory/**/*.json", "tests/**/*.py",
           "experiments/**/*.py", "experiments/**/*.md", "README.md", "paper/*.tex",
           "paper/*.bib")
#: files outside the repository that earlier text cited; none may be named again
OUTSIDE = ("literature.md", "implementations.md", "anchors.md", "perf-baseline.md",
           "measurements.md", "theory.md", "shared/reference", "000_0455b6ca59842add")
#: Markdown files the toolkit writes (named in its docs as outputs, not as sources)
GENERATED_MARKDOWN = frozenset({"claims.md"})

#: a bibliography key: author + year (+ suffix), or name-version / name-issueN
KEY = r"[a-z][a-z]+(?:\d{4}[a-z]*|-[a-z0-9][a-z0-9.]*[a-z0-9])"
CITATION = re.compile(rf"\[({KEY}(?:; {KEY})*)\]")
ISSUE = re.compile(r"\b([a-z]+)#(\d+)\b")
MARKDOWN_NAME = re.compile(r"[A-Za-z0-9_./-]+\.md\b")


def scanned_files() -> list[Path]:
    files = {p.resolve() for pattern in SCANNED for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(p for p in files if p != SELF and ".venv" not in p.parts)


def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), re.M))


def occurrences(pattern: re.Pattern, group=0):
    """(file relative to the root, line number, matched text) for every match in SCANNED."""
    for path in scanned_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                yield path.relative_to(ROOT).as_posix(), number, m.group(group)


def test_the_scan_covers_the_package_the_tests_and_the_docs():
    names = {p.relative_to(ROOT).as_posix() for p in scanned_files()}
    assert {"README.md", "paper/main.tex", "paper/references.bib",
            "amsgrad_theory/algorithms/presets.py", "tests/conftest.py"} <= names


def test_no_citation_of_a_file_outside_the_repository():
    pattern = re.compile("|".join(re.escape(name) for name in OUTSIDE))
    found = [f"{f}:{n}: {m}" for f, n, m in occurrences(pattern)]
    assert not found, ("cite the paper or the framework's source file instead of these files, "
                       "which are not in the repository:\n" + "\n".join(found))


def test_every_markdown_file_named_exists():
    present = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    missing = [f"{f}:{n}: {m}" for f, n, m in occurrences(MARKDOWN_NAME)
               if Path(m).name not in present | GENERATED_MARKDOWN]
    assert not missing, "names of Markdown files the repository lacks:\n" + "\n".join(missing)


def test_every_cited_key_is_in_the_bibliography():
    keys = bib_keys()
    unknown = [f"{f}:{n}: [{key}]" for f, n, cited in occurrences(CITATION, 1)
               for key in cited.split("; ") if key not in keys]
    assert not unknown, "keys missing from paper/references.bib:\n" + "\n".join(unknown)


def test_every_issue_thread_cited_is_in_the_bibliography():
    keys = bib_keys()
    unknown = [f"{f}:{n}: {project}#{number} (key {project}-issue{number})"
               for f, n, (project, number) in
               ((f, n, ISSUE.search(m).groups()) for f, n, m in occurrences(ISSUE))
               if f"{project}-issue{number}" not in keys]
    assert not unknown, "issue threads missing from paper/references.bib:\n" + "\n".join(unknown)


def test_every_bibliography_entry_is_cited():
    cited = {key for _, _, keys in occurrences(CITATION, 1) for key in keys.split("; ")}
    cited |= {f"{project}-issue{number}" for _, _, m in occurrences(ISSUE)
              for project, number in [ISSUE.search(m).groups()]}
    assert bib_keys() - cited == set()


def test_the_bibliography_has_one_entry_per_key_and_the_key_convention():
    keys = re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), re.M)
    assert len(keys) == len(set(keys))
    assert [k for k in keys if not re.fullmatch(KEY, k)] == []


@pytest.mark.parametrize("text, keys", [
    ("Reddi, Kale & Kumar 2018, Algorithm 2 [reddi2018]", ["reddi2018"]),
    ("as transcribed [reddi2019arxiv; lean-adambeyond]", ["reddi2019arxiv; lean-adambeyond"]),
    ("PyTorch 2.13 torch/optim/adam.py [pytorch-2.13]", ["pytorch-2.13"]),
    ("x[t-1] + v[0] on F = [−1, 1], g[i]", []),
])
def test_the_citation_pattern(text, keys):
    assert CITATION.findall(text) == keys
