"""The allocation MILP.

``build_model`` reads like a table of contents: variables, then one
``add_<rule>`` per constraint family in the order of the ministry's criteria,
then the objective.  Constraint names are ``<rule>:<key>`` (built through the
registry ``optimiser.rules``) so an infeasibility or a dual points at a rule
and a municipality or county.

Sets: municipalities m, counties c.  Parameters come from ``ModelInputs``.
Variables:
    x_m in Z>=0   request (persons)
    s_m in {0,1}  asked at all
    e_m in [0, extra_m]  part of x_m drawn from volunteered extra capacity
    d_m           deviation from the target, in bands (below)
    r_m           deviation from the county recommendation (where given), in bands
    k_m in Z>=0   x_m / g when the granularity g > 1
    y_m in Z>=0, z_m in {0,1}  unaccompanied-minor request and "asked for EM"
    f_m           deviation of y_m from its EM target, in bands
    c_m           change against the earlier plan (re-plans, minimal_change), in bands
    t_ij >= 0     persons of municipality i's declined quota placed in j (re-plans)

What a deviation costs.  Each deviation family is split, above and below its
reference, into bands of its share of the reference (``optimiser.bands``;
the plan's ``penalties.bands``, by default up to 10 %, 10-25 %, 25-50 % and
beyond 50 % of the reference at 1, 1.5, 2.5 and 4 per person) times the
family's weight (``penalties``).  The price of one more person rises with
the relative deviation, so a shortfall or surplus that must fall somewhere
is spread in proportion to the references instead of landing, all of it, on
whoever the tie-break names.  The bands are continuous and convex: the model
stays a MILP whose only integers are the requests and the asked switches.

Capacity rows are tight: x_m <= u_m s_m with u_m = min(base + extra, KS cap,
complex-health cap), x_m - e_m <= b_m s_m and e_m <= extra_m s_m, so the LP
relaxation cannot half-ask a municipality for its whole capacity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimiser.bands import BandVars, add_band_rows, add_even_shares, band_terms, band_vars, off_cost
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
    # Re-plans (minimal_change): price the change against ``previous``; and at
    # most this many municipalities not asked before may be asked (the fewest
    # possible, found by a first solve: ``optimiser.allocate``).
    price_change: bool = False
    newly_asked_limit: int | None = None

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
    k: pd.Series | None
    y: pd.Series
    z: pd.Series
    target_dev: BandVars
    rec_dev: BandVars
    em_dev: BandVars
    county_em_dev: BandVars
    change_dev: BandVars
    t: pd.Series  # index (origin, receiver): persons of a declined quota moved within reach
    u: pd.Series  # index origin: persons of a declined quota placed beyond reach
    one: pulp.LpVariable  # fixed at 1: carries the objective's constant into the model file
    # Objective terms of the spread of relative deviations (filled by add_even_deviations).
    evenness: list = field(default_factory=list)


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
    add_even_deviations(prob, v, inputs)
    add_shortfall_transfer(prob, v, inputs)
    add_newly_asked_limit(prob, v, inputs)
    set_objective(prob, v, inputs)
    return prob, v


def make_vars(prob: pulp.LpProblem, inputs: ModelInputs) -> ModelVars:
    m = inputs.municipalities
    codes = m.index
    upper = inputs.upper
    bands = inputs.penalties.bands
    has_rec = codes[m["recommended"].notna()]
    em = codes[(m["em_capacity"] > 0) & m["eligible"]] if inputs.em_need > 0 else codes[:0]
    has_prev = codes[m["previous"].notna()] if inputs.price_change else codes[:0]
    county_em = county_em_targets(inputs, em)

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
        k=_vars("k", codes, lowBound=0, cat=pulp.LpInteger) if inputs.granularity > 1 else None,
        y=y, z=_vars("z", em, cat=pulp.LpBinary),
        target_dev=band_vars(prob, "d", codes, m["target"], bands),
        rec_dev=band_vars(prob, "r", has_rec, m.loc[has_rec, "recommended"], bands),
        em_dev=band_vars(prob, "f", em, m.loc[em, "em_target"], bands),
        county_em_dev=band_vars(prob, "g", county_em.index, county_em, bands),
        change_dev=band_vars(prob, "c", has_prev, m.loc[has_prev, "previous"], bands),
        t=pd.Series({(o, r): prob.add_variable(f"t_{o}_{r}", lowBound=0)
                     for o, r in zip(inputs.shortfall_pairs["origin"], inputs.shortfall_pairs["receiver"])},
                    dtype=object),
        u=_vars("u", inputs.shortfall.index, lowBound=0),
        one=prob.add_variable("objective_constant", lowBound=1, upBound=1),
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
    """x_m <= u_m * s_m with u_m = min(b_m + e̅_m, KS cap, health cap): capacity
    to scale, and x_m = 0 unless asked."""
    for c, x, s, cap in zip(inputs.municipalities.index, v.x, v.s, inputs.upper):
        prob += x <= int(cap) * s, row("capacity", c)


def add_extra_capacity_tier(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - e_m <= b_m * s_m and e_m <= e̅_m * s_m: persons beyond base capacity
    come from volunteered extra, and neither is open unless the municipality is asked."""
    m = inputs.municipalities
    for c, x, e, s, base, extra in zip(m.index, v.x, v.e, v.s, m["base_capacity"], m["extra_capacity"]):
        prob += x - e <= int(base) * s, row("base_capacity", c)
        if extra > 0:
            prob += e <= int(extra) * s, row("extra_capacity", c)


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
    """sum y_m = EM need; L_em z_m <= y_m <= em_capacity_m z_m; y_m <= x_m;
    y_m and each county's sum of y_m priced against their EM targets (bands)."""
    if inputs.em_need <= 0:
        return
    prob += pulp.lpSum(v.y) == inputs.em_need, row("em_quota", "NO")
    m = inputs.municipalities.loc[v.y.index]
    for c, y, z, x, cap in zip(v.y.index, v.y, v.z, v.x[v.y.index], m["em_capacity"]):
        prob += y <= int(cap) * z, row("em_capacity", c)
        if inputs.em_minimum > 0:
            prob += y >= inputs.em_minimum * z, row("em_minimum", c)
        prob += y <= x, row("em_inside_total", c)
    add_band_rows(prob, "em_target_deviation", v.y, m["em_target"], v.em_dev, row,
                  switch=switched(v.z, m["em_target"], inputs.em_minimum))
    fylke = m["fylke"]
    per_county = pd.Series({county: pulp.lpSum(v.y[fylke.index[fylke == county]]) for county in v.county_em_dev.index},
                           dtype=object)
    add_band_rows(prob, "county_em_deviation", per_county, county_em_targets(inputs, v.y.index), v.county_em_dev, row)


