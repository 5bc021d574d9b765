"""Resolve a plan once: the ``Plan``, every file the run reads, their hashes,
the code hash, the base plan and the fingerprint.

``resolve_plan`` is the only place that walks a plan's ``extends`` chain,
follows its calibration, finds its letter config and templates, lists its
input files and computes its fingerprint.  Every file is read once into
memory (``pipeline.inputs.source``) and hashed once; every YAML file is parsed
once, even when a re-plan and its base plan share it.  The readers in
``pipeline.inputs`` then parse from those bytes, so what a run uses is
exactly what its fingerprint and manifest record.
"""
from __future__ import annotations

import functools
import hashlib
import json
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from optimiser.plan import Plan
from pipeline.errors import InputError
from pipeline.inputs.catalog import (
    CATALOG,
    DATA_DIR,
    NETWORK_DATASETS,
    inside,
    national_path,
    plan_input_paths,
    plan_inputs_dir,
)
from pipeline.inputs.source import FileSet, Source
from pipeline.inputs.yamlfile import read_yaml
from pipeline.plans.calibrated import calibration_path, parse_calibration
from pipeline.plans.letters import LetterConfig, letter_config_path, parse_letter_config
from pipeline.plans.load import (
    CONFIG_DIR,
    build_plan,
    calibration_name,
    check_calibration_keys,
    check_name,
    merge,
    merge_chain,
    plan_path,
    read_chain,
)

CODE_DIRS = ("optimiser", "pipeline")
ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATES_DIR = "templates"
STANDARDS_FILE = "maalform_kommune_2020.csv"


