"""Criteria: indicators and weights -> target persons per municipality.

Hand-checkable three-municipality examples; the expected numbers are worked
out in the comments, not by the code under test.
"""
from __future__ import annotations

import pandas as pd
import pytest

from optimiser import criteria
from optimiser.plan import CriteriaConfig
from tests.factories import codes, make_access, make_plan_data


def population(*values) -> pd.Series:
    return pd.Series(values, index=pd.Index(codes(len(values)), name="kommunenummer"), dtype=float)


def only_population(n: int) -> pd.DataFrame:
    return pd.DataFrame({"population": 1.0}, index=pd.Index(codes(n), name="kommunenummer"))


def found(data, reasonable_minutes=90.0, year=2022, **access) -> criteria.Criteria:
    return criteria.criteria_of(data, make_access(data, **access), reasonable_minutes, year)


def indicator_frame(data, reasonable_minutes=90.0, **access) -> pd.DataFrame:
    return found(data, reasonable_minutes, **access).indicators


def test_criterion_shares_sum_to_one_per_criterion():
    data = make_plan_data([1200, 5400, 40000, 700], centrality_class=[6, 4, 2, 5])
    frame = indicator_frame(data, minutes_to_school=[0, 30, 0, 60],
                            reachable_population=[20000, 20000, 90000, 4000])
    shares = criteria.criterion_shares(data.municipalities["population"], frame, 0.64)
    assert set(shares.columns) == {"population", "centrality", "upper_secondary", "labour_market"}
    assert shares.sum().to_numpy() == pytest.approx([1.0] * 4)
    assert (shares >= 0).all().all()


def test_population_exponent_one_gives_shares_proportional_to_population():
    # 100, 400, 1600 inhabitants: 100/2100, 400/2100, 1600/2100.
    shares = criteria.criterion_shares(population(100, 400, 1600), only_population(3), 1.0)
    assert shares["population"].tolist() == pytest.approx([1 / 21, 4 / 21, 16 / 21])


def test_population_exponent_below_one_favours_small_municipalities_per_inhabitant():
    # Exponent 0.5: sqrt(100), sqrt(400), sqrt(1600) = 10, 20, 40 -> shares 1/7, 2/7, 4/7.
    pop = population(100, 400, 1600)
    half = criteria.criterion_shares(pop, only_population(3), 0.5)["population"]
    linear = criteria.criterion_shares(pop, only_population(3), 1.0)["population"]
    assert half.tolist() == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    # Per inhabitant the smallest gets 1/700 with exponent 0.5 against 1/2100 with exponent 1,
    # and the largest 1/1600 * 4/7 = 1/2800 against 1/2100.
    per_head_half = half / pop
    per_head_linear = linear / pop
    assert per_head_half["0001"] == pytest.approx(1 / 700)
    assert per_head_half["0001"] > per_head_linear["0001"]
    assert per_head_half["0003"] < per_head_linear["0003"]
    # With exponent < 1 a smaller municipality always gets more per inhabitant than a larger one.
    assert per_head_half.is_monotonic_decreasing


def test_targets_sum_to_need_and_follow_hand_worked_shares():
    # Equal populations, exponent 1: population shares 1/3 each.  Centrality classes
    # 1, 4, 4 -> indicators 1, 0.5, 0.5 -> shares 1/2, 1/4, 1/4.  Weights 0.3 and 0.1
    # renormalise to 3/4 and 1/4: A = 3/4 * 1/3 + 1/4 * 1/2 = 0.375; B = C = 0.3125.
    # Need 80 -> 30, 25, 25.
    data = make_plan_data([100, 100, 100], centrality_class=[1, 4, 4])
    cfg = CriteriaConfig(population_exponent=1.0, weights={"population": 0.3, "centrality": 0.1})
    result = criteria.targets(data.municipalities["population"], found(data), cfg, 80)
    assert result.frame["target"].tolist() == pytest.approx([30, 25, 25])
    assert result.frame["target_share"].sum() == pytest.approx(1.0)
    assert result.frame["target"].sum() == pytest.approx(80)
    assert result.used == ("population", "centrality")


def test_contributions_sum_to_target_per_municipality():
    data = make_plan_data([1200, 5400, 40000, 700], centrality_class=[6, 4, 2, 5])
    found_here = found(data, minutes_to_school=[0, 30, 0, 60], reachable_population=[20000, 20000, 90000, 4000])
    cfg = CriteriaConfig(population_exponent=0.64, weights={
        "population": 0.3, "centrality": 0.1, "upper_secondary": 0.2, "labour_market": 0.2})
    result = criteria.targets(data.municipalities["population"], found_here, cfg, 5500)
    contributions = result.frame.filter(like="contribution_")
    assert sorted(contributions.columns) == sorted(f"contribution_{k}" for k in cfg.weights)
    assert contributions.sum(axis=1).to_numpy() == pytest.approx(result.frame["target"].to_numpy())
    assert result.frame["target"].sum() == pytest.approx(5500)
    # Each criterion hands out its weight's part of the need: population 0.3/0.8 of 5500.
    assert contributions["contribution_population"].sum() == pytest.approx(5500 * 0.3 / 0.8)


