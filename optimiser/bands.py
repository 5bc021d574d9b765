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
    widths: pd.DataFrame  # persons each bounded band holds (columns 0..K-1)

    @property
    def index(self) -> pd.Index:
        return self.over.index



def band_vars(prob: pulp.LpProblem, prefix: str, keys: pd.Index, scale: pd.Series, bands: Bands) -> BandVars:
    """The band variables for ``keys`` (``<prefix>o<b>_<key>``, ``<prefix>u<b>_<key>``), each
    bounded band at most its width in persons, the last unbounded."""
    widths = bands.widths(scale.reindex(keys))
    last = len(bands.prices) - 1

    def side(tag: str) -> pd.DataFrame:
        columns = {}
        for b in range(last + 1):
            upper = widths[b].tolist() if b < last else [None] * len(keys)
            columns[b] = [prob.add_variable(f"{prefix}{tag}{b}_{k}", lowBound=0, upBound=u)
                          for k, u in zip(keys, upper)]
        return pd.DataFrame(columns, index=keys)

    return BandVars(over=side("o"), under=side("u"), widths=widths)


def _plain_name(rule: str, key) -> str:
    return f"{rule}:{key}"


def add_band_rows(prob: pulp.LpProblem, rule: str, value: pd.Series, reference: pd.Series, v: BandVars,
                  name=_plain_name, switch: pd.Series | None = None) -> None:
    """value_k - reference_k = sum_b over_kb - sum_b under_kb, one row ``<rule>:<key>`` per key.

    ``switch`` (some keys: a 0/1 variable that is 0 exactly when the value is
    forced to 0, e.g. "asked at all") makes the reference ``reference_k *
    switch_k`` and each bounded band at most its width times the switch
    (rows ``band_width:<rule>:<key>:<side><band>``): off, the bands are 0 and
    the caller prices the whole shortfall as a constant (``off_cost``); on,
    the bands price the value.  For whole numbers both forms cost the same;
    in the LP relaxation the switched form is the convex hull of off and on,
    far tighter where the choice between 0 and the minimum is close.
    """
    keys = v.over.index
    switch = switch.reindex(keys).dropna() if switch is not None else pd.Series(dtype=object)
    refs = reference.reindex(keys).astype(float)
    for k, expr, ref, o, u in zip(keys, value.reindex(keys), refs,
                                  v.over.itertuples(index=False), v.under.itertuples(index=False)):
        if k in switch.index:
            prob += expr - ref * switch[k] - pulp.lpSum(o) + pulp.lpSum(u) == 0, name(rule, k)
        else:
            prob += expr - pulp.lpSum(o) + pulp.lpSum(u) == ref, name(rule, k)
    for b in v.widths.columns:
        for side, frame in (("o", v.over), ("u", v.under)):
            for k, var, width in zip(switch.index, frame.loc[switch.index, b], v.widths.loc[switch.index, b]):
                prob += var - float(width) * switch[k] <= 0, name("band_width", f"{rule}:{k}:{side}{b}")


def add_even_shares(prob: pulp.LpProblem, tag: str, v: BandVars, over_keys: pd.Index, under_keys: pd.Index,
                    scale: pd.Series, bands: Bands, name=_plain_name) -> list[tuple[pulp.LpVariable, float]]:
    """The spread of the relative deviations, above and below the references.

    For each side: hi >= d_k / s_k - 1 / s_k and lo <= d_k / s_k + 1 / s_k over
    its keys (d_k the persons on that side; one person of rounding allowed
    either way), so hi - lo is how uneven the shares are (variables
    ``even_<tag>_<side>_hi``/``_lo``, rows ``even_share:<tag>:<key>:<side>_hi``
    and ``_lo``).  Returned with the sign they take in the objective (hi +1,
    lo -1, times the caller's weight): inside a band, where the band prices
    leave the solver indifferent, the shares are made even, so a shortfall of
    a fifth on every reference lands as a fifth, to a person, on each.  The
    lower bound only bites where every key deviates that way (a key on its
    reference holds lo near 0), and the bands' price steps dwarf the weight,
    so it never creates a deviation the bands would not.
    """
    terms = []
    for side, keys, frame in (("over", over_keys, v.over), ("under", under_keys, v.under)):
        keys = keys.intersection(frame.index)
        if not len(keys):
            continue
        hi = prob.add_variable(f"even_{tag}_{side}_hi", lowBound=0)
        lo = prob.add_variable(f"even_{tag}_{side}_lo", lowBound=0)
        for k, size in zip(keys, np.maximum(scale.reindex(keys).astype(float), bands.minimum_scale)):
            persons = pulp.lpSum(frame.loc[k])
            prob += persons - size * hi <= 1, name("even_share", f"{tag}:{k}:{side}_hi")
            prob += persons - size * lo >= -1, name("even_share", f"{tag}:{k}:{side}_lo")
        terms += [(hi, 1.0), (lo, -1.0)]
    return terms


def off_cost(reference: pd.Series, scale: pd.Series, bands: Bands, weight: float) -> pd.Series:
    """What a switched-off key costs: its whole reference as a shortfall."""
    return band_cost(reference.astype(float), scale, bands, weight)


def band_terms(v: BandVars, bands: Bands, weight: float) -> list:
    """Objective terms: ``weight`` times each band's price per person."""
    return [(var, weight * price) for frame in (v.over, v.under)
            for b, price in enumerate(bands.prices) for var in frame[b]]


def add_banded_deviation(prob: pulp.LpProblem, rule: str, prefix: str, value: pd.Series, reference: pd.Series,
                         scale: pd.Series, bands: Bands, weight: float) -> tuple[BandVars, list]:
    """Variables, rows and objective terms of one banded deviation family at once (no switch)."""
    v = band_vars(prob, prefix, value.index, scale, bands)
    add_band_rows(prob, rule, value, reference, v)
    return v, band_terms(v, bands, weight)


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
