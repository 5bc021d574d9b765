"""Fit the target formula's parameters to a past year's real requests.

The engine's target (``optimiser.criteria``) is

    x(m) = N * sum_k w_k * p_m^a I_k(m) / sum_j p_j^a I_k(j),   w >= 0, sum_k w_k = 1.

Calibration chooses the exponent ``a`` and the weights ``w`` that reproduce
the real requests ``r_m`` of one year as closely as possible:

* Fit set T: the municipalities whose real request is known.  The national
  total is ``R_T = sum_{m in T} r_m`` and the criterion distributions are
  normalised over T, so in-sample predictions sum exactly to ``R_T``.
* For a fixed ``a`` the weights solve a small linear programme (least
  absolute deviations)::

      minimise   sum_{m in T} (u_m + v_m)
      subject to sum_k w_k c_k(m) - u_m + v_m = r_m   for m in T
                 sum_k w_k = 1,  w, u, v >= 0
      with       c_k(m) = R_T * p_m^a I_k(m) / sum_{j in T} p_j^a I_k(j)

  The optimum divided by ``R_T`` is the weighted absolute percentage error
  (WAPE = sum |x - r| / sum r), so the LP minimises WAPE exactly.
* ``a`` is chosen on a fixed grid by the smallest in-sample WAPE (ties: the
  smaller exponent).  No other search, no peeking at held-out data.
* Weights are rounded to 4 decimals (the largest absorbs the rounding so
  they sum to 1) and every reported prediction uses the rounded weights.

Out of sample (``cross_validate``): every fold refits ``a`` and ``w`` on the
training municipalities only (T = training set, ``R_T`` their total).  A
held-out municipality m is then predicted with the training normalisation,
``x(m) = sum_k w_k R_T p_m^a I_k(m) / sum_{j in T} p_j^a I_k(j)``: the rate per
unit of criterion learnt on the training set, applied to m's own inputs.
Its own request never enters its prediction.

Several years at once (``fit_years``): one exponent and weight vector for
a pool of training years, each with its own criteria (built only from what
existed before that year), fit set and national total; the LP minimises the
mean of the years' WAPE.  History may enter as *shares*, distributions used
as they are (last year's request share), beside the per-capita indicators
that the formula multiplies by p^a.  When a year's need grows by the factor
g over the year before, a share criterion keeps g^(-damping) of its weight
and the rest goes to the population criterion; the damping is chosen on a
grid like the exponent.  ``predict_year`` applies a fit to a new year and
``round_to_practice`` turns a prediction into whole requests with the
year's minimum and granularity, a stand-in for the MILP's rounding rules.

Nothing here reads files: the caller passes frames and PuLP solver objects.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from optimiser.criteria import damping_factor
from optimiser.solve import SolveStatus, solve

WEIGHT_DECIMALS = 4
EXPONENT_DECIMALS = 2
# Granularity seen in practice: the largest of these that divides at least
# GRANULARITY_COVERAGE of the positive requests.
GRANULARITY_CANDIDATES = (1, 5, 10)
GRANULARITY_COVERAGE = 0.9
CUSTOMARY_MINIMUM = 10


@dataclass(frozen=True)
class Calibration:
    """Fitted parameters and the in-sample WAPE per grid exponent.

    ``weights`` holds every criterion of the indicator frame (sum 1).
    ``curve`` is the training WAPE per exponent of the grid.
    """

    exponent: float
    weights: dict[str, float]
    curve: pd.Series

    @property
    def at_grid_edge(self) -> bool:
        return self.exponent in (round(float(self.curve.index.min()), EXPONENT_DECIMALS),
                                 round(float(self.curve.index.max()), EXPONENT_DECIMALS))


def exponent_grid(low: float = 0.30, high: float = 1.00, step: float = 0.01) -> tuple[float, ...]:
    """Exponents from ``low`` to ``high`` inclusive, rounded to 2 decimals."""
    if not 0 < low <= high or step <= 0:
        raise ValueError(f"exponent grid needs 0 < low <= high and step > 0, got {low}:{high}:{step}")
    count = int(round((high - low) / step)) + 1
    return tuple(round(low + i * step, EXPONENT_DECIMALS) for i in range(count))


def criterion_rates(population: pd.Series, indicator_frame: pd.DataFrame, exponent: float,
                    real: pd.Series) -> pd.DataFrame:
    """c_k(m) for every municipality of ``indicator_frame``, normalised over ``real``'s index.

    ``real`` holds the known requests of the fit set T; municipalities outside T
    get the rate learnt on T.
    """
    weighted = indicator_frame.mul(population.astype(float) ** exponent, axis=0)
    totals = weighted.loc[real.index].sum(axis=0)
    if (totals <= 0).any():
        raise ValueError(f"criterion {totals.index[totals <= 0][0]!r} is zero on every municipality of the fit set")
    return weighted / totals * float(real.sum())


def fit_weights(rates: pd.DataFrame, real: pd.Series, solvers: list) -> tuple[dict[str, float], float]:
    """Least-absolute-deviation weights on the simplex for fixed rates; (weights, WAPE)."""
    weights, objective = lad_weights(rates, real, pd.Series(1.0, index=real.index), solvers)
    return weights, objective / float(real.sum())


def lad_weights(rates: pd.DataFrame, real: pd.Series, cost: pd.Series, solvers: list) -> tuple[dict[str, float], float]:
    """min sum_i cost_i |sum_k w_k rates_ik - real_i|, w >= 0, sum_k w_k = 1; (weights, optimum).

    Rows are ``real``'s index (any labels; they name the LP's rows and columns).
    """
    codes = list(real.index)
    values = rates.loc[codes].to_numpy(dtype=float).tolist()
    prob = pulp.LpProblem("calibration", pulp.LpMinimize)
    w = [prob.add_variable(f"w_{k}", lowBound=0) for k in rates.columns]
    over = [prob.add_variable(f"over_{m}", lowBound=0) for m in codes]
    under = [prob.add_variable(f"under_{m}", lowBound=0) for m in codes]
    costs = cost.reindex(real.index).astype(float).tolist()
    prob += pulp.LpAffineExpression([(v, c) for v, c in zip(over, costs)] + [(v, c) for v, c in zip(under, costs)])
    prob += pulp.LpAffineExpression([(v, 1.0) for v in w]) == 1, "weights_sum_to_one"
    for m, row, r, o, u in zip(codes, values, real.astype(float).tolist(), over, under):
        prob += pulp.LpAffineExpression(list(zip(w, row)) + [(o, -1.0), (u, 1.0)]) == r, f"fit:{m}"
    result = solve(prob, solvers)
    if result.status is not SolveStatus.OPTIMAL:
        raise RuntimeError(f"calibration LP not solved to optimality: {result.status.value}")
    weights = {k: max(0.0, float(v.value() or 0.0)) for k, v in zip(rates.columns, w)}
    return weights, float(result.objective)


def round_weights(weights: dict[str, float]) -> dict[str, float]:
    """Round to ``WEIGHT_DECIMALS``; the largest weight absorbs the rounding (sum exactly 1)."""
    total = sum(weights.values())
    rounded = {k: round(v / total, WEIGHT_DECIMALS) for k, v in weights.items()}
    largest = max(rounded, key=lambda k: (rounded[k], k))
    rounded[largest] = round(1.0 - sum(v for k, v in rounded.items() if k != largest), WEIGHT_DECIMALS)
    return rounded


def search_exponent(grid: list[float], coarse_every: int, evaluate) -> dict:
    """{exponent: evaluate(exponent)} over the grid, searched as ``fit`` describes.

    ``evaluate`` returns (weights, WAPE); with ``coarse_every`` = n > 1 every
    n-th exponent (and the last) is tried, then every exponent within n - 1
    steps of the best of those (smallest WAPE, ties to the smaller exponent).
    """
    results = {}

    def run(points):
        for a in points:
            if a not in results:
                results[a] = evaluate(a)

    run(grid[::coarse_every] + grid[-1:])
    if coarse_every > 1:
        best = min(results, key=lambda a: (round(results[a][1], 12), a))
        i = grid.index(best)
        run(grid[max(0, i - coarse_every + 1):i + coarse_every])
    return results


def fit(population: pd.Series, indicator_frame: pd.DataFrame, real: pd.Series, solvers: list,
        exponents: Sequence[float] = exponent_grid(), coarse_every: int = 1) -> Calibration:
    """Best exponent on the grid (smallest WAPE, ties to the smaller) and its weights.

    With ``coarse_every`` = n > 1 the grid is searched in two stages: every
    n-th exponent (and the last), then every exponent within n - 1 steps of
    the best of those.  This finds the grid's best exponent whenever WAPE has
    no second dip narrower than n steps; ``curve`` lists what was evaluated.
    ``real`` is indexed by the fit set's kommunenummer; its total must be positive.
    """
    real = real.astype(float)
    if not len(real) or real.sum() <= 0:
        raise ValueError("calibration needs at least one positive real request")
    if (real < 0).any():
        raise ValueError("real requests must be >= 0")
    if coarse_every < 1:
        raise ValueError(f"coarse_every must be >= 1, got {coarse_every}")
    results = search_exponent(sorted(exponents), coarse_every,
                              lambda a: fit_weights(criterion_rates(population, indicator_frame, a, real), real, solvers))
    a = min(results, key=lambda x: (round(results[x][1], 12), x))
    curve = pd.Series({x: results[x][1] for x in sorted(results)}, name="wape").rename_axis("exponent")
    return Calibration(exponent=round(float(a), EXPONENT_DECIMALS), weights=round_weights(results[a][0]),
                       curve=curve)


def predict(population: pd.Series, indicator_frame: pd.DataFrame, real: pd.Series,
            calibration: Calibration) -> pd.Series:
    """Predicted request for every municipality, normalised over ``real``'s index (the fit set)."""
    rates = criterion_rates(population, indicator_frame, calibration.exponent, real.astype(float))
    weights = pd.Series(calibration.weights).reindex(rates.columns, fill_value=0.0)
    return rates.mul(weights, axis=1).sum(axis=1).rename("predicted")


