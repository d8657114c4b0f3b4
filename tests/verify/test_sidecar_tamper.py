"""``verify --sidecar`` on a tampered sidecar: every edit fails (exit 1) naming the field.

One tiny ``theorem1`` run per module (the fastest study; ``figure1``'s online sidecar, the one
of issue 11, under ``-m slow``); each test copies its folder, applies one edit of the issue's
list, and re-checks: a nudged, changed or raised value, a re-worded claim, a recipe with
another α or T, a deleted record, a byte of the CSV or the PNG, a recipe that names a module.
The untampered copy passes; a sidecar without a seal is undecided (3).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from pathlib import Path

import pytest

from amsgrad_theory.cli import main
from amsgrad_theory.records import EXIT_STATUS, validate_report

pytestmark = pytest.mark.xdist_group("sealed-sidecar")   # one tiny run per worker

#: study → the sidecar tampered with (figure1's online one is issue 11's)
SIDECARS = {"theorem1": "theorem1", "figure1": "figure1-online"}


@pytest.fixture(scope="module", params=["theorem1", pytest.param("figure1",
                                                                 marks=pytest.mark.slow)])
def sealed_run(request, tmp_path_factory) -> Path:
    """The sealed sidecar of a tiny run of the study (figure, CSV beside it), once per module."""
    from amsgrad_theory.reproduce import run_study

    out = tmp_path_factory.mktemp("sealed") / request.param
    run_study(request.param, out, size="tiny", quiet=True)
    return out / request.param / f"{SIDECARS[request.param]}.json"   # --out DIR: DIR/NAME/


@pytest.fixture
def sidecar(sealed_run, tmp_path) -> Path:
    """The sidecar in a fresh copy of the run's folder, to tamper with."""
    folder = Path(shutil.copytree(sealed_run.parent, tmp_path / sealed_run.parent.name))
    return folder / sealed_run.name


def _load(sidecar: Path) -> dict:
    return json.loads(sidecar.read_text())


def _save(sidecar: Path, data: dict) -> None:
    sidecar.write_text(json.dumps(data, indent=2))


def _verify(sidecar: Path, capsys, *extra: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["verify", "--sidecar", str(sidecar), "--quiet", *extra])
    return code, capsys.readouterr().out


def _index(data: dict, series: str, algorithm: str) -> int:
    """The first checkpoint_window record on ``series`` of ``algorithm``."""
    return next(i for i, r in enumerate(data["records"])
                if r["name"] == "checkpoint_window" and r["details"]["series"] == series
                and r["details"]["recipe"]["run"]["algorithm"] == algorithm)


