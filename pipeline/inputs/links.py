"""Read and validate the transport network's link files into ``PlanData.adjacency``.

Three files (see ``data/README.md``): land borders, over-water pairs (bridges,
tunnels, short ferries) and explicit ferry routes for the islands the first
two leave unconnected.  Every error names file, line and field; a network
that is still disconnected after all links stops the run as well.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.network import LAND_KINDS, LINK_COLUMNS, unconnected
from pipeline.errors import InputError
from pipeline.inputs.source import Source, as_source
from pipeline.inputs.tables import MAX_MINUTES, Column, check_codes, fail_at, read_table

MAX_BORDER_KM = 2_000  # Norway's longest municipal border is a few hundred km
MAX_WATER_KM = 50  # the over-water file holds pairs at most 5 km apart

PAIR = [Column("kommunenummer_a", "code"), Column("kommunenummer_b", "code")]


def read_links(adjacency: Source | Path, water: Source | Path, ferries: Source | Path,
               codes: pd.Index) -> pd.DataFrame:
    """All links, columns ``a``, ``b``, ``kind``, ``fixed_minutes`` (ferry
    crossing minutes, NaN for other kinds)."""
    adjacency, water, ferries = (as_source(s) for s in (adjacency, water, ferries))
    land = read_pairs(adjacency, codes, [Column("contact", "text"),
                                         Column("shared_border_km", "float", maximum=MAX_BORDER_KM)])
    bad = ~land["contact"].isin(LAND_KINDS)
    if bad.any():
        fail_at(adjacency.path, land, bad, "contact", f"unknown contact {land.loc[bad, 'contact'].iloc[0]!r}",
                f"use one of: {', '.join(LAND_KINDS)}")
    near = read_pairs(water, codes, [Column("min_distance_km", "float", maximum=MAX_WATER_KM)])
    ferry = read_pairs(ferries, codes, [Column("minutes", "float", maximum=MAX_MINUTES),
                                        Column("route", "text")])
    links = pd.concat([
        _links(land, land["contact"], np.nan),
        _links(near, "water", np.nan),
        _links(ferry, "ferry", ferry["minutes"]),
    ], ignore_index=True)
    lost = unconnected(codes, links)
    if lost:
        shown = ", ".join(lost[:5]) + (" ..." if len(lost) > 5 else "")
        raise InputError(str(ferries.path), f"the transport network is not connected: {len(lost)} municipalit"
                         f"{'y' if len(lost) == 1 else 'ies'} cannot be reached from the rest: {shown}",
                         "add a row linking each to a neighbour, with the crossing minutes")
    return links


def read_pairs(source: Source, codes: pd.Index, columns: list[Column]) -> pd.DataFrame:
    """A file of municipality pairs: known codes, no self-links, each pair once."""
    path = source.path
    frame = read_table(source, PAIR + columns, key=None)
    for column in ("kommunenummer_a", "kommunenummer_b"):
        check_codes(frame, path, codes, column=column, complete=False)
    same = frame["kommunenummer_a"] == frame["kommunenummer_b"]
    if same.any():
        fail_at(path, frame, same, "kommunenummer_b", f"links {frame.loc[same, 'kommunenummer_a'].iloc[0]} to itself",
                "name two different municipalities")
    pair = pd.DataFrame({"low": frame[["kommunenummer_a", "kommunenummer_b"]].min(axis=1),
                         "high": frame[["kommunenummer_a", "kommunenummer_b"]].max(axis=1)})
    dup = pair.duplicated()
    if dup.any():
        first = pair[dup].iloc[0]
        fail_at(path, frame, dup, "kommunenummer_b", f"second row for the pair {first['low']}-{first['high']}",
                "keep one row per pair")
    return frame


def _links(frame: pd.DataFrame, kind, fixed_minutes) -> pd.DataFrame:
    out = pd.DataFrame({"a": frame["kommunenummer_a"], "b": frame["kommunenummer_b"]})
    out["kind"] = kind
    out["fixed_minutes"] = fixed_minutes
    return out[list(LINK_COLUMNS)].astype({"fixed_minutes": float})
