"""Read a sweep file and resolve every scenario of it as a plan of its own.

A sweep file is ``<config>/sweeps/<name>.yaml`` (or a path given on the
command line), read once with the strict YAML reader into
``optimiser.sweep.SweepDesign``: unknown or missing keys, wrong types and
implausible numbers are one-line errors naming the file and the key path.
Its optional ``plan:`` mapping changes the plan in every scenario (merged
over the plan's YAML as ``extends`` merges; the plan's own checks apply).

Each scenario is the plan resolved with ``overrides`` (``resolve_plans``):
its own fingerprint, its own cache, its own run folder
``<plan>-sweep-<name>/scenarios/<id>/``.  The scenario keeps the plan's
name, so it reads the plan's inputs (``data/inputs/<plan>/``).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from optimiser.plan import ALL_CRITERIA
from optimiser.sweep import DESIGNS, Axis, Scenario, SweepDesign, check_weight_ranges, scenarios
from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.yamlfile import build_dataclass, read_yaml
from pipeline.plans.load import MAX_CAPACITY_FACTOR, MAX_NEED, check_name, merge
from pipeline.plans.resolve import ResolvedPlan, plan_resolver

SWEEPS_DIR = "sweeps"
MAX_SCENARIOS = 10_000
MAX_MINIMUM_REQUEST = 1_000  # persons; the rule is 10
MAX_SEED = 2**63 - 1


@dataclass(frozen=True, eq=False)
class ResolvedSweep:
    """A sweep of plan ``plan``: its file, design, scenarios and the resolved plan of each."""

    name: str
    plan: str
    source: Source
    design: SweepDesign
    fixed: dict  # the file's ``plan:`` changes, in every scenario
    scenarios: tuple[Scenario, ...]
    resolved: tuple[ResolvedPlan, ...]
    note: str  # how the weights were formed
    fingerprint: str

    @property
    def folder(self) -> str:
        """The sweep's folder under the output root."""
        return f"{self.plan}-sweep-{self.name}"

    def run_folder(self, scenario_id: str) -> str:
        """A scenario's run folder under the output root."""
        return f"{self.folder}/scenarios/{scenario_id}"


def sweep_path(text: str, config_dir: Path) -> Path:
    """``--sweep``: a plain name is ``<config_dir>/sweeps/<name>.yaml``; anything else a path to a YAML file."""
    if "/" not in text and not text.endswith((".yaml", ".yml")):
        return Path(config_dir) / SWEEPS_DIR / f"{check_name(text, '--sweep', 'sweep name')}.yaml"
    path = Path(text)
    if path.suffix not in (".yaml", ".yml"):
        raise InputError("--sweep", f"{text!r} is not a YAML file", "pass a sweep name or a path ending in .yaml")
    return path


def read_sweep(path: Path) -> tuple[Source, SweepDesign, dict]:
    """The sweep file, its design and its ``plan:`` changes; checked."""
    source = Source.read(path, "create it (see README, Sweeps) or pass an existing --sweep")
    where = str(source.path)
    raw = read_yaml(source)
    if not isinstance(raw, dict):
        raise InputError(where, "expected a mapping at the top level")
    fixed = raw.get("plan", {})
    if not isinstance(fixed, dict):
        raise InputError(where, "plan: expected a mapping (changes to the plan in every scenario)")
    design = build_dataclass(SweepDesign, {k: v for k, v in raw.items() if k != "plan"}, where)
    check_design(design, where)
    return source, design, fixed


def check_design(d: SweepDesign, where: str) -> None:
    def bad(key, what, hint=""):
        raise InputError(where, f"{key}: {what}", hint)

    if d.design not in DESIGNS:
        bad("design", f"unknown design {d.design!r}", "use grid (every combination) or random (seeded draws)")
    if d.design == "random":
        if d.seed is None or not 0 <= d.seed <= MAX_SEED:
            bad("seed", "a random sweep needs a seed, a whole number >= 0", "e.g. seed: 2022")
        if d.samples is None or not 1 <= d.samples <= MAX_SCENARIOS:
            bad("samples", f"a random sweep needs samples between 1 and {MAX_SCENARIOS}")
    elif d.seed is not None or d.samples is not None:
        bad("seed" if d.seed is not None else "samples", "only a random sweep draws samples", "remove it")
    axes = {"need_persons": (d.need_persons, 1, MAX_NEED, "persons"),
            "capacity_factor": (d.capacity_factor, 1e-9, MAX_CAPACITY_FACTOR, "times the capacity"),
            "minimum_request": (d.minimum_request, 0, MAX_MINIMUM_REQUEST, "persons")}
    axes.update({f"weights.{k}": (axis, 0, 1, "weight") for k, axis in d.weights.items()})
    for key, (axis, low, high, unit) in axes.items():
        if axis is not None:
            _check_axis(axis, d.design, key, low, high, unit, bad)
    for name in d.weights:
        if name not in ALL_CRITERIA:
            bad(f"weights.{name}", "unknown criterion", f"known: {', '.join(ALL_CRITERIA)}")
    if d.weights and d.design == "random" and (problem := check_weight_ranges(d.weights)):
        bad("weights", f"no weights within the ranges sum to 1: {problem}")
    if not (d.need_persons or d.weights or d.capacity_factor or d.minimum_request):
        bad("top level", "nothing varies", "give need_persons, weights, capacity_factor or minimum_request")


