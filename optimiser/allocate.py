"""One plan, end to end in memory: targets -> model -> solve -> allocation table."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from optimiser import assemble, criteria, model, reallocate
from optimiser.data import PlanData, Submissions
from optimiser.diagnose import describe, diagnose
from optimiser.plan import Plan
from optimiser.reallocate import ReplanContext
from optimiser.solve import InfeasiblePlan, NotOptimal, SolveResult, SolveStatus, solve


@dataclass(frozen=True)
class PlanResult:
    targets: criteria.Targets
    inputs: model.ModelInputs
    result: SolveResult
    allocation: pd.DataFrame
    problem: pulp.LpProblem
    timings: dict
    # Re-plans: where each declined quota went (origin, receiver, persons, minutes).
    shortfalls: pd.DataFrame | None = None


def plan_inputs(data: PlanData, access: pd.DataFrame, plan: Plan, submissions: Submissions | None = None,
                replan: ReplanContext | None = None,
                found: criteria.Criteria | None = None) -> tuple[criteria.Targets, model.ModelInputs]:
    """Criteria -> targets -> the model's parameters (re-plan adjustments
    included); ``found``: the plan's criteria where already computed (they do
    not depend on the need)."""
    if found is None:
        found = criteria.criteria_of(data, access, plan.network.reasonable_travel_minutes, plan.year)
    targets = criteria.targets(data.municipalities["population"], found, plan.criteria, plan.need_persons)
    inputs = assemble.model_inputs(data, targets.frame["target"], access, plan, submissions)
    if replan is not None:
        inputs = reallocate.adjust(inputs, plan.replan, replan)
    return targets, inputs


def solved_inputs(data: PlanData, access: pd.DataFrame, plan: Plan, solvers: list,
                  submissions: Submissions | None = None,
                  replan: ReplanContext | None = None) -> tuple[criteria.Targets, model.ModelInputs]:
    """``plan_inputs`` and, for a minimal_change re-plan, the fewest new
    municipalities found by a first solve: the parameters of the model the
    plan is solved with."""
    targets, inputs = plan_inputs(data, access, plan, submissions, replan)
    return targets, reallocate.fewest_newly_asked(inputs, solvers)


def ladder_inputs(data: PlanData, access: pd.DataFrame, plan: Plan, submissions: Submissions | None,
                  replan: ReplanContext | None) -> Callable[[int], model.ModelInputs]:
    """The plan's parameters at each national need (``ladder_inputs(...)(need)``;
    the criteria computed once), without county recommendations (they are
    numbers for the plan's own need) and, in a ``spread`` re-plan, without
    asking every municipality the minimum (that floor appears at the need
    where it first fits, so the step before it could not be kept as a floor)."""
    if replan is not None:
        replan = dataclasses.replace(replan, ask_everyone=False)
    found = criteria.criteria_of(data, access, plan.network.reasonable_travel_minutes, plan.year)

    def at(need: int) -> model.ModelInputs:
        _, inputs = plan_inputs(data, access, dataclasses.replace(plan, need_persons=need), submissions, replan, found)
        m = inputs.municipalities.assign(recommended=np.nan, locked=False)
        return dataclasses.replace(inputs, name=f"{plan.name}@{need}", municipalities=m)
    return at


def solve_plan(data: PlanData, access: pd.DataFrame, plan: Plan, solvers: list,
               submissions: Submissions | None = None, replan: ReplanContext | None = None) -> PlanResult:
    timings = {}
    start = time.perf_counter()
    targets, inputs = solved_inputs(data, access, plan, solvers, submissions, replan)
    timings["criteria_seconds"] = time.perf_counter() - start

    start = time.perf_counter()
    prob, v = model.build_model(inputs)
    timings["build_seconds"] = time.perf_counter() - start

    result = solve(prob, solvers)
    timings["solve_seconds"] = result.solve_seconds
    if result.status is SolveStatus.INFEASIBLE:
        raise InfeasiblePlan(plan.name, describe(diagnose(inputs, solvers)))
    if result.status is SolveStatus.UNBOUNDED:
        raise InfeasiblePlan(plan.name, f"the solver reports the model {result.status.value}")
    if result.status is SolveStatus.NOT_SOLVED:
        raise NotOptimal(f"plan {plan.name}: the solver stopped at a limit before it found any allocation "
                         f"({result.pulp_status}); raise solver.time_limit_seconds")
    if result.status is SolveStatus.FEASIBLE and plan.solver.require_optimal:
        raise NotOptimal(f"plan {plan.name}: solver stopped at a limit with gap {result.gap}; "
                         "the plan requires proven optimality (raise solver.time_limit_seconds)")
    request = model.requests(v)
    allocation = allocation_table(data, targets, inputs, request, model.em_requests(v, data.codes))
    shortfalls = None
    if replan is not None:
        shortfalls = shortfall_flows(v, replan, inputs, request)
        received = shortfalls.groupby("receiver")["persons"].sum()
        allocation["previous"] = inputs.municipalities["previous"].astype(int).to_numpy()
        allocation["change"] = allocation["request"] - allocation["previous"]
        parts = reallocate.change_parts(inputs, request, received)
        for part in reallocate.CHANGE_PARTS:
            allocation[f"change_{part}"] = parts[part].to_numpy()
        allocation["change_reason"] = parts["reason"].to_numpy()
    return PlanResult(targets, inputs, result, allocation, prob, timings, shortfalls)


def shortfall_flows(v: model.ModelVars, ctx: ReplanContext, inputs: model.ModelInputs,
                    request: pd.Series) -> pd.DataFrame:
    """Persons of each declined quota and where they went.

    Flows within reach are the model's t_ij.  The persons an origin placed
    beyond reach (u_i, pooled in the model) go to the room left in the
    municipalities whose request grew, nearest first (any order is optimal:
    see ``model.add_shortfall_transfer``)."""
    def whole(var) -> int:
        return int(round(var.varValue or 0))

    rows = [(o, r, whole(var)) for (o, r), var in v.t.items() if whole(var) > 0]
    previous = inputs.municipalities["previous"].fillna(0)
    room = (request - previous).clip(lower=0)
    for _, r, persons in rows:
        room[r] -= persons
    for origin, var in v.u.items():
        left = whole(var)
        minutes = ctx.travel_minutes.loc[origin].drop(origin).sort_values(kind="stable")
        for receiver in minutes.index:
            if left <= 0:
                break
            take = int(min(left, room[receiver]))
            if take > 0:
                rows.append((origin, receiver, take))
                room[receiver] -= take
                left -= take
    flows = pd.DataFrame(rows, columns=["origin", "receiver", "persons"])
    flows = flows.groupby(["origin", "receiver"], as_index=False, sort=True)["persons"].sum()
    flows["minutes"] = [float(ctx.travel_minutes.at[o, r]) for o, r in zip(flows["origin"], flows["receiver"])]
    flows["within_reach"] = flows["minutes"] <= ctx.reasonable_minutes
    return flows


def allocation_table(data: PlanData, targets: criteria.Targets, inputs: model.ModelInputs,
                     request: pd.Series, em_request: pd.Series) -> pd.DataFrame:
    """One row per municipality, all of them, request 0 when not asked."""
    m = data.municipalities
    p = inputs.municipalities
    request = request.reindex(m.index).fillna(0).astype(int)
    return pd.DataFrame({
        "kommunenummer": m.index,
        "kommune": m["kommune"],
        "fylke": m["fylke"],
        "fylkesnavn": m["fylkesnavn"],
        "population": m["population"],
        "target": p["target"].round(3),
        "request": request,
        "base_capacity": p["base_capacity"],
        "extra_capacity": p["extra_capacity"],
        "extra_used": (request - p["base_capacity"]).clip(lower=0),
        "recommended": p["recommended"].astype("Int64"),
        "em_request": em_request.reindex(m.index).fillna(0).astype(int),
        "recommended_em": p["recommended_em"].astype("Int64"),
        "eligible": p["eligible"],
        "excluded_by": p["excluded_by"],
        **{c: p[c] for c in assemble.ACCESS_COLUMNS if c in p},
    }).reset_index(drop=True)
