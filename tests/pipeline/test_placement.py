"""Placement end to end: ``python -m pipeline place`` on the small synthetic
file against the March 2022 re-plan, and ``place-year`` on a few households.
One published plan run serves the whole module."""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from optimiser.verify_place import verify_placement
from pipeline.__main__ import main
from pipeline.inputs.arrivals import read_arrivals
from pipeline.inputs.source import Source
from pipeline.plans.inputs import read_inputs
from pipeline.plans.placement import outcome_values, placement_params
from pipeline.plans.resolve import resolve_plan
from pipeline.publish.network import network_from_json

PLAN = "2022-03"
SMALL = Path("data/inputs/2022-03/arrivals-synthetic-small.csv")
FOLDER = f"{PLAN}-placement-{SMALL.stem}"
MINUTES = 90.0


READS: Counter = Counter()


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    """The placement of the small file, counting every file read on the way."""
    out = tmp_path_factory.mktemp("placement") / "out"
    original = Source.read.__func__

    def counting_read(cls, path, *args, **kwargs):
        READS[str(path)] += 1
        return original(cls, path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Source, "read", classmethod(counting_read))
        assert main(["place", "--plan", PLAN, "--arrivals", str(SMALL), "--out", str(out)]) == 0
    return out


def test_the_arrivals_and_every_other_file_are_read_once(out):
    assert READS[str(SMALL)] == 1
    assert READS[str(out / PLAN / "allocation.csv")] == 1
    assert max(READS.values()) == 1, [name for name, n in READS.items() if n > 1]


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / FOLDER / name, dtype={"kommunenummer": str, "tie": str, "household_id": str})


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def cached_network(out: Path):
    """The network the placement's tasks built (the one network cache of ``out``)."""
    return network_from_json(json.loads(next((out / ".cache" / "network").glob("*/network.json")).read_text()))


def households() -> pd.DataFrame:
    return read_arrivals(Source.read(SMALL), pd.Index([f"{i:04d}" for i in range(10000)]), 2022).households


def test_placement_writes_a_folder_of_its_own_beside_the_plans_run(out):
    files = {p.name for p in (out / FOLDER).iterdir()}
    assert files == {"placements.csv", "carried.csv", "fill.csv", "verify.json", "manifest.json"}
    assert not [p for p in (out / PLAN).iterdir() if "placement" in p.name]


def test_every_household_is_placed_once_or_carried_to_next_years_decision(out):
    placed, carried = read(out, "placements.csv"), read(out, "carried.csv")
    assert not placed["household_id"].duplicated().any()
    assert set(placed["household_id"]).isdisjoint(carried["household_id"])
    assert set(placed["household_id"]) | set(carried["household_id"]) == set(households()["household_id"])
    assert len(carried) > 0
    assert (pd.to_datetime(carried["registered_date"]).dt.year == 2023).all()
    assert (carried["counts_in_year"] == 2023).all()


def test_no_municipality_above_its_decision_plus_extra(out):
    fill = read(out, "fill.csv")
    assert (fill["placed"] <= fill["room"] + fill["extra_room"]).all()
    assert (fill["settled"] + fill["assigned_before"] + fill["placed"] <= fill["decision"] + fill["extra_room"]).all()
    assert fill["placed"].sum() == read(out, "placements.csv")["persons"].sum()


def test_tied_households_are_within_reach_wherever_room_in_reach_is_left(out):
    """The independent check again, from the written files and the plan's network."""
    assert json.loads((out / FOLDER / "verify.json").read_text())["ok"] is True
    net = cached_network(out)
    rooms = read(out, "fill.csv").set_index("kommunenummer")
    h = households()
    h = h[h["household_id"].isin(read(out, "placements.csv")["household_id"])]
    assert verify_placement(h, rooms, net.travel, read(out, "placements.csv"), MINUTES) == []
    placed = read(out, "placements.csv")
    within = placed["tie"].notna() & (placed["minutes_from_tie"] <= MINUTES)
    assert within.sum() >= 0.95 * placed["tie"].notna().sum()


