"""Placing households: one hand-checked case per rule, a property test on
random instances that are feasible by construction, determinism, and the
counting rules of a year simulated week by week.

Municipalities stand on a line (``place_cases.line_travel``): the minutes
between two are their distance along it, and 90 minutes is within reach.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import place_year
from optimiser.arrivals import ArrivalYear, synthetic_arrivals
from optimiser.place import (
    EXTRA_TIER,
    LATER_ROOM_SHARE,
    NEAREST_BEYOND,
    NO_TIE,
    WITHIN_REACH,
    ClassCosts,
    PlaceInputs,
    PlaceParams,
    class_costs,
    health_fit,
    household_classes,
    move_nearer,
    person_groups,
    place,
    placement_cost,
    pooled_fit,
    room_for_later,
)
from optimiser.place_year import (
    LATER_ID,
    compare,
    counts_in_year,
    expected_later,
    hindsight,
    simulate_year,
    week_table,
    weekly_batches,
)
from optimiser.solve import InfeasiblePlan
from optimiser.verify_place import verify_placement
from tests.optimiser.place_cases import PARAMS, SOLVERS, codes, households, line_travel, municipalities, placed

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------- ties

def test_tie_within_reach_places_household_in_reach_even_against_fill():
    """0001 (the tie) is full; 0002 is 30 minutes away and already fuller
    than 0003, which is 200 minutes away and empty: reach comes first."""
    m = municipalities([0, 5, 20], decision=[10, 10, 20], already=[10, 5, 0])
    h = households([{"tie": "0001", "persons": 2}])
    result, where = placed(h, m, line_travel([0, 30, 200]))
    assert where["H001"] == "0002"
    row = result.placements.iloc[0]
    assert row["rule"] == WITHIN_REACH
    assert row["minutes_from_tie"] == 30


def test_tie_without_room_in_reach_goes_to_nearest_municipality_with_room():
    """Nothing within 90 minutes of 0001 has room; 0003 (120 min) and 0004
    (200 min) have: the nearer one, at 30 minutes beyond reach."""
    m = municipalities([0, 0, 4, 4])
    h = households([{"tie": "0001", "persons": 3}])
    result, where = placed(h, m, line_travel([0, 50, 120, 200]))
    assert where["H001"] == "0003"
    row = result.placements.iloc[0]
    assert row["rule"] == NEAREST_BEYOND
    assert row["minutes_from_tie"] == 120
    assert result.costs["travel"] > 0


def test_tie_beyond_reach_takes_the_nearest_that_fits_the_whole_household():
    """0003 is nearer but has room for 2 of the 4 persons: never split, so 0004."""
    m = municipalities([0, 0, 2, 6])
    h = households([{"tie": "0001", "persons": 4}])
    _, where = placed(h, m, line_travel([0, 50, 120, 200]))
    assert where["H001"] == "0004"


# --------------------------------------------------------------------------- needs rooms

def test_unaccompanied_minors_room_binds_second_minor_goes_elsewhere():
    """Two unaccompanied minors tied to 0001, which has room for 10 but for
    one minor only; 0002, in reach, takes the other."""
    m = municipalities([10, 10], em_room=[1, 3])
    h = households([{"tie": "0001", "unaccompanied_minor": True}, {"tie": "0001", "unaccompanied_minor": True}])
    result, where = placed(h, m, line_travel([0, 60]))
    assert sorted(where) == ["0001", "0002"]
    assert not verify_placement(h, m, line_travel([0, 60]), result.placements, 90)


def test_complex_health_room_binds_household_goes_where_health_room_is():
    """0001 and 0002 both in reach with room; only 0002 can take complex health needs."""
    m = municipalities([10, 10], health_room=[0, 5], decision=[10, 10], already=[0, 8])
    h = households([{"tie": "0001", "persons": 3, "complex_health": True}])
    _, where = placed(h, m, line_travel([0, 60]))
    assert where["H001"] == "0002"


def test_unaccompanied_minor_with_no_em_room_in_reach_goes_beyond():
    m = municipalities([10, 10, 10], em_room=[0, 0, 2])
    h = households([{"tie": "0001", "unaccompanied_minor": True}])
    result, where = placed(h, m, line_travel([0, 60, 150]))
    assert where["H001"] == "0003"
    assert result.placements.iloc[0]["rule"] == NEAREST_BEYOND


# --------------------------------------------------------------------------- extra tier

def test_extra_tier_unused_while_base_room_left():
    """Two households of 2, base room 2 + 2: 0001 also volunteers 4 extra,
    and its fill band alone would not stop a third person there."""
    m = municipalities([2, 2], extra_room=[4, 0])
    h = households([{"persons": 2}, {"persons": 2}])
    result, where = placed(h, m, line_travel([0, 10]))
    assert sorted(where) == ["0001", "0002"]
    assert result.fill["extra_used"].sum() == 0
    assert set(result.placements["rule"]) == {NO_TIE}


def test_extra_tier_used_once_base_room_is_gone():
    """Three households of 2 and base room 2 + 2: one must use 0001's extra room."""
    m = municipalities([2, 2], extra_room=[4, 0])
    h = households([{"persons": 2}, {"persons": 2}, {"persons": 2}])
    result, where = placed(h, m, line_travel([0, 10]))
    assert list(where.value_counts().sort_index()) == [2, 1]
    assert result.fill.loc["0001", "extra_used"] == 2
    assert (result.placements["rule"] == EXTRA_TIER).sum() == 1