def county_em_targets(inputs: ModelInputs, em: pd.Index) -> pd.Series:
    """Each county's EM target: the sum of its EM-capable municipalities' EM targets.
    Priced in bands as well, so that where the EM minimum makes the
    municipalities' share round to 0 or more, every county still gets about
    its share of the EM need (rounding spread over counties, not by code)."""
    m = inputs.municipalities.loc[em]
    return m["em_target"].groupby(m["fylke"], sort=True).sum().astype(float)


def add_target_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - target_m = bands above - bands below; where the target is small
    next to the minimum request, or the municipality may be newly asked in a
    re-plan, x_m - target_m s_m with each band at most its width times s_m
    (not asked, the whole target is the shortfall)."""
    m = inputs.municipalities
    add_band_rows(prob, "target_deviation", v.x, m["target"], v.target_dev, row, switch=target_switches(v, inputs))


def add_recommendation_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - r_m = bands above - bands below, where the county authority
    recommended r_m (switched by s_m where r_m is small, as the target is)."""
    m = inputs.municipalities
    add_band_rows(prob, "recommendation_deviation", v.x, m["recommended"], v.rec_dev, row,
                  switch=switched(v.s[v.rec_dev.index], m["recommended"], m["min_request"]))


# A deviation is switched by "asked at all" where its reference is below this
# many times the minimum request: there the choice between 0 and the minimum
# is close and the LP relaxation needs the switch to see it.
SWITCH_BELOW_MINIMA = 3


def target_switches(v: ModelVars, inputs: ModelInputs) -> pd.Series:
    """The switches of the target deviation: small targets, and in a re-plan
    every municipality that may be newly asked (asking it is the choice there)."""
    m = inputs.municipalities
    small = switched(v.s, m["target"], m["min_request"])
    new = v.s[newly_askable(inputs).difference(small.index)] if inputs.price_change else v.s[:0]
    return pd.concat([small, new]).reindex(v.s.index).dropna()


def switched(switch: pd.Series, reference: pd.Series, minimum) -> pd.Series:
    """The switch variables of the keys whose reference is small next to the minimum."""
    small = reference.reindex(switch.index) < SWITCH_BELOW_MINIMA * (
        minimum.reindex(switch.index) if isinstance(minimum, pd.Series) else minimum)
    return switch[small.to_numpy()]


