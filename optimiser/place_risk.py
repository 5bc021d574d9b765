"""Complex-health room at risk: the chance that a later family needs it.

Room for complex health needs is a few places per municipality, and a family
with such needs must find it whole within reach of its tie.  Looking ahead
(``optimiser.place_year``), the few households with such needs drawn as
expected later cannot say which family of three will need which room of
three: in a region whose ties reach a single room of three or more, one
family of three tied there goes beyond reach if that room has been broken,
whoever broke it.  ``room_risk`` gives each room, per family size, that
chance, from the families expected in the rest of the year by tie and size
(``expected_families``); ``optimiser.place.health_fit`` prices the sizes a
household would leave a room unable to host by it.

For a tie t and a size q, the families of at least q persons expected later
with tie t are counted as Poisson with mean lambda_tq, and H_tq rooms in
reach of t can host such a family (complex-health room of at least q).
P(N_tq >= H_tq) is the chance that all of them are needed.  A room's risk
for size q is that chance summed over the ties in reach of it: many rooms
in reach, or few families expected, is no risk; the one room of a region
where such families come is.  Rooms beyond reach carry none (a family no
room in reach can host is placed as near as room allows, by rule 2), and a
room counts once whatever its size: a room of 12 is not two rooms of 6.
Both were tried (BENCHMARKS.md): neither changed a placement's travel.

Measured (BENCHMARKS.md, "Placement year: looking ahead", sixth round): on
the shipped synthetic year the weekly year's travel cost falls to the
optimum's; a family of three tied in Kinn no longer goes beyond reach
because a family tied near Stryn took Kinn's only room of three or more.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def expected_families(pool: pd.DataFrame, n: float, largest: int) -> pd.DataFrame:
    """Families with complex health needs expected later, ``n`` in all, drawn
    like ``pool`` (this year's arrivals so far): index tie, columns sizes
    1..``largest``, the expected number with that tie and at least that many
    persons (n times their share of ``pool``; households without a tie count
    in the share but need no room in reach of anyone)."""
    sizes = range(1, largest + 1)
    tied = pool[pool["tie"].notna()]
    if tied.empty or n <= 0:
        return pd.DataFrame(columns=list(sizes), dtype=float)
    persons = tied["persons"].astype(int).to_numpy()
    at_least = pd.DataFrame({q: persons >= q for q in sizes}, index=tied.index).groupby(
        tied["tie"].astype(str).to_numpy()).sum()
    return at_least * (n / len(pool))


def poisson_at_least(mean: np.ndarray, count: np.ndarray) -> np.ndarray:
    """P(N >= count) for N ~ Poisson(mean), elementwise (count whole, >= 0)."""
    mean = np.asarray(mean, dtype=float)
    count = np.asarray(count, dtype=int)
    term, below = np.exp(-mean), np.zeros_like(mean)
    for k in range(int(count.max()) if count.size else 0):
        below += np.where(k < count, term, 0.0)
        term = term * mean / (k + 1)
    return np.clip(1.0 - below, 0.0, 1.0)


def room_risk(families: pd.DataFrame, municipalities: pd.DataFrame, travel: pd.DataFrame,
              reasonable_minutes: float) -> pd.DataFrame:
    """Per municipality (rows, as ``municipalities``) and family size
    (columns of ``families``): the chance, summed over the ties it hosts that
    size for, that every room able to host such a family of the tie is needed
    (see the module docstring).  ``municipalities``: ``health_room`` now."""
    codes = municipalities.index
    room = municipalities["health_room"].to_numpy(dtype=float)
    risk = pd.DataFrame(0.0, index=codes, columns=families.columns)
    if families.empty:
        return risk
    minutes = travel.reindex(index=families.index, columns=codes).to_numpy(dtype=float)
    within = minutes <= reasonable_minutes
    for q in families.columns:
        serves = within & (room >= q)[None, :]
        chance = poisson_at_least(families[q].to_numpy(dtype=float), serves.sum(axis=1))
        risk[q] = serves.T.astype(float) @ np.where(serves.any(axis=1), chance, 0.0)
    return risk


def risk_left_behind(risk: pd.DataFrame, room: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Per household size (rows, ``persons``) and municipality (columns,
    ``risk``'s rows, complex-health ``room`` each): the risk summed over the
    sizes the room hosts now and no longer would with the household in it."""
    sizes = risk.columns.to_numpy(dtype=int)
    largest = int(sizes.max()) if len(sizes) else 0
    per_size = np.zeros((len(risk), largest + 1))
    per_size[:, sizes] = risk.to_numpy(dtype=float)
    cumulative = np.cumsum(per_size, axis=1)  # cumulative[:, j]: sizes 1..j
    before = np.clip(room, 0, largest).astype(int)[None, :]
    after = np.clip(room[None, :] - persons[:, None], 0, largest).astype(int)
    columns = np.arange(len(risk))[None, :]
    return cumulative[columns, before] - cumulative[columns, after]