# --------------------------------------------------------------------------- even fill

def test_even_fill_spreads_in_proportion_to_decisions():
    """Decisions 10 and 30, 8 single persons without ties: 2 and 6 (20 % each)."""
    m = municipalities([10, 30])
    h = households([{} for _ in range(8)])
    result, where = placed(h, m, line_travel([0, 300]))
    assert where.value_counts().to_dict() == {"0002": 6, "0001": 2}
    assert result.fill["fill_after"].tolist() == [0.2, 0.2]


def test_even_fill_tops_up_the_municipality_that_is_behind():
    """0001 has already settled 5 of 10, 0002 none of 10: 6 more persons bring both to 55 %... as whole
    persons, 0 and 6 would leave 50 % and 60 %; 1 and 5 give 60 % and 50 %; so 0002 gets at least 5."""
    m = municipalities([5, 10], decision=[10, 10], already=[5, 0])
    h = households([{} for _ in range(6)])
    result, where = placed(h, m, line_travel([0, 300]))
    assert (where == "0002").sum() >= 5
    assert result.fill["fill_after"].max() - result.fill["fill_after"].min() <= 0.1 + 1e-9


def test_even_fill_does_not_depend_on_municipality_codes():
    """Swapping which code has which decision swaps the numbers placed."""
    h = households([{} for _ in range(8)])
    _, first = placed(h, municipalities([10, 30]), line_travel([0, 300]))
    _, second = placed(h, municipalities([30, 10]), line_travel([0, 300]))
    assert first.value_counts()["0001"] == second.value_counts()["0002"]


# --------------------------------------------------------------------------- outcome

def test_outcome_sends_a_person_where_fill_leaves_a_free_choice_to_the_better_outcome():
    """One person, two equal municipalities: even fill is indifferent (the
    target of half a person each lies between 0 and 1); with an outcome weight
    the person goes to the better outcome, whichever code it has, and the
    cost says so."""
    h = households([{}])
    params = PlaceParams(outcome_weight=1.5, health_fit_price=0.0)  # the outcome takes the room under the extra tier
    for outcome, best in (([0.9, 0.2], "0001"), ([0.2, 0.9], "0002")):
        result, where = placed(h, municipalities([10, 10], outcome=outcome), line_travel([0, 300]), params)
        assert where["H001"] == best
        assert result.costs["outcome"] == pytest.approx(1.5 * (1 - 0.9))


def test_outcome_never_outweighs_even_fill_or_reach():
    """Ten single persons against decisions of 10 and 10: five each even where
    the outcome differs most, since a person moved costs one person over and
    one under the fill targets (2 at the first band's price 1) and gains only
    1.9; a tied person stays within reach of its tie at the worse outcome."""
    params = PlaceParams(outcome_weight=1.9, health_fit_price=0.0)
    m = municipalities([10, 10], outcome=[0.0, 1.0])
    _, where = placed(households([{} for _ in range(10)]), m, line_travel([0, 300]), params)
    assert where.value_counts().to_dict() == {"0001": 5, "0002": 5}
    _, where = placed(households([{"tie": "0001"}]), m, line_travel([0, 300]), params)
    assert where["H001"] == "0001"


# --------------------------------------------------------------------------- the bound, errors

def test_objective_never_below_lp_bound_and_gap_reported():
    m = municipalities([3, 3, 3], extra_room=[2, 0, 0])
    h = households([{"persons": 2, "tie": "0001"}, {"persons": 2, "tie": "0001"}, {"persons": 3}, {"persons": 2}])
    result, _ = placed(h, m, line_travel([0, 60, 300]))
    assert result.lp_bound <= result.objective + 1e-6
    assert result.gap == pytest.approx((result.objective - result.lp_bound) / result.objective)


