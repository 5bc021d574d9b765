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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimiser.plan import Penalties

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


def build_model(inputs: ModelInputs) -> tuple[pulp.LpProblem, ModelVars]:
    prob = pulp.LpProblem(f"allocation_{_safe(inputs.name)}", pulp.LpMinimize)
    v = make_vars(inputs)
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
    set_objective(prob, v, inputs)
    return prob, v


def _vars(prefix: str, index, **kw) -> pd.Series:
    return pd.Series({c: pulp.LpVariable(f"{prefix}_{c}", **kw) for c in index}, dtype=object)


def make_vars(inputs: ModelInputs) -> ModelVars:
    m = inputs.municipalities
    codes = m.index
    upper = inputs.upper
    has_rec = codes[m["recommended"].notna()]
    em = codes[(m["em_capacity"] > 0) & m["eligible"]] if inputs.em_need > 0 else codes[:0]
    has_prev = codes[m["previous"].notna()]
    x = pd.Series({c: pulp.LpVariable(f"x_{c}", lowBound=0, upBound=int(upper[c]), cat=pulp.LpInteger)
                   for c in codes}, dtype=object)
    e = pd.Series({c: pulp.LpVariable(f"e_{c}", lowBound=0, upBound=int(m.at[c, "extra_capacity"]))
                   for c in codes}, dtype=object)
    y = pd.Series({c: pulp.LpVariable(f"y_{c}", lowBound=0, upBound=int(m.at[c, "em_capacity"]), cat=pulp.LpInteger)
                   for c in em}, dtype=object)
    return ModelVars(
        x=x, s=_vars("s", codes, cat=pulp.LpBinary), e=e,
        dplus=_vars("dplus", codes, lowBound=0), dminus=_vars("dminus", codes, lowBound=0),
        rplus=_vars("rplus", has_rec, lowBound=0), rminus=_vars("rminus", has_rec, lowBound=0),
        k=_vars("k", codes, lowBound=0, cat=pulp.LpInteger) if inputs.granularity > 1 else None,
        y=y, z=_vars("z", em, cat=pulp.LpBinary),
        fplus=_vars("fplus", em, lowBound=0), fminus=_vars("fminus", em, lowBound=0),
        cplus=_vars("cplus", has_prev, lowBound=0), cminus=_vars("cminus", has_prev, lowBound=0),
    )


