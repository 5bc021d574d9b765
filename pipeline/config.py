"""Read a plan's YAML once into the frozen ``optimiser.plan.Plan``.

Unknown keys, missing keys and wrongly typed values are errors that name the
file and the key path (``config/2022.yaml: criteria.weights.foo: unknown key``).
"""
from __future__ import annotations

import collections.abc
import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path

import yaml

from optimiser.plan import ALL_CRITERIA, Plan
from pipeline.errors import InputError

CONFIG_DIR = Path("config")


def plan_path(plan_name: str, config_dir: Path = CONFIG_DIR) -> Path:
    return Path(config_dir) / f"{plan_name}.yaml"


def load_plan(path: Path) -> Plan:
    """Parse ``path`` into a ``Plan``; raise ``InputError`` naming the key path."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "plan file not found", "create it or pass an existing --plan")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML: {exc}".replace("\n", " ")) from exc
    if not isinstance(raw, dict):
        raise InputError(str(path), "expected a mapping at the top level")
    own = raw
    raw = _extend(raw, path, seen=(path.resolve(),))
    raw = _include_calibration(raw, own, path)
    plan = build_dataclass(Plan, raw, str(path), "")
    _check_plan(plan, str(path))
    return plan


def _extend(raw: dict, path: Path, seen: tuple) -> dict:
    """``extends: <name>`` starts from ``<name>.yaml`` beside this file; keys
    here replace the base's (mappings merge key by key, lists are replaced)."""
    if "extends" not in raw:
        return raw
    base_name = raw["extends"]
    base_path = path.parent / f"{base_name}.yaml"
    if not base_path.is_file():
        raise InputError(f"{path}:extends", f"base plan {base_name!r} not found ({base_path})")
    if base_path.resolve() in seen:
        raise InputError(f"{path}:extends", f"plans extend each other in a circle through {base_name!r}")
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    if not isinstance(base, dict):
        raise InputError(str(base_path), "expected a mapping at the top level")
    base = _extend(base, base_path, seen + (base_path.resolve(),))
    own = {k: v for k, v in raw.items() if k != "extends"}
    return _merge(base, own)


def _merge(base: dict, own: dict) -> dict:
    merged = dict(base)
    for key, value in own.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return merged


def _include_calibration(raw: dict, own: dict, path: Path) -> dict:
    """``criteria.calibration: <name>`` takes the exponent and weights from
    ``<name>.yaml`` beside the plan.  ``raw`` is the plan after ``extends``,
    ``own`` the file itself: a file must not set both, and its calibration
    replaces exponent and weights inherited from the plan it extends."""
    name = _calibration_name(raw)
    if name is None:
        return raw
    own_criteria = own.get("criteria") if isinstance(own.get("criteria"), dict) else {}
    for key in ("population_exponent", "weights"):
        if key in own_criteria:
            hint = (f"remove criteria.{key} or criteria.calibration; a plan takes them from one place"
                    if "calibration" in own_criteria else
                    "the plan this one extends sets criteria.calibration; add calibration: null here to use your own")
            raise InputError(str(path), f"criteria.{key}: set both here and by criteria.calibration", hint)
    from pipeline.calibration import calibration_path, read_calibration  # that module imports this one
    calibrated = read_calibration(calibration_path(name, path.parent, str(path))).criteria
    return {**raw, "criteria": {**raw["criteria"], "population_exponent": calibrated.population_exponent,
                                "weights": dict(calibrated.weights)}}


def _calibration_name(raw) -> str | None:
    criteria = raw.get("criteria") if isinstance(raw, dict) else None
    if not isinstance(criteria, dict) or criteria.get("calibration") is None:
        return None
    return str(criteria["calibration"])


def extends_chain(path: Path) -> list[tuple[Path, dict]]:
    """(file, its YAML) for a plan file and the plans it ``extends``, nearest
    first.  Lenient: the chain ends at a file that is missing, unreadable or
    already seen; ``load_plan`` reports those problems."""
    path = Path(path)
    chain: list[tuple[Path, dict]] = []
    seen: set[Path] = set()
    while path.is_file() and path.resolve() not in seen:
        seen.add(path.resolve())
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            break
        if not isinstance(raw, dict):
            break
        chain.append((path, raw))
        if "extends" not in raw:
            break
        path = path.parent / f"{raw['extends']}.yaml"
    return chain


