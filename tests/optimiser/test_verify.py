"""The independent checker: one hand-made allocation per rule, each breaking
exactly that rule, must be named with municipality, rule and amount; the valid
allocation passes.  Need ladders: a request that falls is named with both needs.

The plan (need 100, granularity 5, minimum 10):

    code fylke base extra  other limits                      valid x   valid EM
    0001  01    40   10    EM capacity 8                       40         8
    0002  01    30    0    KS cap 25                           20         0
    0003  02    30    0    locked at 20                        20         0
    0004  02    30    0    complex-health cap 25, EM cap 12    10         4
    0005  03    30    0    not eligible                         0         0
    0006  03    30    0    settled 10 (lower bound), EM cap 4  10         0

County 02 must receive at least 30; 12 unaccompanied minors, at least 2 each.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest

from optimiser.plan import SolverConfig
from optimiser.reallocate import ladder
from optimiser.verify import RULES, verify, verify_ladder
from pipeline.solvers import make_solvers
from tests.factories import codes, make_inputs

NAN = math.nan
VALID_X = [40, 20, 20, 10, 0, 10]
VALID_EM = [8, 0, 0, 4, 0, 0]


def plan(granularity: int = 5):
    return make_inputs(
        [35, 20, 15, 15, 5, 10], need=100, granularity=granularity, min_request=10,
        fylke=["01", "01", "02", "02", "03", "03"],
        base_capacity=[40, 30, 30, 30, 30, 30], extra_capacity=[10, 0, 0, 0, 0, 0],
        eligible=[True, True, True, True, False, True],
        cap=[NAN, 25, NAN, NAN, NAN, NAN], health_cap=[NAN, NAN, NAN, 25, NAN, NAN],
        recommended=[NAN, NAN, 20, NAN, NAN, NAN], locked=[False, False, True, False, False, False],
        lower_bound=[0, 0, 0, 0, 0, 10], em_capacity=[8, 0, 0, 12, 0, 4],
        county_minimum={"02": 30}, em_need=12, em_minimum=2,
    )


def found(x, em=VALID_EM, granularity: int = 5) -> set[tuple[str, str, float]]:
    """(rule, key, amount) of every violation; ``x`` a list in code order or a Series."""
    request = x if isinstance(x, pd.Series) else pd.Series(x, index=codes(6))
    return {(v.rule, v.key, v.amount) for v in verify(plan(granularity), request, pd.Series(em, index=codes(6)))}


def test_valid_allocation_has_no_violation():
    assert found(VALID_X) == set()


@pytest.mark.parametrize("x, expected", [
    ([45, 20, 20, 10, 0, 10], {("national_need", "NO", 5.0)}),
    ([45, 20, 20, 10, -5, 10], {("non_negative", "0005", 5.0)}),
    ([30, 20, 20, 10, 10, 10], {("eligibility", "0005", 10.0)}),
    ([50, 5, 20, 15, 0, 10], {("minimum_size", "0002", 5.0)}),
    ([55, 0, 20, 15, 0, 10], {("capacity", "0001", 5.0)}),        # base 40 + extra 10
    ([30, 30, 20, 10, 0, 10], {("ks_cap", "0002", 5.0)}),         # within its base 30
    ([30, 10, 20, 30, 0, 10], {("complex_health", "0004", 5.0)}),  # within its base 30
    ([45, 25, 20, 10, 0, 0], {("lower_bound", "0006", 10.0)}),    # 0 is otherwise allowed
    ([35, 20, 25, 10, 0, 10], {("lock", "0003", 5.0)}),
    ([42, 18, 20, 10, 0, 10], {("granularity", "0001", 2.0), ("granularity", "0002", 3.0)}),
], ids=["national_need", "non_negative", "eligibility", "minimum_size", "capacity", "ks_cap",
        "complex_health", "lower_bound", "lock", "granularity"])
def test_each_broken_rule_is_named_with_municipality_and_amount(x, expected):
    assert found(x) == expected


def test_integer_requests_only():
    # Granularity 1, so only wholeness is at stake; the sum is still 100.
    assert found([39.5, 20.5, 20, 10, 0, 10], granularity=1) == {("integer", "0001", 0.5), ("integer", "0002", 0.5)}


def test_county_spread_names_the_county_and_its_shortfall():
    # County 02 gets 20 (the lock) + 0; its minimum is 30.  EM moved off 0004.
    assert found([45, 25, 20, 0, 0, 10], em=[8, 0, 0, 0, 0, 4]) == {("county_spread", "02", 10.0)}


def test_missing_municipality_is_named_and_counted_as_zero():
    request = pd.Series(VALID_X[:5], index=codes(5))
    assert found(request) == {("complete", "0006", 0.0), ("national_need", "NO", -10.0), ("lower_bound", "0006", 10.0)}


def test_request_for_a_municipality_outside_the_plan():
    request = pd.Series(VALID_X + [5], index=codes(6) + ["9999"])
    assert found(request) == {("unknown_municipality", "9999", 5.0)}


@pytest.mark.parametrize("em, expected", [
    ([8, 0, 0, 2, 0, 0], {("em_quota", "NO", -2.0)}),
    ([9, 0, 0, 3, 0, 0], {("em_capacity", "0001", 1.0)}),
    ([7, 0, 0, 4, 0, 1], {("em_minimum", "0006", 1.0)}),
    ([0, 0, 0, 12, 0, 0], {("em_inside_total", "0004", 2.0)}),     # x = 10
    ([8, 2, 0, 2, 0, 0], {("em_capable", "0002", 2.0), ("em_capacity", "0002", 2.0)}),  # no EM capacity
], ids=["em_quota", "em_capacity", "em_minimum", "em_inside_total", "em_capable"])
def test_each_broken_em_rule_is_named(em, expected):
    assert found(VALID_X, em=em) == expected


def test_violation_detail_states_the_request():
    (violation,) = verify(plan(), pd.Series([30, 30, 20, 10, 0, 10], index=codes(6)), pd.Series(VALID_EM, index=codes(6)))
    assert violation.detail == "request 30 above the KS cap"


def test_report_lists_every_rule_checked():
    assert {"unknown_municipality", "capacity", "ks_cap", "lock", "em_quota"} <= set(RULES)


# --------------------------------------------------------------------------- need ladder

def ladder_table(rows: dict[str, list[int]], needs=("200", "1000", "1500")) -> pd.DataFrame:
    """As the ladder CSV reads back: kommunenummer column, one text column per need."""
    return pd.DataFrame(rows, index=list(needs)).T.rename_axis("kommunenummer").reset_index()


def test_ladder_never_falling_has_no_violation():
    assert verify_ladder(ladder_table({"0001": [10, 20, 20], "0002": [0, 0, 10]})) == []


def test_ladder_fall_names_municipality_both_needs_and_persons():
    # Needs sort as numbers (200 < 1000 < 1500), not as text.
    table = ladder_table({"0001": [10, 20, 15], "0002": [0, 10, 10], "0003": [30, 25, 40]})
    found_ = [(v.rule, v.key, v.amount, v.detail) for v in verify_ladder(table)]
    assert found_ == [
        ("ladder_monotonicity", "0003", 5.0, "request falls from 30 at need 200 to 25 at need 1000"),
        ("ladder_monotonicity", "0001", 5.0, "request falls from 20 at need 1000 to 15 at need 1500"),
    ]


def test_ladder_from_the_optimiser_passes_the_check():
    def at(need):
        return make_inputs([0.6 * need, 0.3 * need, 0.1 * need], need=need, min_request=10)

    table = ladder(at, [40, 60, 95, 100], make_solvers(SolverConfig()))
    assert list(table.columns) == [40, 60, 95, 100]
    assert verify_ladder(table) == []
