"""Synthetic refugee households for tests and benchmarks of ``optimiser.place``.

``synthetic_arrivals`` draws a households frame with the columns
``optimiser.place`` reads, from stated distributions and a fixed seed
(numpy ``Generator``): the same arguments always give the same frame.  It is
not a forecast; it gives the placement model an instance of realistic size
and shape (household sizes, needs, family ties where refugees already live).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ArrivalShape:
    """The stated distributions ``synthetic_arrivals`` draws from.

    size_shares                 share of households with 1, 2, 3, ... persons
                                (index 0 is one person); the default has a
                                mean of 2.52 persons, so 14,000 households
                                are about 35,000 persons
    two_adult_share             share of households of two or more persons
                                with two adults (the rest have one adult and
                                the other members are children)
    complex_health_share        share of households with complex health needs
    unaccompanied_minor_share   share of households that are one
                                unaccompanied minor (persons 1, adults 0,
                                children 1; einslege mindreårige)
    no_tie_share                share of households with no family tie to
                                any municipality
    registration_lag_days       (fewest, most) days between ready to settle
                                and registered as settled, drawn uniformly;
                                households ready late in December register
                                after new year and count on next year's
                                decision (``optimiser.place.counts_in_year``)
    """

    size_shares: tuple[float, ...] = (0.35, 0.22, 0.18, 0.13, 0.07, 0.03, 0.02)
    two_adult_share: float = 0.6
    complex_health_share: float = 0.05
    unaccompanied_minor_share: float = 0.02
    no_tie_share: float = 0.4
    registration_lag_days: tuple[int, int] = (7, 42)

    def check(self) -> str | None:
        """What is wrong with the shape, or None."""
        if any(s < 0 for s in self.size_shares) or not np.isclose(sum(self.size_shares), 1.0):
            return "size_shares must be non-negative and sum to 1"
        shares = (self.two_adult_share, self.complex_health_share, self.unaccompanied_minor_share,
                  self.no_tie_share)
        if any(not 0.0 <= s <= 1.0 for s in shares):
            return "every share must lie between 0 and 1"
        low, high = self.registration_lag_days
        if low < 0 or high < low:
            return "registration_lag_days must be (fewest, most) with 0 <= fewest <= most"
        return None


@dataclass(frozen=True)
class ArrivalYear:
    """When households become ready: ready dates are drawn uniformly over the
    ``days`` days from 1 January of ``year``."""

    year: int = 2022
    days: int = 365
    shape: ArrivalShape = field(default_factory=ArrivalShape)


def synthetic_arrivals(refugee_population: pd.Series, households: int, seed: int,
                       when: ArrivalYear = ArrivalYear()) -> pd.DataFrame:
    """``households`` synthetic households, one row each.

    refugee_population  persons per municipality (index kommunenummer, 4
                        characters) who came as refugees or reunited family;
                        in the real data the column
                        ``flyktninger_og_familieinnvandrede`` of IMDi's
                        immigrants-by-reason table for the latest year.  A
                        tied household's tie is drawn with probability
                        proportional to it.
    households          how many households to draw (>= 0)
    seed                seed of the numpy ``Generator``: the same seed gives
                        the same frame
    when                the year, the spread of ready dates and the
                        distributions (``ArrivalYear``, ``ArrivalShape``)

    Columns: ``household_id`` (``H`` and a zero-padded number), ``persons``,
    ``adults``, ``children``, ``unaccompanied_minor``, ``complex_health``,
    ``tie`` (kommunenummer or None), ``ready_date``, ``registered_date``.
    Sorted by household id; ids follow the draw order, not the dates.
    """
    shape = when.shape
    problem = shape.check()
    if problem:
        raise ValueError(f"synthetic_arrivals: {problem}")
    weights = refugee_population.astype(float)
    if households > 0 and not weights.sum() > 0:
        raise ValueError("synthetic_arrivals: refugee_population must have a positive total to draw ties from")
    rng = np.random.default_rng(seed)
    persons, adults, minor = _sizes(rng, households, shape)
    health = rng.random(households) < shape.complex_health_share
    ties = _ties(rng, households, weights, shape.no_tie_share)
    ready = pd.Timestamp(year=when.year, month=1, day=1) + pd.to_timedelta(
        rng.integers(0, when.days, households), unit="D")
    low, high = shape.registration_lag_days
    registered = ready + pd.to_timedelta(rng.integers(low, high + 1, households), unit="D")
    width = max(len(str(households)), 1)
    return pd.DataFrame({
        "household_id": [f"H{i + 1:0{width}d}" for i in range(households)],
        "persons": persons, "adults": adults, "children": persons - adults,
        "unaccompanied_minor": minor, "complex_health": health,
        "tie": pd.Series(ties, dtype=object), "ready_date": ready, "registered_date": registered,
    })


def _sizes(rng: np.random.Generator, n: int, shape: ArrivalShape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persons, adults and the unaccompanied-minor flag of ``n`` households."""
    shares = np.asarray(shape.size_shares, dtype=float)
    persons = rng.choice(np.arange(1, len(shares) + 1), size=n, p=shares / shares.sum())
    two_adults = (persons >= 2) & (rng.random(n) < shape.two_adult_share)
    adults = np.where(two_adults, 2, 1)
    minor = rng.random(n) < shape.unaccompanied_minor_share
    persons = np.where(minor, 1, persons)
    adults = np.where(minor, 0, adults)
    return persons.astype(int), adults.astype(int), minor


def _ties(rng: np.random.Generator, n: int, weights: pd.Series, no_tie_share: float) -> list:
    """A kommunenummer drawn in proportion to ``weights``, or None, per household."""
    if n == 0:
        return []
    codes = weights.index.astype(str).to_numpy()
    drawn = rng.choice(codes, size=n, p=(weights / weights.sum()).to_numpy())
    untied = rng.random(n) < no_tie_share
    return [None if u else str(c) for c, u in zip(drawn, untied)]