def test_infeasible_placement_raises_when_room_is_short():
    m = municipalities([3, 1])
    h = households([{"persons": 3}, {"persons": 2}])
    with pytest.raises(InfeasiblePlan, match="5 persons to place, room for 4"):
        placed(h, m, line_travel([0, 10]))


def test_household_too_large_for_every_municipality_raises():
    m = municipalities([3, 3])
    with pytest.raises(InfeasiblePlan, match="household of 4 persons"):
        placed(households([{"persons": 4}]), m, line_travel([0, 10]))


def test_invalid_inputs_name_the_offender():
    m = municipalities([3, 3])
    h = households([{"tie": "9999"}])
    with pytest.raises(ValueError, match="H001 is tied to unknown municipality '9999'"):
        placed(h, m, line_travel([0, 10]))


def test_params_check_refuses_extra_tier_cheaper_than_fill_gain():
    assert "extra_tier_price must exceed" in PlaceParams(extra_tier_price=1.0).check()
    assert PlaceParams().check() is None


def test_params_check_refuses_a_health_fit_that_could_outweigh_the_extra_tier():
    """Fill can gain 2 * 4 = 8 per person; with 0.5 * 7 = 3.5 of health fit a
    household could gain more than the extra tier's 10 costs."""
    problem = PlaceParams(health_fit_price=0.5, small_health_room=7).check()
    assert "extra_tier_price must exceed 11.5" in problem and "health_fit_price" in problem
    assert PlaceParams(health_fit_price=0.28, small_health_room=7).check() is None  # 9.96
    assert "must be >= 0" in PlaceParams(health_fit_price=-0.1).check()


# --------------------------------------------------------------------------- random instances

@st.composite
def instances(draw):
    """Municipalities on a line and households, with a witness placement
    drawn first: room, extra, health and EM rooms hold at least what the
    witness puts there, so every instance is feasible by construction."""
    n = draw(st.integers(2, 6))
    positions = draw(st.lists(st.integers(0, 300), min_size=n, max_size=n))
    rows, witness = [], []
    for _ in range(draw(st.integers(1, 14))):
        minor = draw(st.booleans()) and draw(st.booleans())
        rows.append({"persons": 1 if minor else draw(st.integers(1, 5)), "unaccompanied_minor": minor,
                     "complex_health": draw(st.booleans()) and draw(st.booleans()),
                     "tie": draw(st.one_of(st.none(), st.sampled_from(codes(n))))})
        witness.append(draw(st.integers(0, n - 1)))
    h = households(rows)
    at = pd.Series([codes(n)[i] for i in witness])
    need = {k: h["persons"].where(mask, 0).groupby(at).sum().reindex(codes(n), fill_value=0)
            for k, mask in (("all", h["persons"] > 0), ("health", h["complex_health"]),
                            ("em", h["unaccompanied_minor"]))}
    spare = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    extra = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    room = [max(int(a) + s - e, 0) for a, s, e in zip(need["all"], spare, extra)]
    m = municipalities(room, extra_room=extra, decision=[r + draw(st.integers(0, 5)) for r in room],
                       health_room=[int(v) + draw(st.integers(0, 2)) for v in need["health"]],
                       em_room=[int(v) + draw(st.integers(0, 2)) for v in need["em"]])
    return h, m, line_travel([float(p) for p in positions])


@PROPERTY
@given(instances())
def test_within_reach_rule_holds_and_verify_finds_nothing(instance):
    h, m, travel = instance
    result, where = placed(h, m, travel)
    assert sorted(where.index) == sorted(h["household_id"])
    assert verify_placement(h, m, travel, result.placements, PARAMS.reasonable_minutes) == []
    assert result.lp_bound <= result.objective + 1e-6


@PROPERTY
@given(instances())
def test_rounding_path_within_reach_rule_holds_and_verify_finds_nothing(instance):
    """The same on the path national batches take: LP rounding, then an
    integer model for single persons and what is left."""
    h, m, travel = instance
    result, _ = placed(h, m, travel, PlaceParams(exact_pairs=0))
    assert verify_placement(h, m, travel, result.placements, PARAMS.reasonable_minutes) == []
    assert result.lp_bound <= result.objective + 1e-6


