"""``python -m pipeline audit``: a fresh run passes; every kind of tampering fails
with a line naming what differs (file, municipality, objective)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pipeline.__main__ import main

ALVER = "4631"


@pytest.fixture(scope="module")
def stored_run(published) -> Path:
    """The real 2022 plan, run once for the session (inputs read from data/ as `make allocate` does)."""
    return published("2022")


@pytest.fixture
def run_copy(stored_run, tmp_path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(stored_run, folder)
    return folder


def audit(folder: Path, capsys, *extra: str) -> tuple[int, list[str], str]:
    status = main(["audit", "--run", str(folder), *extra])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("audit: FAIL")]


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def edit_manifest(folder: Path, **changes) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest(folder) | changes))


def allocation_line(folder: Path, code: str) -> tuple[int, list[str], list[str]]:
    """(index among the file's lines, header, fields) of one municipality's row in allocation.csv."""
    lines = (folder / "allocation.csv").read_text().splitlines()
    header = lines[0].split(",")
    for i, line in enumerate(lines):
        if line.startswith(code + ","):
            return i, header, line.split(",")
    raise AssertionError(f"{code} not in allocation.csv")


def set_request(folder: Path, code: str, value: str) -> int:
    """Write ``value`` as the request of ``code``; return the request it had."""
    path = folder / "allocation.csv"
    lines = path.read_text().splitlines()
    i, header, fields = allocation_line(folder, code)
    col = header.index("request")
    old = int(fields[col])
    fields[col] = value
    lines[i] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    return old


def test_audit_passes_on_a_fresh_run_with_extra_files(run_copy, capsys):
    # Files the manifest does not list (later additions to a run folder) are ignored.
    (run_copy / "unlisted").mkdir()
    (run_copy / "unlisted" / "4631.txt").write_text("letter\n")
    (run_copy / "unlisted.html").write_text("<html></html>\n")
    status, lines, _ = audit(run_copy, capsys)
    assert status == 0, lines
    assert failures(lines) == []
    for what in ("input hashes", "code hash", "verify", "verify.json agrees",
                 "allocation.csv equals the re-solved model.mps", "objective"):
        assert any(line.startswith(f"audit: {what}") and line.endswith("... ok") for line in lines), what
    assert " passed (" in lines[-1]


def test_audit_one_digit_edit_names_the_municipality(run_copy, capsys):
    _, header, fields = allocation_line(run_copy, ALVER)
    old = int(fields[header.index("request")])
    # Change the last digit only: 30 -> 31, 17 -> 18 ...
    new = old - old % 10 + (old % 10 + 1) % 10
    set_request(run_copy, ALVER, str(new))
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    assert f"audit: FAIL allocation.csv: {ALVER} Alver request {new} but the stored model solves to {old}" in lines
    assert any(line.startswith("audit: FAIL verify: national_need") for line in failures(lines))
    assert any(line.startswith("audit: FAIL verify.json: records ok=true") for line in lines)
    assert any(line.startswith("audit: FAIL county.csv: county 46 ") for line in lines)
    assert "FAILED" in lines[-1]


def test_audit_edit_to_an_em_request_names_the_municipality(run_copy, capsys):
    _, header, fields = allocation_line(run_copy, "0301")
    if "em_request" not in header:
        pytest.skip("this run has no unaccompanied-minor sub-quota")
    col = header.index("em_request")
    old = int(fields[col])
    fields[col] = str(old + 1)
    path = run_copy / "allocation.csv"
    lines = [",".join(fields) if line.startswith("0301,") else line for line in path.read_text().splitlines()]
    path.write_text("\n".join(lines) + "\n")
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert f"audit: FAIL allocation.csv: 0301 Oslo em_request {old + 1} but the stored model solves to {old}" in out


def test_audit_reads_the_need_a_replan_records_in_the_manifest(run_copy, capsys):
    need = manifest(run_copy)["need"]
    edit_manifest(run_copy, need=need + 7)
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    assert any(line.startswith("audit: FAIL verify: national_need at NO: ") and f"the need is {need + 7}" in line
               for line in lines)


def test_audit_non_integer_request_names_file_row_and_field(run_copy, capsys):
    i, _, _ = allocation_line(run_copy, ALVER)
    set_request(run_copy, ALVER, "30.5")
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    assert any(line.startswith(f"audit: FAIL run tables: {run_copy / 'allocation.csv'}:{i + 1}:request: "
                               "not a whole number") for line in lines), lines


def test_audit_missing_municipality_row_fails(run_copy, capsys):
    i, _, _ = allocation_line(run_copy, ALVER)
    path = run_copy / "allocation.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:i] + lines[i + 1:]) + "\n")
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert f"audit: FAIL allocation.csv: no row for {ALVER} (parameters.csv has one)" in out


def test_audit_changed_input_file_names_the_file(stored_run, capsys, tmp_path, monkeypatch):
    recorded = manifest(stored_run)["inputs"]
    assert recorded and all(not Path(name).is_absolute() for name in recorded)
    # The audit reads relative input paths from the folder it runs in: give it a copy of the project's inputs.
    for top in ("data", "config"):
        shutil.copytree(Path(top), tmp_path / top)
    monkeypatch.chdir(tmp_path)
    status, lines, _ = audit(stored_run, capsys)
    assert status == 0, lines

    population = next(name for name in recorded if "population_kommune_2020" in name)
    path = Path(population)
    path.write_text(path.read_text().replace("697010", "697011", 1))
    Path(next(name for name in recorded if name.endswith(".yaml"))).unlink()
    status, lines, _ = audit(stored_run, capsys)
    assert status == 1
    bad = [line for line in failures(lines) if line.startswith("audit: FAIL input: ")]
    assert len(bad) == 2
    assert any(line.startswith(f"audit: FAIL input: {population} has changed since the run") for line in bad)
    assert any(line.startswith("audit: FAIL input: config/2022.yaml is missing") for line in bad)


def test_audit_manifest_objective_edit_fails_naming_the_objective(run_copy, capsys):
    recorded = manifest(run_copy)["objective"]
    edit_manifest(run_copy, objective=recorded + 1.0)
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    # The report states the objective too, so the one it was rendered with no longer matches.
    assert failures(lines) == [f"audit: FAIL objective: manifest.json records {recorded + 1.0:.6f} "
                               f"but model.mps re-solves to {recorded:.6f}",
                               "audit: FAIL documents: report.html differs from the document rendered from "
                               "allocation.csv and the manifest"]


def test_audit_tampered_model_file_fails(run_copy, capsys):
    path = run_copy / "model.mps"
    text = path.read_text()
    need = manifest(run_copy)["need"]
    row = f"    RHS       national_need:NO   {float(need):.12e}\n"
    assert row in text
    path.write_text(text.replace(row, f"    RHS       national_need:NO   {float(need + 50):.12e}\n"))
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    bad = failures(lines)
    assert any("but the stored model solves to" in line for line in bad)
    assert any(line.startswith("audit: FAIL objective: manifest.json records ") for line in bad)


def test_audit_tampered_model_objective_fails(run_copy, capsys):
    """Raising the price of a band Oslo uses changes the optimum the model file gives."""
    _, header, fields = allocation_line(run_copy, "0301")
    request, target = int(fields[header.index("request")]), float(fields[header.index("target")])
    assert request != target
    band = "du0_0301" if request < target else "do0_0301"  # the first band below or above the target
    path = run_copy / "model.mps"
    lines = path.read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.split()[:2] == [band, "OBJ"])
    coefficient = float(lines[i].split()[2])
    lines[i] = lines[i].replace(f"{coefficient:.12e}", f"{coefficient * 100:.12e}")
    path.write_text("".join(lines))
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert any(line.startswith("audit: FAIL objective: manifest.json records ") for line in failures(out))
    assert any(line.startswith("audit: FAIL model.mps: line ") for line in failures(out))


def test_audit_stored_verify_report_must_pass(run_copy, capsys):
    report = json.loads((run_copy / "verify.json").read_text())
    (run_copy / "verify.json").write_text(json.dumps(report | {"ok": False}))
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    bad = failures(lines)
    assert len(bad) == 2 and bad[0].startswith("audit: FAIL output: verify.json has changed since the run")
    assert bad[1] == "audit: FAIL verify.json: records ok=False; a published run must pass its own check"


def test_audit_code_hash_is_a_warning_unless_strict(run_copy, capsys):
    edit_manifest(run_copy, code_sha256="0" * 64)
    status, lines, _ = audit(run_copy, capsys)
    assert status == 0
    assert any(line.startswith("audit: WARNING code: ") for line in lines)
    status, lines, _ = audit(run_copy, capsys, "--strict")
    assert status == 1
    assert failures(lines) and failures(lines)[0].startswith("audit: FAIL code: ")


def test_audit_missing_run_or_manifest_exits_2(run_copy, capsys, tmp_path):
    status, lines, err = audit(tmp_path / "nowhere", capsys)
    assert status == 2 and lines == []
    assert "run folder not found" in err
    (run_copy / "manifest.json").unlink()
    status, _, err = audit(run_copy, capsys)
    assert status == 2
    assert f"{run_copy / 'manifest.json'}: manifest not found" in err
    (run_copy / "manifest.json").write_text("{not json")
    status, _, err = audit(run_copy, capsys)
    assert status == 2
    assert "cannot be read as JSON" in err


def test_audit_missing_run_file_fails(run_copy, capsys):
    (run_copy / "county_minimum.csv").unlink()
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    assert f"audit: FAIL run folder: {run_copy / 'county_minimum.csv'} is listed in manifest.json but missing" in lines


# --------------------------------------------------------------------------- tampering the hashes cannot catch alone

def rehash(folder: Path, *names: str) -> None:
    """Write the edited files' new SHA-256 into the manifest, as a careful tamperer would."""
    record = manifest(folder)
    for name in names:
        record["outputs"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(record))


def test_audit_manifest_config_with_another_need_fails_naming_the_key(run_copy, capsys):
    record = manifest(run_copy)
    record["config"]["need_persons"] = 6000
    (run_copy / "manifest.json").write_text(json.dumps(record))
    status, lines, _ = audit(run_copy, capsys)
    assert status == 1
    assert ("audit: FAIL manifest.json config: config.need_persons is 6000 but the plan's files give 5500"
            in failures(lines))


def test_audit_loosened_bound_in_the_model_file_fails(run_copy, capsys):
    path = run_copy / "model.mps"
    lines = path.read_text().splitlines(keepends=True)
    i = next(i for i, line in enumerate(lines) if line.split()[:3] == ["UP", "BND", f"x_{ALVER}"])
    bound = lines[i].split()[3]
    lines[i] = lines[i].replace(bound, f"{float(bound) + 100:.12e}")
    path.write_text("".join(lines))
    rehash(run_copy, "model.mps")
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert f"audit: FAIL model.mps: line {i + 1} is " in "\n".join(failures(out))
    assert "but the model rebuilt from the inputs has" in "\n".join(failures(out))


def test_audit_parameters_loosened_to_fit_a_changed_allocation_fail(run_copy, capsys):
    path = run_copy / "parameters.csv"
    rows = path.read_text().splitlines()
    header = rows[0].split(",")
    i = next(i for i, row in enumerate(rows) if row.startswith(ALVER + ","))
    fields = rows[i].split(",")
    fields[header.index("base_capacity")] = str(int(fields[header.index("base_capacity")]) + 50)
    rows[i] = ",".join(fields)
    path.write_text("\n".join(rows) + "\n")
    old = set_request(run_copy, ALVER, "0")
    set_request(run_copy, "0301", str(int(allocation_line(run_copy, "0301")[2][allocation_line(run_copy, "0301")[1]
                                                                               .index("request")]) + old))
    rehash(run_copy, "parameters.csv", "allocation.csv")
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert any(line.startswith(f"audit: FAIL parameters.csv: {ALVER} Alver base_capacity ") for line in failures(out))


def test_audit_edited_letter_fails_naming_the_letter(run_copy, capsys):
    letter = next((run_copy / "letters").glob(f"{ALVER}-*.md"))
    text = letter.read_text()
    request = int(allocation_line(run_copy, ALVER)[2][allocation_line(run_copy, ALVER)[1].index("request")])
    assert f" {request} flyktningar" in text
    letter.write_text(text.replace(f" {request} flyktningar", f" {request + 10} flyktningar"))
    name = str(letter.relative_to(run_copy))
    rehash(run_copy, name)
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    assert (f"audit: FAIL documents: {name} differs from the document rendered from allocation.csv and the manifest"
            in failures(out))


def test_audit_coordinated_edit_of_allocation_and_manifest_fails(run_copy, capsys):
    old = set_request(run_copy, ALVER, "0")
    _, header, fields = allocation_line(run_copy, "0301")
    set_request(run_copy, "0301", str(int(fields[header.index("request")]) + old))
    rehash(run_copy, "allocation.csv")
    status, out, _ = audit(run_copy, capsys)
    assert status == 1
    bad = failures(out)
    assert f"audit: FAIL allocation.csv: {ALVER} Alver request 0 but the stored model solves to {old}" in bad
    assert any(line.startswith("audit: FAIL documents: ") for line in bad)
