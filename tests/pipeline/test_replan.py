"""``python -m pipeline reallocate`` and ``ladder`` on the real data, and bad re-plan input.

The expensive runs are shared: the March 2022 re-plan (5,500 -> 35,000,
``config/2022-03.yaml``, policy ``spread``) published once for the session
(``published`` in tests/conftest.py), which runs the base plan 2022 first (``Solve`` requires
its ``Publish``); the same re-plan under ``minimal_change`` from a copy of
the config; then a short ladder of plan 2022 into the same out dir (its
solve is cached there).
Every expectation is read from the input files and the base plan's
``allocation.csv`` with the ``csv`` module, not from the engine.

Bad input runs in one copy of ``data/`` and ``config/`` whose out dir already
holds the base plan after the first run; each test breaks one file and puts it
back afterwards.
"""
from __future__ import annotations

import contextlib
import csv
import io
import shutil
from pathlib import Path

import pytest

from pipeline.__main__ import main
from pipeline.inputs.submissions import read_status
from pipeline.plans.resolve import load_plan
from tests.factories import national_data, write_config
from tests.pipeline.test_config import error_lines
from tests.pipeline.test_end_to_end import ks_minimum_exceptions
from tests.pipeline.test_inputs import line_of, read_rows, set_cell

PLAN, BASE = "2022-03", "2022"
NEED, BASE_NEED = 35_000, 5_500
MUNICIPALITIES = 356
MINIMUM = 10
REACH = 90.0  # network.reasonable_travel_minutes of both plans
STATUS = Path("data/inputs/2022-03/status.csv")
PARTS = ("declined", "newly_asked", "need_rose", "extra_capacity", "shortfall_received", "need_fell")
LADDER = ("5000", "6000", "500")


def cli(*argv: str) -> tuple[int, str]:
    """Run ``python -m pipeline`` in-process; (exit status, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(argv))
    return status, stderr.getvalue()


def rows(path: Path) -> list[dict]:
    """A CSV file as dicts, after any leading ``#`` comment lines."""
    lines, _, header_at = read_rows(path)
    return list(csv.DictReader(lines[header_at:]))


def by_code(path: Path) -> dict[str, dict]:
    return {row["kommunenummer"]: row for row in rows(path)}


def settled_nationally(path: Path = STATUS) -> int:
    return sum(int(row["settled"]) for row in rows(path))


# --------------------------------------------------------------------------- the real re-plan

@pytest.fixture(scope="module")
def real(published) -> Path:
    """The session's out folder with the re-plan (and its base plan) published."""
    return published(PLAN, "reallocate").parent


@pytest.fixture(scope="module")
def replan(real) -> dict:
    folder = real / PLAN
    return {"folder": folder, "allocation": by_code(folder / "allocation.csv"),
            "base": by_code(real / BASE / "allocation.csv"), "status": by_code(STATUS)}


@pytest.fixture(scope="module")
def minimal(real, tmp_path_factory) -> dict:
    """The same re-plan under ``replan.policy: minimal_change`` (its base run copied in)."""
    root = tmp_path_factory.mktemp("minimal")
    shutil.copytree("config", root / "config")
    write_config(root / "config", lambda raw: raw["replan"].update(policy="minimal_change"), plan=PLAN)
    shutil.copytree(real, root / "out")
    status, err = cli("reallocate", "--plan", PLAN, "--config-dir", str(root / "config"), "--out", str(root / "out"))
    assert status == 0, err
    folder = root / "out" / PLAN
    return {"folder": folder, "allocation": by_code(folder / "allocation.csv"),
            "base": by_code(real / BASE / "allocation.csv"), "status": by_code(STATUS)}


def test_spread_asks_every_eligible_municipality(replan):
    allocation = replan["allocation"]
    # 2022-03 makes every municipality eligible and KS excludes none: all 356 are asked.
    assert all(int(row["request"]) > 0 for row in allocation.values())
    assert all(row["eligible"] == "True" for row in allocation.values())


def test_replan_has_every_municipality_and_whole_requests_summing_to_the_new_need(replan):
    allocation = replan["allocation"]
    assert len(allocation) == MUNICIPALITIES
    assert len(rows(replan["folder"] / "allocation.csv")) == MUNICIPALITIES  # no duplicated code
    requests = [row["request"] for row in allocation.values()]
    assert all(text.isdigit() for text in requests)
    assert sum(map(int, requests)) == NEED
    assert sum(int(row["request"]) for row in replan["base"].values()) == BASE_NEED