def test_rounding_path_packs_families_with_complex_health_needs_whole():
    """Complex-health room 5 and 3 within reach of the tie, families of 2 and
    5 tied there: both fit whole only with the 5 in the room of 5.  The LP
    splits them across the two rooms; fixed along it, the family of 2 took
    the room of 5 and the family of 5 went 300 minutes away.  Left to the
    integer model, the rounding path finds the exact model's optimum."""
    m = municipalities([20, 20, 40], health_room=[5, 3, 10], decision=[20, 20, 40])
    h = households([{"tie": "0001", "persons": p, "complex_health": True} for p in (2, 5)] + [{}] * 10)
    travel = line_travel([0, 30, 300])
    rounded, where = placed(h, m, travel, PlaceParams(exact_pairs=0))
    exact, _ = placed(h, m, travel)
    assert where["H002"] == "0001" and where["H001"] == "0002"
    assert rounded.objective == pytest.approx(exact.objective) and rounded.placements["minutes_from_tie"].max() <= 90


def test_determinism_same_input_same_placements():
    population = pd.Series([500.0, 300.0, 200.0, 100.0], index=codes(4))
    h = synthetic_arrivals(population, 40, seed=3)
    m = municipalities([30, 30, 20, 30], extra_room=[5, 5, 5, 5])
    travel = line_travel([0, 40, 100, 170])
    first, _ = placed(h, m, travel)
    second, _ = placed(h.copy(), m.copy(), travel.copy())
    shuffled, _ = placed(h.sample(frac=1.0, random_state=7), m.iloc[::-1], travel)
    pd.testing.assert_frame_equal(first.placements, second.placements)
    pd.testing.assert_frame_equal(first.placements, shuffled.placements)


# --------------------------------------------------------------------------- a year

def test_counts_in_year_follows_registration_after_new_year():
    h = households([{"ready_date": "2022-12-20", "registered_date": "2023-01-09"},
                    {"ready_date": "2022-06-01", "registered_date": "2022-06-20"}, {"ready_date": "2022-07-01"}])
    assert counts_in_year(h).tolist() == [2023, 2022, 2022]


def test_counts_in_year_household_registered_after_new_year_uses_no_room_this_year():
    m = municipalities([2, 2])
    h = households([{"household_id": "A", "ready_date": "2022-12-01"},
                    {"household_id": "B", "ready_date": "2022-12-28", "registered_date": "2023-01-10"}])
    year = simulate_year(weekly_batches(h), m, line_travel([0, 10]), PARAMS, SOLVERS, year=2022)
    assert year.placements["household_id"].tolist() == ["A"]
    assert year.carried["household_id"].tolist() == ["B"]
    assert year.ledgers[2022]["already"].sum() == 1


def test_unused_room_does_not_carry_over_to_next_year():
    """0001 has room left in 2022 but none in 2023: a household tied to it
    that registers in 2023 goes to 0002, within reach."""
    m = municipalities([5, 5])
    next_year = municipalities([0, 3])
    h = households([{"household_id": "A", "tie": "0001", "ready_date": "2022-12-28",
                     "registered_date": "2023-01-10"}])
    year = simulate_year([h], m, line_travel([0, 30]), PARAMS, SOLVERS, year=2022, next_year=next_year)
    row = year.placements.set_index("household_id").loc["A"]
    assert (row["kommunenummer"], row["counts_in_year"]) == ("0002", 2023)
    assert year.ledgers[2022]["room"].tolist() == [5, 5]
    assert year.ledgers[2023]["room"].tolist() == [0, 2]


def test_room_used_in_earlier_weeks_is_gone_later():
    """Week 1's family tied to 0001 fills it; week 2's family tied to 0001
    finds it full and goes beyond reach to 0002 (150 minutes)."""
    m = municipalities([2, 4])
    week1 = households([{"household_id": "A", "persons": 2, "tie": "0001", "ready_date": "2022-03-01"}])
    week2 = households([{"household_id": "B", "persons": 2, "tie": "0001", "ready_date": "2022-03-08"}])
    year = simulate_year([week1, week2], m, line_travel([0, 150]), PARAMS, SOLVERS)
    where = year.placements.set_index("household_id")
    assert where["kommunenummer"].to_dict() == {"A": "0001", "B": "0002"}
    assert where.loc["B", "rule"] == NEAREST_BEYOND
    assert year.ledgers[2022]["room"].tolist() == [0, 2]


def test_week_table_counts_each_week_and_the_fill_after_it():
    """The weeks of the case above: fill after week 1 is 2 of 6 decided, after week 2 4 of 6."""
    m = municipalities([2, 4])
    week1 = households([{"household_id": "A", "persons": 2, "tie": "0001", "ready_date": "2022-03-01"}])
    week2 = households([{"household_id": "B", "persons": 2, "tie": "0001", "ready_date": "2022-03-08"}])
    year = simulate_year([week1, week2], m, line_travel([0, 150]), PARAMS, SOLVERS)
    table = week_table(year, [week1, week2], PARAMS)
    assert table["week_start"].dt.strftime("%Y-%m-%d").tolist() == ["2022-02-28", "2022-03-07"]
    assert table[["households", "persons", "beyond_reach"]].to_numpy().tolist() == [[1, 2, 0], [1, 2, 1]]
    assert table["fill_rate"].tolist() == pytest.approx([2 / 6, 4 / 6])
    assert table["fill_spread_range"].tolist() == pytest.approx([1.0, 0.5])


