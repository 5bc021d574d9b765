"""Read and validate every input file of a plan into ``optimiser.data.PlanData``.

The national files live in ``data/`` (see ``data/README.md``); a plan's own
inputs (planner indicators, county recommendations, KS, municipal answers)
live in ``data/inputs/<plan>/``.  Nothing else in the project opens them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from optimiser.data import PlanData
from optimiser.plan import PLANNER_CRITERIA, Plan
from pipeline.errors import InputError
from pipeline.network_inputs import read_links
from pipeline.tables import Column, check_codes, fail_at, read_table

DATA_DIR = Path("data")

# Dataset name -> file under data/.  One place names the files.
CATALOG = {
    "population": "population_kommune_2020_2023.csv",
    "points": "kommune_points_2020.csv",
    "ba_regions": "ba_regioner_2020.csv",
    "schools": "videregaende_skoler_per_kommune_2022-12.csv",
    "centrality": "sentralitet_kostragruppe_kommune.csv",
    "history": "imdi_bosatte_flyktninger_2023_2024.csv",
    "adjacency": "kommune_adjacency_2020.csv",
    "water_pairs": "kommune_near_pairs_over_water_5km_2020.csv",
    "ferries": "ferry_links.csv",
}

POPULATION_COLUMN = re.compile(r"^pop_(\d{4})_01_01$")


def plan_inputs_dir(plan_name: str, data_dir: Path = DATA_DIR) -> Path:
    return Path(data_dir) / "inputs" / plan_name


def input_files(plan_name: str, data_dir: Path = DATA_DIR) -> list[Path]:
    """Every file the plan reads, in a stable order (for hashing and the manifest)."""
    files = [Path(data_dir) / name for name in CATALOG.values()]
    own = plan_inputs_dir(plan_name, data_dir)
    if own.is_dir():
        files += sorted(p for p in own.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files


def read_plan_data(plan: Plan, data_dir: Path = DATA_DIR) -> PlanData:
    data_dir = Path(data_dir)
    munis = _read_population(plan, data_dir / CATALOG["population"])
    codes = munis.index
    munis = munis.join(_read_points(data_dir / CATALOG["points"], codes))
    munis = munis.join(_read_ba_regions(data_dir / CATALOG["ba_regions"], codes))
    munis = munis.join(_read_schools(data_dir / CATALOG["schools"], codes))
    munis = munis.join(_read_centrality(data_dir / CATALOG["centrality"], codes))
    history = _read_history(plan, data_dir / CATALOG["history"], codes)
    indicators = _read_planner_indicators(plan, plan_inputs_dir(plan.name, data_dir), codes)
    links = read_links(*(data_dir / CATALOG[name] for name in ("adjacency", "water_pairs", "ferries")), codes)
    return PlanData(municipalities=munis, history=history, indicators=indicators, adjacency=links)


def _read_population(plan: Plan, path: Path) -> pd.DataFrame:
    header = _header(path)
    years = sorted(int(m.group(1)) for c in header if (m := POPULATION_COLUMN.match(c)))
    year = plan.population_year
    if year >= plan.year:
        raise InputError(f"{path}", f"population on 1 January {year} is not known before plan year {plan.year}",
                         "look-ahead; set criteria.population_lag_years >= 1")
    if year not in years:
        raise InputError(f"{path}:1", f"no column pop_{year}_01_01 for plan year {plan.year}",
                         f"years present: {', '.join(map(str, years))}")
    column = f"pop_{year}_01_01"
    frame = read_table(path, [
        Column("kommunenummer", "code"), Column("kommunenavn", "text"),
        Column("fylkesnummer", "text"), Column("fylkesnavn", "text"),
        Column(column, "int", minimum=1),
    ])
    return (frame.rename(columns={"kommunenavn": "kommune", "fylkesnummer": "fylke", column: "population"})
            .assign(population=lambda f: f["population"].astype("int64"))
            .set_index("kommunenummer").sort_index())


def _read_points(path: Path, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(path, [Column("kommunenummer", "code"),
                              Column("lon", "float", minimum=None), Column("lat", "float", minimum=None)])
    check_codes(frame, path, codes)
    return frame.set_index("kommunenummer")


def _read_ba_regions(path: Path, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(path, [Column("kommunenummer", "code"), Column("ba_region_nr", "text"),
                              Column("ba_region_navn", "text"), Column("reisetid_til_senter_min", "float")])
    check_codes(frame, path, codes)
    return (frame.rename(columns={"ba_region_nr": "ba_region", "ba_region_navn": "ba_region_name",
                                  "reisetid_til_senter_min": "minutes_to_region_centre"})
            .set_index("kommunenummer"))


def _read_schools(path: Path, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(path, [Column("kommunenummer", "code"), Column("vgs_aktive", "int")])
    check_codes(frame, path, codes)
    return (frame.rename(columns={"vgs_aktive": "schools"})
            .assign(schools=lambda f: f["schools"].astype("int64")).set_index("kommunenummer"))


def _read_centrality(path: Path, codes: pd.Index) -> pd.DataFrame:
    frame = read_table(path, [Column("kommunenummer", "code"), Column("sentralitetsklasse_ssb_1til6", "int", minimum=1)])
    check_codes(frame, path, codes)
    classes = frame["sentralitetsklasse_ssb_1til6"]
    if (classes > 6).any():
        fail_at(path, frame, classes > 6, "sentralitetsklasse_ssb_1til6", f"class {classes[classes > 6].iloc[0]} is not 1..6")
    return (frame.rename(columns={"sentralitetsklasse_ssb_1til6": "centrality_class"})
            .assign(centrality_class=lambda f: f["centrality_class"].astype("int64")).set_index("kommunenummer"))


def _read_history(plan: Plan, path: Path, codes: pd.Index) -> pd.DataFrame:
    """Refugees settled per municipality and year, strictly before the plan year.

    Later years in the same file are history for later plans and are dropped
    here, never used.  Suppressed cells (under 5) are read as 0: the figures
    are lower bounds, as IMDi publishes them.
    """
    frame = read_table(path, [
        Column("kommunenummer", "code"), Column("aar", "int", minimum=2000),
        Column("bosatte_ukrainere", "int"), Column("bosatte_ovrige_flyktninger", "int"),
        Column("bosatte_enslige_mindreaarige", "int", required=False),
    ], key=None)
    check_codes(frame, path, codes, complete=False)
    dup = frame.duplicated(["kommunenummer", "aar"])
    if dup.any():
        fail_at(path, frame, dup, "aar", f"second row for {frame['kommunenummer'][dup].iloc[0]} in {frame['aar'][dup].iloc[0]}")
    before = frame[frame["aar"] < plan.year]
    return pd.DataFrame({
        "kommunenummer": before["kommunenummer"].to_numpy(),
        "year": before["aar"].astype("int64").to_numpy(),
        "settled": (before["bosatte_ukrainere"] + before["bosatte_ovrige_flyktninger"]).astype("int64").to_numpy(),
    })


def _read_planner_indicators(plan: Plan, own_dir: Path, codes: pd.Index) -> dict[str, pd.Series]:
    """Optional ``indicators/<criterion>.csv``: kommunenummer, value, year (< plan year)."""
    found = {}
    folder = own_dir / "indicators"
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.csv")):
        if path.stem not in PLANNER_CRITERIA:
            raise InputError(str(path), f"unknown indicator {path.stem!r}",
                             f"name the file after one of: {', '.join(PLANNER_CRITERIA)}")
        frame = read_table(path, [Column("kommunenummer", "code"), Column("value", "float"),
                                  Column("year", "int", minimum=1900)])
        check_codes(frame, path, codes, complete=False)
        late = frame["year"] >= plan.year
        if late.any():
            fail_at(path, frame, late, "year",
                    f"indicator dated {frame['year'][late].iloc[0]} is not known before plan year {plan.year}",
                    "look-ahead; use figures from earlier years")
        found[path.stem] = frame.set_index("kommunenummer")["value"].astype(float)
    return found


def _header(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError(str(path), "file not found", "restore it from the repository or supply it")
    with path.open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")
