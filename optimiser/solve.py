"""The one place that calls ``.solve()``; PuLP statuses become ``SolveStatus``.

Trust ``sol_status`` as well as ``status``: PuLP reports a HiGHS time-out
with an incumbent as ``LpStatusOptimal`` but ``LpSolutionIntegerFeasible``.
The solver objects are built by ``pipeline`` and passed in, primary first.
"""
from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass

import pulp

log = logging.getLogger(__name__)


class SolveStatus(enum.Enum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible (stopped at a limit, not proven optimal)"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NOT_SOLVED = "not solved"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class InfeasiblePlan(RuntimeError):
    """No allocation satisfies the plan's hard limits."""

    def __init__(self, plan: str, detail: str = ""):
        self.plan = plan
        self.detail = detail
        super().__init__(f"plan {plan}: the model is infeasible" + (f": {detail}" if detail else ""))


class NotOptimal(RuntimeError):
    """The solver stopped at a limit and the plan demands proven optimality."""


@dataclass(frozen=True)
class SolveResult:
    status: SolveStatus
    pulp_status: str
    pulp_sol_status: str
    objective: float | None
    gap: float | None
    solver: str
    solver_version: str
    solve_seconds: float


def solve(prob: pulp.LpProblem, solvers: list) -> SolveResult:
    """Solve with the first solver that is available and does not error."""
    errors = []
    for solver in solvers:
        if not solver.available():
            errors.append(f"{solver.name}: not available")
            log.warning("solver %s not available, trying the next", solver.name)
            continue
        start = time.perf_counter()
        try:
            prob.solve(solver)
        except pulp.PulpSolverError as exc:
            errors.append(f"{solver.name}: {exc}")
            log.warning("solver %s failed (%s), trying the next", solver.name, exc)
            continue
        except KeyError as exc:
            if not _assign_highs_limit_status(prob, exc):
                raise
        seconds = time.perf_counter() - start
        status = _status(prob.status, prob.sol_status)
        result = SolveResult(
            status=status,
            pulp_status=pulp.LpStatus[prob.status],
            pulp_sol_status=pulp.LpSolution[prob.sol_status],
            objective=pulp.value(prob.objective) if status.has_solution else None,
            gap=_gap(prob, status),
            solver=solver.name,
            solver_version=_version(solver),
            solve_seconds=seconds,
        )
        if status is SolveStatus.FEASIBLE:
            log.warning("solver stopped at a limit: solution is feasible, not proven optimal (gap %s)", result.gap)
        return result
    raise RuntimeError("no solver could run: " + "; ".join(errors))


# HiGHS stops that PuLP's status table does not know (it raises KeyError after
# reading the solution): node, leaf and improving-solution limits end as
# kSolutionLimit, memory as kMemoryLimit, an interrupt as kHighsInterrupt.
HIGHS_LIMITS = ("kSolutionLimit", "kMemoryLimit", "kHighsInterrupt")


def _assign_highs_limit_status(prob: pulp.LpProblem, exc: KeyError) -> bool:
    """Give ``prob`` the status PuLP gives a HiGHS time-out: an incumbent is
    integer-feasible (never optimal), none is not solved.  False if ``exc``
    is not such a limit."""
    model = getattr(prob, "solverModel", None)
    stopped = exc.args[0] if exc.args else None
    if model is None or getattr(stopped, "name", None) not in HIGHS_LIMITS:
        return False
    if int(model.getInfo().primal_solution_status) == 2:  # kSolutionStatusFeasible
        prob.assignStatus(pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
    else:
        prob.assignStatus(pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
    return True


def _status(status: int, sol_status: int) -> SolveStatus:
    if sol_status == pulp.LpSolutionOptimal and status == pulp.LpStatusOptimal:
        return SolveStatus.OPTIMAL
    if sol_status == pulp.LpSolutionIntegerFeasible:
        return SolveStatus.FEASIBLE
    if status == pulp.LpStatusInfeasible or sol_status == pulp.LpSolutionInfeasible:
        return SolveStatus.INFEASIBLE
    if status == pulp.LpStatusUnbounded or sol_status == pulp.LpSolutionUnbounded:
        return SolveStatus.UNBOUNDED
    return SolveStatus.NOT_SOLVED


def _gap(prob: pulp.LpProblem, status: SolveStatus) -> float | None:
    if not status.has_solution:
        return None
    model = getattr(prob, "solverModel", None)
    if model is not None and hasattr(model, "getInfo"):
        gap = float(model.getInfo().mip_gap)
        # HiGHS reports an infinite gap for a problem without integer columns.
        return 0.0 if status is SolveStatus.OPTIMAL and not gap < float("inf") else gap
    return 0.0 if status is SolveStatus.OPTIMAL else None


def _version(solver) -> str:
    if solver.name == "HiGHS":
        import highspy
        h = highspy.Highs()
        return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"
    if hasattr(solver, "getVersion"):
        try:
            return str(solver.getVersion())
        except Exception:  # noqa: BLE001 - version is informative only
            return "unknown"
    return "unknown"
