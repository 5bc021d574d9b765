"""What a placement reads besides its plan: arrivals, ledger, refugee population.
Every bad row names file:row:field; the command stops with exit 2 and writes nothing."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.__main__ import main
from pipeline.errors import InputError
from pipeline.inputs.arrivals import read_arrivals, read_ledger, read_refugee_population
from pipeline.inputs.catalog import plan_input_paths
from pipeline.inputs.source import Source
from pipeline.plans.placement import resolve_batch
from pipeline.plans.resolve import resolve_plan

CODES = pd.Index(["0301", "4601", "5001"])
HEADER = ("household_id,persons,adults,children,unaccompanied_minor,complex_health,tie_kommunenummer,ready_date,"
          "registered_date\n")
GOOD = ["H1,3,2,1,false,false,0301,2022-03-01,2022-03-20",
        "H2,1,0,1,true,false,,2022-05-02,",
        "H3,2,1,1,false,true,4601,2022-12-28,2023-01-09"]


def arrivals(rows: list[str], header: str = HEADER, name: str = "arrivals.csv"):
    return read_arrivals(Source.of_text(name, header + "\n".join(rows) + "\n"), CODES, 2022)


def test_good_arrivals_read_with_their_types():
    a = arrivals(GOOD).households
    assert a["household_id"].tolist() == ["H1", "H2", "H3"]
    assert a["tie"].tolist() == ["0301", None, "4601"]
    assert a["unaccompanied_minor"].tolist() == [False, True, False]
    assert a["ready_date"].dt.year.tolist() == [2022] * 3
    assert pd.isna(a.loc[1, "registered_date"])


def test_registered_date_column_may_be_left_out():
    header = HEADER.replace(",registered_date", "")
    a = arrivals([row.rsplit(",", 1)[0] for row in GOOD], header=header).households
    assert a["registered_date"].isna().all()


def test_synthetic_first_line_is_recognised():
    text = "# SYNTHETIC: drawn for tests\n" + HEADER + "\n".join(GOOD) + "\n"
    read = read_arrivals(Source.of_text("a.csv", text), CODES, 2022)
    assert read.synthetic and read.note.startswith("# SYNTHETIC")
    assert not arrivals(GOOD).synthetic


# One adult alone, no tie, ready 1 March 2022; each case below changes what it names.
SINGLE = {"household_id": "H1", "persons": "1", "adults": "1", "children": "0", "unaccompanied_minor": "false",
          "complex_health": "false", "tie_kommunenummer": "", "ready_date": "2022-03-01", "registered_date": ""}
BAD = {
    "persons": ({"persons": "2"}, "2 persons but 1 adults + 0 children"),
    "adults": ({"unaccompanied_minor": "true"}, "an unaccompanied minor with 1 adults"),
    "unaccompanied_minor": ({"adults": "0", "children": "1"}, "no adult in the household"),
    "tie_kommunenummer": ({"tie_kommunenummer": "9999"}, "unknown kommunenummer '9999'"),
    "tie_kommunenummer (leading zero)": ({"tie_kommunenummer": "301"}, "not a 4-digit kommunenummer"),
    "persons (none)": ({"persons": "0", "adults": "0"}, "below the minimum 1"),
    "persons (too many)": ({"persons": "25", "children": "24"}, "above the plausible maximum 20"),
    "ready_date": ({"ready_date": "2022-13-01"}, "not a date as YYYY-MM-DD"),
    "ready_date (year)": ({"ready_date": "2023-02-01"}, "ready on 2023-02-01, the plan is for 2022"),
    "registered_date": ({"registered_date": "2022-02-01"}, "before it was ready"),
    "unaccompanied_minor (word)": ({"unaccompanied_minor": "yes"}, "expected true or false"),
    "complex_health": ({"complex_health": ""}, "empty value"),
    "household_id": ({"household_id": "=cmd()"}, "is not a plain id"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_row_names_file_row_and_field(case):
    change, what = BAD[case]
    row = ",".join({**SINGLE, **change}.values())
    with pytest.raises(InputError) as caught:
        arrivals([row] + GOOD[1:])
    assert caught.value.where == f"arrivals.csv:2:{case.split(' ')[0]}"
    assert what in caught.value.what


def test_repeated_household_id_is_refused_at_its_second_row():
    with pytest.raises(InputError, match=r"arrivals.csv:4:household_id: duplicated household_id 'H1'"):
        arrivals(GOOD[:2] + [GOOD[0]])


def test_missing_column_and_empty_file_are_named():
    with pytest.raises(InputError, match="missing column 'tie_kommunenummer'"):
        arrivals(GOOD, header=HEADER.replace("tie_kommunenummer", "tie"))
    with pytest.raises(InputError, match="header but no rows"):
        arrivals([], header=HEADER)


# --------------------------------------------------------------------------- ledger

LEDGER = "kommunenummer,settled,assigned\n0301,70,12\n4601,40,0\n"


def test_ledger_without_needs_columns_counts_none_with_needs():
    ledger = read_ledger(Source.of_text("placement_ledger.csv", LEDGER), CODES)
    assert ledger.loc["0301"].tolist() == [70, 12, 0, 0]


def test_ledger_saying_less_settled_than_the_status_file_is_refused():
    with pytest.raises(InputError, match=r"placement_ledger.csv:2:settled: 0301 has settled 70, fewer than the 80"):
        read_ledger(Source.of_text("placement_ledger.csv", LEDGER), CODES, pd.Series({"0301": 80.0}))


def test_ledger_needs_above_the_persons_held_are_refused():
    text = "kommunenummer,settled,assigned,complex_health\n0301,5,1,7\n"
    with pytest.raises(InputError, match=r":2:complex_health: 7 persons, more than the 6 settled and assigned"):
        read_ledger(Source.of_text("placement_ledger.csv", text), CODES)


# --------------------------------------------------------------------------- refugee population

def test_refugee_population_is_the_latest_year_before_the_plan_year():
    text = ("aar,kommunenummer,flyktninger_og_familieinnvandrede\n" + "".join(
        f"{y},{c},{v}\n" for y in (2020, 2021, 2022) for c, v in zip(CODES, (10 * y, 5, 2.5))))
    series, year = read_refugee_population(Source.of_text("r.csv", text), CODES, 2022)
    assert year == 2021
    assert series.tolist() == [20210.0, 5.0, 2.5]
    with pytest.raises(InputError, match="no year before the plan year 2020"):
        read_refugee_population(Source.of_text("r.csv", text), CODES, 2020)


# --------------------------------------------------------------------------- the command

def test_bad_arrivals_stop_the_command_with_exit_2_and_nothing_written(tmp_path, capsys):
    bad = tmp_path / "week-12.csv"
    bad.write_text(HEADER + "H1,2,1,0,false,false,0301,2022-03-01,\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["place", "--plan", "2022-03", "--arrivals", str(bad), "--out", str(out)]) == 2
    assert f"{bad}:2:persons" in capsys.readouterr().err
    assert not out.exists()


def test_batch_name_must_be_a_plain_name(tmp_path):
    bad = tmp_path / ".hidden.csv"
    bad.write_text(HEADER + GOOD[0] + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="batch name"):
        resolve_batch(resolve_plan("2022-03"), bad)


def test_placement_files_are_not_plan_inputs_and_the_ledger_enters_the_batch(tmp_path):
    """Arrivals and the ledger in the plan's folder leave the plan's
    fingerprint alone; the ledger changes the batch's fingerprint."""
    data = tmp_path / "data"
    shutil.copytree("data", data)
    before = resolve_plan("2022-03", data_dir=data)
    own = data / "inputs" / "2022-03"
    arrivals_file = own / "arrivals-test.csv"
    arrivals_file.write_text(HEADER + "\n".join(GOOD) + "\n", encoding="utf-8")
    without = resolve_batch(before, arrivals_file)
    (own / "placement_ledger.csv").write_text(LEDGER, encoding="utf-8")
    after = resolve_plan("2022-03", data_dir=data)
    assert after.fingerprint == before.fingerprint
    assert not [p for p in plan_input_paths("2022-03", data) if p.name.startswith(("arrivals", "placement"))]
    batch = resolve_batch(after, arrivals_file)
    assert batch.fingerprint != without.fingerprint
    assert set(batch.input_hashes()) == {str(arrivals_file), str(own / "placement_ledger.csv")}
    assert batch.carried()["household_id"].tolist() == ["H3"]
    assert Path(batch.arrivals_source.path) == arrivals_file