def test_replan_never_below_the_base_plan_what_is_settled_or_what_is_decided(replan):
    allocation, base, status = replan["allocation"], replan["base"], replan["status"]
    for code, row in allocation.items():
        request = int(row["request"])
        assert int(row["previous"]) == int(base[code]["request"]), code
        assert request >= int(base[code]["request"]), code
        assert request >= int(status[code]["settled"]), code
        if status[code]["decision"]:
            assert request >= int(status[code]["decision"]), code


@pytest.mark.parametrize("policy", ["replan", "minimal"])
def test_replan_change_parts_add_up_and_name_the_reason(policy, request):
    run = request.getfixturevalue(policy)
    allocation, status = run["allocation"], run["status"]
    totals = dict.fromkeys(PARTS, 0)
    for code, row in allocation.items():
        change = int(row["request"]) - int(row["previous"])
        parts = {part: int(row[f"change_{part}"]) for part in PARTS}
        assert int(row["change"]) == change == sum(parts.values()), code
        named = [part.replace("_", " ") for part in PARTS if parts[part]]
        assert row["change_reason"] == (" + ".join(named) or "unchanged"), code
        decision = status[code]["decision"]
        if decision and int(decision) < int(row["previous"]):
            # Declined part of its number: the decline is a part of its own, whatever came after.
            assert parts["declined"] == int(decision) - int(row["previous"]), code
        for part in PARTS:
            totals[part] += parts[part]
    table = {row["part"].replace(" ", "_"): (int(row["municipalities"]), int(row["persons"]))
             for row in rows(run["folder"] / "changes.csv")}
    assert {part: table[part][1] for part in PARTS} == totals
    assert table["change"][1] == NEED - BASE_NEED


def test_a_municipality_that_declined_and_then_grew_carries_both_parts(replan):
    grew = [row for code, row in replan["allocation"].items() if int(row["change_declined"]) < 0
            and int(row["change"]) > 0]
    assert grew, "in March 2022 the need rose sevenfold: those who declined in autumn are asked for more"
    for row in grew:
        assert row["change_reason"].startswith("declined + ")


def test_minimal_change_asks_no_new_municipality_while_those_decided_have_room(minimal):
    allocation, status = minimal["allocation"], minimal["status"]
    # A decided municipality takes at most its decision and the extra it volunteers.
    decided = {code: int(row["decision"]) + int(row["extra_capacity"]) for code, row in status.items() if row["decision"]}
    for code, most in decided.items():
        assert int(allocation[code]["request"]) <= most, code
    room = sum(most - int(allocation[code]["request"]) for code, most in decided.items())
    assert room > 0
    newly = {code: int(row["request"]) for code, row in allocation.items()
             if int(row["previous"]) == 0 and int(row["request"]) > 0}
    # Asked only when the room left could not take it, and then at the minimum or more.
    exceptions = ks_minimum_exceptions()
    assert {code: n for code, n in newly.items() if n <= room or n < exceptions.get(code, MINIMUM)} == {}


def test_minimal_change_moves_each_declined_quota_within_reach(minimal):
    base, status = minimal["base"], minimal["status"]
    declined = {code: int(base[code]["request"]) - int(row["decision"]) for code, row in status.items()
                if row["decision"] and int(row["decision"]) < int(base[code]["request"])}
    assert declined  # the shipped status file has declines
    flows = rows(minimal["folder"] / "shortfalls.csv")
    moved = {}
    for flow in flows:
        moved[flow["origin"]] = moved.get(flow["origin"], 0) + int(flow["persons"])
        assert flow["within_reach"] == "True" and float(flow["minutes"]) <= REACH, flow
        assert flow["receiver"] in minimal["allocation"] and flow["receiver"] != flow["origin"]
    assert moved == declined


# --------------------------------------------------------------------------- the ladder

@pytest.fixture(scope="module")
def ladder_table(real) -> list[dict]:
    status, err = cli("ladder", "--plan", BASE, "--from", LADDER[0], "--to", LADDER[1], "--step", LADDER[2],
                      "--out", str(real))
    assert status == 0, err
    return rows(real / f"{BASE}-ladder" / f"ladder-{'-'.join(LADDER)}.csv")


def test_ladder_writes_a_municipality_by_need_table_whose_rows_never_fall(ladder_table):
    needs = [str(n) for n in range(int(LADDER[0]), int(LADDER[1]) + 1, int(LADDER[2]))]
    assert list(ladder_table[0]) == ["kommunenummer", *needs]
    assert len({row["kommunenummer"] for row in ladder_table}) == len(ladder_table) == MUNICIPALITIES
    for need in needs:
        assert sum(int(row[need]) for row in ladder_table) == int(need)
    exceptions = ks_minimum_exceptions()  # KS agreed a lower minimum for these
    for row in ladder_table:
        values = [int(row[need]) for need in needs]
        assert values == sorted(values), row
        minimum = exceptions.get(row["kommunenummer"], MINIMUM)
        assert all(v == 0 or v >= minimum for v in values), row