def test_hindsight_never_costs_more_than_week_by_week():
    """Week 1's single person may take room in 0001 that week 2's family tied
    to 0001 then lacks; placed all at once, the family stays in reach and the
    whole year costs no more."""
    m = municipalities([2, 0, 6])
    week1 = households([{"household_id": "A", "ready_date": "2022-03-01"}])
    week2 = households([{"household_id": "B", "persons": 2, "tie": "0001", "ready_date": "2022-03-08"}])
    travel = line_travel([0, 60, 200])
    weekly = simulate_year([week1, week2], m, travel, PARAMS, SOLVERS)
    all_at_once = hindsight([week1, week2], m, travel, PARAMS, SOLVERS)
    table = compare(weekly, all_at_once)
    assert all_at_once.summary["beyond_reach"] == 0
    assert table.loc["total_cost", "hindsight"] <= table.loc["total_cost", "weekly"] + 1e-9
    assert set(table.index) >= {"total_cost", "fill_spread_std", "beyond_reach"}


def test_move_nearer_takes_a_household_beyond_reach_to_the_cheapest_nearer_room():
    """Tie 0001 has no room; 0002 (100 min) and 0003 (150) are nearer than
    0004 (300), where the household was left: it goes to 0002."""
    h = households([{"household_id": "T", "persons": 2, "tie": "0001"}, {"household_id": "U", "persons": 2}])
    inputs = PlaceInputs(h, municipalities([0, 10, 10, 10]), line_travel([0, 100, 150, 300]))
    moved, moves = move_nearer(inputs, pd.Series(["0004", "0003"], index=h.index), PARAMS)
    assert list(moved) == ["0002", "0003"] and moves == 1
    # Room the model kept for households expected later is not moved into: 0002 is held whole.
    held = pd.DataFrame({"persons": [0, 10, 0, 0], "health": 0, "em": 0}, index=inputs.municipalities.index)
    moved, moves = move_nearer(inputs, pd.Series(["0004", "0003"], index=h.index), PARAMS, held)
    assert list(moved) == ["0003", "0003"] and moves == 1


def test_move_nearer_keeps_a_household_where_fill_costs_more_than_the_minutes_saved():
    """0002 is 5 minutes nearer (1 per household of two) but already at 70 %
    against a national rate of 22.5 %: two more persons there cost more."""
    h = households([{"household_id": "T", "persons": 2, "tie": "0001"}])
    inputs = PlaceInputs(h, municipalities([0, 3, 10, 10], decision=10, already=[0, 7, 0, 0]),
                         line_travel([0, 295, 400, 300]))
    before = pd.Series(["0004"], index=h.index)
    moved, moves = move_nearer(inputs, before, PARAMS)
    assert list(moved) == ["0004"] and moves == 0
    assert placement_cost(inputs, before, PARAMS)["total"] < placement_cost(
        inputs, pd.Series(["0002"], index=h.index), PARAMS)["total"]


def test_a_week_whose_model_with_households_expected_later_finds_no_placement_is_placed_alone(monkeypatch):
    calls = []

    def failing_with_later(inputs, params, solvers, later=None):
        calls.append(later is not None)
        if later is not None:
            raise InfeasiblePlan("placement", "the solver found no placement")
        return place(inputs, params, solvers)

    monkeypatch.setattr(place_year, "place", failing_with_later)
    h = households([{"household_id": f"H{i}", "persons": 2, "complex_health": True,
                     "ready_date": f"2022-0{1 + i}-10"} for i in range(3)])
    year = simulate_year(weekly_batches(h), municipalities([10, 10]), line_travel([0, 30]), PARAMS, SOLVERS)
    assert len(year.placements) == 3 and calls.count(True) >= 1 and calls.count(False) == 3


# --------------------------------------------------------------------------- looking ahead

