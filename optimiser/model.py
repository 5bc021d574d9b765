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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pulp

from optimiser.plan import Penalties

# Columns ModelInputs.municipalities must carry.
MODEL_COLUMNS = (
    "fylke", "target", "base_capacity", "extra_capacity", "min_request",
    "lower_bound", "eligible", "recommended", "locked",
)


@dataclass(frozen=True)
class ModelInputs:
    """Parameters of one allocation, all in persons.

    municipalities: index kommunenummer, columns ``MODEL_COLUMNS``:
      target          N * target share (float)
      base_capacity   b_m;  extra_capacity: volunteered extra e̅_m
      min_request     L_m: 0 or at least this (the minimum-10 rule, or a KS exception)
      lower_bound     l_m: already settled / decided (re-plans), or a lock
      eligible        False: not asked (access rule, KS exclusion)
      recommended     county recommendation r_m, NaN where none
      locked          True: x_m == recommended
    county_minimum: index fylke, persons each county receives at least.
    """

    name: str
    need: int
    granularity: int
    municipalities: pd.DataFrame
    county_minimum: pd.Series
    penalties: Penalties = field(default_factory=Penalties)

    @property
    def upper(self) -> pd.Series:
        return capacity_upper(self.municipalities)


def capacity_upper(frame: pd.DataFrame) -> pd.Series:
    """Largest request each municipality can be given: b_m + e̅_m if eligible, else 0."""
    return (frame["base_capacity"] + frame["extra_capacity"]).where(frame["eligible"], 0).astype(int)


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


def build_model(inputs: ModelInputs) -> tuple[pulp.LpProblem, ModelVars]:
    prob = pulp.LpProblem(f"allocation_{_safe(inputs.name)}", pulp.LpMinimize)
    v = make_vars(inputs)
    add_national_need(prob, v, inputs)
    add_eligibility(prob, v, inputs)
    add_minimum_size(prob, v, inputs)
    add_capacity(prob, v, inputs)
    add_extra_capacity_tier(prob, v, inputs)
    add_lower_bounds(prob, v, inputs)
    add_locks(prob, v, inputs)
    add_granularity(prob, v, inputs)
    add_county_spread(prob, v, inputs)
    add_target_deviation(prob, v, inputs)
    add_recommendation_deviation(prob, v, inputs)
    set_objective(prob, v, inputs)
    return prob, v


def make_vars(inputs: ModelInputs) -> ModelVars:
    m = inputs.municipalities
    codes = m.index
    upper = inputs.upper
    has_rec = m["recommended"].notna()

    def series(prefix, index, **kw):
        return pd.Series({c: pulp.LpVariable(f"{prefix}_{c}", **kw) for c in index}, dtype=object)

    x = pd.Series({c: pulp.LpVariable(f"x_{c}", lowBound=0, upBound=int(upper[c]), cat=pulp.LpInteger)
                   for c in codes}, dtype=object)
    s = series("s", codes, cat=pulp.LpBinary)
    e = pd.Series({c: pulp.LpVariable(f"e_{c}", lowBound=0, upBound=int(m.at[c, "extra_capacity"]))
                   for c in codes}, dtype=object)
    k = series("k", codes, lowBound=0, cat=pulp.LpInteger) if inputs.granularity > 1 else None
    return ModelVars(
        x=x, s=s, e=e,
        dplus=series("dplus", codes, lowBound=0), dminus=series("dminus", codes, lowBound=0),
        rplus=series("rplus", codes[has_rec], lowBound=0), rminus=series("rminus", codes[has_rec], lowBound=0),
        k=k,
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
    upper = inputs.upper
    for c in inputs.municipalities.index:
        prob += v.x[c] <= int(upper[c]) * v.s[c], f"capacity:{c}"


def add_extra_capacity_tier(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """x_m - e_m <= b_m: persons beyond base capacity come from volunteered extra."""
    m = inputs.municipalities
    for c in m.index[m["extra_capacity"] > 0]:
        prob += v.x[c] - v.e[c] <= int(m.at[c, "base_capacity"]), f"extra_capacity_tier:{c}"
    for c in m.index[m["extra_capacity"] <= 0]:
        prob += v.x[c] <= int(m.at[c, "base_capacity"]), f"base_capacity:{c}"


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


def set_objective(prob, v: ModelVars, inputs: ModelInputs) -> None:
    """min sum deviation + extra-capacity penalty + recommendation penalty + tie-break."""
    p = inputs.penalties
    n = len(v.x)
    # Distinct coefficients in [t, 2t): equal-cost optima resolve the same way every run.
    tie = [p.tie_break * (1 + i / n) * v.x.iloc[i] for i in range(n)]
    prob += (
        p.deviation_from_target * (pulp.lpSum(v.dplus) + pulp.lpSum(v.dminus))
        + p.extra_capacity * pulp.lpSum(v.e)
        + p.deviation_from_recommendation * (pulp.lpSum(v.rplus) + pulp.lpSum(v.rminus))
        + pulp.lpSum(tie)
    )


def requests(v: ModelVars) -> pd.Series:
    """The integer request per municipality from a solved model."""
    return v.x.map(lambda var: int(round(var.varValue or 0))).astype(int).rename("request")


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