def test_history_lacked_with_empty_history():
    data = make_plan_data([100, 100, 100], centrality_class=[1, 4, 4])
    assert "request_last" not in found(data).shares.columns
    cfg = CriteriaConfig(population_exponent=1.0,
                         weights={"population": 0.3, "centrality": 0.1, "request_last": 0.2, "employment": 0.0})
    result = criteria.targets(data.municipalities["population"], found(data), cfg, 80)
    assert result.lacked == ("request_last",)
    assert "employment" in result.unused
    assert "contribution_request_last" not in result.frame.columns
    # The lacked weight is left out and the rest renormalised: same 30, 25, 25 as without it.
    assert result.frame["target"].tolist() == pytest.approx([30, 25, 25])


def test_weights_renormalised_scaling_all_weights_changes_nothing():
    data = make_plan_data([1200, 5400, 40000], centrality_class=[6, 4, 2])
    pop = data.municipalities["population"]
    small = criteria.targets(pop, found(data), CriteriaConfig(0.64, {"population": 0.3, "centrality": 0.1}), 100)
    large = criteria.targets(pop, found(data), CriteriaConfig(0.64, {"population": 3.0, "centrality": 1.0}), 100)
    pd.testing.assert_frame_equal(small.frame, large.frame)


LAST_YEAR = pd.DataFrame({"kommunenummer": ["0001", "0002", "0003"], "year": 2021, "requested": [10, 0, 30],
                          "decided": [10, 0, 30], "settled": [10, 0, 30]})


def test_last_years_request_enters_as_a_share_of_its_own():
    # Requested in 2021: 10, 0, 30 of 40.  At the same need the targets follow it exactly,
    # whatever the populations and the exponent (a share is not multiplied by p^a).
    data = make_plan_data([1000, 5000, 2000], history=LAST_YEAR)
    cfg = CriteriaConfig(population_exponent=0.5, weights={"request_last": 1.0}, history_damping=1.0)
    result = criteria.targets(data.municipalities["population"], found(data), cfg, 40)
    assert result.frame["target"].tolist() == pytest.approx([10, 0, 30])
    assert result.kept == 1.0


def test_a_growing_need_moves_part_of_the_history_weight_to_population():
    # Need 80 against last year's 40: growth 2; damping 1 keeps f = 2^-1 = 0.5 of the share's
    # weight and spreads the rest by population (equal here, exponent 1): 80 * (0.5 * share + 0.5 / 3).
    data = make_plan_data([1000, 1000, 1000], history=LAST_YEAR)
    cfg = CriteriaConfig(population_exponent=1.0, weights={"request_last": 1.0}, history_damping=1.0)
    result = criteria.targets(data.municipalities["population"], found(data), cfg, 80)
    assert result.kept == pytest.approx(0.5)
    assert result.frame["target"].tolist() == pytest.approx([40 * 0.25 + 80 / 6, 80 / 6, 40 * 0.75 + 80 / 6])
    # The moved part is shown as population's contribution.
    assert result.frame["contribution_population"].tolist() == pytest.approx([80 / 6] * 3)
    # No damping: history keeps its share of the need.
    still = criteria.targets(data.municipalities["population"], found(data),
                             CriteriaConfig(population_exponent=1.0, weights={"request_last": 1.0}), 80)
    assert still.frame["target"].tolist() == pytest.approx([20, 0, 60])


def test_a_plan_never_reads_history_of_its_own_year():
    late = pd.concat([LAST_YEAR, LAST_YEAR.assign(year=2022)])
    data = make_plan_data([1000, 1000, 1000], history=late)
    with pytest.raises(ValueError, match="may only read years before 2022"):
        found(data, year=2022)


def test_partial_planner_indicator_is_lacked_not_filled():
    partial = pd.Series([0.5, 0.7], index=["0001", "0002"])
    data = make_plan_data([1000, 1000, 1000], indicators={"employment": partial})
    frame = indicator_frame(data)
    assert "employment" not in frame.columns
    cfg = CriteriaConfig(population_exponent=1.0, weights={"population": 1.0, "employment": 1.0})
    result = criteria.targets(data.municipalities["population"], found(data), cfg, 30)
    assert result.lacked == ("employment",)
    assert result.frame["target"].tolist() == pytest.approx([10, 10, 10])


def test_upper_secondary_indicator_floors_far_municipalities():
    # 90 minutes reasonable: 0 min -> 1; 45 min -> 0.5; 90 min and beyond -> floor 0.1.
    data = make_plan_data([1000, 1000, 1000, 1000])
    frame = indicator_frame(data, minutes_to_school=[0, 45, 90, float("inf")])
    assert frame["upper_secondary"].tolist() == pytest.approx([1.0, 0.5, 0.1, 0.1])


def test_no_weighted_criterion_with_data_raises():
    data = make_plan_data([100, 100, 100])
    cfg = CriteriaConfig(population_exponent=1.0, weights={"request_last": 1.0})
    with pytest.raises(ValueError, match="population"):
        criteria.targets(data.municipalities["population"], found(data), cfg, 30)
