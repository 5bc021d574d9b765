"""Read one CSV file against a declared schema; errors name file:row:field.

Row numbers are line numbers in the file, so a planner can open the file
and go straight to the offending line.  Leading lines starting with ``#``
are a comment block (e.g. "ILLUSTRATIVE: ..." on files that are not real
figures); the header follows them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError

CODE_RE = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "code", "int", "float", "text", "bool"
    required: bool = True  # False: empty cells allowed (become NA)
    minimum: float | None = 0


def read_table(path: Path, columns: list[Column], key: str | None = "kommunenummer") -> pd.DataFrame:
    """Read ``path`` keeping only ``columns``; validate types, ranges and a unique key."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "file not found", "restore it from the repository or supply it")
    skip = comment_lines(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skiprows=skip, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(str(path), f"cannot be read as UTF-8 CSV: {exc}".replace("\n", " ")) from exc
    missing = [c.name for c in columns if c.name not in raw.columns]
    if missing:
        raise InputError(f"{path}:{skip + 1}", f"missing column {missing[0]!r}",
                         f"columns found: {', '.join(raw.columns)}")
    first_row = skip + 2
    out = {}
    for col in columns:
        out[col.name] = _convert(path, raw[col.name].str.strip(), col, first_row)
    frame = pd.DataFrame(out)
    frame.attrs["first_row"] = first_row
    if key is not None:
        dup = frame[key].duplicated()
        if dup.any():
            fail_at(path, frame, dup, key, f"duplicated {key} {frame[key][dup].iloc[0]!r}")
    return frame


def comment_lines(path: Path) -> int:
    """Number of leading ``#`` lines."""
    count = 0
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            count += 1
    return count


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
    numbers = pd.to_numeric(values.where(~empty, None), errors="coerce")
    bad = ~empty & numbers.isna()
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
    if col.kind == "int":
        return numbers.astype("Int64")
    return numbers.astype("Float64") if not col.required else numbers.astype(float)


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
