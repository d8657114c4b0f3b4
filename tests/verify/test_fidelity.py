"""The fidelity matrix: the README states what a fresh run of the real frameworks measures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from amsgrad_theory.cli import main
from amsgrad_theory.verify.fidelity import (
    Battery,
    Cell,
    compare,
    fidelity,
    readme_block,
    table_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "experiments" / "fidelity" / "matrix.json"


def test_readme_table_is_the_recorded_matrix():
    """README's fidelity table is rendered from the recorded matrix, not typed."""
    data = json.loads(RECORD.read_text())
    assert readme_block(str(ROOT / "README.md")) == table_markdown(data)
    assert data["cells_total"] > 0 and data["battery"]["steps"] == 200


def _row_key(row):
    return (row["framework"], row["path"], row["configuration"], row["dtype"])


# torch by default; Keras (three backends) and optax start jax in subprocesses: -m slow
@pytest.mark.heavy
@pytest.mark.parametrize("framework, modules", [
    ("torch", ("torch",)),
    pytest.param("keras", ("keras", "jax", "torch"), marks=pytest.mark.slow),
    pytest.param("optax", ("jax", "optax"), marks=pytest.mark.slow)])
def test_a_fresh_matrix_agrees_with_the_record(framework, modules):
    """The real frameworks, run now (a shorter battery), agree with what the record says of
    every row: exact where it says exact, and on the framework versions."""
    for module in modules:
        # found, not imported: Keras picks its backend at import (the drivers set it)
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    fresh = fidelity(framework, battery=Battery(steps=24, quick=True)).to_dict()
    recorded = {_row_key(r): r for r in json.loads(RECORD.read_text())["rows"]}
    assert fresh["cells_total"] > 0
    for row in fresh["rows"]:
        before = recorded[_row_key(row)]
        assert row["version"] == before["version"], row
        assert (row["exact_cells"] == row["cells"]) == \
            (before["exact_cells"] == before["cells"]), (row, before)


def test_an_unknown_framework_exits_2_naming_it(capsys):
    assert main(["fidelity", "--frameworks", "torch,tensorflw"]) == 2
    assert "tensorflw" in capsys.readouterr().err


@pytest.mark.heavy
def test_a_framework_that_does_not_import_is_skipped_with_its_error(tmp_path, monkeypatch):
    """A broken install is a skipped framework with the reason, never a failed cell."""
    broken = tmp_path / "optax"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('optax is broken on this machine')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    matrix = fidelity("optax", battery=Battery(steps=3, quick=True))
    assert matrix.cells == []
    for family in ("optax", "optax-x64"):
        assert matrix.frameworks[family]["status"] == "skipped"
        assert "optax is broken" in matrix.frameworks[family]["reason"]


def test_a_difference_is_reported_in_ulps_with_its_first_step():
    import numpy as np

    real = {k: np.array([[1.0], [2.0], [3.0]]) for k in ("theta", "m", "v", "vhat")}
    model = {k: v.copy() for k, v in real.items()}
    model["m"][1, 0] = np.nextafter(2.0, 3.0)
    model["m"][2, 0] = np.nextafter(np.nextafter(3.0, 4.0), 4.0)
    verdict = compare(real, model, "float64")
    assert not verdict.exact and verdict.max_ulps == 2 and verdict.first_step == 2
    assert verdict.quantity == "m"
    assert compare(real, real, "float64").text() == "bit-exact"


def test_cells_round_trip_through_their_key():
    cell = Cell("keras", "jit", "jax, x64, floatx float32", "float64", "defaults", 0.5)
    assert Cell.from_key(cell.key) == cell
