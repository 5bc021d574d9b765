"""IMDi's real requests of the year before a plan's year, for the report's comparison.

``data/imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv`` holds IMDi's request
(``anmodning``), the council decision (``vedtak``) and the refugees settled
(``bosatt``) per municipality and year.  A plan for year Y reads year Y-1 only:
never its own year (that is what the plan is judged against) nor a later one.
Values may be fractional where a municipality that was split is shared out
(``split_fordelt``).
"""
from __future__ import annotations

import pandas as pd

from pipeline.inputs.source import Source
from pipeline.inputs.tables import MAX_PERSONS, Column, read_by_year

FIRST_YEAR, LAST_YEAR = 2000, 2100


def read_previous_year(source: Source, plan_year: int, codes: pd.Index) -> pd.DataFrame | None:
    """Requests, decisions and settled of ``plan_year - 1`` by kommunenummer (every code of
    ``codes``), or None when the file has no row for that year."""
    frame = read_by_year(source, [
        Column("aar", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR), Column("kommunenummer", "code"),
        Column("anmodning", "float", maximum=MAX_PERSONS), Column("vedtak", "float", required=False, maximum=MAX_PERSONS),
        Column("bosatt", "float", maximum=MAX_PERSONS),
    ], codes)
    year = plan_year - 1
    rows = frame[frame["aar"] == year]
    if rows.empty:
        return None
    out = pd.DataFrame({"requested": rows["anmodning"].astype(float).to_numpy(),
                        "decided": rows["vedtak"].astype(float).to_numpy(),
                        "settled": rows["bosatt"].astype(float).to_numpy()},
                       index=pd.Index(rows["kommunenummer"], name="kommunenummer"))
    return out.reindex(codes)