def test_expected_later_counts_complex_health_households_and_draws_them_over_the_ties_of_all_arrivals():
    """Seen by 1 March (60 days): two households with complex health needs,
    one unaccompanied minor and one without needs; the 305 days left hold
    305/60 = 5.08 times as many: 10 (5.08 * 2, rounded).  They are drawn
    evenly from the three arrivals that are not minors, sorted by tie (A with
    tie 0001, then B and D without, by ready date): positions 0.15, 0.45,
    ... 2.85 of 3 give A three times, B four times and D three times, every
    one with complex health needs."""
    seen = households([{"household_id": "A", "complex_health": True, "persons": 3, "tie": "0001"},
                       {"household_id": "B", "complex_health": True, "ready_date": "2022-02-10"},
                       {"household_id": "C", "complex_health": True, "unaccompanied_minor": True},
                       {"household_id": "D", "persons": 4}])
    later = expected_later(seen, "2022-03-01", 2022)
    assert len(later) == 10 and later["household_id"].str.startswith(LATER_ID).all()
    assert later["household_id"].is_unique
    assert later["persons"].value_counts().to_dict() == {1: 4, 3: 3, 4: 3}
    assert later["complex_health"].all() and not later["unaccompanied_minor"].any()
    assert (later["tie"] == "0001").sum() == 3


def test_expected_later_rounds_the_expected_count_and_ends_with_the_year():
    """1 July: 181 days seen, 183 left, 1.01 times two: 2; 31 December:
    nothing is left."""
    seen = households([{"household_id": "A", "complex_health": True, "ready_date": "2022-06-30"},
                       {"household_id": "B", "complex_health": True, "persons": 2, "ready_date": "2022-01-05"}])
    assert len(expected_later(seen, "2022-06-30", 2022)) == 2
    assert len(expected_later(seen.iloc[:1], "2022-04-10", 2022)) == 3  # 100 days seen, 265 left: 2.65 -> 3
    assert expected_later(seen, "2022-12-31", 2022).empty
    # A first week is extrapolated from at least four weeks: 7 days seen, 357 left -> 357 / 28 = 12.75 -> 13.
    assert len(expected_later(seen.iloc[1:], "2022-01-07", 2022)) == 13


def arrivals_by_day(days: int, ties: tuple, wait_days: int | None = None) -> pd.DataFrame:
    """One household per tie per day from 1 January, plus one unaccompanied
    minor a day; registered ``wait_days`` after being ready where given."""
    rows = []
    for day in pd.date_range("2022-01-01", periods=days):
        for tie in ties + ("minor",):
            row = {"household_id": f"{tie}-{day:%m%d}", "ready_date": day, "persons": 2,
                   "tie": None if tie == "minor" else tie, "unaccompanied_minor": tie == "minor"}
            if wait_days is not None:
                row["registered_date"] = day + pd.Timedelta(days=wait_days)
            rows.append(row)
    return households(rows)


def test_in_the_years_last_weeks_every_household_is_expected_with_the_ties_of_the_arrivals():
    """Two households a day (ties 0001 and 0002) besides the minors, seen for
    345 days by 11 December; 20 days are left: 2 * 20 = 40 expected, 20 per
    tie, none of them a minor, none with complex health needs (none arrived)."""
    seen = arrivals_by_day(345, ("0001", "0002"))
    later = expected_later(seen, "2022-12-11", 2022)
    assert len(later) == 40 and later["household_id"].str.startswith(LATER_ID).all()
    assert later["tie"].value_counts().to_dict() == {"0001": 20, "0002": 20}
    assert not later["unaccompanied_minor"].any() and not later["complex_health"].any()


def test_at_the_years_end_only_households_registered_within_the_year_are_expected():
    """The same arrivals, each registered 10 days after being ready: of the
    20 days left only those ready in the first 10 still register in the year,
    so 2 * 10 = 20 are expected."""
    assert len(expected_later(arrivals_by_day(345, ("0001", "0002"), wait_days=10), "2022-12-11", 2022)) == 20


def test_every_household_is_expected_only_in_the_years_last_35_days():
    """By 25 November 36 days are left: only households with complex health
    needs are expected (none arrived, so none); by 26 November, 35: all of them."""
    seen = arrivals_by_day(329, ("0001",))
    assert expected_later(seen, "2022-11-25", 2022).empty
    assert len(expected_later(seen, "2022-11-26", 2022)) == 35


def test_households_expected_later_hold_room_and_are_not_placed():
    """0001 is the only municipality within reach of the tie 0001 with room
    for a family of three with complex health needs; an untied person with
    such needs goes there when nothing is expected, and to 0002 when such a
    family tied to 0001 is expected later; only the person is placed."""
    m = municipalities([10, 10], health_room=[3, 3], decision=[30, 10])
    travel = line_travel([0, 300])
    h = households([{"complex_health": True}])
    later = households([{"household_id": LATER_ID + "0", "complex_health": True, "persons": 3, "tie": "0001"}])
    _, alone = placed(h, m, travel)
    assert alone["H001"] == "0001"
    result = place(PlaceInputs(h, m, travel), PARAMS, SOLVERS, later)
    assert result.placements["household_id"].tolist() == ["H001"]
    assert result.placements.iloc[0]["kommunenummer"] == "0002"
    assert result.held_for_later == 1 and result.fill["assigned"].sum() == 1


