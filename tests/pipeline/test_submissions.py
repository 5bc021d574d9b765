"""County recommendations, KS input and municipal answers through the command line.

Every test copies the real ``data/`` and ``config/`` into ``tmp_path`` and
changes what it says (the ``shipped`` runs change nothing).  Bad input stops
the run with one line naming file, row and field, exit status 2 and nothing
under ``<out>/2022/``.  Good input is checked against the files themselves:
expected numbers are read from the input files or worked out by hand, not
taken from the code under test (the one exception, a county's spread
minimum, is an input to the diagnosis and comes from the unchanged run).
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.factories import write_config
from tests.pipeline.test_end_to_end import allocate
from tests.pipeline.test_inputs import assert_stopped, line_of, read_rows, set_cell

PLAN = "2022"
NEED = 5500
EM_MUNICIPAL = 141 - 30  # config/2022.yaml: 141 unaccompanied minors, 30 under 15 placed by Bufetat
EM_MINIMUM = 2
HEALTH_SHARE_PERCENT = 5  # complex_health_share 0.05
INPUTS = Path("inputs") / PLAN
ALVER, BERGEN, OSLO, TRONDHEIM = "4631", "4601", "0301", "5001"


def copy_tree(root: Path, change_config=None) -> Path:
    """The real data and config under ``root``; ``change_config(raw)`` edits the plan."""
    shutil.copytree("data", root / "data")
    shutil.copytree("config", root / "config")
    if change_config is not None:
        write_config(root / "config", change_config)
    return root


@pytest.fixture
def tree(tmp_path) -> Path:
    return copy_tree(tmp_path)


def inputs_file(tree: Path, name: str) -> Path:
    return tree / "data" / INPUTS / name


def county_file(tree: Path, fylke: str) -> Path:
    return inputs_file(tree, f"counties/{fylke}.csv")


def rows_of(path: Path) -> dict[str, dict]:
    """The data rows of a submissions CSV by kommunenummer, read with the csv module."""
    lines, _, header_at = read_rows(path)
    return {row["kommunenummer"]: row for row in csv.DictReader(lines[header_at:])}


def edit_ks(tree: Path, change) -> Path:
    path = inputs_file(tree, "ks.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def append_line(path: Path, line: str) -> int:
    """Append a data line; return its 1-based line number."""
    text = path.read_text(encoding="utf-8")
    text += ("" if text.endswith("\n") else "\n") + line + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.splitlines())


def line_text(path: Path, code: str) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line_of(path, code) - 1]


def run_plan(root: Path):
    return allocate(root / "out", "--config-dir", str(root / "config"), "--data-dir", str(root / "data"))


def read_csv(folder: Path, name: str) -> pd.DataFrame:
    frame = pd.read_csv(folder / name, dtype={"kommunenummer": str, "fylke": str})
    return frame.set_index("kommunenummer") if "kommunenummer" in frame else frame.set_index("fylke")


def lock(*codes: str):
    return lambda raw: raw["submissions"].update(locked_municipalities=list(codes))


# --------------------------------------------------------------------------- bad input: one line, exit 2

def test_municipality_in_another_countys_file(tree, capsys):
    # Alver (46 Vestland) moved from 46.csv to the bottom of Trøndelag's 50.csv.
    own = county_file(tree, "46")
    row = line_text(own, ALVER)
    own.write_text("".join(line for line in own.read_text(encoding="utf-8").splitlines(keepends=True)
                           if not line.startswith(ALVER + ",")), encoding="utf-8")
    path = county_file(tree, "50")
    line = append_line(path, row)
    message = assert_stopped(tree, capsys, f"{path}:{line}:kommunenummer:")
    assert "4631 belongs to county 46, not 50" in message


CODE_FILES = ["counties/46.csv", "answers.csv"]


@pytest.mark.parametrize("name", CODE_FILES)
def test_unknown_kommunenummer(tree, capsys, name):
    path = inputs_file(tree, name)
    line = line_of(path, ALVER)
    set_cell(path, line, "kommunenummer", "4699")
    assert "unknown kommunenummer '4699'" in assert_stopped(tree, capsys, f"{path}:{line}:kommunenummer:")


@pytest.mark.parametrize("name", CODE_FILES)
def test_duplicated_kommunenummer(tree, capsys, name):
    path = inputs_file(tree, name)
    line = append_line(path, line_text(path, ALVER))
    assert "duplicated kommunenummer '4631'" in assert_stopped(tree, capsys, f"{path}:{line}:kommunenummer:")


# (file under data/inputs/2022, column, value written into Alver's row, words of the message)
FIGURE_CASES = {
    "negative_recommendation": ("counties/46.csv", "recommended", "-5", "below the minimum 0: '-5'"),
    "fractional_recommendation": ("counties/46.csv", "recommended", "12.5", "not a whole number: '12.5'"),
    "text_recommendation": ("counties/46.csv", "recommended", "ten", "not a number: 'ten'"),
    "negative_em_recommendation": ("counties/46.csv", "recommended_em", "-1", "below the minimum 0: '-1'"),
    "fractional_em_recommendation": ("counties/46.csv", "recommended_em", "1.5", "not a whole number: '1.5'"),
    "negative_base_capacity": ("answers.csv", "base_capacity", "-3", "below the minimum 0: '-3'"),
    "fractional_extra_capacity": ("answers.csv", "extra_capacity", "2.5", "not a whole number: '2.5'"),
    "negative_health_capacity": ("answers.csv", "complex_health_capacity", "-1", "below the minimum 0: '-1'"),
    "fractional_em_capacity": ("answers.csv", "em_capacity", "0.5", "not a whole number: '0.5'"),
    "county_file_for_another_year": ("counties/46.csv", "year", "2021", "file is for 2021, the plan is for 2022"),
    "answers_for_another_year": ("answers.csv", "year", "2023", "file is for 2023, the plan is for 2022"),
}


@pytest.mark.parametrize("name, column, value, words", FIGURE_CASES.values(), ids=FIGURE_CASES.keys())
def test_bad_figure_names_file_row_field(tree, capsys, name, column, value, words):
    path = inputs_file(tree, name)
    line = line_of(path, ALVER)
    set_cell(path, line, column, value)
    assert words in assert_stopped(tree, capsys, f"{path}:{line}:{column}:")


def test_em_capacity_larger_than_total_capacity(tree, capsys):
    path = inputs_file(tree, "answers.csv")
    alver = rows_of(path)[ALVER]
    total = int(alver["base_capacity"]) + int(alver["extra_capacity"])  # 59 + 30
    line = line_of(path, ALVER)
    set_cell(path, line, "em_capacity", str(total + 1))
    message = assert_stopped(tree, capsys, f"{path}:{line}:em_capacity:")
    assert f"EM capacity {total + 1} is larger than the total capacity {total}" in message


# (change to the parsed ks.yaml, where, words of the message)
KS_CASES = {
    "unknown_code": (lambda ks: ks["caps"][0].update(kommunenummer="4699"),
                     "caps[0].kommunenummer", "unknown kommunenummer '4699'"),
    "duplicated_exclusion": (lambda ks: ks.update(exclusions=[{"kommunenummer": ALVER, "reason": "a"},
                                                              {"kommunenummer": ALVER, "reason": "b"}]),
                             "exclusions[1].kommunenummer", "4631 listed twice under exclusions"),
    "negative_cap": (lambda ks: ks["caps"][0].update(max_persons=-1), "caps[0].max_persons", "negative cap -1"),
    "fractional_cap": (lambda ks: ks["caps"][0].update(max_persons=12.5), "caps[0].max_persons",
                       "expected an integer, got 12.5"),
    "negative_minimum_exception": (lambda ks: ks["minimum_exceptions"][0].update(minimum=-2),
                                   "minimum_exceptions[0].minimum", "negative minimum -2"),
    "another_year": (lambda ks: ks.update(year=2021), "year", "KS input is for 2021, the plan is for 2022"),
}


@pytest.mark.parametrize("change, where, words", KS_CASES.values(), ids=KS_CASES.keys())
def test_bad_ks_input_names_file_and_entry(tree, capsys, change, where, words):
    path = edit_ks(tree, change)
    message = assert_stopped(tree, capsys, str(path))
    # Type errors read "<file>: <entry>: ...", range errors "<file>:<entry>: ..."; both name the entry.
    assert re.match(rf"error: {re.escape(str(path))}: ?{re.escape(where)}: ", message), message
    assert words in message


def test_ks_cap_below_a_locked_recommendation(tmp_path, capsys):
    # ks.yaml caps Bergen at 117; 46.csv recommends 130.  Soft, that is only a
    # pull the cap overrides (the shipped plan runs); locked, the two contradict.
    tree = copy_tree(tmp_path, lambda raw: raw["submissions"].update(locked_counties=["46"]))
    ks = yaml.safe_load(inputs_file(tree, "ks.yaml").read_text(encoding="utf-8"))
    assert ks["caps"][0] == {"kommunenummer": BERGEN, "max_persons": 117, "reason": ks["caps"][0]["reason"]}
    assert rows_of(county_file(tree, "46"))[BERGEN]["recommended"] == "130"
    message = assert_stopped(tree, capsys, f"{inputs_file(tree, 'ks.yaml')}:caps[0].max_persons:")
    assert "KS cap 117 for 4601 is below its locked county recommendation 130" in message


def test_ks_exclusion_of_a_locked_recommendation(tmp_path, capsys):
    # Alver has no KS cap: the exclusion is checked on its own.
    tree = copy_tree(tmp_path, lock(ALVER))
    path = edit_ks(tree, lambda ks: ks.update(exclusions=[{"kommunenummer": ALVER, "reason": "test"}]))
    message = assert_stopped(tree, capsys, f"{path}:exclusions[0].kommunenummer:")
    assert "4631 is excluded by KS but its county recommendation 30 is locked" in message


# --------------------------------------------------------------------------- the shipped 2022 inputs

@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The plan on an untouched copy: its outputs and the input rows (by kommunenummer)."""
    root = copy_tree(tmp_path_factory.mktemp("shipped"))
    run = run_plan(root)
    assert run.status == 0, run.stderr
    recs = {}
    for path in sorted((root / "data" / INPUTS / "counties").glob("*.csv")):
        recs.update(rows_of(path))
    return {"allocation": read_csv(run.folder, "allocation.csv"), "county": read_csv(run.folder, "county.csv"),
            "county_minimum": read_csv(run.folder, "county_minimum.csv")["minimum"],
            "answers": rows_of(inputs_file(root, "answers.csv")), "recs": recs}