# --------------------------------------------------------------------------- synthetic arrivals

def test_illustrate_arrivals_writes_a_labelled_file_that_reads_back_the_same_for_a_seed(tmp_path):
    data = tmp_path / "data"
    shutil.copytree("data", data)
    folder = data / "inputs" / "2022-03"
    args = ["illustrate-arrivals", "--plan", "2022-03", "--households", "60", "--seed", "3", "--data-dir", str(data)]
    assert main(args + ["--out-file", str(folder / "arrivals-a.csv")]) == 0
    assert main(args + ["--out-file", str(folder / "arrivals-b.csv")]) == 0
    first = (folder / "arrivals-a.csv").read_bytes()
    assert first == (folder / "arrivals-b.csv").read_bytes()
    assert first.startswith(b"# SYNTHETIC: not real households.")
    known = pd.Index(pd.read_csv(data / "population_kommune_2020_2023.csv", dtype=str)["kommunenummer"])
    read = read_arrivals(Source.read(folder / "arrivals-a.csv"), known, 2022)
    assert read.synthetic and len(read.households) == 60
    assert (read.households["adults"] + read.households["children"] == read.households["persons"]).all()


@pytest.mark.parametrize("name", ["elsewhere/arrivals-x.csv", "inputs/2022-03/week.csv"])
def test_illustrate_arrivals_writes_only_arrivals_files_in_the_plans_folder(tmp_path, name):
    target = (tmp_path / name) if name.startswith("elsewhere") else Path("data") / name
    code = main(["illustrate-arrivals", "--plan", "2022-03", "--households", "5", "--out-file", str(target)])
    assert code == 2
    assert not target.exists()
