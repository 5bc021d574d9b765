"""Calibrated criteria files (``config/calibrated-<year>.yaml``): written by
``python -m pipeline calibrate``, read by plans that name them in
``criteria.calibration``.  Written and read through the same dataclasses."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from optimiser.plan import ALL_CRITERIA
from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.yamlfile import build_dataclass, read_yaml
from pipeline.plans.load import WEIGHT_SUM_TOLERANCE, plan_path


@dataclass(frozen=True)
class CalibratedCriteria:
    population_exponent: float
    weights: Mapping[str, float]
    history_damping: float = 0.0


@dataclass(frozen=True)
class Provenance:
    years: tuple[int, ...]
    date: str
    base_plan: str
    requests_files: Mapping[str, str]  # file -> SHA-256
    method: str
    exponent_grid: str
    dampings: tuple[float, ...]
    coarse_every: int
    municipalities_fitted: Mapping[str, int]  # year -> municipalities with a real request
    excluded_criteria: tuple[str, ...]
    left_out_as_look_ahead: tuple[str, ...]


@dataclass(frozen=True)
class Practice:
    minimum_request: int
    share_at_least_10: float
    granularity_persons: int
    granularity_share: float
    asked: int
    not_asked: int


@dataclass(frozen=True)
class Figures:
    wape: float
    spearman: float


@dataclass(frozen=True)
class FitSummary:
    folds: int
    in_sample: Figures
    kfold: Figures
    leave_one_year_out: Figures | None
    per_year_wape: Mapping[str, float]


@dataclass(frozen=True)
class CalibrationFile:
    calibration: Provenance
    criteria: CalibratedCriteria
    practice: Mapping[str, Practice]  # year -> the practice seen in its real requests
    fit: FitSummary


def calibration_path(name: str, config_dir: Path, where: str) -> Path:
    """``<config_dir>/<name>.yaml``, which must exist; ``name`` is a plain file stem."""
    path = plan_path(name, config_dir, where, "criteria.calibration")
    if not path.is_file():
        raise InputError(str(path), "calibration file not found",
                         "run make calibrate YEAR=<year> or name an existing calibration in criteria.calibration")
    return path


def parse_calibration(source: Source, raw) -> CalibrationFile:
    """A calibrated config (``raw``: its parsed YAML), strictly validated; errors name the file and key."""
    where = str(source.path)
    cal = build_dataclass(CalibrationFile, raw, where)
    weights = cal.criteria.weights
    for name, weight in weights.items():
        if name not in ALL_CRITERIA:
            raise InputError(where, f"criteria.weights.{name}: unknown criterion", f"known: {', '.join(ALL_CRITERIA)}")
        if not 0 <= weight <= 1:
            raise InputError(where, f"criteria.weights.{name}: must be between 0 and 1, got {weight}")
    if abs(sum(weights.values()) - 1) > WEIGHT_SUM_TOLERANCE:
        raise InputError(where, f"criteria.weights: sum to {sum(weights.values()):.12g}, not 1",
                         "re-run the calibration instead of editing it")
    if not 0 < cal.criteria.population_exponent <= 1.5:
        raise InputError(where, "criteria.population_exponent: must be in (0, 1.5]")
    if not 0 <= cal.criteria.history_damping <= 5:
        raise InputError(where, "criteria.history_damping: must be between 0 and 5")
    return cal


def read_calibration(path: Path) -> CalibrationFile:
    source = Source.read(path)
    return parse_calibration(source, read_yaml(source))


def calibration_to_dict(cal: CalibrationFile) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(cal), default=list))
