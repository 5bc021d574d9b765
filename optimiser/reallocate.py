"""Mid-year re-plan and the need ladder.

A re-plan starts from the parameters of a fresh plan at the new need (the
criteria targets at that need) and adds what has happened since the base
plan (``adjust``).  Under both policies:

* never below what is settled: l_m >= settled_m;
* not below the decision unless the need falls: l_m >= decision_m, and a
  municipality that decided plans on its decision as base capacity, beyond
  it only from the extra it volunteers if the need grows;
* a falling need is taken from the plan proportionally: the target becomes
  previous_m * N_new / N_base, never below settled, keeping 0-or-minimum.

``replan.policy: spread`` (IMDi's practice in March 2022): the new need is
spread by the criteria over every eligible municipality: each that has not
declined and has room is asked at least the minimum request when the need
leaves room for that (the floors with every such municipality at the minimum
do not exceed the need; otherwise the criteria choose whom to ask anew), and
what each was asked (if it has not decided), decided or settled is its floor; volunteered
extra capacity is room like any other, and the criteria and the relative
bands decide where the need goes.

``replan.policy: minimal_change``: the earlier plan changes as little as
possible.  Each person changed against it is priced (in bands of the
earlier request); a municipality that decided less than asked gives back
its shortfall, placed within the reasonable travel time where there is room
(``shortfall`` pairs, a price per person beyond reach); volunteered extra
capacity is used before any new municipality is asked, and new ones only
as many as needed: a first solve finds the fewest (``fewest_newly_asked``),
the second finds the best plan with no more than that many.

The need ladder (``ladder``) solves an increasing list of needs with
x(N_k) >= x(N_{k-1}): no municipality's request falls when the need rises
(house monotonicity, which formula keys are known to break).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.diagnose import describe, diagnose
from optimiser.model import ModelInputs, build_model, em_requests, newly_askable, newly_asked_objective, requests
from optimiser.plan import ReplanConfig
from optimiser.solve import InfeasiblePlan, SolveStatus, solve
from optimiser.verify import verify, verify_ladder, violations_line


@dataclass(frozen=True)
class ReplanContext:
    """What the re-plan knows beyond a fresh plan.

    previous: request per municipality in the base plan.
    status: index kommunenummer; ``settled`` (persons this year), ``decision``
      (vedtak, NaN if none), ``extra_capacity`` (volunteered, NaN if none).
    base_need: the base plan's national need.
    travel_minutes: square frame of travel minutes between municipalities.
    reasonable_minutes: the plan's reasonable travel time.
    ask_everyone: a ``spread`` re-plan asks every eligible municipality at
      least the minimum where the need leaves room; the need ladder turns it
      off (a floor that appears at one need would break the ladder's
      monotone steps; see ``ladder_inputs``).
    """

    previous: pd.Series
    status: pd.DataFrame
    base_need: int
    travel_minutes: pd.DataFrame
    reasonable_minutes: float
    ask_everyone: bool = True


POLICIES = ("spread", "minimal_change")


def adjust(inputs: ModelInputs, cfg: ReplanConfig, ctx: ReplanContext) -> ModelInputs:
    """The plan's parameters turned into a re-plan's (see module docstring)."""
    m = inputs.municipalities.copy()
    codes = m.index
    previous = ctx.previous.reindex(codes).fillna(0).astype(int)
    status = ctx.status.reindex(codes)
    settled = status["settled"].fillna(0).astype(int)
    decision = status["decision"]
    falling = inputs.need < ctx.base_need
    spread = cfg.policy == "spread"

    if cfg.all_municipalities_eligible:
        m["eligible"] = m["excluded_by"] != "ks_exclusion"
        m.loc[m["eligible"], "excluded_by"] = ""
    volunteered = status["extra_capacity"]
    m["extra_capacity"] = volunteered.where(volunteered.notna(), m["extra_capacity"]).astype(int)

    decided = decision.notna()
    declined = decided & (decision < previous)
    m["decision"] = decision.where(decided, m["decision"])
    m["base_capacity"] = decision.where(decided, m["base_capacity"]).astype(int)
    shortfall = pd.Series(dtype=int)
    if falling:
        m = with_lower_bound(m, settled)
        m["target"] = previous * (inputs.need / ctx.base_need)
    else:
        # A rising need lowers nobody: the floor is what was decided, or asked where nothing is decided yet.
        asked = decision.where(decided, previous).fillna(0)
        m = with_lower_bound(m, np.maximum(settled, asked).astype(int))
        if spread and ctx.ask_everyone:
            room = m["base_capacity"] + m["extra_capacity"] >= m["min_request"]
            everyone = (m["eligible"] & ~declined & room).astype(int) * m["min_request"]
            # Only where the need leaves room for it: below that, the criteria choose whom to ask anew.
            if np.maximum(m["lower_bound"], everyone).sum() <= inputs.need:
                m = with_lower_bound(m, everyone)
        else:
            shortfall = (previous - decision)[declined & (decision >= settled)].astype(int)
    # Whoever must keep what is settled (or asked) can always hold it.
    m["base_capacity"] = np.maximum(m["base_capacity"], m["lower_bound"])
    m["previous"] = previous.astype(float)
    shortfall = shortfall[shortfall > 0]
    penalties = dataclasses.replace(inputs.penalties, extra_capacity=0.0) if spread else inputs.penalties
    return dataclasses.replace(inputs, municipalities=m, shortfall=shortfall,
                               shortfall_pairs=shortfall_pairs(shortfall, ctx.travel_minutes, ctx.reasonable_minutes),
                               shortfall_outside_cost=cfg.shortfall_outside_reach, penalties=penalties,
                               price_change=not spread)


def with_lower_bound(m: pd.DataFrame, low: pd.Series) -> pd.DataFrame:
    """Requests of at least ``low`` (on top of the frame's own lower bounds);
    a municipality that must be asked becomes eligible whatever the access rule."""
    m = m.assign(lower_bound=np.maximum(m["lower_bound"], low.reindex(m.index).fillna(0)).astype(int))
    m["eligible"] = m["eligible"] | (m["lower_bound"] > 0)
    return m


def fewest_newly_asked(inputs: ModelInputs, solvers: list) -> ModelInputs:
    """``inputs`` with ``newly_asked_limit`` set to the fewest municipalities not
    asked before that a feasible plan needs (a minimal_change re-plan's first
    solve); unchanged for other plans or when nobody new could be asked."""
    if not inputs.price_change or not len(newly_askable(inputs)):
        return inputs
    prob, v = build_model(inputs)
    newly_asked_objective(prob, v, inputs)
    result = solve(prob, solvers)
    if result.status is SolveStatus.INFEASIBLE:
        raise InfeasiblePlan(inputs.name, describe(diagnose(inputs, solvers)))
    if result.status is not SolveStatus.OPTIMAL:
        raise InfeasiblePlan(inputs.name, f"the fewest new municipalities: {result.status.value}")
    return dataclasses.replace(inputs, newly_asked_limit=int(round(result.objective)))


def shortfall_pairs(shortfall: pd.Series, travel: pd.DataFrame, reasonable_minutes: float) -> pd.DataFrame:
    """(origin, receiver) pairs within the reasonable travel time a declined quota may move along;
    a municipality that declined part of its own number receives none of another's."""
    rows = []
    for origin in shortfall.index[shortfall > 0]:
        minutes = travel.loc[origin].drop(shortfall.index[shortfall > 0])
        near = minutes[minutes <= reasonable_minutes]
        rows.append(pd.DataFrame({"origin": origin, "receiver": near.index, "minutes": near.to_numpy()}))
    if not rows:
        return pd.DataFrame({"origin": [], "receiver": [], "minutes": []})
    return pd.concat(rows, ignore_index=True)


# The parts a re-plan's change splits into (persons; they add up to request - previous).
CHANGE_PARTS = ("declined", "newly_asked", "need_rose", "extra_capacity", "shortfall_received", "need_fell")


def change_parts(inputs: ModelInputs, request: pd.Series, received: pd.Series) -> pd.DataFrame:
    """Each municipality's change against the earlier plan, split into its parts.

    declined            decision - previous where it decided less (negative);
    newly_asked         the whole request of a municipality not asked before;
    extra_capacity      growth above the base capacity (volunteered extra);
    shortfall_received  growth received of others' declined quotas within reach;
    need_rose           the rest of the growth;
    need_fell           a fall (a falling need).

    ``reason`` names the parts that are not zero, joined by " + ", or "unchanged".
    """
    m = inputs.municipalities
    previous = m["previous"].fillna(0)
    request = request.reindex(m.index).fillna(0)
    parts = pd.DataFrame(0, index=m.index, columns=list(CHANGE_PARTS), dtype=int)
    new = previous == 0
    parts["newly_asked"] = request.where(new, 0).astype(int)
    decision = m["decision"] if "decision" in m else pd.Series(np.nan, index=m.index)
    declined = m.index.isin(inputs.shortfall.index) | (decision.notna() & (decision < previous) & ~new)
    parts["declined"] = (decision - previous).where(declined, 0).fillna(0).astype(int)
    start = previous + parts["declined"]
    growth = (request - start).where(~new, 0)
    rise = growth.clip(lower=0)
    parts["need_fell"] = growth.clip(upper=0).astype(int)
    parts["extra_capacity"] = np.minimum(rise, (request - m["base_capacity"]).clip(lower=0)).astype(int)
    left = rise - parts["extra_capacity"]
    parts["shortfall_received"] = np.minimum(left, received.reindex(m.index).fillna(0)).astype(int)
    parts["need_rose"] = (left - parts["shortfall_received"]).astype(int)
    labels = [name.replace("_", " ") for name in CHANGE_PARTS]
    parts["reason"] = [" + ".join(label for label, value in zip(labels, row) if value) or "unchanged"
                       for row in parts[list(CHANGE_PARTS)].itertuples(index=False)]
    return parts


def ladder(make_inputs: Callable[[int], ModelInputs], needs: list[int], solvers: list,
           progress: Callable[[int, int, int], None] | None = None) -> pd.DataFrame:
    """Requests per municipality (rows) for each need (columns), never falling as the need rises."""
    if any(b <= a for a, b in zip(needs, needs[1:])):
        raise ValueError("ladder needs must be strictly increasing")
    columns = {}
    floor = None
    for step, need in enumerate(needs):
        inputs = make_inputs(need)
        if floor is not None:
            inputs = dataclasses.replace(inputs, municipalities=with_lower_bound(inputs.municipalities, floor))
        inputs = fewest_newly_asked(inputs, solvers)
        prob, v = build_model(inputs)
        result = solve(prob, solvers)
        if not result.status.has_solution:
            raise InfeasiblePlan(inputs.name, f"ladder step {need}: {result.status.value}")
        floor = requests(v)
        _no_violations(f"ladder step {need}", verify(inputs, floor, em_requests(v, floor.index)))
        columns[need] = floor
        if progress:
            progress(step + 1, len(needs), need)
    table = pd.DataFrame(columns).rename_axis("kommunenummer")
    _no_violations("ladder", verify_ladder(table))
    return table


class LadderNotVerified(RuntimeError):
    """A ladder step broke a hard rule, or a request fell as the need rose."""


def _no_violations(what: str, violations: list) -> None:
    if violations:
        raise LadderNotVerified(f"{what}: {violations_line(violations)}")

