"""A solved plan as files, and back: the typed hand-off from ``Solve`` to the
tasks after it.

The cache holds only data (JSON and the model as MPS text), never pickles,
so a file planted in the cache cannot run code.  Frames keep their index,
dtypes and exact floats, so every later step sees the numbers the solve saw.

An infeasible plan is an answer too: its solve leaves ``infeasible.json``
(the plan and the one-line diagnosis) instead of a solution, so the
diagnosis is worked out once per fingerprint; reading it raises
``InfeasiblePlan`` with the same message the solve raised.
"""
from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimiser.criteria import Targets
from optimiser.model import ModelInputs
from optimiser.plan import Penalties
from optimiser.solve import InfeasiblePlan, SolveResult, SolveStatus
from pipeline.inputs.source import Source
from pipeline.inputs.yamlfile import build_dataclass
from pipeline.publish.files import frame_from_json, frame_to_json, write_json

SOLUTION_FILE = "solution.json"
INFEASIBLE_FILE = "infeasible.json"
# Scalars of ModelInputs stored in solution.json (frames are stored as CSV).
INPUT_SCALARS = ("name", "need", "granularity", "em_need", "em_minimum", "school_region_cap", "shortfall_outside_cost")


@dataclass(frozen=True)
class Solution:
    """What ``Solve`` hands on.  ``submissions``: what the manifest says about
    the submissions used; ``shortfalls``: in a re-plan, where each declined
    quota went; ``read_files``: files the solve read besides the resolved
    plan's (a re-plan reads the base run's allocation), path -> SHA-256."""

    targets: Targets
    inputs: ModelInputs
    result: SolveResult
    allocation: pd.DataFrame
    timings: dict
    model_mps: str
    solver_log: str
    submissions: dict
    shortfalls: pd.DataFrame | None = None
    read_files: dict = field(default_factory=dict)

    @property
    def is_replan(self) -> bool:
        return self.shortfalls is not None


def write_solution(folder: Path, s: Solution) -> None:
    """Every part of ``s`` into ``folder``: ``solution.json`` (frames exact, with
    their dtypes), ``model.mps`` and ``solver.log``."""
    folder = Path(folder)
    (folder / "model.mps").write_text(s.model_mps, encoding="utf-8")
    (folder / "solver.log").write_text(s.solver_log, encoding="utf-8")
    frames = {"allocation": s.allocation, "targets": s.targets.frame, "parameters": s.inputs.municipalities,
              "county_minimum": s.inputs.county_minimum.to_frame("minimum"),
              "shortfall": s.inputs.shortfall.to_frame("persons"), "shortfall_pairs": s.inputs.shortfall_pairs}
    if s.shortfalls is not None:
        frames["shortfalls"] = s.shortfalls
    write_json({
        "frames": {name: frame_to_json(frame) for name, frame in frames.items()},
        "result": {**dataclasses.asdict(s.result), "status": s.result.status.name},
        "timings": s.timings,
        "criteria": {"used": list(s.targets.used), "lacked": list(s.targets.lacked), "unused": list(s.targets.unused)},
        "submissions": s.submissions,
        "model_inputs": {name: getattr(s.inputs, name) for name in INPUT_SCALARS},
        "penalties": dataclasses.asdict(s.inputs.penalties),
        "has_school_region": s.inputs.school_region is not None,
        "read_files": s.read_files,
    }, folder / SOLUTION_FILE)


def write_infeasible(folder: Path, exc: InfeasiblePlan) -> None:
    """The answer of a solve that found no allocation: the plan and the diagnosis."""
    write_json({"plan": exc.plan, "diagnosis": exc.detail}, Path(folder) / INFEASIBLE_FILE)


def infeasibility(folder: Path) -> InfeasiblePlan | None:
    """The stored infeasibility of a solve's folder, None when it holds a solution."""
    path = Path(folder) / INFEASIBLE_FILE
    if not path.is_file():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    return InfeasiblePlan(str(record["plan"]), str(record["diagnosis"]))


def read_solution(folder: Path) -> Solution:
    """The solution in ``folder``; ``InfeasiblePlan`` where the solve found none."""
    folder = Path(folder)
    infeasible = infeasibility(folder)
    if infeasible is not None:
        raise infeasible
    where = str(folder / SOLUTION_FILE)
    meta = json.loads((folder / SOLUTION_FILE).read_text(encoding="utf-8"))
    frames = {name: frame_from_json(obj) for name, obj in meta["frames"].items()}
    result = SolveResult(**{**meta["result"], "status": SolveStatus[meta["result"]["status"]]})
    criteria = meta["criteria"]
    targets = Targets(frame=frames["targets"], used=tuple(criteria["used"]), lacked=tuple(criteria["lacked"]),
                      unused=tuple(criteria["unused"]))
    municipalities = frames["parameters"]
    inputs = ModelInputs(
        **meta["model_inputs"], municipalities=municipalities, county_minimum=frames["county_minimum"]["minimum"],
        penalties=build_dataclass(Penalties, meta["penalties"], where, "penalties"),
        school_region=municipalities["school_region"] if meta["has_school_region"] else None,
        shortfall=frames["shortfall"]["persons"], shortfall_pairs=frames["shortfall_pairs"])
    return Solution(targets=targets, inputs=inputs, result=result, allocation=frames["allocation"],
                    timings=meta["timings"], model_mps=(folder / "model.mps").read_text(encoding="utf-8"),
                    solver_log=(folder / "solver.log").read_text(encoding="utf-8"),
                    submissions=meta["submissions"], shortfalls=frames.get("shortfalls"), read_files=meta["read_files"])


def read_allocation(source: Source) -> pd.DataFrame:
    """A published allocation.csv, indexed by kommunenummer (codes kept as text)."""
    frame = pd.read_csv(io.StringIO(source.text()), dtype={"kommunenummer": str, "fylke": str})
    return frame.set_index("kommunenummer")


def read_run_allocation(folder: Path) -> pd.DataFrame:
    return read_allocation(Source.read(Path(folder) / "allocation.csv"))
