"""Indicators and weights -> target share per municipality.

The target is an additive mixture of criterion distributions, so that every
municipality's target splits exactly into one contribution per criterion::

    s_k(m) = p_m^a * I_k(m) / sum_j p_j^a * I_k(j)     (distribution of criterion k)
    t(m)   = sum_k w_k * s_k(m) / sum_k w_k             (target share, sums to 1)
    target(m) = N * t(m)   and   contribution_k(m) = N * w_k * s_k(m) / sum_k w_k

``p_m`` is the population and ``a`` < 1 spreads settlement over municipalities
of every size (IMDi's 2024 requests grow roughly as population^0.64).
``I_k(m)`` >= 0 is the indicator of criterion k, scaled so that 1 is best:

population            1 for everyone (spread over all sizes and regions)
centrality            (7 - SSB centrality class) / 6: services and competence
upper_secondary       1 - minutes to the nearest upper-secondary school
                      / reasonable travel time, floored at 0.1
labour_market         log(population within reasonable travel) / log(max)
settlement_history    settled per 1,000 inhabitants in the years before the
                      plan year / max: experience and capacity to scale
introduction_results  planner-supplied, value / max
employment            planner-supplied, value / max

A criterion with a positive weight but no data (no history before the plan
year, no planner file) is *lacked*: its weight is left out and the run says
so.  Criteria with weight 0 are *unused*.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.data import PlanData
from optimiser.plan import ALL_CRITERIA, CriteriaConfig

UPPER_SECONDARY_FLOOR = 0.1


@dataclass(frozen=True)
class Targets:
    """``frame``: index kommunenummer; ``target_share``, ``target`` (persons)
    and one ``contribution_<criterion>`` column (persons) per used criterion."""

    frame: pd.DataFrame
    used: tuple[str, ...]
    lacked: tuple[str, ...]
    unused: tuple[str, ...]


def indicators(data: PlanData, access: pd.DataFrame, reasonable_minutes: float) -> pd.DataFrame:
    """One column per criterion that has data; index kommunenummer.

    ``access`` (from ``optimiser.network``) has ``minutes_to_school`` and
    ``reachable_population`` per municipality.
    """
    m = data.municipalities
    access = access.reindex(m.index)
    cols = {
        "population": pd.Series(1.0, index=m.index),
        "centrality": (7 - m["centrality_class"]) / 6.0,
        "upper_secondary": (1 - access["minutes_to_school"] / reasonable_minutes).clip(lower=UPPER_SECONDARY_FLOOR, upper=1.0),
        "labour_market": np.log(access["reachable_population"]) / np.log(access["reachable_population"].max()),
    }
    if len(data.history):
        settled = data.history.groupby("kommunenummer")["settled"].sum().reindex(m.index, fill_value=0)
        years = data.history["year"].nunique()
        per_1000 = settled / years / m["population"] * 1000.0
        if per_1000.max() > 0:
            cols["settlement_history"] = per_1000 / per_1000.max()
    for name, values in data.indicators.items():
        values = values.reindex(m.index)
        if values.isna().any() or values.max() <= 0:
            # Partial planner files are not silently filled: missing means lacked.
            continue
        cols[name] = values / values.max()
    return pd.DataFrame(cols, index=m.index).astype(float)


def criterion_shares(population: pd.Series, indicator_frame: pd.DataFrame, exponent: float) -> pd.DataFrame:
    """s_k(m): each indicator column turned into a distribution summing to 1."""
    base = population.astype(float) ** exponent
    weighted = indicator_frame.mul(base, axis=0)
    return weighted / weighted.sum(axis=0)


def targets(population: pd.Series, indicator_frame: pd.DataFrame, cfg: CriteriaConfig, need: int) -> Targets:
    """Target persons per municipality and each criterion's contribution."""
    wanted = {k: w for k, w in cfg.weights.items() if w > 0}
    used = tuple(k for k in ALL_CRITERIA if k in wanted and k in indicator_frame.columns)
    lacked = tuple(k for k in ALL_CRITERIA if k in wanted and k not in indicator_frame.columns)
    unused = tuple(k for k in ALL_CRITERIA if k not in wanted)
    if not used:
        raise ValueError("no weighted criterion has data; give population a positive weight")
    shares = criterion_shares(population, indicator_frame[list(used)], cfg.population_exponent)
    total_weight = sum(wanted[k] for k in used)
    contributions = pd.DataFrame({f"contribution_{k}": need * wanted[k] / total_weight * shares[k] for k in used})
    share = sum(wanted[k] / total_weight * shares[k] for k in used)
    frame = pd.DataFrame({"target_share": share, "target": need * share}).join(contributions)
    return Targets(frame=frame, used=used, lacked=lacked, unused=unused)
