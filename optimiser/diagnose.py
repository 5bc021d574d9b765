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

from optimiser import rules
from optimiser.model import ModelInputs, build_model
from optimiser.solve import solve

TOLERANCE = 1e-6


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
    # (constraint name, "over" | "under") -> breach variable: "over" lets the
    # left-hand side exceed a <= or = limit, "under" fall short of a >= or = limit.
    slacks: dict[tuple[str, str], pulp.LpVariable] = {}
    for con in prob.constraints():
        if rules.family(con.name) in rules.SOFT:
            continue
        if con.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ):
            over = prob.add_variable(f"breach_over_{len(slacks)}", lowBound=0)
            con.addInPlace(-over)
            slacks[con.name, "over"] = over
        if con.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ):
            under = prob.add_variable(f"breach_under_{len(slacks)}", lowBound=0)
            con.addInPlace(under)
            slacks[con.name, "under"] = under
    prob.setObjective(pulp.lpSum(_cost(name) * var for (name, _), var in slacks.items()))
    result = solve(prob, solvers)
    if not result.status.has_solution:
        return [Conflict("model", "NO", 0.0, f"the relaxed model is {result.status.value} as well")]
    conflicts = []
    for (name, direction), var in slacks.items():
        amount = var.varValue or 0.0
        if amount > TOLERANCE:
            rule, _, key = name.partition(":")
            conflicts.append(Conflict(rule, key, round(amount, 6), _text(rule, key, amount, direction, inputs)))
    return sorted(conflicts, key=lambda c: (-c.amount, c.rule, c.key))


# Cost per unit of breach.  National totals, then the spread rule, then local
# limits: where several limits explain a conflict equally, the broadest is named.
BREACH_COST = {"national_need": 1.0, "em_quota": 1.0, "county_spread": 1.0005}
LOCAL_BREACH_COST = 1.001


def _cost(name: str) -> float:
    return BREACH_COST.get(rules.family(name), LOCAL_BREACH_COST)


def _text(rule: str, key: str, amount: float, direction: str, inputs: ModelInputs) -> str:
    what = rules.RULES[rule].words
    if rule == "county_spread":
        m = inputs.municipalities
        members = m[m["fylke"] == key]
        minimum = int(inputs.county_minimum[key])
        # A locked municipality takes exactly its recommendation, whatever its capacity.
        room = int(inputs.upper[members.index].where(~members["locked"], members["recommended"]).sum())
        locks = ", ".join(f"{c} locked at {int(r)}" for c, r in members.loc[members["locked"], "recommended"].items())
        can_take = (f", its municipalities can take at most {room}" + (f" ({locks})" if locks else "")
                    if room < minimum else "")
        return f"county {key}: {what} asks for at least {minimum} persons{can_take}: short by {amount:g}"
    if rule in ("national_need", "em_quota"):
        need = inputs.need if rule == "national_need" else inputs.em_need
        if direction == "over":
            return f"{what}: other limits force {amount:g} persons more than the {need} asked for"
        m = inputs.municipalities
        room = int(inputs.upper.sum() if rule == "national_need" else m["em_capacity"][m["eligible"]].sum())
        can_take = f" (the municipalities can take at most {room})" if room < need else ""
        return f"{what}: {need} persons asked for, short by {amount:g} persons{can_take}"
    return f"{key}: {what} must be broken by {amount:g}"


def describe(conflicts: list[Conflict], limit: int = 5) -> str:
    """One line for the planner."""
    if not conflicts:
        return "no conflicting limits found"
    shown = "; ".join(c.text for c in conflicts[:limit])
    more = f"; and {len(conflicts) - limit} more" if len(conflicts) > limit else ""
    return f"conflicting limits: {shown}{more}"