def add_even_deviations(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """The spread of the relative deviations from the county recommendations
    and of the counties' EM totals from their EM targets, above and below
    (``optimiser.bands.add_even_shares``): priced a little in the objective,
    it spreads a shortfall or surplus evenly inside a band, so recommendations
    that all ask a fifth too much each get a fifth less.  Above a
    recommendation only where it is not small (a small one asked for the
    minimum would set the largest share above by itself).  Target deviations
    are left to the bands alone: they come from limits, not from a common
    shortfall, and the spread would only slow the solve."""
    m = inputs.municipalities
    p = inputs.penalties
    if len(v.rec_dev.index):
        small = switched(pd.Series(v.rec_dev.index, index=v.rec_dev.index), m["recommended"], m["min_request"]).index
        terms = add_even_shares(prob, "recommendation", v.rec_dev, v.rec_dev.index.difference(small),
                                v.rec_dev.index, m["recommended"], p.bands, row)
        v.evenness.extend((var, sign * p.deviation_from_recommendation * p.uneven_shares) for var, sign in terms)
    if len(v.county_em_dev.index):
        terms = add_even_shares(prob, "county_em", v.county_em_dev, v.county_em_dev.index, v.county_em_dev.index,
                                county_em_targets(inputs, v.y.index), p.bands, row)
        v.evenness.extend((var, sign * p.deviation_from_target * p.uneven_shares) for var, sign in terms)


def add_change_from_previous(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - previous_m = bands above - bands below (re-plans, minimal_change:
    disruption against the earlier plan)."""
    add_band_rows(prob, "change_from_previous", v.x, inputs.municipalities["previous"], v.change_dev, row)


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

    g_j = x_j - previous_j: in a re-plan with a rising need no receiver falls
    below its previous request (its lower bound), and a municipality that
    declined receives nothing."""
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
    growth = {c: v.x[c] - float(previous[c]) for c in m.index}
    for receiver in sorted(received):
        prob += pulp.lpSum(received[receiver]) <= growth[receiver], row("shortfall_received", receiver)
    pool = [c for c in m.index[m["previous"].notna()] if c not in inputs.shortfall.index]
    within_pool = [var for (_, r), var in v.t.items() if r not in inputs.shortfall.index]
    prob += (pulp.lpSum(v.u) + pulp.lpSum(within_pool) <= pulp.lpSum(growth[c] for c in pool),
             row("shortfall_beyond_reach", "NO"))


def add_newly_asked_limit(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum of s_m over municipalities not asked before <= the limit (re-plans,
    minimal_change: the fewest new municipalities that make the plan feasible)."""
    if inputs.newly_asked_limit is None:
        return
    new = newly_askable(inputs)
    prob += pulp.lpSum(v.s[new]) <= int(inputs.newly_asked_limit), row("newly_asked_limit", "NO")


def newly_askable(inputs: ModelInputs) -> pd.Index:
    """Municipalities not asked in the earlier plan that may be asked now and
    need not be (nothing settled or decided there)."""
    m = inputs.municipalities
    return m.index[(m["previous"] == 0) & m["eligible"] & (m["lower_bound"] == 0)]


def set_objective(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """min banded deviations (target, recommendation, EM target, change against
    the earlier plan) + extra-capacity penalty + cost beyond reach + tie-break
    - a small preference per municipality asked."""
    p = inputs.penalties
    n = len(v.x)
    # Tie-break: distinct coefficients in [t, 2t) per person on x, the
    # municipality with the larger target first (then code order), so
    # equal-cost optima resolve the same way every run, for any row order and
    # any renumbering of municipalities with different targets; the EM
    # requests y get the same coefficients so their split is as determined.
    rank = tie_break_rank(inputs.municipalities["target"])
    terms = [(x, p.tie_break * (1 + i / n)) for i, x in zip(rank, v.x)]
    terms += [(y, p.tie_break * (1 + i / n)) for i, y in zip(rank[v.y.index], v.y)]
    terms += [(e, p.extra_capacity) for e in v.e]
    terms += [(s, -p.ask_preference) for s in v.s]
    m = inputs.municipalities
    constant = 0.0
    for bands, weight, reference, switch in (
            (v.target_dev, p.deviation_from_target, m["target"], target_switches(v, inputs)),
            (v.rec_dev, p.deviation_from_recommendation, m["recommended"],
             switched(v.s[v.rec_dev.index], m["recommended"], m["min_request"])),
            (v.em_dev, p.deviation_from_target, m["em_target"], switched(v.z, m["em_target"], inputs.em_minimum)),
            (v.county_em_dev, p.deviation_from_target, None, pd.Series(dtype=object)),
            (v.change_dev, p.change_from_previous, None, pd.Series(dtype=object))):
        terms += band_terms(bands, p.bands, weight)
        if len(switch):
            # Where switched and not asked, the whole reference is the shortfall: off_k (1 - switch_k).
            reference = reference.reindex(switch.index)
            off = off_cost(reference, reference, p.bands, weight)
            terms += [(switch[k], -float(c)) for k, c in off.items()]
            constant += float(off.sum())
    terms += [(var, inputs.shortfall_outside_cost) for var in v.u]
    terms += v.evenness
    terms.append((v.one, constant))
    prob.setObjective(pulp.LpAffineExpression(terms))


def tie_break_rank(target: pd.Series) -> pd.Series:
    """0 for the largest target, then down; equal targets in code order."""
    order = sorted(target.index, key=lambda c: (-float(target[c]), str(c)))
    return pd.Series(range(len(order)), index=order).reindex(target.index)


def newly_asked_objective(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """The first stage of a minimal_change re-plan: as few new municipalities as possible."""
    prob.setObjective(pulp.LpAffineExpression([(s, 1.0) for s in v.s[newly_askable(inputs)]]))


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
