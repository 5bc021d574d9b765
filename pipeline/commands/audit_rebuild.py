"""The audit's second half: rebuild the run from its recorded inputs and
compare.

From the plan and the input files the manifest names (their hashes already
checked), the model's parameters are computed again by the engine's own code
path and compared with ``parameters.csv`` and ``county_minimum.csv``; the
model is built again and compared line by line with ``model.mps``; the
documents (county table, changes, letters, report) are rendered again from
``allocation.csv`` and the manifest and compared byte for byte; and every
number the manifest states is checked against what the rebuild gives.

Where the engine's code has changed since the run, a rebuild may differ for
that reason alone: differences are then warnings, failures with ``--strict``.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import network
from optimiser.allocate import plan_inputs
from optimiser.criteria import Targets
from optimiser.fairness import fairness
from optimiser.model import ModelInputs, build_model
from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.submissions import submissions_summary
from pipeline.plans.inputs import PlanInputs, read_inputs, replan_context
from pipeline.plans.load import plan_to_dict
from pipeline.plans.resolve import ResolvedPlan, code_sha256, resolve_plan
from pipeline.publish.files import csv_text, listing
from pipeline.publish.manifest import MANIFEST
from pipeline.publish.run_folder import write_documents
from pipeline.publish.solution import read_allocation
from pipeline.publish.tables import change_table, county_table

# parameters.csv is written with 10 significant digits.
PARAMETER_TOLERANCE = 1e-9
MAX_SHOWN = 20


@dataclass(frozen=True)
class Rebuilt:
    resolved: ResolvedPlan
    inputs: PlanInputs
    targets: Targets
    model_inputs: ModelInputs
    read_files: dict  # files read besides the resolved ones (the base run's allocation), path -> SHA-256


def rebuild(manifest: dict) -> Rebuilt:
    """The run's parameters, computed again from the plan and inputs the manifest names."""
    overrides = manifest.get("overrides")
    if overrides is not None and not isinstance(overrides, dict):
        raise InputError(f"{MANIFEST}:overrides", "must be a mapping (what a scenario changed in the plan) or null")
    resolved = resolve_plan(str(manifest.get("plan")), Path(manifest.get("config_dir") or "config"),
                            Path(manifest.get("data_dir") or "data"), overrides)
    inputs = read_inputs(resolved)
    plan = resolved.plan
    net = network.build_network(inputs.data.municipalities, inputs.data.adjacency,
                                plan.network.reasonable_travel_minutes)
    context, read = None, {}
    if resolved.base is not None:
        if not manifest.get("base_run"):
            raise InputError(MANIFEST, "base_run: a re-plan's manifest must name the base run it read")
        source = Source.read(Path(manifest["base_run"]) / "allocation.csv")
        context = replan_context(inputs, net, read_allocation(source)["request"])
        read = {str(source.path): source.sha256}
    targets, model_inputs = plan_inputs(inputs.data, net.access, plan, inputs.submissions, context)
    return Rebuilt(resolved, inputs, targets, model_inputs, read)


def check_rebuild(audit, folder: Path, manifest: dict, stored) -> Rebuilt | None:
    """Every rebuild comparison; ``stored``: the run's tables (or None when they could not be read)."""
    changed = manifest.get("code_sha256") != code_sha256()
    try:
        rebuilt = rebuild(manifest)
    except InputError as exc:
        audit.fail("rebuild", f"the run cannot be rebuilt from its recorded inputs: {exc}")
        return None
    report = _reporter(audit, changed)
    report("manifest.json config", _config_differences(manifest.get("config"), plan_to_dict(rebuilt.resolved.plan)))
    report("manifest.json", _manifest_differences(manifest, rebuilt, changed))
    if stored is not None:
        report("parameters.csv", _parameter_differences(stored.params, rebuilt.model_inputs.municipalities, stored))
        minimum = rebuilt.model_inputs.county_minimum
        report("county_minimum.csv", [f"county {c} minimum {int(stored.county_minimum.get(c, -1))} but the inputs "
                                      f"give {int(m)}" for c, m in minimum.items()
                                      if int(stored.county_minimum.get(c, -1)) != int(m)])
    report("model.mps", _model_differences(folder / "model.mps", rebuilt.model_inputs))
    if stored is not None:
        allocation = read_allocation(Source.read(folder / "allocation.csv")).reset_index()
        again = fairness(allocation, rebuilt.model_inputs.municipalities["min_request"])
        report("manifest.json fairness", [] if manifest.get("fairness") == again else
               [f"fairness {manifest.get('fairness')} but allocation.csv gives {again}"])
    return rebuilt


def check_documents(audit, folder: Path, manifest: dict, rebuilt: Rebuilt) -> None:
    """County table, changes, letters and report rendered again from allocation.csv and the manifest
    (a scenario run of a sweep, ``documents`` false in its manifest, has no letters or report)."""
    changed = manifest.get("code_sha256") != code_sha256()
    documents = manifest.get("documents", True) is not False
    allocation = read_allocation(Source.read(folder / "allocation.csv")).reset_index()
    record = {k: v for k, v in manifest.items() if k not in ("files", "outputs")}
    with tempfile.TemporaryDirectory(prefix="audit-documents-") as tmp:
        again = Path(tmp)
        (again / "county.csv").write_text(csv_text(county_table(allocation)), encoding="utf-8")
        if "change_reason" in allocation:
            (again / "changes.csv").write_text(csv_text(change_table(allocation)), encoding="utf-8")
        if documents:
            write_documents(again, folder, rebuilt.inputs, record)
        rendered = listing(again)
        problems = []
        for name in rendered:
            stored = folder / name
            if not stored.is_file():
                problems.append(f"{name} is missing (rendered from allocation.csv it exists)")
            elif stored.read_bytes() != (again / name).read_bytes():
                problems.append(f"{name} differs from the document rendered from allocation.csv and the manifest")
    what = "" if documents else "; a scenario run: no letters or report (manifest documents false)"
    _reporter(audit, changed)("documents", problems, f"documents ({len(rendered)} files rendered again{what})")


