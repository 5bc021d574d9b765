"""The typed plan: every number the ministry, the planners and the solver set.

A ``Plan`` is built once from YAML by ``pipeline.config.load_plan`` and never
changes afterwards (frozen dataclasses).  The optimiser receives a ``Plan``,
never a dict or a path.  Field names carry their unit where one exists.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from optimiser import history
from optimiser.bands import Bands

# Criteria the engine knows.  ``population`` is the spread criterion (every
# size of municipality is asked, less than proportionally to its size); the
# others follow the ministry's list and the municipality's record
# (``optimiser.criteria``).  History shares enter as distributions of their
# own; planner-supplied criteria have no public nationwide source and are read
# from optional files.
SHARE_CRITERIA = history.SHARES
BUILTIN_CRITERIA = ("population", "centrality", "upper_secondary", "labour_market") + history.INDICATORS + SHARE_CRITERIA
PLANNER_CRITERIA = ("introduction_results", "employment")
ALL_CRITERIA = BUILTIN_CRITERIA + PLANNER_CRITERIA
# Criteria read from the structural registers (schools, commuting regions,
# centrality): a calibration on years before the registers' vintage leaves
# them out (they would be look-ahead).
STRUCTURAL_CRITERIA = ("centrality", "upper_secondary", "labour_market")


@dataclass(frozen=True)
class CriteriaConfig:
    """How indicators become a target share (see ``optimiser.criteria``)."""

    population_exponent: float
    weights: Mapping[str, float]
    # Population is read on 1 January of this many years before the plan year.
    population_lag_years: int = 1
    # As the need grows beyond last year's, the history shares keep
    # max(1, N / N_last)^(-history_damping) of their weight; the rest goes to
    # population (0: history keeps its share of the need; 1: its persons).
    history_damping: float = 0.0
    # Name of a calibrated config (config/<name>.yaml, written by
    # ``python -m pipeline calibrate``) whose exponent and weights this plan
    # uses; the plan then leaves population_exponent and weights out.
    calibration: str | None = None


@dataclass(frozen=True)
class CapacityRule:
    """Default capacity while no municipal answer (vedtak) is on file.

    base = max(minimum_request, ceil(factor * base_per_1000_inhabitants * population / 1000))
    extra = ceil(factor * extra_per_1000_inhabitants * population / 1000)

    ``factor`` scales every capacity a municipality has, by this rule or by
    its answer: base, extra and complex-health capacity (an answer x becomes
    ceil(factor * x)); EM capacity stays.  1 in a plan as decided; a sweep's
    scenarios set it to ask what more (or less) capacity would change.
    """

    base_per_1000_inhabitants: float
    extra_per_1000_inhabitants: float
    factor: float = 1.0


@dataclass(frozen=True)
class SpreadConfig:
    """Controlled and spread settlement: each county receives at least this
    fraction of the sum of its municipalities' targets (rounded down)."""

    min_county_share_of_target: float


@dataclass(frozen=True)
class Penalties:
    """Objective weights, per person unless stated.

    Every deviation (from the criteria target, the county recommendation,
    the EM target and, in a re-plan, the earlier request) is priced by
    ``bands`` (``optimiser.bands``): the price of one more person rises with
    the deviation's share of its reference, band by band, times the family's
    weight below.
    """

    deviation_from_target: float = 1.0
    # Must exceed 2 * the dearest band price * (deviation_from_target +
    # deviation_from_recommendation): then no person is drawn from extra
    # capacity while an asked municipality has base room left (moving that
    # person changes the deviations by at most that).
    extra_capacity: float = 13.0
    deviation_from_recommendation: float = 0.5
    # Re-plans (policy minimal_change): per person changed against the earlier plan.
    change_from_previous: float = 0.2
    # Tie-breaker: municipality i (of n, in code order) adds tie_break * (1 + i/n) per person.
    tie_break: float = 1e-4
    # Subtracted per municipality asked: where asking and not asking cost the
    # same, asking wins (settlement spread over every municipality).  Far
    # below any deviation price; it also lets the LP relaxation ask the large
    # municipalities outright, which shortens the solve.
    ask_preference: float = 1e-3
    # Per unit of spread (1 = 100 %) between the largest and the smallest
    # relative deviation above, and below, the references, times the family's
    # weight: within a band, where the band prices leave the solver
    # indifferent, the deviations are made even (optimiser.bands.add_even_shares).
    uneven_shares: float = 1.0
    bands: Bands = field(default_factory=Bands)


