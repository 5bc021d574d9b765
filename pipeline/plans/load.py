"""Read a plan's YAML files into the frozen ``optimiser.plan.Plan``.

A plan is ``config/<name>.yaml``.  ``extends: <base>`` starts from the base
plan's file (mappings merge key by key, lists are replaced) and
``criteria.calibration: <name>`` takes the exponent and weights from a
calibrated file beside it.  Every name taken from a file or the command
line is a plain name (letters, digits, ``-``, ``_``, ``.`` not first) and
every file it leads to must lie inside the config folder, so no setting can
make a run read or write elsewhere.  Unknown keys, missing keys, wrongly
typed values and implausible numbers are errors naming the file and the key
path (``config/2022.yaml: criteria.weights.foo: unknown key``).
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

from optimiser.bands import Bands
from optimiser.place import params_from
from optimiser.plan import ALL_CRITERIA, Plan
from optimiser.reallocate import POLICIES
from pipeline.errors import InputError
from pipeline.inputs.catalog import inside
from pipeline.inputs.source import Source
from pipeline.inputs.yamlfile import build_dataclass

CONFIG_DIR = Path("config")
NAME_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
WEIGHT_SUM_TOLERANCE = 1e-9
MAX_NEED = 1_000_000  # persons in one year; the largest real need (2022-03) was 35,000
MAX_MINUTES = 24 * 60
MAX_CAPACITY_FACTOR = 10.0  # every municipality's capacity times this, at most

# path -> (the file, its parsed YAML): each file read and parsed once per resolution.
Parser = Callable[[Path], tuple[Source, object]]


def check_name(name, where: str, what: str = "plan name") -> str:
    """``name`` if it is a plain name; an input error otherwise."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(where, f"{what} {name!r} is not a plain name",
                         "use letters, digits, '-', '_' and '.' (not first), no folders")
    return name


def plan_path(name: str, config_dir: Path = CONFIG_DIR, where: str = "--plan", what: str = "plan name") -> Path:
    """``<config_dir>/<name>.yaml`` for a plain ``name`` that stays inside ``config_dir``."""
    path = Path(config_dir) / f"{check_name(name, where, what)}.yaml"
    return inside(path, config_dir, where, f"{what} {name!r}:")


def read_chain(name: str, config_dir: Path, parse: Parser) -> list[tuple[Source, dict]]:
    """(file, its YAML) for plan ``name`` and the plans it extends, nearest first."""
    chain: list[tuple[Source, dict]] = []
    names = [name]
    where, what = "--plan", "plan name"
    while True:
        path = plan_path(names[-1], config_dir, where, what)
        if not path.is_file():
            raise InputError(where if chain else str(path),
                             f"base plan {names[-1]!r} not found ({path})" if chain else "plan file not found",
                             "" if chain else "create it or pass an existing --plan")
        source, raw = parse(path)
        if not isinstance(raw, dict):
            raise InputError(str(path), "expected a mapping at the top level")
        if "name" in raw and str(raw["name"]) != names[-1]:
            raise InputError(f"{path}:name", f"{raw['name']!r} is not the file's own name {names[-1]!r}",
                             "remove the key or make it equal to the file name")
        chain.append((source, raw))
        if "extends" not in raw:
            return chain
        where, what = f"{path}:extends", "base plan"
        base = check_name(raw["extends"], where, what)
        if base in names:
            raise InputError(where, f"plans extend each other in a circle through {base!r}")
        names.append(base)


def merge_chain(chain: list[tuple[Source, dict]]) -> dict:
    """One raw plan from a chain (nearest first): each file's keys replace its base's."""
    merged: dict = {}
    for _, raw in reversed(chain):
        merged = merge(merged, {k: v for k, v in raw.items() if k not in ("extends", "name")})
    return merged


