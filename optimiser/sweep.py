"""Scenario sweeps: many versions of one plan under an uncertain need and
uncertain weights, and what the planner learns from all of them.

A ``SweepDesign`` (filled from ``config/sweeps/<name>.yaml`` by
``pipeline.plans.sweep``) names the uncertain quantities, each an ``Axis``:
the national need, the criteria weights, a capacity factor (every
municipality's capacity times it, ``CapacityRule.factor``) and the minimum
request.  ``scenarios`` turns it into a list of ``Scenario`` values:

grid     every combination of the listed values (``values``, or ``start`` to
         ``stop`` by ``step``); weights are the combinations of the listed
         values that sum to 1 (the others are left out and counted);
random   ``samples`` draws from a generator seeded with ``seed``, sample by
         sample in a fixed order (need, weights, capacity factor, minimum),
         so the first n scenarios of a larger sample are the same.  A need
         is a whole multiple of the plan's granularity, uniform in
         [low, high]; weights are uniform over the weight vectors that lie
         within the stated ranges and sum to 1 (each criterion but the last
         named is drawn uniformly in its range, the last takes the rest, and
         a draw whose last weight falls outside its range is drawn again:
         that is uniform on the part of the simplex inside the ranges, and
         nothing is renormalised); weights are rounded to 4 decimals.

``summarise`` takes the requests of the feasible scenarios and returns, per
municipality (or county), the minimum, median and maximum request, the share
of scenarios in which it is asked, the smallest need at which it is asked,
and its sensitivity to each weight: the Spearman rank correlation, across
the feasible scenarios, between the weight and the municipality's share of
the national need (request / need).  The share takes the need out, so in a
sweep at one need this is the rank correlation of the request itself with
the weight; the weight it is "most sensitive to" has the largest absolute
correlation.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DESIGNS = ("grid", "random")
WEIGHT_DECIMALS = 4
WEIGHT_SUM_TOLERANCE = 1e-9
CAPACITY_DECIMALS = 3
MAX_DRAWS = 100_000  # attempts per weight vector before the ranges are called too narrow
MIN_SCENARIOS_FOR_SENSITIVITY = 3
FAN_BINS = 25  # points of a random sweep's fan chart
SENSITIVITY_FLOOR = 1e-9  # a correlation this close to 0 names no weight


@dataclass(frozen=True)
class Axis:
    """One uncertain quantity: listed ``values``; a grid ``start`` to ``stop``
    (inclusive) by ``step``; or a random draw between ``low`` and ``high``."""

    values: tuple[float, ...] = ()
    start: float | None = None
    stop: float | None = None
    step: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def form(self) -> str:
        """``values``, ``grid`` or ``range``; ``mixed``/``empty`` for a malformed axis."""
        given = [name for name, present in (
            ("values", bool(self.values)),
            ("grid", any(v is not None for v in (self.start, self.stop, self.step))),
            ("range", any(v is not None for v in (self.low, self.high)))) if present]
        return given[0] if len(given) == 1 else ("mixed" if given else "empty")

    def grid_values(self) -> list[float]:
        """The values of a ``values`` or ``grid`` axis, in order."""
        if self.form == "values":
            return list(self.values)
        count = int(math.floor((self.stop - self.start) / self.step + 1e-9)) + 1
        return [self.start + i * self.step for i in range(count)]

    def bounds(self) -> tuple[float, float]:
        """The smallest and the largest value the axis can give."""
        if self.form == "range":
            return self.low, self.high
        values = self.grid_values()
        return min(values), max(values)


@dataclass(frozen=True)
class SweepDesign:
    design: str
    description: str = ""
    seed: int | None = None
    samples: int | None = None
    need_persons: Axis | None = None
    weights: Mapping[str, Axis] = field(default_factory=dict)
    capacity_factor: Axis | None = None
    minimum_request: Axis | None = None


@dataclass(frozen=True)
class Scenario:
    """One version of the plan; None keeps the plan's own value."""

    id: str
    need_persons: int | None = None
    weights: Mapping[str, float] | None = None
    capacity_factor: float | None = None
    minimum_request: int | None = None

    def row(self) -> dict:
        """The scenario as one flat row (``weight_<criterion>`` columns)."""
        out = {"scenario": self.id, "need_persons": self.need_persons, "capacity_factor": self.capacity_factor,
               "minimum_request": self.minimum_request}
        out.update({f"weight_{k}": w for k, w in (self.weights or {}).items()})
        return out


def scenarios(design: SweepDesign, criteria: Sequence[str], granularity: int) -> tuple[list[Scenario], str]:
    """The scenarios of ``design`` and a note on how weights were formed.

    ``criteria``: every criterion a scenario gives a weight (those not in the
    design's ``weights`` get 0); ``granularity``: the plan's persons step,
    which every need must be a multiple of."""
    if design.design == "grid":
        rows, note = _grid(design, criteria)
    else:
        rows, note = _random(design, criteria, granularity)
    width = max(3, len(str(len(rows))))
    return [Scenario(id=f"s{i:0{width}d}", **row) for i, row in enumerate(rows, start=1)], note