@dataclass(frozen=True)
class SolverConfig:
    name: str = "highs"
    fallback: str | None = "cbc"
    time_limit_seconds: float = 60.0
    mip_rel_gap: float = 1e-5
    threads: int = 1
    require_optimal: bool = True
    # HiGHS presolve.  Off solves plan 2022 in a third of the time (the model
    # is small and presolve's reductions cost more than they save); on is
    # faster where it removes many columns (re-plans).  BENCHMARKS.md.
    presolve: bool = True
    # Branch-and-bound nodes before the solver stops with its best solution
    # (None: no limit).  Unlike the time limit it does not depend on how busy
    # the machine is: the same model stops at the same solution everywhere.
    node_limit: int | None = None


@dataclass(frozen=True)
class NetworkConfig:
    """Transport network: what counts as a reasonable travel time."""

    reasonable_travel_minutes: float = 90.0
    access_rule: bool = True
    access_exceptions: tuple[str, ...] = ()
    school_region_cap_persons: int | None = None


@dataclass(frozen=True)
class UnaccompaniedMinors:
    """Einslege mindreårige (EM): a separate integer sub-quota inside the total.

    2022: 141 in all, of whom 30 under 15 are placed by Bufetat, so the
    municipalities' EM requests sum to 111.
    """

    total_persons: int
    placed_by_bufetat_persons: int = 0
    minimum_request: int = 2

    @property
    def municipal_persons(self) -> int:
        return self.total_persons - self.placed_by_bufetat_persons


@dataclass(frozen=True)
class SubmissionsConfig:
    """How county recommendations, KS input and municipal answers enter the model."""

    # "soft": a penalty per person of deviation; "lock": request = recommendation.
    recommendation_mode: str = "soft"
    locked_counties: tuple[str, ...] = ()
    locked_municipalities: tuple[str, ...] = ()
    # Expected share of the need with complex health needs; a municipality is
    # never asked for more than its stated capacity for them / this share.
    complex_health_share: float = 0.0


@dataclass(frozen=True)
class PlacementConfig:
    """Prices of placing households during the year (``optimiser.place``; the
    reasonable travel time is the network's).  Per person unless stated."""

    # Per person and minute beyond the reasonable travel time from the tie.
    cost_per_minute_beyond: float = 0.1
    # Per person placed in volunteered extra room; must exceed what even fill
    # and the outcome can gain by moving a person (optimiser.place.PlaceParams.check).
    extra_tier_price: float = 10.0
    fill_weight: float = 1.0
    fill_bands: Bands = field(default_factory=Bands)
    # A criterion with values 0..1 (e.g. labour_market: the population within
    # reach) as each person's outcome in the receiving municipality, priced at
    # outcome_weight * (1 - value); null or weight 0: off.
    outcome: str | None = None
    outcome_weight: float = 0.0
    # Looking ahead (place-year): per household with complex health needs and
    # place of complex-health room it leaves (optimiser.place.health_fit);
    # rooms of at most small_health_room places are small.  Its most,
    # health_fit_price * small_health_room, shares the room under
    # extra_tier_price with even fill and the outcome.
    health_fit_price: float = 0.25
    small_health_room: int = 7
    # Looking ahead: places of that price per unit of risk a household leaves
    # behind, the chance that families expected later need the complex-health
    # room it breaks (optimiser.place_risk); within the same most.
    health_risk_weight: float = 10.0


@dataclass(frozen=True)
class ReplanConfig:
    """A mid-year re-plan of ``base_plan`` (see ``optimiser.reallocate``).

    The status file (under data/inputs/<plan>/) gives per municipality the
    persons already settled this year, the decision (vedtak) and the extra
    capacity volunteered if the need grows.
    """

    base_plan: str
    # "spread": the new need spread by the criteria over every eligible
    # municipality, what each was asked, decided or settled as floors (IMDi's
    # practice in March 2022).  "minimal_change": the earlier plan changed as
    # little as possible, volunteered extra capacity first and new
    # municipalities only when needed (fewest first, then the best plan).
    policy: str = "minimal_change"
    status_file: str = "status.csv"
    # March 2022: every municipality may be asked, whatever the access rule.
    all_municipalities_eligible: bool = False
    # Per person of a declined quota placed beyond the reasonable travel time
    # from the municipality that declined it.
    shortfall_outside_reach: float = 2.0


@dataclass(frozen=True)
class Plan:
    name: str
    year: int
    need_persons: int
    minimum_request: int
    criteria: CriteriaConfig
    capacity: CapacityRule
    spread: SpreadConfig
    granularity_persons: int = 1
    penalties: Penalties = field(default_factory=Penalties)
    solver: SolverConfig = field(default_factory=SolverConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    unaccompanied_minors: UnaccompaniedMinors | None = None
    submissions: SubmissionsConfig = field(default_factory=SubmissionsConfig)
    replan: ReplanConfig | None = None
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    description: str = ""

    @property
    def population_year(self) -> int:
        return self.year - self.criteria.population_lag_years
