"""What the counties, KS and the municipalities send, inside the model.

``optimiser.assemble`` turns submissions into model columns (hand-checked
here), small plans solved through ``optimiser.allocate`` show each rule
binding on numbers worked out by hand, and property tests over random small
instances check the invariants of KS caps and exclusions, the complex-health
cap, locks, the EM sub-quota and the extra-capacity tier.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import assemble, model
from optimiser.allocate import plan_inputs, solve_plan
from optimiser.data import KsInput, Submissions
from optimiser.plan import CapacityRule, SubmissionsConfig, UnaccompaniedMinors
from optimiser.solve import SolveStatus
from pipeline.solvers import make_solvers
from tests.factories import make_access, make_inputs, make_plan, make_plan_data, solve_vars_quietly

PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAN = float("nan")
# Three municipalities of 10,000, 30,000 and 60,000 inhabitants: with the
# population as the only criterion (exponent 1) their targets are 10 %, 30 %
# and 60 % of the need.  Default capacity 3 + 3 per 1,000: base 30, 90, 180.
POPULATION = [10_000, 30_000, 60_000]


def submissions(*, recommended=None, recommended_em=None, answers=None, caps=None, exclusions=None,
                minimum_exceptions=None) -> Submissions:
    """Submissions from dicts keyed by kommunenummer; ``answers`` maps a code to
    (base, extra, complex_health, em) capacities.  KS input only when one of its
    parts is given."""
    recs = pd.DataFrame({"recommended": pd.Series(recommended or {}, dtype=float),
                         "recommended_em": pd.Series(recommended_em or {}, dtype=float)})
    recs["reason"] = ""
    answer_frame = pd.DataFrame.from_dict(
        {c: {"decision": NAN, "base_capacity": b, "extra_capacity": e, "complex_health_capacity": h, "em_capacity": y}
         for c, (b, e, h, y) in (answers or {}).items()}, orient="index",
        columns=list(assemble.ANSWER_COLUMNS)).astype(float)
    ks = None
    if caps or exclusions or minimum_exceptions:
        ks = KsInput(agrees=True, reference="test", date="2021-10-01",
                     caps=pd.Series(caps or {}, dtype="int64"), exclusions=pd.Series(exclusions or {}, dtype=str),
                     minimum_exceptions=pd.Series(minimum_exceptions or {}, dtype="int64"))
    return Submissions(recommendations=recs, ks=ks, answers=answer_frame)


def parameters(sub: Submissions, minutes=0.0, **plan) -> model.ModelInputs:
    """The model's parameters for the three municipalities of ``POPULATION``."""
    data = make_plan_data(POPULATION)
    return plan_inputs(data, make_access(data, minutes), make_plan(**plan), sub)[1]


def allocate(sub: Submissions, **plan) -> pd.DataFrame:
    data = make_plan_data(POPULATION)
    p = make_plan(**plan)
    result = solve_plan(data, make_access(data), p, make_solvers(p.solver), sub)
    return result.allocation.set_index("kommunenummer")


# --------------------------------------------------------------------------- submissions -> model columns

def test_answers_replace_the_default_capacity_where_given():
    m = parameters(submissions(answers={"0001": (12, 4, NAN, NAN)})).municipalities
    assert m["base_capacity"].tolist() == [12, 90, 180]   # 3 per 1,000 where no answer
    assert m["extra_capacity"].tolist() == [4, 90, 180]
    assert m["health_cap"].isna().all() and (m["em_capacity"] == 0).all()


def test_capacity_factor_scales_every_capacity_answered_or_by_the_rule():
    # 0001 answered (12 base, 4 extra, 3 complex-health, 2 EM); 0002 and 0003 use
    # the rule, 3 + 3 per 1,000 of 30,000 and 60,000.  Factor 1.5, rounded up.
    answers = {"0001": (12, 4, 3, 2)}
    health = SubmissionsConfig(complex_health_share=0.05)
    one = parameters(submissions(answers=answers), submissions=health).municipalities
    scaled = parameters(submissions(answers=answers), submissions=health,
                        capacity=CapacityRule(3.0, 3.0, factor=1.5)).municipalities
    assert one["base_capacity"].tolist() == [12, 90, 180] and one["extra_capacity"].tolist() == [4, 90, 180]
    assert scaled["base_capacity"].tolist() == [18, 135, 270]
    assert scaled["extra_capacity"].tolist() == [6, 135, 270]
    assert scaled.at["0001", "health_cap"] == 100 == one.at["0001", "health_cap"] * 5 / 3  # ceil(4.5) / 0.05
    assert scaled["em_capacity"].tolist() == one["em_capacity"].tolist() == [2, 0, 0]     # EM capacity stays
    # The rule's minimum still holds below factor 1: 10,000 inhabitants at 3 x 0.1 per 1,000 is 3 < 10.
    low = parameters(submissions(), capacity=CapacityRule(3.0, 3.0, factor=0.1)).municipalities
    assert low["base_capacity"].tolist() == [10, 10, 18]


