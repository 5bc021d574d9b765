"""The written standard (målform) each municipality's letter is written in.

``data/malform.csv``: ``scope,code,name,standard``; a ``county`` row gives the
default for its municipalities, a ``municipality`` row overrides it;
``nn`` (nynorsk) or ``nb`` (bokmål).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.errors import InputError
from pipeline.inputs.source import Source, as_source
from pipeline.inputs.tables import Column, fail_at, read_table

STANDARDS = ("nn", "nb")


def read_standards(source: Source | Path, municipalities: pd.DataFrame) -> pd.DataFrame:
    """Read ``scope,code,standard``: every county needs a default; codes must exist."""
    source = as_source(source)
    path = source.path
    frame = read_table(source, [Column("scope", "text"), Column("code", "text"), Column("standard", "text")],
                       key=None)
    scope_ok = frame["scope"].isin(["county", "municipality"])
    if not scope_ok.all():
        fail_at(path, frame, ~scope_ok, "scope", f"unknown scope {frame['scope'][~scope_ok].iloc[0]!r}",
                "use county or municipality")
    std_ok = frame["standard"].isin(STANDARDS)
    if not std_ok.all():
        fail_at(path, frame, ~std_ok, "standard", f"unknown standard {frame['standard'][~std_ok].iloc[0]!r}",
                "use nn (nynorsk) or nb (bokmål)")
    counties = set(municipalities["fylke"])
    county = frame["scope"] == "county"
    bad = (county & ~frame["code"].isin(counties)) | (~county & ~frame["code"].isin(municipalities.index))
    if bad.any():
        fail_at(path, frame, bad, "code", f"unknown code {frame['code'][bad].iloc[0]!r}",
                "use 2-digit county numbers and 4-digit kommunenummer of 2020-2023")
    dup = frame.duplicated(["scope", "code"])
    if dup.any():
        fail_at(path, frame, dup, "code", f"second row for {frame['code'][dup].iloc[0]!r}")
    missing = sorted(counties - set(frame.loc[county, "code"]))
    if missing:
        raise InputError(str(path), f"county {missing[0]} has no default row",
                         f"add a line 'county,{missing[0]},<name>,nb' or nn")
    return frame[["scope", "code", "standard"]].reset_index(drop=True)


def standard_for(standards: pd.DataFrame, municipalities: pd.DataFrame) -> pd.Series:
    """Written standard per kommunenummer: the municipality's override, else its county's default."""
    by_county = standards[standards["scope"] == "county"].set_index("code")["standard"]
    override = standards[standards["scope"] == "municipality"].set_index("code")["standard"]
    chosen = municipalities["fylke"].map(by_county)
    return override.reindex(municipalities.index).fillna(chosen).rename("standard")