@dataclass(frozen=True)
class YearInputs:
    """One year's criteria as a plan for that year knew them (``fit_years``).

    ``population``: p_m on 1 January before the year.  ``indicators``: I_k(m)
    >= 0, entering as p_m^a I_k(m); it must hold ``population`` (all ones)
    when there are shares, for the damped weight moves there.  ``shares``:
    distributions used as they are, without p^a (history shares such as last
    year's request); None or empty for none.  ``growth``: the year's need
    divided by the need of the latest year before it (1 when not known).
    """

    year: int
    population: pd.Series
    indicators: pd.DataFrame
    shares: pd.DataFrame | None = None
    growth: float = 1.0

    @property
    def criteria(self) -> list[str]:
        return list(self.indicators.columns) + ([] if self.shares is None else list(self.shares.columns))


@dataclass(frozen=True)
class YearsCalibration:
    """Exponent, damping and weights fitted on several years at once.

    ``curve``: mean training WAPE per (exponent, damping) evaluated;
    ``per_year``: each training year's WAPE with the rounded weights.
    """

    exponent: float
    damping: float
    weights: dict[str, float]
    curve: pd.Series
    per_year: pd.Series


def year_rates(inputs: YearInputs, exponent: float, damping: float, codes: pd.Index, total: float,
               over: pd.Index | None = None) -> pd.DataFrame:
    """c_k(m) for one year: ``total`` times each criterion's distribution, for ``codes``.

    Indicators: p^a I_k normalised over ``over`` (default ``codes``, the fit
    set).  Shares: f s_k + (1 - f) s_population, with s_k the share normalised
    over ``over`` and f = ``damping_factor``.  A municipality outside ``over``
    gets the fit set's rate per unit of criterion (out-of-sample predictions).
    """
    over = codes if over is None else over
    population = inputs.population.reindex(inputs.indicators.index).astype(float)
    weighted = inputs.indicators.mul(population ** exponent, axis=0)
    totals = weighted.loc[over].sum(axis=0)
    if (totals <= 0).any():
        raise ValueError(f"{inputs.year}: criterion {totals.index[totals <= 0][0]!r} is zero on every municipality "
                         f"of the fit set")
    rates = weighted.loc[codes] / totals
    if inputs.shares is not None and len(inputs.shares.columns):
        shares = inputs.shares.reindex(inputs.indicators.index).fillna(0.0).astype(float)
        share_totals = shares.loc[over].sum(axis=0)
        if (share_totals <= 0).any():
            raise ValueError(f"{inputs.year}: share {share_totals.index[share_totals <= 0][0]!r} is zero on every "
                             f"municipality of the fit set")
        f = damping_factor(inputs.growth, damping)
        damped = (shares.loc[codes] / share_totals).mul(f).add((1.0 - f) * rates["population"], axis=0)
        rates = rates.join(damped)
    return rates * float(total)