@dataclass(frozen=True, eq=False)
class ResolvedPlan:
    """One plan, resolved.  ``files`` holds every file the run reads (for a
    re-plan, the base plan's submissions too); ``fingerprint`` hashes them
    with the code, the overrides and the base plan's fingerprint."""

    name: str
    plan: Plan
    config_dir: Path
    data_dir: Path
    files: FileSet
    plan_files: tuple[Path, ...]
    letters: LetterConfig | None
    templates: tuple[Path, ...]
    status_file: Path | None
    base: ResolvedPlan | None
    code_sha256: str
    fingerprint: str
    overrides: Mapping | None = None

    @property
    def own_inputs(self) -> Path:
        return plan_inputs_dir(self.name, self.data_dir)

    @property
    def base_inputs(self) -> Path | None:
        return self.base.own_inputs if self.base is not None else None

    @property
    def standards_file(self) -> Path:
        return Path(self.data_dir) / STANDARDS_FILE

    def input_hashes(self) -> dict[str, str]:
        return self.files.hashes()

    @property
    def network_key(self) -> str:
        """Hash of what the transport network depends on: its data files, the
        population year, the reasonable travel time and the code."""
        files = {str(national_path(name, self.data_dir)): self.files.get_source(national_path(name, self.data_dir)).sha256
                 for name in NETWORK_DATASETS}
        text = json.dumps({"files": files, "population_year": self.plan.population_year,
                           "minutes": self.plan.network.reasonable_travel_minutes, "code": self.code_sha256},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


# Every plan resolved in this process and still in use, by fingerprint: a task
# rebuilt from its public parameters alone (a dynamic dependency, which Luigi
# passes as text) finds its plan here instead of resolving it again.
_RESOLVED: weakref.WeakValueDictionary[str, ResolvedPlan] = weakref.WeakValueDictionary()


def resolved_plan(fingerprint: str) -> ResolvedPlan:
    """The plan this process resolved with ``fingerprint``."""
    found = _RESOLVED.get(fingerprint)
    if found is None:
        raise LookupError(f"no plan with fingerprint {fingerprint[:16]}... was resolved in this process")
    return found


class _Files:
    """Reads each file once and parses each YAML file once, for a plan and its base."""

    def __init__(self):
        self.sources: dict[Path, Source] = {}
        self.parsed: dict[Path, object] = {}

    def source(self, path: Path) -> Source:
        path = Path(path)
        if path not in self.sources:
            self.sources[path] = Source.read(path)
        return self.sources[path]

    def parse(self, path: Path) -> tuple[Source, object]:
        path = Path(path)
        if path not in self.parsed:
            self.parsed[path] = read_yaml(self.source(path))
        return self.sources[path], self.parsed[path]


def resolve_plan(name: str, config_dir: Path = CONFIG_DIR, data_dir: Path = DATA_DIR,
                 overrides: Mapping | None = None) -> ResolvedPlan:
    """Resolve plan ``name`` (and, for a re-plan, its base plan)."""
    return _resolve(name, Path(config_dir), Path(data_dir), overrides, _Files(), ())


def plan_resolver(name: str, config_dir: Path = CONFIG_DIR,
                  data_dir: Path = DATA_DIR) -> Callable[[Mapping | None], ResolvedPlan]:
    """``resolve(overrides)``: plan ``name`` resolved with each overrides in
    turn (a sweep's scenarios), every file read and hashed and every YAML file
    parsed once for all of them."""
    files = _Files()
    return lambda overrides=None: _resolve(name, Path(config_dir), Path(data_dir), overrides, files, ())


def _plan(name: str, config_dir: Path, files: _Files, overrides: Mapping | None) -> tuple[Plan, list[Path], str]:
    """The plan, the files it was built from (chain, calibration) and its own file's name."""
    chain = read_chain(name, config_dir, files.parse)
    check_calibration_keys(chain)
    raw = merge_chain(chain)
    where = str(chain[0][0].path)
    plan_files = [source.path for source, _ in chain]
    calibration = calibration_name(raw)
    if calibration is not None:
        path = calibration_path(calibration, config_dir, f"{where}:criteria.calibration")
        cal = parse_calibration(*files.parse(path))
        plan_files.append(path)
        # The calibration's weights replace the inherited ones as a whole.
        raw = {**raw, "criteria": {**raw["criteria"], "population_exponent": cal.criteria.population_exponent,
                                   "weights": dict(cal.criteria.weights),
                                   "history_damping": cal.criteria.history_damping}}
    if overrides:
        raw = merge(raw, dict(overrides))
    return build_plan(name, raw, where), plan_files, where


def _resolve(name: str, config_dir: Path, data_dir: Path, overrides: Mapping | None, files: _Files,
             chain_of_bases: tuple[str, ...]) -> ResolvedPlan:
    plan, plan_files, where = _plan(name, config_dir, files, overrides)

    base = None
    if plan.replan is not None:
        base_name = check_name(plan.replan.base_plan, f"{where}:replan.base_plan", "base plan")
        if base_name == name or base_name in chain_of_bases:
            raise InputError(f"{where}:replan.base_plan", f"base plan {base_name!r} leads back to itself "
                             f"({' -> '.join(chain_of_bases + (name, base_name))})")
        if not plan_path(base_name, config_dir).is_file():
            raise InputError(f"{where}:replan.base_plan",
                             f"base plan {base_name!r} not found ({plan_path(base_name, config_dir)})")
        base = _resolve(base_name, config_dir, data_dir, None, files, chain_of_bases + (name,))

    # Every plan writes a report (templates/report.html); letters only where a letter config exists.
    letters = None
    letters_path = letter_config_path(name, config_dir)
    if letters_path.is_file():
        letters = parse_letter_config(*files.parse(letters_path), plan)
    folder = Path(config_dir) / TEMPLATES_DIR
    templates = tuple(sorted(p for p in folder.glob("*") if p.is_file())) if folder.is_dir() else ()

    own = plan_inputs_dir(name, data_dir)
    status_file = None
    if plan.replan is not None:
        status_file = inside(own / check_relative(plan.replan.status_file, f"{where}:replan.status_file"), own,
                             f"{where}:replan.status_file", "status file")

    paths = [*plan_files, *([letters_path] if letters else []), *templates,
             *(national_path(n, data_dir) for n in CATALOG), *plan_input_paths(name, data_dir)]
    if letters is not None:
        paths.append(Path(data_dir) / STANDARDS_FILE)
    if status_file is not None:
        paths.append(status_file)
    if base is not None:
        paths += plan_input_paths(base.name, data_dir)
    sources = FileSet(files.source(p) for p in paths)
    code = code_sha256()
    fingerprint = hashlib.sha256(json.dumps({
        "inputs": sources.hashes(), "code": code, "base": base.fingerprint if base else None,
        "overrides": overrides or None}, sort_keys=True, default=str).encode()).hexdigest()
    resolved = ResolvedPlan(name=name, plan=plan, config_dir=config_dir, data_dir=data_dir, files=sources,
                            plan_files=tuple(plan_files), letters=letters, templates=templates,
                            status_file=status_file, base=base, code_sha256=code, fingerprint=fingerprint,
                            overrides=dict(overrides) if overrides else None)
    _RESOLVED[fingerprint] = resolved
    return resolved


def check_relative(text: str, where: str) -> str:
    """A relative path with no '..' part."""
    path = Path(text)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InputError(where, f"{text!r} must be a file name inside the plan's input folder",
                         "no absolute path and no '..'")
    return text


def load_plan(path: Path) -> Plan:
    """The ``Plan`` of ``<config_dir>/<name>.yaml`` alone (no data files read)."""
    path = Path(path)
    return _plan(path.stem, path.parent, _Files(), None)[0]


@functools.cache
def code_sha256() -> str:
    """Hash of the engine's code (``optimiser/`` and ``pipeline/``), once per process."""
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
