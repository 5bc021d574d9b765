"""Write the transport network into a run folder.

network.graphml     the graph: nodes with lon/lat, name, minutes to school,
                    school region, reachable population; edges with kind,
                    straight-line km and calibrated minutes
network.png         a map of the graph (matplotlib, Agg canvas, no display)
network_fit.json    the calibrated factors and the fit against the real
                    travel times to the commuting-region centres
access.csv          the derived frame per municipality
"""
from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from optimiser.network import Network, NetworkFit, NetworkParams
from pipeline.publish.files import frame_from_json, frame_to_json, write_csv, write_json

NETWORK_FILES = ("network.graphml", "network.png", "network_fit.json", "access.csv")
EDGE_STYLE = {  # kind -> (colour, line width, line style, label)
    "border": ("#9a9a9a", 0.5, "solid", "land border"),
    "point": ("#9a9a9a", 0.5, "solid", None),
    "water": ("#1f77b4", 0.8, "dashed", "over water (bridge, tunnel, short ferry)"),
    "ferry": ("#d62728", 1.2, "dotted", "ferry route (approximate minutes)"),
}


def write_network(folder: Path, net: Network, eligible: pd.Series | None = None, drawn: bool = True) -> None:
    """The network files; ``drawn=False`` leaves out the graph and the map
    (for people; a scenario run of a sweep keeps the fit and the access frame)."""
    folder = Path(folder)
    reasonable_minutes = net.reasonable_minutes
    if drawn:
        nx.write_graphml(net.graph, folder / "network.graphml")
    fit = {"reasonable_travel_minutes": reasonable_minutes, **net.calibration.summary}
    write_json(fit, folder / "network_fit.json")
    write_csv(net.access.rename_axis("kommunenummer").reset_index(), folder / "access.csv")
    if drawn:
        draw_map(net, eligible, folder / "network.png")


def draw_map(net: Network, eligible: pd.Series | None, path: Path) -> None:
    """Nodes at their points coloured by minutes to the nearest upper-secondary
    school; links by kind; municipalities not eligible marked with a cross."""
    graph = net.graph
    reasonable_minutes = net.reasonable_minutes
    codes = list(graph.nodes)
    lon = np.array([graph.nodes[c]["lon"] for c in codes])
    lat = np.array([graph.nodes[c]["lat"] for c in codes])
    position = dict(zip(codes, zip(lon, lat)))
    fig = Figure(figsize=(9, 8.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    handles = []
    for kind, (colour, width, style, label) in EDGE_STYLE.items():
        segments = [(position[a], position[b]) for a, b, k in graph.edges(data="kind") if k == kind]
        if segments:
            ax.add_collection(LineCollection(segments, colors=colour, linewidths=width, linestyles=style, zorder=1))
            if label:
                handles.append(Line2D([], [], color=colour, lw=width * 2, ls=style, label=label))
    minutes = net.access["minutes_to_school"].reindex(codes).to_numpy(dtype=float)
    dots = ax.scatter(lon, lat, c=np.minimum(minutes, 1.5 * reasonable_minutes), cmap="viridis_r", s=9,
                      vmin=0, vmax=1.5 * reasonable_minutes, zorder=2, linewidths=0)
    if eligible is not None:
        out = ~eligible.reindex(codes).fillna(True).to_numpy(dtype=bool)
        if out.any():
            ax.scatter(lon[out], lat[out], marker="x", c="#d62728", s=40, zorder=3)
            handles.append(Line2D([], [], marker="x", color="#d62728", ls="none",
                                  label=f"not asked ({int(out.sum())}: access rule or exclusion)"))
    fig.colorbar(dots, ax=ax, shrink=0.6, label="minutes to the nearest upper-secondary school")
    ax.set_aspect(1 / np.cos(np.radians(float(np.mean(lat)))))
    ax.autoscale_view()
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    overall = net.calibration.summary["overall"]
    ax.set_title(f"Transport network: {graph.number_of_nodes()} municipalities, {graph.number_of_edges()} links\n"
                 f"reasonable travel {reasonable_minutes:g} min; fit to real commuting times: median |error| "
                 f"{overall['median_abs_error_minutes']} min", fontsize=10)
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    fig.savefig(path, dpi=100, metadata={"Software": None})


def network_to_json(net: Network) -> dict:
    """The network step's result as plain data (the cache of the ``Access`` task)."""
    fit = net.calibration
    return {"graph": nx.node_link_data(net.graph, edges="edges"),
            "fit": {"params": {k: v for k, v in fit.params.as_dict().items() if k != "minutes_per_km"},
                    "pairs": frame_to_json(fit.pairs), "iterations": fit.iterations, "converged": fit.converged},
            "travel": frame_to_json(net.travel), "access": frame_to_json(net.access),
            "reasonable_minutes": net.reasonable_minutes}


def network_from_json(obj: dict) -> Network:
    fit = obj["fit"]
    return Network(graph=nx.node_link_graph(obj["graph"], edges="edges"),
                   calibration=NetworkFit(params=NetworkParams(**fit["params"]), pairs=frame_from_json(fit["pairs"]),
                                          iterations=fit["iterations"], converged=fit["converged"]),
                   travel=frame_from_json(obj["travel"]), access=frame_from_json(obj["access"]),
                   reasonable_minutes=obj["reasonable_minutes"])
