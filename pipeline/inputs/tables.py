"""Read one CSV file against a declared schema; errors name file:row:field.

Row numbers are line numbers in the file, so a planner can open the file
and go straight to the offending line.  Leading lines starting with ``#``
are a comment block (e.g. "ILLUSTRATIVE: ..." on files that are not real
figures); the header follows them.

Every column declares its type and its plausible range (``minimum``,
``maximum``): a figure outside it is refused where it is read, naming the
file, the line and the column, instead of failing far from its cause.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.inputs.source import Source, as_source

CODE_RE = re.compile(r"^\d{4}$")
COMMENT = "#"

# Plausible ranges shared by several files.
MAX_POPULATION = 10_000_000  # persons in one municipality (Norway: 5.4 million in all)
MAX_MINUTES = 24 * 60  # a travel time of more than a day is a typo
LON_RANGE = (4.0, 32.0)  # Norway's bounding box, degrees east
LAT_RANGE = (57.5, 71.5)  # degrees north
MAX_PERSONS = 1_000_000  # persons in one request, capacity or count (a plan adds its own need)


@dataclass(frozen=True)
class Column:
    """One declared column.  ``minimum``/``maximum`` bound a number; for a
    ``date`` (ISO, YYYY-MM-DD) they bound its year.  ``optional``: the file
    may leave the whole column out (read as empty; needs ``required=False``)."""

    name: str
    kind: str  # "code", "int", "float", "text", "bool", "date"
    required: bool = True  # False: empty cells allowed (become NA)
    minimum: float | None = 0
    maximum: float | None = None
    optional: bool = False


def read_table(source: Source | Path | str, columns: list[Column], key: str | None = "kommunenummer",
               allow_empty: bool = False) -> pd.DataFrame:
    """Read ``source`` keeping only ``columns``; validate types, ranges and a unique key.

    A file with a header and no rows is refused unless ``allow_empty``."""
    source = as_source(source)
    path = source.path
    text = source.text()
    skip = comment_lines(text)
    if not text.strip() or skip == len(text.splitlines()):
        raise InputError(str(path), "the file is empty", "restore its header and rows")
    try:
        raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skiprows=skip)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(path), f"cannot be read as CSV: {exc}".replace("\n", " ")) from exc
    missing = [c.name for c in columns if c.name not in raw.columns and not c.optional]
    if missing:
        raise InputError(f"{path}:{skip + 1}", f"missing column {missing[0]!r}",
                         f"columns found: {', '.join(raw.columns)}")
    if raw.empty and not allow_empty:
        raise InputError(str(path), "the file has a header but no rows", "restore its rows")
    first_row = skip + 2
    raw = raw.assign(**{c.name: "" for c in columns if c.name not in raw.columns})
    out = {col.name: _convert(path, raw[col.name].str.strip(), col, first_row) for col in columns}
    frame = pd.DataFrame(out)
    frame.attrs["first_row"] = first_row
    if key is not None:
        dup = frame[key].duplicated()
        if dup.any():
            fail_at(path, frame, dup, key, f"duplicated {key} {frame[key][dup].iloc[0]!r}")
    return frame


def comment_lines(text: str) -> int:
    """Number of leading ``#`` lines."""
    count = 0
    for line in text.splitlines():
        if not line.startswith(COMMENT):
            break
        count += 1
    return count


def first_line(source: Source) -> str:
    text = source.text()
    return text.splitlines()[0] if text else ""


def fail_at(path: Path, frame: pd.DataFrame, mask: pd.Series, column: str, what: str, hint: str = ""):
    """Raise for the first row of ``frame`` where ``mask`` holds, naming its line in the file."""
    pos = int(mask.to_numpy().nonzero()[0][0])
    raise InputError(f"{path}:{pos + frame.attrs.get('first_row', 2)}:{column}", what, hint)