def _flip_byte(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_sealed_sidecar_validates_and_vouches_for_its_files(sealed_run):
    data = _load(sealed_run)
    validate_report(data)
    seal = data["seal"]
    assert set(seal["files"]) == {f"{sealed_run.stem}.{ext}" for ext in ("png", "pdf", "csv")}
    assert len(seal["records"]) == len(data["records"])
    assert seal["tolerances"]["float"] == {**seal["tolerances"]["float"], "rule": "ulps",
                                           "ulps": 0}
    assert seal["package_version"] == data["versions"]["amsgrad_theory"]


def test_an_untampered_sidecar_passes(sidecar, capsys):
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["pass"], out
    assert "FAIL" not in out and "sidecar sha256" in out


def _value(data, i, change):
    data["records"][i]["details"]["value"] = change(data["records"][i]["details"]["value"])


TAMPERS = {
    # a measured value one ulp up
    "ulp": (lambda d: _value(d, _index(d, "average_regret", "adam"),
                             lambda v: math.nextafter(v, math.inf)), "details.value"),
    # AMSGrad's x_T changed to +0.5, contradicting its own claim (x ≤ −0.9, or ≤ −0.5)
    "value": (lambda d: _value(d, _index(d, "x", "amsgrad"), lambda v: 0.5), "details.value"),
    # AMSGrad's regret raised by 1 %
    "regret": (lambda d: _value(d, _index(d, "average_regret", "amsgrad"),
                                lambda v: v * 1.01), "details.value"),
    "claim": (lambda d: d["records"][_index(d, "x", "amsgrad")].update(
        claim="Adam goes to the optimum −1"), "claim"),
    "alpha": (lambda d: d["records"][_index(d, "average_regret", "adam")]["details"]["recipe"]
              ["run"]["hyperparameters"].update(alpha="0.6"),
              "details.recipe.run.hyperparameters.alpha"),
    "steps": (lambda d: d["records"][_index(d, "average_regret", "adam")]["details"]["recipe"]
              ["run"].update(steps=19000), "details.recipe.run.steps"),
    "verdict": (lambda d: d["records"][0].update(verdict="fail"), "verdict"),
    "deleted": (lambda d: d["records"].pop(1), "records.1"),
    "module": (lambda d: d["records"][0]["details"]["recipe"].update(module="this"),
               "details.recipe.module"),
    "header": (lambda d: d["parameters"].update(size="paper"), "parameters.size"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_each_tamper_fails_naming_the_field(sidecar, capsys, name):
    tamper, field = TAMPERS[name]
    data = _load(sidecar)
    tamper(data)
    _save(sidecar, data)
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["fail"], out
    assert f"{field}: recorded" in out, out


@pytest.mark.parametrize("ext, at", [("csv", 10), ("png", 200), ("pdf", 100)])
def test_an_edited_file_byte_fails_naming_the_file(sidecar, capsys, ext, at):
    _flip_byte(sidecar.with_suffix(f".{ext}"), at)
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["fail"], out
    assert f"files.{sidecar.stem}.{ext}: recorded" in out


def test_a_removed_file_fails(sidecar, capsys):
    sidecar.with_suffix(".png").unlink()
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["fail"] and f"files.{sidecar.stem}.png: recorded" in out
    assert "<absent>" in out


def test_json_names_the_field_recorded_vs_recomputed(sidecar, capsys):
    data = _load(sidecar)
    i = _index(data, "average_regret", "adam")
    recorded = data["records"][i]["details"]["value"]
    data["records"][i]["details"]["value"] = 0.5
    _save(sidecar, data)
    code, out = _verify(sidecar, capsys, "--json")
    report = json.loads(out)
    validate_report(report)
    assert code == 1 and report["exit_status"] == 1 and report["verdict"] == "fail"
    rec = report["records"][i]
    assert rec["details"]["recorded_verdict"] == "pass"          # the old keys are kept
    assert rec["details"]["recomputed_verdict"] == "pass"
    (diff,) = rec["details"]["differences"]
    assert diff == {"field": "details.value", "recorded": 0.5, "recomputed": recorded,
                    "tolerance": "0 ulps"}
    assert report["parameters"]["sealed"] is True


def test_a_sidecar_never_imports_what_it_names(sidecar, capsys):
    """Checks are looked up by name in the registry: neither a "module" key nor a check named
    after a module imports anything (``import this`` would print the Zen of Python)."""
    data = _load(sidecar)
    data["records"][0]["details"]["recipe"]["module"] = "this"
    data["records"][1]["details"]["recipe"]["check"] = "this"
    _save(sidecar, data)
    had = "this" in sys.modules
    code, out = _verify(sidecar, capsys)
    assert code == 1
    assert "details.recipe.module: recorded" in out and "details.recipe.check: recorded" in out
    assert "unknown check 'this'" in out
    assert "Zen of Python" not in out and ("this" in sys.modules) == had


def test_an_unknown_check_says_where_the_studies_checks_come_from():
    from amsgrad_theory.engine import RunSpec
    from amsgrad_theory.verify.checks import run_check

    with pytest.raises(KeyError, match="register when amsgrad_theory.reproduce is imported"):
        run_check("claim_nonexistent", RunSpec("amsgrad", "periodic-linear:C=3", 10))


def test_ulps_widens_the_float_tolerance(sidecar, capsys):
    data = _load(sidecar)
    i = _index(data, "average_regret", "amsgrad")
    data["records"][i]["details"]["value"] = math.nextafter(
        data["records"][i]["details"]["value"], math.inf)
    _save(sidecar, data)
    code, out = _verify(sidecar, capsys, "--ulps", "1")
    # within 1 ulp the value agrees; the record's digests are untouched, but the report's own
    # digest sees the edit
    assert "details.value: recorded" not in out
    assert code == 1 and "seal.sha256: recorded" in out


def test_a_sidecar_without_a_seal_is_undecided(sidecar, capsys):
    data = _load(sidecar)
    del data["seal"]
    _save(sidecar, data)
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["undecided"], out
    assert "UNDECIDED" in out and "no seal" in out
    # without a seal the values are still recomputed: an edited one fails
    data["records"][0]["details"]["value"] = 0.5
    _save(sidecar, data)
    code, out = _verify(sidecar, capsys)
    assert code == EXIT_STATUS["fail"] and "details.value: recorded" in out
