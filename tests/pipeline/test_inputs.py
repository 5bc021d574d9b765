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
