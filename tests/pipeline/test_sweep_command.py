"""``python -m pipeline sweep``: a sweep file read strictly; scenarios run
through the plan's own Luigi tasks by two worker processes sharing one real
central ``luigid``, each exactly once, every published one verified, the
infeasible ones recorded with their diagnosis; what the planner gets; and a
sweep killed half way finishing only what is missing when started again.
(A scenario's audit from its files alone: ``test_publish_folder``.)"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from pipeline.__main__ import main
from tests.pipeline.processes import group_alive, luigid, start, stop

# Six scenarios: needs 5,000, 5,500 and 40,000 (far above what plan 2022's
# municipalities can take: infeasible) times the two weightings that sum to 1
# (continuity 0.6 and population 0.4; continuity 0.9 and population 0.1).
SWEEP = """\
description: Six scenarios of plan 2022 for the tests.
design: grid
need_persons: {values: [5000, 5500, 40000]}
weights:
  request_last: {values: [0.6, 0.9]}
  population: {values: [0.4, 0.1]}
"""
IDS = [f"s00{i}" for i in range(1, 7)]
FEASIBLE = {"s001": 5000, "s002": 5000, "s003": 5500, "s004": 5500}
WORKER_SECONDS = 600


def sweep_command(sweep: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", "sweep", "--plan", "2022", "--sweep", str(sweep), "--out", str(out),
            *extra]


def scheduler_tasks(port: int, status: str) -> dict:
    query = urllib.parse.urlencode({"data": json.dumps({"status": status})})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?{query}", timeout=5) as response:
        return json.loads(response.read())["response"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The six-scenario sweep run by two worker processes through one luigid."""
    tmp = tmp_path_factory.mktemp("sweep")
    sweep = tmp / "tiny.yaml"
    sweep.write_text(SWEEP, encoding="utf-8")
    out = tmp / "out"
    workers = []
    with luigid(tmp / "luigid") as server:
        try:
            for i in (1, 2):
                workers.append(start(sweep_command(sweep, out, "--scheduler-host", "127.0.0.1",
                                                   "--scheduler-port", str(server.port)), tmp / f"worker{i}.log"))
            statuses = [w.wait(timeout=WORKER_SECONDS) for w in workers]
            done = [task["name"] for task in scheduler_tasks(server.port, "DONE").values()]
            failed = scheduler_tasks(server.port, "FAILED")
        finally:
            for w in workers:
                stop(w)
    left = [pid for w in workers for pid in group_alive(w.pid)]
    logs = [(tmp / f"worker{i}.log").read_text() for i in (1, 2)]
    return {"out": out, "folder": out / "2022-sweep-tiny", "statuses": statuses, "logs": logs, "done": done,
            "failed": failed, "left": left, "sweep": sweep}


def test_two_workers_share_the_sweep_through_luigid_and_leave_no_process(shared):
    assert shared["statuses"] == [0, 0], shared["logs"]
    assert not shared["left"]
    assert not shared["failed"]
    # The central scheduler saw every task of every scenario through: one
    # network, one solve, check, publish and scenario each, one summary.
    done = pd.Series(shared["done"]).value_counts().to_dict()
    assert done == {"Network": 1, "Solve": 6, "Scenario": 6, "Verify": 4, "Publish": 4, "SweepReport": 1}


def test_every_scenario_ran_exactly_once_across_the_workers(shared):
    lines = [line.split()[1] for log in shared["logs"] for line in log.splitlines()
             if line.startswith("  scenario ")]
    assert sorted(lines) == IDS, shared["logs"]


def test_every_published_scenario_is_verified_and_sums_to_its_need(shared):
    for scenario, need in FEASIBLE.items():
        folder = shared["folder"] / "scenarios" / scenario
        verify = json.loads((folder / "verify.json").read_text())
        assert verify["ok"] is True and not verify["violations"], scenario
        allocation = pd.read_csv(folder / "allocation.csv", dtype={"kommunenummer": str})
        assert allocation["request"].sum() == need and len(allocation) == 356
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["overrides"]["need_persons"] == need and manifest["documents"] is False
        assert not (folder / "letters").exists() and not (folder / "report.html").exists()


def test_an_infeasible_scenario_is_recorded_with_its_one_line_diagnosis(shared):
    table = pd.read_csv(shared["folder"] / "scenarios.csv", dtype={"scenario": str}).set_index("scenario")
    assert table["status"].to_dict() == {**{s: "published" for s in FEASIBLE}, "s005": "infeasible",
                                         "s006": "infeasible"}
    for scenario in ("s005", "s006"):
        record = json.loads((shared["folder"] / "scenarios" / scenario / "infeasible.json").read_text())
        assert record["overrides"]["need_persons"] == 40_000
        assert "short by" in record["diagnosis"] and "\n" not in record["diagnosis"]
        assert table.at[scenario, "diagnosis"] == record["diagnosis"]


def test_the_audit_of_an_infeasible_scenario_says_there_is_nothing_to_audit(shared, capsys):
    assert main(["audit", "--run", str(shared["folder"] / "scenarios" / "s005")]) == 2
    assert "an infeasible scenario of a sweep: no allocation to audit" in capsys.readouterr().err


