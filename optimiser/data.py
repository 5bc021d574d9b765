"""Typed, validated input frames handed from ``pipeline`` to the optimiser.

All frames are indexed or keyed by ``kommunenummer``: a 4-character string
(``0301`` Oslo), never an integer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pandas as pd


@dataclass(frozen=True)
class PlanData:
    """Everything a plan reads, already validated.

    municipalities
        index ``kommunenummer``; columns ``kommune`` (name), ``fylke`` (county
        number), ``fylkesnavn``, ``population`` (1 January of the plan's
        population year), ``centrality_class`` (SSB 1 most central .. 6),
        ``schools`` (active upper-secondary schools in the municipality),
        ``ba_region`` and ``ba_region_name`` (commuting region),
        ``minutes_to_region_centre`` (real travel time), ``lon``/``lat``.
    history
        columns ``kommunenummer``, ``year``, ``settled`` (refugees settled, all
        groups), only years strictly before the plan year.
    indicators
        planner-supplied criteria (``introduction_results``, ``employment``):
        a Series per criterion indexed by ``kommunenummer``, values >= 0,
        larger is better.
    adjacency
        columns ``a``, ``b``, ``kind`` (``border``, ``point``, ``water``,
        ``ferry``), ``extra_minutes`` (crossing penalty): the links of the
        transport network.
    """

    municipalities: pd.DataFrame
    history: pd.DataFrame
    indicators: Mapping[str, pd.Series] = field(default_factory=dict)
    adjacency: pd.DataFrame | None = None

    @property
    def codes(self) -> pd.Index:
        return self.municipalities.index
