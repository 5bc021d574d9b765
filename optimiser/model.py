"""The allocation MILP.

``build_model`` reads like a table of contents: variables, then one
``add_<rule>`` per constraint family in the order of the ministry's criteria,
then the objective.  Constraint names are ``<rule>:<key>`` so an infeasibility
or a dual points at a rule and a municipality or county.

Sets: municipalities m, counties c.  Parameters come from ``ModelInputs``.
Variables:
    x_m in Z>=0   request (persons)
    s_m in {0,1}  asked at all
    e_m in [0, extra_m]  part of x_m drawn from volunteered extra capacity
    d+_m, d-_m >= 0      deviation from the target
    r+_m, r-_m >= 0      deviation from the county recommendation (where given)
    k_m in Z>=0   x_m / g when the granularity g > 1
    y_m in Z>=0, z_m in {0,1}  unaccompanied-minor request and "asked for EM"
    f+_m, f-_m >= 0      deviation of y_m from its EM target
    c+_m, c-_m >= 0      change against the earlier plan (re-plans)
    t_ij >= 0     persons of municipality i's declined quota placed in j (re-plans)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimiser.plan import Penalties
from optimiser.rules import row

# Columns ModelInputs.municipalities must carry (see ModelInputs).
MODEL_COLUMNS = (
    "fylke", "target", "base_capacity", "extra_capacity", "min_request",
    "lower_bound", "eligible", "recommended", "locked", "cap", "health_cap",
    "em_capacity", "em_target", "previous",
)


@dataclass(frozen=True)
class ModelInputs:
    """Parameters of one allocation, all in persons.

    municipalities: index kommunenummer, columns ``MODEL_COLUMNS``:
      target          N * target share (float)
      base_capacity   b_m;  extra_capacity: volunteered extra e̅_m
      min_request     L_m: 0 or at least this (the minimum-10 rule, or a KS exception)
      lower_bound     l_m: already settled / decided (re-plans)
      eligible        False: not asked (access rule, KS exclusion)
      recommended     county recommendation r_m, NaN where none
      locked          True: x_m == recommended
      cap             KS cap (hard), NaN where none
      health_cap      most persons the stated capacity for complex health
                      needs allows (capacity / expected share), NaN where none
      em_capacity     capacity for unaccompanied minors (0: not asked for EM)
      em_target       EM target (persons, float)
      previous        request in the earlier plan (re-plans), NaN otherwise
    county_minimum: index fylke, persons each county receives at least.
    em_need: unaccompanied minors the municipalities receive in all.
    """

    name: str
    need: int
    granularity: int
    municipalities: pd.DataFrame
    county_minimum: pd.Series
    penalties: Penalties = field(default_factory=Penalties)
    em_need: int = 0
    em_minimum: int = 0
    # School regions (optimiser.network): kommunenummer -> the municipality with
    # the nearest upper-secondary school; with a cap, persons a region receives at most.
    school_region: pd.Series | None = None
    school_region_cap: int | None = None
    # Re-plans (optimiser.reallocate): persons each declining municipality
    # gave back, the (origin, receiver) pairs within the reasonable travel time
    # they move along at no cost, and the cost per person placed beyond it.
    shortfall: pd.Series = field(default_factory=lambda: pd.Series(dtype=int))
    shortfall_pairs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"origin": [], "receiver": []}))
    shortfall_outside_cost: float = 0.0

    @property
    def upper(self) -> pd.Series:
        return capacity_upper(self.municipalities)


def capacity_upper(frame: pd.DataFrame) -> pd.Series:
    """Largest request each municipality can be given: min(b + e̅, KS cap,
    health cap) if eligible, else 0."""
    upper = (frame["base_capacity"] + frame["extra_capacity"]).astype(float)
    for limit in ("cap", "health_cap"):
        upper = upper.where(frame[limit].isna(), np.minimum(upper, frame[limit]))
    return upper.where(frame["eligible"], 0).astype(int)


@dataclass(frozen=True)
class ModelVars:
    x: pd.Series
    s: pd.Series
    e: pd.Series
    dplus: pd.Series
    dminus: pd.Series
    rplus: pd.Series
    rminus: pd.Series
    k: pd.Series | None
    y: pd.Series
    z: pd.Series
    fplus: pd.Series
    fminus: pd.Series
    cplus: pd.Series
    cminus: pd.Series
    t: pd.Series  # index (origin, receiver): persons of a declined quota moved within reach
    u: pd.Series  # index origin: persons of a declined quota placed beyond reach


def build_model(inputs: ModelInputs) -> tuple[pulp.LpProblem, ModelVars]:
    prob = pulp.LpProblem(f"allocation_{_safe(inputs.name)}", pulp.LpMinimize)
    v = make_vars(prob, inputs)
    add_national_need(prob, v, inputs)
    add_eligibility(prob, v, inputs)
    add_minimum_size(prob, v, inputs)
    add_capacity(prob, v, inputs)
    add_extra_capacity_tier(prob, v, inputs)
    add_ks_caps(prob, v, inputs)
    add_complex_health(prob, v, inputs)
    add_lower_bounds(prob, v, inputs)
    add_locks(prob, v, inputs)
    add_granularity(prob, v, inputs)
    add_county_spread(prob, v, inputs)
    add_school_region_cap(prob, v, inputs)
    add_unaccompanied_minors(prob, v, inputs)
    add_target_deviation(prob, v, inputs)
    add_recommendation_deviation(prob, v, inputs)
    add_change_from_previous(prob, v, inputs)
    add_shortfall_transfer(prob, v, inputs)
    set_objective(prob, v, inputs)
    return prob, v


def make_vars(prob: pulp.LpProblem, inputs: ModelInputs) -> ModelVars:
    m = inputs.municipalities
    codes = m.index
    upper = inputs.upper
    has_rec = codes[m["recommended"].notna()]
    em = codes[(m["em_capacity"] > 0) & m["eligible"]] if inputs.em_need > 0 else codes[:0]
    has_prev = codes[m["previous"].notna()]

    def _vars(prefix: str, index, **kw) -> pd.Series:
        return pd.Series([prob.add_variable(f"{prefix}_{c}", **kw) for c in index], index=index, dtype=object)

    x = pd.Series([prob.add_variable(f"x_{c}", lowBound=0, upBound=int(u), cat=pulp.LpInteger)
                   for c, u in zip(codes, upper)], index=codes, dtype=object)
    e = pd.Series([prob.add_variable(f"e_{c}", lowBound=0, upBound=int(u))
                   for c, u in zip(codes, m["extra_capacity"])], index=codes, dtype=object)
    y = pd.Series([prob.add_variable(f"y_{c}", lowBound=0, upBound=int(u), cat=pulp.LpInteger)
                   for c, u in zip(em, m.loc[em, "em_capacity"])], index=em, dtype=object)
    return ModelVars(
        x=x, s=_vars("s", codes, cat=pulp.LpBinary), e=e,
        dplus=_vars("dplus", codes, lowBound=0), dminus=_vars("dminus", codes, lowBound=0),
        rplus=_vars("rplus", has_rec, lowBound=0), rminus=_vars("rminus", has_rec, lowBound=0),
        k=_vars("k", codes, lowBound=0, cat=pulp.LpInteger) if inputs.granularity > 1 else None,
        y=y, z=_vars("z", em, cat=pulp.LpBinary),
        fplus=_vars("fplus", em, lowBound=0), fminus=_vars("fminus", em, lowBound=0),
        cplus=_vars("cplus", has_prev, lowBound=0), cminus=_vars("cminus", has_prev, lowBound=0),
        t=pd.Series({(o, r): prob.add_variable(f"t_{o}_{r}", lowBound=0)
                     for o, r in zip(inputs.shortfall_pairs["origin"], inputs.shortfall_pairs["receiver"])},
                    dtype=object),
        u=_vars("u", inputs.shortfall.index, lowBound=0),
    )


def add_national_need(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_m x_m = N (persons, exact)."""
    prob += pulp.lpSum(v.x) == inputs.need, row("national_need", "NO")


