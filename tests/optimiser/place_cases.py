"""Small, readable placement instances: municipalities on a line, travel
minutes = distance along it, households given by the fields that matter."""
from __future__ import annotations

import pandas as pd

from optimiser.place import PlaceInputs, PlaceParams, place
from optimiser.plan import SolverConfig
from pipeline.solvers import make_solvers

SOLVERS = make_solvers(SolverConfig(presolve=False))
PARAMS = PlaceParams()


def codes(n: int) -> list[str]:
    return [f"{i + 1:04d}" for i in range(n)]


def line_travel(positions: list[float]) -> pd.DataFrame:
    """Minutes between municipalities at ``positions`` (minutes along a line)."""
    index = codes(len(positions))
    return pd.DataFrame([[abs(a - b) for b in positions] for a in positions], index=index, columns=index)


def municipalities(room: list[int], **columns) -> pd.DataFrame:
    """One row per municipality; ``decision`` defaults to ``room``, the needs
    rooms to the room (not binding), ``extra_room`` and ``already`` to 0."""
    n = len(room)
    frame = {"room": room, "extra_room": [0] * n, "health_room": room, "em_room": room, "decision": room,
             "already": [0] * n}
    frame.update({k: (v if isinstance(v, list) else [v] * n) for k, v in columns.items()})
    return pd.DataFrame(frame, index=codes(n))


def households(rows: list[dict]) -> pd.DataFrame:
    """One household per dict; defaults: 1 person, no needs, no tie, ready 1 March."""
    out = []
    for i, row in enumerate(rows):
        persons = row.get("persons", 1)
        minor = row.get("unaccompanied_minor", False)
        out.append({"household_id": row.get("household_id", f"H{i + 1:03d}"), "persons": persons,
                    "adults": 0 if minor else min(persons, 2), "children": persons - (0 if minor else min(persons, 2)),
                    "unaccompanied_minor": minor, "complex_health": row.get("complex_health", False),
                    "tie": row.get("tie"), "ready_date": pd.Timestamp(row.get("ready_date", "2022-03-01")),
                    **({"registered_date": pd.Timestamp(row["registered_date"])} if "registered_date" in row else {})})
    return pd.DataFrame(out)


def placed(h: pd.DataFrame, m: pd.DataFrame, travel: pd.DataFrame, params: PlaceParams = PARAMS):
    """The result of placing ``h`` and its household_id -> kommunenummer map."""
    result = place(PlaceInputs(h, m, travel), params, SOLVERS)
    return result, result.placements.set_index("household_id")["kommunenummer"]