def test_manifest_records_the_arrivals_the_plan_and_that_the_input_was_synthetic(out):
    m = manifest(out / FOLDER)
    assert m["synthetic"] is True and m["arrivals_note"].startswith("# SYNTHETIC")
    assert m["inputs"][str(SMALL)] == hashlib.sha256(SMALL.read_bytes()).hexdigest()
    assert m["plan_fingerprint"] == manifest(out / PLAN)["fingerprint"]
    allocation = out / PLAN / "allocation.csv"
    assert m["inputs"][str(allocation)] == hashlib.sha256(allocation.read_bytes()).hexdigest()
    assert m["status"] in ("optimal", "feasible") and m["lp_bound"] <= m["objective"] + 1e-6
    assert m["counts"]["households"] + m["counts"]["carried_households"] == len(households())
    assert m["fill"]["after"]["std"] >= 0 and m["verify"]["ok"]


def test_the_outcome_is_the_plans_criterion_and_off_by_default(out):
    """placement.outcome names a criterion; its values are the plan's own
    (labour_market: log of the population within reach over the largest),
    and the shipped plan leaves the outcome off (weight 0)."""
    net = cached_network(out)
    assert outcome_values(read_inputs(resolve_plan(PLAN)), net.access) is None
    assert manifest(out / FOLDER)["outcome"] is None and manifest(out / FOLDER)["params"]["outcome_weight"] == 0
    resolved = resolve_plan(PLAN, overrides={"placement": {"outcome": "labour_market", "outcome_weight": 0.2}})
    assert placement_params(resolved).outcome_weight == 0.2
    values = outcome_values(read_inputs(resolved), net.access)
    reach = net.access["reachable_population"].reindex(values.index)
    assert values.between(0, 1).all() and values.max() == 1.0
    assert values.rank().corr(reach.rank()) == pytest.approx(1.0)


def test_a_republished_plan_leaves_the_placement_in_place(out):
    """Publish replaces out/<plan>/ as a whole; the placement lives beside it,
    and with nothing changed it is complete and not redone."""
    before = (out / FOLDER / "manifest.json").stat().st_mtime_ns
    (out / PLAN / "manifest.json").unlink()
    assert main(["reallocate", "--plan", PLAN, "--out", str(out)]) == 0
    assert (out / FOLDER / "manifest.json").is_file()
    assert main(["place", "--plan", PLAN, "--arrivals", str(SMALL), "--out", str(out)]) == 0
    assert (out / FOLDER / "manifest.json").stat().st_mtime_ns == before


def test_place_year_compares_weeks_against_hindsight_and_counts_by_registration(out, tmp_path):
    arrivals = tmp_path / "weeks.csv"
    arrivals.write_text(
        "household_id,persons,adults,children,unaccompanied_minor,complex_health,tie_kommunenummer,ready_date,"
        "registered_date\n"
        "A,3,2,1,false,false,1860,2022-12-12,2022-12-20\n"
        "B,2,1,1,false,false,1860,2022-12-13,\n"
        "C,1,1,0,false,false,,2022-12-20,2022-12-28\n"
        "D,4,2,2,false,false,0301,2022-12-21,2022-12-30\n"
        "E,2,2,0,false,false,1860,2022-12-28,2023-01-04\n", encoding="utf-8")
    assert main(["place-year", "--plan", PLAN, "--arrivals", str(arrivals), "--out", str(out)]) == 0
    folder = out / f"{PLAN}-year-weeks"
    weeks = pd.read_csv(folder / "year.csv")
    assert weeks["week_start"].tolist() == ["2022-12-12", "2022-12-19"]
    assert weeks["households"].tolist() == [2, 2]
    carried = pd.read_csv(folder / "carried.csv")
    assert carried["household_id"].tolist() == ["E"]
    compared = pd.read_csv(folder / "comparison.csv").set_index("measure")
    assert {"total_cost", "fill_spread_std", "beyond_reach"} <= set(compared.index)
    m = manifest(folder)
    assert m["objective_ratio"] >= 1 - 1e-4
    # The hindsight's LP bound bounds both years; nothing with complex health needs came, so nothing held room.
    assert m["hindsight_lp_bound"] <= min(m["hindsight"]["total_cost"], m["weekly"]["total_cost"]) + 1e-6
    assert m["best_known"] == min(m["hindsight"]["total_cost"], m["weekly"]["total_cost"])
    assert m["look_ahead"]["held_for_later_households"] == 0 and weeks["held_for_later"].sum() == 0
    assert m["synthetic"] is False