def test_lock_modes():
    recs = pd.DataFrame({"recommended": [20.0, 30.0, NAN, 40.0]}, index=["0001", "0002", "0003", "0004"])
    fylke = pd.Series(["01", "01", "02", "02"], index=recs.index)

    def locked(**cfg):
        plan = make_plan(submissions=SubmissionsConfig(**cfg))
        return sorted(assemble.locked_municipalities(plan, recs, fylke))

    assert locked() == []
    assert locked(recommendation_mode="lock") == ["0001", "0002", "0004"]  # 0003 has nothing to lock to
    assert locked(locked_counties=("01",)) == ["0001", "0002"]
    assert locked(locked_municipalities=("0004", "0003")) == ["0004"]


def test_ks_exclusion_wins_over_lock_and_lock_over_access_rule():
    # 0001 has a school; 0002 and 0003 are 120 minutes from one (beyond 90).
    # 0002's recommendation is locked: the county knows its transport, so it may
    # be asked.  0001 is excluded by KS: never asked, even with a locked recommendation.
    sub = submissions(recommended={"0001": 10, "0002": 30}, exclusions={"0001": "test"})
    locks = SubmissionsConfig(locked_municipalities=("0001", "0002"))
    m = parameters(sub, minutes=[0.0, 120.0, 120.0], submissions=locks).municipalities
    assert m["eligible"].tolist() == [False, True, False]
    assert m["excluded_by"].tolist() == ["ks_exclusion", "", "access"]
    assert m["locked"].tolist() == [True, True, False]


def test_ks_caps_and_minimum_exceptions_become_columns():
    m = parameters(submissions(caps={"0003": 25}, minimum_exceptions={"0001": 4})).municipalities
    assert m["cap"].isna().tolist() == [True, True, False] and m.at["0003", "cap"] == 25
    assert m["min_request"].tolist() == [4, 10, 10]


def test_complex_health_cap_is_capacity_over_share():
    answers = {"0001": (30, 0, 3, NAN), "0002": (90, 0, 7, NAN), "0003": (180, 0, NAN, NAN)}
    at_5 = parameters(submissions(answers=answers), submissions=SubmissionsConfig(complex_health_share=0.05))
    assert at_5.municipalities["health_cap"].tolist()[:2] == [60, 140]   # 3 / 0.05, 7 / 0.05
    assert np.isnan(at_5.municipalities.at["0003", "health_cap"])       # no capacity stated: no limit
    # 7 persons at 7 % is exactly 100 persons: in floating point 7 / 0.07 = 99.99999999999999.
    at_7 = parameters(submissions(answers=answers), submissions=SubmissionsConfig(complex_health_share=0.07))
    assert at_7.municipalities["health_cap"].tolist()[:2] == [42, 100]  # 3 / 0.07 = 42.86
    off = parameters(submissions(answers=answers))                       # share 0: the rule is off
    assert off.municipalities["health_cap"].isna().all()


def test_em_quota_is_total_less_bufetat_and_targets_only_capable():
    # EM need 14 - 4 = 10.  0001 has no EM capacity: its EM recommendation is
    # ignored.  0003 weighs its recommendation, 4; 0002, without one, weighs its
    # share of the need by target, 10 * 30 / (30 + 60) = 10/3.  The EM targets
    # spread the need in proportion to these weights, so they add up to it:
    # 10 * (10/3) / (10/3 + 4) = 50/11 and 10 * 4 / (10/3 + 4) = 60/11.
    answers = {"0001": (30, 0, NAN, 0), "0002": (90, 0, NAN, 5), "0003": (180, 0, NAN, 5)}
    sub = submissions(answers=answers, recommended_em={"0001": 3, "0003": 4})
    inputs = parameters(sub, unaccompanied_minors=UnaccompaniedMinors(total_persons=14, placed_by_bufetat_persons=4,
                                                                      minimum_request=2))
    assert (inputs.em_need, inputs.em_minimum) == (10, 2)
    m = inputs.municipalities
    assert m["em_capacity"].tolist() == [0, 5, 5]
    assert m["em_target"].round(6).tolist() == [0.0, round(50 / 11, 6), round(60 / 11, 6)]
    assert m["em_target"].sum() == pytest.approx(10)