def test_allocation_carries_recommendation_and_extra_used(shipped):
    allocation, answers, recs = shipped["allocation"], shipped["answers"], shipped["recs"]
    for code, row in allocation.iterrows():
        given = recs.get(code, {}).get("recommended", "")
        assert (pd.isna(row["recommended"]) if given == "" else int(row["recommended"]) == int(given)), code
        base = int(answers[code]["base_capacity"])
        assert row["base_capacity"] == base
        assert row["extra_used"] == max(0, row["request"] - base), code
    # Base capacity alone (sum of the answers' base_capacity, about 11,300 where
    # eligible) is twice the need: no request draws on volunteered extra capacity.
    assert (allocation["extra_used"] == 0).all()


def test_ks_cap_and_minimum_exception_hold(shipped):
    allocation = shipped["allocation"]
    assert allocation.at[BERGEN, "request"] <= 117  # ks.yaml cap, below Bergen's target and recommendation
    assert allocation.at["4620", "request"] == 0 or allocation.at["4620", "request"] >= 5  # KS minimum 5


def test_complex_health_capacity_holds(shipped):
    # share * request <= stated capacity, in whole numbers: 5 * request <= 100 * capacity.
    allocation = shipped["allocation"]
    for code, row in shipped["answers"].items():
        if row["complex_health_capacity"] != "":
            assert HEALTH_SHARE_PERCENT * allocation.at[code, "request"] <= 100 * int(row["complex_health_capacity"])