def check_year_inputs(inputs: YearInputs) -> None:
    overlap = set(inputs.indicators.columns) & set(inputs.shares.columns if inputs.shares is not None else ())
    if overlap:
        raise ValueError(f"{inputs.year}: {sorted(overlap)[0]!r} is both an indicator and a share")
    if inputs.shares is not None and len(inputs.shares.columns) and "population" not in inputs.indicators.columns:
        raise ValueError(f"{inputs.year}: shares need the population indicator (the damped weight moves there)")
    frames = [inputs.indicators] + ([inputs.shares] if inputs.shares is not None else [])
    if any((f < 0).any().any() or f.isna().any().any() for f in frames):
        raise ValueError(f"{inputs.year}: criteria must be >= 0 and known for every municipality")


def fit_years(years: Sequence[YearInputs], reals: Mapping[int, pd.Series], solvers: list,
              exponents: Sequence[float] = exponent_grid(), dampings: Sequence[float] = (0.0,),
              coarse_every: int = 1, year_weights: Mapping[int, float] | None = None) -> YearsCalibration:
    """One exponent, damping and weight vector for several years at once.

    Year t (fit set T_t: the municipalities of ``reals[t]``, total R_t):

        x_t(m) = sum_{k indicator} w_k c_k(m) + sum_{k share} w_k [f_t c_k(m) + (1 - f_t) c_population(m)]
        f_t = max(1, growth_t)^(-damping)

    with c_k the year's rates (``year_rates``).  When the need grows, a share
    criterion (a history distribution) keeps the part f_t of its weight and
    the rest is spread by population: damping 0 keeps history's share of the
    need, damping 1 keeps its persons.  For each (exponent, damping) the
    weights minimise sum_t v_t sum_m |x_t(m) - r_t(m)| / R_t, the weighted mean
    WAPE (v_t = ``year_weights``, default 1), a linear programme like
    ``fit``'s.  Exponents are searched per damping as ``fit`` does; the best
    pair has the smallest mean WAPE (ties: smaller exponent, then smaller
    damping).  Weights are rounded as in ``fit``.  With one year, no shares
    and damping 0 this is ``fit``.
    """
    if not years:
        raise ValueError("fit_years needs at least one year")
    if coarse_every < 1:
        raise ValueError(f"coarse_every must be >= 1, got {coarse_every}")
    criteria = years[0].criteria
    for inputs in years:
        check_year_inputs(inputs)
        if inputs.criteria != criteria:
            raise ValueError(f"{inputs.year}: criteria {inputs.criteria} differ from {years[0].year}'s {criteria}")
        real = reals.get(inputs.year)
        if real is None or not len(real) or real.sum() <= 0 or (real < 0).any():
            raise ValueError(f"{inputs.year}: calibration needs real requests >= 0 with a positive total")
    if any(d < 0 for d in dampings) or not dampings:
        raise ValueError(f"dampings must be >= 0, got {tuple(dampings)}")
    weights_of_year = {y.year: float((year_weights or {}).get(y.year, 1.0)) for y in years}
    if any(v <= 0 for v in weights_of_year.values()):
        raise ValueError("year weights must be positive")
    real = pd.concat({y.year: reals[y.year].astype(float) for y in years}, names=["year", "kommunenummer"])
    labels = [f"{t}_{m}" for t, m in real.index]
    cost = pd.Series([weights_of_year[t] / float(reals[t].sum()) for t, _ in real.index], index=labels)
    stacked_real = pd.Series(real.to_numpy(), index=labels)
    scale = sum(weights_of_year.values())

    def rates(a, d):
        frames = [year_rates(y, a, d, reals[y.year].index, float(reals[y.year].sum()))[criteria] for y in years]
        return pd.DataFrame(np.vstack([f.to_numpy() for f in frames]), index=labels, columns=criteria)

    results = {}
    for d in sorted(dampings):
        def evaluate(a, d=d):
            weights, objective = lad_weights(rates(a, d), stacked_real, cost, solvers)
            return weights, objective / scale
        for a, value in search_exponent(sorted(exponents), coarse_every, evaluate).items():
            results[(a, d)] = value
    a, d = min(results, key=lambda k: (round(results[k][1], 12), k[0], k[1]))
    curve = pd.Series({k: v[1] for k, v in sorted(results.items())}, name="wape")
    curve.index.names = ["exponent", "damping"]
    fitted = YearsCalibration(exponent=round(float(a), EXPONENT_DECIMALS), damping=float(d),
                              weights=round_weights(results[(a, d)][0]), curve=curve,
                              per_year=pd.Series(dtype=float))
    per_year = {y.year: wape(predict_year(y, float(reals[y.year].sum()), fitted, reals[y.year].index), reals[y.year])
                for y in years}
    return dataclasses.replace(fitted, per_year=pd.Series(per_year, name="wape").rename_axis("year"))


