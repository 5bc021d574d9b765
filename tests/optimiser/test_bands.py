"""Convex relative bands: the price of a deviation, by hand, and the spreading
property they exist for (a forced shortfall lands in proportion to the scales)."""
from __future__ import annotations

import pandas as pd
import pulp
import pytest

from optimiser.bands import Bands, add_banded_deviation, band_cost
from optimiser.plan import SolverConfig
from optimiser.solve import SolveStatus, solve
from pipeline.solvers import make_solvers

BANDS = Bands(upper_shares=(0.1, 0.5), prices=(1.0, 2.0, 5.0))


def test_band_cost_fills_the_cheap_bands_first():
    # scale 20: band widths 2 and 8 persons; 15 persons = 2*1 + 8*2 + 5*5 = 43
    cost = band_cost(pd.Series([15.0, -15.0, 1.0]), pd.Series([20.0, 20.0, 20.0]), BANDS)
    assert cost.tolist() == [43.0, 43.0, 1.0]


def test_band_cost_floors_the_scale_at_the_minimum():
    # scale 0 becomes 1 person: widths 0.1 and 0.4; 2 persons = 0.1 + 0.8 + 1.5*5
    assert band_cost(pd.Series([2.0]), pd.Series([0.0]), BANDS).iloc[0] == pytest.approx(0.1 + 0.8 + 7.5)


@pytest.mark.parametrize("bad, words", [
    (Bands(upper_shares=(0.5, 0.1), prices=(1, 2, 3)), "strictly increasing"),
    (Bands(upper_shares=(0.1,), prices=(1, 2, 3)), "needs 2 values"),
    (Bands(upper_shares=(0.1,), prices=(2, 1)), "dearer"),
])
def test_bad_bands_are_named(bad, words):
    assert words in bad.check()


def test_a_forced_shortfall_is_spread_in_proportion_to_the_scales():
    """Three references 10, 20, 70 (sum 100) but only 80 to give: each gets
    80 % of its reference, none loses all of it (a flat price would let the
    solver take the 20 from any one of them)."""
    refs = pd.Series([10.0, 20.0, 70.0], index=["a", "b", "c"])
    prob = pulp.LpProblem("spread", pulp.LpMinimize)
    x = pd.Series({k: prob.add_variable(f"x_{k}", lowBound=0) for k in refs.index})
    prob += pulp.lpSum(x) == 80, "total"
    bands = Bands(upper_shares=(0.05, 0.1, 0.15, 0.2, 0.25), prices=(1, 2, 3, 4, 5, 6))
    _, terms = add_banded_deviation(prob, "dev", "d", x, refs, refs, bands, 1.0)
    prob.setObjective(pulp.LpAffineExpression(terms))
    result = solve(prob, make_solvers(SolverConfig()))
    assert result.status is SolveStatus.OPTIMAL
    got = pd.Series({k: v.varValue for k, v in x.items()})
    assert got.to_dict() == pytest.approx({"a": 8.0, "b": 16.0, "c": 56.0})
