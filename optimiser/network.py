"""Transport network: travel times, regional access and a reasonable distance.

The network is a graph over the 356 municipalities.  Each municipality is one
node at its point (``lon``/``lat``); links come from ``PlanData.adjacency``:

border, point   municipalities sharing a land border (or a single point)
water           pairs at most 5 km apart over water with no land contact
                (a bridge, tunnel or short ferry): one crossing
ferry           explicit ferry routes for islands the other files leave
                unconnected: the route's scheduled crossing minutes

Travel time of a link (minutes)::

    minutes = 60 * detour_factor * km / speed_kmh       (km: great circle)
            + crossing_minutes                           (water and ferry links)
            + fixed_minutes                              (ferry: the crossing itself;
                                                          its km term is dropped)

and between two different municipalities i != j::

    travel(i, j) = access_minutes + shortest path(i, j)

``access_minutes`` is the time spent inside the two municipalities to and
from the points that stand for them (SSB measures travel from where people
live to the centre of the region's centre municipality, not between two
points).  Within a municipality travel(i, i) = 0.

The factors are not hand-set: ``calibrate`` fits them, deterministically, to
the real travel times from every member of a commuting region (BA-region
2020) to its centre.  ``speed_kmh`` is a fixed reference (80 km/h, the
general speed limit outside built-up areas): detour and speed enter only as
their ratio, so one of them must be fixed and the detour factor carries the
fitted slope.

Derived per municipality (``access_frame``): minutes to the nearest
municipality with an active upper-secondary school, its school region (the
municipalities sharing the same nearest school municipality), the population
within the reasonable travel time (the reachable labour market) and which
municipalities are within that time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088
REFERENCE_SPEED_KMH = 80.0
LAND_KINDS = ("border", "point")
CROSSING_KINDS = ("water", "ferry")
KINDS = LAND_KINDS + CROSSING_KINDS
LINK_COLUMNS = ("a", "b", "kind", "fixed_minutes")


@dataclass(frozen=True)
class NetworkParams:
    """Travel-time factors (see the module docstring for the formula)."""

    detour_factor: float = 1.3
    crossing_minutes: float = 15.0
    access_minutes: float = 10.0
    speed_kmh: float = REFERENCE_SPEED_KMH

    @property
    def minutes_per_km(self) -> float:
        return 60.0 * self.detour_factor / self.speed_kmh

    def as_dict(self) -> dict:
        return {"detour_factor": self.detour_factor, "crossing_minutes": self.crossing_minutes,
                "access_minutes": self.access_minutes, "speed_kmh": self.speed_kmh,
                "minutes_per_km": self.minutes_per_km}


# --- links and graph ---------------------------------------------------------------------------

def great_circle_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Haversine distance in km between points given in degrees (arrays broadcast)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def link_table(points: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Links with their geometry: ``a``, ``b`` (a < b), ``kind``, ``km``,
    ``crossings`` (1 for water and ferry links), ``fixed_minutes`` (0 unless ferry).

    ``points``: index kommunenummer, columns ``lon``, ``lat``.  ``links``:
    columns ``LINK_COLUMNS``; codes must be in ``points`` (the pipeline checks).
    """
    first = links["a"].astype(str).to_numpy()
    second = links["b"].astype(str).to_numpy()
    a, b = np.minimum(first, second), np.maximum(first, second)
    lon, lat = points["lon"].to_numpy(dtype=float), points["lat"].to_numpy(dtype=float)
    ia, ib = points.index.get_indexer(a), points.index.get_indexer(b)
    kind = links["kind"].astype(str).to_numpy()
    ferry = kind == "ferry"
    km = great_circle_km(lon[ia], lat[ia], lon[ib], lat[ib])
    return pd.DataFrame({
        "a": a, "b": b, "kind": kind,
        "km": np.where(ferry, 0.0, km),
        "crossings": np.isin(kind, CROSSING_KINDS).astype(float),
        "fixed_minutes": np.where(ferry, links["fixed_minutes"].to_numpy(dtype=float), 0.0),
        "straight_km": km,
    })


def link_minutes(table: pd.DataFrame, params: NetworkParams) -> pd.Series:
    """Travel time of each link (minutes)."""
    return (table["km"] * params.minutes_per_km + table["crossings"] * params.crossing_minutes
            + table["fixed_minutes"]).rename("minutes")


