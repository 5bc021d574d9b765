"""Settlement-history criteria for a plan of year Y, from years before Y only.

Frames in, frames out; nothing here reads a file.  Every function takes the
plan year and refuses (``ValueError`` naming the year) a row dated in the plan
year or later: the caller cuts its frames explicitly, so a figure of the year
being planned can never slip in.

Input frames (``kommunenummer`` a 4-character string, ``year`` an int):

history
    one row per municipality and year: ``requested`` (IMDi's anmodning),
    ``decided`` (the council's vedtak), ``settled`` (bosatt), and
    ``requested_hidden``, ``decided_hidden``, ``settled_hidden``: how many
    cells IMDi hid behind each figure (printed ':'; a merged municipality may
    sum several source cells).  Optional: ``requested_original``, the request
    before IMDi lowered it mid-year (2020; NaN in other years).  A figure IMDi
    printed as '.' (no request, no decision, nobody settled) may be NaN.
population
    ``kommunenummer``, ``year``, ``population`` (1 January of ``year``).
refugees
    ``kommunenummer``, ``year``, ``refugees`` (refugees and their reunited
    family living in the municipality on 1 January of ``year``).

Hidden cells (``HIDDEN_CELL_PERSONS``)
--------------------------------------
IMDi hides settled figures of 1-4 persons; the published value counts them as
0.  Each hidden settled cell counts as 2.5 persons, the middle of 1..4.  A
hidden decision where a request was made counts 2.5 as well.  In IMDi's 2020
table the same symbol also stands for 0 and for "not asked": a hidden
*request* therefore counts 0 (IMDi never asks for 1-4 persons: the smallest
visible request 2018-2021 is 10), so does the decision of a municipality whose
request is hidden, and its hidden settled figure counts
``HIDDEN_UNASKED_PERSONS`` = 0.25: in 2018, 2019 and 2021, 46 of the 431
unasked municipalities without a visible settled figure had a hidden one
(11 %), times 2.5.  A '.' or empty figure counts 0 (nothing there).

Criteria (``history_criteria``)
-------------------------------
Let y1 > y2 > y3 be the latest three years of history before Y (2022 is
absent by design, so a 2023 plan reads 2021, 2020, 2019) and omega = (3, 2, 1)
their weights (``RECENCY_WEIGHTS``; fewer years: the first weights).  A
year's figure enters as its share of that year's national total, so years of
very different needs (3,602 in 2020, 38,000 in 2023) and a settled figure
counted only part of the year (2023 to September) weigh alike.

Shares (each sums to 1 over the municipalities; used as distributions):

request_last      request(y1, m) / sum_j request(y1, j): IMDi's continuity
request_recent    sum_i omega_i request(y_i, m) / R(y_i) / sum_i omega_i
decided_recent    the same with decisions
settled_recent    the same with settled persons

Requests are the original request where IMDi lowered it mid-year (2020:
``requested_original``): continuity is with what was planned, and the
original 2020 request predicts 2021's better (WAPE 0.185 vs 0.206).

Indicators (per inhabitant, scaled so the largest is 1; the target formula
multiplies them by p^a like every other indicator):

refugees_per_inhabitant   refugees / population in the latest year <= Y-1
                          that both frames hold (2021 for plans of 2023-2024)
settled_per_inhabitant    settled_recent / population (latest <= Y-1)
completion                how well decisions were settled, relative to the
                          national pace of each year, shrunk to 1:

    completion(m) = (sum_i w_i S_i(m) + K) / (sum_i w_i rho_i D_i(m) + K)
    rho_i = sum_j S_i(j) / sum_j D_i(j)   (the year's national settled / decided)
    w_i = omega_i / sum_i omega_i          (so K weighs as persons of one year)

with S settled, D decided and K = ``COMPLETION_PRIOR_PERSONS`` = 10 persons
settled at the national pace (the small-denominator rule): 1 is the national
pace; a municipality that decided nothing scores 1; at a pace of 1, one that
decided 10 and settled none scores 0.5, one that decided 200 and settled none
about 0.05, one that decided 10 and settled 20 scores 1.5.  Multiplying by
rho_i makes a year counted part way (2023) or one where settlement lagged
(2020) comparable.  ``completion`` returns this ratio; the indicator is it
divided by its largest value, like every indicator.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

RECENCY_WEIGHTS = (3, 2, 1)
HIDDEN_CELL_PERSONS = 2.5
HIDDEN_UNASKED_PERSONS = 0.25
COMPLETION_PRIOR_PERSONS = 10.0

HISTORY_COLUMNS = ("kommunenummer", "year", "requested", "decided", "settled",
                   "requested_hidden", "decided_hidden", "settled_hidden")
SHARES = ("request_last", "request_recent", "decided_recent", "settled_recent")
INDICATORS = ("refugees_per_inhabitant", "settled_per_inhabitant", "completion")


@dataclass(frozen=True)
class HistoryCriteria:
    """What a plan for ``year`` knows from history.

    ``years``: the history years read, latest first; ``last_need``: the
    national request total of ``years[0]`` (original where lowered), against
    which a new need's growth is measured.  ``population``: 1 January of
    ``population_year`` (the latest before the plan year).  ``shares`` and
    ``indicators`` are indexed by kommunenummer (the population's codes).
    """

    year: int
    years: tuple[int, ...]
    last_need: float
    population: pd.Series
    population_year: int
    refugees_year: int | None
    shares: pd.DataFrame
    indicators: pd.DataFrame


def refuse_from(frame: pd.DataFrame, year: int, what: str) -> None:
    """ValueError if ``frame`` holds a row dated ``year`` or later."""
    late = frame["year"] >= year
    if late.any():
        first = int(frame.loc[late, "year"].min())
        raise ValueError(f"{what} has rows of {first}; a plan for {year} may only read years before {year} "
                         f"(cut the frame to year < {year})")


def _codes_are_strings(frame: pd.DataFrame, what: str) -> None:
    bad = [c for c in frame["kommunenummer"].unique() if not (isinstance(c, str) and len(c) == 4 and c.isdigit())]
    if bad:
        raise ValueError(f"{what}: kommunenummer must be a 4-digit string, got {bad[0]!r}")


def counted_history(history: pd.DataFrame, year: int, hidden_persons: float = HIDDEN_CELL_PERSONS,
                    hidden_unasked_persons: float = HIDDEN_UNASKED_PERSONS) -> pd.DataFrame:
    """The history with hidden and empty cells counted (module docstring).

    Returns ``kommunenummer``, ``year``, ``requested`` (original where
    lowered), ``decided``, ``settled``: persons, floats.
    """
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks column {missing[0]!r}")
    refuse_from(history, year, "history")
    _codes_are_strings(history, "history")
    h = history
    requested = h["requested"].fillna(0.0).astype(float)
    if "requested_original" in h.columns:
        requested = h["requested_original"].astype(float).where(h["requested_original"].notna(), requested)
    request_hidden = h["requested_hidden"] > 0
    decided_hidden = h["decided_hidden"].where(~request_hidden, 0) * hidden_persons
    settled_hidden = h["settled_hidden"] * hidden_persons
    settled_hidden = settled_hidden.where(~request_hidden, h["settled_hidden"] * hidden_unasked_persons)
    return pd.DataFrame({
        "kommunenummer": h["kommunenummer"],
        "year": h["year"].astype(int),
        "requested": requested,
        "decided": h["decided"].fillna(0.0).astype(float) + decided_hidden,
        "settled": h["settled"].fillna(0.0).astype(float) + settled_hidden,
    }, index=h.index)


def recent_years(history: pd.DataFrame, year: int, count: int = len(RECENCY_WEIGHTS)) -> tuple[int, ...]:
    """The latest ``count`` years of ``history`` before ``year``, latest first."""
    refuse_from(history, year, "history")
    years = sorted(history["year"].unique(), reverse=True)[:count]
    if not years:
        raise ValueError(f"no history before {year}")
    return tuple(int(y) for y in years)


def latest_before(frame: pd.DataFrame, year: int, column: str, what: str) -> tuple[int, pd.Series]:
    """(the latest year < ``year`` in ``frame``, ``column`` of that year by kommunenummer)."""
    refuse_from(frame, year, what)
    if frame.empty:
        raise ValueError(f"{what} has no year before {year}")
    _codes_are_strings(frame, what)
    latest = int(frame["year"].max())
    rows = frame[frame["year"] == latest]
    return latest, rows.set_index("kommunenummer")[column].astype(float).rename_axis("kommunenummer")


def yearly_table(counted: pd.DataFrame, column: str, years: Sequence[int], codes: pd.Index) -> pd.DataFrame:
    """``column`` per kommunenummer (rows) and year (columns), 0 where a municipality has no row."""
    unknown = sorted(set(counted["kommunenummer"]) - set(codes))
    if unknown:
        raise ValueError(f"history has kommunenummer {unknown[0]} that the population does not")
    table = counted[counted["year"].isin(years)].pivot_table(index="kommunenummer", columns="year", values=column,
                                                            aggfunc="sum")
    return table.reindex(index=codes, columns=list(years)).fillna(0.0)


def recent_share(counted: pd.DataFrame, year: int, column: str, codes: pd.Index,
                 weights: Sequence[float] = RECENCY_WEIGHTS) -> pd.Series:
    """sum_i omega_i v(y_i, m) / sum_j v(y_i, j) / sum_i omega_i over the latest years before ``year``."""
    years = recent_years(counted, year, len(weights))
    table = yearly_table(counted, column, years, codes)
    totals = table.sum()
    if (totals <= 0).any():
        raise ValueError(f"{column} of {int(totals.index[totals <= 0][0])} is zero everywhere; no share to take")
    omega = pd.Series(list(weights)[:len(years)], index=list(years), dtype=float)
    return (table / totals).mul(omega, axis=1).sum(axis=1) / omega.sum()


def completion(counted: pd.DataFrame, year: int, codes: pd.Index, weights: Sequence[float] = RECENCY_WEIGHTS,
               prior_persons: float = COMPLETION_PRIOR_PERSONS) -> pd.Series:
    """Settled / decided relative to each year's national pace, shrunk to 1 by ``prior_persons``.

    The years are weighted by ``weights`` normalised to sum 1 (module docstring).
    """
    years = recent_years(counted, year, len(weights))
    settled = yearly_table(counted, "settled", years, codes)
    decided = yearly_table(counted, "decided", years, codes)
    if (decided.sum() <= 0).any():
        raise ValueError(f"no decision at all in {int(decided.columns[decided.sum() <= 0][0])}")
    pace = settled.sum() / decided.sum()
    omega = pd.Series(list(weights)[:len(years)], index=list(years), dtype=float)
    omega = omega / omega.sum()
    expected = decided.mul(pace * omega, axis=1).sum(axis=1)
    observed = settled.mul(omega, axis=1).sum(axis=1)
    return ((observed + prior_persons) / (expected + prior_persons)).rename("completion")


def refugees_per_inhabitant(refugees: pd.DataFrame, population: pd.DataFrame, year: int) -> tuple[int, pd.Series]:
    """(the year used, refugees / population) in the latest year before ``year`` that both frames hold."""
    refuse_from(refugees, year, "refugee population")
    refuse_from(population, year, "population")
    common = sorted(set(refugees["year"]) & set(population["year"]))
    if not common:
        raise ValueError(f"no year before {year} with both refugee population and population")
    used = int(common[-1])
    _, ref = latest_before(refugees[refugees["year"] == used], year, "refugees", "refugee population")
    _, pop = latest_before(population[population["year"] == used], year, "population", "population")
    return used, (ref.reindex(pop.index).fillna(0.0) / pop).rename("refugees_per_inhabitant")


def _scaled(values: pd.Series) -> pd.Series:
    top = values.max()
    if not top > 0:
        raise ValueError(f"{values.name} is zero everywhere")
    return values / top


def history_criteria(history: pd.DataFrame, population: pd.DataFrame, year: int,
                     refugees: pd.DataFrame | None = None, weights: Sequence[float] = RECENCY_WEIGHTS,
                     hidden_persons: float = HIDDEN_CELL_PERSONS,
                     hidden_unasked_persons: float = HIDDEN_UNASKED_PERSONS,
                     prior_persons: float = COMPLETION_PRIOR_PERSONS) -> HistoryCriteria:
    """Every history criterion a plan for ``year`` may use (module docstring).

    Municipalities are those of the latest population before ``year``.
    Without ``refugees`` the indicator ``refugees_per_inhabitant`` is left out.
    """
    if not len(weights) or any(w <= 0 for w in weights):
        raise ValueError(f"recency weights must be positive, got {tuple(weights)}")
    population_year, pop = latest_before(population, year, "population", "population")
    if (pop <= 0).any():
        raise ValueError(f"population of {pop.index[pop <= 0][0]} on 1 January {population_year} is not positive")
    codes = pop.index
    counted = counted_history(history, year, hidden_persons, hidden_unasked_persons)
    years = recent_years(counted, year, len(weights))
    last = yearly_table(counted, "requested", years[:1], codes).iloc[:, 0]
    if last.sum() <= 0:
        raise ValueError(f"no request in {years[0]}; no continuity to take")
    settled = recent_share(counted, year, "settled", codes, weights)
    shares = pd.DataFrame({
        "request_last": last / last.sum(),
        "request_recent": recent_share(counted, year, "requested", codes, weights),
        "decided_recent": recent_share(counted, year, "decided", codes, weights),
        "settled_recent": settled,
    }, index=codes)
    indicators = {}
    refugees_year = None
    if refugees is not None:
        refugees_year, per_inhabitant = refugees_per_inhabitant(refugees, population, year)
        indicators["refugees_per_inhabitant"] = _scaled(per_inhabitant.reindex(codes).fillna(0.0))
    indicators["settled_per_inhabitant"] = _scaled((settled / pop).rename("settled_per_inhabitant"))
    indicators["completion"] = _scaled(completion(counted, year, codes, weights, prior_persons))
    return HistoryCriteria(year=year, years=years, last_need=float(last.sum()), population=pop.rename("population"),
                           population_year=population_year, refugees_year=refugees_year, shares=shares,
                           indicators=pd.DataFrame(indicators, index=codes))
