"""Where a run's input files live: one place names them.

The national files live in ``data/`` (see ``data/README.md``); a plan's own
inputs (planner indicators, county recommendations, KS, municipal answers,
re-plan status) live in ``data/inputs/<plan>/``.  Every path is checked to
stay inside the data folder after links are followed, so no setting can make
a run read a file elsewhere.

Placement files in a plan's folder (``arrivals*.csv``, ``placement_ledger.csv``)
belong to the placements made against the plan, not to the plan: they are
left out of the plan's inputs, so a new batch of arrivals or an updated
ledger never changes the plan's fingerprint or re-runs its allocation.
"""
from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

from pipeline.errors import InputError

DATA_DIR = Path("data")
INPUTS_DIR = "inputs"

# Dataset name -> file under data/.
CATALOG = {
    "population": "population_kommune_2020_2023.csv",
    "points": "kommune_points_2020.csv",
    "ba_regions": "ba_regioner_2020.csv",
    "schools": "videregaende_skoler_per_kommune_2022-12.csv",
    "centrality": "sentralitet_kostragruppe_kommune.csv",
    "history": "imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv",
    "population_early": "population_kommune_2014_2019.csv",
    "refugees": "imdi_innvandrere_etter_innvandringsgrunn_2006_2021.csv",
    "requests_2024": "imdi_anmodning_vedtak_2024.csv",
    "adjacency": "kommune_adjacency_2020.csv",
    "water_pairs": "kommune_near_pairs_over_water_5km_2020.csv",
    "ferries": "ferry_links.csv",
    # The report's map.
    "municipality_shapes": "kommuner_2020_forenkla.geojson",
    "county_shapes": "fylker_2020_forenkla.geojson",
}
# The files the transport network is built from (its cache key hashes only these).
NETWORK_DATASETS = ("population", "points", "ba_regions", "schools", "adjacency", "water_pairs", "ferries")
# In data/inputs/<plan>/: what has been settled and assigned since the plan (pipeline.inputs.arrivals).
PLACEMENT_LEDGER = "placement_ledger.csv"
# Files directly in data/inputs/<plan>/ that placements read and the plan does not.
PLACEMENT_FILES = ("arrivals*.csv", PLACEMENT_LEDGER)


def national_path(name: str, data_dir: Path = DATA_DIR) -> Path:
    return Path(data_dir) / CATALOG[name]


def plan_inputs_dir(plan_name: str, data_dir: Path = DATA_DIR) -> Path:
    return Path(data_dir) / INPUTS_DIR / plan_name


def inside(path: Path, root: Path, where: str, what: str) -> Path:
    """``path`` itself if, with links followed, it lies inside ``root``; else an input error."""
    if not Path(path).resolve().is_relative_to(Path(root).resolve()):
        raise InputError(where, f"{what} {path} lies outside {root}",
                         "give a plain name or a path inside that folder")
    return Path(path)


def plan_input_paths(plan_name: str, data_dir: Path = DATA_DIR) -> list[Path]:
    """Every file under ``data/inputs/<plan>/`` (hidden files left out), in a stable order."""
    folder = plan_inputs_dir(plan_name, data_dir)
    if not folder.is_dir():
        return []
    inside(folder, data_dir, str(folder), "the plan's input folder")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts) and not is_placement_file(p, folder))
    return [inside(p, data_dir, str(p), "input file") for p in files]


def is_placement_file(path: Path, folder: Path) -> bool:
    """A file directly in a plan's input folder that placements read, not the plan."""
    return Path(path).parent == Path(folder) and any(fnmatch(Path(path).name, p) for p in PLACEMENT_FILES)