def _convert(path: Path, values: pd.Series, col: Column, first_row: int) -> pd.Series:
    empty = values == ""
    if col.required and empty.any():
        _fail(path, values, empty, col, "empty value", first_row)
    if col.kind == "code":
        bad = ~empty & ~values.str.match(CODE_RE)
        if bad.any():
            _fail(path, values, bad, col, "not a 4-digit kommunenummer (keep the leading zero)", first_row)
        return values.where(~empty, None)
    if col.kind == "text":
        return values
    if col.kind == "bool":
        lowered = values.str.lower()
        bad = ~empty & ~lowered.isin(["true", "false", "1", "0"])
        if bad.any():
            _fail(path, values, bad, col, "expected true or false", first_row)
        return lowered.isin(["true", "1"])
    if col.kind == "date":
        return _dates(path, values, empty, col, first_row)
    numbers = pd.to_numeric(values.where(~empty, None), errors="coerce")
    bad = ~empty & (numbers.isna() | ~numbers.abs().lt(float("inf")))
    if bad.any():
        _fail(path, values, bad, col, "not a number", first_row)
    if col.kind == "int":
        frac = ~empty & (numbers != numbers.round())
        if frac.any():
            _fail(path, values, frac, col, "not a whole number", first_row)
    if col.minimum is not None:
        low = ~empty & (numbers < col.minimum)
        if low.any():
            _fail(path, values, low, col, f"below the minimum {col.minimum:g}", first_row)
    if col.maximum is not None:
        high = ~empty & (numbers > col.maximum)
        if high.any():
            _fail(path, values, high, col, f"above the plausible maximum {col.maximum:g}", first_row)
    if col.kind == "int":
        return numbers.astype("Int64")
    return numbers.astype("Float64") if not col.required else numbers.astype(float)


def _dates(path: Path, values: pd.Series, empty: pd.Series, col: Column, first_row: int) -> pd.Series:
    dates = pd.to_datetime(values.where(~empty, None), format="%Y-%m-%d", errors="coerce")
    bad = ~empty & dates.isna()
    if bad.any():
        _fail(path, values, bad, col, "not a date as YYYY-MM-DD", first_row)
    year = dates.dt.year
    if col.minimum is not None and (low := ~empty & (year < col.minimum)).any():
        _fail(path, values, low, col, f"before the year {col.minimum:g}", first_row)
    if col.maximum is not None and (high := ~empty & (year > col.maximum)).any():
        _fail(path, values, high, col, f"after the year {col.maximum:g}", first_row)
    return dates


def _fail(path: Path, values: pd.Series, mask: pd.Series, col: Column, what: str, first_row: int):
    pos = int(mask.to_numpy().nonzero()[0][0])
    raise InputError(f"{path}:{pos + first_row}:{col.name}", f"{what}: {values.iloc[pos]!r}")


def check_codes(frame: pd.DataFrame, path: Path, known: pd.Index, column: str = "kommunenummer",
                complete: bool = True) -> None:
    """Every code must be a known municipality; with ``complete`` all must be present."""
    unknown = ~frame[column].isin(known)
    if unknown.any():
        fail_at(path, frame, unknown, column, f"unknown kommunenummer {frame[column][unknown].iloc[0]!r}",
                "use the 2020-2023 municipality codes")
    if complete:
        absent = known.difference(frame[column])
        if len(absent):
            raise InputError(str(path), f"no row for kommunenummer {absent[0]!r} ({len(absent)} missing)")


def read_by_year(source: Source, columns: list[Column], codes: pd.Index) -> pd.DataFrame:
    """A table with one row per municipality (``kommunenummer``) and year (``aar``): known codes,
    no municipality twice in a year."""
    frame = read_table(source, columns, key=None)
    check_codes(frame, source.path, codes, complete=False)
    dup = frame.duplicated(["kommunenummer", "aar"])
    if dup.any():
        fail_at(source.path, frame, dup, "aar",
                f"second row for {frame['kommunenummer'][dup].iloc[0]} in {frame['aar'][dup].iloc[0]}")
    return frame
