"""A settlement year, week by week, against placing everything at once.

``simulate_year`` places each week's households with ``optimiser.place``
in the room earlier weeks left; ``hindsight`` places the whole year's
households in one batch, as if every arrival had been known in January.
``compare`` sets the two side by side: total cost (the placement objective
over the whole year), fill-rate spread at the end of the year, households
and person-minutes beyond reach of their ties.

Counting rules (IMDi's letter to the municipalities):

* A household counts on the decision (vedtak) of the year it is registered
  as settled: ``counts_in_year`` is the year of ``registered_date`` where the
  column is given and filled, else of ``ready_date``.  A household assigned
  in December but registered after new year uses next year's room, not this
  year's, and does not count in this year's fill rate.
* Unused places do not carry over: each year has its own ledger, built only
  from that year's municipalities frame (``next_year``).  Room left in the
  year simulated never reaches next year's ledger.
* Households counting on a year with no ledger (``next_year`` not given)
  are not placed; they are returned in ``carried`` for next year's plan.

Looking ahead.  Room for complex health needs is small and scattered (a
few persons per municipality), and a family with such needs must find it
whole within reach of its tie.  Placed week by week without thought for
who comes later, small households take it where later, larger ones need it,
and those then go beyond reach; placed all at once, the same year keeps it
for them.  So each week is placed together with the households with complex
health needs expected in the rest of the year (``expected_later``: as many
as seen so far this year, in proportion to the part of the year still to
come, drawn evenly over the ties of all this year's arrivals) and those are
dropped after the solve (``optimiser.place.place``'s ``later``; a household
of the week always has first claim on the room).  Copies of the few such
households seen so far would hold room near their own ties many times over,
against the very household copied; the ties of all arrivals spread it as
the year's arrivals will.  Only what has arrived so far is used, never the
later weeks themselves.  A few such households drawn cannot say which
family of five will need which room of five, so the week's model also
prices the room each household with complex health needs leaves
(``optimiser.place.health_fit``): a tied family fills a small room whole
rather than breaking it, a household without a tie goes where the room is
large; and it prices the chance that the families with complex health
needs expected in the rest of the year, by tie and size in the proportions
of this year's arrivals, need a room whole (``expected_risk``,
``optimiser.place_risk``): a region's only room of three is kept for the
families of three tied there.  Room for unaccompanied minors is fitted the
same way (a minor without a tie takes it where it is large).

In the year's last five weeks (``YEAR_END_DAYS``) every household is
expected, not only those with complex health needs (``expected_households``):
the last weeks are small (households ready in December mostly register after
new year), and their tied households must go near their ties, where
municipalities are by then at the year's final fill rate; expected in time,
they keep room there and the households without a tie go elsewhere.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimiser.place import PlaceInputs, PlaceParams, PlaceResult, place, placement_cost, room_after, usage
from optimiser.place_risk import expected_families, room_risk
from optimiser.solve import InfeasiblePlan

log = logging.getLogger(__name__)


def counts_in_year(households: pd.DataFrame) -> pd.Series:
    """The year whose decision each household counts on (see the module docstring)."""
    ready = pd.to_datetime(households["ready_date"])
    if "registered_date" in households.columns:
        ready = pd.to_datetime(households["registered_date"]).fillna(ready)
    return ready.dt.year.astype(int).rename("counts_in_year")


def weekly_batches(households: pd.DataFrame) -> list[pd.DataFrame]:
    """The households split by the calendar week (Monday to Sunday) of their
    ready date, in date order."""
    week = pd.to_datetime(households["ready_date"]).dt.to_period("W-SUN")
    return [batch for _, batch in households.groupby(week, sort=True)]


LATER_ID = "~later-"  # ids of households expected later: never a valid household_id
# The part of the year seen is at least this many days when the rest is
# extrapolated from it: a first week's few households repeated fifty times
# would hold room for a guess.
MIN_DAYS_SEEN = 28
# In the year's last days this many, every household is expected, not only
# those with complex health needs (``expected_households``).  Measured on two
# synthetic years (BENCHMARKS.md, "Placement year: looking ahead"): the
# even-fill cost at the end of the year falls from 82 and 66 to 14 and 18,
# with no household placed farther; 21, 28, 42 and 56 days did as well or worse.
YEAR_END_DAYS = 35


def expected_later(seen: pd.DataFrame, until, year: int, min_days_seen: int = MIN_DAYS_SEEN,
                   year_end_days: int = YEAR_END_DAYS) -> pd.DataFrame:
    """Households expected from the day after ``until`` to the end of
    ``year``, from ``seen`` (this year's arrivals so far), ids ``LATER_ID<n>``.

    With more than ``year_end_days`` left: households with complex health
    needs, as many as rest / seen (days; seen at least ``min_days_seen``)
    times those seen so far (not unaccompanied minors), rounded, drawn from
    all of this year's arrivals (``even_draw``) and given complex health
    needs: a few such households seen so far say how many will come, the
    many arrivals say where their ties will be and how large they will be.
    Within the last ``year_end_days``: every household (``expected_households``)."""
    pool = _pool(seen)
    days_seen, rest = _days(until, year, min_days_seen)
    if rest <= 0 or seen.empty:
        return pool.iloc[0:0]
    if rest <= year_end_days:
        return expected_households(pool, days_seen, rest)
    return even_draw(pool, int(round(_health_count(pool, days_seen, rest)))).assign(complex_health=True)


def expected_risk(seen: pd.DataFrame, until, year: int, municipalities: pd.DataFrame, travel: pd.DataFrame,
                  params: PlaceParams, min_days_seen: int = MIN_DAYS_SEEN,
                  year_end_days: int = YEAR_END_DAYS) -> pd.DataFrame | None:
    """The chance that families with complex health needs expected from the
    day after ``until`` to the end of ``year`` need each municipality's
    complex-health room, per family size up to ``small_health_room``
    (``optimiser.place_risk.room_risk``): counted as ``expected_later``
    counts them, by tie and size in the proportions of ``seen``.  None
    within the last ``year_end_days``, where every household is expected."""
    pool = _pool(seen)
    days_seen, rest = _days(until, year, min_days_seen)
    if rest <= year_end_days or pool.empty:
        return None
    families = expected_families(pool, _health_count(pool, days_seen, rest), params.small_health_room)
    return room_risk(families, municipalities, travel, params.reasonable_minutes)


def _pool(seen: pd.DataFrame) -> pd.DataFrame:
    """This year's arrivals so far that say who comes later: not unaccompanied minors."""
    return seen[~seen["unaccompanied_minor"].astype(bool)] if len(seen) else seen


def _days(until, year: int, min_days_seen: int) -> tuple[int, int]:
    """Days of ``year`` seen up to ``until`` (at least ``min_days_seen``) and days left after it."""
    until = pd.Timestamp(until).normalize()
    days_seen = max((until - pd.Timestamp(year, 1, 1)).days + 1, min_days_seen)
    return days_seen, (pd.Timestamp(year + 1, 1, 1) - until).days - 1


def _health_count(pool: pd.DataFrame, days_seen: int, rest: int) -> float:
    """Households with complex health needs expected in the ``rest`` days:
    as many per day as in ``pool`` over ``days_seen``."""
    return rest / days_seen * int(pool["complex_health"].astype(bool).sum())


def expected_households(pool: pd.DataFrame, days_seen: int, rest: int) -> pd.DataFrame:
    """The households expected to be ready in the ``rest`` days left of the
    year and registered before it ends, from ``pool`` (this year's arrivals
    so far, not unaccompanied minors): arrivals per day so far (``pool``
    over ``days_seen``) times, summed over the days left, the share of
    ``pool`` whose wait from ready to registered would still end in the
    year (every one without ``registered_date``); drawn from ``pool`` by
    ``even_draw``, so sizes and needs come in the proportions of this
    year's arrivals too."""
    if "registered_date" in pool.columns:
        waits = (pd.to_datetime(pool["registered_date"]) - pd.to_datetime(pool["ready_date"])).dt.days
        waits = waits.dropna().to_numpy()
    else:
        waits = np.zeros(1)
    in_year = sum(float((waits <= rest - day).mean()) for day in range(1, rest + 1)) if len(waits) else float(rest)
    return even_draw(pool, int(round(len(pool) / days_seen * in_year)))


def even_draw(pool: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` households of ``pool`` spread evenly over its ties: sorted by
    tie (none last), ready date and id, every (len / n)-th taken (more than
    once where n exceeds the pool); ids ``LATER_ID<n>``."""
    if n <= 0 or pool.empty:
        return pool.iloc[0:0]
    order = pool.assign(_tie=pool["tie"].fillna("~"), _ready=pd.to_datetime(pool["ready_date"])).sort_values(
        ["_tie", "_ready", "household_id"], kind="stable").drop(columns=["_tie", "_ready"])
    picked = order.iloc[np.floor((np.arange(n) + 0.5) * len(order) / n).astype(int)].reset_index(drop=True)
    return picked.assign(household_id=[f"{LATER_ID}{i}" for i in range(n)])


@dataclass(frozen=True)
class WeekResult:
    week: int          # 1 for the first batch
    year: int          # the ledger placed against (counts_in_year)
    result: PlaceResult


@dataclass(frozen=True)
class YearResult:
    """weeks: one result per (batch, ledger year) placed; placements: every
    placed household with ``week`` and ``counts_in_year``; carried:
    households counting on a year without a ledger; ledgers: each ledger's
    municipalities at the end; summary: ``year_summary`` of the simulated year."""

    weeks: list[WeekResult]
    placements: pd.DataFrame
    carried: pd.DataFrame
    ledgers: dict[int, pd.DataFrame]
    summary: dict


Progress = Callable[[int, int, int], None]  # (week, weeks, households placed that week)


def simulate_year(batches: Sequence[pd.DataFrame], municipalities: pd.DataFrame, travel: pd.DataFrame,
                  params: PlaceParams, solvers: list, *, year: int | None = None,
                  next_year: pd.DataFrame | None = None, progress: Progress | None = None,
                  look_ahead: bool = True) -> YearResult:
    """Place each batch (a week's households) in turn; room shrinks as it is used.

    ``municipalities``: the ``optimiser.place`` frame at the start of ``year``
    (default: the year of the earliest ready date); ``next_year``: the same
    for the year after, for households registered after new year;
    ``progress`` is called after each week; ``look_ahead``: hold room for the
    households expected later in the year (``expected_later``, see the
    module docstring)."""
    year = year if year is not None else _first_year(batches)
    ledgers = {year: municipalities} | ({year + 1: next_year} if next_year is not None else {})
    return _run(list(batches), ledgers, travel, params, solvers, year, progress, look_ahead)


def hindsight(batches: Sequence[pd.DataFrame], municipalities: pd.DataFrame, travel: pd.DataFrame,
              params: PlaceParams, solvers: list, *, year: int | None = None,
              next_year: pd.DataFrame | None = None, progress: Progress | None = None) -> YearResult:
    """Every batch placed at once: the same counting rules, one week."""
    year = year if year is not None else _first_year(batches)
    ledgers = {year: municipalities} | ({year + 1: next_year} if next_year is not None else {})
    return _run([pd.concat(list(batches), ignore_index=True)], ledgers, travel, params, solvers, year, progress)


def _first_year(batches: Sequence[pd.DataFrame]) -> int:
    return int(min(pd.to_datetime(b["ready_date"]).min() for b in batches if len(b)).year)


def _run(batches: list[pd.DataFrame], start: dict[int, pd.DataFrame], travel: pd.DataFrame,
         params: PlaceParams, solvers: list, year: int, progress: Progress | None = None,
         look_ahead: bool = False) -> YearResult:
    ledgers = dict(start)
    weeks, placed, carried = [], [], []
    seen = pd.DataFrame()  # this year's arrivals so far (looking ahead only)
    for week, batch in enumerate(batches, start=1):
        counted = counts_in_year(batch)
        in_ledger = counted.isin(list(ledgers))
        carried.append(batch[~in_ledger])
        if look_ahead:
            seen = pd.concat([seen, batch[counted == year]], ignore_index=True)
        for ledger_year in sorted(ledgers):
            households = batch[counted == ledger_year]
            if households.empty:
                continue
            later = risk = None
            if look_ahead and ledger_year == year:
                until = pd.to_datetime(households["ready_date"]).max()
                later = expected_later(seen, until, year)
                risk = expected_risk(seen, until, year, ledgers[ledger_year], travel, params)
            result = _place_week(PlaceInputs(households, ledgers[ledger_year], travel, risk), params, solvers,
                                 later)
            weeks.append(WeekResult(week, ledger_year, result))
            placed.append(result.placements.assign(week=week, counts_in_year=ledger_year))
            ledgers[ledger_year] = use_room(ledgers[ledger_year], households, result.placements)
            log.info("week %d, year %d: %d households, objective %.2f", week, ledger_year, len(households),
                     result.objective)
        if progress is not None:
            progress(week, len(batches), int(in_ledger.sum()))
    placements = pd.concat(placed, ignore_index=True) if placed else pd.DataFrame()
    households = pd.concat(batches, ignore_index=True)
    summary = year_summary(households, placements, start[year], travel, params, year)
    return YearResult(weeks, placements, pd.concat(carried, ignore_index=True), ledgers, summary)


def _place_week(inputs: PlaceInputs, params: PlaceParams, solvers: list, later: pd.DataFrame | None) -> PlaceResult:
    """The week placed with the households expected later; should that model
    find no placement within the solver's limits, the week alone."""
    try:
        return place(inputs, params, solvers, later)
    except InfeasiblePlan as error:
        if later is None or later.empty:
            raise
        log.warning("week placed without the households expected later: %s", error)
        return place(inputs, params, solvers)


def use_room(municipalities: pd.DataFrame, households: pd.DataFrame, placements: pd.DataFrame) -> pd.DataFrame:
    """The municipalities frame after ``placements`` of ``households`` (``optimiser.place.room_after``)."""
    at = households["household_id"].map(placements.set_index("household_id")["kommunenummer"])
    return room_after(municipalities, usage(households, at, municipalities.index))


def year_summary(households: pd.DataFrame, placements: pd.DataFrame, municipalities: pd.DataFrame,
                 travel: pd.DataFrame, params: PlaceParams, year: int) -> dict:
    """Over the households counting on ``year``, against the year's start:
    the placement objective by term, the fill-rate spread at the end
    (standard deviation and max - min over municipalities with a decision),
    households and person-minutes beyond reach of their ties."""
    mine = placements[placements["counts_in_year"] == year] if len(placements) else placements
    ids = set(mine["household_id"]) if len(mine) else set()
    h = households[households["household_id"].isin(ids)].reset_index(drop=True)
    at = h["household_id"].map(mine.set_index("household_id")["kommunenummer"]) if len(h) else h["household_id"]
    cost = placement_cost(PlaceInputs(h, municipalities, travel), at, params)
    held = municipalities["already"] + h.groupby(at)["persons"].sum().reindex(municipalities.index, fill_value=0)
    spread = fill_spread(held / municipalities["decision"].where(municipalities["decision"] > 0))
    beyond = (mine["minutes_from_tie"] - params.reasonable_minutes).clip(lower=0) if len(mine) else pd.Series()
    persons = mine["persons"] if len(mine) else pd.Series(dtype=float)
    return {"year": year, "households": len(h), "total_cost": cost["total"], "costs": cost,
            "fill_spread_std": spread["std"], "fill_spread_range": spread["range"],
            "beyond_reach": int((beyond > 0).sum()),
            "person_minutes_beyond": float((beyond.fillna(0) * persons).sum())}


def fill_spread(fill: pd.Series) -> dict:
    """Spread of fill rates (share of decision; NaN where there is no decision)
    over the municipalities with a decision: std, min, max, range."""
    fill = fill.dropna()
    if fill.empty:
        return {"std": 0.0, "min": None, "max": None, "range": 0.0}
    return {"std": float(fill.std(ddof=0)), "min": float(fill.min()), "max": float(fill.max()),
            "range": float(fill.max() - fill.min())}


COMPARED = ("total_cost", "fill_spread_std", "fill_spread_range", "beyond_reach", "person_minutes_beyond")


def compare(weekly: YearResult, all_at_once: YearResult) -> pd.DataFrame:
    """Week by week against hindsight: one row per measure of ``COMPARED``,
    columns ``weekly``, ``hindsight`` and ``difference`` (weekly - hindsight)."""
    rows = {k: (float(weekly.summary[k]), float(all_at_once.summary[k])) for k in COMPARED}
    frame = pd.DataFrame(rows, index=["weekly", "hindsight"]).T
    return frame.assign(difference=frame["weekly"] - frame["hindsight"]).astype(np.float64)


def week_table(year: YearResult, batches: Sequence[pd.DataFrame], params: PlaceParams) -> pd.DataFrame:
    """One row per week placed against the ledger of the year simulated:
    ``week``, ``week_start`` (the Monday of the batch's earliest ready date),
    households and persons placed, tied, beyond reach, persons in extra room,
    households expected later that held room in the week's model, the week's
    objective (its own households' cost), the LP bound and gap of the week's
    model, status and solver seconds, and after the week the national fill
    rate and the fill-rate spread (standard deviation, max - min) over
    municipalities with a decision (each week's result holds them: it was
    placed against the ledger earlier weeks left)."""
    rows = []
    for w in year.weeks:
        if w.year != year.summary["year"]:
            continue
        r, p = w.result, w.result.placements
        spread = fill_spread(r.fill["fill_after"])
        start = pd.to_datetime(batches[w.week - 1]["ready_date"]).min().to_period("W-SUN").start_time
        rows.append({
            "week": w.week, "week_start": start, "households": len(p), "persons": int(p["persons"].sum()),
            "tied": int(p["tie"].notna().sum()),
            "beyond_reach": int((p["minutes_from_tie"] > params.reasonable_minutes).sum()),
            "extra_tier_persons": int(r.fill["extra_used"].sum()), "held_for_later": r.held_for_later,
            "objective": r.objective, "lp_bound": r.lp_bound,
            "gap": r.gap, "status": r.status.value, "solve_seconds": r.solve_seconds,
            "fill_rate": r.national_fill_rate,
            "fill_spread_std": spread["std"], "fill_spread_range": spread["range"],
        })
    return pd.DataFrame(rows)
