"""Scenario sweeps: the scenarios a design gives, and the planner's summary of
their requests (checked against numbers worked out by hand)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimiser.sweep import Axis, SweepDesign, fan, rank_correlation, scenarios, summarise

CRITERIA = ("population", "centrality", "upper_secondary", "labour_market", "settlement_history")


def random_design(samples=50, seed=7, **axes) -> SweepDesign:
    return SweepDesign(design="random", seed=seed, samples=samples, **axes)


WEIGHT_RANGES = {"population": Axis(low=0.2, high=0.5), "upper_secondary": Axis(low=0.1, high=0.3),
                 "labour_market": Axis(low=0.1, high=0.3), "centrality": Axis(low=0.0, high=0.2)}


def test_grid_is_every_combination_in_order_with_readable_ids():
    design = SweepDesign(design="grid", need_persons=Axis(start=3000, stop=5000, step=1000),
                         minimum_request=Axis(values=(5, 10)))
    found, note = scenarios(design, CRITERIA, granularity=1)
    assert [(s.id, s.need_persons, s.minimum_request) for s in found] == [
        ("s001", 3000, 5), ("s002", 3000, 10), ("s003", 4000, 5), ("s004", 4000, 10), ("s005", 5000, 5),
        ("s006", 5000, 10)]
    assert all(s.weights is None and s.capacity_factor is None for s in found)
    assert note == "the plan's own weights"


def test_grid_weights_keep_only_the_combinations_that_sum_to_one():
    weights = {"population": Axis(values=(0.4, 0.6)), "centrality": Axis(values=(0.4, 0.6))}
    found, note = scenarios(SweepDesign(design="grid", weights=weights), CRITERIA, granularity=1)
    assert [dict(s.weights) for s in found] == [
        {"population": 0.4, "centrality": 0.6, "upper_secondary": 0.0, "labour_market": 0.0, "settlement_history": 0.0},
        {"population": 0.6, "centrality": 0.4, "upper_secondary": 0.0, "labour_market": 0.0, "settlement_history": 0.0}]
    assert note.startswith("2 of 4 combinations")


def test_grid_weights_that_never_sum_to_one_are_refused():
    weights = {"population": Axis(values=(0.1, 0.2)), "centrality": Axis(values=(0.1,))}
    with pytest.raises(ValueError, match="none of the 2 combinations"):
        scenarios(SweepDesign(design="grid", weights=weights), CRITERIA, granularity=1)


def test_random_draws_stay_in_their_ranges_and_weights_sum_to_one():
    design = random_design(samples=200, need_persons=Axis(low=3000, high=40000), weights=WEIGHT_RANGES,
                           capacity_factor=Axis(low=0.8, high=1.5), minimum_request=Axis(values=(5, 10)))
    found, note = scenarios(design, CRITERIA, granularity=5)
    assert len(found) == 200 and found[-1].id == "s200"
    assert "never renormalised" in note
    for s in found:
        assert 3000 <= s.need_persons <= 40000 and s.need_persons % 5 == 0
        assert 0.8 <= s.capacity_factor <= 1.5 and s.minimum_request in (5, 10)
        assert abs(sum(s.weights.values()) - 1) <= 1e-9
        assert s.weights["settlement_history"] == 0.0  # not named: no weight
        for name, axis in WEIGHT_RANGES.items():
            assert axis.low - 1e-9 <= s.weights[name] <= axis.high + 1e-9
    # The draws cover the ranges, not one corner of them.
    needs = [s.need_persons for s in found]
    assert min(needs) < 6000 and max(needs) > 37000
    assert min(s.weights["centrality"] for s in found) < 0.03 and max(s.weights["centrality"] for s in found) > 0.17


def test_random_sweeps_repeat_and_a_larger_sample_starts_with_the_smaller():
    axes = {"need_persons": Axis(low=3000, high=40000), "weights": WEIGHT_RANGES}
    small, _ = scenarios(random_design(samples=20, **axes), CRITERIA, 1)
    again, _ = scenarios(random_design(samples=20, **axes), CRITERIA, 1)
    large, _ = scenarios(random_design(samples=60, **axes), CRITERIA, 1)
    other, _ = scenarios(random_design(samples=20, seed=8, **axes), CRITERIA, 1)
    assert [s.row() for s in small] == [s.row() for s in again]
    assert [s.row() | {"scenario": None} for s in small] == [s.row() | {"scenario": None} for s in large[:20]]
    assert [s.row() for s in small] != [s.row() for s in other]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.6), st.floats(0, 0.6)), min_size=2, max_size=4), st.integers(0, 2**32))
def test_weight_draws_sum_to_one_within_any_ranges_that_allow_it(ranges, seed):
    axes = {name: Axis(low=min(a, b), high=max(a, b)) for name, (a, b) in zip(CRITERIA, ranges)}
    low, high = sum(a.low for a in axes.values()), sum(a.high for a in axes.values())
    if not low <= 1 <= high or high - low < 0.05:
        return  # no room (refused when the file is read), or too little to draw from quickly
    found, _ = scenarios(random_design(samples=5, seed=seed, weights=axes), CRITERIA, 1)
    for s in found:
        assert abs(sum(s.weights.values()) - 1) <= 1e-9
        assert all(axes[k].low - 1e-9 <= s.weights[k] <= axes[k].high + 1e-9 for k in axes)


def test_rank_correlation_is_spearman():
    # Monotone in the weight: +1; reversed: -1; constant: undefined.
    weights = np.array([[0.1], [0.2], [0.3], [0.4]])
    rows = np.array([[1.0, 4.0, 9.0, 16.0], [5.0, 3.0, 2.0, 1.0], [2.0, 2.0, 2.0, 2.0], [1.0, 3.0, 2.0, 4.0]])
    rho = rank_correlation(rows, weights)[:, 0]
    assert rho[0] == pytest.approx(1.0) and rho[1] == pytest.approx(-1.0) and np.isnan(rho[2])
    assert rho[3] == pytest.approx(0.8)  # ranks 1 3 2 4 against 1 2 3 4: 1 - 6 * 2 / (4 * 15)


def test_summary_of_requests_across_scenarios():
    # Three scenarios; A is asked in two of them, first at need 200; B always;
    # C never.  Needs 100, 200, 200; one weight rising 0.1, 0.2, 0.3.
    requests = pd.DataFrame({"s1": [0, 10, 0], "s2": [12, 30, 0], "s3": [20, 24, 0]}, index=["A", "B", "C"])
    needs = pd.Series({"s1": 100, "s2": 200, "s3": 200})
    weights = pd.DataFrame({"population": [0.1, 0.2, 0.3], "centrality": [0.2, 0.2, 0.2]},
                           index=["s1", "s2", "s3"])
    out = summarise(requests, needs, weights)
    assert out.loc["A", ["minimum", "median", "maximum"]].tolist() == [0, 12, 20]
    assert out.loc["B", ["minimum", "median", "maximum"]].tolist() == [10, 24, 30]
    assert out["share_asked"].tolist() == pytest.approx([2 / 3, 1.0, 0.0])
    assert out.loc["A", "first_asked_need"] == 200 and out.loc["B", "first_asked_need"] == 100
    assert pd.isna(out.loc["C", "first_asked_need"])
    # The weight that does not vary is left out; C, never asked, is sensitive to nothing.
    assert "sensitivity_centrality" not in out
    # A's share rises with the weight (0, 0.06, 0.10): +1.  B's: 0.10, 0.15, 0.12: ranks 1 3 2: +0.5.
    assert out.loc["A", "most_sensitive_to"] == "population" and out.loc["A", "sensitivity"] == pytest.approx(1.0)
    assert out.loc["B", "sensitivity"] == pytest.approx(0.5)
    assert out.loc["C", "most_sensitive_to"] == "" and np.isnan(out.loc["C", "sensitivity"])


def test_summary_without_feasible_scenarios_says_nothing():
    out = summarise(pd.DataFrame(index=["A", "B"]), pd.Series(dtype=float), pd.DataFrame())
    assert out["minimum"].isna().all() and out["first_asked_need"].isna().all()
    assert (out["most_sensitive_to"] == "").all()


def test_fan_gives_median_and_range_per_need():
    requests = pd.DataFrame({"s1": [10, 1], "s2": [14, 1], "s3": [20, 2], "s4": [30, 5]}, index=["03", "11"])
    needs = pd.Series({"s1": 100, "s2": 100, "s3": 200, "s4": 200})
    frame = fan(requests, needs)
    oslo = frame[frame["key"] == "03"]
    assert oslo["need"].tolist() == [100, 200]
    assert oslo["median"].tolist() == [12, 25] and oslo["minimum"].tolist() == [10, 20]
    assert oslo["maximum"].tolist() == [14, 30] and oslo["scenarios"].tolist() == [2, 2]


def test_fan_groups_many_needs_into_bins():
    needs = pd.Series({f"s{i}": 1000 + i for i in range(100)})
    requests = pd.DataFrame({f"s{i}": [i] for i in range(100)}, index=["03"])
    frame = fan(requests, needs, max_points=10)
    assert len(frame) == 10 and frame["scenarios"].sum() == 100
    assert frame["need"].is_monotonic_increasing
