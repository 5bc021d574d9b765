"""Turn data, targets and access into the model's parameters (``ModelInputs``).

This is where the plan's rules become numbers per municipality: the default
capacity rule, the access rule from the transport network and the county
spread minimum.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimiser.data import PlanData
from optimiser.model import ModelInputs, capacity_upper
from optimiser.plan import CapacityRule, Plan


def default_capacity(population: pd.Series, rule: CapacityRule, minimum_request: int) -> pd.DataFrame:
    """Capacity while no municipal answer is on file (documented rule in the plan).

    base  = max(minimum_request, ceil(base_per_1000 * population / 1000))
    extra = ceil(extra_per_1000 * population / 1000)
    """
    base = np.ceil(rule.base_per_1000_inhabitants * population / 1000.0).astype(int).clip(lower=minimum_request)
    extra = np.ceil(rule.extra_per_1000_inhabitants * population / 1000.0).astype(int)
    return pd.DataFrame({"base_capacity": base, "extra_capacity": extra}, index=population.index)


def access_eligibility(access: pd.DataFrame, plan: Plan) -> pd.Series:
    """True where an upper-secondary school is within the reasonable travel time
    (or the plan lists the municipality as an exception, or the rule is off)."""
    net = plan.network
    if not net.access_rule:
        return pd.Series(True, index=access.index)
    ok = access["minutes_to_school"] <= net.reasonable_travel_minutes
    return ok | access.index.isin(net.access_exceptions)


def county_minimum(fylke: pd.Series, target: pd.Series, upper: pd.Series, share: float) -> pd.Series:
    """floor(share * sum of targets in the county), never above what the county can take."""
    wanted = target.groupby(fylke).sum().mul(share).apply(math.floor)
    room = upper.groupby(fylke).sum()
    return wanted.clip(upper=room).astype(int)


def model_inputs(data: PlanData, target: pd.Series, access: pd.DataFrame, plan: Plan) -> ModelInputs:
    m = data.municipalities
    capacity = default_capacity(m["population"], plan.capacity, plan.minimum_request)
    eligible = access_eligibility(access.reindex(m.index), plan)
    frame = pd.DataFrame({
        "fylke": m["fylke"],
        "target": target.reindex(m.index),
        "base_capacity": capacity["base_capacity"],
        "extra_capacity": capacity["extra_capacity"],
        "min_request": plan.minimum_request,
        "lower_bound": 0,
        "eligible": eligible,
        "recommended": np.nan,
        "locked": False,
    }, index=m.index)
    minimum = county_minimum(frame["fylke"], frame["target"], capacity_upper(frame), plan.spread.min_county_share_of_target)
    return ModelInputs(name=plan.name, need=plan.need_persons, granularity=plan.granularity_persons,
                       municipalities=frame, county_minimum=minimum, penalties=plan.penalties)
