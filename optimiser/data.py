"""Typed, validated input frames handed from ``pipeline`` to the optimiser.

All frames are indexed or keyed by ``kommunenummer``: a 4-character string
(``0301`` Oslo), never an integer.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
        IMDi's settlement history, years strictly before the plan year: one
        row per municipality and year with ``requested``, ``decided``,
        ``settled``, ``requested_original`` (before a mid-year cut, 2020) and
        the hidden-cell counts (``optimiser.history``'s columns); empty when
        none is on file.
    population_history
        ``kommunenummer``, ``year``, ``population`` (1 January), years before
        the plan year.
    refugees
        ``kommunenummer``, ``year``, ``refugees`` (refugees and reunited family
        living there on 1 January), years before the plan year; may be empty.
    indicators
        planner-supplied criteria (``introduction_results``, ``employment``):
        a Series per criterion indexed by ``kommunenummer``, values >= 0,
        larger is better.
    adjacency
        columns ``a``, ``b``, ``kind`` (``border``, ``point``, ``water``,
        ``ferry``), ``fixed_minutes`` (a ferry route's crossing minutes, NaN
        for other kinds): the links of the transport network
        (``optimiser.network``).
    """

    municipalities: pd.DataFrame
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    indicators: Mapping[str, pd.Series] = field(default_factory=dict)
    adjacency: pd.DataFrame | None = None
    population_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    refugees: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def codes(self) -> pd.Index:
        return self.municipalities.index


@dataclass(frozen=True)
class KsInput:
    """KS (the municipalities' association): agreement and hard adjustments.

    caps: persons, per kommunenummer (hard upper limits).
    exclusions: reason per kommunenummer (never asked).
    minimum_exceptions: minimum request per kommunenummer replacing the
    plan's minimum (the minimum-10 rule as KS agreed to bend it).
    """

    agrees: bool
    reference: str
    date: str
    caps: pd.Series
    exclusions: pd.Series
    minimum_exceptions: pd.Series


@dataclass(frozen=True)
class Submissions:
    """What the county authorities, KS and the municipalities sent for a plan.

    recommendations: index kommunenummer; ``recommended`` (persons, NaN = no
      recommendation), ``recommended_em`` (unaccompanied minors, NaN), ``reason``.
    answers: index kommunenummer (only those that answered); ``decision``
      (vedtak, NaN if not yet decided), ``base_capacity``, ``extra_capacity``
      (volunteered if the need grows), ``complex_health_capacity``,
      ``em_capacity``.
    illustrative: True when the files are illustrative stand-ins, not real
      submissions (the run and its outputs say so).
    """

    recommendations: pd.DataFrame
    ks: KsInput | None
    answers: pd.DataFrame
    illustrative: bool = False
