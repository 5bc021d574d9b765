"""Honest solver status: a solve stopped at a limit is reported as such, with
its gap, never as optimal; a plan that demands proven optimality then fails.

The limits are HiGHS options passed through ``pulp.HiGHS(**options)`` and are
deterministic (single thread, fixed seed): ``mip_max_improving_sols=1`` stops
at the first incumbent, ``mip_max_nodes=0`` before any branch-and-bound node
(no incumbent yet), ``time_limit=0`` at once.  Both of the first two end in
HiGHS's kSolutionLimit, which PuLP's status table does not know.
"""
from __future__ import annotations

import functools

import numpy as np
import pulp
import pytest

from optimiser import model
from optimiser.allocate import plan_inputs, solve_plan
from optimiser.plan import CapacityRule, SolverConfig, SpreadConfig
from optimiser.solve import NotOptimal, SolveStatus, _status, solve
from optimiser.verify import verify
from tests.factories import make_access, make_plan, make_plan_data


def limited(**options) -> list:
    return [pulp.HiGHS(msg=False, threads=1, random_seed=0, gapRel=1e-5, **options)]


def hard_case(require_optimal: bool = True):
    """40 municipalities in 4 counties, need 1000 in multiples of 5, minimum 10,
    2 + 1 places per 1,000 inhabitants, every county at least 90 % of its
    targets: HiGHS's first incumbent is far from the optimum."""
    population = np.random.default_rng(0).integers(800, 30000, 40).tolist()
    data = make_plan_data(population, fylke=[f"{i % 4 + 1:02d}" for i in range(40)])
    plan = make_plan(need_persons=1000, granularity_persons=5, capacity=CapacityRule(2.0, 1.0),
                     spread=SpreadConfig(0.9), solver=SolverConfig(require_optimal=require_optimal))
    return data, make_access(data), plan


@functools.cache
def hard_inputs() -> model.ModelInputs:
    data, access, plan = hard_case()
    return plan_inputs(data, access, plan)[1]


def solved(solvers):
    prob, v = model.build_model(hard_inputs())
    return solve(prob, solvers), model.requests(v)


@functools.cache
def optimum() -> float:
    result, _ = solved(limited())
    assert result.status is SolveStatus.OPTIMAL
    assert result.gap <= 1e-5
    return result.objective


def test_stopped_at_first_incumbent_is_feasible_with_its_gap_never_optimal():
    result, request = solved(limited(mip_max_improving_sols=1))
    assert result.status is SolveStatus.FEASIBLE
    assert result.pulp_sol_status == "Solution Found"
    # The incumbent is genuinely worse than the proven optimum, and the gap
    # (objective - bound) / objective is at least what the optimum shows
    # (the bound never exceeds the optimum).
    assert result.objective > optimum() + 1
    assert result.gap >= (result.objective - optimum()) / result.objective
    # It is still a valid allocation.
    assert verify(hard_inputs(), request) == []


@pytest.mark.parametrize("options", [{"mip_max_nodes": 0}, {"timeLimit": 0}], ids=["node_limit", "time_limit"])
def test_stopped_before_any_incumbent_is_not_solved(options):
    result, _ = solved(limited(**options))
    assert result.status is SolveStatus.NOT_SOLVED
    assert not result.status.has_solution
    assert result.objective is None and result.gap is None


def test_plan_demanding_proven_optimality_fails_at_a_limit():
    data, access, plan = hard_case(require_optimal=True)
    with pytest.raises(NotOptimal, match=r"solver stopped at a limit with gap 0\.\d+"):
        solve_plan(data, access, plan, limited(mip_max_improving_sols=1))


def test_plan_accepting_a_limit_reports_feasible_and_its_gap():
    data, access, plan = hard_case(require_optimal=False)
    result = solve_plan(data, access, plan, limited(mip_max_improving_sols=1))
    assert result.result.status is SolveStatus.FEASIBLE
    assert result.result.gap > 0
    request = result.allocation.set_index("kommunenummer")["request"]
    assert request.sum() == 1000
    assert verify(result.inputs, request, result.allocation.set_index("kommunenummer")["em_request"]) == []


def test_same_plan_without_a_limit_is_optimal():
    data, access, plan = hard_case(require_optimal=True)
    result = solve_plan(data, access, plan, limited())
    assert result.result.status is SolveStatus.OPTIMAL
    assert result.result.objective == pytest.approx(optimum(), rel=1e-9)


@pytest.mark.parametrize("status, sol_status, expected", [
    (pulp.LpStatusOptimal, pulp.LpSolutionOptimal, SolveStatus.OPTIMAL),
    # PuLP's HiGHS and CBC interfaces report a time-out with an incumbent as
    # status "Optimal" but solution "Solution Found": feasible, not optimal.
    (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible, SolveStatus.FEASIBLE),
    (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound, SolveStatus.NOT_SOLVED),
    (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible, SolveStatus.INFEASIBLE),
    (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded, SolveStatus.UNBOUNDED),
], ids=["optimal", "time_limit_with_incumbent", "not_solved", "infeasible", "unbounded"])
def test_pulp_statuses_map_honestly(status, sol_status, expected):
    assert _status(status, sol_status) is expected
