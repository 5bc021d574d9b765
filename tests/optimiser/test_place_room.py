"""The room rule (``optimiser.place_room``): one hand-checked municipality per case."""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.place_room import DECISION_ON_FILE, REQUEST, PlanRoom, municipality_room

CODES = ["0001", "0002", "0003"]


def plan(request=(100, 50, 0), base=(100, 30, 40), extra=(40, 30, 20), decisions=(np.nan, np.nan, np.nan),
         health=(np.nan, np.nan, np.nan), em=(np.nan, np.nan, np.nan), settled=(0, 0, 0), caps=None,
         share=0.05) -> PlanRoom:
    allocation = pd.DataFrame({"request": request, "base_capacity": base, "extra_capacity": extra}, index=CODES)
    return PlanRoom(allocation=allocation, decisions=pd.Series(decisions, index=CODES, dtype=float),
                    health_capacity=pd.Series(health, index=CODES, dtype=float),
                    em_capacity=pd.Series(em, index=CODES, dtype=float),
                    settled=pd.Series(settled, index=CODES, dtype=float),
                    caps=pd.Series(caps or {}, dtype=float), complex_health_share=share)


def ledger(rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["settled", "assigned", "complex_health",
                                                                 "unaccompanied_minors"])
    return frame.astype("int64")


def test_room_is_the_request_minus_settled_where_no_decision_is_on_file():
    room = municipality_room(plan(settled=(30, 0, 0)))
    assert room.loc["0001", ["decision", "already", "room"]].tolist() == [100, 30, 70]
    assert room.loc["0001", "decision_from"] == REQUEST


def test_a_decision_on_file_replaces_the_request():
    room = municipality_room(plan(decisions=(80, np.nan, np.nan), settled=(30, 0, 0)))
    assert room.loc["0001", ["decision", "room"]].tolist() == [80, 50]
    assert room.loc["0001", "decision_from"] == DECISION_ON_FILE


def test_extra_room_is_the_volunteered_capacity_left_beyond_the_decision():
    """0001: base 100 + extra 40 - decision 100 = 40.  0002: 30 + 30 - 50 = 10
    (part of its extra is already in its request).  0003: not asked, no room at all."""
    room = municipality_room(plan())
    assert room["extra_room"].tolist() == [40, 10, 0]
    assert room.loc["0003", "room"] == 0


def test_extra_room_never_exceeds_what_was_volunteered_nor_a_ks_cap():
    """0001 decided 60 with base 100: unused base capacity is not a second tier,
    extra stays 40; a KS cap of 120 leaves 20 beyond the decision of 100."""
    decided = municipality_room(plan(decisions=(60, np.nan, np.nan)))
    assert decided.loc["0001", "extra_room"] == 40
    capped = municipality_room(plan(caps={"0001": 120}))
    assert capped.loc["0001", "extra_room"] == 20


def test_settled_above_decision_eats_into_the_extra_room():
    room = municipality_room(plan(settled=(110, 0, 0)))
    assert room.loc["0001", ["room", "extra_room"]].tolist() == [0, 30]


def test_ledger_totals_replace_the_status_file_and_count_assigned():
    """The ledger says 0001 has settled 40 and 25 more are assigned: already 65,
    whatever the status file said (30); 0002 has no ledger row and keeps its status."""
    room = municipality_room(plan(settled=(30, 5, 0)), ledger({"0001": [40, 25, 0, 0]}))
    assert room.loc["0001", ["settled", "assigned", "already", "room"]].tolist() == [40, 25, 65, 35]
    assert room.loc["0002", ["settled", "already"]].tolist() == [5, 5]


def test_health_and_em_room_stated_or_the_plans_share_less_what_is_used():
    """0001 stated 7 complex-health places and 3 EM places, the ledger used 2
    and 1; 0002 stated nothing: ceil(5 % of 50) = 3 and no EM room."""
    room = municipality_room(plan(health=(7, np.nan, np.nan), em=(3, np.nan, np.nan)),
                             ledger({"0001": [10, 0, 2, 1]}))
    assert room.loc["0001", ["health_room", "em_room"]].tolist() == [5, 2]
    assert room.loc["0002", ["health_room", "em_room"]].tolist() == [3, 0]