def test_unaccompanied_minors_sub_quota(shipped):
    allocation, answers = shipped["allocation"], shipped["answers"]
    em = allocation["em_request"]
    assert em.sum() == EM_MUNICIPAL == 111
    capacity = pd.Series({code: int(row["em_capacity"] or 0) for code, row in answers.items()}).reindex(
        allocation.index, fill_value=0)
    asked = em > 0
    assert (capacity[asked] > 0).all() and allocation.loc[asked, "eligible"].all()
    assert (em <= capacity).all()
    assert (em <= allocation["request"]).all()  # EM counts inside the total
    assert (em[asked] >= EM_MINIMUM).all()


def test_county_table_sums_recommendations_and_deviation(shipped):
    allocation, county, recs = shipped["allocation"], shipped["county"], shipped["recs"]
    for fylke, row in county.iterrows():
        members = allocation.index[allocation["fylke"] == fylke]
        recommended = {c: int(recs[c]["recommended"]) for c in members if recs.get(c, {}).get("recommended")}
        assert row["recommended"] == sum(recommended.values()), fylke
        assert row["deviation_from_recommended"] == sum(
            allocation.at[c, "request"] - r for c, r in recommended.items()), fylke
        assert row["em_request"] == allocation.loc[members, "em_request"].sum()
        assert row["request"] == allocation.loc[members, "request"].sum()


