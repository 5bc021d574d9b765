"""2022 is the exam: no request, decision or settled figure of 2022 is in the
project's data, whatever the file, so no plan, calibration or backtest can
read one.  Population counts dated 2022 are allowed (they are not what plans
are judged against, and a plan for 2022 reads population of the year before).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

DATA = Path("data")
# Column names that carry a settlement figure of a year (request, decision, settled, EM).
FIGURE = re.compile(r"(anmod|vedta|bosatt|request|decision|decided|settled|ema_)", re.IGNORECASE)
YEAR_COLUMNS = ("aar", "year", "år")


def real_tables() -> list[Path]:
    """The public data files directly under data/ (illustrative inputs live in data/inputs/)."""
    return sorted(DATA.glob("*.csv"))


def header_and_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    rows = list(csv.reader(lines))
    return rows[0], rows[1:]


@pytest.mark.parametrize("path", real_tables(), ids=lambda p: p.name)
def test_no_settlement_figure_of_2022_in_any_data_file(path):
    header, rows = header_and_rows(path)
    named = [c for c in header if "2022" in c and FIGURE.search(c)]
    assert named == [], f"{path}: columns {named} hold 2022 figures"
    year_columns = [header.index(c) for c in header if c.lower() in YEAR_COLUMNS]
    if year_columns and any(FIGURE.search(c) for c in header):
        dated_2022 = [n for n, row in enumerate(rows, start=2) for i in year_columns if row[i].strip() == "2022"]
        assert dated_2022 == [], f"{path}: rows {dated_2022[:5]} are dated 2022"


def test_the_settlement_history_is_found_and_checked():
    # The check above must see the files it exists for, or it proves nothing.
    checked = {p.name for p in real_tables()}
    assert "imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv" in checked
    header, rows = header_and_rows(DATA / "imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv")
    years = {row[header.index("aar")] for row in rows}
    assert {"2021", "2023"} <= years and "2022" not in years
