"""The house: layers a tool enforces, no import cycles, and no import hidden in a function.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``); import-linter checks them
on the imports of every module, function-level ones included. DESIGN's rule for what may be
imported inside a function — a heavy or optional dependency, with a one-line reason — is checked
here on the syntax tree.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amsgrad_theory"

#: what a function may import on first use (each with a one-line reason)
HEAVY_OR_OPTIONAL = {"torch", "flint", "matplotlib", "scipy", "numba", "llvmlite", "jax", "optax",
                     "keras", "dask", "distributed", "jsonschema", "pandas", "tensorflow"}
#: the package's own modules that wrap such a dependency (importing one imports it)
WRAPPERS = {".arb": "flint", ".torch_backend": "torch"}


def test_import_contracts_hold():
    importlinter = pytest.importorskip("importlinter.cli")
    assert importlinter.lint_imports(config_filename=str(ROOT / "pyproject.toml"),
                                     no_cache=True, no_logo=True) == 0


def _function_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    yield path, lines, node


def _module(node) -> str:
    if isinstance(node, ast.Import):
        return node.names[0].name
    return "." * node.level + (node.module or "")


def test_function_level_imports_are_heavy_or_optional_and_say_why():
    problems = []
    for path, lines, node in _function_imports():
        module = _module(node)
        top = WRAPPERS.get(module, module.split(".")[0])
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        if top not in HEAVY_OR_OPTIONAL:
            problems.append(f"{where}: {module} belongs at the top of the module")
            continue
        # the reason: a comment on the line, or on the line above the run of imports it opens
        k = node.lineno - 1
        while k > 0 and lines[k - 1].lstrip().startswith(("import ", "from ")) \
                and "#" not in lines[k]:
            k -= 1
        if "#" not in lines[k] and not lines[k - 1].lstrip().startswith("#"):
            problems.append(f"{where}: {module} imported in a function without a reason")
    assert not problems, "\n".join(problems)