# --------------------------------------------------------------------------- changed inputs

def test_ks_exclusion_and_health_capacity_bind(tmp_path, shipped):
    # Alver (asked 30 on the shipped inputs) is excluded by KS; Trondheim (asked
    # 113) states capacity for 3 persons with complex health needs: at 5 % that
    # allows at most 3 / 0.05 = 60 persons.
    before = shipped["allocation"]
    assert before.at[ALVER, "request"] > 0 and before.at[TRONDHEIM, "request"] > 60
    root = copy_tree(tmp_path)
    edit_ks(root, lambda ks: ks.update(exclusions=[{"kommunenummer": ALVER, "reason": "test"}]))
    answers = inputs_file(root, "answers.csv")
    set_cell(answers, line_of(answers, TRONDHEIM), "complex_health_capacity", "3")
    run = run_plan(root)
    assert run.status == 0, run.stderr
    after = read_csv(run.folder, "allocation.csv")
    assert after.at[ALVER, "request"] == 0 and after.at[ALVER, "em_request"] == 0
    assert after.at[ALVER, "excluded_by"] == "ks_exclusion" and not after.at[ALVER, "eligible"]
    assert after.at[TRONDHEIM, "request"] <= 60
    assert after["request"].sum() == NEED and after["em_request"].sum() == EM_MUNICIPAL


@pytest.fixture(scope="module")
def oslo_locked(tmp_path_factory):
    """Oslo's recommendation locked; 03.csv recommends 250, then 270 (nothing else differs)."""
    folders = {}
    for value in (250, 270):
        root = copy_tree(tmp_path_factory.mktemp(f"oslo{value}"), lock(OSLO))
        path = county_file(root, "03")
        set_cell(path, line_of(path, OSLO), "recommended", str(value))
        run = run_plan(root)
        assert run.status == 0, run.stderr
        folders[value] = run.folder
    return folders


