"""Convex, relative prices for deviations: piecewise-linear bands.

A deviation of d persons from a reference r (a target, a county
recommendation, an earlier request, a fill rate) is priced by its share of a
scale s (usually the reference itself)::

    band 1: the first    u_1 * s persons                price p_1 per person
    band 2: the next     (u_2 - u_1) * s persons        price p_2 > p_1
    ...
    band K+1: everything beyond u_K * s                  price p_{K+1}

Each band on each side (over, under) is one bounded continuous variable.
Because the prices rise band by band, a minimisation fills the cheap bands
first, so the cost of a deviation is the convex piecewise-linear function of
d / s above, with no binaries.  Two municipalities with the same relative
deviation pay the same price for one more person, so a shortfall or surplus
that must go somewhere is spread in proportion to the scales instead of
piling on whoever the tie-break names.

The scale is floored at ``Bands.minimum_scale`` persons, so a reference of 0
(a municipality with no target) still has bands of a person's width.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp


@dataclass(frozen=True)
class Bands:
    """Band edges as shares of the scale (increasing) and the price per person
    in each band (one more than the edges, strictly increasing)."""

    upper_shares: tuple[float, ...] = (0.10, 0.25, 0.50)
    prices: tuple[float, ...] = (1.0, 1.5, 2.5, 4.0)
    minimum_scale: float = 1.0

    def check(self) -> str | None:
        """What is wrong with the bands, or None."""
        edges, prices = self.upper_shares, self.prices
        if any(e <= 0 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
            return "upper_shares must be positive and strictly increasing"
        if len(prices) != len(edges) + 1:
            return f"prices needs {len(edges) + 1} values (one per band, the last beyond {edges[-1] if edges else 0})"
        if any(p <= 0 for p in prices) or any(b <= a for a, b in zip(prices, prices[1:])):
            return "prices must be positive and strictly increasing (each band dearer than the one before)"
        if self.minimum_scale <= 0:
            return "minimum_scale must be positive"
        return None

    def widths(self, scale: pd.Series) -> pd.DataFrame:
        """Persons each bounded band holds per key (columns 0..K-1); the last band is unbounded."""
        s = np.maximum(scale.astype(float).to_numpy(), self.minimum_scale)
        shares = np.diff((0.0,) + tuple(self.upper_shares))
        return pd.DataFrame(np.outer(s, shares), index=scale.index)


@dataclass(frozen=True)
class BandVars:
    """The band variables of one family: ``over`` and ``under``, each a frame
    (index: key, columns: band 0..K) of PuLP variables."""

    over: pd.DataFrame
    under: pd.DataFrame

    def total_over(self) -> pd.Series:
        return self.over.apply(lambda row: sum(v.varValue or 0.0 for v in row), axis=1)

    def total_under(self) -> pd.Series:
        return self.under.apply(lambda row: sum(v.varValue or 0.0 for v in row), axis=1)


def add_banded_deviation(prob: pulp.LpProblem, rule: str, prefix: str, value: pd.Series, reference: pd.Series,
                         scale: pd.Series, bands: Bands, weight: float) -> tuple[BandVars, list]:
    """value_k - reference_k = sum_b over_kb - sum_b under_kb, each band bounded by
    its width; returns the variables and the objective terms (weight * price_b).

    ``value``: PuLP expressions or variables indexed by key; ``reference`` and
    ``scale``: numbers on the same index.  Constraints are named ``<rule>:<key>``.
    """
    keys = value.index
    widths = bands.widths(scale.reindex(keys))
    last = len(bands.prices) - 1

    def side(tag: str) -> pd.DataFrame:
        columns = {}
        for b in range(last + 1):
            upper = widths[b] if b < last else pd.Series(None, index=keys, dtype=object)
            columns[b] = [prob.add_variable(f"{prefix}{tag}{b}_{k}", lowBound=0,
                                            upBound=None if u is None or pd.isna(u) else float(u))
                          for k, u in zip(keys, upper)]
        return pd.DataFrame(columns, index=keys)

    over, under = side("o"), side("u")
    for k, expr, ref, o, u in zip(keys, value, reference.reindex(keys).astype(float),
                                  over.itertuples(index=False), under.itertuples(index=False)):
        prob += expr - pulp.lpSum(o) + pulp.lpSum(u) == float(ref), f"{rule}:{k}"
    terms = [(var, weight * price) for frame in (over, under)
             for b, price in enumerate(bands.prices) for var in frame[b]]
    return BandVars(over=over, under=under), terms


def band_cost(deviation: pd.Series, scale: pd.Series, bands: Bands, weight: float = 1.0) -> pd.Series:
    """The price of each deviation (persons, either sign) under ``bands``: the
    convex piecewise-linear function the variables above add up to."""
    d = deviation.abs().astype(float)
    widths = bands.widths(scale.reindex(d.index))
    cost = pd.Series(0.0, index=d.index)
    left = d.copy()
    for b, price in enumerate(bands.prices):
        take = left if b == len(bands.prices) - 1 else np.minimum(left, widths[b])
        cost += price * take
        left = left - take
    return weight * cost
