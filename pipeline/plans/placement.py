"""A batch of arrivals resolved against a plan, once: the arrivals file and
the ledger read and hashed once, validated, and a fingerprint over them and
the plan's.

The batch name is the arrivals file's stem, a plain name like a plan's.  The
ledger is ``data/inputs/<plan>/placement_ledger.csv`` when it exists.  The
municipalities' room follows ``optimiser.place_room`` from the plan's inputs
and its published allocation.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimiser.criteria import criteria_of
from optimiser.place import PlaceParams, params_from
from optimiser.place_room import PlanRoom
from optimiser.place_year import counts_in_year
from optimiser.plan import SolverConfig
from pipeline.errors import InputError
from pipeline.inputs.arrivals import Arrivals, read_arrivals, read_ledger
from pipeline.inputs.catalog import PLACEMENT_LEDGER
from pipeline.inputs.source import Source
from pipeline.inputs.submissions import ANSWERS_FILE, submission_path
from pipeline.plans.inputs import PlanInputs, read_inputs
from pipeline.plans.load import check_name
from pipeline.plans.resolve import ResolvedPlan

# The placement's integer models stop within this relative gap of their own
# bound, half the 1 % the placement must reach against the LP bound over every
# pair (measured and reported with every placement, BENCHMARKS.md "Placement").
# They stop there, not at a clock: a model cut off by a time limit stops at a
# point that depends on how busy the machine is, so the same year placed twice
# gave different families beyond reach (599 to 904 in total cost).  Every
# placement model of the synthetic year reaches the gap by itself, the slowest
# in 17 s and 687 branch-and-bound nodes; the node limit bounds a search that
# would not (it stops at the same node on every machine), and the time limit
# is only a safety net, far enough out that a busy machine does not reach it
# (with 60 s the synthetic year, whose slowest week takes 37 s alone, gave
# 611.8 beside two other runs and 582.9 alone).  A model stopped at either says so (status feasible,
# with its gap).
PLACEMENT_MIP_REL_GAP = 0.005
PLACEMENT_NODES = 1_000
PLACEMENT_SECONDS = 300.0
# Batches with at most this many (class, municipality) columns are one integer
# model, larger ones are rounded along the LP (optimiser.place).  Measured on
# the synthetic year of 2022-03: a week's batch (4,000-9,500 columns, far from
# full) is placed nearer the optimum and mostly faster by the one model; the
# national batch (over 100,000) and a tight tenth of it (18,000; the bench's
# sample) only by rounding (0 % from the LP bound in 9 s, against 12 % after
# 60 s as one model).
PLACEMENT_EXACT_PAIRS = 10_000


@dataclass(frozen=True, eq=False)
class PlacementBatch:
    """One arrivals file against one resolved plan."""

    name: str
    resolved: ResolvedPlan
    arrivals_source: Source
    arrivals: Arrivals
    ledger_source: Source | None
    ledger: pd.DataFrame | None
    fingerprint: str

    @property
    def year(self) -> int:
        return self.resolved.plan.year

    def counted(self) -> pd.Series:
        """The year each household counts on (``optimiser.place_year.counts_in_year``)."""
        return counts_in_year(self.arrivals.households)

    def this_year(self) -> pd.DataFrame:
        """The households that count on the plan's year: the ones a placement places."""
        return self.arrivals.households[self.counted() == self.year].reset_index(drop=True)

    def carried(self) -> pd.DataFrame:
        """The households registered after new year, with ``counts_in_year``: they
        count on next year's decision, which this plan does not hold."""
        h = self.arrivals.households.assign(counts_in_year=self.counted())
        return h[h["counts_in_year"] != self.year].reset_index(drop=True)

    def input_hashes(self) -> dict[str, str]:
        """The files the batch read besides the plan's (path -> SHA-256)."""
        sources = [self.arrivals_source] + ([self.ledger_source] if self.ledger_source is not None else [])
        return {str(s.path): s.sha256 for s in sources}