def test_changed_recommendation_changes_only_that_municipality(oslo_locked):
    """Raising Oslo's locked recommendation from 250 to 270.

    Must hold, and asserted exactly:
    - the model's parameters differ in Oslo's ``recommended`` and nowhere else
      (a recommendation is a number for its own municipality; targets, county
      minimums, capacities, caps and EM targets do not read it);
    - targets and county minimums are unchanged (recommendations are not a criterion);
    - Oslo's request is the new locked number and the other 355 give up
      exactly the 20 persons (the national need is fixed);
    - in the county table only county 03's recommendation sum moves, by +20,
      and its deviation stays 0 (locked).
    """
    old, new = oslo_locked[250], oslo_locked[270]
    params_old, params_new = read_csv(old, "parameters.csv"), read_csv(new, "parameters.csv")
    differs = (params_old != params_new) & ~(params_old.isna() & params_new.isna())
    assert {(c, col) for c, col in differs.stack()[lambda s: s].index} == {(OSLO, "recommended")}
    assert (old / "targets.csv").read_bytes() == (new / "targets.csv").read_bytes()
    assert (old / "county_minimum.csv").read_bytes() == (new / "county_minimum.csv").read_bytes()

    before, after = read_csv(old, "allocation.csv"), read_csv(new, "allocation.csv")
    assert (before.at[OSLO, "request"], after.at[OSLO, "request"]) == (250, 270)
    others = before.index != OSLO
    assert after.loc[others, "request"].sum() - before.loc[others, "request"].sum() == -20

    county_old, county_new = read_csv(old, "county.csv"), read_csv(new, "county.csv")
    moved = county_new["recommended"] - county_old["recommended"]
    assert moved["03"] == 20 and (moved.drop("03") == 0).all()
    assert county_old.at["03", "deviation_from_recommended"] == county_new.at["03", "deviation_from_recommended"] == 0


def test_changed_recommendation_leaves_em_requests_alone(oslo_locked):
    # Oslo's EM recommendation, every EM capacity and every EM target are the
    # same in both runs, and Oslo's 20 EM fit inside 250 as inside 270: the EM
    # part of the model is identical, so its (tie-broken) answer must be too.
    before = read_csv(oslo_locked[250], "allocation.csv")["em_request"]
    after = read_csv(oslo_locked[270], "allocation.csv")["em_request"]
    pd.testing.assert_series_equal(before, after)


# --------------------------------------------------------------------------- infeasible: the conflict is named

def county_03_conflict(root: Path) -> tuple[str, int, int, int]:
    """Run a plan that must be infeasible in county 03; (error line, minimum, room, short)."""
    run = run_plan(root)
    assert run.status == 1, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert not (root / "out" / PLAN).exists()
    found = re.search(r"county 03: .* at least (\d+) persons, its municipalities can take at most (\d+)"
                      r"(?: \([^)]*\))?: short by (\d+)", errors[0])
    assert found, errors[0]
    return (errors[0], *map(int, found.groups()))


def test_county_short_of_capacity_is_named(tmp_path, shipped):
    # Oslo is county 03 alone.  Capacity for 10 persons with complex health needs
    # at 5 % allows 10 / 0.05 = 200 persons, below the county's spread minimum
    # (0.9 of its target: 235 on the shipped run).
    root = copy_tree(tmp_path)
    answers = inputs_file(root, "answers.csv")
    set_cell(answers, line_of(answers, OSLO), "complex_health_capacity", "10")
    _, minimum, room, short = county_03_conflict(root)
    assert room == 200
    assert minimum == shipped["county_minimum"]["03"] > room
    assert short == minimum - room


def test_locked_recommendation_below_county_minimum_is_named(tmp_path, shipped):
    # 03.csv recommends 10 below the county's spread minimum for Oslo; locked,
    # Oslo takes exactly that whatever its capacity.
    root = copy_tree(tmp_path, lock(OSLO))
    below = int(shipped["county_minimum"]["03"]) - 10
    recs = county_file(root, "03")
    set_cell(recs, line_of(recs, OSLO), "recommended", str(below))
    error, minimum, room, short = county_03_conflict(root)
    assert room == below and f"0301 locked at {below}" in error
    assert minimum == shipped["county_minimum"]["03"] > room
    assert short == minimum - room