def build_graph(points: pd.DataFrame, table: pd.DataFrame, params: NetworkParams) -> nx.Graph:
    """An undirected networkx graph: node attributes ``lon``, ``lat``; edge
    attributes ``kind``, ``km`` (straight line), ``minutes``.  Where two links
    join the same pair, the faster one is the edge."""
    graph = nx.Graph()
    for code, lon, lat in zip(points.index, points["lon"], points["lat"]):
        graph.add_node(code, lon=float(lon), lat=float(lat))
    for row in fastest_links(table, link_minutes(table, params)).itertuples(index=False):
        graph.add_edge(row.a, row.b, kind=row.kind, km=round(float(row.straight_km), 3),
                       minutes=round(float(row.minutes), 3))
    return graph


def unconnected(codes: pd.Index, links: pd.DataFrame) -> list[str]:
    """Municipalities not in the largest connected part of the network (sorted)."""
    graph = nx.Graph()
    graph.add_nodes_from(codes)
    graph.add_edges_from(zip(links["a"], links["b"]))
    parts = sorted(nx.connected_components(graph), key=lambda part: (-len(part), min(part)))
    return sorted(code for part in parts[1:] for code in part)


# --- shortest paths ----------------------------------------------------------------------------

def fastest_links(table: pd.DataFrame, minutes: pd.Series) -> pd.DataFrame:
    """One link per pair of municipalities: the fastest (ties: first in the table)."""
    order = np.lexsort((np.arange(len(table)), minutes.to_numpy()))
    return table.iloc[order].assign(minutes=minutes.to_numpy()[order]).drop_duplicates(["a", "b"])


def link_matrix(codes: pd.Index, links: pd.DataFrame, column: str, missing: float) -> np.ndarray:
    """Square matrix of ``links[column]`` (symmetric, one row per pair), ``missing``
    where there is no link, 0 on the diagonal."""
    n = len(codes)
    w = np.full((n, n), missing, dtype=float)
    ia, ib = codes.get_indexer(links["a"]), codes.get_indexer(links["b"])
    values = links[column].to_numpy(dtype=float)
    w[ia, ib] = values
    w[ib, ia] = values
    np.fill_diagonal(w, 0.0)
    return w


def shortest_minutes(weights: np.ndarray) -> np.ndarray:
    """All-pairs shortest path lengths (Floyd-Warshall, vectorised over rows);
    ``weights``: inf where there is no link, 0 on the diagonal."""
    d = np.array(weights, dtype=float)
    through = np.empty_like(d)
    for k in range(d.shape[0]):
        # Row and column k do not change in step k (d[k, k] = 0), so updating in place is exact.
        np.add(d[:, k, None], d[None, k, :], out=through)
        np.minimum(d, through, out=d)
    return d


def routes(weights: np.ndarray, distance: np.ndarray, sources: np.ndarray, targets: np.ndarray) -> list[np.ndarray]:
    """The node sequence of a shortest path from each source to its target.

    Each step goes to the neighbour w minimising link(u, w) + distance(w, target)
    (ties: lowest index), so the same inputs always give the same routes.
    Returns one array per step (the node each route is at, -1 once arrived).
    """
    hop = np.array(weights, dtype=float)
    np.fill_diagonal(hop, np.inf)
    at = np.array(sources)
    steps = []
    for _ in range(len(hop)):
        active = at != targets
        if not active.any():
            break
        nxt = np.argmin(hop[at[active]] + distance[:, targets[active]].T, axis=1)
        at = at.copy()
        at[active] = nxt
        steps.append(np.where(active, at, -1))
    return steps


def travel_frame(codes: pd.Index, distance: np.ndarray, params: NetworkParams) -> pd.DataFrame:
    """travel(i, j) = access_minutes + shortest path (``distance``) for i != j; 0 on the diagonal."""
    d = distance + params.access_minutes
    np.fill_diagonal(d, 0.0)
    return pd.DataFrame(d, index=codes, columns=codes)


# --- calibration -------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkFit:
    """The fitted factors and how well they reproduce the real travel times.

    pairs: one row per calibration pair (member, centre, county, observed,
    predicted, error).  summary: n, median and 90th-percentile absolute
    error in minutes, overall and per county.
    """

    params: NetworkParams
    pairs: pd.DataFrame
    iterations: int
    converged: bool

    @property
    def summary(self) -> dict:
        worst = self.pairs.iloc[np.argsort(-self.pairs["error"].abs().to_numpy(), kind="stable")[:10]]
        return {
            "params": self.params.as_dict(),
            "method": "alternating: shortest paths with the current factors, then least squares of the real "
                      "minutes on (1, km along the path, crossings on the path); repeated until the paths repeat",
            "iterations": self.iterations,
            "converged": self.converged,
            "overall": error_stats(self.pairs["error"]),
            "by_county": {str(c): error_stats(g["error"]) for c, g in self.pairs.groupby("fylke", sort=True)},
            "worst": worst.round(2).to_dict(orient="records"),
        }


