"""Writers: allocation table, county table, manifest, and atomic publication.

A run folder ``out/<plan>/`` is built complete in a staging folder beside it
and swapped in with renames, so a failed run never leaves partial output and
a planner never sees a mix of two runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable

import pandas as pd

ALLOCATION_COLUMNS = ["kommunenummer", "kommune", "fylke", "population", "target", "request"]
PACKAGES = ("pulp", "highspy", "networkx", "pandas", "pyyaml", "luigi", "matplotlib", "numpy")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.3f")


def read_run_allocation(folder: Path) -> pd.DataFrame:
    """A stored run's allocation.csv, indexed by kommunenummer (codes kept as text)."""
    frame = pd.read_csv(Path(folder) / "allocation.csv", dtype={"kommunenummer": str, "fylke": str})
    return frame.set_index("kommunenummer")


def write_json(obj, path: Path) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def county_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """Per county: municipalities asked, requests, target, requests per 1,000
    inhabitants, and where county recommendations exist their sum and the
    deviation of the requests from them (over the recommended municipalities)."""
    a = allocation.assign(
        asked=allocation["request"] > 0,
        has_rec=allocation["recommended"].notna() if "recommended" in allocation else False,
    )
    if "recommended" in a:
        a = a.assign(rec=a["recommended"].fillna(0).astype(int), req_rec=a["request"].where(a["has_rec"], 0))
    g = a.groupby(["fylke", "fylkesnavn"], sort=True)
    table = pd.DataFrame({
        "municipalities": g.size(),
        "asked": g["asked"].sum(),
        "population": g["population"].sum(),
        "target": g["target"].sum(),
        "request": g["request"].sum(),
    })
    if "recommended" in a:
        table["recommended"] = g["rec"].sum()
        table["deviation_from_recommended"] = g["req_rec"].sum() - table["recommended"]
    if "em_request" in a:
        table["em_request"] = g["em_request"].sum()
    table = table.reset_index()
    table["per_1000"] = table["request"] / table["population"] * 1000.0
    return table


def format_county_table(table: pd.DataFrame) -> str:
    rec = "recommended" in table
    head = f"{'fylke':<24} {'asked':>9} {'request':>8} {'target':>8} {'per 1000':>8}"
    head += f" {'county rec':>10} {'deviation':>9}" if rec else ""
    head += f" {'EM':>4}" if "em_request" in table else ""
    lines = [head]
    total = table.sum(numeric_only=True)
    rows = [(f"{r.fylke} {r.fylkesnavn}", r) for r in table.itertuples()] + [("Norway", total)]
    for name, r in rows:
        per_1000 = r.request / r.population * 1000.0
        line = (f"{name:<24} {int(r.asked):>4}/{int(r.municipalities):<4} {int(r.request):>8} "
                f"{r.target:>8.1f} {per_1000:>8.2f}")
        if rec:
            line += f" {int(r.recommended):>10} {int(r.deviation_from_recommended):>+9}"
        if "em_request" in table:
            line += f" {int(r.em_request):>4}"
        lines.append(line)
    return "\n".join(lines)


def change_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """Re-plans: municipalities and persons changed, grouped by reason."""
    g = allocation.groupby("change_reason", sort=True)
    return pd.DataFrame({"municipalities": g.size(), "persons_changed": g["change"].sum(),
                         "previous": g["previous"].sum(), "request": g["request"].sum()}).reset_index()


def format_change_table(table: pd.DataFrame) -> str:
    lines = [f"{'reason':<20} {'municipalities':>14} {'previous':>9} {'request':>9} {'change':>8}"]
    lines += [f"{r.change_reason:<20} {r.municipalities:>14} {r.previous:>9} {r.request:>9} {r.persons_changed:>+8}"
              for r in table.itertuples()]
    return "\n".join(lines)


def package_versions() -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(root: Path = Path(".")) -> str | None:
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


def publish(folder: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(staging)`` and swap the staging folder in as ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    if folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def manifest(plan_name: str, fingerprint: str, plan, solution: dict, extra: dict) -> dict:
    """The audit record of one run (see README, 'Audit trail')."""
    from pipeline.config import plan_to_dict
    from pipeline.solvers import solver_options

    result = solution["result"]
    targets = solution["targets"]
    return {
        "plan": plan_name,
        "fingerprint": fingerprint,
        "config": plan_to_dict(plan),
        "inputs": extra.get("inputs", {}),
        "code_sha256": extra.get("code_sha256"),
        "git_commit": extra.get("git_commit"),
        "packages": package_versions(),
        "solver": {"name": result.solver, "version": result.solver_version, "options": solver_options(plan.solver)},
        "status": result.status.name.lower(),
        "pulp_status": result.pulp_status,
        "sol_status": result.pulp_sol_status,
        "objective": result.objective,
        "gap": result.gap,
        "timings": solution["timings"],
        "criteria": {"used": list(targets.used), "lacked": list(targets.lacked), "unused": list(targets.unused)},
        "need": int(plan.need_persons),
        "submissions": solution.get("submissions"),
        "base_plan": extra.get("base_plan"),
        "base_fingerprint": extra.get("base_fingerprint"),
        "files": sorted(RUN_FILES + (REPLAN_FILES if solution.get("shortfalls") is not None else ())),
    }


RUN_FILES = ("explain.csv", "explain.md", "allocation.csv", "county.csv", "targets.csv", "parameters.csv", "county_minimum.csv", "model.mps",
             "solver.log", "verify.json", "manifest.json",
             "network.graphml", "network.png", "network_fit.json", "access.csv")  # pipeline.network_outputs
REPLAN_FILES = ("changes.csv", "shortfalls.csv")


def write_run(folder: Path, solution: dict, verify_text: bytes, manifest_obj: dict, network=None,
              explanation: dict | None = None) -> None:
    folder = Path(folder)
    if explanation is not None:
        write_csv(explanation["frame"], folder / "explain.csv")
        (folder / "explain.md").write_text(explanation["markdown"], encoding="utf-8")
    if network is not None:
        from pipeline.network_outputs import write_network  # imports this module: import at call time
        write_network(folder, network, solution["inputs"].municipalities["eligible"])
    allocation = solution["allocation"]
    write_csv(allocation, folder / "allocation.csv")
    write_csv(county_table(allocation), folder / "county.csv")
    write_csv(solution["targets"].frame.round(3).reset_index(), folder / "targets.csv")
    params = solution["inputs"]
    params.municipalities.reset_index().to_csv(folder / "parameters.csv", index=False, lineterminator="\n",
                                               float_format="%.10g")
    write_csv(params.county_minimum.rename_axis("fylke").rename("minimum").reset_index(),
              folder / "county_minimum.csv")
    (folder / "model.mps").write_text(solution["model_mps"])
    (folder / "solver.log").write_text(solution["solver_log"])
    (folder / "verify.json").write_bytes(verify_text)
    if solution.get("shortfalls") is not None:
        write_csv(change_table(allocation), folder / "changes.csv")
        write_csv(solution["shortfalls"], folder / "shortfalls.csv")
    write_json(manifest_obj, folder / "manifest.json")
