"""Mid-year re-plan and need ladder (``optimiser.reallocate`` through
``optimiser.allocate``): invariants on small random re-plans, and hand-checked
cases, one rule each.

Every expected number is derived here from the instance (populations, the
status events, the travel times), never read back from the code under test:
the default capacity rule is restated below, the shortfall of a declining
municipality is its base-plan request minus its decision.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimiser import reallocate
from optimiser.allocate import ladder_inputs, solve_plan
from optimiser.plan import CapacityRule, ReplanConfig, SolverConfig
from optimiser.reallocate import ReplanContext, ladder
from optimiser.solve import InfeasiblePlan
from pipeline.solvers import make_solvers
from tests.factories import codes, make_access, make_plan, make_plan_data, replace

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SOLVERS = make_solvers(SolverConfig())
MINIMUM = 10     # make_plan's minimum request
REACH = 90.0     # the plan's reasonable travel time (NetworkConfig default)
PER_1000 = 3.0   # make_plan's capacity rule: base and extra 3 per 1,000 inhabitants
EXCLUDED_MINUTES = 120.0  # minutes to school beyond the reasonable time: the access rule excludes


def default_base(population: int) -> int:
    return max(MINIMUM, math.ceil(PER_1000 * population / 1000))


def default_extra(population: int) -> int:
    return math.ceil(PER_1000 * population / 1000)


# --------------------------------------------------------------------------- building re-plans

def status_frame(index, settled=None, decision=None, extra=None) -> pd.DataFrame:
    """A status table as ``pipeline.submissions.read_status`` returns it (NaN: no event)."""
    n = len(index)

    def column(values):
        return [np.nan if v is None else float(v) for v in (values or [None] * n)]

    return pd.DataFrame({"settled": column(settled or [0] * n), "decision": column(decision),
                         "extra_capacity": column(extra)}, index=pd.Index(index, name="kommunenummer"))


def travel_frame(index, minutes) -> pd.DataFrame:
    """Square travel-time frame from a full matrix (list of rows)."""
    return pd.DataFrame(np.array(minutes, dtype=float), index=index, columns=index)


def base_requests(data, access, plan) -> pd.Series:
    """The base plan solved as an ordinary plan: its requests are the re-plan's ``previous``."""
    return solve_plan(data, access, plan, SOLVERS).allocation.set_index("kommunenummer")["request"]


def replan(data, access, plan, previous, status, travel, need, all_eligible=False):
    """Solve ``plan`` re-planned at ``need`` against ``previous`` (PlanResult)."""
    context = ReplanContext(previous=previous, status=status, base_need=int(previous.sum()),
                            travel_minutes=travel, reasonable_minutes=REACH)
    config = ReplanConfig(base_plan="base", all_municipalities_eligible=all_eligible)
    return solve_plan(data, access, replace(plan, need_persons=need, replan=config), SOLVERS, None, context)


def requests_of(result) -> pd.Series:
    return result.allocation.set_index("kommunenummer")["request"]


def effective_floor(lower: int) -> int:
    """Least request of a municipality that must be asked (lower > 0): the minimum size holds."""
    return 0 if lower <= 0 else max(lower, MINIMUM)


def feasible_totals(lower: list[int], upper: list[int]) -> np.ndarray:
    """reach[t]: some requests sum to t, each within its municipality's bounds
    and 0 or at least the minimum (a municipality with lower > 0 must be asked).

    The 0-or-minimum rule makes this more than the interval [floor, sum upper]:
    one municipality at its upper bound and a need one higher is infeasible."""
    reach = np.zeros(sum(upper) + 1, dtype=bool)
    reach[0] = True
    for low, up in zip(lower, upper):
        start = effective_floor(low) if low > 0 else MINIMUM
        counts = np.concatenate([[0], np.cumsum(reach)])  # counts[t] = reach[:t].sum()
        grown = np.zeros_like(reach)
        for t in range(len(reach)):
            # some reach[t - k] with start <= k <= up
            hi, lo = t - start, t - up
            if hi >= 0:
                grown[t] = counts[hi + 1] - counts[max(lo, 0)] > 0
        reach = grown | (reach if low <= 0 else np.zeros_like(reach))
    return reach