def _reporter(audit, code_changed: bool):
    def report(what: str, problems: list[str], ok_text: str | None = None) -> None:
        if not problems:
            audit.ok(ok_text or f"{what} agrees with the rebuild from the recorded inputs")
        elif code_changed and not audit.strict:
            for problem in problems[:MAX_SHOWN]:
                audit.warn(what, problem + " (the code changed since the run; --strict makes this a failure)")
        else:
            audit.fail_many(what, problems)
    return report


def _config_differences(recorded, rebuilt: dict, path: str = "config") -> list[str]:
    if isinstance(recorded, dict) and isinstance(rebuilt, dict):
        out = []
        for key in sorted(set(recorded) | set(rebuilt)):
            out += _config_differences(recorded.get(key), rebuilt.get(key), f"{path}.{key}")
        return out
    if recorded != rebuilt:
        return [f"{path} is {recorded!r} but the plan's files give {rebuilt!r}"]
    return []


def _manifest_differences(manifest: dict, rebuilt: Rebuilt, code_changed: bool) -> list[str]:
    resolved = rebuilt.resolved
    out = []
    expected_inputs = {**resolved.input_hashes(), **rebuilt.read_files}
    recorded_inputs = manifest.get("inputs") or {}
    out += [f"inputs does not list {name}, which the run reads" for name in sorted(set(expected_inputs) -
                                                                                   set(recorded_inputs))]
    out += [f"inputs lists {name}, which the run does not read" for name in sorted(set(recorded_inputs) -
                                                                                   set(expected_inputs))]
    if not code_changed and manifest.get("fingerprint") != resolved.fingerprint:
        out.append(f"fingerprint {str(manifest.get('fingerprint'))[:16]}... but the plan, inputs and code give "
                   f"{resolved.fingerprint[:16]}...")
    base = resolved.base
    if (manifest.get("base_plan"), manifest.get("base_fingerprint") if not code_changed else None) != (
            base.name if base else None, base.fingerprint if base and not code_changed else None):
        out.append(f"base plan {manifest.get('base_plan')!r} does not match the plan's {base.name if base else None!r}")
    if manifest.get("need") != resolved.plan.need_persons:
        out.append(f"need {manifest.get('need')} but the plan's need is {resolved.plan.need_persons}")
    targets = rebuilt.targets
    criteria = {"used": list(targets.used), "lacked": list(targets.lacked), "unused": list(targets.unused)}
    if manifest.get("criteria") != criteria:
        out.append(f"criteria {manifest.get('criteria')} but the inputs give {criteria}")
    summary = submissions_summary(rebuilt.inputs.submissions)
    if manifest.get("submissions") != summary:
        out.append(f"submissions {manifest.get('submissions')} but the inputs give {summary}")
    gap, limit = manifest.get("gap"), resolved.plan.solver.mip_rel_gap
    if manifest.get("status") == "optimal" and (gap is None or gap > limit + 1e-12):
        out.append(f"status optimal with gap {gap}, above the plan's mip_rel_gap {limit:g}")
    return out


def _parameter_differences(stored: pd.DataFrame, rebuilt: pd.DataFrame, run) -> list[str]:
    out = []
    for code in rebuilt.index.difference(stored.index):
        out.append(f"no row for {run.label(code)}, which the inputs give")
    common = rebuilt.index.intersection(stored.index)
    for column in rebuilt.columns:
        if column not in stored:
            out.append(f"no column {column!r}, which the inputs give")
            continue
        mine, theirs = rebuilt.loc[common, column], stored.loc[common, column]
        if pd.api.types.is_bool_dtype(mine) or not pd.api.types.is_numeric_dtype(mine):
            # A CSV cell cannot tell an empty text from a missing one.
            differ = _text(mine) != _text(theirs)
        else:
            a, b = mine.to_numpy(dtype=float), pd.to_numeric(theirs, errors="coerce").to_numpy(dtype=float)
            differ = pd.Series(~(np.isclose(a, b, rtol=PARAMETER_TOLERANCE, atol=PARAMETER_TOLERANCE)
                                 | (np.isnan(a) & np.isnan(b))), index=common)
        for code in common[differ.to_numpy()][:MAX_SHOWN]:
            out.append(f"{run.label(code)} {column} {theirs[code]!r} but the inputs give {mine[code]!r}")
    return out


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str)


def _model_differences(path: Path, inputs: ModelInputs) -> list[str]:
    if not path.is_file():
        return ["missing"]
    prob, _ = build_model(inputs)
    with tempfile.TemporaryDirectory(prefix="audit-model-") as tmp:
        again = Path(tmp) / "model.mps"
        prob.writeMPS(str(again))
        mine = again.read_text(encoding="utf-8").splitlines()
    theirs = path.read_text(encoding="utf-8").splitlines()
    for number, (a, b) in enumerate(zip(theirs, mine), start=1):
        if a != b:
            return [f"line {number} is {a.strip()!r} but the model rebuilt from the inputs has {b.strip()!r}"]
    if len(theirs) != len(mine):
        return [f"{len(theirs)} lines but the model rebuilt from the inputs has {len(mine)}"]
    return []
