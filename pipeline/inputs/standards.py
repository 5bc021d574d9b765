"""The written standard (målform) each municipality's letter is written in.

``data/maalform_kommune_2020.csv`` is the register of the municipalities'
official choices (``kommunenummer,kommunenavn_2020,maalform,kilde_2024_koder``;
``maalform`` is ``Bokmål``, ``Nynorsk`` or ``Nøytral``).  A municipality that
chose nynorsk gets its letter in nynorsk, one that chose bokmål in bokmål: a
state body must write to it in the standard it chose.

A neutral municipality has claimed neither, so the sender chooses.  The rule
here: the standard most of the county's *other* municipalities chose (those
with a choice; a tie, or a county with none, gives bokmål, the standard most
municipalities in the country chose).  A neutral municipality then reads the
standard its neighbours and its county authority (which gets a copy of every
letter) mostly receive; Bergen and Stavanger, neutral in nynorsk counties,
get nynorsk, Oslo and Trondheim bokmål.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipeline.inputs.source import Source, as_source
from pipeline.inputs.tables import Column, check_codes, fail_at, read_table

STANDARDS = ("nn", "nb")
OFFICIAL = {"Nynorsk": "nn", "Bokmål": "nb", "Nøytral": None}  # register value -> letter standard
TIE = "nb"


def read_standards(source: Source | Path, municipalities: pd.DataFrame) -> pd.DataFrame:
    """The register: one row per municipality (all of them), index kommunenummer,
    ``official`` (the register's value) and ``standard`` (nn or nb, by the rule above)."""
    source = as_source(source)
    frame = read_table(source, [Column("kommunenummer", "code"), Column("kommunenavn_2020", "text"),
                                Column("maalform", "text")])
    bad = ~frame["maalform"].isin(OFFICIAL)
    if bad.any():
        fail_at(source.path, frame, bad, "maalform", f"unknown written standard {frame['maalform'][bad].iloc[0]!r}",
                f"use one of {', '.join(OFFICIAL)}")
    check_codes(frame, source.path, municipalities.index)
    official = frame.set_index("kommunenummer")["maalform"].reindex(municipalities.index)
    return pd.DataFrame({"official": official, "standard": standard_for(official, municipalities["fylke"])})


def standard_for(official: pd.Series, county: pd.Series) -> pd.Series:
    """nn or nb per kommunenummer: the municipality's own choice, else its county's majority (ties: bokmål)."""
    chosen = official.map(OFFICIAL)
    counts = pd.crosstab(county[chosen.notna()], chosen.dropna()).reindex(columns=list(STANDARDS), fill_value=0)
    majority = pd.Series(TIE, index=counts.index)
    majority[counts["nn"] > counts["nb"]] = "nn"
    return chosen.fillna(county.map(majority).fillna(TIE)).rename("standard")
