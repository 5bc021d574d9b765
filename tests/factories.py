"""Small, readable model instances for tests.

``make_inputs`` builds ``optimiser.model.ModelInputs`` from a few
municipalities: pass the targets and only the columns that matter to the
test; every other column of ``MODEL_COLUMNS`` gets the default below.  When
the model grows a column, add its neutral default to ``DEFAULTS`` here.

``make_plan`` and ``make_plan_data`` build a ``Plan`` and a ``PlanData`` for
tests that go through ``optimiser.criteria`` or ``optimiser.allocate``.
``write_config`` writes a changed copy of a real plan file for pipeline tests.
"""
from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from optimiser import model
from optimiser.data import PlanData
from optimiser.plan import CapacityRule, CriteriaConfig, Penalties, Plan, SolverConfig, SpreadConfig
from optimiser.solve import SolveResult, solve
from pipeline.inputs.national import national_files, read_plan_data
from pipeline.plans.inputs import PlanInputs, read_inputs
from pipeline.plans.resolve import resolve_plan
from pipeline.solvers import make_solvers

# Neutral default per model column: not binding unless a test says so.
# ``base_capacity`` defaults to the need (so capacity never binds).  The
# default's type is the column's dtype (NaN: float).
DEFAULTS = {
    "fylke": "01",
    "min_request": 0,
    "extra_capacity": 0,
    "lower_bound": 0,
    "eligible": True,
    "recommended": np.nan,
    "locked": False,
    "cap": np.nan,
    "health_cap": np.nan,
    "em_capacity": 0,
    "em_target": 0.0,
    "previous": np.nan,
}


def codes(n: int) -> list[str]:
    """``n`` kommunenummer-like codes in sorted order: 0001, 0002, ..."""
    return [f"{i + 1:04d}" for i in range(n)]


def make_inputs(
    target: Sequence[float],
    *,
    need: int | None = None,
    granularity: int = 1,
    county_minimum: dict[str, int] | None = None,
    penalties: Penalties | None = None,
    index: Sequence[str] | None = None,
    name: str = "test",
    **columns,
) -> model.ModelInputs:
    """ModelInputs for ``len(target)`` municipalities.

    Each keyword naming a model column (e.g. ``base_capacity=[30, 60]``,
    ``min_request=10``) is a scalar for all or one value per municipality;
    a keyword naming another ``ModelInputs`` field (e.g. ``em_need=5``) is
    passed through.  ``need`` defaults to the rounded sum of the targets;
    ``county_minimum`` to no minimum for any county present.
    """
    n = len(target)
    index = list(index) if index is not None else codes(n)
    need = int(round(sum(target))) if need is None else need
    defaults = {**DEFAULTS, "base_capacity": max(need, 1)}
    fields = {f.name for f in dataclasses.fields(model.ModelInputs)}
    passed = {k: columns.pop(k) for k in list(columns) if k in fields and k not in model.MODEL_COLUMNS}
    unknown = set(columns) - set(model.MODEL_COLUMNS)
    if unknown:
        raise TypeError(f"not a model column or ModelInputs field: {sorted(unknown)}")
    wanted = [c for c in model.MODEL_COLUMNS if c != "target"]
    missing = [c for c in wanted if c not in columns and c not in defaults]
    if missing:
        raise TypeError(f"tests/factories.py: no default for model column(s) {missing}; add one to DEFAULTS")
    frame = pd.DataFrame({"target": [float(t) for t in target]}, index=pd.Index(index, name="kommunenummer"))
    for column in wanted:
        value = columns.get(column, defaults[column])
        kind = _dtype(defaults[column])
        frame[column] = pd.Series(list(value) if _is_sequence(value) else [value] * n, index=frame.index, dtype=kind)
    frame = frame[list(model.MODEL_COLUMNS)]
    counties = sorted(frame["fylke"].unique())
    minimum = pd.Series({c: int((county_minimum or {}).get(c, 0)) for c in counties}, dtype=int)
    return model.ModelInputs(name=name, need=need, granularity=granularity, municipalities=frame,
                             county_minimum=minimum, penalties=penalties or Penalties(), **passed)


def solve_quietly(inputs: model.ModelInputs) -> tuple[pd.Series, SolveResult]:
    """Build and solve with HiGHS (no log, no console output); (requests, result).

    Requests are only meaningful when ``result.status.has_solution``.
    """
    v, result = solve_vars_quietly(inputs)
    return model.requests(v), result


