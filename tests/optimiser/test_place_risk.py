"""Complex-health room at risk: the Poisson chance by hand, which rooms a
region's expected families may need, and the placement that keeps such a
room for them.

Municipalities stand on a line (``place_cases.line_travel``); 90 minutes is
within reach."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimiser.place import PlaceInputs, PlaceParams, class_costs, health_fit, household_classes, place
from optimiser.place_risk import expected_families, poisson_at_least, risk_left_behind, room_risk
from optimiser.place_year import LATER_ID, expected_risk
from tests.optimiser.place_cases import PARAMS, SOLVERS, households, line_travel, municipalities


def test_poisson_at_least_is_one_minus_the_sum_of_the_terms_below():
    mean = np.array([0.0, 0.5, 0.5, 2.0, 2.0])
    count = np.array([1, 0, 1, 2, 3])
    by_hand = [0.0, 1.0, 1 - math.exp(-0.5), 1 - 3 * math.exp(-2), 1 - 5 * math.exp(-2)]
    assert poisson_at_least(mean, count) == pytest.approx(by_hand)


def test_poisson_at_least_falls_with_the_count_and_rises_with_the_mean():
    chances = poisson_at_least(np.full(6, 1.5), np.arange(6))
    assert (np.diff(chances) < 0).all()
    assert (np.diff(poisson_at_least(np.array([0.1, 0.5, 1.0, 3.0]), np.full(4, 2))) > 0).all()


def test_expected_families_are_the_count_times_each_ties_share_of_at_least_each_size():
    """Four arrivals, one of them without a tie; 2 families expected: each
    arrival stands for half a family, counted in every size up to its own."""
    pool = households([{"tie": "0001", "persons": 3}, {"tie": "0001", "persons": 1},
                       {"tie": "0002", "persons": 2}, {"persons": 5}])
    families = expected_families(pool, 2.0, 3)
    assert families.loc["0001"].tolist() == [1.0, 0.5, 0.5]
    assert families.loc["0002"].tolist() == [0.5, 0.5, 0.0]
    assert list(families.index) == ["0001", "0002"]
    assert expected_families(pool, 0.0, 3).empty


def case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """0001 (the tie) reaches 0002 (room 3) and 0003 (room 5); 0004 (room 8)
    lies beyond reach (200 minutes), 0001 has no complex-health room."""
    return municipalities([20, 20, 20, 20], health_room=[0, 3, 5, 8]), line_travel([0, 60, 80, 200])


def test_the_only_room_in_reach_of_a_size_carries_the_chance_that_such_a_family_comes():
    """Families of at least 1, 2, 3, 4 persons expected: 1.0, 0.8, 0.5, 0.2.
    Sizes 1 to 3: two rooms in reach (0002, 0003), risk P(N >= 2) on each;
    size 4: 0003 alone, P(N >= 1) = 1 - exp(-0.2); nothing on 0001 (no
    room) or 0004 (beyond reach)."""
    m, travel = case()
    families = pd.DataFrame([[1.0, 0.8, 0.5, 0.2]], index=["0001"], columns=[1, 2, 3, 4])
    risk = room_risk(families, m, travel, 90.0)
    two = [1 - math.exp(-lam) * (1 + lam) for lam in (1.0, 0.8, 0.5)]
    assert risk.loc["0002"].tolist() == pytest.approx(two + [0.0])
    assert risk.loc["0003"].tolist() == pytest.approx(two + [1 - math.exp(-0.2)])
    assert risk.loc[["0001", "0004"]].to_numpy().sum() == 0.0


def test_rooms_beyond_reach_carry_no_risk():
    """Families of 6 or more (mean 0.3) fit no room in reach; 0004 could
    host one 200 minutes away, but only rooms in reach carry risk."""
    m, travel = case()
    risk = room_risk(pd.DataFrame([[0.3]], index=["0001"], columns=[6]), m, travel, 90.0)
    assert risk[6].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_many_rooms_in_reach_or_no_families_expected_is_no_risk():
    m, travel = municipalities([20] * 6, health_room=5), line_travel([0, 10, 20, 30, 40, 50])
    risk = room_risk(pd.DataFrame([[0.5]], index=["0001"], columns=[3]), m, travel, 90.0)
    assert risk[3].max() < 1e-4  # six rooms for half a family
    assert risk[3].max() > 0.0
    assert room_risk(expected_families(households([{"tie": "0001"}]).iloc[0:0], 2.0, 3), m, travel, 90.0).to_numpy().sum() == 0


def test_risk_left_behind_sums_the_sizes_a_room_no_longer_hosts():
    """Room 5 at risk 0.1, 0.2, 0.3, 0.4, 0.5 for sizes 1..5: a household of
    2 leaves 3 (loses sizes 4, 5: 0.9), of 5 leaves nothing (1.5), of 7 as
    well; a room of 9 loses only the sizes above what is left (7: none;
    4: size 5; 2: sizes 3 to 5)."""
    risk = pd.DataFrame([[0.1, 0.2, 0.3, 0.4, 0.5]] * 2, index=["0001", "0002"], columns=[1, 2, 3, 4, 5])
    lost = risk_left_behind(risk, np.array([5.0, 9.0]), np.array([2.0, 5.0, 7.0]))
    assert lost[:, 0] == pytest.approx([0.9, 1.5, 1.5])
    assert lost[:, 1] == pytest.approx([0.0, 0.5, 1.2])


def stryn_and_kinn() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A family of 5 with complex health needs tied to 0001 reaches 0002
    (room 5) and 0003 (room 7); a family tied to 0004 reaches only 0002."""
    m = municipalities([20, 20, 20, 20], health_room=[0, 5, 7, 0])
    travel = line_travel([0, 80, -60, 160])
    h = households([{"tie": "0001", "persons": 5, "complex_health": True}])
    return m, travel, h


