"""Read and validate the national input files of a plan into ``optimiser.data.PlanData``.

Every file comes from the run's ``FileSet`` (read and hashed once when the
plan was resolved); nothing here opens a file.  Each column is declared with
its type and plausible range.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimiser.data import PlanData
from optimiser.plan import PLANNER_CRITERIA, Plan
from pipeline.errors import InputError
from pipeline.inputs.catalog import CATALOG, national_path, plan_inputs_dir
from pipeline.inputs.history import (
    population_years,
    read_population_history,
    read_refugees,
    read_settlement_history,
)
from pipeline.inputs.links import read_links
from pipeline.inputs.source import FileSet, Source
from pipeline.inputs.tables import (
    LAT_RANGE,
    LON_RANGE,
    MAX_MINUTES,
    MAX_POPULATION,
    Column,
    check_codes,
    fail_at,
    read_table,
)

MAX_SCHOOLS = 100  # active upper-secondary schools in one municipality (Oslo has about 60)
FIRST_YEAR, LAST_YEAR = 1900, 2100


def national_files(data_dir: Path) -> FileSet:
    """The national files alone (commands that write a plan's own inputs read only these)."""
    return FileSet(Source.read(national_path(name, data_dir)) for name in CATALOG)


def read_plan_data(plan: Plan, files: FileSet, data_dir: Path) -> PlanData:
    """The national data of ``plan``.  Of the plan it reads only the name (its
    indicator folder), the year and the population year: the key under which
    ``pipeline.plans.inputs.plan_data`` shares the result between plans."""
    def source(name: str) -> Source:
        return files.get_source(national_path(name, data_dir))

    population_files = [source("population"), source("population_early")]
    munis = _read_municipalities(plan, population_files)
    codes = munis.index
    munis = munis.join(_read_points(source("points"), codes))
    munis = munis.join(_read_ba_regions(source("ba_regions"), codes))
    munis = munis.join(_read_schools(source("schools"), codes))
    munis = munis.join(_read_centrality(source("centrality"), codes))
    indicators = _read_planner_indicators(plan, files, plan_inputs_dir(plan.name, data_dir), codes)
    links = read_links(source("adjacency"), source("water_pairs"), source("ferries"), codes)
    return PlanData(municipalities=munis, history=read_settlement_history(source("history"), codes, plan.year),
                    indicators=indicators, adjacency=links,
                    population_history=read_population_history(population_files[::-1], codes, plan.year),
                    refugees=read_refugees(source("refugees"), codes, plan.year))


def _read_municipalities(plan: Plan, sources: list[Source]) -> pd.DataFrame:
    """Name, county and the population on 1 January of the plan's population
    year, from whichever population file holds that year (the first file
    names the municipalities and their counties)."""
    year = plan.population_year
    main = sources[0]
    if year >= plan.year:
        raise InputError(f"{main.path}", f"population on 1 January {year} is not known before plan year {plan.year}",
                         "look-ahead; set criteria.population_lag_years >= 1")
    holding = [s for s in sources if year in population_years(s)]
    if not holding:
        present = sorted({y for s in sources for y in population_years(s)})
        raise InputError(f"{main.path}:1", f"no column pop_{year}_01_01 for plan year {plan.year}",
                         f"years present: {', '.join(map(str, present)) or 'none'}")
    names = read_table(main, [Column("kommunenummer", "code"), Column("kommunenavn", "text"),
                              Column("fylkesnummer", "text"), Column("fylkesnavn", "text")])
    names = (names.rename(columns={"kommunenavn": "kommune", "fylkesnummer": "fylke"})
             .set_index("kommunenummer").sort_index())
    column = f"pop_{year}_01_01"
    counts = read_table(holding[0], [Column("kommunenummer", "code"),
                                     Column(column, "int", minimum=1, maximum=MAX_POPULATION)])
    check_codes(counts, holding[0].path, names.index)
    population = counts.set_index("kommunenummer")[column].astype("int64").rename("population")
    return names.join(population)


def _read_points(source: Source, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(source, [Column("kommunenummer", "code"),
                                Column("lon", "float", minimum=LON_RANGE[0], maximum=LON_RANGE[1]),
                                Column("lat", "float", minimum=LAT_RANGE[0], maximum=LAT_RANGE[1])])
    check_codes(frame, source.path, codes)
    return frame.set_index("kommunenummer")


def _read_ba_regions(source: Source, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(source, [Column("kommunenummer", "code"), Column("ba_region_nr", "text"),
                                Column("ba_region_navn", "text"),
                                Column("reisetid_til_senter_min", "float", maximum=MAX_MINUTES)])
    check_codes(frame, source.path, codes)
    return (frame.rename(columns={"ba_region_nr": "ba_region", "ba_region_navn": "ba_region_name",
                                  "reisetid_til_senter_min": "minutes_to_region_centre"})
            .set_index("kommunenummer"))


def _read_schools(source: Source, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(source, [Column("kommunenummer", "code"), Column("vgs_aktive", "int", maximum=MAX_SCHOOLS)])
    check_codes(frame, source.path, codes)
    return (frame.rename(columns={"vgs_aktive": "schools"})
            .assign(schools=lambda f: f["schools"].astype("int64")).set_index("kommunenummer"))


def _read_centrality(source: Source, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(source, [Column("kommunenummer", "code"),
                                Column("sentralitetsklasse_ssb_1til6", "int", minimum=1, maximum=6)])
    check_codes(frame, source.path, codes)
    return (frame.rename(columns={"sentralitetsklasse_ssb_1til6": "centrality_class"})
            .assign(centrality_class=lambda f: f["centrality_class"].astype("int64")).set_index("kommunenummer"))


def _read_planner_indicators(plan: Plan, files: FileSet, own_dir: Path, codes: pd.Index) -> dict[str, pd.Series]:
    """Optional ``indicators/<criterion>.csv``: kommunenummer, value, year (< plan year)."""
    found = {}
    for source in files.under(own_dir / "indicators", ".csv"):
        path = source.path
        if path.stem not in PLANNER_CRITERIA:
            raise InputError(str(path), f"unknown indicator {path.stem!r}",
                             f"name the file after one of: {', '.join(PLANNER_CRITERIA)}")
        frame = read_table(source, [Column("kommunenummer", "code"), Column("value", "float"),
                                    Column("year", "int", minimum=FIRST_YEAR, maximum=LAST_YEAR)])
        check_codes(frame, path, codes, complete=False)
        late = frame["year"] >= plan.year
        if late.any():
            fail_at(path, frame, late, "year",
                    f"indicator dated {frame['year'][late].iloc[0]} is not known before plan year {plan.year}",
                    "look-ahead; use figures from earlier years")
        found[path.stem] = frame.set_index("kommunenummer")["value"].astype(float)
    return found