def test_a_household_that_is_here_comes_before_one_expected_later():
    """A family tied to 0001 and one expected later with the same tie, room
    for one of them in reach: the family here is placed in reach."""
    m = municipalities([10, 10], health_room=[3, 10])
    h = households([{"complex_health": True, "persons": 3, "tie": "0001"}])
    later = households([{"household_id": LATER_ID + "0", "complex_health": True, "persons": 3, "tie": "0001"}])
    result = place(PlaceInputs(h, m, line_travel([0, 300])), PARAMS, SOLVERS, later)
    assert result.placements.iloc[0]["kommunenummer"] == "0001"
    assert result.placements.iloc[0]["rule"] == WITHIN_REACH


def fit_case() -> tuple[pd.DataFrame, ClassCosts, PlaceInputs, pd.Series]:
    """Complex-health room 3, 5, 30 and 12 at 0, 60, 200 and 80 minutes along
    the line: a family of 3 tied to 0001 (0003 beyond its reach), a
    household of 2 and a person with no tie (both complex health needs), a
    family of 2 tied to 0001 without."""
    m = municipalities([40, 40, 40, 40], health_room=[3, 5, 30, 12])
    h = households([{"tie": "0001", "persons": 3, "complex_health": True},
                    {"persons": 2, "complex_health": True}, {"persons": 1, "complex_health": True},
                    {"tie": "0001", "persons": 2}])
    classes, class_of = household_classes(h)
    inputs = PlaceInputs(h, m, line_travel([0, 60, 200, 80]))
    return classes, class_costs(classes, inputs, PARAMS), inputs, class_of


def test_health_fit_prices_the_complex_health_room_each_household_leaves():
    """At 0.25 per place, small room up to 7 places (by hand):
    tied family of 3: 0001 used up (0), 0002 leaves 2 of a small room (0.5),
    0003 beyond reach (7 * 0.25), 0004 large (0);
    untied household of 2: leaves 1, 3, 28 and 10 places: (7 - 1), (7 - 3), 0
    and 0 times 0.25; no complex health needs: 0."""
    assert (PARAMS.health_fit_price, PARAMS.small_health_room) == (0.25, 7)
    classes, costs, inputs, class_of = fit_case()
    m = inputs.municipalities
    fit = pd.DataFrame(health_fit(classes, m, costs.within.to_numpy(), PARAMS), index=classes.index,
                       columns=m.index)
    assert fit.loc[class_of[0]].tolist() == [0.0, 0.5, 1.75, 0.0]
    assert fit.loc[class_of[1]].tolist() == [1.5, 1.0, 0.0, 0.0]
    assert fit.loc[class_of[3]].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_pooled_health_fit_per_person_is_the_least_over_the_groups_classes():
    """The untied person leaves 2, 4, 29 and 11 places: 1.25, 0.75, 0, 0 per
    person; the household of 2 pays 1.5, 1.0, 0, 0, i.e. 0.75, 0.5, 0, 0 per
    person; their group pays the least of the two, so the LP over groups
    still bounds the model over households."""
    classes, costs, inputs, class_of = fit_case()
    groups, group_of = person_groups(classes)
    pooled = pd.DataFrame(pooled_fit(classes, costs, group_of, groups),
                          index=groups.index, columns=inputs.municipalities.index)
    assert pooled.loc[group_of[class_of[1]]].tolist() == [0.75, 0.5, 0.0, 0.0]
    assert group_of[class_of[1]] == group_of[class_of[2]]


def test_looking_ahead_a_tied_family_uses_up_a_small_complex_health_room_whole():
    """Three municipalities in reach of the tie with complex-health room 7, 3
    and 5; 0003 already holds a person, and even fill costs the same at
    0001 and 0002 (without the health fit the solver takes 0001): looking
    ahead (a person expected later), the family of 3 goes where it leaves
    nothing (0002), not into the 7 that a larger family may need later."""
    m = municipalities([10, 10, 10], health_room=[7, 3, 5], already=[0, 0, 1])
    h = households([{"tie": "0001", "persons": 3, "complex_health": True}])
    later = households([{"household_id": LATER_ID + "0"}])
    result = place(PlaceInputs(h, m, line_travel([0, 30, 60])), PARAMS, SOLVERS, later)
    assert result.placements.iloc[0]["kommunenummer"] == "0002"
    assert result.held_for_later == 1


