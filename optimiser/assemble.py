"""Turn data, targets and access into the model's parameters (``ModelInputs``).

This is where the plan's rules become numbers per municipality: the default
capacity rule, the access rule from the transport network and the county
spread minimum.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from optimiser.data import PlanData, Submissions
from optimiser.model import ModelInputs
from optimiser.plan import CapacityRule, Plan


def default_capacity(population: pd.Series, rule: CapacityRule, minimum_request: int) -> pd.DataFrame:
    """Capacity while no municipal answer is on file (documented rule in the plan).

    base  = max(minimum_request, ceil(factor * base_per_1000 * population / 1000))
    extra = ceil(factor * extra_per_1000 * population / 1000)
    """
    base = persons_up(rule.factor * rule.base_per_1000_inhabitants * population / 1000.0).clip(lower=minimum_request)
    extra = persons_up(rule.factor * rule.extra_per_1000_inhabitants * population / 1000.0)
    return pd.DataFrame({"base_capacity": base, "extra_capacity": extra}, index=population.index)


# Columns of the access frame (optimiser.network) carried into the parameters and the allocation.
ACCESS_COLUMNS = ("minutes_to_school", "reachable_population", "school_region")


def access_eligibility(access: pd.DataFrame, plan: Plan) -> pd.Series:
    """True where an upper-secondary school is within the reasonable travel time
    (or the plan lists the municipality as an exception, or the rule is off)."""
    net = plan.network
    if not net.access_rule:
        return pd.Series(True, index=access.index)
    ok = access["minutes_to_school"] <= net.reasonable_travel_minutes
    return ok | access.index.isin(net.access_exceptions)


def county_minimum(fylke: pd.Series, target: pd.Series, share: float) -> pd.Series:
    """floor(share * sum of targets in the county).  Not clipped to what the
    county can take: a county whose capacity is below its share is a conflict
    the diagnosis names, not something to hide."""
    return target.groupby(fylke).sum().mul(share).apply(math.floor).astype(int)


def locked_municipalities(plan: Plan, recommendations: pd.DataFrame, fylke: pd.Series) -> pd.Index:
    """Municipalities whose request must equal the county's recommendation."""
    has = recommendations.index[recommendations["recommended"].notna()]
    cfg = plan.submissions
    if cfg.recommendation_mode == "lock":
        return has
    return has[has.isin(cfg.locked_municipalities) | fylke.reindex(has).isin(cfg.locked_counties).to_numpy()]


def empty_submissions() -> Submissions:
    nothing = pd.Series(dtype=float)
    return Submissions(
        recommendations=pd.DataFrame({"recommended": nothing, "recommended_em": nothing,
                                      "reason": pd.Series(dtype=str)}),
        ks=None, answers=pd.DataFrame({c: nothing for c in ANSWER_COLUMNS}))


ANSWER_COLUMNS = ("decision", "base_capacity", "extra_capacity", "complex_health_capacity", "em_capacity")


