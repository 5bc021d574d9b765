"""A plan run published into another folder, without the documents for people,
and with overrides over its YAML (what a sweep's scenario is); an infeasible
plan's solve recorded once with its diagnosis."""
from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from optimiser.solve import InfeasiblePlan
from pipeline.__main__ import main
from pipeline.commands.audit import Audit
from pipeline.commands.audit_rebuild import check_rebuild
from pipeline.graph.runner import SchedulerOptions, run_tasks
from pipeline.graph.tasks import Publish, Solve, Verify
from pipeline.plans.resolve import resolve_plan

NEED = 6000
FOLDER = "2022-sweep-test/scenarios/s001"


def task(cls, resolved, out, **params):
    return cls(plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=str(out), resolved=resolved, **params)


def quietly(fn, *args):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = fn(*args)
    return status, err.getvalue()


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    resolved = resolve_plan("2022", overrides={"need_persons": NEED, "capacity": {"factor": 1.2}})
    publish = task(Publish, resolved, out, run_folder=FOLDER, documents=False)
    status, err = quietly(run_tasks, [publish], SchedulerOptions())
    assert status == 0, err
    return out, resolved, publish, err


def test_publishes_into_the_folder_it_is_given_and_nowhere_else(scenario_run):
    out, resolved, publish, _ = scenario_run
    folder = out / FOLDER
    assert publish.complete() and folder.is_dir()
    assert not (out / "2022").exists()
    allocation = pd.read_csv(folder / "allocation.csv", dtype={"kommunenummer": str})
    assert allocation["request"].sum() == NEED
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["fingerprint"] == resolved.fingerprint != resolve_plan("2022").fingerprint
    assert manifest["overrides"] == {"need_persons": NEED, "capacity": {"factor": 1.2}}
    assert manifest["documents"] is False
    assert manifest["config"]["capacity"]["factor"] == 1.2


def test_a_run_without_documents_leaves_out_what_only_people_read(scenario_run):
    out, _, _, err = scenario_run
    names = {p.name for p in (out / FOLDER).iterdir()}
    assert {"allocation.csv", "model.mps", "verify.json", "manifest.json", "parameters.csv", "access.csv"} <= names
    assert not names & {"letters", "report.html", "map.png", "explain.csv", "explain.md", "network.png",
                        "network.graphml"}
    assert "Explain" not in err  # the explanations are not computed either


def test_the_default_run_is_another_task_in_the_plans_own_folder(scenario_run):
    _, resolved, publish, _ = scenario_run
    default = task(Publish, resolved, publish.out_dir)
    assert default.task_id != publish.task_id
    assert str(default.folder()).endswith("/2022") and not default.complete()


def test_audit_rebuilds_the_scenario_from_its_overrides(scenario_run):
    out, _, _, _ = scenario_run
    status, _ = quietly(main, ["audit", "--run", str(out / FOLDER)])
    assert status == 0


def test_the_audit_rebuilds_from_the_recorded_overrides_and_names_an_edit(scenario_run):
    out, _, _, _ = scenario_run
    manifest = json.loads((out / FOLDER / "manifest.json").read_text())
    manifest["overrides"]["need_persons"] = NEED + 1
    audit = Audit()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        check_rebuild(audit, out / FOLDER, manifest, None)
    assert audit.failures and f"need {NEED} but the plan's need is {NEED + 1}" in stdout.getvalue()


def test_an_infeasible_solve_is_recorded_once_and_later_tasks_raise_it(tmp_path):
    # 40,000 persons: far above what plan 2022's municipalities can take.
    resolved = resolve_plan("2022", overrides={"need_persons": 40_000})
    solve = task(Solve, resolved, tmp_path)
    status, err = quietly(run_tasks, [solve], SchedulerOptions())
    assert status == 0, err
    infeasible = solve.infeasible()
    assert isinstance(infeasible, InfeasiblePlan) and "short by" in infeasible.detail
    with pytest.raises(InfeasiblePlan, match="short by"):
        solve.load()
    status, err = quietly(run_tasks, [task(Verify, resolved, tmp_path)], SchedulerOptions())
    assert status == 1
    assert [line for line in err.splitlines() if line.startswith("error:")] == [f"error: {infeasible}"]
    assert "Solve" not in err  # the recorded answer was not worked out again


def test_a_task_rebuilt_from_its_public_parameters_finds_its_plan(scenario_run):
    # Luigi passes a dynamic dependency as text; the plan comes from this process by fingerprint.
    out, resolved, publish, _ = scenario_run
    again = Publish.from_str_params(publish.to_str_params(only_significant=True, only_public=True))
    assert again.task_id == publish.task_id
    assert again.resolved.fingerprint == resolved.fingerprint and again.resolved.overrides == resolved.overrides
    with pytest.raises(LookupError, match="no plan with fingerprint"):
        Publish(plan="2022", fingerprint="0" * 64, out_dir=str(out))