def merge(base: dict, own: dict) -> dict:
    out = dict(base)
    for key, value in own.items():
        out[key] = merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def calibration_name(raw) -> str | None:
    criteria = raw.get("criteria") if isinstance(raw, dict) else None
    if not isinstance(criteria, dict) or criteria.get("calibration") is None:
        return None
    return str(criteria["calibration"])


def check_calibration_keys(chain: list[tuple[Source, dict]]) -> None:
    """A file must not set exponent or weights beside a calibration that applies to it."""
    merged = merge_chain(chain)
    if calibration_name(merged) is None:
        return
    source, own = chain[0]
    own_criteria = own.get("criteria") if isinstance(own.get("criteria"), dict) else {}
    for key in ("population_exponent", "weights", "history_damping"):
        if key in own_criteria:
            hint = (f"remove criteria.{key} or criteria.calibration; a plan takes them from one place"
                    if "calibration" in own_criteria else
                    "the plan this one extends sets criteria.calibration; add calibration: null here to use your own")
            raise InputError(str(source.path), f"criteria.{key}: set both here and by criteria.calibration", hint)


def build_plan(name: str, raw: dict, where: str) -> Plan:
    plan = build_dataclass(Plan, {**raw, "name": name}, where, "")
    check_plan(plan, where)
    return plan


def plan_to_dict(plan: Plan) -> dict:
    """The resolved plan as plain data (for the manifest and hashing)."""
    return json.loads(json.dumps(dataclasses.asdict(plan), default=list, sort_keys=True))


def check_plan(plan: Plan, where: str) -> None:
    """Range checks that the type system cannot express."""
    def bad(key, what):
        raise InputError(where, f"{key}: {what}")

    if not 0 <= plan.need_persons <= MAX_NEED:
        bad("need_persons", f"must be between 0 and {MAX_NEED}, got {plan.need_persons}")
    if not 0 <= plan.minimum_request <= max(plan.need_persons, 1):
        bad("minimum_request", f"must be between 0 and the need, got {plan.minimum_request}")
    if not 1 <= plan.granularity_persons <= max(plan.need_persons, 1):
        bad("granularity_persons", f"must be between 1 and the need, got {plan.granularity_persons}")
    if plan.need_persons % plan.granularity_persons:
        bad("need_persons", f"{plan.need_persons} is not a multiple of granularity_persons "
            f"{plan.granularity_persons}; no allocation can sum to it")
    _check_criteria(plan, bad)
    if not 0 <= plan.spread.min_county_share_of_target <= 1:
        bad("spread.min_county_share_of_target", "must be between 0 and 1")
    _check_solver(plan, bad)
    _check_penalties(plan, bad)
    if plan.submissions.recommendation_mode not in ("soft", "lock"):
        bad("submissions.recommendation_mode", "use soft or lock")
    if not 0 <= plan.submissions.complex_health_share < 1:
        bad("submissions.complex_health_share", "must be at least 0 and below 1")
    if not 0 < plan.network.reasonable_travel_minutes <= MAX_MINUTES:
        bad("network.reasonable_travel_minutes", f"must be positive and at most {MAX_MINUTES} (a day)")
    if plan.capacity.base_per_1000_inhabitants < 0 or plan.capacity.extra_per_1000_inhabitants < 0:
        bad("capacity", "persons per 1,000 inhabitants must be >= 0")
    if not 0 < plan.capacity.factor <= MAX_CAPACITY_FACTOR:
        bad("capacity.factor", f"must be above 0 and at most {MAX_CAPACITY_FACTOR:g}, got {plan.capacity.factor:g}")
    em = plan.unaccompanied_minors
    if em is not None and not 0 <= em.placed_by_bufetat_persons <= em.total_persons <= plan.need_persons + \
            em.placed_by_bufetat_persons:
        bad("unaccompanied_minors", "need 0 <= placed_by_bufetat_persons <= total_persons, and the municipal "
            "part within the national need")
    if em is not None and em.minimum_request < 0:
        bad("unaccompanied_minors.minimum_request", "must be >= 0")
    if plan.replan is not None and plan.replan.shortfall_outside_reach < 0:
        bad("replan.shortfall_outside_reach", "must be >= 0")
    _check_placement(plan, bad)


