"""Read what a placement reads besides its plan: the arrivals, the ledger and
the refugee population that synthetic ties are drawn from.

``arrivals.csv`` (any name; one row per household ready to settle):

    household_id         letters, digits, '.', '_', '-' (not first), at most 40; unique
    persons              1-20, = adults + children
    adults, children     0-20
    unaccompanied_minor  true/false (einslege mindreårige): no adult in the household
    complex_health       true/false: someone needs complex health care
    tie_kommunenummer    the municipality where family already lives; empty where none
    ready_date           YYYY-MM-DD, ready to settle; in the plan's year
    registered_date      optional column, YYYY-MM-DD, registered as settled (not
                         before ready_date); empty where not yet known

A household without an adult is an unaccompanied minor and an unaccompanied
minor has no adult; anything else is refused, as are repeated ids and ties
to unknown municipalities.  A file whose first line starts with
``# SYNTHETIC`` was drawn, not observed (``python -m pipeline illustrate-arrivals``).

``placement_ledger.csv`` (optional, in ``data/inputs/<plan>/``): per
municipality the persons settled this year to date and the persons assigned
and not yet settled, as they stand now (totals, not increments, so reading
the file twice never counts anyone twice); optionally how many of them had
complex health needs and were unaccompanied minors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from pipeline.errors import InputError
from pipeline.inputs.history import FIRST_YEAR, LAST_YEAR, REFUGEE_COLUMN, read_refugees
from pipeline.inputs.source import Source
from pipeline.inputs.tables import (
    MAX_PERSONS,
    Column,
    check_codes,
    comment_lines,
    fail_at,
    read_table,
)

SYNTHETIC_LINE = "# SYNTHETIC"
MAX_HOUSEHOLD = 20  # persons in one household; larger is a typo or two households
ID_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,39}$")
LEDGER_COLUMNS = ("settled", "assigned", "complex_health", "unaccompanied_minors")


@dataclass(frozen=True)
class Arrivals:
    """households: the columns ``optimiser.place`` reads (``tie`` a
    kommunenummer or None, dates as timestamps) and ``registered_date`` (NaT
    where not known); synthetic: the file says it was drawn; note: its
    leading comment lines (how it was made)."""

    households: pd.DataFrame
    synthetic: bool
    note: str


def read_arrivals(source: Source, codes: pd.Index, year: int) -> Arrivals:
    """The households of ``source``, validated against the municipalities
    ``codes`` and the plan's ``year`` (see the module docstring)."""
    path = source.path
    most = MAX_HOUSEHOLD
    frame = read_table(source, [
        Column("household_id", "text"),
        Column("persons", "int", minimum=1, maximum=most), Column("adults", "int", maximum=most),
        Column("children", "int", maximum=most),
        Column("unaccompanied_minor", "bool"), Column("complex_health", "bool"),
        Column("tie_kommunenummer", "code", required=False),
        Column("ready_date", "date", minimum=FIRST_YEAR, maximum=LAST_YEAR),
        Column("registered_date", "date", required=False, minimum=FIRST_YEAR, maximum=LAST_YEAR, optional=True),
    ], key="household_id")
    checks = [
        (~frame["household_id"].str.match(ID_RE), "household_id",
         lambda f: f"{f['household_id']!r} is not a plain id", "letters, digits, '.', '_' and '-', at most 40"),
        (frame["persons"] != frame["adults"] + frame["children"], "persons",
         lambda f: f"{f['persons']} persons but {f['adults']} adults + {f['children']} children", ""),
        (frame["unaccompanied_minor"] & (frame["adults"] > 0), "adults",
         lambda f: f"an unaccompanied minor with {f['adults']} adults", "an unaccompanied minor has no adult"),
        (~frame["unaccompanied_minor"] & (frame["adults"] == 0), "unaccompanied_minor",
         lambda f: "no adult in the household but unaccompanied_minor is false", "children alone are unaccompanied"),
        (frame["tie_kommunenummer"].notna() & ~frame["tie_kommunenummer"].isin(codes), "tie_kommunenummer",
         lambda f: f"unknown kommunenummer {f['tie_kommunenummer']!r}", "use the 2020-2023 municipality codes"),
        (frame["ready_date"].dt.year != year, "ready_date",
         lambda f: f"ready on {f['ready_date']:%Y-%m-%d}, the plan is for {year}", "place it against that year's plan"),
        (frame["registered_date"] < frame["ready_date"], "registered_date",
         lambda f: f"registered {f['registered_date']:%Y-%m-%d}, before it was ready", ""),
    ]
    for mask, column, what, hint in checks:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            fail_at(path, frame, mask, column, what(frame[mask].iloc[0]), hint)
    households = frame.rename(columns={"tie_kommunenummer": "tie"}).assign(
        persons=lambda f: f["persons"].astype("int64"), adults=lambda f: f["adults"].astype("int64"),
        children=lambda f: f["children"].astype("int64"),
        tie=lambda f: f["tie"].astype(object).where(f["tie"].notna(), None))
    text = source.text()
    note = "\n".join(text.splitlines()[:comment_lines(text)])
    return Arrivals(households=households, synthetic=note.upper().startswith(SYNTHETIC_LINE), note=note)