def test_2022_em_quota_is_111():
    em = UnaccompaniedMinors(total_persons=141, placed_by_bufetat_persons=30)
    assert em.municipal_persons == 111


# --------------------------------------------------------------------------- small plans solved (by hand)

def test_ks_exclusion_gives_zero():
    x = allocate(submissions(exclusions={"0002": "test"}))["request"]
    assert x["0002"] == 0 and x.sum() == 100


def test_ks_cap_holds_and_the_rest_goes_elsewhere():
    # 0003's target is 60; capped at 25 it takes exactly 25: below that, 0001
    # and 0002 (targets 10 and 30) would hold more than 75, one of them above its
    # target, and moving a person from it to 0003 would save 2.
    x = allocate(submissions(caps={"0003": 25}))["request"]
    assert x["0003"] == 25 and x.sum() == 100


def test_complex_health_capacity_caps_the_request():
    # 2 persons with complex needs at 5 %: at most 40 persons for 0003 (target
    # 60), and exactly 40 by the argument of the KS cap above.
    answers = {"0003": (180, 0, 2, NAN)}
    a = allocate(submissions(answers=answers), submissions=SubmissionsConfig(complex_health_share=0.05))
    assert a.at["0003", "request"] == 40 and a["request"].sum() == 100


def test_extra_capacity_second_tier():
    # Base 20 each, extra 10 each (answers).  A need of 60 fits in base: no
    # extra, although 0003's target is 36; a need of 70 does not: exactly the
    # 10 persons above total base come from extra.
    answers = {c: (20, 10, NAN, NAN) for c in ("0001", "0002", "0003")}
    at_60 = allocate(submissions(answers=answers), need_persons=60)
    assert at_60["request"].tolist() == [20, 20, 20] and (at_60["extra_used"] == 0).all()
    at_70 = allocate(submissions(answers=answers), need_persons=70)
    assert at_70["request"].sum() == 70 and (at_70["request"] <= 30).all()
    assert at_70["extra_used"].sum() == 10
    assert (at_70["extra_used"] == (at_70["request"] - 20).clip(lower=0)).all()


def em_plan(total: int, minimum: int = 2) -> dict:
    return {"unaccompanied_minors": UnaccompaniedMinors(total_persons=total, minimum_request=minimum)}


EM_ANSWERS = {"0001": (30, 30, NAN, 0), "0002": (90, 90, NAN, 5), "0003": (180, 180, NAN, 5)}


def test_em_capacity_forces_the_split():
    # 10 EM, capacity 0, 5, 5: the only way is 0, 5, 5.
    a = allocate(submissions(answers=EM_ANSWERS), **em_plan(10))
    assert a["em_request"].tolist() == [0, 5, 5]
    assert (a["em_request"] <= a["request"]).all()


def test_em_minimum_size():
    # 3 EM, minimum 2: 1 + 2 is not allowed, so one capable municipality takes all 3.
    em = allocate(submissions(answers=EM_ANSWERS), **em_plan(3))["em_request"]
    assert em["0001"] == 0 and sorted(em.tolist()) == [0, 0, 3]


def test_em_counts_inside_the_total():
    # 8 EM; KS caps 0002 at 3 persons in all (and lets it be asked for fewer
    # than 10), so it takes at most 3 EM and 0003 at most its capacity 5: 3 + 5.
    sub = submissions(answers=EM_ANSWERS, caps={"0002": 3}, minimum_exceptions={"0002": 3})
    a = allocate(sub, **em_plan(8, minimum=1))
    assert a["em_request"].tolist() == [0, 3, 5]
    assert a.at["0002", "request"] == 3


# --------------------------------------------------------------------------- random small instances

