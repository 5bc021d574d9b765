"""The tables of a run folder the documents are rendered from.

Letters and the report are rendered from the run's own files (``allocation.csv``,
``targets.csv``, ``explain.csv``, ``shortfalls.csv``), read back after they are
written, so a run, the audit's rebuild and the PDF command all render from
the same bytes.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.inputs.source import Source
from pipeline.publish.solution import read_run_allocation

TARGETS, EXPLAIN, SHORTFALLS = "targets.csv", "explain.csv", "shortfalls.csv"


@dataclass(frozen=True)
class RunTables:
    """``allocation``: one row per municipality (``kommunenummer`` a column);
    ``targets``: by kommunenummer, ``target`` and ``contribution_<criterion>`` (persons);
    ``binding``: by kommunenummer, the limits that hold ('' where none);
    ``shortfalls``: a re-plan's declined quotas and where they went, else None."""

    allocation: pd.DataFrame
    targets: pd.DataFrame
    binding: pd.Series
    shortfalls: pd.DataFrame | None = None

    @property
    def is_replan(self) -> bool:
        return {"previous", "change"} <= set(self.allocation.columns)


def read_run_tables(folder: Path) -> RunTables:
    folder = Path(folder)
    allocation = read_run_allocation(folder).reset_index()
    targets = _csv(folder / TARGETS).set_index("kommunenummer")
    binding = _csv(folder / EXPLAIN).set_index("kommunenummer")["binding"].fillna("")
    shortfalls = _csv(folder / SHORTFALLS, {"origin": str, "receiver": str}) if (folder / SHORTFALLS).is_file() else None
    return RunTables(allocation=allocation, targets=targets, binding=binding, shortfalls=shortfalls)


def _csv(path: Path, dtype: dict | None = None) -> pd.DataFrame:
    text = Source.read(path).text()
    return pd.read_csv(io.StringIO(text), dtype={"kommunenummer": str, **(dtype or {})})
