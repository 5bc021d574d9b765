"""The independent placement checker: one hand-made placement per rule, each
breaking exactly that rule, must be named with household or municipality,
rule and amount; the valid placement passes.

    code  minutes from 0001  room  extra  health  EM
    0001          0            2     0      2      1
    0002         60            3     1      0      0
    0003        200            6     0      4      1

Households: H001 (2 persons, tied to 0001), H002 (1, unaccompanied minor,
tied to 0002), H003 (3, complex health, no tie), H004 (2, tied to 0001).
Valid: H001 -> 0001, H002 -> 0003, H003 -> 0003, H004 -> 0002.
"""
from __future__ import annotations

import pandas as pd
import pytest

from optimiser.verify_place import RULES, verify_placement
from tests.optimiser.place_cases import households, line_travel, municipalities

M = municipalities([2, 3, 6], extra_room=[0, 1, 0], health_room=[2, 0, 4], em_room=[1, 0, 1])
H = households([{"persons": 2, "tie": "0001"}, {"unaccompanied_minor": True, "tie": "0002"},
                {"persons": 3, "complex_health": True}, {"persons": 2, "tie": "0001"}])
TRAVEL = line_travel([0, 60, 200])
VALID = {"H001": "0001", "H002": "0003", "H003": "0003", "H004": "0002"}


def found(where: dict, m: pd.DataFrame = M) -> set[tuple[str, str, float]]:
    placements = pd.DataFrame({"household_id": list(where), "kommunenummer": list(where.values())})
    return {(v.rule, v.key, v.amount) for v in verify_placement(H, m, TRAVEL, placements, 90)}


def test_valid_placement_has_no_violation():
    assert found(VALID) == set()


@pytest.mark.parametrize("change, expected", [
    ({"H004": "0001"}, {("room", "0001", 2.0)}),
    ({"H003": "0002", "H004": "0003"}, {("complex_health", "0002", 3.0)}),
    ({"H002": "0002"}, {("unaccompanied_minors", "0002", 1.0)}),
    ({"H004": "0003"}, {("within_reach", "H004", 110.0)}),
    ({"H005": "0001"}, {("unknown_household", "H005", 1.0)}),
])
def test_each_broken_rule_is_named_with_key_and_amount(change, expected):
    assert found({**VALID, **change}) == expected


def test_placed_once_names_missing_and_repeated_households():
    missing = {k: v for k, v in VALID.items() if k != "H002"}
    assert found(missing) == {("placed_once", "H002", 1.0)}
    placements = pd.DataFrame({"household_id": [*VALID, "H001"], "kommunenummer": [*VALID.values(), "0001"]})
    names = {(v.rule, v.key) for v in verify_placement(H, M, TRAVEL, placements, 90)}
    assert ("placed_once", "H001") in names


def test_unknown_municipality_is_named():
    assert ("unknown_municipality", "H003", 1.0) in found({**VALID, "H003": "9999"})


def test_within_reach_is_no_violation_when_room_in_reach_is_used_up():
    """H004 beyond reach is fine once 0001 and 0002 have no room left for 2."""
    full = M.assign(room=[2, 0, 6], extra_room=[0, 1, 0])
    assert found({**VALID, "H004": "0003"}, full) == set()


def test_rules_list_names_every_rule_checked():
    assert set(RULES) == {"placed_once", "unknown_household", "unknown_municipality", "room", "complex_health",
                          "unaccompanied_minors", "within_reach"}
