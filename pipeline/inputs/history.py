"""Settlement history, population by year and the refugee population: the
long frames ``optimiser.history`` builds a plan's history criteria from.

``imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv``  IMDi's request,
    decision and settled per municipality and year, 2014-2021 and 2023 (2022
    is left out on purpose: it is what plans for 2022 are judged against),
    with the count of cells IMDi hid behind each figure.
``imdi_anmodning_vedtak_2024.csv``  IMDi's requests of 2024 (calibration and
    backtests of 2024; a plan for 2025 would read it as history too).
``population_kommune_2014_2019.csv`` and ``population_kommune_2020_2023.csv``
    population on 1 January, one column per year.
``imdi_innvandrere_etter_innvandringsgrunn_2006_2021.csv``  refugees and
    their reunited family living in each municipality on 1 January.

Every reader takes the plan (or calibration) year and drops rows dated in it
or later: later years in the same file are history for later plans.  No row
of 2022 may be in any of these files; a file holding one is refused.
"""
from __future__ import annotations

import re

import pandas as pd

from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.tables import (
    MAX_PERSONS,
    MAX_POPULATION,
    Column,
    check_codes,
    fail_at,
    first_line,
    read_by_year,
    read_table,
)

EXAM_YEAR = 2022  # plans for 2022 are judged against its real figures: none may be read
FIRST_YEAR, LAST_YEAR = 2000, 2100
REFUGEE_COLUMN = "flyktninger_og_familieinnvandrede"
POPULATION_COLUMN = re.compile(r"^pop_(\d{4})_01_01$")


def refuse_exam_year(source: Source, frame: pd.DataFrame, column: str = "aar") -> None:
    exam = frame[column] == EXAM_YEAR
    if exam.any():
        fail_at(source.path, frame, exam, column, f"a figure of {EXAM_YEAR}",
                f"{EXAM_YEAR} is what plans are judged against; remove its rows")


def read_settlement_history(source: Source, codes: pd.Index, before: int) -> pd.DataFrame:
    """IMDi's request, decision and settled per municipality and year, years before ``before``."""
    counts = [Column(f"{name}_n_prikket", "int", maximum=100) for name in ("anmodning", "vedtak", "bosatt")]
    frame = read_by_year(source, [
        Column("aar", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR), Column("kommunenummer", "code"),
        Column("anmodning", "float", required=False, maximum=MAX_PERSONS),
        Column("vedtak", "float", required=False, maximum=MAX_PERSONS),
        Column("bosatt", "float", required=False, maximum=MAX_PERSONS),
        Column("opprinnelig_anmodning", "float", required=False, maximum=MAX_PERSONS), *counts,
    ], codes)
    refuse_exam_year(source, frame)
    frame = frame[frame["aar"] < before]
    return pd.DataFrame({
        "kommunenummer": frame["kommunenummer"].to_numpy(), "year": frame["aar"].astype(int).to_numpy(),
        "requested": frame["anmodning"].to_numpy(float), "decided": frame["vedtak"].to_numpy(float),
        "settled": frame["bosatt"].to_numpy(float),
        "requested_original": frame["opprinnelig_anmodning"].to_numpy(float),
        "requested_hidden": frame["anmodning_n_prikket"].to_numpy(int),
        "decided_hidden": frame["vedtak_n_prikket"].to_numpy(int),
        "settled_hidden": frame["bosatt_n_prikket"].to_numpy(int),
    })


def year_of(history: pd.DataFrame, year: int, codes: pd.Index) -> pd.DataFrame | None:
    """Requests, decisions and settled of one ``year`` of a history frame (``read_settlement_history``)
    by kommunenummer over ``codes``; None when the frame has no row of that year."""
    rows = history[history["year"] == year]
    if rows.empty:
        return None
    return rows.set_index("kommunenummer")[["requested", "decided", "settled"]].reindex(codes)


def read_requests_of_year(source: Source, year: int, codes: pd.Index) -> pd.Series:
    """IMDi's real requests of ``year`` from a file with a column ``anmodet_<year>``; NaN where none."""
    column = f"anmodet_{year}"
    frame = read_table(source, [Column("kommunenummer", "code"),
                                Column(column, "int", required=False, maximum=MAX_PERSONS)])
    check_codes(frame, source.path, codes)
    return frame.set_index("kommunenummer")[column].reindex(codes).astype("Float64").astype(float).rename("real")


def population_years(source: Source) -> list[int]:
    header = first_line(source).split(",")
    return sorted(int(m.group(1)) for c in header if (m := POPULATION_COLUMN.match(c.strip())))


def read_population_history(sources: list[Source], codes: pd.Index, before: int) -> pd.DataFrame:
    """Population on 1 January per municipality and year, years before ``before`` (long frame)."""
    frames = []
    for source in sources:
        columns = [f"pop_{y}_01_01" for y in population_years(source) if y < before]
        if not columns:
            continue
        frame = read_table(source, [Column("kommunenummer", "code"),
                                    *(Column(c, "int", minimum=1, maximum=MAX_POPULATION) for c in columns)])
        check_codes(frame, source.path, codes)
        long = frame.melt(id_vars="kommunenummer", value_vars=columns, var_name="column", value_name="population")
        long["year"] = long["column"].str[4:8].astype(int)
        frames.append(long[["kommunenummer", "year", "population"]].astype({"population": "int64"}))
    if not frames:
        raise InputError(str(sources[0].path), f"no population before {before}")
    out = pd.concat(frames, ignore_index=True)
    dup = out.duplicated(["kommunenummer", "year"])
    if dup.any():
        raise InputError(str(sources[-1].path), f"population of {int(out['year'][dup].iloc[0])} given twice")
    return out


def read_refugees(source: Source, codes: pd.Index, before: int) -> pd.DataFrame:
    """Refugees and their reunited family living in each municipality, years before ``before``."""
    frame = read_by_year(source, [Column("aar", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR),
                                  Column("kommunenummer", "code"),
                                  Column(REFUGEE_COLUMN, "float", maximum=MAX_POPULATION)], codes)
    frame = frame[frame["aar"] < before]
    return pd.DataFrame({"kommunenummer": frame["kommunenummer"].to_numpy(),
                         "year": frame["aar"].astype(int).to_numpy(),
                         "refugees": frame[REFUGEE_COLUMN].astype(float).to_numpy()})
