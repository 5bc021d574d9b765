"""Explanations: the sentence per municipality states the allocation's and the
inputs' numbers, names the limits that bound, and the marginal value of one
more place is what one more place is worth, derived by hand.

Objective reminder (default penalties): each person of deviation from the
target is priced by its band of the target (the first 10 % at 1, 10-25 % at
1.5, 25-50 % at 2.5, beyond 50 % at 4), plus the tie-break 1e-4 * (1 + i/n)
per person at the i-th of n municipalities, the largest target first (equal
targets in code order).
"""
from __future__ import annotations

import math
import re
import warnings

import pandas as pd
import pytest

from optimiser.criteria import Targets
from optimiser.explain import binding_limits, capacity_marginal_value, explain, markdown
from optimiser.plan import SolverConfig
from pipeline.solvers import make_solvers
from tests.factories import codes, make_inputs, make_plan, solve_quietly

NAN = math.nan
SOLVERS = make_solvers(SolverConfig())


def explained(contributions: dict[str, list[float]], request=None, em_request=None, marginal=None,
              excluded_by=None, **columns) -> pd.DataFrame:
    """explain() on a hand-made plan whose targets are the sums of ``contributions``.

    Without ``request`` the plan is solved and the marginal values computed;
    with it, the given numbers are explained as they are."""
    target = [sum(parts) for parts in zip(*contributions.values())]
    inputs = make_inputs(target, **columns)
    index = inputs.municipalities.index
    if excluded_by is not None:
        inputs.municipalities["excluded_by"] = excluded_by
    if request is None:
        request, result = solve_quietly(inputs)
        assert result.status.has_solution
    request = pd.Series(request, index=index)
    em_request = pd.Series(em_request if em_request is not None else 0, index=index)
    if marginal is None:
        marginal = capacity_marginal_value(inputs, request, em_request, SOLVERS)
    frame = pd.DataFrame({f"contribution_{k}": v for k, v in contributions.items()}, index=index)
    targets = Targets(frame=frame.assign(target=target, target_share=[t / inputs.need for t in target]),
                      used=tuple(contributions), lacked=(), unused=())
    allocation = pd.DataFrame({"kommunenummer": index, "kommune": [f"Kommune {c}" for c in index],
                               "request": request.to_numpy(), "em_request": em_request.to_numpy()})
    return explain(make_plan(), targets, inputs, allocation, pd.Series(marginal, index=index)).set_index("kommunenummer")


def sentence(frame: pd.DataFrame, code: str) -> str:
    return frame.at[code, "sentence"]


def number_after(text: str, words: str) -> float:
    """The number that follows ``words`` in ``text``."""
    match = re.search(re.escape(words) + r" ([+-]?\d+(?:\.\d+)?)", text)
    assert match, f"{words!r} not in {text!r}"
    return float(match.group(1))


# --------------------------------------------------------------------------- sentences state the numbers

def test_sentence_numbers_match_allocation_and_targets():
    # Targets 50 = 30 + 20 and 50 = 35 + 15; 0001 has 30 places.  Requests 30 and 70.
    frame = explained({"population": [30.0, 35.0], "centrality": [20.0, 15.0]}, base_capacity=[30, 100])
    assert frame["request"].tolist() == [30, 70]
    for code, request, target, population, centrality in [("0001", 30, 50, 30, 20), ("0002", 70, 50, 35, 15)]:
        text = sentence(frame, code)
        assert text.startswith(f"Kommune {code} ({code}) is asked to settle ")
        assert number_after(text, "is asked to settle") == request
        assert number_after(text, "target") == target
        assert number_after(text, "population") == population
        assert number_after(text, "centrality") == centrality
    # Contributions are listed largest first.
    assert "(population 35.0, centrality 15.0)" in sentence(frame, "0002")


def test_recommendation_and_deviation_in_the_sentence():
    frame = explained({"population": [50.0, 50.0]}, request=[45, 55], recommended=[40, NAN], marginal=0.0)
    text = sentence(frame, "0001")
    assert number_after(text, "the county recommended") == 40
    assert "the county recommended 40 (+5)" in text
    assert frame.at["0001", "deviation_from_recommended"] == 5
    assert "recommended" not in sentence(frame, "0002")


def test_unaccompanied_minors_in_the_sentence():
    frame = explained({"population": [50.0, 50.0]}, request=[50, 50], em_request=[4, 0], em_capacity=[4, 0],
                      em_need=4, marginal=0.0)
    assert "is asked to settle 50 persons, of whom 4 unaccompanied minors" in sentence(frame, "0001")
    assert "bound by: EM capacity" in sentence(frame, "0001")
    assert "unaccompanied" not in sentence(frame, "0002")


def test_markdown_has_one_sentence_per_municipality():
    frame = explained({"population": [30.0, 35.0, 35.0]}, request=[30, 35, 35], marginal=0.0)
    lines = markdown(frame.reset_index(), make_plan()).splitlines()
    assert lines[0] == "# Why each municipality got its number: plan test"
    bullets = [line for line in lines if line.startswith("- ")]
    assert bullets == [f"- {sentence(frame, c)}" for c in codes(3)]


# --------------------------------------------------------------------------- binding limits

def test_capacity_bound_with_positive_marginal_value():
    # 0001: target 50, 30 places; 0002: target 50, room: 30 and 70, each 20 (40 %)
    # from the target, whose 20th person is in the 25-50 % band (price 2.5).  One
    # more place at 0001 takes one person off both deviations (2.5 + 2.5) and moves
    # it from 0002 (tie-break 1.5e-4) to 0001 (1e-4): 5.00005.
    frame = explained({"population": [50.0, 50.0]}, base_capacity=[30, 100])
    assert frame["request"].tolist() == [30, 70]
    assert frame.at["0001", "binding"] == "base capacity"
    assert frame.at["0001", "capacity_marginal_value"] == pytest.approx(5.00005, abs=1e-6)
    assert frame.at["0002", "capacity_marginal_value"] == 0
    text = sentence(frame, "0001")
    assert "bound by: base capacity" in text
    assert number_after(text, "one more place of capacity would improve the plan by") == 5.00


