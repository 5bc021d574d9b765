"""The audit record of one run: ``manifest.json``.

Written last, from the run folder as written: ``files`` lists every file in
it and ``outputs`` the SHA-256 of each (the manifest itself aside), so the
list can never drift from what is there and an edited file is named.
"""
from __future__ import annotations

import json
import subprocess
from importlib import metadata
from pathlib import Path

from optimiser.fairness import fairness
from pipeline.plans.load import plan_to_dict
from pipeline.plans.resolve import ROOT, ResolvedPlan
from pipeline.publish.files import listing, sha256_file, write_json
from pipeline.publish.solution import Solution
from pipeline.solvers import solver_options

MANIFEST = "manifest.json"
PACKAGES = ("pulp", "highspy", "networkx", "pandas", "pyyaml", "luigi", "matplotlib", "numpy")


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(root: Path = ROOT) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def build_manifest(resolved: ResolvedPlan, solution: Solution, inputs: dict[str, str],
                   base_run: Path | None = None, documents: bool = True) -> dict:
    """The manifest of one run, all but its file list (``write_manifest`` adds
    it); ``inputs``: every file the run read, path -> SHA-256; ``base_run``:
    the folder of the base plan's run a re-plan read; ``documents``: whether
    the run wrote the documents for people (a sweep's scenario runs do not).
    ``overrides``: what a scenario changed in the plan's YAML (None for a plan
    as its files give it); the audit resolves the plan again with them."""
    result, targets, plan = solution.result, solution.targets, resolved.plan
    return {
        "plan": resolved.name,
        "fingerprint": resolved.fingerprint,
        "config_dir": str(resolved.config_dir),
        "data_dir": str(resolved.data_dir),
        "base_run": str(base_run) if base_run is not None else None,
        "overrides": resolved.overrides,
        "documents": documents,
        "config": plan_to_dict(plan),
        "inputs": inputs,
        "code_sha256": resolved.code_sha256,
        "git_commit": git_commit(),
        "packages": package_versions(),
        "solver": {"name": result.solver, "version": result.solver_version, "options": solver_options(plan.solver)},
        "status": result.status.name.lower(),
        "pulp_status": result.pulp_status,
        "sol_status": result.pulp_sol_status,
        "objective": result.objective,
        "gap": result.gap,
        "timings": solution.timings,
        "criteria": {"used": list(targets.used), "lacked": list(targets.lacked), "unused": list(targets.unused)},
        "fairness": fairness(solution.allocation, solution.inputs.municipalities["min_request"]),
        "need": int(plan.need_persons),
        "submissions": solution.submissions,
        "base_plan": resolved.base.name if resolved.base else None,
        "base_fingerprint": resolved.base.fingerprint if resolved.base else None,
    }


def write_manifest(folder: Path, manifest: dict) -> dict:
    """Write ``manifest.json`` last, listing every file in ``folder`` (itself included)."""
    folder = Path(folder)
    written = listing(folder)
    complete = {**manifest, "files": sorted(written + [MANIFEST]),
                "outputs": {name: sha256_file(folder / name) for name in written}}
    write_json(complete, Path(folder) / MANIFEST)
    return complete


def read_manifest(path: Path) -> dict | None:
    """The manifest at ``path``, None when it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def run_is_current(manifest: dict | None, fingerprint: str, documents: bool) -> bool:
    """A run's manifest carries ``fingerprint`` and was written with (or without) documents as asked."""
    return manifest is not None and manifest.get("fingerprint") == fingerprint and \
        manifest.get("documents", True) == documents


def manifest_matches(path: Path, fingerprint: str) -> bool:
    """The manifest at ``path`` exists and carries ``fingerprint``: the output is current."""
    manifest = read_manifest(path)
    return manifest is not None and manifest.get("fingerprint") == fingerprint