@st.composite
def instances(draw, extra_tier: bool = False):
    """A random instance, feasible by construction: a witness allocation (and
    EM split) is drawn inside every limit first, and the needs are its sums.

    ``extra_tier``: no minimum request, no locks and no EM, so the exchange
    argument of ``test_extra_capacity_only_after_base_room`` applies; every
    municipality with room is asked in the witness, so the need often exceeds
    the base room.
    """
    n = draw(st.integers(4, 9))
    minimum = 0 if extra_tier else draw(st.sampled_from([0, 10]))
    em_minimum = draw(st.integers(1, 3))
    rows = []
    for i in range(n):
        eligible = i == 0 or draw(st.sampled_from([True, True, True, False]))  # False: KS exclusion
        base = draw(st.integers(10 if i == 0 else 0, 40))
        extra = draw(st.integers(0, 30))
        # Municipality 0001 is always asked, without cap, and can take EM.
        cap = NAN if i == 0 else draw(st.sampled_from([NAN, NAN, float(draw(st.integers(0, 60)))]))
        health = NAN if i == 0 else draw(st.sampled_from([NAN, NAN, float(draw(st.integers(0, 60)))]))
        upper = int(min([base + extra] + [v for v in (cap, health) if not np.isnan(v)])) if eligible else 0
        smallest = max(minimum, em_minimum if i == 0 else 1)
        asked = upper >= smallest and (i == 0 or extra_tier or draw(st.sampled_from([True, True, True, False])))
        # Often full (extra capacity included), so the need often exceeds the base room.
        x = draw(st.sampled_from([upper, draw(st.integers(smallest, upper))])) if asked else 0
        if extra_tier:
            em_capacity = 0
        else:
            em_capacity = draw(st.integers(em_minimum, 10) if i == 0 else st.sampled_from([0, draw(st.integers(1, 10))]))
        em_room = min(em_capacity, x) if eligible else 0
        y = 0
        if em_room >= em_minimum:
            y = draw(st.sampled_from([em_room, draw(st.integers(em_minimum, em_room))] + ([0] if i else [])))
        locked = not extra_tier and draw(st.sampled_from([False, False, False, True]))
        recommended = float(x) if locked else draw(st.sampled_from([NAN, float(draw(st.integers(0, 50)))]))
        rows.append(dict(eligible=eligible, base_capacity=base, extra_capacity=extra, cap=cap, health_cap=health,
                         x=x, y=y, em_capacity=em_capacity, locked=locked, recommended=recommended,
                         weight=draw(st.floats(0.01, 1.0))))
    f = pd.DataFrame(rows)
    need, em_need = int(f["x"].sum()), int(f["y"].sum())
    columns = ["eligible", "base_capacity", "extra_capacity", "cap", "health_cap", "em_capacity", "locked",
               "recommended"]
    return make_inputs((need * f["weight"] / f["weight"].sum()).tolist(), need=need, min_request=minimum,
                       em_need=em_need, em_minimum=em_minimum if em_need else 0,
                       **{c: f[c].tolist() for c in columns})


def solved(inputs: model.ModelInputs) -> tuple[pd.Series, pd.Series]:
    v, result = solve_vars_quietly(inputs)
    assert result.status is SolveStatus.OPTIMAL, result
    return model.requests(v), model.em_requests(v, inputs.municipalities.index)


@PROPERTY
@given(instances())
def test_hard_limits_of_the_submissions_hold(inputs):
    x, y = solved(inputs)
    m = inputs.municipalities
    assert x.sum() == inputs.need
    assert (x[~m["eligible"]] == 0).all()                              # KS exclusion
    assert (m["cap"].isna() | (x <= m["cap"])).all()                   # KS cap
    assert (m["health_cap"].isna() | (x <= m["health_cap"])).all()     # complex health
    assert (x[m["locked"]] == m.loc[m["locked"], "recommended"]).all() # locks
    assert y.sum() == inputs.em_need                                    # EM sub-quota, exact
    em_asked = y > 0
    assert (m.loc[em_asked, "em_capacity"] > 0).all() and m.loc[em_asked, "eligible"].all()
    assert (y <= m["em_capacity"]).all()
    assert (y <= x).all()                                               # EM inside the total
    assert (y[em_asked] >= inputs.em_minimum).all()


@PROPERTY
@given(instances(extra_tier=True))
def test_extra_capacity_only_after_base_room(inputs):
    """Extra used in all = max(0, need - base room), base room = sum of
    min(base, cap, health cap) over eligible municipalities.

    Why it must hold: were some municipality drawing on extra while another
    still had base room, moving one person from the first to the second would
    save the extra penalty (4) and cost at most 2 in target deviation and 1 in
    recommendation deviation (nothing else binds without minimums, locks, EM
    or county minimums): the solution would not be optimal.  So either no extra
    is used, or every municipality fills its base room.
    """
    x, _ = solved(inputs)
    m = inputs.municipalities
    room = np.minimum(m["base_capacity"], inputs.upper).sum()
    extra_used = (x - m["base_capacity"]).clip(lower=0)
    assert extra_used.sum() == max(0, inputs.need - room)
    assert (extra_used <= m["extra_capacity"]).all()
