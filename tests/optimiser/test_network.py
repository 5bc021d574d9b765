"""Transport network: shortest paths and reachability on hand-made graphs,
the calibration, the real graph, and the access rule in the allocation."""
from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from optimiser import assemble, network
from optimiser.allocate import solve_plan
from optimiser.network import NetworkParams
from optimiser.plan import CriteriaConfig, NetworkConfig, SolverConfig
from optimiser.verify import verify
from pipeline.solvers import make_solvers
from tests.factories import make_inputs, make_plan, national_data, replace, solve_quietly

INF = math.inf
KM_PER_DEGREE = math.pi * 6371.0088 / 180  # one degree of longitude on the equator


# --------------------------------------------------------------------------- hand-made graphs

def test_great_circle_one_degree_on_the_equator():
    assert network.great_circle_km(0, 0, 1, 0) == pytest.approx(KM_PER_DEGREE, rel=1e-12)
    assert network.great_circle_km(10, 60, 10, 61) == pytest.approx(KM_PER_DEGREE, rel=1e-12)


def square(edges: dict[tuple[int, int], float], n: int) -> np.ndarray:
    w = np.full((n, n), INF)
    np.fill_diagonal(w, 0.0)
    for (a, b), minutes in edges.items():
        w[a, b] = w[b, a] = minutes
    return w


#   A --10-- B --10-- C --5-- D        E (no link)
#    \______25_______/
HAND = square({(0, 1): 10, (1, 2): 10, (0, 2): 25, (2, 3): 5}, 5)
HAND_DISTANCE = np.array([
    [0, 10, 20, 25, INF],
    [10, 0, 10, 15, INF],
    [20, 10, 0, 5, INF],
    [25, 15, 5, 0, INF],
    [INF, INF, INF, INF, 0],
])


def test_shortest_paths_on_hand_made_graph():
    assert np.array_equal(network.shortest_minutes(HAND), HAND_DISTANCE)


def test_shortest_paths_agree_with_networkx_dijkstra():
    graph = nx.Graph()
    graph.add_nodes_from(range(5))
    for a in range(5):
        for b in range(a + 1, 5):
            if math.isfinite(HAND[a, b]):
                graph.add_edge(a, b, minutes=HAND[a, b])
    expected = dict(nx.all_pairs_dijkstra_path_length(graph, weight="minutes"))
    got = network.shortest_minutes(HAND)
    for a in range(5):
        for b in range(5):
            assert got[a, b] == expected[a].get(b, INF)


def test_route_takes_the_two_short_links_not_the_long_one():
    steps = network.routes(HAND, HAND_DISTANCE, np.array([0]), np.array([3]))
    assert [int(s[0]) for s in steps] == [1, 2, 3]


def points(*lons: float) -> pd.DataFrame:
    return pd.DataFrame({"lon": list(lons), "lat": 0.0}, index=pd.Index([f"{i + 1:04d}" for i in range(len(lons))]))


def links(*rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(network.LINK_COLUMNS))


def test_travel_time_adds_access_detour_crossing_and_ferry_minutes():
    # 0001 -(land 1 degree)- 0002 -(ferry 30 min)- 0003, and 0001 -(water 2 degrees)- 0003.
    table = network.link_table(points(0, 1, 2), links(("0001", "0002", "border", np.nan),
                                                      ("0002", "0003", "ferry", 30.0),
                                                      ("0003", "0001", "water", np.nan)))
    params = NetworkParams(detour_factor=1.2, speed_kmh=80, crossing_minutes=5, access_minutes=10)
    per_km = 60 * 1.2 / 80
    land = KM_PER_DEGREE * per_km
    by_ferry = land + 5 + 30
    over_water = 2 * KM_PER_DEGREE * per_km + 5
    codes = points(0, 1, 2).index
    fastest = network.fastest_links(table, network.link_minutes(table, params))
    distance = network.shortest_minutes(network.link_matrix(codes, fastest, "minutes", np.inf))
    travel = network.travel_frame(codes, distance, params)
    assert travel.loc["0001", "0001"] == 0
    assert travel.loc["0001", "0002"] == pytest.approx(10 + land)
    assert travel.loc["0001", "0003"] == pytest.approx(10 + min(by_ferry, over_water))
    assert travel.loc["0003", "0001"] == travel.loc["0001", "0003"]


def test_faster_of_two_links_between_the_same_pair_is_used():
    table = network.link_table(points(0, 1), links(("0001", "0002", "border", np.nan),
                                                   ("0002", "0001", "ferry", 1.0)))
    params = NetworkParams(detour_factor=1.0, crossing_minutes=2, access_minutes=0)
    graph = network.build_graph(points(0, 1), table, params)
    assert graph.number_of_edges() == 1
    assert graph.edges["0001", "0002"]["kind"] == "ferry"
    assert graph.edges["0001", "0002"]["minutes"] == pytest.approx(3.0)


