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

Nothing here reads files: the caller passes frames and PuLP solver objects.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

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
    codes = list(real.index)
    values = rates.loc[codes].to_numpy(dtype=float).tolist()
    prob = pulp.LpProblem("calibration", pulp.LpMinimize)
    w = [prob.add_variable(f"w_{k}", lowBound=0) for k in rates.columns]
    over = [prob.add_variable(f"over_{m}", lowBound=0) for m in codes]
    under = [prob.add_variable(f"under_{m}", lowBound=0) for m in codes]
    prob += pulp.LpAffineExpression([(v, 1.0) for v in over + under])
    prob += pulp.LpAffineExpression([(v, 1.0) for v in w]) == 1, "weights_sum_to_one"
    for m, row, r, o, u in zip(codes, values, real.astype(float).tolist(), over, under):
        prob += pulp.LpAffineExpression(list(zip(w, row)) + [(o, -1.0), (u, 1.0)]) == r, f"fit:{m}"
    result = solve(prob, solvers)
    if result.status is not SolveStatus.OPTIMAL:
        raise RuntimeError(f"calibration LP not solved to optimality: {result.status.value}")
    weights = {k: max(0.0, float(v.value() or 0.0)) for k, v in zip(rates.columns, w)}
    return weights, float(result.objective) / float(real.sum())


def round_weights(weights: dict[str, float]) -> dict[str, float]:
    """Round to ``WEIGHT_DECIMALS``; the largest weight absorbs the rounding (sum exactly 1)."""
    total = sum(weights.values())
    rounded = {k: round(v / total, WEIGHT_DECIMALS) for k, v in weights.items()}
    largest = max(rounded, key=lambda k: (rounded[k], k))
    rounded[largest] = round(1.0 - sum(v for k, v in rounded.items() if k != largest), WEIGHT_DECIMALS)
    return rounded


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
    grid = sorted(exponents)
    results = {}

    def evaluate(points):
        for a in points:
            if a not in results:
                results[a] = fit_weights(criterion_rates(population, indicator_frame, a, real), real, solvers)

    def best_exponent():
        return min(results, key=lambda a: (round(results[a][1], 12), a))

    evaluate(grid[::coarse_every] + grid[-1:])
    if coarse_every > 1:
        i = grid.index(best_exponent())
        evaluate(grid[max(0, i - coarse_every + 1):i + coarse_every])
    a = best_exponent()
    curve = pd.Series({x: results[x][1] for x in sorted(results)}, name="wape").rename_axis("exponent")
    return Calibration(exponent=round(float(a), EXPONENT_DECIMALS), weights=round_weights(results[a][0]),
                       curve=curve)


def predict(population: pd.Series, indicator_frame: pd.DataFrame, real: pd.Series,
            calibration: Calibration) -> pd.Series:
    """Predicted request for every municipality, normalised over ``real``'s index (the fit set)."""
    rates = criterion_rates(population, indicator_frame, calibration.exponent, real.astype(float))
    weights = pd.Series(calibration.weights).reindex(rates.columns, fill_value=0.0)
    return rates.mul(weights, axis=1).sum(axis=1).rename("predicted")


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