def model_inputs(data: PlanData, target: pd.Series, access: pd.DataFrame, plan: Plan,
                 submissions: Submissions | None = None) -> ModelInputs:
    """Parameters per municipality from the plan's rules and what was submitted.

    Capacity: the municipality's answer where it gave one, else the plan's
    default rule.  Access rule and KS exclusions make a municipality
    ineligible; a locked county recommendation is an exception to the access
    rule (the county knows its local transport), never to a KS exclusion.
    """
    sub = submissions or empty_submissions()
    m = data.municipalities
    codes = m.index
    answers = scaled_answers(sub.answers.reindex(codes), plan.capacity.factor)
    answered = answers["base_capacity"].notna()
    capacity = default_capacity(m["population"], plan.capacity, plan.minimum_request)
    base = answers["base_capacity"].where(answered, capacity["base_capacity"]).astype(int)
    extra = answers["extra_capacity"].where(answered, capacity["extra_capacity"]).astype(int)
    recs = sub.recommendations.reindex(codes)
    locked = codes.isin(locked_municipalities(plan, sub.recommendations, m["fylke"]))

    access_ok = access_eligibility(access.reindex(codes), plan) | locked
    ks = sub.ks
    ks_excluded = codes.isin(ks.exclusions.index) if ks is not None else np.zeros(len(codes), bool)
    excluded_by = pd.Series("", index=codes).where(access_ok, "access").where(~ks_excluded, "ks_exclusion")
    min_request = pd.Series(plan.minimum_request, index=codes)
    cap = pd.Series(np.nan, index=codes)
    if ks is not None:
        min_request.update(ks.minimum_exceptions.astype(int))
        cap.update(ks.caps.astype(float))
    health_cap = _health_cap(answers["complex_health_capacity"], plan.submissions.complex_health_share)

    em = plan.unaccompanied_minors
    em_capacity = answers["em_capacity"].fillna(0).astype(int)
    frame = pd.DataFrame({
        "fylke": m["fylke"],
        "target": target.reindex(codes),
        "base_capacity": base,
        "extra_capacity": extra,
        "min_request": min_request.astype(int),
        "lower_bound": 0,
        "eligible": access_ok & ~ks_excluded,
        "recommended": recs["recommended"].astype(float),
        "locked": locked,
        "cap": cap,
        "health_cap": health_cap,
        "em_capacity": em_capacity,
        "em_target": 0.0,
        "previous": np.nan,
        "excluded_by": excluded_by,
        **{c: access.reindex(codes)[c] for c in ACCESS_COLUMNS if c in access},
        "decision": answers["decision"],
        "recommended_em": recs["recommended_em"].astype(float),
    }, index=codes)
    em_need = em.municipal_persons if em is not None else 0
    frame["em_target"] = em_targets(frame, em_need)
    minimum = county_minimum(frame["fylke"], frame["target"], plan.spread.min_county_share_of_target)
    return ModelInputs(name=plan.name, need=plan.need_persons, granularity=plan.granularity_persons,
                       municipalities=frame, county_minimum=minimum, penalties=plan.penalties,
                       em_need=em_need, em_minimum=em.minimum_request if em is not None else 0,
                       school_region=frame["school_region"] if "school_region" in frame else None,
                       school_region_cap=plan.network.school_region_cap_persons)


SCALED_ANSWERS = ("base_capacity", "extra_capacity", "complex_health_capacity")


def scaled_answers(answers: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The municipal answers with every stated capacity times ``factor``,
    rounded up to whole persons (``CapacityRule.factor``); as given for 1."""
    if factor == 1:
        return answers
    return answers.assign(**{c: persons_up(answers[c] * factor, whole=False) for c in SCALED_ANSWERS if c in answers})


def persons_up(values: pd.Series, whole: bool = True) -> pd.Series:
    """Rounded up to whole persons, after a nudge down by far less than a person:
    in floating point 0.1 * 3 * 60,000 / 1,000 is 18.000000000000004, which is 18
    persons, not 19.  ``whole=False`` keeps the float dtype (and NaN)."""
    up = np.ceil(values - 1e-9)
    return up.astype(int) if whole else up


def _health_cap(capacity: pd.Series, share: float) -> pd.Series:
    """Most persons a municipality can take when a share of them has complex
    health needs: the largest x with share * x <= capacity, i.e. floor(capacity /
    share); NaN where no capacity was stated.  The quotient is nudged up by far
    less than a person before rounding down: in floating point 7 / 0.07 is
    99.99999999999999, and 100 persons (7 with complex needs) are within a
    capacity of 7."""
    if share <= 0:
        return pd.Series(np.nan, index=capacity.index)
    return np.floor(capacity / share + 1e-9)


def em_targets(frame: pd.DataFrame, em_need: int) -> pd.Series:
    """EM targets that add up to the EM need, over the EM-capable municipalities.

    Each capable municipality weighs its county's EM recommendation where one
    is given, and otherwise its share of the EM need by its total target
    (never above its EM capacity); the EM need is then spread in proportion
    to these weights.  Recommendations that add up to more (or less) than the
    need are thereby scaled to it, so no county's recommendations are met in
    full while another's are left at nothing.
    """
    capable = (frame["em_capacity"] > 0) & frame["eligible"]
    target = frame["target"].where(capable, 0.0)
    by_target = em_need * target / target.sum() if target.sum() > 0 else target
    proxy = np.minimum(by_target, frame["em_capacity"].astype(float))
    recommended = frame["recommended_em"].where(frame["recommended_em"].notna() & capable)
    weight = recommended.fillna(proxy).where(capable, 0.0).astype(float)
    if weight.sum() <= 0:
        return weight
    return em_need * weight / weight.sum()