def municipalities(population, schools) -> pd.DataFrame:
    index = pd.Index([f"{i + 1:04d}" for i in range(len(population))], name="kommunenummer")
    return pd.DataFrame({"population": population, "schools": schools}, index=index)


def test_reachability_and_nearest_school_on_hand_made_travel_times():
    m = municipalities([1000, 200, 50, 3000], [1, 0, 0, 1])
    travel = pd.DataFrame(network.shortest_minutes(square({(0, 1): 30, (1, 2): 50, (2, 3): 50}, 4)),
                          index=m.index, columns=m.index)
    access = network.access_frame(m, travel, reasonable_minutes=60)
    # 0003 is 80 from 0001 (via 0002) and 50 from 0004: nearest school is 0004.
    assert access["minutes_to_school"].tolist() == [0, 30, 50, 0]
    assert access["school_region"].tolist() == ["0001", "0001", "0004", "0004"]
    # Within 60 minutes: 0001 {1,2}, 0002 {1,2,3}, 0003 {2,3,4}, 0004 {3,4}.
    assert access["reachable_population"].tolist() == [1200, 1250, 3250, 3050]
    assert access["reachable_municipalities"].tolist() == [2, 3, 3, 2]
    assert access.loc["0002", "within_reach"] == "0001 0002 0003"


def test_equally_near_schools_go_to_the_lower_code():
    m = municipalities([10, 10, 10], [1, 0, 1])
    travel = pd.DataFrame(network.shortest_minutes(square({(0, 1): 20, (1, 2): 20}, 3)),
                          index=m.index, columns=m.index)
    assert network.access_frame(m, travel, 90).loc["0002", "school_region"] == "0001"


def test_unreachable_school_is_infinitely_far():
    m = municipalities([10, 10], [1, 0])
    travel = pd.DataFrame(network.shortest_minutes(square({}, 2)), index=m.index, columns=m.index)
    access = network.access_frame(m, travel, 90)
    assert access.loc["0002", "minutes_to_school"] == INF
    assert access.loc["0002", "reachable_population"] == 10


def test_unconnected_lists_every_municipality_outside_the_main_part():
    codes = pd.Index(["0001", "0002", "0003", "0004", "0005"])
    found = network.unconnected(codes, links(("0001", "0002", "border", np.nan), ("0002", "0003", "border", np.nan),
                                             ("0004", "0005", "water", np.nan)))
    assert found == ["0004", "0005"]


# --------------------------------------------------------------------------- calibration