def _grid(design: SweepDesign, criteria: Sequence[str]) -> tuple[list[dict], str]:
    needs = [int(round(v)) for v in design.need_persons.grid_values()] if design.need_persons else [None]
    factors = [round(v, CAPACITY_DECIMALS) for v in design.capacity_factor.grid_values()] \
        if design.capacity_factor else [None]
    minimums = [int(round(v)) for v in design.minimum_request.grid_values()] if design.minimum_request else [None]
    weight_sets, note = grid_weights(design.weights, criteria)
    rows = [{"need_persons": n, "weights": w, "capacity_factor": c, "minimum_request": m}
            for n, c, m, w in itertools.product(needs, factors, minimums, weight_sets)]
    return rows, note


def grid_weights(axes: Mapping[str, Axis], criteria: Sequence[str]) -> tuple[list[dict | None], str]:
    """Every combination of the listed weights that sums to 1 (None: the plan's own weights)."""
    if not axes:
        return [None], "the plan's own weights"
    names = list(axes)
    combos = list(itertools.product(*(axes[k].grid_values() for k in names)))
    kept = []
    for combo in combos:
        rounded = [round(w, WEIGHT_DECIMALS) for w in combo]
        if abs(sum(rounded) - 1) <= WEIGHT_SUM_TOLERANCE:
            kept.append(_full_weights(dict(zip(names, rounded)), criteria))
    if not kept:
        raise ValueError(f"none of the {len(combos)} combinations of the listed weights sums to 1")
    return kept, f"{len(kept)} of {len(combos)} combinations of the listed weights sum to 1 and are used"


def _random(design: SweepDesign, criteria: Sequence[str], granularity: int) -> tuple[list[dict], str]:
    rng = np.random.default_rng(design.seed)
    rows = []
    for _ in range(design.samples):
        need = _draw_need(rng, design.need_persons, granularity) if design.need_persons else None
        weights = draw_weights(rng, design.weights, criteria) if design.weights else None
        factor = round(_draw(rng, design.capacity_factor), CAPACITY_DECIMALS) if design.capacity_factor else None
        minimum = int(round(_draw(rng, design.minimum_request, whole=True))) if design.minimum_request else None
        rows.append({"need_persons": need, "weights": weights, "capacity_factor": factor, "minimum_request": minimum})
    note = ("weights drawn uniformly within their ranges on the simplex (summing to 1, never renormalised)"
            if design.weights else "the plan's own weights")
    return rows, note


def _draw(rng: np.random.Generator, axis: Axis, whole: bool = False) -> float:
    if axis.form != "range":
        values = axis.grid_values()
        return float(values[int(rng.integers(len(values)))])
    if whole:
        return float(rng.integers(math.ceil(axis.low), math.floor(axis.high) + 1))
    return float(rng.uniform(axis.low, axis.high))


def _draw_need(rng: np.random.Generator, axis: Axis, granularity: int) -> int:
    if axis.form != "range":
        return int(round(_draw(rng, axis)))
    first, last = math.ceil(axis.low / granularity), math.floor(axis.high / granularity)
    return int(rng.integers(first, last + 1)) * granularity


def weight_bounds(axes: Mapping[str, Axis]) -> dict[str, tuple[float, float]]:
    return {k: axis.bounds() for k, axis in axes.items()}


def check_weight_ranges(axes: Mapping[str, Axis]) -> str | None:
    """Why no weight vector within the ranges can sum to 1, or None."""
    bounds = weight_bounds(axes)
    low, high = sum(lo for lo, _ in bounds.values()), sum(hi for _, hi in bounds.values())
    if low > 1 + WEIGHT_SUM_TOLERANCE:
        return f"the smallest weights add up to {low:.4g}, above 1"
    if high < 1 - WEIGHT_SUM_TOLERANCE:
        return f"the largest weights add up to {high:.4g}, below 1"
    return None


def draw_weights(rng: np.random.Generator, axes: Mapping[str, Axis], criteria: Sequence[str]) -> dict[str, float]:
    """One weight vector, uniform over those within the ranges that sum to 1 (see module doc)."""
    problem = check_weight_ranges(axes)
    if problem:
        raise ValueError(problem)
    bounds = weight_bounds(axes)
    names = list(axes)
    *free, last = names
    low, high = bounds[last]
    for _ in range(MAX_DRAWS):
        drawn = {k: round(float(rng.uniform(*bounds[k])), WEIGHT_DECIMALS) for k in free}
        rest = round(1 - sum(drawn.values()), WEIGHT_DECIMALS)
        if low - WEIGHT_SUM_TOLERANCE <= rest <= high + WEIGHT_SUM_TOLERANCE:
            drawn[last] = rest
            return _full_weights(drawn, criteria)
    raise ValueError(f"fewer than 1 in {MAX_DRAWS} draws within the weight ranges sums to 1; widen the ranges")