def read_ledger(source: Source, codes: pd.Index, settled_before: pd.Series | None = None) -> pd.DataFrame:
    """The ledger indexed by kommunenummer (``LEDGER_COLUMNS``, persons; the
    needs columns 0 where the file leaves them out).  ``settled_before``: what
    the plan's status file says was settled; the ledger, being later, may not
    say less."""
    path = source.path
    most = MAX_PERSONS
    frame = read_table(source, [
        Column("kommunenummer", "code"), Column("settled", "int", maximum=most), Column("assigned", "int", maximum=most),
        Column("complex_health", "int", required=False, maximum=most, optional=True),
        Column("unaccompanied_minors", "int", required=False, maximum=most, optional=True),
    ], allow_empty=True)
    check_codes(frame, path, codes, complete=False)
    frame = frame.fillna({"complex_health": 0, "unaccompanied_minors": 0})
    held = frame["settled"] + frame["assigned"]
    for column in ("complex_health", "unaccompanied_minors"):
        over = frame[column] > held
        if over.any():
            fail_at(path, frame, over, column, f"{frame[column][over].iloc[0]} persons, more than the "
                    f"{held[over].iloc[0]} settled and assigned", "these count among the settled and assigned")
    if settled_before is not None:
        before = settled_before.reindex(frame["kommunenummer"]).fillna(0).to_numpy()
        fewer = pd.Series(frame["settled"].to_numpy() < before, index=frame.index)
        if fewer.any():
            code = frame["kommunenummer"][fewer].iloc[0]
            fail_at(path, frame, fewer, "settled", f"{code} has settled {frame['settled'][fewer].iloc[0]}, fewer than "
                    f"the {int(settled_before[code])} the status file already counts",
                    "the ledger gives totals to date, not what changed")
    return frame.set_index("kommunenummer")[list(LEDGER_COLUMNS)].astype("int64")


def read_refugee_population(source: Source, codes: pd.Index, plan_year: int) -> tuple[pd.Series, int]:
    """Persons living in each municipality who came as refugees or reunited
    family (``flyktninger_og_familieinnvandrede``) on 1 January of the latest
    year before ``plan_year`` in the file, and that year."""
    return latest_refugees(read_refugees(source, codes, plan_year), codes, plan_year, source.path)


def latest_refugees(frame: pd.DataFrame, codes: pd.Index, plan_year: int, path) -> tuple[pd.Series, int]:
    """``read_refugee_population`` from the rows ``read_refugees`` gave (``path``: their file, for errors)."""
    if frame.empty:
        raise InputError(str(path), f"no year before the plan year {plan_year}", "look-ahead; add earlier years")
    latest = int(frame["year"].max())
    rows = frame[frame["year"] == latest]
    absent = codes.difference(rows["kommunenummer"])
    if len(absent):
        raise InputError(str(path), f"no row for kommunenummer {absent[0]!r} in {latest} ({len(absent)} missing)")
    return rows.set_index("kommunenummer")["refugees"].reindex(codes).rename(REFUGEE_COLUMN), latest
