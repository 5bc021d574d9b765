"""Everything a resolved plan reads, parsed once per process: the typed
hand-off from the input files to the optimiser and the writers."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from optimiser.data import PlanData, Submissions
from optimiser.network import Network
from optimiser.reallocate import ReplanContext
from pipeline.inputs.catalog import national_path
from pipeline.inputs.history import year_of
from pipeline.inputs.maps import Shape, read_shapes
from pipeline.inputs.national import read_plan_data
from pipeline.inputs.standards import read_standards
from pipeline.inputs.submissions import read_status, read_submissions
from pipeline.plans.resolve import ResolvedPlan


@dataclass(frozen=True, eq=False)
class PlanInputs:
    """The validated inputs of one resolved plan.

    status: a re-plan's status per municipality (``read_status``), else None.
    standards: the written standard per municipality when the plan writes letters, else None.
    municipality_shapes, county_shapes: land polygons for the report's map.
    previous_year: IMDi's real requests of the year before the plan's year (None when not on file).
    """

    resolved: ResolvedPlan
    data: PlanData
    submissions: Submissions
    status: pd.DataFrame | None = None
    status_illustrative: bool = False
    standards: pd.DataFrame | None = None
    municipality_shapes: tuple[Shape, ...] = ()
    county_shapes: tuple[Shape, ...] = ()
    previous_year: pd.DataFrame | None = None

    @property
    def plan(self):
        return self.resolved.plan

    @property
    def illustrative(self) -> bool:
        return bool(self.submissions.illustrative or self.status_illustrative)


def replan_context(inputs: PlanInputs, net: Network, previous: pd.Series) -> ReplanContext:
    """What a re-plan knows beyond a fresh plan: the base plan's requests
    (``previous``), the status file, the base need and the travel times."""
    resolved = inputs.resolved
    return ReplanContext(previous=previous, status=inputs.status, base_need=resolved.base.plan.need_persons,
                         travel_minutes=net.travel, reasonable_minutes=resolved.plan.network.reasonable_travel_minutes)


@functools.lru_cache(maxsize=32)
def read_inputs(resolved: ResolvedPlan) -> PlanInputs:
    """Parse every input of ``resolved`` from the bytes it hashed (once per process)."""
    plan, files = resolved.plan, resolved.files
    data = read_plan_data(plan, files, resolved.data_dir)
    municipalities = data.municipalities
    submissions = read_submissions(plan, municipalities, files, resolved.own_inputs, resolved.base_inputs)
    status, status_illustrative = None, False
    if resolved.status_file is not None:
        status, status_illustrative = read_status(plan, municipalities, files.get_source(resolved.status_file))
    standards = None
    if resolved.letters is not None:
        standards = read_standards(files.get_source(resolved.standards_file), municipalities)
    def national(name: str):
        return files.get_source(national_path(name, resolved.data_dir))

    return PlanInputs(resolved=resolved, data=data, submissions=submissions, status=status,
                      status_illustrative=status_illustrative, standards=standards,
                      municipality_shapes=read_shapes(national("municipality_shapes"), "kommunenummer", "kommune",
                                                      municipalities.index),
                      county_shapes=read_shapes(national("county_shapes"), "fylke", "fylkesnavn",
                                                pd.Index(sorted(municipalities["fylke"].unique()))),
                      previous_year=year_of(data.history, plan.year - 1, municipalities.index))
