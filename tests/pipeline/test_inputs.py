"""Bad input files: each stops the run with one line naming file, row and
field, exit status 2, and nothing under ``<out>/<plan>/``.

Each test copies the real ``data/`` and ``config/`` into ``tmp_path``, breaks
one thing by editing the file as text, and expects the line number it broke.
"""
from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from optimiser.plan import ALL_CRITERIA
from pipeline.__main__ import main

POPULATION = "population_kommune_2020_2023.csv"
CENTRALITY = "sentralitet_kostragruppe_kommune.csv"
POPULATION_COLUMN = "pop_2021_01_01"  # plan 2022 reads 1 January 2021


@pytest.fixture
def tree(tmp_path) -> Path:
    shutil.copytree("data", tmp_path / "data")
    shutil.copytree("config", tmp_path / "config")
    return tmp_path


def run(tree: Path, capsys) -> tuple[int, list[str], str]:
    status = main(["allocate", "--plan", "2022", "--config-dir", str(tree / "config"),
                   "--data-dir", str(tree / "data"), "--out", str(tree / "out")])
    err = capsys.readouterr().err
    return status, [line for line in err.splitlines() if line.startswith("error:")], err


def assert_stopped(tree: Path, capsys, prefix: str) -> str:
    status, lines, err = run(tree, capsys)
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {prefix}"), lines[0]
    assert "Traceback" not in err
    assert not (tree / "out" / "2022").exists()
    return lines[0]


