"""Luigi tasks that place households against a published plan.

    Publish (the plan), Network -> Place       out/<plan>-placement-<batch>/
    Publish (the plan), Network -> PlaceYear   out/<plan>-year-<batch>/

Each writes a folder of its own beside the plan's run folder, never inside
it: ``Publish`` replaces ``out/<plan>/`` as a whole, and a placement made
against an earlier run must survive a re-publish.  A placement is complete
when its manifest carries the batch's fingerprint, which hashes the plan's
fingerprint, the arrivals file and the ledger: a changed plan, arrivals file
or ledger places again.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import luigi
import pandas as pd

from optimiser.network import Network
from optimiser.place import PlaceInputs, place
from optimiser.place_room import municipality_room
from optimiser.place_year import compare, hindsight, simulate_year, week_table, weekly_batches
from optimiser.verify import violations_line
from optimiser.verify_place import verify_placement
from pipeline.graph.tasks import PlanTask, PrivateParameter, Publish, VerificationFailed
from pipeline.inputs.source import Source
from pipeline.plans.inputs import read_inputs
from pipeline.plans.placement import (
    PlacementBatch,
    outcome_values,
    placement_params,
    placement_solver,
    plan_room,
)
from pipeline.publish.files import atomic_folder
from pipeline.publish.manifest import MANIFEST, manifest_matches
from pipeline.publish.placement import (
    comparison_table,
    placement_folder,
    write_placement,
    write_year,
    year_folder,
)
from pipeline.publish.solution import read_allocation
from pipeline.solvers import make_solvers


class BatchParameter(PrivateParameter):
    """Carries the ``PlacementBatch``."""

    kind = PlacementBatch


@dataclass(frozen=True)
class Setting:
    """What a placement places into: the municipalities' room, the travel
    minutes, their names, and the published allocation it read (path -> SHA-256)."""

    municipalities: pd.DataFrame
    travel: pd.DataFrame
    names: pd.Series
    allocation: dict[str, str]


class PlacementTask(PlanTask):
    batch_name = luigi.Parameter(description="the arrivals file's stem")
    batch_fingerprint = luigi.Parameter(description="hash of the plan's fingerprint, the arrivals and the ledger")
    batch = BatchParameter(description="the resolved batch")

    def requires(self):
        return {"plan": self.task_for(Publish), "network": self.network_task()}

    def folder(self) -> Path:
        raise NotImplementedError

    def output(self):
        return luigi.LocalTarget(str(self.folder() / MANIFEST))

    def complete(self):
        return manifest_matches(self.output().path, self.batch_fingerprint)

    def setting(self) -> Setting:
        return placement_setting(self.batch, Path(self.input()["plan"].path).parent,
                                 self.requires()["network"].load())


def placement_setting(batch: PlacementBatch, plan_run: Path, net: Network) -> Setting:
    """The room by ``optimiser.place_room`` from the plan's inputs, its
    published allocation in ``plan_run`` and the ledger, with the outcome
    score where the plan prices one; travel minutes from the plan's network."""
    source = Source.read(Path(plan_run) / "allocation.csv")
    allocation = read_allocation(source)
    inputs = read_inputs(batch.resolved)
    room = municipality_room(plan_room(inputs, allocation), batch.ledger)
    outcome = outcome_values(inputs, net.access)
    if outcome is not None:
        room = room.assign(outcome=outcome.reindex(room.index))
    return Setting(municipalities=room, travel=net.travel, names=allocation["kommune"],
                   allocation={str(source.path): source.sha256})


def check(households: pd.DataFrame, municipalities: pd.DataFrame, travel: pd.DataFrame, placements: pd.DataFrame,
          minutes: float, what: str) -> None:
    """The independent check; any violation fails the task (so what is written has none)."""
    violations = verify_placement(households, municipalities, travel, placements, minutes)
    if violations:
        raise VerificationFailed(f"{what}: verification failed: {violations_line(violations)}")


class Place(PlacementTask):
    """One batch of households placed in one solve: ``out/<plan>-placement-<batch>/``."""

    def folder(self) -> Path:
        return placement_folder(Path(self.out_dir), self.plan, self.batch_name)

    def run(self):
        s, batch = self.setting(), self.batch
        params, solver = placement_params(self.resolved), placement_solver(self.resolved)
        households = batch.this_year()
        result = place(PlaceInputs(households, s.municipalities, s.travel), params, make_solvers(solver))
        check(households, s.municipalities, s.travel, result.placements, params.reasonable_minutes,
              f"placement {batch.name}")
        atomic_folder(self.out_dir, self.folder(), lambda staging: write_placement(
            staging, batch, result, s.municipalities, batch.carried(), s.names, params, solver, s.allocation))


def progress(week: int, weeks: int, households: int) -> None:
    label = f"week {week}/{weeks}" if weeks > 1 else "hindsight"
    print(f"  PlaceYear    {label}: {households} households", file=sys.stderr, flush=True)


class PlaceYear(PlacementTask):
    """A year of arrivals placed week by week, against all of it placed at once
    (hindsight): ``out/<plan>-year-<batch>/``."""

    def folder(self) -> Path:
        return year_folder(Path(self.out_dir), self.plan, self.batch_name)

    def run(self):
        s, batch = self.setting(), self.batch
        params, solver = placement_params(self.resolved), placement_solver(self.resolved)
        solvers = make_solvers(solver)
        batches = weekly_batches(batch.arrivals.households)
        runs = {name: run(batches, s.municipalities, s.travel, params, solvers, year=batch.year, progress=progress)
                for name, run in (("weekly", simulate_year), ("hindsight", hindsight))}
        placed = batch.this_year()
        for name, year in runs.items():
            check(placed, s.municipalities, s.travel, year.placements, params.reasonable_minutes, f"{name} year")
        weeks = week_table(runs["weekly"], batches, params)
        atomic_folder(self.out_dir, self.folder(), lambda staging: write_year(
            staging, batch, weeks, comparison_table(compare(runs["weekly"], runs["hindsight"])), runs,
            params, solver, s.allocation))
