"""Indicators, history shares and weights -> target share per municipality.

The target is an additive mixture of criterion distributions, so that every
municipality's target splits exactly into one contribution per criterion::

    s_k(m) = p_m^a * I_k(m) / sum_j p_j^a * I_k(j)     (an indicator criterion k)
    s_k(m) = H_k(m) / sum_j H_k(j)                      (a history share k, as it is)
    f      = max(1, N / N_last)^(-damping)              (history kept as the need grows)
    t(m)   = [sum_{k ind} w_k s_k(m) + sum_{k share} w_k (f s_k(m) + (1 - f) s_population(m))] / W
    target(m) = N * t(m),  W = sum of the weights used

``p_m`` is the population and ``a`` < 1 spreads settlement over municipalities
of every size.  ``I_k(m)`` >= 0 is the indicator of criterion k, scaled so
that 1 is best:

population               1 for everyone (spread over all sizes and regions)
centrality               (7 - SSB centrality class) / 6: services and competence
upper_secondary          1 - minutes to the nearest upper-secondary school
                         / reasonable travel time, floored at 0.1
labour_market            log(population within reasonable travel) / log(max)
refugees_per_inhabitant  refugees and reunited family living there per
                         inhabitant / max: networks and services in place
settled_per_inhabitant   recently settled per inhabitant / max: experience
completion               how well decisions were settled / max
introduction_results     planner-supplied, value / max
employment               planner-supplied, value / max

History shares (``optimiser.history``: the latest years before the plan year,
recent ones weighing more) enter as distributions of their own, without p^a:

request_last     last year's requests: IMDi's continuity
request_recent, decided_recent, settled_recent   recent years' requests,
                 decisions and settled persons

When the need grows beyond last year's (N_last, its national requests), a
share keeps the part f of its weight and the rest is spread by population:
``history_damping`` 0 keeps history's share of the need, 1 keeps its persons.
This is the formula ``optimiser.calibrate.fit_years`` fits to IMDi's real
requests of past years.

A criterion with a positive weight but no data (no history before the plan
year, no planner file) is *lacked*: its weight is left out and the run says
so.  Criteria with weight 0 are *unused*.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser import history
from optimiser.data import PlanData
from optimiser.plan import ALL_CRITERIA, SHARE_CRITERIA, CriteriaConfig

UPPER_SECONDARY_FLOOR = 0.1


@dataclass(frozen=True)
class Criteria:
    """What a plan knows of each criterion: indicators (entering as p^a I),
    history shares (entering as they are) and last year's national requests
    (the need a new need's growth is measured against; None without history)."""

    indicators: pd.DataFrame
    shares: pd.DataFrame
    last_need: float | None = None


@dataclass(frozen=True)
class Targets:
    """``frame``: index kommunenummer; ``target_share``, ``target`` (persons)
    and one ``contribution_<criterion>`` column (persons) per used criterion.
    ``kept``: the part f of the history shares' weight kept at this need."""

    frame: pd.DataFrame
    used: tuple[str, ...]
    lacked: tuple[str, ...]
    unused: tuple[str, ...]
    kept: float = 1.0


def criteria_of(data: PlanData, access: pd.DataFrame, reasonable_minutes: float, year: int) -> Criteria:
    """Every criterion that has data for a plan of ``year``; index kommunenummer.

    ``access`` (from ``optimiser.network``) has ``minutes_to_school`` and
    ``reachable_population`` per municipality.
    """
    m = data.municipalities
    access = access.reindex(m.index)
    cols = {
        "population": pd.Series(1.0, index=m.index),
        "centrality": (7 - m["centrality_class"]) / 6.0,
        "upper_secondary": (1 - access["minutes_to_school"] / reasonable_minutes).clip(lower=UPPER_SECONDARY_FLOOR,
                                                                                      upper=1.0),
        "labour_market": np.log(access["reachable_population"]) / np.log(access["reachable_population"].max()),
    }
    shares = pd.DataFrame(index=m.index)
    last_need = None
    if len(data.history) and len(data.population_history):
        found = history.history_criteria(data.history, data.population_history, year,
                                         data.refugees if len(data.refugees) else None)
        shares = found.shares.reindex(m.index).fillna(0.0)
        cols.update({k: v.reindex(m.index).fillna(0.0) for k, v in found.indicators.items()})
        last_need = found.last_need
    for name, values in data.indicators.items():
        values = values.reindex(m.index)
        if values.isna().any() or values.max() <= 0:
            # Partial planner files are not silently filled: missing means lacked.
            continue
        cols[name] = values / values.max()
    return Criteria(indicators=pd.DataFrame(cols, index=m.index).astype(float), shares=shares.astype(float),
                    last_need=last_need)


def criterion_shares(population: pd.Series, indicator_frame: pd.DataFrame, exponent: float) -> pd.DataFrame:
    """s_k(m): each indicator column turned into a distribution summing to 1."""
    base = population.astype(float) ** exponent
    weighted = indicator_frame.mul(base, axis=0)
    return weighted / weighted.sum(axis=0)


def damping_factor(growth: float, damping: float) -> float:
    """f = max(1, growth)^(-damping): the part of the share criteria's weight kept when the need grows."""
    if growth <= 0:
        raise ValueError(f"need growth must be positive, got {growth}")
    return max(1.0, float(growth)) ** (-float(damping))


def kept_share(need: float, last_need: float | None, damping: float) -> float:
    """``damping_factor`` of the growth N / N_last (the formula calibration fits); 1 without a last need."""
    return damping_factor(max(1.0, float(need) / float(last_need)), damping) if last_need else 1.0


def targets(population: pd.Series, criteria: Criteria, cfg: CriteriaConfig, need: int) -> Targets:
    """Target persons per municipality and each criterion's contribution."""
    wanted = {k: w for k, w in cfg.weights.items() if w > 0}
    available = set(criteria.indicators.columns) | set(criteria.shares.columns)
    used = tuple(k for k in ALL_CRITERIA if k in wanted and k in available)
    lacked = tuple(k for k in ALL_CRITERIA if k in wanted and k not in available)
    unused = tuple(k for k in ALL_CRITERIA if k not in wanted)
    if not used:
        raise ValueError("no weighted criterion has data; give population a positive weight")
    total_weight = sum(wanted[k] for k in used)
    indicator_names = [k for k in used if k not in SHARE_CRITERIA]
    share_names = [k for k in used if k in SHARE_CRITERIA]
    by_population = criterion_shares(population, criteria.indicators[["population"]], cfg.population_exponent)
    distributions = criterion_shares(population, criteria.indicators[indicator_names], cfg.population_exponent)
    kept = kept_share(need, criteria.last_need, cfg.history_damping) if share_names else 1.0
    contributions = {k: need * wanted[k] / total_weight * distributions[k] for k in indicator_names}
    moved = pd.Series(0.0, index=population.index)
    for k in share_names:
        share = criteria.shares[k] / criteria.shares[k].sum()
        contributions[k] = need * wanted[k] / total_weight * kept * share
        moved = moved + need * wanted[k] / total_weight * (1.0 - kept) * by_population["population"]
    if moved.any():
        contributions["population"] = contributions.get("population", 0.0) + moved
    order = [k for k in ALL_CRITERIA if k in contributions]
    frame_contributions = pd.DataFrame({f"contribution_{k}": contributions[k] for k in order}, index=population.index)
    target = frame_contributions.sum(axis=1)
    frame = pd.DataFrame({"target_share": target / need if need else target * 0.0, "target": target})
    return Targets(frame=frame.join(frame_contributions), used=used, lacked=lacked, unused=unused, kept=kept)