def test_ladder_of_a_replan_starting_below_what_is_settled_exits_2_and_writes_nothing(tmp_path):
    below = settled_nationally() - 1
    out = tmp_path / "out"
    status, err = cli("ladder", "--plan", PLAN, "--from", str(below), "--to", str(below + 500), "--step", "500",
                      "--out", str(out))
    assert status == 2, err
    lines = error_lines(err)
    assert lines == [f"error: {STATUS}:settled: {below + 1} persons are already settled nationally, more than "
                     f"the new need {below} (the need cannot fall below what is settled)"]
    assert not out.exists()


# --------------------------------------------------------------------------- bad input

@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad-replan")
    shutil.copytree("data", root / "data")
    shutil.copytree("config", root / "config")
    return root


@pytest.fixture
def broken(tree):
    """The copied tree; the files a test may break are restored after it."""
    saved = {path: path.read_bytes() for path in (tree / "data" / STATUS.relative_to("data"),
                                                  tree / "config" / f"{PLAN}.yaml")}
    yield tree
    for path, content in saved.items():
        path.write_bytes(content)


def reallocate(tree: Path) -> tuple[int, list[str], str]:
    status, err = cli("reallocate", "--plan", PLAN, "--config-dir", str(tree / "config"),
                      "--data-dir", str(tree / "data"), "--out", str(tree / "out"))
    return status, error_lines(err), err


def assert_stopped(tree: Path, prefix: str) -> str:
    status, lines, err = reallocate(tree)
    assert status == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {prefix}"), lines[0]
    assert "Traceback" not in err
    assert not (tree / "out" / PLAN).exists()
    cache = tree / "out" / ".cache" / PLAN
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]
    return lines[0]


def test_status_row_for_an_unknown_municipality_names_file_row_and_field(broken):
    path = broken / "data" / STATUS.relative_to("data")
    line = line_of(path, "1101")
    set_cell(path, line, "kommunenummer", "1199")
    assert "unknown kommunenummer '1199'" in assert_stopped(broken, f"{path}:{line}:kommunenummer: ")


def test_settled_above_the_decision_without_the_flag_names_file_row_and_field(broken):
    path = broken / "data" / STATUS.relative_to("data")
    line = line_of(path, "1101")
    decision = int(by_code(path)["1101"]["decision"])
    set_cell(path, line, "settled", str(decision + 1))
    text = assert_stopped(broken, f"{path}:{line}:settled: ")
    assert f"1101 has settled {decision + 1}, more than its decision {decision}" in text


def test_settled_above_the_decision_with_the_flag_is_accepted(broken):
    path = broken / "data" / STATUS.relative_to("data")
    line = line_of(path, "1101")
    decision = int(by_code(path)["1101"]["decision"])
    set_cell(path, line, "settled", str(decision + 1))
    set_cell(path, line, "settled_above_decision", "true")
    plan = load_plan(broken / "config" / f"{PLAN}.yaml")
    status, _ = read_status(plan, national_data(plan, broken / "data").municipalities, path)
    assert status.loc["1101", ["settled", "decision"]].tolist() == [decision + 1, decision]


def test_need_below_what_is_settled_nationally_names_the_status_file(broken):
    settled = settled_nationally(broken / "data" / STATUS.relative_to("data"))
    write_config(broken / "config", lambda raw: raw.update(need_persons=settled - 1), plan=PLAN)
    text = assert_stopped(broken, f"{broken / 'data' / STATUS.relative_to('data')}:settled: ")
    assert f"{settled} persons are already settled nationally, more than the new need {settled - 1}" in text


def test_base_plan_that_does_not_exist_names_the_key_and_the_missing_file(broken):
    write_config(broken / "config", lambda raw: raw["replan"].update(base_plan="2099"), plan=PLAN)
    text = assert_stopped(broken, f"{broken / 'config' / f'{PLAN}.yaml'}:replan.base_plan: ")
    assert f"base plan '2099' not found ({broken / 'config' / '2099.yaml'})" in text


def test_replan_of_itself_is_refused_naming_the_key(broken):
    write_config(broken / "config", lambda raw: raw["replan"].update(base_plan=PLAN), plan=PLAN)
    text = assert_stopped(broken, f"{broken / 'config' / f'{PLAN}.yaml'}:replan.base_plan: ")
    assert f"base plan '{PLAN}' leads back to itself ({PLAN} -> {PLAN})" in text