def error_stats(errors: pd.Series) -> dict:
    """n, median and 90th-percentile absolute error, mean (signed) error; minutes."""
    err = errors.abs().to_numpy(dtype=float)
    if not len(err):
        return {"n": 0, "median_abs_error_minutes": None, "p90_abs_error_minutes": None,
                "mean_error_minutes": None}
    return {"n": int(len(err)), "median_abs_error_minutes": round(float(np.median(err)), 2),
            "p90_abs_error_minutes": round(float(np.percentile(err, 90)), 2),
            "mean_error_minutes": round(float(errors.mean()), 2)}


def calibration_pairs(municipalities: pd.DataFrame) -> pd.DataFrame:
    """Every member of a commuting region that is not its centre, with the
    real minutes to the centre.

    The centre of a BA-region is the member (or members, for twin centres
    such as Oslo/Bærum) with the smallest ``minutes_to_region_centre``; in
    the 2020 file these are exactly the members marked 'Senterkommune'.  A
    centre's own figure is travel inside the municipality and is not a pair.
    Columns: ``kommunenummer``, ``fylke``, ``centres`` (tuple of codes),
    ``observed`` (minutes).
    """
    m = municipalities
    minutes = m["minutes_to_region_centre"].astype(float)
    smallest = minutes.groupby(m["ba_region"]).transform("min")
    is_centre = minutes == smallest
    centres = m.index[is_centre].to_series().groupby(m.loc[is_centre, "ba_region"].to_numpy()).apply(tuple)
    members = m.index[~is_centre]
    return pd.DataFrame({
        "kommunenummer": members,
        "fylke": m.loc[members, "fylke"].to_numpy(),
        "centres": [centres[r] for r in m.loc[members, "ba_region"]],
        "observed": minutes[members].to_numpy(),
    })


@dataclass(frozen=True)
class _Routes:
    distance: np.ndarray      # all-pairs path minutes under the params used
    centre: np.ndarray        # index of the nearest centre per pair
    sums: dict                # per pair: km, crossings, fixed_minutes along the route
    signature: bytes          # identity of every route (to detect repetition)


def _route_terms(codes: pd.Index, table: pd.DataFrame, params: NetworkParams, source: np.ndarray,
                 centres: list[np.ndarray]) -> _Routes:
    links = fastest_links(table, link_minutes(table, params))
    weights = link_matrix(codes, links, "minutes", np.inf)
    distance = shortest_minutes(weights)
    centre = np.array([cs[np.lexsort((cs, distance[i, cs]))[0]] for i, cs in zip(source, centres)])
    steps = routes(weights, distance, source, centre)
    terms = {col: link_matrix(codes, links, col, 0.0) for col in ("km", "crossings", "fixed_minutes")}
    sums = {col: np.zeros(len(source)) for col in terms}
    at = source
    for step in steps:
        moved = step >= 0
        for col, matrix in terms.items():
            sums[col][moved] += matrix[at[moved], step[moved]]
        at = np.where(moved, step, at)
    signature = np.stack(steps).tobytes() if steps else b""
    return _Routes(distance=distance, centre=centre, sums=sums, signature=signature)


def _least_squares(y: np.ndarray, columns: dict[str, np.ndarray], fixed: dict[str, float]) -> dict[str, float]:
    """Least squares of y on the free columns; a coefficient that comes out
    negative is fixed at 0 and the rest refitted (non-negative factors)."""
    free = [c for c in columns if c not in fixed]
    while True:
        target = y - sum((columns[c] * fixed[c] for c in fixed), np.zeros_like(y))
        coef = np.linalg.lstsq(np.column_stack([columns[c] for c in free]), target, rcond=None)[0] \
            if free else np.zeros(0)
        negative = [c for c, v in zip(free, coef) if v < 0]
        if not negative:
            return {**fixed, **dict(zip(free, (float(v) for v in coef)))}
        fixed = {**fixed, negative[0]: 0.0}
        free = [c for c in free if c != negative[0]]