def synthetic_regions() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five points on the equator, one region with centre 0001; observed times made
    with access 10, detour 1.2 at 80 km/h and crossing 7 along a known chain."""
    index = pd.Index(["0001", "0002", "0003", "0004", "0005"], name="kommunenummer")
    per_km = 60 * 1.2 / 80
    observed = {
        "0001": 5.0,                                   # the centre (smallest time)
        "0002": 10 + per_km * KM_PER_DEGREE,           # one land link
        "0003": 10 + per_km * 2 * KM_PER_DEGREE,       # two land links
        "0004": 10 + per_km * 3 * KM_PER_DEGREE + 7,   # then one over water
        "0005": 10 + per_km * 3 * KM_PER_DEGREE + 7 + 45 + 7,  # then a 45-minute ferry
    }
    m = pd.DataFrame({"lon": [0.0, 1.0, 2.0, 3.0, 3.5], "lat": 0.0, "fylke": "01", "ba_region": "R1",
                      "minutes_to_region_centre": [observed[c] for c in index]}, index=index)
    chain = links(("0001", "0002", "border", np.nan), ("0002", "0003", "point", np.nan),
                  ("0003", "0004", "water", np.nan), ("0004", "0005", "ferry", 45.0))
    return m, network.link_table(m[["lon", "lat"]], chain)


def test_calibration_recovers_the_factors_that_made_the_times():
    m, table = synthetic_regions()
    fit, _ = network.calibrate(m, table)
    assert fit.converged
    assert fit.params.access_minutes == pytest.approx(10)
    assert fit.params.detour_factor == pytest.approx(1.2)
    assert fit.params.crossing_minutes == pytest.approx(7)
    assert fit.pairs["error"].abs().max() == pytest.approx(0, abs=1e-9)
    assert set(fit.pairs["kommunenummer"]) == {"0002", "0003", "0004", "0005"}


def test_twin_centres_are_both_centres_and_members_go_to_the_nearer():
    m, _ = synthetic_regions()
    m = m.assign(minutes_to_region_centre=[5.0, 40.0, 60.0, 70.0, 5.0])
    pairs = network.calibration_pairs(m)
    assert pairs["kommunenummer"].tolist() == ["0002", "0003", "0004"]
    assert all(c == ("0001", "0005") for c in pairs["centres"])


# --------------------------------------------------------------------------- the real network

@pytest.fixture(scope="module")
def real():
    plan = make_plan(name="network-test", need_persons=356 * 15,
                     criteria=CriteriaConfig(population_exponent=0.0, weights={"population": 1.0}))
    data = national_data(plan)
    return plan, data, network.build_network(data.municipalities, data.adjacency, 90)


def test_real_graph_is_connected(real):
    _, data, net = real
    assert net.graph.number_of_nodes() == 356
    assert nx.is_connected(net.graph)
    assert network.unconnected(data.codes, data.adjacency) == []
    assert np.isfinite(net.travel.to_numpy()).all()


def test_real_calibration_meets_the_target_and_is_deterministic(real):
    _, data, net = real
    table = network.link_table(data.municipalities[["lon", "lat"]], data.adjacency)
    again, _ = network.calibrate(data.municipalities, table)
    assert again.params == net.calibration.params
    pd.testing.assert_frame_equal(again.pairs, net.calibration.pairs)
    overall = net.calibration.summary["overall"]
    assert overall["n"] == len(net.calibration.pairs) > 150
    assert overall["median_abs_error_minutes"] <= 10


def test_travel_times_are_symmetric_and_obey_the_triangle_inequality(real):
    _, _, net = real
    t = net.travel.to_numpy()
    assert np.allclose(t, t.T)
    path = t - net.calibration.params.access_minutes  # off-diagonal: pure path minutes
    np.fill_diagonal(path, 0)
    for k in range(len(path)):
        assert (path <= path[:, k, None] + path[None, k, :] + 1e-9).all()


def test_municipality_with_its_own_school_is_zero_minutes_from_one(real):
    _, data, net = real
    own = data.municipalities["schools"] > 0
    assert (net.access.loc[own, "minutes_to_school"] == 0).all()
    assert (net.access.loc[own, "school_region"] == data.codes[own]).all()
    assert (net.access.loc[~own, "minutes_to_school"] > 0).all()


def excluded(access: pd.DataFrame, plan) -> set[str]:
    return set(access.index[~assemble.access_eligibility(access, plan)])


def allocate(plan, data, access) -> pd.DataFrame:
    result = solve_plan(data, access, plan, make_solvers(SolverConfig()))
    return result.allocation.set_index("kommunenummer")


def test_allocation_never_asks_a_municipality_the_access_rule_excludes(real):
    plan, data, net = real
    out = excluded(net.access, plan)
    assert out == set(net.access.index[net.access["minutes_to_school"] > 90])
    assert out  # the islands beyond a 90-minute crossing
    allocation = allocate(plan, data, net.access)
    assert (allocation.loc[sorted(out), "request"] == 0).all()
    assert not allocation.loc[sorted(out), "eligible"].any()
    assert (allocation.loc[sorted(out), "minutes_to_school"] > 90).all()
    # The rule binds: with it off, the same plan asks them (every target is 15).
    off = allocate(replace(plan, network=NetworkConfig(access_rule=False)), data, net.access)
    assert (off.loc[sorted(out), "request"] > 0).all()


def test_shorter_reasonable_time_excludes_more_and_reaches_fewer(real):
    plan, data, net = real
    shorter = replace(plan, network=NetworkConfig(reasonable_travel_minutes=45))
    near = network.build_network(data.municipalities, data.adjacency, 45)
    out_90, out_45 = excluded(net.access, plan), excluded(near.access, shorter)
    assert out_90 < out_45
    assert out_45 == set(near.access.index[near.access["minutes_to_school"] > 45])
    assert (near.access["reachable_population"] <= net.access["reachable_population"]).all()
    assert (near.access["reachable_population"] < net.access["reachable_population"]).any()
    allocation = allocate(shorter, data, near.access)
    assert (allocation.loc[sorted(out_45), "request"] == 0).all()


def test_listed_exception_is_asked_despite_the_access_rule(real):
    plan, data, net = real
    island = sorted(excluded(net.access, plan))[0]
    allowed = replace(plan, network=NetworkConfig(access_exceptions=(island,)))
    assert island not in excluded(net.access, allowed)
    assert allocate(allowed, data, net.access).loc[island, "request"] > 0


# --------------------------------------------------------------------------- school-region cap

def test_school_region_cap_limits_the_region_and_moves_the_rest():
    regions = pd.Series(["0001", "0001", "0003"], index=["0001", "0002", "0003"])
    free = make_inputs([30, 30, 30], school_region=regions)
    capped = make_inputs([30, 30, 30], school_region=regions, school_region_cap=50)
    assert solve_quietly(free)[0].tolist() == [30, 30, 30]
    request, result = solve_quietly(capped)
    assert result.status.has_solution
    assert request["0001"] + request["0002"] == 50
    assert request["0003"] == 40
    assert verify(capped, request) == []


def test_verify_names_the_school_region_over_its_cap():
    regions = pd.Series(["0001", "0001", "0003"], index=["0001", "0002", "0003"])
    capped = make_inputs([30, 30, 30], school_region=regions, school_region_cap=50)
    found = [v for v in verify(capped, pd.Series([30, 30, 30], index=regions.index)) if v.rule == "school_region_cap"]
    assert [(v.key, v.amount) for v in found] == [("0001", 10.0)]
