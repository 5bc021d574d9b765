"""Benchmark: all-pairs travel times over the 356 municipalities.

Times ``optimiser.network.shortest_minutes`` (vectorised Floyd-Warshall) against
a baseline run in the same process on the same graph: networkx's
``all_pairs_dijkstra_path_length``.  Also times the whole network step
(calibration, travel times, access frame, graph) as the pipeline runs it.
Prints the machine, the median of several runs and the ratio; the figures go
into the "Network" section of BENCHMARKS.md.

    .venv/bin/python bench/network.py [--runs 7]
"""
from __future__ import annotations

import argparse
import os
import sys

import common
import networkx as nx
import numpy as np
from common import median_seconds

from optimiser import network
from pipeline.plans.inputs import read_inputs
from pipeline.plans.resolve import resolve_plan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--plan", default="2022")
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    machine = common.Machine(("numpy", "networkx"))
    resolved = resolve_plan(args.plan)
    plan = resolved.plan
    data = read_inputs(resolved).data
    m = data.municipalities
    table = network.link_table(m[["lon", "lat"]], data.adjacency)
    fit, _ = network.calibrate(m, table)
    graph = network.build_graph(m[["lon", "lat"]], table, fit.params)

    links = network.fastest_links(table, network.link_minutes(table, fit.params))
    weights = network.link_matrix(m.index, links, "minutes", np.inf)
    ours, path = median_seconds(lambda: network.shortest_minutes(weights), args.runs)
    base, lengths = median_seconds(lambda: dict(nx.all_pairs_dijkstra_path_length(graph, weight="minutes")),
                                   args.runs)
    whole, _ = median_seconds(lambda: network.build_network(m, data.adjacency, plan.network.reasonable_travel_minutes),
                              args.runs)
    # Same answers (the graph's edge minutes are rounded to 0.001 for export).
    worst = max(abs(path[i, j] - lengths[a][b]) for i, a in enumerate(m.index) for j, b in enumerate(m.index))
    assert worst < 0.05, f"travel times disagree with networkx by {worst} minutes"

    print(f"machine: {machine.describe()}")
    print(f"graph: {graph.number_of_nodes()} municipalities, {graph.number_of_edges()} links; "
          f"median of {args.runs} runs")
    print("| step | median seconds |")
    print("|---|---|")
    print(f"| all-pairs travel times, `network.shortest_minutes` (Floyd-Warshall, numpy) | {ours:.4f} |")
    print(f"| baseline: `networkx.all_pairs_dijkstra_path_length` | {base:.4f} |")
    print(f"| whole network step, `network.build_network` (calibration + travel + access + graph) | {whole:.4f} |")
    print(f"ratio baseline / ours: {base / ours:.1f}x; largest difference {worst:.4f} min")
    print(f"target all-pairs <= 1 s: {'met' if ours <= 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