@st.composite
def scenarios(draw, direction: str):
    """A base plan solved on a few municipalities, then status events and a new need.

    ``direction``: "rise" (need at least the base need, declines, decisions above
    the request, volunteered extra), "fall" (need below the base need, settled
    only and some decisions) or "same" (unchanged need, no status events, some
    municipalities beyond the access rule and the re-plan maybe opening all).

    The new need is drawn from the totals the municipalities can reach (settled
    and decided asked at least the minimum each, others 0 or at least the
    minimum, none above what it can take; ``feasible_totals``), computed here
    from the capacity rule and the events, so each re-plan is feasible.
    """
    n = draw(st.integers(4, 7))
    population = draw(st.lists(st.integers(7_000, 40_000), min_size=n, max_size=n))
    index = codes(n)
    data = make_plan_data(population)
    excluded = [False] * n
    if direction == "same":
        excluded = [False] + [draw(st.sampled_from([False, False, True])) for _ in range(n - 1)]
    access = make_access(data, minutes_to_school=[EXCLUDED_MINUTES if e else 0.0 for e in excluded])
    open_base = sum(default_base(p) for p, e in zip(population, excluded) if not e)
    base_need = draw(st.integers(MINIMUM, max(MINIMUM, 2 * open_base // 3)))  # often leaves some not asked
    plan = make_plan(need_persons=base_need,
                     capacity=CapacityRule(base_per_1000_inhabitants=PER_1000, extra_per_1000_inhabitants=PER_1000))
    previous = base_requests(data, access, plan)
    minutes = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            minutes[i][j] = minutes[j][i] = float(draw(st.integers(10, 240)))
    travel = travel_frame(index, minutes)

    settled, decision, extra, lower, upper = [], [], [], [], []
    for code, pop in zip(index, population):
        p = int(previous[code])
        s = draw(st.integers(0, p)) if p > 0 and direction != "same" else 0
        d = None
        if p > 0 and direction != "same":
            choices = [st.none(), st.just(p), st.integers(p, p + 20)]  # undecided, accepted, decided more
            if max(s, MINIMUM) < p:
                choices += [st.integers(max(s, MINIMUM), p - 1)] * 2  # declined: less than asked
            d = draw(st.one_of(choices))
        v = draw(st.one_of(st.none(), st.integers(0, 40))) if direction == "rise" else None
        settled.append(s)
        decision.append(d)
        extra.append(v)
        # A rising need lowers nobody: the floor is the decision, or the base request where none is made.
        low = s if direction != "rise" else max(s, p if d is None else d)
        base = default_base(pop) if d is None else d
        lower.append(low)
        upper.append(max(base, low) + (default_extra(pop) if v is None else v))
    floor = sum(effective_floor(low) for low in lower)
    reach = feasible_totals(lower, upper)
    if direction in ("rise", "fall"):
        low, high = (max(base_need, floor), sum(upper)) if direction == "rise" else (max(floor, MINIMUM), base_need - 1)
        candidates = [t for t in range(low, min(high, len(reach) - 1) + 1) if reach[t]]
        assume(candidates)
        need = draw(st.sampled_from(candidates))
    else:
        need = base_need
    status = status_frame(index, settled, decision, extra)
    return {"data": data, "access": access, "plan": plan, "previous": previous, "status": status,
            "travel": travel, "need": need, "upper": pd.Series(upper, index=index),
            "all_eligible": direction == "same" and draw(st.booleans())}


def solved(case):
    return replan(case["data"], case["access"], case["plan"], case["previous"], case["status"], case["travel"],
                  case["need"], case["all_eligible"])


# --------------------------------------------------------------------------- properties: rising need

@PROPERTY
@given(scenarios("rise"))
def test_rising_need_sum_is_new_need_and_nothing_below_settled_or_decision(case):
    result = solved(case)
    x = requests_of(result)
    status = case["status"]
    assert x.sum() == case["need"]
    assert (x >= status["settled"]).all()
    decided = status["decision"].notna()
    assert (x[decided] >= status.loc[decided, "decision"]).all()
    assert (x[~decided] >= case["previous"][~decided]).all()
    assert (x <= case["upper"]).all()
    # The allocation reports the change against the base plan.
    table = result.allocation.set_index("kommunenummer")
    assert (table["previous"] == case["previous"]).all()
    assert (table["change"] == x - case["previous"]).all()


@PROPERTY
@given(scenarios("rise"))
def test_rising_need_new_municipalities_only_when_needed_and_at_least_the_minimum(case):
    x = requests_of(solved(case))
    previous = case["previous"]
    newly = x.index[(previous == 0) & (x > 0)]
    assert (x[newly] >= MINIMUM).all()
    # Asking j was needed: the room left (base and volunteered extra) in every
    # other municipality asked cannot take j's persons.  A municipality that
    # declined is left out: j's persons may be its declined quota, which must
    # go elsewhere.
    status = case["status"]
    declined = status["decision"].notna() & (status["decision"] < previous)
    for j in newly:
        others = x.index[(x > 0) & (x.index != j) & ~declined]
        room = int((case["upper"][others] - x[others]).sum())
        assert x[j] > room, (j, int(x[j]), room)


@PROPERTY
@given(scenarios("rise"))
def test_rising_need_shortfall_goes_within_reach_while_there_is_room_there(case):
    result = solved(case)
    x, previous, status, travel = requests_of(result), case["previous"], case["status"], case["travel"]
    flows = result.shortfalls
    declined = status["decision"].notna() & (status["decision"] < previous)
    shortfall = (previous - status["decision"])[declined].astype(int)
    # Each declined quota is reported in full, from the municipality that declined it.
    placed = flows.groupby("origin")["persons"].sum()
    assert placed.reindex(shortfall.index, fill_value=0).tolist() == shortfall.tolist()
    assert set(flows["origin"]) <= set(shortfall.index)
    # Minutes and reach are the travel times between origin and receiver.
    assert flows["minutes"].tolist() == [travel.at[o, r] for o, r in zip(flows["origin"], flows["receiver"])]
    assert flows["within_reach"].tolist() == [m <= REACH for m in flows["minutes"]]
    # Nothing is sent beyond reach while a municipality within reach of the
    # origin has growth not yet counted as a received quota.
    growth = (x - previous).clip(lower=0)
    received = flows.groupby("receiver")["persons"].sum().reindex(x.index, fill_value=0)
    for origin in flows.loc[~flows["within_reach"], "origin"].unique():
        near = [j for j in x.index if j != origin and travel.at[origin, j] <= REACH]
        assert (received[near] >= growth[near]).all(), origin


# --------------------------------------------------------------------------- properties: falling and unchanged need

@PROPERTY
@given(scenarios("fall"))
def test_falling_need_never_below_settled_and_keeps_zero_or_minimum(case):
    x = requests_of(solved(case))
    status = case["status"]
    assert x.sum() == case["need"]
    assert (x >= status["settled"]).all()
    assert ((x == 0) | (x >= MINIMUM)).all()
    assert (x <= case["upper"]).all()


@PROPERTY
@given(scenarios("same"))
def test_unchanged_need_without_status_events_changes_nothing(case):
    result = solved(case)
    x = requests_of(result)
    assert x.tolist() == case["previous"].tolist()
    table = result.allocation.set_index("kommunenummer")
    assert (table["change"] == 0).all()
    assert set(table["change_reason"]) == {"unchanged"}
    assert result.shortfalls.empty


# --------------------------------------------------------------------------- property: the ladder

@st.composite
def ladders(draw):
    """A plan on a few municipalities and 3-4 increasing needs within its capacity."""
    n = draw(st.integers(4, 7))
    population = draw(st.lists(st.integers(5_000, 40_000), min_size=n, max_size=n))
    data = make_plan_data(population, fylke=[f"{i % 2 + 1:02d}" for i in range(n)])
    capacity = sum(default_base(p) + default_extra(p) for p in population)
    needs = sorted(draw(st.sets(st.integers(MINIMUM, capacity), min_size=3, max_size=4)))
    plan = make_plan(capacity=CapacityRule(base_per_1000_inhabitants=PER_1000, extra_per_1000_inhabitants=PER_1000))
    return data, plan, needs


@PROPERTY
@given(ladders())
def test_ladder_no_request_falls_as_the_need_rises(case):
    data, plan, needs = case
    access = make_access(data)
    table = ladder(ladder_inputs(data, access, plan, None, None), needs, SOLVERS)
    assert list(table.columns) == needs
    assert table.sum().tolist() == needs
    assert (table.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert ((table == 0) | (table >= MINIMUM)).all().all()


# --------------------------------------------------------------------------- hand-checked cases

EQUAL = [30_000, 30_000, 30_000]  # equal targets; base capacity 90 each


NEAR_FAR = [[0, 60, 150], [60, 0, 150], [150, 150, 0]]  # 0001-0002 within reach, 0003 beyond both


def three(previous, need, status=None):
    """Re-plan three equal municipalities 0001-0003 (travel ``NEAR_FAR``) from ``previous``."""
    data = make_plan_data(EQUAL)
    index = codes(3)
    return replan(data, make_access(data), make_plan(), pd.Series(previous, index=index),
                  status if status is not None else status_frame(index), travel_frame(index, NEAR_FAR), need)


def test_declined_quota_moves_to_the_municipality_within_reach():
    # 0001 decides 20 of its 30.  0002 is 60 minutes away, 0003 150: either can
    # take the 10 for the same deviation and change, but beyond reach each
    # person costs 2 more, so all 10 go to 0002.
    result = three([30, 30, 30], 90, status_frame(codes(3), decision=[20, None, None]))
    assert requests_of(result).tolist() == [20, 40, 30]
    assert result.shortfalls[["origin", "receiver", "persons", "minutes", "within_reach"]].values.tolist() == [
        ["0001", "0002", 10, 60.0, True]]
    reasons = result.allocation.set_index("kommunenummer")["change_reason"]
    assert reasons.tolist() == ["declined", "shortfall received", "unchanged"]


NO_ROOM_NEAR = status_frame(codes(3), decision=[20, 30, None], extra=[None, 0, None])


def test_declined_quota_beyond_reach_only_when_there_is_no_room_within_it():
    # As above, but 0002 (within reach) decided exactly 30 and volunteers
    # nothing more: the 10 must go to 0003, beyond reach.
    assert requests_of(three([30, 30, 30], 90, NO_ROOM_NEAR)).tolist() == [20, 30, 40]


def test_shortfall_report_names_the_municipality_that_really_took_the_quota():
    result = three([30, 30, 30], 90, NO_ROOM_NEAR)
    assert result.shortfalls[["origin", "receiver", "persons", "within_reach"]].values.tolist() == [
        ["0001", "0003", 10, False]]
    assert result.allocation["change_reason"].tolist() == ["declined", "unchanged", "shortfall received"]


def test_falling_need_is_taken_from_the_plan_proportionally():
    # Equal populations would give 33-34 each; the re-plan halves the base plan instead.
    result = three([40, 60, 100], 100)
    assert requests_of(result).tolist() == [20, 30, 50]
    assert set(result.allocation["change_reason"]) == {"need fell"}


def test_falling_need_keeps_what_is_settled_and_may_go_below_the_decision():
    index = codes(3)
    # 0001 has settled 30 of its 40: it keeps 30, the other two give up the rest.
    x = requests_of(three([40, 60, 100], 100, status_frame(index, settled=[30, 0, 0])))
    assert x.tolist()[0] == 30 and x.sum() == 100
    assert x["0002"] <= 30 and x["0003"] <= 50
    # 0002 decided its 60, but the need falls: proportionally it drops to 30.
    x = requests_of(three([40, 60, 100], 100, status_frame(index, decision=[None, 60, None])))
    assert x.tolist() == [20, 30, 50]


def test_falling_need_asks_a_declining_municipality_no_more_than_its_decision():
    # 0003 decided 40 of its 100; halving the plan would ask it for 50.  Its
    # decision is its base capacity: 10 more from its extra capacity would cost
    # 4 each, the other two take them for 1 each in deviation.
    index = codes(3)
    x = requests_of(three([40, 60, 100], 100, status_frame(index, decision=[None, None, 40])))
    assert x["0003"] == 40 and x.sum() == 100


def test_extra_capacity_is_used_before_a_new_municipality_is_asked():
    # 0001 (20,000 inhabitants) was asked for 10, decided 10 and volunteers 40
    # more; 0002 (10,000) was not asked.  At 30 the targets are 20 and 10, yet
    # 0001's extra capacity takes the 20 more before 0002 is asked.
    data = make_plan_data([20_000, 10_000])
    index = codes(2)
    previous = pd.Series([10, 0], index=index)
    status = status_frame(index, decision=[10, None], extra=[40, None])
    travel = travel_frame(index, [[0, 30], [30, 0]])
    result = replan(data, make_access(data), make_plan(), previous, status, travel, 30)
    assert requests_of(result).tolist() == [30, 0]
    assert result.allocation["change_reason"].tolist() == ["extra capacity", "unchanged"]
    # At 60 the 50 places of 0001 are not enough: 0002 is asked, for at least the minimum.
    x = requests_of(replan(data, make_access(data), make_plan(), previous, status, travel, 60))
    assert x.sum() == 60 and x["0001"] <= 50 and x["0002"] >= MINIMUM


def spread_case():
    """Two large municipalities asked 50 each and a small one not asked, to be
    re-planned under ``spread``: data, access, plan, context."""
    data = make_plan_data([50_000, 50_000, 1_000])
    index = codes(3)
    context = ReplanContext(previous=pd.Series([50, 50, 0], index=index), status=status_frame(index), base_need=100,
                            travel_minutes=travel_frame(index, NEAR_FAR), reasonable_minutes=REACH)
    plan = replace(make_plan(), replan=ReplanConfig(base_plan="base", policy="spread"))
    return data, make_access(data), plan, context


def spread_replan(need):
    data, access, plan, context = spread_case()
    return requests_of(solve_plan(data, access, replace(plan, need_persons=need), SOLVERS, None, context))


def test_spread_asks_everyone_the_minimum_when_the_need_leaves_room_for_it():
    # At 300 the floors (50 + 50) and the small municipality at the minimum fit:
    # it is asked, although its target (about 3 persons) alone would not ask it.
    x = spread_replan(300)
    assert x.sum() == 300 and x["0003"] >= MINIMUM and (x[["0001", "0002"]] >= 50).all()
    # At 105 they do not (100 + 10 > 105): the re-plan still plans the need, and
    # the 5 more go to those already asked instead of failing.
    x = spread_replan(105)
    assert x.sum() == 105 and x["0003"] == 0 and (x[["0001", "0002"]] >= 50).all()


def test_spread_ladder_crosses_the_need_where_everyone_would_be_asked():
    # At 105 the small municipality is not asked; at 110 a re-plan would ask it
    # for 10 on top of 100, but the ladder keeps 105's requests as floors.  The
    # ladder leaves the ask-everyone floor out, so every step is planned.
    data, access, plan, context = spread_case()
    needs = [105, 110, 120, 300]
    table = ladder(ladder_inputs(data, access, plan, None, context), needs, SOLVERS)
    assert table.sum().tolist() == needs
    assert (table.diff(axis=1).iloc[:, 1:] >= 0).all().all()


def test_access_excluded_municipality_opened_by_the_replan_is_asked_only_when_needed():
    # 0002 is beyond the access rule and was not asked; the re-plan opens all
    # municipalities.  Targets are 50 each, so asking 0002 would halve the
    # deviation, yet at the same need nothing changes.  At 300, more than 0001
    # can hold (90 base + 90 extra), 0002 is asked for the other 120 or more.
    data = make_plan_data([30_000, 30_000])
    access = make_access(data, minutes_to_school=[0.0, EXCLUDED_MINUTES])
    index = codes(2)
    travel = travel_frame(index, [[0, 30], [30, 0]])
    previous = pd.Series([100, 0], index=index)
    same = replan(data, access, make_plan(), previous, status_frame(index), travel, 100, all_eligible=True)
    assert requests_of(same).tolist() == [100, 0]
    more = requests_of(replan(data, access, make_plan(), previous, status_frame(index), travel, 300, all_eligible=True))
    assert more["0001"] <= 180 and more["0002"] >= 120 and more.sum() == 300


def test_ladder_across_the_base_need_of_a_replan_never_falls():
    # Base plan (40, 60, 100) for 200; 0003 decided 40 and volunteers 10 more.
    # Below 200 the plan is cut proportionally, from 200 on decisions hold.
    data = make_plan_data(EQUAL)
    index = codes(3)
    access = make_access(data)
    context = ReplanContext(previous=pd.Series([40, 60, 100], index=index),
                            status=status_frame(index, decision=[None, None, 40], extra=[None, None, 10]),
                            base_need=200, travel_minutes=travel_frame(index, NEAR_FAR),
                            reasonable_minutes=REACH)
    plan = replace(make_plan(), replan=ReplanConfig(base_plan="base"))
    needs = [100, 150, 200, 250]
    table = ladder(ladder_inputs(data, access, plan, None, context), needs, SOLVERS)
    assert table.sum().tolist() == needs
    assert (table.diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert (table[200] >= 40).all() and table.at["0003", 200] <= 50


def test_ladder_checks_every_step_independently(monkeypatch):
    # A solver answer one person short of the need must not pass into the table.
    data = make_plan_data(EQUAL)
    access = make_access(data)
    solved_requests = reallocate.requests
    monkeypatch.setattr(reallocate, "requests", lambda v: solved_requests(v).sub(1).clip(lower=0))
    with pytest.raises(reallocate.LadderNotVerified, match=r"ladder step 100: .*first: national_need at NO"):
        ladder(ladder_inputs(data, access, make_plan(), None, None), [100, 150], SOLVERS)


def test_ladder_refuses_needs_that_do_not_rise():
    with pytest.raises(ValueError, match="strictly increasing"):
        ladder(lambda need: None, [100, 100], SOLVERS)


def test_replan_infeasible_when_decisions_exceed_the_new_need():
    # Decided 60 + 60 + 60 but the need is 150 (the need rises from 120): no allocation fits.
    index = codes(3)
    with pytest.raises(InfeasiblePlan):
        three([40, 40, 40], 150, status_frame(index, decision=[60, 60, 60]))
