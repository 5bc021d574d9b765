"""Mid-year re-plan and the need ladder.

A re-plan starts from the parameters of a fresh plan at the new need and
adds what has happened since the base plan (``adjust``):

* never below what is settled: l_m >= settled_m;
* not below the decision unless the need falls: l_m >= decision_m;
* a municipality that decided less than asked takes at most its decision
  (plus any extra it volunteers if the need grows), and its shortfall must
  be placed elsewhere, preferably within the reasonable travel time
  (``shortfall`` pairs, penalised per person beyond reach);
* minimal disruption: a penalty per person changed against the base plan
  and one per municipality asked that was not asked before, raised
  (``only_when_needed``) above what moving all its persons elsewhere could
  save, so base and volunteered extra capacity of those already asked are
  used before a new municipality is asked, at the minimum size or more;
* a falling need is taken from the plan proportionally: the target becomes
  previous_m * N_new / N_base, never below settled, keeping 0-or-minimum;
  a decision is still the municipality's base capacity.

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

from optimiser.model import ModelInputs, build_model, capacity_upper, em_requests, requests
from optimiser.plan import Penalties, ReplanConfig
from optimiser.solve import InfeasiblePlan, solve
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
    """

    previous: pd.Series
    status: pd.DataFrame
    base_need: int
    travel_minutes: pd.DataFrame
    reasonable_minutes: float


def adjust(inputs: ModelInputs, cfg: ReplanConfig, ctx: ReplanContext) -> ModelInputs:
    """The plan's parameters turned into a re-plan's (see module docstring)."""
    m = inputs.municipalities.copy()
    codes = m.index
    previous = ctx.previous.reindex(codes).fillna(0).astype(int)
    status = ctx.status.reindex(codes)
    settled = status["settled"].fillna(0).astype(int)
    decision = status["decision"]
    falling = inputs.need < ctx.base_need

    if cfg.all_municipalities_eligible:
        m["eligible"] = m["excluded_by"] != "ks_exclusion"
        m.loc[m["eligible"], "excluded_by"] = ""
    volunteered = status["extra_capacity"]
    m["extra_capacity"] = volunteered.where(volunteered.notna(), m["extra_capacity"]).astype(int)

    decided = decision.notna()
    declined = decided & (decision < previous)
    # Decided municipalities plan on their decision as base capacity, whichever
    # way the need moves (beyond it only from extra capacity).
    m["base_capacity"] = decision.where(decided, m["base_capacity"]).astype(int)
    if not falling:
        m = with_lower_bound(m, np.maximum(settled, decision.fillna(0)).astype(int))
        shortfall = (previous - decision)[declined & (decision >= settled)].astype(int)
    else:
        m = with_lower_bound(m, settled)
        m["target"] = previous * (inputs.need / ctx.base_need)
        shortfall = pd.Series(dtype=int)
    # Whoever must keep what is settled can always hold it.
    m["base_capacity"] = np.maximum(m["base_capacity"], m["lower_bound"])
    m["previous"] = previous.astype(float)
    pairs = shortfall_pairs(shortfall, ctx.travel_minutes, ctx.reasonable_minutes)
    return dataclasses.replace(inputs, name=inputs.name, municipalities=m,
                               shortfall=shortfall[shortfall > 0], shortfall_pairs=pairs,
                               shortfall_outside_cost=cfg.shortfall_outside_reach,
                               penalties=only_when_needed(m, inputs.penalties, cfg.shortfall_outside_reach))


def with_lower_bound(m: pd.DataFrame, low: pd.Series) -> pd.DataFrame:
    """Requests of at least ``low`` (on top of the frame's own lower bounds);
    a municipality that must be asked becomes eligible whatever the access rule."""
    m = m.assign(lower_bound=np.maximum(m["lower_bound"], low.reindex(m.index).fillna(0)).astype(int))
    m["eligible"] = m["eligible"] | (m["lower_bound"] > 0)
    return m


def only_when_needed(frame: pd.DataFrame, p: Penalties, outside_reach: float) -> Penalties:
    """Penalties under which a municipality not asked before is asked only when needed.

    Moving one person from such a municipality to room left (base or
    volunteered extra) in one already asked changes the rest of the objective
    by at most ``per_person``: target deviation at both ends for the request
    and an EM request inside it, the extra-capacity and recommendation
    penalties, the change at both ends, a declined quota rerouted beyond reach
    and the tie-break.  Asking it must cost more than moving all it can take.
    """
    new = frame.index[frame["previous"] == 0]
    most = int(capacity_upper(frame.loc[new]).max()) if len(new) else 0
    per_person = (4 * p.deviation_from_target + p.extra_capacity + 2 * p.deviation_from_recommendation
                  + 2 * p.change_from_previous + outside_reach + 4 * p.tie_break)
    return dataclasses.replace(p, newly_asked=max(p.newly_asked, per_person * most + 1))


def shortfall_pairs(shortfall: pd.Series, travel: pd.DataFrame, reasonable_minutes: float) -> pd.DataFrame:
    """(origin, receiver) pairs within the reasonable travel time a declined quota may move along."""
    rows = []
    for origin in shortfall.index[shortfall > 0]:
        minutes = travel.loc[origin].drop(origin)
        near = minutes[minutes <= reasonable_minutes]
        rows.append(pd.DataFrame({"origin": origin, "receiver": near.index, "minutes": near.to_numpy()}))
    if not rows:
        return pd.DataFrame({"origin": [], "receiver": [], "minutes": []})
    return pd.concat(rows, ignore_index=True)


REASONS = ("declined", "shortfall received", "newly asked", "extra capacity", "need fell", "need rose", "unchanged")


def change_reasons(inputs: ModelInputs, request: pd.Series, received: pd.Series) -> pd.Series:
    """One reason per municipality for its change against the base plan."""
    m = inputs.municipalities
    previous = m["previous"].fillna(0)
    change = request - previous
    reason = pd.Series("unchanged", index=m.index)
    reason[change > 0] = "need rose"
    reason[(change > 0) & (request > m["base_capacity"])] = "extra capacity"
    reason[(change > 0) & (previous == 0)] = "newly asked"
    reason[received.reindex(m.index).fillna(0) > 0] = "shortfall received"
    reason[change < 0] = "need fell"
    reason[m.index.isin(inputs.shortfall.index)] = "declined"
    return reason


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