def _check_axis(axis: Axis, design: str, key: str, low: float, high: float, unit: str, bad) -> None:
    form = axis.form
    if form in ("mixed", "empty"):
        bad(key, "give exactly one of: values; start, stop and step; low and high")
    if form == "grid":
        if None in (axis.start, axis.stop, axis.step):
            bad(key, "a grid needs start, stop and step")
        if axis.step <= 0 or axis.stop < axis.start:
            bad(key, f"need start <= stop and step > 0, got {axis.start:g} to {axis.stop:g} by {axis.step:g}")
        if (axis.stop - axis.start) / axis.step + 1 > MAX_SCENARIOS:
            bad(key, f"more than {MAX_SCENARIOS} values")
    if form == "range":
        if design == "grid":
            bad(key, "low and high are for a random sweep", "a grid lists values or start, stop and step")
        if None in (axis.low, axis.high) or axis.high < axis.low:
            bad(key, "a range needs low <= high")
    first, last = axis.bounds()
    if first < low or last > high:
        bad(key, f"{first:g} to {last:g} is outside the plausible {low:g} to {high:g} ({unit})")


def resolve_sweep(plan: str, sweep: str, config_dir: Path, data_dir: Path) -> ResolvedSweep:
    """The sweep ``sweep`` of plan ``plan``, every scenario resolved (each file read once for all)."""
    path = sweep_path(sweep, config_dir)
    name = check_name(path.stem, f"{path}", "sweep name")
    source, design, fixed = read_sweep(path)
    where = str(source.path)
    resolve = plan_resolver(plan, config_dir, data_dir)
    try:
        base = resolve(fixed or None)
    except InputError as exc:
        raise InputError(f"{where}:plan", f"the plan with these changes is not valid: {exc}") from None
    criteria = [k for k in ALL_CRITERIA if k in base.plan.criteria.weights or k in design.weights]
    try:
        found, note = scenarios(design, criteria, base.plan.granularity_persons)
    except ValueError as exc:
        raise InputError(where, f"weights: {exc}") from None
    if len(found) > MAX_SCENARIOS:
        raise InputError(where, f"{len(found)} scenarios, more than {MAX_SCENARIOS}", "sweep fewer combinations")
    resolved = []
    for scenario in found:
        try:
            resolved.append(resolve(scenario_overrides(scenario, fixed)))
        except InputError as exc:
            raise InputError(where, f"scenario {scenario.id} ({describe(scenario)}) is not a valid plan: {exc}") \
                from None
    fingerprint = hashlib.sha256(json.dumps({"sweep": source.sha256, "plan": plan, "scenarios": [
        [s.id, r.fingerprint] for s, r in zip(found, resolved)]}, sort_keys=True).encode()).hexdigest()
    return ResolvedSweep(name=name, plan=plan, source=source, design=design, fixed=fixed, scenarios=tuple(found),
                         resolved=tuple(resolved), note=note, fingerprint=fingerprint)


def scenario_overrides(scenario: Scenario, fixed: dict) -> dict:
    """What the scenario changes in the plan's YAML: the file's ``plan:`` changes and its own values."""
    own: dict = {}
    if scenario.need_persons is not None:
        own["need_persons"] = scenario.need_persons
    if scenario.minimum_request is not None:
        own["minimum_request"] = scenario.minimum_request
    if scenario.weights is not None:
        own["criteria"] = {"weights": dict(scenario.weights)}
    if scenario.capacity_factor is not None:
        own["capacity"] = {"factor": scenario.capacity_factor}
    return merge(fixed, own)


def describe(scenario: Scenario) -> str:
    """The values a scenario sets, in a few words."""
    parts = [f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in (
        ("need", scenario.need_persons), ("capacity factor", scenario.capacity_factor),
        ("minimum", scenario.minimum_request)) if v is not None]
    if scenario.weights is not None:
        parts.append("weights " + ", ".join(f"{k} {w:g}" for k, w in scenario.weights.items() if w))
    return "; ".join(parts) or "the plan as it is"