def test_looking_ahead_a_household_with_no_tie_takes_complex_health_room_where_it_is_large():
    """A household of 2 with complex health needs and no tie, room 2 and 20,
    even fill indifferent: looking ahead it leaves the small room (for a
    family tied near it) and goes where 18 places are left."""
    m = municipalities([10, 10], health_room=[2, 20])
    h = households([{"persons": 2, "complex_health": True}])
    later = households([{"household_id": LATER_ID + "0"}])
    result = place(PlaceInputs(h, m, line_travel([0, 300])), PARAMS, SOLVERS, later)
    assert result.placements.iloc[0]["kommunenummer"] == "0002"


def test_looking_ahead_an_unaccompanied_minor_without_a_tie_takes_room_for_minors_where_it_is_large():
    """As for complex health needs: room for 2 and for 20 minors, even fill
    indifferent; looking ahead the minor without a tie leaves the small
    room (for a minor tied near it); a minor tied to 0001 takes it."""
    m = municipalities([10, 10], em_room=[2, 20])
    later = households([{"household_id": LATER_ID + "0"}])
    untied = place(PlaceInputs(households([{"unaccompanied_minor": True}]), m, line_travel([0, 300])), PARAMS,
                   SOLVERS, later)
    assert untied.placements.iloc[0]["kommunenummer"] == "0002"
    classes, _ = household_classes(households([{"unaccompanied_minor": True, "persons": 2, "tie": "0001"},
                                                {"unaccompanied_minor": True, "persons": 2}]))
    within = class_costs(classes, PlaceInputs(households([{}]), m, line_travel([0, 300])), PARAMS).within
    fit = health_fit(classes, m, within.to_numpy(), PARAMS)
    # untied (first class): 7 - 0 places where 2 are used up, 7 - min(18, 7) where large; tied: the
    # room of 2 used up whole (0), beyond reach the most (7); times 0.25
    assert fit.tolist() == [[1.75, 0.0], [0.0, 1.75]]


def test_households_expected_later_that_the_room_cannot_hold_are_left_out():
    """Room for 8 persons with complex health needs, 3 of them this week's:
    of three expected households (1, 2 and 2 persons) the first two fit in
    the share of the 5 left that they may hold (4), so the rest are left out
    in order; none may reuse a batch id."""
    assert LATER_ROOM_SHARE == 0.8
    m = municipalities([10, 10], health_room=[4, 4])
    h = households([{"complex_health": True, "persons": 3}])
    later = households([{"household_id": f"{LATER_ID}{i}", "complex_health": True, "persons": p}
                        for i, p in enumerate([1, 2, 2])])
    assert room_for_later(PlaceInputs(h, m, line_travel([0, 300])), later)["persons"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="reuse the batch's id H001"):
        room_for_later(PlaceInputs(h, m, line_travel([0, 300])), later.assign(household_id="H001"))


# --------------------------------------------------------------------------- synthetic arrivals

def test_synthetic_arrivals_same_seed_same_households():
    population = pd.Series([100.0, 50.0], index=["0301", "4601"])
    pd.testing.assert_frame_equal(synthetic_arrivals(population, 50, seed=1),
                                  synthetic_arrivals(population, 50, seed=1))


def test_synthetic_arrivals_minors_are_one_child_and_ties_are_known_codes():
    population = pd.Series([100.0, 0.0, 50.0], index=["0301", "1101", "4601"])
    h = synthetic_arrivals(population, 3000, seed=2)
    minors = h[h["unaccompanied_minor"]]
    assert len(minors) > 0
    assert (minors[["persons", "adults", "children"]] == [1, 0, 1]).all().all()
    assert set(h["tie"].dropna()) <= {"0301", "4601"}
    assert (h["adults"] + h["children"] == h["persons"]).all()
    assert h["ready_date"].dt.year.eq(2022).all()
    assert (h["registered_date"] > h["ready_date"]).all()


def test_synthetic_arrivals_shares_follow_the_stated_distribution():
    """With 20,000 households each stated share is met within 2 points."""
    population = pd.Series([3.0, 1.0], index=["0301", "4601"])
    when = ArrivalYear()
    h = synthetic_arrivals(population, 20000, seed=5, when=when)
    assert math.isclose(h["tie"].isna().mean(), when.shape.no_tie_share, abs_tol=0.02)
    assert math.isclose(h["complex_health"].mean(), when.shape.complex_health_share, abs_tol=0.02)
    tied = h["tie"].dropna()
    assert math.isclose((tied == "0301").mean(), 0.75, abs_tol=0.02)
