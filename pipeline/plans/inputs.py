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
    data = plan_data(resolved)
    municipalities = data.municipalities
    submissions = plan_submissions(resolved, data)
    status, status_illustrative = None, False
    if resolved.status_file is not None:
        status, status_illustrative = read_status(plan, municipalities, files.get_source(resolved.status_file))
    standards, municipality_shapes, county_shapes = plan_documents(resolved, municipalities)
    return PlanInputs(resolved=resolved, data=data, submissions=submissions, status=status,
                      status_illustrative=status_illustrative, standards=standards,
                      municipality_shapes=municipality_shapes, county_shapes=county_shapes,
                      previous_year=year_of(data.history, plan.year - 1, municipalities.index))


# Inputs parsed for plans that differ only in what the parse does not depend
# on (a sweep's scenarios): kind -> key -> value, a few keys at most per kind.
_PARSED: dict[str, dict[tuple, object]] = {}
PARSED_KEYS = 8


def _parsed_once(kind: str, key: tuple, parse):
    parsed = _PARSED.setdefault(kind, {})
    if key not in parsed:
        while len(parsed) >= PARSED_KEYS:
            parsed.pop(next(iter(parsed)))
        parsed[key] = parse()
    return parsed[key]


def _data_key(resolved: ResolvedPlan) -> tuple:
    plan = resolved.plan
    return (str(resolved.data_dir), plan.name, plan.year, plan.population_year,
            tuple(sorted(resolved.files.hashes().items())))


def plan_data(resolved: ResolvedPlan) -> PlanData:
    """``read_plan_data`` for ``resolved``, parsed once per process for every
    plan with the same files, data folder, name, year and population year
    (all that ``read_plan_data`` reads of a plan)."""
    return _parsed_once("data", _data_key(resolved),
                        lambda: read_plan_data(resolved.plan, resolved.files, resolved.data_dir))


def plan_submissions(resolved: ResolvedPlan, data: PlanData) -> Submissions:
    """``read_submissions`` for ``resolved``, parsed once per process for every
    plan with the same data and the same year, need, EM quota and submission
    rules (all that ``read_submissions`` reads of a plan: the checks compare
    recommendations with the need)."""
    plan = resolved.plan
    key = (_data_key(resolved), str(resolved.own_inputs), str(resolved.base_inputs), plan.year,
           plan.need_persons, plan.unaccompanied_minors, plan.submissions)
    return _parsed_once("submissions", key, lambda: read_submissions(
        plan, data.municipalities, resolved.files, resolved.own_inputs, resolved.base_inputs))


def plan_documents(resolved: ResolvedPlan, municipalities: pd.DataFrame) -> tuple:
    """What the documents read besides the run: the written standards (when the plan
    writes letters, else None) and the municipality and county shapes; parsed once
    per process for every plan with the same files (a sweep's scenarios write no
    documents and should not parse them again)."""
    files = resolved.files

    def parse():
        def national(name: str):
            return files.get_source(national_path(name, resolved.data_dir))

        standards = None
        if resolved.letters is not None:
            standards = read_standards(files.get_source(resolved.standards_file), municipalities)
        return (standards,
                read_shapes(national("municipality_shapes"), "kommunenummer", "kommune", municipalities.index),
                read_shapes(national("county_shapes"), "fylke", "fylkesnavn",
                            pd.Index(sorted(municipalities["fylke"].unique()))))

    key = (_data_key(resolved), resolved.letters is not None, str(resolved.standards_file))
    return _parsed_once("documents", key, parse)
