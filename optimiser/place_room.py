"""The room each municipality has for a placement, from its plan and what has happened since.

``municipality_room`` turns a plan's published allocation, the municipal
answers, the re-plan status and the placement ledger into the
municipalities frame ``optimiser.place`` places into.  Per municipality m,
all in persons:

decision_m       the decision (vedtak) on the plan's own request where one is
                 on file, else the plan's request: until the council has
                 decided, IMDi settles against what it asked for.  (A
                 re-plan's status file holds decisions on the *base* plan's
                 request; the re-plan's request is never below them when the
                 need rises, so they are not this plan's decision.)
already_m        settled this year + assigned and not yet settled: the
                 ledger's figures where it has a row for m (they are totals
                 to date), else the status file's settled and nothing assigned
room_m           max(0, decision_m - already_m)
extra_room_m     the volunteered extra capacity left beyond the decision, the
                 second tier: max(0, min(base_m + extra_m, cap_m)
                 - max(decision_m, already_m)), at most extra_m; 0 where
                 decision_m = 0 (a municipality not asked settles nobody).
                 base_m and extra_m are the capacities the plan used
                 (``allocation.csv``; a re-plan's status figures included),
                 cap_m a KS cap where there is one
health_room_m    complex-health capacity stated in the municipal answers,
                 else ceil(complex_health_share * decision_m) (the share the
                 plan expects), minus persons with complex health needs
                 already settled or assigned (ledger), at least 0
em_room_m        EM capacity stated in the answers (0 where none), minus
                 unaccompanied minors already settled or assigned, at least 0

So no placement puts a municipality above its decision plus the extra it
volunteered, and the fill rate (already + placed) / decision is measured
against the decision.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.assemble import persons_up

DECISION_ON_FILE = "decision"
REQUEST = "request"


@dataclass(frozen=True)
class PlanRoom:
    """What the plan says per municipality (index kommunenummer).

    allocation: ``request``, ``base_capacity``, ``extra_capacity`` as published.
    decisions: the decision on the plan's own request (NaN where none).
    health_capacity, em_capacity: stated in the municipal answers (NaN where none).
    settled: persons settled this year by the status file (NaN or absent where none).
    caps: KS caps (persons; absent where none).
    complex_health_share: the share of persons the plan expects with complex health needs.
    """

    allocation: pd.DataFrame
    decisions: pd.Series
    health_capacity: pd.Series
    em_capacity: pd.Series
    settled: pd.Series
    caps: pd.Series
    complex_health_share: float


def municipality_room(plan: PlanRoom, ledger: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ``optimiser.place`` municipalities frame (module docstring), with
    ``decision_from`` (``decision`` or ``request``), ``settled`` and
    ``assigned`` beside the columns ``optimiser.place`` reads.  ``ledger``:
    index kommunenummer; ``settled``, ``assigned``, ``complex_health``,
    ``unaccompanied_minors`` (persons, totals to date)."""
    a = plan.allocation
    codes = a.index
    on_file = plan.decisions.reindex(codes)
    decision = on_file.where(on_file.notna(), a["request"]).astype(float)
    ledger = ledger if ledger is not None else pd.DataFrame(columns=["settled", "assigned", "complex_health",
                                                                     "unaccompanied_minors"])
    has_row = codes.isin(ledger.index)
    rows = ledger.reindex(codes).fillna(0.0).astype(float)
    settled = rows["settled"].where(has_row, plan.settled.reindex(codes).fillna(0.0)).astype(float)
    assigned = rows["assigned"]
    already = settled + assigned
    total = (a["base_capacity"] + a["extra_capacity"]).astype(float)
    total = np.minimum(total, plan.caps.reindex(codes).fillna(np.inf))
    extra = (total - np.maximum(decision, already)).clip(lower=0.0)
    extra = np.minimum(extra, a["extra_capacity"].astype(float)).where(decision > 0, 0.0)
    stated = plan.health_capacity.reindex(codes)
    health = stated.where(stated.notna(), persons_up(plan.complex_health_share * decision, whole=False))
    em = plan.em_capacity.reindex(codes).fillna(0.0)
    return pd.DataFrame({
        "decision": decision, "decision_from": np.where(on_file.notna(), DECISION_ON_FILE, REQUEST),
        "settled": settled, "assigned": assigned, "already": already,
        "room": (decision - already).clip(lower=0.0), "extra_room": extra,
        "health_room": (health - rows["complex_health"]).clip(lower=0.0),
        "em_room": (em - rows["unaccompanied_minors"]).clip(lower=0.0),
    }, index=codes).astype({c: "int64" for c in ("decision", "settled", "assigned", "already", "room", "extra_room",
                                                   "health_room", "em_room")})
