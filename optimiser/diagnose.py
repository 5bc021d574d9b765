"""Infeasibility diagnosis: which hard limits conflict, and by how many persons.

When no allocation satisfies every hard limit, an *elastic* copy of the
model lets each hard limit be broken at a cost of 1 per person (or per
municipality, for the asked/not-asked switches) and minimises the total
breach.  The limits that must be broken in that cheapest relaxation are the
conflict a planner has to resolve, e.g. "county 18: receives at most 295,
the spread rule asks for at least 332: short by 37 persons".
"""
from __future__ import annotations

from dataclasses import dataclass

import pulp

from optimiser.model import ModelInputs, build_model
from optimiser.solve import solve

# Families that define deviations (objective terms), never limits.
SOFT_FAMILIES = ("target_deviation", "recommendation_deviation", "change_from_previous", "em_target_deviation")
TOLERANCE = 1e-6

EXPLAIN = {
    "national_need": "the national need cannot be met",
    "eligibility": "may not be asked (access rule or KS exclusion)",
    "minimum_size": "the minimum request",
    "capacity": "base + volunteered extra capacity",
    "base_capacity": "base capacity",
    "ks_cap": "the KS cap",
    "complex_health": "capacity for complex health needs",
    "lower_bound": "already settled or decided",
    "lock": "a locked county recommendation",
    "granularity": "requests in multiples of the granularity",
    "county_spread": "the county's minimum share (spread rule)",
    "em_quota": "the unaccompanied-minor quota cannot be met",
    "em_capacity": "EM capacity",
    "em_minimum": "the minimum EM request",
    "em_inside_total": "EM requests count inside the total",
}


@dataclass(frozen=True)
class Conflict:
    rule: str
    key: str
    amount: float
    text: str


def diagnose(inputs: ModelInputs, solvers: list) -> list[Conflict]:
    """The hard limits broken by the cheapest relaxation, largest breach first."""
    prob, v = build_model(inputs)
    for var in list(v.x) + list(v.e) + list(v.y):
        var.upBound = None  # variable bounds repeat explicit limits; let those carry the breach
    slacks: dict[str, list[pulp.LpVariable]] = {}
    for name, con in prob.constraints.items():
        if name.split(":")[0] in SOFT_FAMILIES:
            continue
        pair = []
        if con.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ):
            over = pulp.LpVariable(f"breach_over_{len(slacks)}", lowBound=0)
            con.addInPlace(-over)
            pair.append(over)
        if con.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ):
            under = pulp.LpVariable(f"breach_under_{len(slacks)}", lowBound=0)
            con.addInPlace(under)
            pair.append(under)
        slacks[name] = pair
    prob.setObjective(pulp.lpSum(_cost(name) * var for name, pair in slacks.items() for var in pair))
    result = solve(prob, solvers)
    if not result.status.has_solution:
        return [Conflict("model", "NO", 0.0, f"the relaxed model is {result.status.value} as well")]
    conflicts = []
    for name, pair in slacks.items():
        amount = sum(var.varValue or 0.0 for var in pair)
        if amount > TOLERANCE:
            rule, _, key = name.partition(":")
            conflicts.append(Conflict(rule, key, round(amount, 6), _text(rule, key, amount, inputs)))
    return sorted(conflicts, key=lambda c: (-c.amount, c.rule, c.key))


# Cost per unit of breach.  National totals, then the spread rule, then local
# limits: where several limits explain a conflict equally, the broadest is named.
BREACH_COST = {"national_need": 1.0, "em_quota": 1.0, "county_spread": 1.0005}
LOCAL_BREACH_COST = 1.001


def _cost(name: str) -> float:
    return BREACH_COST.get(name.split(":")[0], LOCAL_BREACH_COST)


def _text(rule: str, key: str, amount: float, inputs: ModelInputs) -> str:
    what = EXPLAIN.get(rule, rule)
    if rule == "county_spread":
        m = inputs.municipalities
        room = int(inputs.upper[m["fylke"] == key].sum())
        return (f"county {key}: {what} asks for at least {int(inputs.county_minimum[key])} persons, "
                f"its municipalities can take at most {room}: short by {amount:g}")
    if rule in ("national_need", "em_quota"):
        return f"{what}: short by {amount:g} persons"
    return f"{key}: {what} must be broken by {amount:g}"


def describe(conflicts: list[Conflict], limit: int = 5) -> str:
    """One line for the planner."""
    if not conflicts:
        return "no conflicting limits found"
    shown = "; ".join(c.text for c in conflicts[:limit])
    more = f"; and {len(conflicts) - limit} more" if len(conflicts) > limit else ""
    return f"conflicting limits: {shown}{more}"