def included_files(path: Path) -> list[Path]:
    """Files a plan file pulls in (the plans it extends, calibrations), for the run's fingerprint."""
    files: list[Path] = []
    for i, (file, raw) in enumerate(extends_chain(path)):
        if i > 0:
            files.append(file)
        name = _calibration_name(raw)
        if name is not None:
            from pipeline.calibration import calibration_path  # that module imports this one
            files.append(calibration_path(name, file.parent, str(file)))
    return files


def plan_to_dict(plan: Plan) -> dict:
    """The resolved plan as plain data (for the manifest and hashing)."""
    return json.loads(json.dumps(dataclasses.asdict(plan), default=list, sort_keys=True))


def plan_hash(plan: Plan) -> str:
    text = json.dumps(plan_to_dict(plan), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def build_dataclass(cls, raw, where: str, keypath: str = ""):
    """Fill the frozen dataclass ``cls`` from ``raw``; unknown, missing or
    wrongly typed keys raise ``InputError`` naming ``where`` and the key path."""
    if not isinstance(raw, dict):
        raise InputError(where, f"{keypath or 'top level'}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise InputError(where, f"{_join(keypath, unknown[0])}: unknown key",
                         f"known keys here: {', '.join(sorted(fields))}")
    values = {}
    for name, f in fields.items():
        key = _join(keypath, name)
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InputError(where, f"{key}: missing key")
            continue
        values[name] = _coerce(hints[name], raw[name], where, key)
    return cls(**values)


def _coerce(tp, value, where: str, key: str):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(inner, value, where, key)
    if dataclasses.is_dataclass(tp):
        return build_dataclass(tp, value, where, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise InputError(where, f"{key}: expected a list")
        return tuple(_coerce(args[0], v, where, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, dict):
            raise InputError(where, f"{key}: expected a mapping")
        return {str(k): _coerce(args[1], v, where, _join(key, str(k))) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise InputError(where, f"{key}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(where, f"{key}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(where, f"{key}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise InputError(where, f"{key}: expected text, got {value!r}")
        return str(value)
    raise TypeError(f"unsupported config type {tp!r} at {key}")


def _check_plan(plan: Plan, where: str) -> None:
    """Range checks that the type system cannot express."""
    def bad(key, what):
        raise InputError(where, f"{key}: {what}")

    if plan.need_persons < 0:
        bad("need_persons", f"must be >= 0, got {plan.need_persons}")
    if plan.minimum_request < 0:
        bad("minimum_request", f"must be >= 0, got {plan.minimum_request}")
    if plan.granularity_persons < 1:
        bad("granularity_persons", f"must be >= 1, got {plan.granularity_persons}")
    if plan.need_persons % plan.granularity_persons:
        bad("need_persons", f"{plan.need_persons} is not a multiple of granularity_persons "
            f"{plan.granularity_persons}; no allocation can sum to it")
    for name, weight in plan.criteria.weights.items():
        if name not in ALL_CRITERIA:
            bad(f"criteria.weights.{name}", f"unknown criterion; known: {', '.join(ALL_CRITERIA)}")
        if weight < 0:
            bad(f"criteria.weights.{name}", f"weight must be >= 0, got {weight}")
    if not any(w > 0 for w in plan.criteria.weights.values()):
        bad("criteria.weights", "at least one weight must be positive")
    if not 0 < plan.criteria.population_exponent <= 1.5:
        bad("criteria.population_exponent", "must be in (0, 1.5]")
    if not 0 <= plan.spread.min_county_share_of_target <= 1:
        bad("spread.min_county_share_of_target", "must be between 0 and 1")
    if plan.solver.name not in ("highs", "cbc"):
        bad("solver.name", f"unknown solver {plan.solver.name!r}; use highs or cbc")
    if plan.solver.fallback not in (None, "highs", "cbc"):
        bad("solver.fallback", f"unknown solver {plan.solver.fallback!r}; use highs, cbc or null")
    pen = plan.penalties
    if pen.extra_capacity <= 2 * (pen.deviation_from_target + pen.deviation_from_recommendation):
        bad("penalties.extra_capacity", f"must exceed 2 * (deviation_from_target + deviation_from_recommendation) "
            f"= {2 * (pen.deviation_from_target + pen.deviation_from_recommendation):g}, or extra capacity may be "
            "used while base capacity is left")
    if plan.submissions.recommendation_mode not in ("soft", "lock"):
        bad("submissions.recommendation_mode", "use soft or lock")
    if plan.network.reasonable_travel_minutes <= 0:
        bad("network.reasonable_travel_minutes", "must be positive")


def _join(keypath: str, name: str) -> str:
    return f"{keypath}.{name}" if keypath else name