def read_rows(path: Path) -> tuple[list[str], list[str], int]:
    """(lines, header columns, 0-based index of the header line); '#' lines before it are comments."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header_at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = next(csv.reader([lines[header_at]]))
    return lines, header, header_at


def line_of(path: Path, code: str) -> int:
    """1-based line number of the row for ``code``."""
    lines, header, header_at = read_rows(path)
    key = header.index("kommunenummer")
    for i in range(header_at + 1, len(lines)):
        if next(csv.reader([lines[i]]))[key] == code:
            return i + 1
    raise AssertionError(f"{code} not in {path}")


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    lines, header, _ = read_rows(path)
    row = next(csv.reader([lines[line - 1]]))
    row[header.index(column)] = value
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    lines[line - 1] = buffer.getvalue()
    path.write_text("".join(lines), encoding="utf-8")


def test_missing_file_names_it(tree, capsys):
    path = tree / "data" / CENTRALITY
    path.unlink()
    line = assert_stopped(tree, capsys, str(path))
    assert "not found" in line


# (file, row of this kommunenummer, column, new value)
CELL_CASES = {
    "unknown_kommunenummer": (CENTRALITY, "4631", "kommunenummer", "4699"),
    "non_numeric_population": (POPULATION, "4631", POPULATION_COLUMN, "29 000"),
    "negative_population": (POPULATION, "0301", POPULATION_COLUMN, "-5"),
    "fractional_population": (POPULATION, "5001", POPULATION_COLUMN, "210.5"),
    "empty_population": (POPULATION, "1101", POPULATION_COLUMN, ""),
}


@pytest.mark.parametrize("name, code, column, value", CELL_CASES.values(), ids=CELL_CASES.keys())
def test_bad_cell_names_file_row_field(tree, capsys, name, code, column, value):
    path = tree / "data" / name
    row = line_of(path, code)
    set_cell(path, row, column, value)
    line = assert_stopped(tree, capsys, f"{path}:{row}:{column}:")
    assert repr(value) in line


def test_duplicated_kommunenummer_names_second_row(tree, capsys):
    path = tree / "data" / POPULATION
    lines, _, _ = read_rows(path)
    alver = lines[line_of(path, "4631") - 1]
    body = "".join(lines)
    path.write_text(body + ("" if body.endswith("\n") else "\n") + alver, encoding="utf-8")
    last = len(lines) + 1
    line = assert_stopped(tree, capsys, f"{path}:{last}:kommunenummer:")
    assert "4631" in line


def write_employment(tree: Path, late_code: str | None = None) -> tuple[Path, int | None]:
    """A complete planner indicator file dated 2021; ``late_code``'s row dated 2022.

    Returns the path and the line number of the late row."""
    codes = [next(csv.reader([line]))[0] for line in read_rows(tree / "data" / POPULATION)[0][1:]]
    folder = tree / "data" / "inputs" / "2022" / "indicators"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "employment.csv"
    rows = ["kommunenummer,value,year"] + [f"{code},0.7,{2022 if code == late_code else 2021}" for code in codes]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path, (codes.index(late_code) + 2 if late_code else None)


def test_planner_indicator_dated_in_plan_year_is_look_ahead(tree, capsys):
    path, late = write_employment(tree, late_code="4631")
    line = assert_stopped(tree, capsys, f"{path}:{late}:year:")
    assert "2022" in line


def test_planner_indicator_dated_before_plan_year_is_accepted(tree, capsys):
    # Also shows that the copied tree itself runs: every failure above comes from the one edit.
    write_employment(tree)
    status, lines, err = run(tree, capsys)
    assert status == 0, err
    assert lines == []


# --------------------------------------------------------------------------- figures no planner could mean

HUGE = "1000000000000"
# (file under data/, row: kommunenummer or a line number, column, value, words in the error)
RANGE_CASES = {
    "population_1e12": (POPULATION, "0301", POPULATION_COLUMN, HUGE, "above the plausible maximum"),
    "longitude_negative": ("kommune_points_2020.csv", "4631", "lon", "-5", "below the minimum 4"),
    "latitude_1e12": ("kommune_points_2020.csv", "4631", "lat", HUGE, "above the plausible maximum"),
    "travel_minutes_1e12": ("ba_regioner_2020.csv", "4631", "reisetid_til_senter_min", HUGE, "plausible maximum 1440"),
    "schools_1e12": ("videregaende_skoler_per_kommune_2022-12.csv", "4631", "vgs_aktive", HUGE, "plausible maximum"),
    "border_km_1e12": ("kommune_adjacency_2020.csv", 2, "shared_border_km", HUGE, "plausible maximum"),
    "ferry_minutes_1e12": ("ferry_links.csv", 2, "minutes", HUGE, "plausible maximum 1440"),
    "recommendation_1e12": ("inputs/2022/counties/46.csv", "4631", "recommended", HUGE, "plausible maximum 5500"),
    "capacity_1e12": ("inputs/2022/answers.csv", "4631", "base_capacity", HUGE, "plausible maximum"),
    "centrality_class_7": (CENTRALITY, "4631", "sentralitetsklasse_ssb_1til6", "7", "plausible maximum 6"),
}


@pytest.mark.parametrize("name, row, column, value, words", RANGE_CASES.values(), ids=RANGE_CASES.keys())
def test_implausible_figure_names_file_row_field(tree, capsys, name, row, column, value, words):
    path = tree / "data" / name
    line = row if isinstance(row, int) else line_of(path, row)
    set_cell(path, line, column, value)
    message = assert_stopped(tree, capsys, f"{path}:{line}:{column}:")
    assert words in message and repr(value) in message


def edit_yaml_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_ks_minimum_above_the_need_names_the_entry(tree, capsys):
    path = tree / "data" / "inputs" / "2022" / "ks.yaml"
    edit_yaml_text(path, "minimum: 5", f"minimum: {HUGE}")
    message = assert_stopped(tree, capsys, f"{path}:minimum_exceptions[0].minimum: ")
    assert "above the national need 5500" in message


@pytest.mark.parametrize("file, old, new, where, words", [
    ("2022", "time_limit_seconds: 60", "time_limit_seconds: -1", "solver.time_limit_seconds", "must be positive"),
    ("calibrated-2015-2021", "population: 0.0", "population: 0.5", "criteria.weights", "not 1"),
    ("2022", "need_persons: 5500", f"need_persons: {HUGE}", "need_persons", "must be between 0"),
    ("2022", "mip_rel_gap: 1.0e-5", "mip_rel_gap: 2.0", "solver.mip_rel_gap", "below 1"),
], ids=["negative_time_limit", "weights_not_summing_to_one", "need_1e12", "gap_above_one"])
def test_implausible_plan_setting_names_the_key(tree, capsys, file, old, new, where, words):
    path = tree / "config" / f"{file}.yaml"
    edit_yaml_text(path, old, new)
    message = assert_stopped(tree, capsys, f"{path}: {where}: ")
    assert words in message


def test_yaml_key_given_twice_names_file_and_line(tree, capsys):
    path = tree / "config" / "2022.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "need_persons: 6000\n", encoding="utf-8")
    line = len(text.splitlines()) + 1
    message = assert_stopped(tree, capsys, f"{path}:{line}: ")
    assert "'need_persons' given twice" in message


def test_yaml_key_given_twice_in_ks_input_is_refused(tree, capsys):
    path = tree / "data" / "inputs" / "2022" / "ks.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "agrees: false\n", encoding="utf-8")
    assert "'agrees' given twice" in assert_stopped(tree, capsys, f"{path}:")


# --------------------------------------------------------------------------- encodings

def test_byte_order_mark_is_accepted_and_changes_nothing(tree, capsys):
    assert run(tree, capsys)[0] == 0
    before = (tree / "out" / "2022" / "allocation.csv").read_bytes()
    for name in (POPULATION, "inputs/2022/answers.csv", "inputs/2022/ks.yaml"):
        path = tree / "data" / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    status, lines, err = run(tree, capsys)
    assert status == 0, err
    assert (tree / "out" / "2022" / "allocation.csv").read_bytes() == before


def test_latin1_file_names_file_and_line(tree, capsys):
    path = tree / "data" / POPULATION
    text = path.read_text(encoding="utf-8")
    path.write_bytes(text.encode("latin-1"))
    first = next(i for i, line in enumerate(text.splitlines(), start=1) if any(ord(c) > 127 for c in line))
    message = assert_stopped(tree, capsys, f"{path}:{first}: ")
    assert "not UTF-8" in message and "save the file as UTF-8" in message


def test_header_only_file_is_reported_as_having_no_rows(tree, capsys):
    path = tree / "data" / POPULATION
    path.write_text(path.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert "header but no rows" in assert_stopped(tree, capsys, f"{path}: ")


def test_empty_file_is_reported_as_empty(tree, capsys):
    path = tree / "data" / CENTRALITY
    path.write_bytes(b"")
    assert "the file is empty" in assert_stopped(tree, capsys, f"{path}: ")


# --------------------------------------------------------------------------- many versions of one plan


def test_versions_of_a_plan_share_the_reads_and_parses_they_do_not_change():
    from pipeline.plans.inputs import read_inputs
    from pipeline.plans.resolve import plan_resolver

    resolve = plan_resolver("2022")
    weights = {"criteria": {"weights": {**dict.fromkeys(ALL_CRITERIA, 0.0), "population": 0.5, "upper_secondary": 0.5}}}
    plain, reweighted, bigger = resolve(None), resolve(weights), resolve({"need_persons": 7000})
    assert len({plain.fingerprint, reweighted.fingerprint, bigger.fingerprint}) == 3
    path = "data/population_kommune_2020_2023.csv"
    assert plain.files[path] is reweighted.files[path] is bigger.files[path]  # read and hashed once
    a, b, c = read_inputs(plain), read_inputs(reweighted), read_inputs(bigger)
    assert a.data is b.data is c.data
    assert a.submissions is b.submissions       # same need: the same checks
    assert c.submissions is not a.submissions   # another need: checked again against it
    assert b.plan.criteria.weights["upper_secondary"] == 0.5 and c.plan.need_persons == 7000