def add_national_need(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_m x_m = N (persons, exact)."""
    prob += pulp.lpSum(v.x) == inputs.need, "national_need:NO"


def add_eligibility(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """s_m = 0 where the municipality may not be asked (access rule, KS exclusion)."""
    for c in inputs.municipalities.index[~inputs.municipalities["eligible"]]:
        prob += v.s[c] == 0, f"eligibility:{c}"


def add_minimum_size(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """L_m * s_m <= x_m: as a rule nobody asked is asked for fewer than the minimum."""
    m = inputs.municipalities
    for c in m.index[m["min_request"] > 0]:
        prob += v.x[c] >= int(m.at[c, "min_request"]) * v.s[c], f"minimum_size:{c}"


def add_capacity(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= (b_m + e̅_m) * s_m: capacity to scale, and x_m = 0 unless asked."""
    m = inputs.municipalities
    total = (m["base_capacity"] + m["extra_capacity"]).where(m["eligible"], 0)
    for c in m.index:
        prob += v.x[c] <= int(total[c]) * v.s[c], f"capacity:{c}"


def add_extra_capacity_tier(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - e_m <= b_m: persons beyond base capacity come from volunteered extra."""
    m = inputs.municipalities
    for c in m.index:
        prob += v.x[c] - v.e[c] <= int(m.at[c, "base_capacity"]), f"base_capacity:{c}"


def add_ks_caps(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= cap_m: KS's caps are hard limits."""
    m = inputs.municipalities
    for c in m.index[m["cap"].notna()]:
        prob += v.x[c] <= int(m.at[c, "cap"]), f"ks_cap:{c}"


def add_complex_health(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m <= health_cap_m: the expected persons with complex health needs
    (share * x_m) never exceed the municipality's stated capacity for them."""
    m = inputs.municipalities
    for c in m.index[m["health_cap"].notna()]:
        prob += v.x[c] <= int(m.at[c, "health_cap"]), f"complex_health:{c}"


def add_lower_bounds(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m >= l_m: never below what is settled or decided."""
    m = inputs.municipalities
    for c in m.index[m["lower_bound"] > 0]:
        prob += v.x[c] >= int(m.at[c, "lower_bound"]), f"lower_bound:{c}"


def add_locks(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m = r_m where the county's recommendation is locked."""
    m = inputs.municipalities
    for c in m.index[m["locked"]]:
        prob += v.x[c] == int(m.at[c, "recommended"]), f"lock:{c}"


def add_granularity(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m = g * k_m: requests in multiples of g persons."""
    if v.k is None:
        return
    for c in inputs.municipalities.index:
        prob += v.x[c] == inputs.granularity * v.k[c], f"granularity:{c}"


def add_county_spread(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_{m in c} x_m >= minimum_c: settlement spread over every county."""
    fylke = inputs.municipalities["fylke"]
    for county, minimum in inputs.county_minimum.items():
        if minimum > 0:
            members = fylke.index[fylke == county]
            prob += pulp.lpSum(v.x[members]) >= int(minimum), f"county_spread:{county}"


def add_school_region_cap(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum_{m in r} x_m <= cap for each school region r: upper-secondary capacity
    in the region limits what the municipalities sharing its school receive."""
    if inputs.school_region is None or inputs.school_region_cap is None:
        return
    region = inputs.school_region.reindex(inputs.municipalities.index).dropna()
    for school, members in region.groupby(region, sort=True).groups.items():
        prob += pulp.lpSum(v.x[members]) <= int(inputs.school_region_cap), f"school_region_cap:{school}"


def add_unaccompanied_minors(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """sum y_m = EM need; L_em z_m <= y_m <= em_capacity_m z_m; y_m <= x_m."""
    if inputs.em_need <= 0:
        return
    prob += pulp.lpSum(v.y) == inputs.em_need, "em_quota:NO"
    m = inputs.municipalities
    for c in v.y.index:
        prob += v.y[c] <= int(m.at[c, "em_capacity"]) * v.z[c], f"em_capacity:{c}"
        if inputs.em_minimum > 0:
            prob += v.y[c] >= inputs.em_minimum * v.z[c], f"em_minimum:{c}"
        prob += v.y[c] <= v.x[c], f"em_inside_total:{c}"
        prob += v.y[c] - v.fplus[c] + v.fminus[c] == float(m.at[c, "em_target"]), f"em_target_deviation:{c}"


def add_target_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - target_m = d+_m - d-_m."""
    target = inputs.municipalities["target"]
    for c in target.index:
        prob += v.x[c] - v.dplus[c] + v.dminus[c] == float(target[c]), f"target_deviation:{c}"


def add_recommendation_deviation(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - r_m = r+_m - r-_m where the county authority recommended r_m."""
    rec = inputs.municipalities["recommended"]
    for c in v.rplus.index:
        prob += v.x[c] - v.rplus[c] + v.rminus[c] == float(rec[c]), f"recommendation_deviation:{c}"


def add_change_from_previous(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - previous_m = c+_m - c-_m (re-plans: disruption against the earlier plan)."""
    previous = inputs.municipalities["previous"]
    for c in v.cplus.index:
        prob += v.x[c] - v.cplus[c] + v.cminus[c] == float(previous[c]), f"change_from_previous:{c}"


def set_objective(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """min deviation + extra-capacity penalty + recommendation penalty
    + EM deviation + change and newly-asked penalties (re-plans) + tie-break."""
    p = inputs.penalties
    m = inputs.municipalities
    n = len(v.x)
    # Distinct coefficients in [t, 2t): equal-cost optima resolve the same way every run.
    tie = [p.tie_break * (1 + i / n) * v.x.iloc[i] for i in range(n)]
    not_asked_before = v.cplus.index[m.loc[v.cplus.index, "previous"] == 0]
    prob += (
        p.deviation_from_target * (pulp.lpSum(v.dplus) + pulp.lpSum(v.dminus))
        + p.extra_capacity * pulp.lpSum(v.e)
        + p.deviation_from_recommendation * (pulp.lpSum(v.rplus) + pulp.lpSum(v.rminus))
        + p.deviation_from_target * (pulp.lpSum(v.fplus) + pulp.lpSum(v.fminus))
        + p.change_from_previous * (pulp.lpSum(v.cplus) + pulp.lpSum(v.cminus))
        + p.newly_asked * pulp.lpSum(v.s[not_asked_before])
        + pulp.lpSum(tie)
    )


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
