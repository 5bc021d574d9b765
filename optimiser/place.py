"""Households -> municipalities: within reach of family ties, even fill.

During the year IMDi assigns each household ready to settle to one
municipality with room.  ``place`` does that for a batch of households.

Rules, in order of priority (each dominates everything after it):

1. Every household goes to exactly one municipality, never split; room plus
   volunteered extra room, complex-health room and room for unaccompanied
   minors (EM) are hard limits, in persons.
2. A household with a tie (family already living in a municipality) is
   placed within ``reasonable_minutes`` of its tie wherever some municipality
   in reach can still take it; otherwise as close as possible, at
   ``cost_per_minute_beyond`` per person and minute beyond reach.
3. Extra room is drawn only where base room is gone (``extra_tier_price``
   per person).
4. Fill rates stay even: each municipality's (already + assigned) is held
   near ``national_fill_rate * decision`` by convex bands
   (``optimiser.bands``), scale = decision.
5. Optionally, persons go where outcomes are good (``outcome_weight`` per
   person times 1 - outcome).

Priority 2 over 3-5 is a price, not a second solve: a placement beyond reach
costs ``reach_priority(params)`` per person on top of the minutes, more than
moving one person can ever gain in fill, extra-tier and outcome terms (at
most ``2 * fill_weight * max band price + extra_tier_price + outcome_weight``),
so at an optimum no tied household is beyond reach while a municipality in
reach could take it.  ``PlaceParams.check`` enforces the same for 3 over 4-5.

Looking ahead (``place``'s ``later``: households expected after the batch,
``optimiser.place_year``), one more price ranks below reach and the extra
tier, beside even fill: room for complex health needs is a few places per
municipality, and a family with such needs must find it whole near its tie.
``health_fit`` prices the room each household with such needs leaves: a
tied one fills a small room (at most ``small_health_room`` places) whole
rather than breaking it into pieces no later family fits, and one without a
tie goes where the room is large, leaving the small ones to families tied
near them.  Where the week knows which rooms the families expected later
may need whole (``PlaceInputs.health_risk``, ``optimiser.place_risk``), the
sizes a household would leave a room unable to host cost
``health_risk_weight`` places per unit of that chance, within the same
most: the only room of three in reach of one region is kept for the
families of three tied there, even where a family of another region would
fill it exactly.  Room for unaccompanied minors is priced the same way
(without the risk) for households of minors.  Beyond reach it costs the
most, so rule 2 stands;
``PlaceParams.check`` keeps it under the extra tier.  It is a price on the
future, not on this batch: the objective reported is ``placement_cost``,
without it.

Formulation, and why.  A binary per (household, municipality) is ~5 million
binaries at national scale (14,000 x 356); it does not solve in minutes
(``bench/place.py`` measures it).  Three steps keep the model small and the
result measured against a bound:

1. Aggregation, exact.  Households with the same persons, needs flags
   (unaccompanied minor, complex health), tie and whether they are here or
   expected later (``place``'s ``later``, priced at ``LATER_PRICE_SHARE``)
   are interchangeable: every term and every row sees only those attributes.  One integer x_km per
   (class k, municipality m) counts the class's households in m, and any
   integer solution splits back into whole households (``assign_households``).
   National scale: ~1,500 classes.
2. The LP bound, by column generation over person groups.  For the LP the
   household size does not matter either: classes pooled by (tie, flags)
   and counted in persons give the same LP (``person_groups``).  Columns
   start as every municipality in reach of the group's tie, every
   municipality for groups without a tie, and the
   ``beyond_reach_candidates`` nearest municipalities beyond reach; pairs
   that can never host the group's smallest household are left out.  Each
   round prices every left-out pair with the LP's row duals (reduced cost
   c_gm - pi_g - mu_m - phi_m - h_g eta_m - u_g epsilon_m) and adds the
   negative ones; with none left the restricted LP optimum is the LP optimum
   over every pair (otherwise ``LP + sum_g n_g * min_m reduced cost`` is
   still a valid bound).  It bounds the per-household model too: average
   any fractional per-household solution over interchangeable households.
   The fill target is rate * decision, a fraction; whole persons cannot meet
   it, so the bands price only what lies beyond the whole numbers around
   it (``add_even_fill``).  Without that the LP meets all 356 targets
   exactly and the bound is loose by their rounding.
3. Integer placement guided by the LP.  Small batches (at most
   ``exact_pairs`` class columns) are one integer model.  Large ones round
   first: households of two or more persons go where their group's LP flow
   has room for all of them, never beyond it, except where room in reach is
   scarce (``round_larger_households``); then one integer model places the
   single persons and every household left over in the room left.  With
   single persons as filler the packing of whole households is easy for the
   solver; if the result misses ``target_gap`` against the LP bound, the
   same is done with every household without a tie, with complex health
   needs or unaccompanied minors left free.  The gap to
   the LP bound is reported with every result.  Measured: 0 on national
   batches of 14,000 households; a synthetic year's 13,000 households at
   once (``optimiser.place_year.hindsight``) ended 16 % above the bound
   while families with complex health needs were fixed along the LP in both
   variants (a family of four beyond reach that the rooms could hold), and
   at the bound on three synthetic years once the second left them free.  Earlier, on
   scaled-down tight instances (3,000 households in 7,300 persons of room,
   so room is short within reach of many ties): between 1 % and 39 %
   depending on the seed, where the rounding fixes whole families the LP
   split and the residual model then sends others beyond reach.

HiGHS's presolve slows these models down by an order of magnitude (the
residual integer model of a tight instance: 19 s with, 1.1 s without);
build the solvers with ``SolverConfig(presolve=False)`` for placement.

After the solve a repair pass moves any tied household placed beyond reach
into a municipality in reach that still has room for it (none at an
optimum; it makes rule 2 hold also after a solve stopped at a limit); a
second pass moves any household still beyond reach to a nearer
municipality where that lowers the batch's cost (``move_nearer``); the
reported objective is recomputed from the final placement
(``placement_cost``).

Variables:
    x_km in Z>=0     households of class k placed in municipality m
    e_m in [0, extra_room_m]    persons placed in m's extra room
    over/under band variables of the fill deviation (optimiser.bands)
    r_m in [0, ceil - floor of the fill target]   the free rounding of the target
Rows (``<rule>:<key>``): placed:k, room:m, complex_health:m,
unaccompanied_minors:m, even_fill:m.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from optimiser.bands import Bands, BandVars, add_banded_deviation, band_cost
from optimiser.place_risk import risk_left_behind
from optimiser.plan import PlacementConfig
from optimiser.solve import InfeasiblePlan, SolveStatus, solve

log = logging.getLogger(__name__)

HOUSEHOLD_COLUMNS = ("household_id", "persons", "adults", "children", "unaccompanied_minor", "complex_health",
                     "tie", "ready_date")
MUNICIPALITY_COLUMNS = ("room", "extra_room", "health_room", "em_room", "decision", "already")
CLASS_KEYS = ("tie", "persons", "unaccompanied_minor", "complex_health", "later")

WITHIN_REACH = "within reach of tie"
NEAREST_BEYOND = "nearest with room beyond reach"
BEYOND_NOT_NEAREST = "beyond reach, nearer room left for even fill"
NO_TIE = "no tie: even fill"
EXTRA_TIER = "extra tier"
RULES = (WITHIN_REACH, NEAREST_BEYOND, BEYOND_NOT_NEAREST, NO_TIE, EXTRA_TIER)

# A household expected later costs this share of what the same household
# here would (travel, outcome): both hold room alike, but where only one of
# them can be near its tie, the one here comes first.
# Beyond reach it still costs more than even fill can gain (half of 18.1 per
# person at the shipped prices against 8), so it holds room against fill.
LATER_PRICE_SHARE = 0.5
# Households expected later take at most this share of the room the batch
# leaves (all persons, with complex health needs, unaccompanied minors):
# packed into the last of the room, whole households make the week's model
# slow to solve and hold room on a guess.
LATER_ROOM_SHARE = 0.8


@dataclass(frozen=True)
class PlaceParams:
    """Prices and limits of the placement, per person unless stated.

    reasonable_minutes       travel time from the tie that counts as within reach
    cost_per_minute_beyond   per person and minute beyond reach of the tie
    extra_tier_price         per person placed in volunteered extra room
    fill_bands               convex bands of the fill deviation (share of decision)
    fill_weight              multiplies the band prices
    outcome_weight           per person times (1 - outcome); 0 = off
    beyond_reach_candidates  nearest municipalities beyond reach in the first
                             column set of each tied class (more are priced in)
    pricing_rounds           most LP rounds of column generation
    pricing_tolerance        a left-out pair enters when its reduced cost is below -this
    integer_neighbours       nearest hostable municipalities every tied class
                             may also use in the integer model (beside its
                             group's LP columns)
    health_fit_price         looking ahead only: per household with complex
                             health needs and place of complex-health room
                             (``health_fit``)
    small_health_room        complex-health room of at most this many places
                             is small: a later family may need it whole
    health_risk_weight       looking ahead only: places of ``health_fit`` per
                             unit of risk a household leaves behind (the
                             chance a later family needs the room it breaks)
    exact_pairs              batches with at most this many class columns are
                             solved as one integer model, larger ones by rounding
    target_gap               relative gap to the LP bound the first rounding
                             must meet before the second one is tried
    tight_share              a batch of at least this share of the base room
                             is tight: rounding fixes households without a
                             tie first (see ``solve_by_rounding``)
    """

    reasonable_minutes: float = 90.0
    cost_per_minute_beyond: float = 0.1
    extra_tier_price: float = 10.0
    fill_bands: Bands = field(default_factory=Bands)
    fill_weight: float = 1.0
    outcome_weight: float = 0.0
    beyond_reach_candidates: int = 8
    integer_neighbours: int = 3
    health_fit_price: float = 0.25
    small_health_room: int = 7
    health_risk_weight: float = 10.0
    exact_pairs: int = 2000
    target_gap: float = 0.01
    tight_share: float = 0.9
    pricing_rounds: int = 20
    pricing_tolerance: float = 1e-6

    def check(self) -> str | None:
        """What is wrong with the parameters, or None."""
        bands = self.fill_bands.check()
        if bands:
            return f"fill_bands: {bands}"
        if min(self.reasonable_minutes, self.cost_per_minute_beyond, self.fill_weight, self.outcome_weight) < 0:
            return "reasonable_minutes, cost_per_minute_beyond, fill_weight and outcome_weight must be >= 0"
        if self.health_fit_price < 0 or self.small_health_room < 0 or self.health_risk_weight < 0:
            return "health_fit_price, small_health_room and health_risk_weight must be >= 0"
        most_gain = fill_gain_per_person(self) + self.outcome_weight + most_health_fit(self)
        if self.extra_tier_price <= most_gain:
            return (f"extra_tier_price must exceed {most_gain:g} (2 * fill_weight * the dearest band + "
                    "outcome_weight + health_fit_price * small_health_room), or even fill draws on extra "
                    "room while base room is left")
        if self.beyond_reach_candidates < 0 or self.pricing_rounds < 1:
            return "beyond_reach_candidates must be >= 0 and pricing_rounds >= 1"
        return None


def params_from(config: PlacementConfig, reasonable_minutes: float, **limits) -> PlaceParams:
    """The placement's parameters from a plan's ``placement`` section and its
    reasonable travel time; ``limits``: the solve's own settings (``exact_pairs``, ...)."""
    return PlaceParams(reasonable_minutes=reasonable_minutes, cost_per_minute_beyond=config.cost_per_minute_beyond,
                       extra_tier_price=config.extra_tier_price, fill_bands=config.fill_bands,
                       fill_weight=config.fill_weight,
                       outcome_weight=config.outcome_weight if config.outcome else 0.0,
                       health_fit_price=config.health_fit_price, small_health_room=config.small_health_room,
                       health_risk_weight=config.health_risk_weight, **limits)


def fill_gain_per_person(params: PlaceParams) -> float:
    """The most the fill bands can gain by moving one person (out of one band, into another)."""
    return 2.0 * params.fill_weight * max(params.fill_bands.prices)


def most_health_fit(params: PlaceParams) -> float:
    """The dearest ``health_fit`` of one household: what moving it can gain in that term."""
    return params.health_fit_price * params.small_health_room


def reach_priority(params: PlaceParams) -> float:
    """Price per person of any placement beyond reach of the tie: more than
    the fill, extra-tier and outcome terms can gain by moving one person, plus
    one minute, so reach comes first (see the module docstring)."""
    return (fill_gain_per_person(params) + params.extra_tier_price + params.outcome_weight
            + params.cost_per_minute_beyond)


@dataclass(frozen=True)
class PlaceInputs:
    """One batch of households and the municipalities' room.

    households: one row per household, columns ``HOUSEHOLD_COLUMNS``:
      household_id str (unique); persons int >= 1; adults, children int;
      unaccompanied_minor, complex_health bool; tie kommunenummer (4
      characters) or None/NaN; ready_date.
    municipalities: index kommunenummer, columns ``MUNICIPALITY_COLUMNS``
      (persons, >= 0): room = decision minus persons already settled or
      assigned this year; extra_room volunteered beyond it; health_room,
      em_room what it can still take with complex health needs and as
      unaccompanied minors; decision (vedtak) and already for the fill
      rate; optional ``outcome`` in [0, 1].
    travel: minutes between municipalities (index and columns kommunenummer,
      0 on the diagonal).
    health_risk: looking ahead only, per kommunenummer and family size the
      chance that families expected later need its complex-health room
      (``optimiser.place_risk.room_risk``), priced by ``health_fit``.
    """

    households: pd.DataFrame
    municipalities: pd.DataFrame
    travel: pd.DataFrame
    health_risk: pd.DataFrame | None = None


def input_problems(inputs: PlaceInputs) -> list[str]:
    """What is wrong with the inputs, naming the offenders; empty if nothing."""
    h, m = inputs.households, inputs.municipalities
    problems = [f"households: missing column {c}" for c in HOUSEHOLD_COLUMNS if c not in h.columns]
    problems += [f"municipalities: missing column {c}" for c in MUNICIPALITY_COLUMNS if c not in m.columns]
    if problems:
        return problems
    bad_codes = [str(c) for c in m.index if not (isinstance(c, str) and len(c) == 4)]
    problems += [f"municipalities: kommunenummer {c!r} is not a 4-character string" for c in bad_codes[:5]]
    duplicated = h["household_id"][h["household_id"].duplicated()]
    problems += [f"households: household_id {i} appears more than once" for i in duplicated.unique()[:5]]
    small = h["household_id"][~(h["persons"] >= 1)]
    problems += [f"households: {i} has fewer than one person" for i in small[:5]]
    ties = h["tie"].dropna()
    problems += [f"households: {i} is tied to unknown municipality {t!r}"
                 for i, t in zip(h.loc[ties.index, "household_id"], ties) if t not in m.index][:5]
    negative = m[list(MUNICIPALITY_COLUMNS)].lt(0).any(axis=1)
    problems += [f"municipalities: {c} has a negative room, decision or count" for c in m.index[negative][:5]]
    missing = m.index.difference(inputs.travel.index).union(m.index.difference(inputs.travel.columns))
    problems += [f"travel: no minutes for {c}" for c in missing[:5]]
    return problems


# --------------------------------------------------------------------------- classes and pairs

def tie_codes(ties: pd.Series) -> pd.Series:
    """Ties as kommunenummer strings, None where there is no tie."""
    return ties.map(lambda t: None if t is None or (isinstance(t, float) and np.isnan(t)) else str(t))


def household_classes(households: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Interchangeable households grouped: classes (index class id, columns
    ``CLASS_KEYS``, ``count`` households and ``fits``, the persons a
    municipality needs room for to take one) and each household's class id
    (same index as ``households``).  Class ids follow the sorted keys (no tie first)."""
    key = pd.DataFrame({
        "tie": tie_codes(households["tie"]).fillna(""),
        "persons": households["persons"].astype(int),
        "unaccompanied_minor": households["unaccompanied_minor"].astype(bool),
        "complex_health": households["complex_health"].astype(bool),
        "later": households["later"].astype(bool) if "later" in households.columns else False,
    }, index=households.index)
    grouped = key.groupby(list(CLASS_KEYS), sort=True)
    classes = _with_ids(grouped.size().rename("count").reset_index(), "k").assign(fits=lambda f: f["persons"])
    return classes, pd.Series(classes.index.to_numpy()[grouped.ngroup().to_numpy()], index=households.index)


def person_groups(classes: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Classes pooled by tie and needs flags, counted in persons (``persons``
    1, ``count`` the group's persons, ``fits`` its smallest household), and
    each class's group id.  The LP over groups is the LP over classes: the
    cost and every row see a class only through its persons, tie and flags."""
    keys = ["tie", "unaccompanied_minor", "complex_health", "later"]
    key = classes[keys].assign(tie=lambda f: f["tie"].fillna(""),
                               total=classes["persons"] * classes["count"], smallest=classes["persons"])
    grouped = key.groupby(keys, sort=True)
    groups = grouped.agg(count=("total", "sum"), fits=("smallest", "min")).reset_index()
    groups = _with_ids(groups, "g").assign(persons=1)
    return groups, pd.Series(groups.index.to_numpy()[grouped.ngroup().to_numpy()], index=classes.index)


def _with_ids(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    width = len(str(len(frame)))
    ids = pd.Index([f"{prefix}{i:0{width}d}" for i in range(len(frame))], name="class")
    return frame.set_axis(ids).assign(tie=lambda f: f["tie"].replace("", None))


@dataclass(frozen=True)
class ClassCosts:
    """Per class (rows, class id) and municipality (columns, kommunenummer):
    minutes from the class's tie (NaN without tie), the objective cost of one
    household there, whether the municipality could host one at all,
    whether it is within reach of the tie, and the ``health_fit`` in the cost."""

    minutes: pd.DataFrame
    cost: pd.DataFrame
    feasible: pd.DataFrame
    within: pd.DataFrame
    fit: pd.DataFrame

    @property
    def beyond(self) -> pd.DataFrame:
        """Beyond reach of the tie (False without a tie)."""
        return self.minutes.notna() & ~self.within


def class_costs(classes: pd.DataFrame, inputs: PlaceInputs, params: PlaceParams,
                fit: np.ndarray | None = None) -> ClassCosts:
    """Minutes, cost and hostability of every (class, municipality) pair.
    The cost includes ``health_fit`` of one household of the class, or
    ``fit`` per unit where given (person groups: ``pooled_fit``)."""
    m = inputs.municipalities
    codes = m.index
    minutes = inputs.travel.reindex(index=classes["tie"].fillna(""), columns=codes).to_numpy(dtype=float)
    within = minutes <= params.reasonable_minutes
    persons = classes["persons"].to_numpy(dtype=float)[:, None]
    beyond = np.nan_to_num(minutes - params.reasonable_minutes, nan=0.0).clip(min=0.0)
    travel_cost = np.where(beyond > 0, reach_priority(params) + params.cost_per_minute_beyond * beyond, 0.0)
    outcome = _outcome(m).to_numpy()[None, :]
    fit = health_fit(classes, m, within, params, inputs.health_risk) if fit is None else fit
    share = np.where(classes["later"].to_numpy(dtype=bool), LATER_PRICE_SHARE, 1.0)[:, None]
    cost = share * (persons * (travel_cost + params.outcome_weight * (1.0 - outcome)) + fit)
    frame = lambda values: pd.DataFrame(values, index=classes.index, columns=codes)  # noqa: E731
    return ClassCosts(minutes=frame(minutes), cost=frame(cost), feasible=frame(_hostable(classes, m)),
                      within=frame(within), fit=frame(fit))


def health_fit(classes: pd.DataFrame, municipalities: pd.DataFrame, within: np.ndarray,
               params: PlaceParams, risk: pd.DataFrame | None = None) -> np.ndarray:
    """Looking ahead: the price of the complex-health room one household of
    each class (rows) leaves behind in each municipality (columns), at
    ``health_fit_price`` per place (0 unless ``place`` looks ahead); 0 for
    households without such needs (but see minors, below).  ``within``: in
    reach of the class's tie.

    With r the complex-health room the model places into, s the household's
    persons and c ``small_health_room``:

    * tied, within reach: r - s where r <= c (a small room is used up, not
      broken into pieces no later family fits), 0 where the room is large;
    * tied, beyond reach: c, the most, so no household ever gains in this
      term by going beyond reach (rule 2 stands);
    * no tie: c - min(r - s, c): the room left should be large, so households
      that could go anywhere leave the small rooms to tied families near them.

    With ``risk`` (``optimiser.place_risk.room_risk``: per municipality and
    family size), a household in reach of its tie or without one also pays
    ``health_risk_weight`` times the risk of the sizes the room would no
    longer host (``risk_left_behind``), at most c in all: a room that
    families expected later may need whole is kept for them even where the
    household would fill it exactly.

    Room for unaccompanied minors is priced the same way (``em_room``,
    without risk) for households of minors: one without a tie takes such
    room where it is large, leaving a small one to a minor tied near it.
    A household with both needs pays the dearer of the two, so the most
    stays c.
    """
    cap = float(params.small_health_room)
    persons = classes["persons"].to_numpy(dtype=float)
    tied = classes["tie"].notna().to_numpy()[:, None]
    room = municipalities["health_room"].to_numpy(dtype=float)
    fit = _room_fit(room, persons, tied, within, cap)
    if risk is not None:
        at_risk = risk_left_behind(risk.reindex(municipalities.index, fill_value=0.0), room, persons)
        fit = np.where(tied & ~within, fit, np.minimum(cap, fit + params.health_risk_weight * at_risk))
    health = np.where(classes["complex_health"].to_numpy(dtype=bool)[:, None], fit, 0.0)
    em_fit = _room_fit(municipalities["em_room"].to_numpy(dtype=float), persons, tied, within, cap)
    em = np.where(classes["unaccompanied_minor"].to_numpy(dtype=bool)[:, None], em_fit, 0.0)
    return params.health_fit_price * np.maximum(health, em)


def _room_fit(room: np.ndarray, persons: np.ndarray, tied: np.ndarray, within: np.ndarray, cap: float) -> np.ndarray:
    """``health_fit``'s places for one kind of room (per municipality) and
    household sizes ``persons``: c - min(r - s, c) without a tie, c beyond
    reach, r - s in reach where r <= c, else 0."""
    room = room[None, :]
    left = (room - persons[:, None]).clip(0.0, cap)
    return np.select([~tied, ~within, room <= cap], [cap - left, cap, left], 0.0)


def pooled_fit(classes: pd.DataFrame, costs: ClassCosts, group_of: pd.Series, groups: pd.DataFrame) -> np.ndarray:
    """Per person of each group: the least ``health_fit`` per person over its
    classes (``costs``: the classes').  Below every class's own price, so the
    LP over groups still bounds the integer model over classes."""
    per_person = costs.fit.div(classes["persons"].astype(float), axis=0)
    return per_person.groupby(group_of.to_numpy()).min().reindex(groups.index).to_numpy()


def _outcome(m: pd.DataFrame) -> pd.Series:
    return m["outcome"].astype(float).fillna(0.0) if "outcome" in m.columns else pd.Series(1.0, index=m.index)


def _hostable(classes: pd.DataFrame, m: pd.DataFrame) -> np.ndarray:
    """One household of the class fits in the municipality's room, extra room and needs rooms."""
    persons = classes["fits"].to_numpy(dtype=float)[:, None]
    fits = persons <= (m["room"] + m["extra_room"]).to_numpy(dtype=float)[None, :]
    health = classes["complex_health"].to_numpy()[:, None]
    fits &= ~health | (persons <= m["health_room"].to_numpy(dtype=float)[None, :])
    minor = classes["unaccompanied_minor"].to_numpy()[:, None]
    return fits & (~minor | (persons <= m["em_room"].to_numpy(dtype=float)[None, :]))


def initial_pairs(classes: pd.DataFrame, costs: ClassCosts, params: PlaceParams) -> pd.DataFrame:
    """The first column set (bool, class x municipality): hostable pairs in
    reach of the tie, every hostable pair without a tie, and the
    ``beyond_reach_candidates`` nearest hostable pairs beyond reach."""
    within = costs.within
    beyond = costs.minutes.where(costs.feasible & ~within)
    nearest = beyond.rank(axis=1, method="first").le(params.beyond_reach_candidates)
    untied = pd.DataFrame(np.repeat(classes["tie"].isna().to_numpy()[:, None], costs.cost.shape[1], axis=1),
                          index=classes.index, columns=costs.cost.columns)
    return costs.feasible & (within | untied | nearest)


# --------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class PlaceVars:
    x: pd.Series       # index (class, kommunenummer): households placed
    extra: pd.Series   # index kommunenummer: persons in extra room
    fill: BandVars
    fill_terms: list   # objective terms of the fill bands


def build_place_model(inputs: PlaceInputs, classes: pd.DataFrame, costs: ClassCosts, pairs: pd.DataFrame,
                      params: PlaceParams, relax: bool) -> tuple[pulp.LpProblem, PlaceVars]:
    """The placement model on the columns ``pairs``; ``relax``: continuous x (the LP)."""
    prob = pulp.LpProblem("placement", pulp.LpMinimize)
    x, extra = make_vars(prob, inputs, pairs, relax)
    add_every_household_placed(prob, x, classes)
    add_room(prob, x, extra, inputs, classes)
    add_complex_health(prob, x, inputs, classes)
    add_unaccompanied_minors(prob, x, inputs, classes)
    fill, terms = add_even_fill(prob, x, inputs, classes, params)
    v = PlaceVars(x=x, extra=extra, fill=fill, fill_terms=terms)
    set_objective(prob, v, costs, params)
    return prob, v


def make_vars(prob: pulp.LpProblem, inputs: PlaceInputs, pairs: pd.DataFrame,
              relax: bool) -> tuple[pd.Series, pd.Series]:
    stacked = pairs.stack()
    index = stacked.index[stacked.to_numpy()]
    cat = pulp.LpContinuous if relax else pulp.LpInteger
    x = pd.Series([prob.add_variable(f"x_{k}_{c}", lowBound=0, cat=cat) for k, c in index],
                  index=index, dtype=object)
    m = inputs.municipalities
    extra = pd.Series([prob.add_variable(f"e_{c}", lowBound=0, upBound=float(u))
                       for c, u in zip(m.index, m["extra_room"])], index=m.index, dtype=object)
    return x, extra


def add_every_household_placed(prob, x: pd.Series, classes: pd.DataFrame) -> None:
    """sum_m x_km = n_k: every household placed exactly once."""
    by_class = _group(x, level=0)
    for k, n in classes["count"].items():
        prob += pulp.LpAffineExpression([(var, 1.0) for var in by_class.get(k, [])]) == int(n), f"placed:{k}"


def add_room(prob, x: pd.Series, extra: pd.Series, inputs: PlaceInputs, classes: pd.DataFrame) -> None:
    """sum_k p_k x_km - e_m <= room_m, e_m <= extra_room_m: base room first, then the extra tier."""
    persons = _persons_by_municipality(x, classes, classes.index)
    for c, room in inputs.municipalities["room"].items():
        prob += pulp.LpAffineExpression(persons.get(c, []) + [(extra[c], -1.0)]) <= float(room), f"room:{c}"


def add_complex_health(prob, x: pd.Series, inputs: PlaceInputs, classes: pd.DataFrame) -> None:
    """sum_{k with complex health} p_k x_km <= health_room_m."""
    _add_needs_room(prob, x, classes, classes.index[classes["complex_health"]],
                    inputs.municipalities["health_room"], "complex_health")


def add_unaccompanied_minors(prob, x: pd.Series, inputs: PlaceInputs, classes: pd.DataFrame) -> None:
    """sum_{k unaccompanied minors} p_k x_km <= em_room_m (einslege mindreårige)."""
    _add_needs_room(prob, x, classes, classes.index[classes["unaccompanied_minor"]],
                    inputs.municipalities["em_room"], "unaccompanied_minors")


def _add_needs_room(prob, x: pd.Series, classes: pd.DataFrame, members: pd.Index, room: pd.Series,
                    rule: str) -> None:
    persons = _persons_by_municipality(x, classes, members)
    for c in sorted(persons):
        prob += pulp.LpAffineExpression(persons[c]) <= float(room[c]), f"{rule}:{c}"


def national_fill_rate(municipalities: pd.DataFrame, persons: float) -> float:
    """(persons already + ``persons`` to place) / sum of decisions: the fill
    rate every municipality would have if the batch were spread evenly."""
    decided = float(municipalities["decision"].sum())
    return (float(municipalities["already"].sum()) + float(persons)) / decided if decided > 0 else 0.0


def fill_target(municipalities: pd.DataFrame, persons: float) -> pd.DataFrame:
    """Persons each municipality holds at the national fill rate, as the whole
    numbers around it: ``low`` = floor(rate * decision), ``high`` = ceil."""
    exact = national_fill_rate(municipalities, persons) * municipalities["decision"].astype(float)
    return pd.DataFrame({"low": np.floor(exact), "high": np.ceil(exact)}, index=municipalities.index)


def add_even_fill(prob, x: pd.Series, inputs: PlaceInputs, classes: pd.DataFrame,
                  params: PlaceParams) -> tuple[BandVars, list]:
    """already_m + sum_k p_k x_km - r_m - low_m = over - under with
    0 <= r_m <= high_m - low_m, banded on the scale decision_m: a convex price
    keeps fill rates even.  Whole persons cannot meet a fractional target, so
    anything between the whole numbers around it costs nothing (r_m); without
    that the LP meets every target exactly and its bound is loose by the
    rounding of 356 targets."""
    m = inputs.municipalities
    target = fill_target(m, float((classes["persons"] * classes["count"]).sum()))
    persons = _persons_by_municipality(x, classes, classes.index)
    value = pd.Series([pulp.LpAffineExpression(persons.get(c, []) + [(prob.add_variable(
        f"r_{c}", lowBound=0, upBound=float(high - low)), -1.0)], constant=float(a))
        for c, a, low, high in zip(m.index, m["already"], target["low"], target["high"])], index=m.index, dtype=object)
    return add_banded_deviation(prob, "even_fill", "f", value, target["low"], m["decision"], params.fill_bands,
                                params.fill_weight)


def set_objective(prob, v: PlaceVars, costs: ClassCosts, params: PlaceParams) -> None:
    """min travel beyond reach (with the reach priority) + outcome + extra tier + fill bands."""
    stacked = costs.cost.stack()
    terms = list(zip(v.x, stacked.reindex(v.x.index).to_numpy(dtype=float)))
    terms += [(var, params.extra_tier_price) for var in v.extra]
    prob.setObjective(pulp.LpAffineExpression(terms + v.fill_terms))


def _group(x: pd.Series, level: int) -> dict:
    out: dict = {}
    for key, var in zip(x.index.get_level_values(level), x):
        out.setdefault(key, []).append(var)
    return out


def _persons_by_municipality(x: pd.Series, classes: pd.DataFrame, members: pd.Index) -> dict:
    """kommunenummer -> [(x_km, persons_k)] over the classes in ``members``."""
    keep = x.index.get_level_values(0).isin(members)
    persons = classes["persons"].reindex(x.index.get_level_values(0)[keep]).to_numpy(dtype=float)
    out: dict = {}
    for c, var, p in zip(x.index.get_level_values(1)[keep], x[keep], persons):
        out.setdefault(c, []).append((var, p))
    return out


# --------------------------------------------------------------------------- column generation

@dataclass(frozen=True)
class Columns:
    """The LP over person groups: the columns it ended with, the pairs its
    optimum uses, and its bound."""

    pairs: pd.DataFrame    # bool, group x municipality: the final column set
    flows: pd.DataFrame    # persons per group x municipality in the LP optimum (0 where none)
    lp_objective: float    # restricted LP optimum in the last round
    lp_bound: float        # valid lower bound of the LP over every pair
    rounds: int
    converged: bool        # no left-out pair prices in: lp_bound == lp_objective
    seconds: float


def generate_columns(inputs: PlaceInputs, groups: pd.DataFrame, costs: ClassCosts, params: PlaceParams,
                     solvers: list) -> Columns:
    """LP rounds: solve the restricted LP, price every left-out hostable pair,
    add those with negative reduced cost; stop when none is left."""
    pairs = initial_pairs(groups, costs, params)
    seconds = 0.0
    for rounds in range(1, params.pricing_rounds + 1):
        prob, v = build_place_model(inputs, groups, costs, pairs, params, relax=True)
        result = solve(prob, solvers)
        seconds += result.solve_seconds
        if result.status is not SolveStatus.OPTIMAL:
            if pairs.equals(costs.feasible):
                raise InfeasiblePlan("placement", f"the LP relaxation is {result.status.value}")
            log.warning("restricted LP %s; pricing in every hostable pair", result.status.value)
            pairs = costs.feasible.copy()
            continue
        reduced = reduced_costs(prob, groups, costs, inputs.municipalities.index)
        bound = result.objective + float((groups["count"] * reduced.min(axis=1).clip(upper=0.0)).sum())
        entering = reduced.lt(-params.pricing_tolerance) & ~pairs
        converged = not entering.to_numpy().any()
        if converged or rounds == params.pricing_rounds:
            break
        log.info("pricing round %d: %d pairs enter", rounds, int(entering.to_numpy().sum()))
        pairs = pairs | entering
    if not converged:
        log.warning("column generation stopped after %d rounds; the LP bound is the Lagrangian bound", rounds)
    values = v.x.map(lambda var: var.varValue or 0.0).astype(float)
    flows = values.unstack(fill_value=0.0).reindex(index=groups.index, columns=pairs.columns, fill_value=0.0)
    return Columns(pairs, flows.where(flows > params.pricing_tolerance, 0.0), result.objective,
                   result.objective if converged else bound, rounds, converged, seconds)


def reduced_costs(prob: pulp.LpProblem, classes: pd.DataFrame, costs: ClassCosts, codes: pd.Index) -> pd.DataFrame:
    """c_km - pi_k - p_k (mu_m + phi_m + h_k eta_m + u_k epsilon_m) from the
    LP's row duals, for every pair (inf where the pair cannot host)."""
    rows = {con.name: con.pi for con in prob.constraints()}

    def duals(rule: str, keys) -> np.ndarray:
        return np.array([rows.get(f"{rule}:{k}") or 0.0 for k in keys], dtype=float)

    placed = duals("placed", classes.index)
    per_person = duals("room", codes) + duals("even_fill", codes)
    health = classes["complex_health"].to_numpy(dtype=float)[:, None] * duals("complex_health", codes)[None, :]
    minor = classes["unaccompanied_minor"].to_numpy(dtype=float)[:, None] * duals("unaccompanied_minors", codes)[None, :]
    persons = classes["persons"].to_numpy(dtype=float)[:, None]
    reduced = costs.cost.to_numpy() - placed[:, None] - persons * (per_person[None, :] + health + minor)
    return pd.DataFrame(reduced, index=classes.index, columns=codes).where(costs.feasible, np.inf)


# --------------------------------------------------------------------------- integer solve

def class_pairs(classes: pd.DataFrame, group_of: pd.Series, group_pairs: pd.DataFrame,
                costs: ClassCosts, params: PlaceParams) -> pd.DataFrame:
    """Columns of the integer model: each class where its group has columns
    (``group_pairs``) and at its ``integer_neighbours`` nearest hostable
    municipalities (a whole household may not fit where its group's persons
    went), and every hostable municipality for classes without a tie (they
    fill what whole households leave over)."""
    spread = group_pairs.reindex(group_of.to_numpy()).set_axis(classes.index)
    nearest = costs.minutes.where(costs.feasible).rank(axis=1, method="first").le(params.integer_neighbours)
    untied = classes["tie"].isna().to_numpy()[:, None]
    return costs.feasible & (spread | nearest | untied)


@dataclass(frozen=True)
class IntegerSolution:
    counts: pd.Series  # index (class, kommunenummer): households placed, > 0 only
    status: SolveStatus
    pairs: int         # columns of the integer model solved
    seconds: float
    objective: float


def solve_integer(inputs: PlaceInputs, classes: pd.DataFrame, costs: ClassCosts, candidates: list,
                  params: PlaceParams, solvers: list) -> IntegerSolution:
    """Households per (class, municipality) from the integer model on the
    first column set of ``candidates`` that has an integer solution."""
    seconds = 0.0
    for pairs in candidates:
        prob, v = build_place_model(inputs, classes, costs, pairs, params, relax=False)
        result = solve(prob, solvers)
        seconds += result.solve_seconds
        if result.status is not SolveStatus.INFEASIBLE:
            break
        log.warning("no integer placement on %d columns; widening", int(pairs.to_numpy().sum()))
    if result.status is SolveStatus.INFEASIBLE:
        raise InfeasiblePlan("placement", "no way to place every household whole within the rooms")
    if not result.status.has_solution:
        raise InfeasiblePlan("placement", f"the solver found no placement ({result.pulp_status}); "
                                          "raise the solver's time limit")
    counts = v.x.map(lambda var: int(round(var.varValue or 0))).astype(int)
    return IntegerSolution(counts[counts > 0], result.status, len(v.x), seconds, float(result.objective))


def contested_municipalities(flows: pd.DataFrame, group_costs: ClassCosts) -> np.ndarray:
    """Municipalities where room within reach is scarce (bool, in column
    order): in reach of a tie whose group the LP sends partly beyond reach,
    or receiving such persons."""
    beyond = flows.gt(0) & group_costs.beyond
    short = beyond.any(axis=1)
    area = group_costs.within[short].any(axis=0) | beyond.any(axis=0)
    ties = group_costs.within.index[group_costs.within.loc[:, area].any(axis=1)]
    return (area | group_costs.within.loc[ties].any(axis=0)).to_numpy()


def round_larger_households(inputs: PlaceInputs, classes: pd.DataFrame, group_of: pd.Series, flows: pd.DataFrame,
                            costs: ClassCosts, group_costs: ClassCosts, fix_untied: bool) -> pd.Series:
    """Households of two or more persons, largest first (then class id),
    each where its group's LP flow still has room for all its persons (the
    most persons left first, then nearest the tie, then code) and the
    municipality's base room takes it; never beyond the flow, so what is
    left over is fractions of households.  Where room in reach is scarce
    nothing is fixed that could move: groups the LP sends partly beyond
    reach, and households without a tie in contested municipalities
    (``contested_municipalities``), stay free; with ``fix_untied`` False,
    every household without a tie stays free, and so does every household
    with complex health needs or unaccompanied minors: their rooms are a few
    places each, the LP splits families across them, and only the integer
    model packs them whole (fixed along the LP, one synthetic year placed at
    once ended 16 % above its LP bound; left free, at it).  Fixing them keeps
    the first, tight variant fast (national batch: 9.6 s against 15.4 s).
    Returns households per
    (class, kommunenummer); the rest stay for the integer model."""
    m = inputs.municipalities
    left = m[["room", "health_room", "em_room"]].to_numpy(dtype=float).T.copy()
    remaining = flows.to_numpy(dtype=float).copy()
    group_row = flows.index.get_indexer(group_of.to_numpy())
    contested = contested_municipalities(flows, group_costs)
    free_groups = flows.index[(flows.gt(0) & group_costs.beyond).any(axis=1)]
    with_needs = classes["complex_health"].astype(bool) | classes["unaccompanied_minor"].astype(bool)
    larger = classes[(classes["persons"] >= 2) & ~group_of.isin(free_groups) & (~with_needs | fix_untied)]
    larger = larger.sort_values("persons", ascending=False, kind="stable")
    position = np.arange(len(m.index))
    placed: dict = {}
    for k, p, health, minor, count, tie in zip(larger.index, larger["persons"].astype(float),
                                               larger["complex_health"], larger["unaccompanied_minor"],
                                               larger["count"], larger["tie"]):
        g = group_row[classes.index.get_loc(k)]
        needs = [0] + ([1] if health else []) + ([2] if minor else [])
        minutes = np.nan_to_num(costs.minutes.loc[k].to_numpy(dtype=float))
        allowed = np.full(len(position), True) if pd.notna(tie) else ~contested & fix_untied
        for _ in range(int(count)):
            ok = allowed & (remaining[g] >= p) & (left[needs] >= p).all(axis=0)
            if not ok.any():
                break
            i = position[ok][np.lexsort((position[ok], minutes[ok], -remaining[g][ok]))[0]]
            remaining[g, i] -= p
            left[needs, i] -= p
            placed[(k, m.index[i])] = placed.get((k, m.index[i]), 0) + 1
    index = pd.MultiIndex.from_tuples(list(placed), names=["class", "kommunenummer"])
    return pd.Series(list(placed.values()), index=index, dtype=int)


def after_fixed(inputs: PlaceInputs, classes: pd.DataFrame, counts: pd.Series) -> PlaceInputs:
    """The inputs left once the placements ``counts`` (households per class
    and kommunenummer) are fixed (``room_after``)."""
    k = counts.index.get_level_values(0)
    persons = classes["persons"].reindex(k).to_numpy() * counts.to_numpy()
    frame = pd.DataFrame({"at": counts.index.get_level_values(1), "persons": persons,
                          "health": persons * classes["complex_health"].reindex(k).to_numpy(),
                          "em": persons * classes["unaccompanied_minor"].reindex(k).to_numpy()})
    used = frame.groupby("at")[["persons", "health", "em"]].sum()
    return dataclasses.replace(inputs, municipalities=room_after(inputs.municipalities, used))


def room_after(municipalities: pd.DataFrame, used: pd.DataFrame) -> pd.DataFrame:
    """The municipalities frame once ``used`` (persons, health, em per
    kommunenummer) is placed: base room first, then extra room; health and
    EM room shrink; ``already`` counts the persons."""
    m = municipalities
    used = used.reindex(m.index, fill_value=0)
    over = (used["persons"] - m["room"]).clip(lower=0)
    return m.assign(room=(m["room"] - used["persons"]).clip(lower=0), extra_room=m["extra_room"] - over,
                    health_room=m["health_room"] - used["health"], em_room=m["em_room"] - used["em"],
                    already=m["already"] + used["persons"])


def solve_by_rounding(inputs: PlaceInputs, classes: pd.DataFrame, group_of: pd.Series, costs: ClassCosts,
                      group_costs: ClassCosts, columns: Columns, params: PlaceParams,
                      solvers: list) -> IntegerSolution:
    """Larger households rounded down from the LP flows
    (``round_larger_households``), then one integer model for the single
    persons and every household left over, in what room is left.  First
    with households without a tie fixed outside contested municipalities
    (fast when room is tight); if that misses ``target_gap`` against the LP
    bound, again with all of them and every household with complex health
    needs or unaccompanied minors free (more room to pack whole households);
    the better wins; if neither leaves room for every whole household, the
    whole integer model.  When the batch is small against the room (below
    ``tight_share`` of it) the free variant goes first: there it is both
    faster and better."""
    best, seconds = None, 0.0
    persons = float((classes["persons"] * classes["count"]).sum())
    tight = persons >= params.tight_share * float(inputs.municipalities["room"].sum())
    for fix_untied in ((True, False) if tight else (False, True)):
        try:
            solution = _round_and_solve(inputs, classes, group_of, costs, group_costs, columns, params, solvers,
                                        fix_untied)
        except InfeasiblePlan:
            log.warning("rounding (households without a tie %s) left no room for some whole household",
                        "fixed" if fix_untied else "free")
            continue
        seconds += solution.seconds
        log.info("rounding (households without a tie %s): objective %.2f in %.2f s", "fixed" if fix_untied
                 else "free", solution.objective, solution.seconds)
        if best is None or solution.objective < best.objective - params.pricing_tolerance:
            best = dataclasses.replace(solution, seconds=seconds)
        best = dataclasses.replace(best, seconds=seconds)
        if best.objective - columns.lp_bound <= params.target_gap * abs(best.objective):
            break
        log.info("rounding misses the target gap: objective %.2f against LP bound %.2f", best.objective,
                 columns.lp_bound)
    if best is None:
        log.warning("no rounding placed every household; solving the whole integer model")
        pairs = class_pairs(classes, group_of, columns.pairs, costs, params)
        return solve_integer(inputs, classes, costs, [pairs, costs.feasible], params, solvers)
    return best


def _round_and_solve(inputs: PlaceInputs, classes: pd.DataFrame, group_of: pd.Series, costs: ClassCosts,
                     group_costs: ClassCosts, columns: Columns, params: PlaceParams, solvers: list,
                     fix_untied: bool) -> IntegerSolution:
    fixed = round_larger_households(inputs, classes, group_of, columns.flows, costs, group_costs, fix_untied)
    placed = fixed.groupby(level=0).sum().reindex(classes.index, fill_value=0)
    rest_classes = classes.assign(count=classes["count"] - placed)
    rest_classes = rest_classes[rest_classes["count"] > 0]
    rest = after_fixed(inputs, classes, fixed)
    rest_costs = class_costs(rest_classes, rest, params)
    candidates = [class_pairs(rest_classes, group_of[rest_classes.index], columns.pairs, rest_costs, params),
                  rest_costs.feasible]
    solution = solve_integer(rest, rest_classes, rest_costs, candidates, params, solvers)
    fixed_cost = float((costs.cost.stack().reindex(fixed.index) * fixed).sum())
    counts = pd.concat([fixed, solution.counts]).groupby(level=[0, 1]).sum()
    return IntegerSolution(counts, solution.status, solution.pairs, solution.seconds,
                           solution.objective + fixed_cost)


def assign_households(households: pd.DataFrame, class_of: pd.Series, counts: pd.Series,
                      costs: ClassCosts) -> pd.Series:
    """kommunenummer per household (index as ``households``): within a class
    the households ready first (then by id) get the municipalities nearest
    the tie (then by code)."""
    order = pd.DataFrame({"class": class_of, "ready": households["ready_date"], "id": households["household_id"]})
    order = order.sort_values(["class", "ready", "id"], kind="stable")
    slots = counts.rename("n").reset_index().set_axis(["class", "kommunenummer", "n"], axis=1)
    slots["minutes"] = costs.minutes.stack(future_stack=True).reindex(
        pd.MultiIndex.from_frame(slots[["class", "kommunenummer"]])).to_numpy()
    slots = slots.sort_values(["class", "minutes", "kommunenummer"], kind="stable", na_position="last")
    destination = np.repeat(slots["kommunenummer"].to_numpy(dtype=object), slots["n"].to_numpy())
    return pd.Series(destination, index=order.index, dtype=object).reindex(households.index)


# --------------------------------------------------------------------------- after the solve

def needs_persons(households: pd.DataFrame) -> pd.DataFrame:
    """Per household, the persons each room counts: ``persons`` (all),
    ``health`` (with complex health needs), ``em`` (unaccompanied minors)."""
    p = households["persons"].astype(int)
    return pd.DataFrame({"persons": p, "health": p.where(households["complex_health"].astype(bool), 0),
                         "em": p.where(households["unaccompanied_minor"].astype(bool), 0)})


def rooms(municipalities: pd.DataFrame) -> pd.DataFrame:
    """Per municipality, the rooms ``needs_persons`` fills: ``persons`` (room +
    extra room), ``health`` (complex-health room), ``em`` (EM room)."""
    m = municipalities
    return pd.DataFrame({"persons": m["room"] + m["extra_room"], "health": m["health_room"], "em": m["em_room"]})


def usage(households: pd.DataFrame, placed: pd.Series, codes: pd.Index) -> pd.DataFrame:
    """Persons placed per municipality: all, with complex health needs, unaccompanied minors."""
    return needs_persons(households).assign(at=placed).groupby("at").sum().reindex(codes, fill_value=0)


def leftover(inputs: PlaceInputs, used: pd.DataFrame) -> pd.DataFrame:
    """Room each municipality has left (persons): total (room + extra), health, EM."""
    return rooms(inputs.municipalities) - used[["persons", "health", "em"]]


def could_take(left: pd.DataFrame, household: pd.Series) -> pd.Series:
    """Municipalities whose leftover room takes this household whole (bool by kommunenummer)."""
    p = int(household["persons"])
    ok = left["persons"] >= p
    if bool(household["complex_health"]):
        ok &= left["health"] >= p
    if bool(household["unaccompanied_minor"]):
        ok &= left["em"] >= p
    return ok


def move_within_reach(inputs: PlaceInputs, placed: pd.Series, params: PlaceParams) -> tuple[pd.Series, int]:
    """Move each tied household placed beyond reach into a municipality in
    reach of its tie that still takes it (lowest fill rate first, then code),
    until none can move.  Returns the placement and the number of moves."""
    h, m, travel = inputs.households, inputs.municipalities, inputs.travel
    ties = tie_codes(h["tie"])
    placed = placed.copy()
    moves = 0
    while True:
        used = usage(h, placed, m.index)
        left = leftover(inputs, used)
        fill = (m["already"] + used["persons"]) / m["decision"].where(m["decision"] > 0)
        moved = False
        for i in _beyond_reach(h, ties, placed, travel, params).index:
            reach = travel.loc[ties[i], m.index] <= params.reasonable_minutes
            target = fill[reach & could_take(left, h.loc[i])].fillna(np.inf).sort_index().sort_values(kind="stable")
            if len(target):
                placed[i] = target.index[0]
                moves += 1
                moved = True
                break
        if not moved:
            return placed, moves


def move_nearer(inputs: PlaceInputs, placed: pd.Series, params: PlaceParams,
                held: pd.DataFrame | None = None) -> tuple[pd.Series, int]:
    """Move each tied household still beyond reach to the municipality nearer
    its tie that takes it and lowers the batch's ``placement_cost`` most,
    where one does.  A model stopped at its limits can leave a household
    farther than the batch's own prices would; each move only lowers the
    batch's cost.  ``held``: room (``usage``) the model kept for households
    expected later (``place``'s ``later``), never moved into: the model
    chose to keep it.  Returns the placement and the number of moves."""
    h, m, travel = inputs.households, inputs.municipalities, inputs.travel
    ties = tie_codes(h["tie"])
    placed = placed.copy()
    moves = 0
    for i, minutes in _beyond_reach(h, ties, placed, travel, params).items():
        used = usage(h, placed, m.index)
        left = leftover(inputs, used if held is None else used + held)
        nearer = travel.loc[ties[i], m.index]
        nearer = nearer[(nearer < minutes) & could_take(left, h.loc[i])]
        if nearer.empty:
            continue
        best, cost = placed[i], placement_cost(inputs, placed, params)["total"]
        for code in nearer.sort_values(kind="stable").index:
            trial = placed.copy()
            trial[i] = code
            trial_cost = placement_cost(inputs, trial, params)["total"]
            if trial_cost < cost - 1e-9:
                best, cost = code, trial_cost
        if best != placed[i]:
            placed[i] = best
            moves += 1
    return placed, moves


def _beyond_reach(h: pd.DataFrame, ties: pd.Series, placed: pd.Series, travel: pd.DataFrame,
                  params: PlaceParams) -> pd.Series:
    minutes = minutes_from_tie(ties, placed, travel)
    return minutes[minutes > params.reasonable_minutes].sort_index()


def minutes_from_tie(ties: pd.Series, placed: pd.Series, travel: pd.DataFrame) -> pd.Series:
    """Travel minutes from each household's tie to where it is placed (NaN without tie)."""
    tied = ties.notna()
    out = pd.Series(np.nan, index=ties.index)
    if tied.any():
        rows = travel.index.get_indexer(ties[tied])
        cols = travel.columns.get_indexer(placed[tied])
        out[tied] = travel.to_numpy(dtype=float)[rows, cols]
    return out


def placement_cost(inputs: PlaceInputs, placed: pd.Series, params: PlaceParams) -> dict:
    """The objective of a placement, by term: ``travel`` (reach priority and
    minutes beyond reach), ``extra_tier``, ``even_fill``, ``outcome`` and ``total``."""
    h, m = inputs.households, inputs.municipalities
    persons = h["persons"].astype(float)
    beyond = (minutes_from_tie(tie_codes(h["tie"]), placed, inputs.travel) - params.reasonable_minutes).clip(lower=0)
    travel = float((persons * np.where(beyond > 0, reach_priority(params)
                                       + params.cost_per_minute_beyond * beyond.fillna(0), 0.0)).sum())
    assigned = usage(h, placed, m.index)["persons"]
    extra = float((assigned - m["room"]).clip(lower=0).sum()) * params.extra_tier_price
    target = fill_target(m, persons.sum())
    held = m["already"] + assigned
    deviation = held - held.clip(lower=target["low"], upper=target["high"])
    fill = float(band_cost(deviation, m["decision"], params.fill_bands, params.fill_weight).sum())
    outcome = float((persons * (1.0 - _outcome(m).reindex(placed).to_numpy())).sum()) * params.outcome_weight
    return {"travel": travel, "extra_tier": extra, "even_fill": fill, "outcome": outcome,
            "total": travel + extra + fill + outcome}


# --------------------------------------------------------------------------- explanation

def placement_rules(inputs: PlaceInputs, placed: pd.Series, params: PlaceParams) -> pd.DataFrame:
    """Per household (index as ``inputs.households``): ``minutes_from_tie``,
    ``rule`` (one of ``RULES``) and ``in_extra`` (its persons reach into the
    municipality's extra room)."""
    h, m = inputs.households, inputs.municipalities
    ties = tie_codes(h["tie"])
    minutes = minutes_from_tie(ties, placed, inputs.travel)
    in_extra = _in_extra_room(h, ties, placed, m["room"])
    rule = pd.Series(NO_TIE, index=h.index, dtype=object)
    rule[in_extra & ties.isna()] = EXTRA_TIER
    rule[minutes <= params.reasonable_minutes] = WITHIN_REACH
    beyond = minutes.index[minutes > params.reasonable_minutes]
    if len(beyond):
        left = leftover(inputs, usage(h, placed, m.index))
        for i in beyond:
            nearer = inputs.travel.loc[ties[i], m.index] < minutes[i]
            rule[i] = BEYOND_NOT_NEAREST if (nearer & could_take(left, h.loc[i])).any() else NEAREST_BEYOND
    return pd.DataFrame({"minutes_from_tie": minutes, "rule": rule, "in_extra": in_extra})


def _in_extra_room(h: pd.DataFrame, ties: pd.Series, placed: pd.Series, room: pd.Series) -> pd.Series:
    """Households whose persons, counted tied first and then by ready date
    and id within each municipality, go beyond its base room."""
    order = pd.DataFrame({"at": placed, "untied": ties.isna(), "ready": h["ready_date"], "id": h["household_id"],
                          "persons": h["persons"].astype(int)}).sort_values(["at", "untied", "ready", "id"],
                                                                            kind="stable")
    cumulative = order.groupby("at")["persons"].cumsum()
    return (cumulative > room.reindex(order["at"]).to_numpy()).reindex(h.index)


def sentence(row: dict, params: PlaceParams) -> str:
    """One plain-English line on why the household went where it did."""
    who = f"{row['household_id']} ({int(row['persons'])} {'person' if row['persons'] == 1 else 'persons'})"
    at, rule = row["kommunenummer"], row["rule"]
    extra = f", in the extra room {at} volunteered" if row["in_extra"] else ""
    if rule == WITHIN_REACH:
        return (f"{who} goes to {at}{extra}, {row['minutes_from_tie']:.0f} minutes from its tie {row['tie']}, "
                f"within the reasonable {params.reasonable_minutes:.0f} minutes.")
    if rule in (NEAREST_BEYOND, BEYOND_NOT_NEAREST):
        why = ("the nearest municipality that had room" if rule == NEAREST_BEYOND else
               "nearer room was left to keep fill rates even, worth more than the minutes saved")
        return (f"{who} goes to {at}{extra}, {row['minutes_from_tie']:.0f} minutes from its tie {row['tie']}: "
                f"no municipality within {params.reasonable_minutes:.0f} minutes had room for it; {why}.")
    if rule == EXTRA_TIER:
        return f"{who} has no tie and goes to {at} in the extra room it volunteered: base room was used first."
    return (f"{who} has no tie and goes to {at}, where fill rises from {row['fill_before']:.0%} "
            f"to {row['fill_after']:.0%} of its decision, to keep fill rates even.")


def fill_table(inputs: PlaceInputs, placed: pd.Series) -> pd.DataFrame:
    """Per municipality: decision, already, room, extra_room, assigned
    (persons), extra_used, fill_before and fill_after (share of decision,
    NaN without decision)."""
    m = inputs.municipalities
    assigned = usage(inputs.households, placed, m.index)["persons"]
    decision = m["decision"].astype(float).where(m["decision"] > 0)
    return pd.DataFrame({
        "decision": m["decision"], "already": m["already"], "room": m["room"], "extra_room": m["extra_room"],
        "assigned": assigned, "extra_used": (assigned - m["room"]).clip(lower=0),
        "fill_before": m["already"] / decision, "fill_after": (m["already"] + assigned) / decision,
    }, index=m.index)


def placement_table(inputs: PlaceInputs, placed: pd.Series, params: PlaceParams) -> pd.DataFrame:
    """One row per household: household_id, kommunenummer, persons, tie,
    minutes_from_tie, rule, in_extra, sentence (sorted by household_id)."""
    h = inputs.households
    fill = fill_table(inputs, placed)
    table = pd.DataFrame({"household_id": h["household_id"], "kommunenummer": placed, "persons": h["persons"],
                          "tie": tie_codes(h["tie"])}).join(placement_rules(inputs, placed, params))
    table = table.assign(fill_before=fill["fill_before"].reindex(placed).to_numpy(),
                         fill_after=fill["fill_after"].reindex(placed).to_numpy())
    table["sentence"] = [sentence(row, params) for row in table.to_dict("records")]
    return table.drop(columns=["fill_before", "fill_after"]).sort_values("household_id").reset_index(drop=True)


# --------------------------------------------------------------------------- the whole step

@dataclass(frozen=True)
class PlaceResult:
    """placements: ``placement_table``; fill: ``fill_table``; objective: the
    cost of the final placement (``placement_cost``), ``costs`` by term;
    lp_bound: a lower bound of the LP relaxation over every pair (the LP
    optimum when ``converged``); gap = (objective - lp_bound) / objective,
    of the whole model where households expected later held room in it;
    status of the integer solve; pairs: columns of the integer model;
    pricing_rounds; moved: households the repair passes moved (into reach, or nearer their tie)."""

    placements: pd.DataFrame
    fill: pd.DataFrame
    objective: float
    lp_bound: float
    gap: float
    status: SolveStatus
    costs: dict
    national_fill_rate: float
    classes: int
    pairs: int
    pricing_rounds: int
    converged: bool
    moved: int
    solve_seconds: float
    seconds: float
    held_for_later: int = 0  # households expected later that held room in the model (``place``'s ``later``)


def place(inputs: PlaceInputs, params: PlaceParams, solvers: list, later: pd.DataFrame | None = None) -> PlaceResult:
    """Place every household of ``inputs`` (see the module docstring).

    ``later``: households expected after this batch (same columns), placed
    in the same model so that the batch leaves room where they will need it
    (``optimiser.place_year.expected_later``), then dropped: those that no
    room could hold beside the batch are left out first (``room_for_later``),
    and after the solve the batch's tied households beyond reach move into
    any room in reach the expected ones held, so holding room never keeps a
    household that is here beyond reach.  The result is the batch's alone;
    the gap is the model's (batch and expected households) against its LP bound.
    With households expected later the model also prices the complex-health
    room left behind (``health_fit``; the LP over person groups at the least
    price per person of each group's households, so it still bounds)."""
    start = time.perf_counter()
    problems = input_problems(inputs) + ([f"params: {params.check()}"] if params.check() else [])
    if problems:
        raise ValueError("; ".join(problems))
    inputs = dataclasses.replace(inputs, households=inputs.households.reset_index(drop=True),
                                 municipalities=inputs.municipalities.sort_index())
    batch = inputs
    held = room_for_later(inputs, later) if later is not None else inputs.households.iloc[0:0]
    if len(held):
        inputs = dataclasses.replace(batch, households=pd.concat(
            [batch.households.assign(later=False),
             held.reindex(columns=batch.households.columns).assign(later=True)], ignore_index=True))
    if not len(held):
        params = dataclasses.replace(params, health_fit_price=0.0)  # a price on the year to come
    classes, class_of = household_classes(inputs.households)
    costs = class_costs(classes, inputs, params)
    check_hostable(inputs, classes, costs)
    groups, group_of = person_groups(classes)
    group_costs = class_costs(groups, inputs, params, pooled_fit(classes, costs, group_of, groups))
    columns = generate_columns(inputs, groups, group_costs, params, solvers)
    pairs = class_pairs(classes, group_of, columns.pairs > 0, costs, params)
    if pairs.to_numpy().sum() <= params.exact_pairs:
        integer = solve_integer(inputs, classes, costs, [pairs, costs.feasible], params, solvers)
    else:
        integer = solve_by_rounding(inputs, classes, group_of, costs, group_costs, columns, params, solvers)
    placed = assign_households(inputs.households, class_of, integer.counts, costs)
    held_room = (usage(inputs.households.iloc[len(batch.households):], placed.iloc[len(batch.households):],
                       batch.municipalities.index) if len(held) else None)
    placed, moved = move_within_reach(batch, placed.iloc[:len(batch.households)], params)
    placed, nearer = move_nearer(batch, placed, params, held_room)
    cost = placement_cost(batch, placed, params)
    model_cost = integer.objective if len(held) else cost["total"]
    gap = (model_cost - columns.lp_bound) / model_cost if model_cost > 0 else 0.0
    log.info("placed %d households (%d expected later held room): objective %.2f, LP bound %.2f, gap %.4f",
             len(placed), len(held), cost["total"], columns.lp_bound, gap)
    return PlaceResult(
        placements=placement_table(batch, placed, params), fill=fill_table(batch, placed),
        objective=cost["total"], lp_bound=columns.lp_bound, gap=max(gap, 0.0), status=integer.status, costs=cost,
        national_fill_rate=national_fill_rate(batch.municipalities, batch.households["persons"].sum()),
        classes=len(classes), pairs=integer.pairs,
        pricing_rounds=columns.rounds, converged=columns.converged, moved=moved + nearer,
        solve_seconds=columns.seconds + integer.seconds, seconds=time.perf_counter() - start, held_for_later=len(held))


def room_for_later(batch: PlaceInputs, later: pd.DataFrame) -> pd.DataFrame:
    """The households expected later that the room can hold beside the batch,
    in their order: each one whole somewhere, and in all no more persons (with
    complex health needs, unaccompanied minors) than ``LATER_ROOM_SHARE`` of
    the room left after the batch.  Their ids must not clash with the batch's."""
    if later.empty:
        return later
    clash = later["household_id"].isin(batch.households["household_id"])
    if clash.any():
        raise ValueError(f"households expected later reuse the batch's id {later['household_id'][clash].iloc[0]}")
    m = batch.municipalities
    classes, class_of = household_classes(later)
    fits = pd.Series(_hostable(classes, m).any(axis=1), index=classes.index)
    later = later[fits.reindex(class_of).to_numpy()]
    left = LATER_ROOM_SHARE * (rooms(m).sum() - needs_persons(batch.households).sum())
    return later[(needs_persons(later).cumsum() <= left).all(axis=1)]


def check_hostable(inputs: PlaceInputs, classes: pd.DataFrame, costs: ClassCosts) -> None:
    """Cheap preconditions: every household fits whole somewhere, and the
    rooms hold the batch's persons in all, with health needs and as EM."""
    h, m = inputs.households, inputs.municipalities
    homeless = classes.index[~costs.feasible.any(axis=1)]
    if len(homeless):
        k = classes.loc[homeless[0]]
        raise InfeasiblePlan("placement", f"no municipality has room for a household of {k['persons']} persons "
                                          f"(complex health {k['complex_health']}, EM {k['unaccompanied_minor']})")
    need, room = needs_persons(h).sum(), rooms(m).sum()
    for kind, label in (("persons", "persons"), ("health", "persons with complex health needs"),
                        ("em", "unaccompanied minors")):
        if need[kind] > room[kind]:
            raise InfeasiblePlan("placement", f"{int(need[kind])} {label} to place, room for {int(room[kind])}")