def test_capacity_bound_at_target_gains_nothing_from_one_more_place():
    # 0001 sits at its 30 places and at its target 30; a 31st person would come
    # from 0002 (at its target 70): +2 deviation, so one more place is worth 0.
    frame = explained({"population": [30.0, 70.0]}, base_capacity=[30, 100])
    assert frame["request"].tolist() == [30, 70]
    assert frame.at["0001", "binding"] == "base capacity"
    assert frame.at["0001", "capacity_marginal_value"] == 0
    assert "would improve" not in sentence(frame, "0001")


def test_ks_cap_bound_with_its_marginal_value():
    # KS caps 0002 at 25 (target 40); 0001 (target 60) takes 75.  0002's 15th person
    # short (37.5 % of 40) is priced 2.5, 0001's 15th person over (25 % of 60) 1.5.
    # One more place at 0002 saves both, and moves a person from 0001 (the larger
    # target, tie-break 1e-4) to 0002 (1.5e-4): 4 - 0.5e-4 = 3.99995.
    frame = explained({"population": [60.0, 40.0]}, cap=[NAN, 25])
    assert frame["request"].tolist() == [75, 25]
    assert frame.at["0002", "binding"] == "KS cap"
    assert frame.at["0002", "capacity_marginal_value"] == pytest.approx(3.99995, abs=1e-6)
    assert number_after(sentence(frame, "0002"), "would improve the plan by") == 4.00


def test_extra_capacity_bound():
    # 0001: target 60, base 30 + extra 10; 0002 only 60 places: 0001 must take 40.
    frame = explained({"population": [60.0, 40.0]}, base_capacity=[30, 60], extra_capacity=[10, 0])
    assert frame["request"].tolist() == [40, 60]
    assert frame.at["0001", "binding"] == "extra capacity"
    assert frame.at["0002", "binding"] == "base capacity"


def test_locked_municipality_is_reported_locked():
    frame = explained({"population": [50.0, 50.0]}, recommended=[20, NAN], locked=[True, False])
    assert frame["request"].tolist() == [20, 80]
    text = sentence(frame, "0001")
    assert "bound by: locked recommendation" in text
    assert "the county recommended 20 (+0)" in text


def test_minimum_size_bound():
    # Target 7 with a minimum of 10: asking 10 costs 3 + 3, asking 0 costs 7 + 7.
    frame = explained({"population": [7.0, 93.0]}, min_request=10)
    assert frame["request"].tolist() == [10, 90]
    assert frame.at["0001", "binding"] == "minimum size"


def test_not_asked_below_minimum_says_why():
    frame = explained({"population": [3.0, 97.0]}, min_request=10)
    assert frame.at["0001", "request"] == 0
    assert sentence(frame, "0001").startswith(
        "Kommune 0001 (0001) is not asked: its target is too small to justify the minimum request; target 3.0 persons")


def test_access_rule_names_the_travel_time():
    frame = explained({"population": [20.0, 80.0]}, eligible=[False, True], excluded_by=["access", ""])
    assert frame.at["0001", "request"] == 0
    assert "is not asked: no upper-secondary school within 90 minutes (access rule)" in sentence(frame, "0001")


def test_ks_exclusion_named():
    frame = explained({"population": [20.0, 80.0]}, eligible=[False, True], excluded_by=["ks_exclusion", ""])
    assert "is not asked: KS exclusion" in sentence(frame, "0001")


def test_access_rule_not_named_when_a_replan_made_the_municipality_eligible():
    # Re-plans keep excluded_by but make a municipality with settled persons eligible.
    inputs = make_inputs([20, 80], lower_bound=[20, 0])
    inputs.municipalities["excluded_by"] = ["access", ""]
    request = pd.Series([20, 80], index=codes(2))
    binding = binding_limits(inputs, request, request * 0)
    assert binding["0001"] == "settled or decided"


def test_marginal_values_use_no_deprecated_constraint_mapping():
    inputs = make_inputs([50, 50], base_capacity=[30, 100])
    request = pd.Series([30, 70], index=codes(2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        capacity_marginal_value(inputs, request, request * 0, SOLVERS)
    assert not [w for w in caught if "constraints as a dict" in str(w.message)]


def test_marginal_values_through_cbc_equal_those_through_highs():
    # HiGHS re-runs its kept model with a raised row bound; CBC re-solves the
    # problem through PuLP.  Both must give the hand-derived 5.00005 (see above)
    # and the KS cap's 3.99995.
    for columns, code, value in (({"base_capacity": [30, 100]}, "0001", 5.00005),
                                 ({"cap": [NAN, 25.0]}, "0002", 3.99995)):
        target = [50.0, 50.0] if "base_capacity" in columns else [60.0, 40.0]
        inputs = make_inputs(target, **columns)
        request, _ = solve_quietly(inputs)
        em = pd.Series(0, index=request.index)
        by_solver = {name: capacity_marginal_value(inputs, request, em, make_solvers(SolverConfig(name=name,
                                                                                                  fallback=None)))
                     for name in ("highs", "cbc")}
        for name, marginal in by_solver.items():
            assert marginal[code] == pytest.approx(value, abs=1e-6), name
        pd.testing.assert_series_equal(by_solver["highs"], by_solver["cbc"], atol=1e-6)