def resolve_batch(resolved: ResolvedPlan, arrivals_path: Path | str) -> PlacementBatch:
    """Read, validate and fingerprint the arrivals at ``arrivals_path`` (and
    the plan's ledger) against ``resolved``; bad input is an ``InputError``."""
    path = Path(arrivals_path)
    name = check_name(path.stem, f"--arrivals {path}", "batch name (the arrivals file's stem)")
    inputs = read_inputs(resolved)
    codes = inputs.data.municipalities.index
    source = Source.read(path, "give the arrivals file with --arrivals")
    arrivals = read_arrivals(source, codes, resolved.plan.year)
    ledger_path = resolved.own_inputs / PLACEMENT_LEDGER
    ledger_source = Source.read(ledger_path) if ledger_path.is_file() else None
    ledger = None
    if ledger_source is not None:
        settled = inputs.status["settled"] if inputs.status is not None else None
        ledger = read_ledger(ledger_source, codes, settled)
    if not (counts_in_year(arrivals.households) == resolved.plan.year).any():
        raise InputError(str(path), f"no household counts on the decisions of {resolved.plan.year}",
                         "every one is registered after new year; place them against next year's plan")
    fingerprint = hashlib.sha256(json.dumps({
        "plan": resolved.fingerprint, "arrivals": source.sha256,
        "ledger": ledger_source.sha256 if ledger_source is not None else None}, sort_keys=True).encode()).hexdigest()
    return PlacementBatch(name=name, resolved=resolved, arrivals_source=source, arrivals=arrivals,
                          ledger_source=ledger_source, ledger=ledger, fingerprint=fingerprint)




def own_decisions(inputs: PlanInputs) -> pd.Series:
    """Decisions (vedtak) on the plan's own request: the ``decision`` column of
    the municipal answers, unless a re-plan borrowed its base plan's answers
    (decisions on another request)."""
    resolved = inputs.resolved
    answers = inputs.submissions.answers["decision"]
    own = resolved.own_inputs / ANSWERS_FILE
    if submission_path(ANSWERS_FILE, resolved.files, resolved.own_inputs, resolved.base_inputs) == own:
        return answers
    return answers.iloc[0:0]


def plan_room(inputs: PlanInputs, allocation: pd.DataFrame) -> PlanRoom:
    """What ``optimiser.place_room`` needs from the plan: its inputs and its
    published allocation (indexed by kommunenummer)."""
    answers = inputs.submissions.answers
    ks = inputs.submissions.ks
    status = inputs.status
    return PlanRoom(
        allocation=allocation[["request", "base_capacity", "extra_capacity"]],
        decisions=own_decisions(inputs), health_capacity=answers["complex_health_capacity"],
        em_capacity=answers["em_capacity"],
        settled=status["settled"] if status is not None else pd.Series(dtype=float),
        caps=ks.caps.astype(float) if ks is not None else pd.Series(dtype=float),
        complex_health_share=inputs.plan.submissions.complex_health_share)


def outcome_values(inputs: PlanInputs, access: pd.DataFrame) -> pd.Series | None:
    """Each municipality's outcome score (0..1): the plan's ``placement.outcome``
    criterion as the plan's own criteria compute it (``access`` from its
    network), or None when the plan prices no outcome."""
    plan = inputs.plan
    name = plan.placement.outcome
    if name is None or plan.placement.outcome_weight <= 0:
        return None
    found = criteria_of(inputs.data, access, plan.network.reasonable_travel_minutes, plan.year).indicators
    if name not in found.columns:
        raise InputError(str(inputs.resolved.plan_files[0]), f"placement.outcome: {name} has no data for this plan",
                         "supply its file under data/inputs/ or name another criterion")
    return found[name].rename("outcome")


def placement_params(resolved: ResolvedPlan) -> PlaceParams:
    """The placement's prices: the plan's ``placement`` section, with its reasonable travel time."""
    plan = resolved.plan
    return params_from(plan.placement, plan.network.reasonable_travel_minutes, exact_pairs=PLACEMENT_EXACT_PAIRS)


def placement_solver(resolved: ResolvedPlan) -> SolverConfig:
    """The plan's solvers, without HiGHS's presolve (it slows the placement
    models down, ``optimiser.place``), with the placement's gap, node limit
    and time limit (the plan's where those are smaller).  A model stopped at
    a limit keeps its best placement; the status and the gap say so."""
    plan = resolved.plan.solver
    nodes = PLACEMENT_NODES if plan.node_limit is None else min(PLACEMENT_NODES, plan.node_limit)
    return dataclasses.replace(plan, presolve=False, mip_rel_gap=PLACEMENT_MIP_REL_GAP, node_limit=nodes,
                               time_limit_seconds=min(PLACEMENT_SECONDS, plan.time_limit_seconds))