def test_health_fit_with_risk_keeps_the_room_a_region_needs_over_an_exact_fill():
    """Without risk the family fits 0002 exactly (0) and 0003 leaves 2
    (0.5); with risk 0.3 on sizes 3 to 5 of 0002 (families of 3 or more
    tied to 0004, whose only room it is) 0002 costs 10 * 0.9 places, at
    most 7: 1.75, and 0003 stays at 0.5 (0001 has no room to price, 0004
    is beyond reach: the most)."""
    m, travel, h = stryn_and_kinn()
    classes, _ = household_classes(h)
    risk = pd.DataFrame(0.0, index=m.index, columns=range(1, 8))
    risk.loc["0002", [3, 4, 5]] = 0.3
    within = class_costs(classes, PlaceInputs(h, m, travel), PARAMS).within.to_numpy()
    assert health_fit(classes, m, within, PARAMS)[0].tolist() == [0.0, 0.0, 0.5, 1.75]
    assert health_fit(classes, m, within, PARAMS, risk)[0].tolist() == [0.0, 1.75, 0.5, 1.75]


def test_looking_ahead_a_family_leaves_the_only_room_of_another_region_whole():
    """The same family, placed looking ahead: with families of 3 or more
    expected tied to 0004 (risk from ``expected_risk``) it goes to 0003;
    with the risk left out, to 0002, which it fills exactly."""
    m, travel, h = stryn_and_kinn()
    seen = households([{"tie": "0004", "persons": 3, "complex_health": True, "ready_date": "2022-02-01"}] * 2)
    risk = expected_risk(seen.assign(household_id=["S1", "S2"]), "2022-03-01", 2022, m, travel, PARAMS)
    assert risk.loc["0002", 3] > 0.9 and risk.drop(index="0002").to_numpy().sum() == 0.0
    later = households([{"household_id": LATER_ID + "0", "persons": 1}])
    looking = place(PlaceInputs(h, m, travel, risk), PARAMS, SOLVERS, later)
    blind = place(PlaceInputs(h, m, travel), PARAMS, SOLVERS, later)
    assert looking.placements.iloc[0]["kommunenummer"] == "0003"
    assert blind.placements.iloc[0]["kommunenummer"] == "0002"


def test_expected_risk_ends_where_every_household_is_expected():
    m, travel, _ = stryn_and_kinn()
    seen = households([{"tie": "0004", "persons": 3, "complex_health": True}])
    assert expected_risk(seen, "2022-12-01", 2022, m, travel, PARAMS) is None
    assert expected_risk(seen, "2022-06-01", 2022, m, travel, PARAMS) is not None


def test_a_negative_risk_weight_is_refused():
    assert "health_risk_weight must be >= 0" in PlaceParams(health_risk_weight=-1.0).check()
