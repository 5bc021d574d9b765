"""Independent check of a household placement.

Plain pandas, no solver and no code shared with ``optimiser.place``: if the
placement model or its rounding has a bug, this is what notices.  Each
violation names the household (or municipality), the rule and the amount.

Rules checked:

placed_once          every household in exactly one row of the placements
unknown_household    no placement for a household not in the batch
unknown_municipality no placement in a municipality not in the frame
room                 persons placed <= room + extra_room
complex_health       persons with complex health needs placed <= health_room
unaccompanied_minors unaccompanied minors placed <= em_room
within_reach         a tied household is beyond reasonable minutes of its
                     tie only if no municipality within reach of the tie
                     still has room for it at the end (room + extra, and
                     health or EM room where it needs them); the amount is
                     its minutes beyond reach
"""
from __future__ import annotations

import pandas as pd

from optimiser.verify import Violation

RULES = ["placed_once", "unknown_household", "unknown_municipality", "room", "complex_health",
         "unaccompanied_minors", "within_reach"]


def verify_placement(households: pd.DataFrame, municipalities: pd.DataFrame, travel: pd.DataFrame,
                     placements: pd.DataFrame, reasonable_minutes: float) -> list[Violation]:
    """All violations of the placement rules by ``placements`` (columns
    ``household_id``, ``kommunenummer``) of ``households`` (columns
    ``household_id``, ``persons``, ``complex_health``, ``unaccompanied_minor``,
    ``tie``) into ``municipalities`` (index kommunenummer; ``room``,
    ``extra_room``, ``health_room``, ``em_room``)."""
    out = _placed_once(households, placements)
    out += _unknown_municipalities(municipalities, placements)
    where = placements.drop_duplicates("household_id").set_index("household_id")["kommunenummer"]
    h = households.set_index("household_id").assign(at=where)
    h = h[h["at"].isin(municipalities.index)]
    used = _persons_used(h, municipalities.index)
    out += _over(used["persons"], municipalities["room"] + municipalities["extra_room"], "room",
                 "persons placed {got:g}, room and extra room {cap:g}")
    out += _over(used["health"], municipalities["health_room"], "complex_health",
                 "persons with complex health needs placed {got:g}, room for {cap:g}")
    out += _over(used["em"], municipalities["em_room"], "unaccompanied_minors",
                 "unaccompanied minors placed {got:g}, room for {cap:g}")
    out += _within_reach(h, municipalities, travel, used, reasonable_minutes)
    return out


def _placed_once(households: pd.DataFrame, placements: pd.DataFrame) -> list[Violation]:
    counts = placements["household_id"].value_counts()
    counts = counts.reindex(households["household_id"], fill_value=0)
    out = [Violation("placed_once", str(i), float(n - 1) if n else 1.0,
                     "not placed" if n == 0 else f"placed {n} times")
           for i, n in counts.items() if n != 1]
    unknown = sorted(set(placements["household_id"]) - set(households["household_id"]))
    out += [Violation("unknown_household", str(i), 1.0, "placed but not in the batch") for i in unknown]
    return out


def _unknown_municipalities(municipalities: pd.DataFrame, placements: pd.DataFrame) -> list[Violation]:
    bad = placements[~placements["kommunenummer"].isin(municipalities.index)]
    return [Violation("unknown_municipality", str(i), 1.0, f"placed in {c!r}, not a municipality of the frame")
            for i, c in zip(bad["household_id"], bad["kommunenummer"])]


def _persons_used(h: pd.DataFrame, codes: pd.Index) -> pd.DataFrame:
    persons = h["persons"].astype(float)
    table = pd.DataFrame({"at": h["at"], "persons": persons,
                          "health": persons.where(h["complex_health"].astype(bool), 0.0),
                          "em": persons.where(h["unaccompanied_minor"].astype(bool), 0.0)})
    return table.groupby("at")[["persons", "health", "em"]].sum().reindex(codes, fill_value=0.0)


def _over(got: pd.Series, cap: pd.Series, rule: str, template: str) -> list[Violation]:
    over = got - cap
    return [Violation(rule, str(c), float(over[c]), template.format(got=got[c], cap=cap[c]))
            for c in over.index[over > 0]]


def _within_reach(h: pd.DataFrame, municipalities: pd.DataFrame, travel: pd.DataFrame, used: pd.DataFrame,
                  reasonable_minutes: float) -> list[Violation]:
    m = municipalities
    left = pd.DataFrame({"persons": m["room"] + m["extra_room"] - used["persons"],
                         "health": m["health_room"] - used["health"], "em": m["em_room"] - used["em"]})
    tied = h[h["tie"].notna()]
    out = []
    for household, row in tied.iterrows():
        minutes = float(travel.at[str(row["tie"]), row["at"]])
        if minutes <= reasonable_minutes:
            continue
        reach = travel.loc[str(row["tie"]), m.index] <= reasonable_minutes
        room = reach & (left["persons"] >= row["persons"])
        if bool(row["complex_health"]):
            room &= left["health"] >= row["persons"]
        if bool(row["unaccompanied_minor"]):
            room &= left["em"] >= row["persons"]
        if room.any():
            first = room.index[room][0]
            out.append(Violation("within_reach", str(household), minutes - reasonable_minutes,
                                 f"placed {minutes:.0f} minutes from its tie {row['tie']}, but {first} within "
                                 f"{reasonable_minutes:g} minutes still has room for its {int(row['persons'])} persons"))
    return out