def _full_weights(named: Mapping[str, float], criteria: Sequence[str]) -> dict[str, float]:
    """Every criterion of the plan with a weight: the named ones as given, the others 0."""
    out = {k: 0.0 for k in criteria}
    out.update({k: float(w) for k, w in named.items()})
    return out


# --------------------------------------------------------------------------- what the planner gets


def summarise(requests: pd.DataFrame, needs: pd.Series, weights: pd.DataFrame) -> pd.DataFrame:
    """Per row of ``requests`` (a municipality or a county; one column per
    feasible scenario): the range of its requests and what moves them.

    ``needs``: the national need per scenario; ``weights``: one column per
    criterion whose weight varies, one row per scenario.  Columns: ``minimum``,
    ``median``, ``maximum``, ``share_asked``, ``first_asked_need`` (NaN when
    never asked), ``sensitivity_<criterion>`` (Spearman, NaN when the request
    share or the weight does not vary), ``most_sensitive_to`` and its
    ``sensitivity``."""
    scenarios_ = list(requests.columns)
    values = requests.to_numpy(dtype=float)
    if not scenarios_:  # no feasible scenario: nothing to say
        values = np.full((len(requests), 1), np.nan)
    asked = values > 0
    need = needs.reindex(scenarios_).to_numpy(dtype=float) if scenarios_ else np.full(1, np.nan)
    first = np.where(asked, need[np.newaxis, :], np.inf).min(axis=1)
    out = pd.DataFrame({
        "minimum": pd.array(values.min(axis=1), dtype="Int64"),
        "median": np.median(values, axis=1),
        "maximum": pd.array(values.max(axis=1), dtype="Int64"),
        "share_asked": asked.mean(axis=1) if scenarios_ else np.nan,
        "first_asked_need": pd.array(np.where(np.isfinite(first), first, np.nan), dtype="Int64"),
    }, index=requests.index)
    varying = [k for k in weights.columns if weights[k].reindex(scenarios_).nunique() > 1]
    if len(scenarios_) < MIN_SCENARIOS_FOR_SENSITIVITY or not varying:
        out["most_sensitive_to"] = ""
        out["sensitivity"] = np.nan
        return out
    shares = values / need[np.newaxis, :]
    rho = rank_correlation(shares, weights.reindex(scenarios_)[varying].to_numpy(dtype=float))
    for j, name in enumerate(varying):
        out[f"sensitivity_{name}"] = rho[:, j]
    magnitude = np.where(np.isnan(rho), 0.0, np.abs(rho))
    best = magnitude.argmax(axis=1)
    found = magnitude.max(axis=1) > SENSITIVITY_FLOOR
    out["most_sensitive_to"] = np.where(found, np.array(varying, dtype=object)[best], "")
    out["sensitivity"] = np.where(found, rho[np.arange(len(rho)), best], np.nan)
    return out


def rank_correlation(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Spearman correlation of every row of ``rows`` (items x scenarios) with
    every column of ``columns`` (scenarios x weights): the Pearson correlation
    of average ranks; NaN where either side is constant."""
    a = _standardised(pd.DataFrame(rows).rank(axis=1).to_numpy(dtype=float), axis=1)
    b = _standardised(pd.DataFrame(columns).rank(axis=0).to_numpy(dtype=float), axis=0)
    return a @ b / rows.shape[1]


def _standardised(x: np.ndarray, axis: int) -> np.ndarray:
    mean = x.mean(axis=axis, keepdims=True)
    spread = x.std(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 1e-12, (x - mean) / spread, np.nan)


def fan(requests: pd.DataFrame, needs: pd.Series, max_points: int | None = None) -> pd.DataFrame:
    """Per row of ``requests`` and need: the median, minimum and maximum
    request over the scenarios at that need (long frame: ``key``, ``need``,
    ``median``, ``minimum``, ``maximum``, ``scenarios``).  With more distinct
    needs than ``max_points`` (a random sweep draws a need per scenario),
    needs are grouped into that many equal-width bins, each shown at the mean
    need of its scenarios; None keeps every need (a grid)."""
    need = needs.reindex(requests.columns).astype(float)
    if max_points is not None and need.nunique() > max_points:
        edges = np.linspace(need.min(), need.max(), max_points + 1)
        group = pd.Series(np.clip(np.searchsorted(edges, need, side="right") - 1, 0, max_points - 1),
                          index=need.index)
        at = need.groupby(group).transform("mean")
    else:
        at = need
    long = requests.T.assign(_need=at.to_numpy()).melt(id_vars="_need", var_name="key", value_name="request")
    grouped = long.groupby(["key", "_need"])["request"]
    frame = pd.DataFrame({"median": grouped.median(), "minimum": grouped.min(), "maximum": grouped.max(),
                          "scenarios": grouped.size()}).reset_index().rename(columns={"_need": "need"})
    return frame.sort_values(["key", "need"], kind="stable").reset_index(drop=True)