def calibrate(municipalities: pd.DataFrame, table: pd.DataFrame, start: NetworkParams = NetworkParams(),
              max_iterations: int = 25) -> tuple[NetworkFit, np.ndarray]:
    """Fit ``access_minutes``, ``detour_factor`` and ``crossing_minutes`` to
    the real minutes from each commuting-region member to its centre.

    Alternates (1) shortest paths with the current factors, which fixes each
    member's route to its nearest centre, and (2) least squares of the real
    minutes on (1, km along the route, crossings on the route), ferry
    minutes being known.  Stops when the routes repeat; deterministic (no
    random start, ties broken by code).  Crossing minutes that no route uses
    cannot be fitted and keep their start value.

    Returns the calibration and the all-pairs path minutes under its factors.
    """
    codes = municipalities.index
    pairs = calibration_pairs(municipalities)
    source = codes.get_indexer(pairs["kommunenummer"])
    centres = [codes.get_indexer(list(cs)) for cs in pairs["centres"]]
    params, fitted_on = start, None
    seen: set[bytes] = set()
    converged = False
    iterations = 0
    while iterations < max_iterations:
        found = _route_terms(codes, table, params, source, centres)
        if found.signature == fitted_on:  # the routes the factors were fitted on are still the fastest
            converged = True
            break
        if found.signature in seen:  # a cycle between route sets: stop at the current factors
            break
        seen.add(found.signature)
        iterations += 1
        y = pairs["observed"].to_numpy(dtype=float) - found.sums["fixed_minutes"]
        columns = {"access_minutes": np.ones(len(y)), "minutes_per_km": found.sums["km"],
                   "crossing_minutes": found.sums["crossings"]}
        fixed = {} if columns["crossing_minutes"].any() else {"crossing_minutes": params.crossing_minutes}
        coef = _least_squares(y, columns, fixed)
        params = replace(params, access_minutes=coef["access_minutes"],
                         detour_factor=coef["minutes_per_km"] * params.speed_kmh / 60.0,
                         crossing_minutes=coef["crossing_minutes"])
        fitted_on = found.signature
    else:
        found = _route_terms(codes, table, params, source, centres)
    predicted = found.distance[source, found.centre] + params.access_minutes
    result = pd.DataFrame({
        "kommunenummer": pairs["kommunenummer"], "centre": codes[found.centre], "fylke": pairs["fylke"],
        "observed": pairs["observed"], "predicted": predicted, "error": predicted - pairs["observed"],
    })
    return NetworkFit(params=params, pairs=result, iterations=iterations, converged=converged), found.distance


# --- access per municipality -------------------------------------------------------------------

def access_frame(municipalities: pd.DataFrame, travel: pd.DataFrame, reasonable_minutes: float) -> pd.DataFrame:
    """Per municipality (index kommunenummer):

    minutes_to_school        minutes to the nearest municipality with an active
                             upper-secondary school (0 with one of its own;
                             infinite if none is reachable)
    school_region            that nearest school municipality (ties: lowest
                             code); the municipalities sharing it form one
                             school region
    reachable_population     population of the municipalities within
                             ``reasonable_minutes`` (itself included): the
                             regional labour market
    reachable_municipalities how many municipalities that is
    within_reach             their codes, space-separated
    """
    m = municipalities
    codes = m.index
    t = travel.reindex(index=codes, columns=codes).to_numpy(dtype=float)
    has_school = (m["schools"] > 0).to_numpy()
    if has_school.any():
        school_codes = codes[has_school]
        to_school = t[:, has_school]
        nearest = to_school.argmin(axis=1)
        minutes = to_school[np.arange(len(codes)), nearest]
        region = np.where(np.isfinite(minutes), school_codes[nearest], None)
    else:
        minutes = np.full(len(codes), math.inf)
        region = np.full(len(codes), None)
    within = t <= reasonable_minutes
    population = m["population"].to_numpy(dtype=float)
    return pd.DataFrame({
        "minutes_to_school": minutes.astype(float),
        "school_region": region,
        "reachable_population": (within @ population).round().astype("int64"),
        "reachable_municipalities": within.sum(axis=1).astype(int),
        "within_reach": [" ".join(codes[row]) for row in within],
    }, index=codes)


# --- the whole step ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Network:
    """What the Access step produces: the graph, the fit and the access frame."""

    graph: nx.Graph
    calibration: NetworkFit
    travel: pd.DataFrame
    access: pd.DataFrame
    reasonable_minutes: float


def build_network(municipalities: pd.DataFrame, links: pd.DataFrame, reasonable_minutes: float) -> Network:
    """Links -> calibrated graph -> travel times -> access per municipality."""
    table = link_table(municipalities[["lon", "lat"]], links)
    fit, distance = calibrate(municipalities, table)
    travel = travel_frame(municipalities.index, distance, fit.params)
    access = access_frame(municipalities, travel, reasonable_minutes)
    graph = build_graph(municipalities[["lon", "lat"]], table, fit.params)
    for code, row in access.iterrows():
        graph.nodes[code].update(name=str(municipalities.at[code, "kommune"]),
                                 minutes_to_school=float(row["minutes_to_school"]),
                                 school_region=str(row["school_region"] or ""),
                                 reachable_population=float(row["reachable_population"]))
    return Network(graph=graph, calibration=fit, travel=travel, access=access, reasonable_minutes=reasonable_minutes)
