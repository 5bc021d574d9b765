"""One registry of the model's constraint families.

Every constraint of the allocation model is named ``<family>:<key>`` (a
municipality, a county or ``NO``), built through ``row`` below, so a family
the registry lacks cannot be built.  Each family says whether it is a hard
limit (``diagnose`` relaxes it) or defines a deviation the objective prices,
the words ``diagnose`` uses for it, the label ``explain`` uses when it binds
a municipality's request, and whether it is a capacity limit (``explain``
prices one more place of it).  ``optimiser.verify`` keeps its own arithmetic
and shares nothing with this.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str
    hard: bool
    words: str  # what the limit is, for diagnose
    binds_as: str = ""  # label in explain's "bound by"; empty: explain derives or skips it
    capacity: bool = False  # a capacity limit: one more place of it has a marginal value


RULES = {rule.name: rule for rule in (
    Rule("national_need", True, "the national need cannot be met exactly"),
    Rule("eligibility", True, "may not be asked (access rule or KS exclusion)"),
    Rule("minimum_size", True, "the minimum request", "minimum size"),
    Rule("capacity", True, "base + volunteered extra capacity", "extra capacity", capacity=True),
    Rule("base_capacity", True, "base capacity", "base capacity", capacity=True),
    Rule("extra_capacity", True, "volunteered extra capacity", capacity=True),
    Rule("ks_cap", True, "the KS cap", "KS cap", capacity=True),
    Rule("complex_health", True, "capacity for complex health needs", "complex-health capacity", capacity=True),
    Rule("lower_bound", True, "already settled or decided", "settled or decided"),
    Rule("lock", True, "a locked county recommendation", "locked recommendation"),
    Rule("granularity", True, "requests in multiples of the granularity"),
    Rule("county_spread", True, "the county's minimum share (spread rule)"),
    Rule("school_region_cap", True, "the school region's cap"),
    Rule("em_quota", True, "the unaccompanied-minor quota cannot be met exactly"),
    Rule("em_capacity", True, "EM capacity", "EM capacity"),
    Rule("em_minimum", True, "the minimum EM request"),
    Rule("em_inside_total", True, "EM requests count inside the total"),
    Rule("shortfall_placed", True, "a declined quota must be placed"),
    Rule("shortfall_received", True, "what a municipality receives of a declined quota within reach"),
    Rule("shortfall_beyond_reach", True, "room for declined quotas beyond reach"),
    Rule("newly_asked_limit", True, "the fewest municipalities not asked before"),
    Rule("target_deviation", False, "deviation from the criteria target"),
    Rule("recommendation_deviation", False, "deviation from the county recommendation"),
    Rule("em_target_deviation", False, "deviation from the EM target"),
    Rule("county_em_deviation", False, "deviation of a county's EM requests from its EM target"),
    Rule("change_from_previous", False, "change against the earlier plan"),
    Rule("band_width", False, "a band of a deviation, open only when the municipality is asked"),
    Rule("even_share", False, "how uneven the relative deviations of a family are"),
)}

SOFT = tuple(name for name, rule in RULES.items() if not rule.hard)
CAPACITY = tuple(name for name, rule in RULES.items() if rule.capacity)


def row(family: str, key) -> str:
    """The name of one constraint: ``<family>:<key>``; the family must be registered."""
    if family not in RULES:
        raise KeyError(f"constraint family {family!r} is not in optimiser.rules.RULES")
    return f"{family}:{key}"


def family(constraint_name: str) -> str:
    return constraint_name.partition(":")[0]