def predict_year(inputs: YearInputs, need: float, calibration: YearsCalibration,
                 codes: pd.Index | None = None, over: pd.Index | None = None) -> pd.Series:
    """x(m) for every municipality of ``codes`` (default: all of ``inputs``): the
    ``fit_years`` formula with the year's own growth; the distributions are
    normalised over ``over`` (default ``codes``), whose predictions sum to ``need``."""
    check_year_inputs(inputs)
    codes = inputs.indicators.index if codes is None else codes
    rates = year_rates(inputs, calibration.exponent, calibration.damping, codes, need, over)
    weights = pd.Series(calibration.weights).reindex(rates.columns, fill_value=0.0)
    return rates.mul(weights, axis=1).sum(axis=1).rename("predicted")


def round_to_practice(predicted: pd.Series, need: int, minimum: int = CUSTOMARY_MINIMUM,
                      granularity: int = 1) -> pd.Series:
    """Whole requests summing to ``need``: none between 0 and ``minimum``, multiples of ``granularity``.

    A simple stand-in for the allocation MILP's rounding rules, for backtests:

    1. Asked: a municipality whose target, rescaled to ``need`` over those
       still asked, is at least ``minimum`` / 2 (nearer the minimum than 0);
       dropping one raises the others, so this repeats until it holds.
    2. Floor: an asked target below ``minimum`` is raised to it and the other
       asked targets are rescaled to what is left; repeated until none is below.
    3. Largest remainder in units of ``granularity``: every asked municipality
       gets its target's whole units (at least the minimum, rounded up to a
       unit), the units still missing go to the largest remainders (ties: the
       lower kommunenummer); when ``need`` is not a multiple of the unit, the
       last ``need`` mod ``granularity`` persons go to the largest remainder too.
    """
    need = int(round(float(need)))
    if minimum < 0 or granularity < 1:
        raise ValueError(f"minimum must be >= 0 and granularity >= 1, got {minimum} and {granularity}")
    x = predicted.astype(float).clip(lower=0.0).sort_index()
    if need <= 0 or x.sum() <= 0:
        return pd.Series(0, index=predicted.index, name="rounded")
    asked = x > 0
    while True:
        target = x.where(asked, 0.0) / x[asked].sum() * need
        drop = asked & (target < minimum / 2)
        if asked.sum() * minimum > need:
            # Too many at the minimum for the need: drop the smallest asked too.
            drop = drop | (asked & (target == target[asked].min()))
        if not drop.any() or drop.sum() == asked.sum():
            break
        asked &= ~drop
    floored = pd.Series(False, index=x.index)
    while True:
        free = asked & ~floored
        target = pd.Series(0.0, index=x.index)
        target[floored] = float(minimum)
        target[free] = x[free] / x[free].sum() * (need - minimum * floored.sum())
        low = free & (target < minimum)
        if not low.any() or low.sum() == free.sum():
            break
        floored |= low
    units = np.floor(target / granularity + 1e-9)
    smallest = -(-minimum // granularity)
    units[asked] = np.maximum(units[asked], smallest)
    remainder = (target / granularity - units).where(asked, -np.inf)
    order = sorted(remainder.index[asked], key=lambda m: (-remainder[m], m))
    missing = need // granularity - int(units.sum())
    if missing > 0:
        for m in (order * (missing // len(order) + 1))[:missing]:
            units[m] += 1
    elif missing < 0:
        above = [m for m in reversed(order) if units[m] > smallest]
        for m in above[:-missing]:
            units[m] -= 1
    rounded = (units * granularity).astype(int)
    rounded[order[0]] += need - int(rounded.sum())
    return rounded.reindex(predicted.index).rename("rounded")


def fold_by_position(codes: pd.Index, k: int) -> pd.Series:
    """Deterministic k-fold: sorted kommunenummer, fold = position mod k."""
    ordered = sorted(codes)
    return pd.Series([i % k for i in range(len(ordered))], index=pd.Index(ordered, name=codes.name),
                     name="fold").reindex(codes)


def cross_validate(population: pd.Series, indicator_frame: pd.DataFrame, real: pd.Series, groups: pd.Series,
                   solvers: list, exponents: Sequence[float] = exponent_grid(), coarse_every: int = 1) -> pd.DataFrame:
    """Out-of-fold predictions: for each group g, refit on ``real`` outside g
    (same grid and search as the in-sample fit), predict g.

    Returns, indexed like ``real``: ``group``, ``predicted``, ``exponent``
    (fitted without the group) and one ``w_<criterion>`` column per criterion.
    """
    groups = groups.reindex(real.index)
    rows = []
    for g in sorted(groups.unique()):
        held = groups.index[groups == g]
        train = real.drop(held)
        calibration = fit(population, indicator_frame, train, solvers, exponents, coarse_every)
        predicted = predict(population, indicator_frame, train, calibration).loc[held]
        rows.append(pd.DataFrame({"group": g, "predicted": predicted, "exponent": calibration.exponent,
                                  **{f"w_{k}": v for k, v in calibration.weights.items()}}, index=held))
    return pd.concat(rows).loc[real.index]


def wape(predicted: pd.Series, real: pd.Series) -> float:
    """Weighted absolute percentage error: sum |x - r| / sum r over ``real``'s index."""
    predicted = predicted.reindex(real.index)
    return float((predicted - real).abs().sum() / real.sum())


def spearman(predicted: pd.Series, real: pd.Series) -> float:
    """Spearman rank correlation: Pearson correlation of average ranks."""
    predicted = predicted.reindex(real.index).astype(float)
    return float(np.corrcoef(predicted.rank().to_numpy(), real.astype(float).rank().to_numpy())[0, 1])


def practice(real: pd.Series) -> dict:
    """Minimum size and granularity seen in the real requests (positive ones).

    minimum_request: the smallest positive request; share_at_least_10: the
    share of positive requests >= 10; granularity_persons: the largest of
    ``GRANULARITY_CANDIDATES`` dividing at least ``GRANULARITY_COVERAGE`` of
    positive requests, with the share it divides.
    """
    positive = real[real > 0].astype(int)
    if positive.empty:
        raise ValueError("no positive real request")
    coverage = {g: float((positive % g == 0).mean()) for g in GRANULARITY_CANDIDATES}
    granularity = max(g for g in GRANULARITY_CANDIDATES if coverage[g] >= GRANULARITY_COVERAGE or g == 1)
    return {
        "minimum_request": int(positive.min()),
        "share_at_least_10": round(float((positive >= CUSTOMARY_MINIMUM).mean()), 4),
        "granularity_persons": int(granularity),
        "granularity_share": round(coverage[granularity], 4),
        "asked": int(len(positive)),
        "not_asked": int((real == 0).sum()),
    }


def residuals_by_group(frame: pd.DataFrame, group: str, real: str, predictions: Sequence[str]) -> pd.DataFrame:
    """Per group: municipalities, real total, and per prediction column its total,
    residual (prediction - real) and WAPE within the group."""
    g = frame.groupby(group, sort=True)
    out = pd.DataFrame({"municipalities": g.size(), real: g[real].sum()})
    for col in predictions:
        out[col] = g[col].sum()
        out[f"{col}_residual"] = out[col] - out[real]
        out[f"{col}_wape"] = g.apply(lambda f, c=col: wape(f[c], f[real]) if f[real].sum() > 0 else np.nan)
    return out.reset_index()