def _check_placement(plan: Plan, bad) -> None:
    cfg = plan.placement
    if cfg.outcome is not None and cfg.outcome not in ALL_CRITERIA:
        bad("placement.outcome", f"unknown criterion {cfg.outcome!r}; known: {', '.join(ALL_CRITERIA)}")
    if cfg.outcome is None and cfg.outcome_weight > 0:
        bad("placement.outcome_weight", "is set but placement.outcome names no criterion")
    if problem := params_from(cfg, plan.network.reasonable_travel_minutes).check():
        bad("placement", problem)


def _check_criteria(plan: Plan, bad) -> None:
    weights = plan.criteria.weights
    for name, weight in weights.items():
        if name not in ALL_CRITERIA:
            bad(f"criteria.weights.{name}", f"unknown criterion; known: {', '.join(ALL_CRITERIA)}")
        if not 0 <= weight <= 1:
            bad(f"criteria.weights.{name}", f"weight must be between 0 and 1, got {weight}")
    if abs(sum(weights.values()) - 1) > WEIGHT_SUM_TOLERANCE:
        bad("criteria.weights", f"sum to {sum(weights.values()):.12g}, not 1 (within {WEIGHT_SUM_TOLERANCE:g})")
    if not 0 < plan.criteria.population_exponent <= 1.5:
        bad("criteria.population_exponent", "must be in (0, 1.5]")
    if not 0 <= plan.criteria.history_damping <= 5:
        bad("criteria.history_damping", "must be between 0 and 5")
    if not 1 <= plan.criteria.population_lag_years <= 10:
        bad("criteria.population_lag_years", "must be between 1 and 10 (look-ahead below 1)")


def _check_solver(plan: Plan, bad) -> None:
    s = plan.solver
    if s.name not in ("highs", "cbc"):
        bad("solver.name", f"unknown solver {s.name!r}; use highs or cbc")
    if s.fallback not in (None, "highs", "cbc"):
        bad("solver.fallback", f"unknown solver {s.fallback!r}; use highs, cbc or null")
    if not 0 < s.time_limit_seconds <= 24 * 3600:
        bad("solver.time_limit_seconds", f"must be positive and at most a day, got {s.time_limit_seconds:g}")
    if not 0 <= s.mip_rel_gap < 1:
        bad("solver.mip_rel_gap", f"must be at least 0 and below 1, got {s.mip_rel_gap:g}")
    if not 1 <= s.threads <= 256:
        bad("solver.threads", f"must be between 1 and 256, got {s.threads}")
    if s.node_limit is not None and (isinstance(s.node_limit, bool) or not isinstance(s.node_limit, int)
                                     or s.node_limit < 0):
        bad("solver.node_limit", f"must be a whole number of nodes, at least 0, or null; got {s.node_limit!r}")


def _check_penalties(plan: Plan, bad) -> None:
    pen = plan.penalties
    for field in dataclasses.fields(pen):
        value = getattr(pen, field.name)
        if isinstance(value, (int, float)) and value < 0:
            bad(f"penalties.{field.name}", f"must be >= 0, got {value:g}")
        if isinstance(value, Bands) and (problem := value.check()):
            bad(f"penalties.{field.name}", problem)
    top = max(pen.bands.prices) if pen.bands.prices else 1.0
    floor = 2 * top * (pen.deviation_from_target + pen.deviation_from_recommendation)
    if pen.extra_capacity <= floor:
        bad("penalties.extra_capacity", f"must exceed 2 * the dearest band price * (deviation_from_target + "
            f"deviation_from_recommendation) = {floor:g}, or extra capacity may be used while base capacity is left")
    if plan.replan is not None and plan.replan.policy not in POLICIES:
        bad("replan.policy", f"unknown policy {plan.replan.policy!r}; use {' or '.join(POLICIES)}")