def test_the_planner_gets_ranges_answers_fan_charts_and_one_page(shared):
    folder = shared["folder"]
    municipalities = pd.read_csv(folder / "municipalities.csv", dtype={"kommunenummer": str, "fylke": str})
    requests = pd.read_csv(folder / "requests.csv", dtype={"kommunenummer": str}).set_index("kommunenummer")
    assert list(requests.columns) == list(FEASIBLE) and len(municipalities) == 356
    row = municipalities.set_index("kommunenummer").loc["4631"]  # Alver
    assert row["minimum"] == requests.loc["4631"].min() and row["maximum"] == requests.loc["4631"].max()
    assert row["share_asked"] == (requests.loc["4631"] > 0).mean()
    assert row["most_sensitive_to"] in ("population", "request_last")
    assert row["sensitivity_population"] == -row["sensitivity_request_last"]  # one weight rises as the other falls
    counties = pd.read_csv(folder / "counties.csv", dtype={"fylke": str})
    assert counties["maximum"].sum() >= 5500 and len(counties) == len(list((folder / "fans").glob("*.png")))
    answers = pd.read_csv(folder / "answers.csv", dtype={"kommunenummer": str}).set_index("kommunenummer")
    assert len(answers) == 356 and set(answers["standard"]) == {"nn", "nb"}
    low, high = requests.loc["4631"].min(), requests.loc["4631"].max()
    assert answers.at["4631", "answer"].startswith(f"Mellom {low} og {high} personar for alle vektingar i spennet")
    page = (folder / "sweep.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(counties)
    assert "http://" not in page and "https://" not in page  # offline: nothing fetched
    manifest = json.loads((folder / "sweep.json").read_text())
    assert (manifest["scenarios"], manifest["published"], manifest["infeasible"]) == (6, 4, 2)
    assert "sweep.html" in manifest["outputs"]


def test_a_finished_sweep_started_again_runs_nothing(shared):
    before = (shared["folder"] / "sweep.json").stat().st_mtime_ns
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        assert main(["sweep", "--plan", "2022", "--sweep", str(shared["sweep"]), "--out", str(shared["out"])]) == 0
    assert "  scenario " not in stderr.getvalue()
    assert (shared["folder"] / "sweep.json").stat().st_mtime_ns == before


def test_a_killed_sweep_started_again_finishes_only_what_is_missing(tmp_path):
    sweep = tmp_path / "resume.yaml"
    sweep.write_text("description: three needs\ndesign: grid\nneed_persons: {values: [5000, 5100, 5200]}\n",
                     encoding="utf-8")
    out = tmp_path / "out"
    scenarios = out / "2022-sweep-resume" / "scenarios"
    first = start(sweep_command(sweep, out), tmp_path / "first.log")
    try:
        deadline = time.monotonic() + WORKER_SECONDS
        while not list(scenarios.glob("*/manifest.json")) and first.poll() is None:
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.2)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        stop(first)
    assert not group_alive(first.pid)
    published = {p.parent.name: (p.stat().st_mtime_ns, json.loads(p.read_text())["fingerprint"])
                 for p in scenarios.glob("*/manifest.json")}
    assert 1 <= len(published) < 3, "the sweep was not stopped half way"
    assert not (out / "2022-sweep-resume" / "sweep.json").exists()

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        assert main(["sweep", "--plan", "2022", "--sweep", str(sweep), "--out", str(out)]) == 0
    again = [line.split()[1] for line in stderr.getvalue().splitlines() if line.startswith("  scenario ")]
    assert sorted(again) == sorted(set(IDS[:3]) - set(published))
    for scenario, (mtime, fingerprint) in published.items():
        manifest = scenarios / scenario / "manifest.json"
        assert (manifest.stat().st_mtime_ns, json.loads(manifest.read_text())["fingerprint"]) == (mtime, fingerprint)
    table = pd.read_csv(out / "2022-sweep-resume" / "scenarios.csv")
    assert (table["status"] == "published").all() and len(table) == 3


def sweep_error(tmp_path, capsys, text: str, *extra: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    status = main(["sweep", "--plan", "2022", "--sweep", str(path), "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), err
    assert not (tmp_path / "out").exists()
    return lines[0]


@pytest.mark.parametrize("text, says", [
    ("design: grid\nneed_persons: {values: [5000]}\nneeds: 3\n", "needs: unknown key"),
    ("design: lattice\nneed_persons: {values: [5000]}\n", "design: unknown design 'lattice'"),
    ("design: grid\nneed_persons: {values: [-5]}\n", "need_persons: -5 to -5 is outside the plausible"),
    ("design: grid\nneed_persons: {low: 3000, high: 4000}\n", "need_persons: low and high are for a random sweep"),
    ("design: random\nsamples: 5\nneed_persons: {low: 3000, high: 4000}\n", "seed: a random sweep needs a seed"),
    ("design: random\nseed: 1\nsamples: 5\nweights:\n  population: {low: 0.1, high: 0.2}\n"
     "  centrality: {low: 0.1, high: 0.2}\n", "the largest weights add up to 0.4, below 1"),
    ("design: grid\nweights:\n  happiness: {values: [1.0]}\n", "weights.happiness: unknown criterion"),
    ("design: grid\nminimum_request: {values: [10]}\nneed_persons: {values: [5000, 5001]}\nplan:\n"
     "  granularity_persons: 5\n", "scenario s002 (need 5001; minimum 10) is not a valid plan"),
    ("design: grid\nneed_persons: {values: [5000]}\nplan:\n  need_persons: ten\n", "plan: the plan with these changes"),
    ("design: grid\n", "nothing varies"),
])
def test_a_bad_sweep_file_stops_with_one_line_naming_the_key(tmp_path, capsys, text, says):
    assert says in sweep_error(tmp_path, capsys, text)
