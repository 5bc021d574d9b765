"""Infeasibility diagnosis on plans whose conflict is known by hand: the
elastic model names the smallest set of limits to break and by how many persons."""
from __future__ import annotations

import math
import warnings

import pytest

from optimiser.allocate import solve_plan
from optimiser.diagnose import describe, diagnose
from optimiser.plan import CapacityRule, SolverConfig, SpreadConfig
from optimiser.solve import InfeasiblePlan
from pipeline.solvers import make_solvers
from tests.factories import make_access, make_inputs, make_plan, make_plan_data, solve_quietly

NAN = math.nan
SOLVERS = make_solvers(SolverConfig())


def conflicts(inputs) -> list[tuple[str, str, float]]:
    _, result = solve_quietly(inputs)
    assert not result.status.has_solution  # the fixture really is infeasible
    return [(c.rule, c.key, c.amount) for c in diagnose(inputs, SOLVERS)]


def test_national_capacity_below_need():
    # 40 + 40 places for a need of 100: short by 20.
    inputs = make_inputs([50, 50], base_capacity=[40, 40])
    assert conflicts(inputs) == [("national_need", "NO", 20.0)]
    (conflict,) = diagnose(inputs, SOLVERS)
    assert conflict.text.endswith("100 persons asked for, short by 20 persons (the municipalities can take at most 80)")


def test_settled_persons_above_need_is_a_surplus_not_a_shortfall():
    # 60 + 60 already settled, need 100: the other limits force 20 too many.
    inputs = make_inputs([50, 50], lower_bound=[60, 60])
    assert conflicts(inputs) == [("national_need", "NO", 20.0)]
    (conflict,) = diagnose(inputs, SOLVERS)
    assert "force 20 persons more than the 100 asked for" in conflict.text
    assert "short" not in conflict.text


def test_county_capacity_below_its_minimum_share():
    # County 02 is one municipality with 30 places; its minimum is 50.  County 01
    # has room for all 100, so only the spread rule is at stake: short by 20.
    inputs = make_inputs([50, 50], fylke=["01", "02"], base_capacity=[100, 30], county_minimum={"02": 50})
    assert conflicts(inputs) == [("county_spread", "02", 20.0)]
    (conflict,) = diagnose(inputs, SOLVERS)
    assert conflict.text == ("county 02: the county's minimum share (spread rule) asks for at least 50 persons, "
                             "its municipalities can take at most 30: short by 20")


def test_one_limit_explains_two_shortfalls():
    # 50 + 30 places for 100 (short 20) and county 02 (only 0002, 30 places)
    # needs 50 (short 20).  Twenty more places at 0002 fix both: one limit,
    # 20 persons, rather than the need and the spread rule 20 each.
    inputs = make_inputs([50, 50], fylke=["01", "02"], base_capacity=[50, 30], county_minimum={"02": 50})
    assert conflicts(inputs) == [("capacity", "0002", 20.0)]


def test_unaccompanied_minor_quota_above_em_capacity():
    # 12 unaccompanied minors, EM capacity 3 + 3: short by 6.
    inputs = make_inputs([50, 50], em_need=12, em_capacity=[3, 3], em_minimum=2)
    assert conflicts(inputs) == [("em_quota", "NO", 6.0)]
    (conflict,) = diagnose(inputs, SOLVERS)
    assert conflict.text.endswith("short by 6 persons (the municipalities can take at most 6)")


def test_feasible_plan_has_no_conflict():
    assert diagnose(make_inputs([50, 50]), SOLVERS) == []
    assert describe([]) == "no conflicting limits found"


def test_infeasible_plan_error_names_the_county_conflict():
    # Population 40, 30, 15 and 15 thousand, population weight only: targets
    # 40, 30, 15, 15; spread share 1.0 gives county 02 a minimum of 30.  At
    # 1.5 places per 1,000 the bases are 60, 45, 23, 23, but 0004 has no school
    # within 90 minutes, so county 02 can take 23: short by 7 (nationally
    # 60 + 45 + 23 = 128 places cover the need of 100).
    data = make_plan_data([40000, 30000, 15000, 15000], fylke=["01", "01", "02", "02"])
    plan = make_plan(capacity=CapacityRule(1.5, 0.0), spread=SpreadConfig(1.0))
    with pytest.raises(InfeasiblePlan) as info:
        solve_plan(data, make_access(data, [0, 0, 0, 200]), plan, SOLVERS)
    assert info.value.detail == ("conflicting limits: county 02: the county's minimum share (spread rule) asks "
                                 "for at least 30 persons, its municipalities can take at most 23: short by 7")


def test_diagnosis_uses_no_deprecated_constraint_mapping():
    # PuLP 3.3 warns that LpProblem.constraints as a dict goes away in PuLP 4.0.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        diagnose(make_inputs([50, 50], base_capacity=[40, 40]), SOLVERS)
    assert not [w for w in caught if "constraints as a dict" in str(w.message)]


def test_county_held_down_by_a_lock_names_the_lock():
    # County 02: 0002 locked at 20 (room for 100) and 0003 with 10 places, so it
    # can take 20 + 10 = 30 of its minimum 40: short by 10.
    inputs = make_inputs([40, 30, 30], fylke=["01", "02", "02"], base_capacity=[100, 100, 10],
                         recommended=[NAN, 20, NAN], locked=[False, True, False], county_minimum={"02": 40})
    assert conflicts(inputs) == [("county_spread", "02", 10.0)]
    (conflict,) = diagnose(inputs, SOLVERS)
    assert conflict.text.endswith("its municipalities can take at most 30 (0002 locked at 20): short by 10")