def add_eligibility(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """s_m = 0 where the municipality may not be asked (access rule, KS exclusion)."""
    sel = inputs.municipalities.index[~inputs.municipalities["eligible"]]
    for c, s in zip(sel, v.s[sel]):
        prob += s == 0, row("eligibility", c)


def add_minimum_size(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """L_m * s_m <= x_m: as a rule nobody asked is asked for fewer than the minimum."""
    m = inputs.municipalities
    sel = m.index[m["min_request"] > 0]
    for c, x, s, low in zip(sel, v.x[sel], v.s[sel], m.loc[sel, "min_request"]):
        prob += x >= int(low) * s, row("minimum_size", c)


def add_capacity(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= (b_m + e̅_m) * s_m: capacity to scale, and x_m = 0 unless asked."""
    m = inputs.municipalities
    total = (m["base_capacity"] + m["extra_capacity"]).where(m["eligible"], 0)
    for c, x, s, cap in zip(m.index, v.x, v.s, total):
        prob += x <= int(cap) * s, row("capacity", c)


def add_extra_capacity_tier(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - e_m <= b_m: persons beyond base capacity come from volunteered extra."""
    m = inputs.municipalities
    for c, x, e, base in zip(m.index, v.x, v.e, m["base_capacity"]):
        prob += x - e <= int(base), row("base_capacity", c)


def add_ks_caps(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= cap_m: KS's caps are hard limits."""
    m = inputs.municipalities
    sel = m.index[m["cap"].notna()]
    for c, x, cap in zip(sel, v.x[sel], m.loc[sel, "cap"]):
        prob += x <= int(cap), row("ks_cap", c)


def add_complex_health(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= health_cap_m: the expected persons with complex health needs
    (share * x_m) never exceed the municipality's stated capacity for them."""
    m = inputs.municipalities
    sel = m.index[m["health_cap"].notna()]
    for c, x, cap in zip(sel, v.x[sel], m.loc[sel, "health_cap"]):
        prob += x <= int(cap), row("complex_health", c)


def add_lower_bounds(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m >= l_m: never below what is settled or decided."""
    m = inputs.municipalities
    sel = m.index[m["lower_bound"] > 0]
    for c, x, low in zip(sel, v.x[sel], m.loc[sel, "lower_bound"]):
        prob += x >= int(low), row("lower_bound", c)


def add_locks(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m = r_m where the county's recommendation is locked."""
    m = inputs.municipalities
    sel = m.index[m["locked"]]
    for c, x, rec in zip(sel, v.x[sel], m.loc[sel, "recommended"]):
        prob += x == int(rec), row("lock", c)


def add_granularity(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m = g * k_m: requests in multiples of g persons."""
    if v.k is None:
        return
    for c, x, k in zip(inputs.municipalities.index, v.x, v.k):
        prob += x == inputs.granularity * k, row("granularity", c)


def add_county_spread(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_{m in c} x_m >= minimum_c: settlement spread over every county."""
    fylke = inputs.municipalities["fylke"]
    for county, minimum in inputs.county_minimum.items():
        if minimum > 0:
            members = fylke.index[fylke == county]
            prob += pulp.lpSum(v.x[members]) >= int(minimum), row("county_spread", county)


def add_school_region_cap(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_{m in r} x_m <= cap for each school region r: upper-secondary capacity
    in the region limits what the municipalities sharing its school receive."""
    if inputs.school_region is None or inputs.school_region_cap is None:
        return
    region = inputs.school_region.reindex(inputs.municipalities.index).dropna()
    for school, members in region.groupby(region, sort=True).groups.items():
        prob += pulp.lpSum(v.x[members]) <= int(inputs.school_region_cap), row("school_region_cap", school)


def add_unaccompanied_minors(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum y_m = EM need; L_em z_m <= y_m <= em_capacity_m z_m; y_m <= x_m."""
    if inputs.em_need <= 0:
        return
    prob += pulp.lpSum(v.y) == inputs.em_need, row("em_quota", "NO")
    m = inputs.municipalities.loc[v.y.index]
    for c, y, z, x, fplus, fminus, cap, target in zip(
            v.y.index, v.y, v.z, v.x[v.y.index], v.fplus, v.fminus, m["em_capacity"], m["em_target"]):
        prob += y <= int(cap) * z, row("em_capacity", c)
        if inputs.em_minimum > 0:
            prob += y >= inputs.em_minimum * z, row("em_minimum", c)
        prob += y <= x, row("em_inside_total", c)
        prob += y - fplus + fminus == float(target), row("em_target_deviation", c)


def add_target_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - target_m = d+_m - d-_m."""
    m = inputs.municipalities
    for c, x, dplus, dminus, target in zip(m.index, v.x, v.dplus, v.dminus, m["target"]):
        prob += x - dplus + dminus == float(target), row("target_deviation", c)


def add_recommendation_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - r_m = r+_m - r-_m where the county authority recommended r_m."""
    sel = v.rplus.index
    rec = inputs.municipalities.loc[sel, "recommended"]
    for c, x, rplus, rminus, r in zip(sel, v.x[sel], v.rplus, v.rminus, rec):
        prob += x - rplus + rminus == float(r), row("recommendation_deviation", c)


def add_change_from_previous(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - previous_m = c+_m - c-_m (re-plans: disruption against the earlier plan)."""
    sel = v.cplus.index
    previous = inputs.municipalities.loc[sel, "previous"]
    for c, x, cplus, cminus, prev in zip(sel, v.x[sel], v.cplus, v.cminus, previous):
        prob += x - cplus + cminus == float(prev), row("change_from_previous", c)


def add_shortfall_transfer(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """A declined quota moves to municipalities whose request grows:
    sum_j t_ij + u_i = shortfall_i, with t_ij (within reach, free) and u_i
    (beyond reach, at a cost per person in the objective).

    What j receives within reach is at most its growth g_j; everything placed
    beyond reach must fit, with what is received within reach, into the growth
    of the municipalities that did not decline:
    sum_i u_i + sum_{i, j not declining} t_ij <= sum_{j not declining} g_j.
    One pooled row instead of a variable per (origin, far municipality) pair is
    exact: the cost beyond reach is the same for every far municipality, and
    at an optimum no room within reach of an origin with u_i > 0 is left over
    (moving a person there would save the cost), so the pooled persons can be
    given to the far municipalities' leftover room in any order
    (``optimiser.allocate.shortfall_flows`` reports the nearest first).

    g_j = x_j - previous_j where j cannot fall below its previous request
    (lower bound >= previous); where it can, c+_j (growth or more: the solver
    may raise c+_j and c-_j together at 2 * change_from_previous per person)."""
    if v.u.empty:
        return
    m = inputs.municipalities
    moved = {origin: [] for origin in inputs.shortfall.index}
    received: dict[str, list] = {}
    for (origin, receiver), var in v.t.items():
        moved[origin].append(var)
        received.setdefault(receiver, []).append(var)
    for origin, persons in inputs.shortfall.items():
        prob += pulp.lpSum(moved[origin]) + v.u[origin] == int(persons), row("shortfall_placed", origin)
    previous = m["previous"].fillna(0)
    growth = {c: (v.x[c] - float(previous[c]) if m.at[c, "lower_bound"] >= previous[c] else v.cplus[c])
              for c in v.cplus.index}
    for receiver in sorted(received):
        prob += pulp.lpSum(received[receiver]) <= growth[receiver], row("shortfall_received", receiver)
    pool = [c for c in v.cplus.index if c not in inputs.shortfall.index]
    within_pool = [var for (_, r), var in v.t.items() if r not in inputs.shortfall.index]
    prob += (pulp.lpSum(v.u) + pulp.lpSum(within_pool) <= pulp.lpSum(growth[c] for c in pool),
             row("shortfall_beyond_reach", "NO"))


def set_objective(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """min deviation + extra-capacity penalty + recommendation penalty
    + EM deviation + change and newly-asked penalties (re-plans) + tie-break."""
    p = inputs.penalties
    m = inputs.municipalities
    n = len(v.x)
    # Tie-break: distinct coefficients in [t, 2t) on x, by code order, so
    # equal-cost optima resolve the same way every run and for any row order.
    not_asked_before = v.cplus.index[m.loc[v.cplus.index, "previous"] == 0]
    # position in code order, whatever the row order; the EM requests y get the
    # same coefficients so their split is as determined as the totals'.
    rank = pd.Series(v.x.index.argsort(kind="stable").argsort(), index=v.x.index)
    terms = [(x, p.tie_break * (1 + i / n)) for i, x in zip(rank, v.x)]
    terms += [(y, p.tie_break * (1 + i / n)) for i, y in zip(rank[v.y.index], v.y)]
    for variables, weight in (
        (v.dplus, p.deviation_from_target), (v.dminus, p.deviation_from_target),
        (v.e, p.extra_capacity),
        (v.rplus, p.deviation_from_recommendation), (v.rminus, p.deviation_from_recommendation),
        (v.fplus, p.deviation_from_target), (v.fminus, p.deviation_from_target),
        (v.cplus, p.change_from_previous), (v.cminus, p.change_from_previous),
        (v.s[not_asked_before], p.newly_asked),
    ):
        terms += [(var, weight) for var in variables]
    terms += [(var, inputs.shortfall_outside_cost) for var in v.u]
    prob.setObjective(pulp.LpAffineExpression(terms))


def requests(v: ModelVars) -> pd.Series:
    """The integer request per municipality from a solved model."""
    return _values(v.x).rename("request")


def em_requests(v: ModelVars, index: pd.Index) -> pd.Series:
    """The integer unaccompanied-minor request per municipality (0 where none)."""
    return _values(v.y).reindex(index, fill_value=0).astype(int).rename("em_request")


def _values(variables: pd.Series) -> pd.Series:
    return variables.map(lambda var: int(round(var.varValue or 0))).astype(int)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
