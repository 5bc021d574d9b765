"""Transport network: travel times, regional access and a reasonable distance.

``access_from_commuting_regions`` derives access from the real commuting
regions (BA-regions 2020): a municipality reaches the labour market of its
region, and an upper-secondary school at the travel time to the region
centre when its region has one.
"""
from __future__ import annotations

import pandas as pd


def access_from_commuting_regions(municipalities: pd.DataFrame) -> pd.DataFrame:
    """Per municipality: ``minutes_to_school`` and ``reachable_population``.

    minutes_to_school: 0 with a school of its own; else the real travel time
    to the region centre if the region has a school; else infinite.
    reachable_population: population of the commuting region.
    """
    m = municipalities
    region_pop = m.groupby("ba_region")["population"].transform("sum")
    region_has_school = m.groupby("ba_region")["schools"].transform("sum") > 0
    minutes = m["minutes_to_region_centre"].where(region_has_school, float("inf")).where(m["schools"] == 0, 0.0)
    return pd.DataFrame({"minutes_to_school": minutes.astype(float),
                         "reachable_population": region_pop.astype(float)}, index=m.index)