def solve_vars_quietly(inputs: model.ModelInputs) -> tuple[model.ModelVars, SolveResult]:
    """As ``solve_quietly``, returning the solved variables (EM requests: ``model.em_requests``)."""
    prob, v = model.build_model(inputs)
    return v, solve(prob, make_solvers(SolverConfig()))


def make_plan(**overrides) -> Plan:
    """A small plan: need 100, minimum 10, population weight only, no spread minimum."""
    fields = {
        "name": "test",
        "year": 2022,
        "need_persons": 100,
        "minimum_request": 10,
        "criteria": CriteriaConfig(population_exponent=1.0, weights={"population": 1.0}),
        "capacity": CapacityRule(base_per_1000_inhabitants=3.0, extra_per_1000_inhabitants=3.0),
        "spread": SpreadConfig(min_county_share_of_target=0.0),
    }
    fields.update(overrides)
    return Plan(**fields)


def make_plan_data(population: Sequence[int], *, fylke: Sequence[str] | str = "01",
                   centrality_class: Sequence[int] | int = 3, history: pd.DataFrame | None = None,
                   indicators: dict | None = None, population_year: int = 2021) -> PlanData:
    """PlanData for ``len(population)`` municipalities (codes from ``codes``).

    ``history``: rows of ``kommunenummer``, ``year`` and any of ``requested``,
    ``decided``, ``settled`` (missing figures 0, no hidden cells); the
    population is on record for ``population_year``."""
    n = len(population)
    index = pd.Index(codes(n), name="kommunenummer")
    fylke = list(fylke) if _is_sequence(fylke) else [fylke] * n
    frame = pd.DataFrame({
        "kommune": [f"Kommune {c}" for c in index],
        "fylke": fylke,
        "fylkesnavn": [f"Fylke {f}" for f in fylke],
        "population": [int(p) for p in population],
        "centrality_class": list(centrality_class) if _is_sequence(centrality_class) else [centrality_class] * n,
    }, index=index)
    if history is not None:
        history = history.copy()
        for column in ("requested", "decided", "settled", "requested_hidden", "decided_hidden", "settled_hidden"):
            history[column] = history[column] if column in history else 0
        history["requested_original"] = float("nan")
    population_history = pd.DataFrame({"kommunenummer": index, "year": population_year,
                                       "population": [int(p) for p in population]})
    return PlanData(municipalities=frame, history=history if history is not None else pd.DataFrame(),
                    indicators=indicators or {}, population_history=population_history)


def make_access(data: PlanData, minutes_to_school: Sequence[float] | float = 0.0,
                reachable_population: Sequence[float] | None = None) -> pd.DataFrame:
    """Access frame as ``optimiser.network`` returns it (school in every municipality by default)."""
    index = data.codes
    minutes = list(minutes_to_school) if _is_sequence(minutes_to_school) else [minutes_to_school] * len(index)
    reach = (list(reachable_population) if reachable_population is not None
             else data.municipalities["population"].astype(float).tolist())
    return pd.DataFrame({"minutes_to_school": minutes, "reachable_population": reach}, index=index, dtype=float)


def write_config(folder: Path, change: Callable[[dict], None] | None = None, plan: str = "2022",
                 source: Path = Path("config")) -> Path:
    """Copy ``<source>/<plan>.yaml`` into ``folder`` after ``change(raw)`` edits the parsed YAML,
    with the calibrated configs beside it (a plan may name one)."""
    raw = copy.deepcopy(yaml.safe_load((Path(source) / f"{plan}.yaml").read_text(encoding="utf-8")))
    if change is not None:
        change(raw)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for calibrated in Path(source).glob("calibrated-*.yaml"):
        if not (folder / calibrated.name).exists():
            (folder / calibrated.name).write_bytes(calibrated.read_bytes())
    path = folder / f"{plan}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def national_data(plan: Plan, data_dir: Path = Path("data")) -> PlanData:
    """The real national inputs (population, points, regions, schools, links) read for ``plan``."""
    return read_plan_data(plan, national_files(data_dir), data_dir)


def real_inputs(plan: str = "2022", config_dir: Path = Path("config"), data_dir: Path = Path("data")) -> PlanInputs:
    """Every input of a shipped (or copied) plan, as a run reads them."""
    return read_inputs(resolve_plan(plan, config_dir, data_dir))


def replace(obj, **changes):
    """``dataclasses.replace`` for frozen config objects (readability in tests)."""
    return dataclasses.replace(obj, **changes)


def _dtype(default):
    if isinstance(default, (bool, np.bool_)):
        return bool
    if isinstance(default, (int, np.integer)):
        return int
    if isinstance(default, str):
        return str
    return float


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series))
