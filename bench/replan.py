"""Benchmark: the March 2022 re-plan (``make reallocate PLAN=2022-03``) on the real data.

The re-plan (need 35,000, all 356 municipalities eligible) redoes plan 2022:
it reads the base plan's published run from the same out dir.  Measures,
median of ``--runs`` (default 5):

cold re-plan  wall time of a fresh process ``python -m pipeline reallocate
              --plan 2022-03 --out <dir>``, where <dir> holds a finished run of
              the base plan (run once beforehand, untimed, and copied into a
              fresh dir for every run), with the seconds of each pipeline task.
              Only the re-plan is timed: the base plan's run is reused.
build, solve  ``optimiser.model.build_model`` and the PuLP path
              (``optimiser.solve.solve``) on the re-plan's ``ModelInputs`` as
              the pipeline built them (read back from the run's cache).
baselines     in the same process and interleaved with those: the same
              re-plan model exported as MPS and solved directly with highspy,
              and the fresh base plan's model built and solved the same way.

Prints the machine, the medians and the ratios; ``--write`` also replaces
the "Re-plan" section of BENCHMARKS.md.

    .venv/bin/python bench/replan.py [--runs 5] [--write]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import common
from common import median, verdict

from optimiser import model, network, reallocate
from optimiser.allocate import plan_inputs
from optimiser.solve import SolveStatus, solve
from pipeline.plans.inputs import read_inputs, replan_context
from pipeline.plans.resolve import resolve_plan
from pipeline.publish.solution import read_run_allocation
from pipeline.solvers import make_solvers

TARGET = 3.0
SECTION = "## Re-plan"
# minimal_change re-plans at needs where new municipalities must be asked; the last
# is raised to the largest need the shipped status file allows (found by bisection).
MINIMAL_NEEDS = (39_000, 40_000, 41_000)
MINIMAL_TARGET = 5.0
BASELINE_LIMIT = 60.0
PACKAGES = ("pulp", "highspy", "pandas", "numpy", "luigi", "matplotlib")


def cold_replans(plan: str, base: str, runs: int, scratch: Path) -> tuple[list[common.ColdRun], Path]:
    """``runs`` timed re-plans, each in a new process into a copy of a finished base run."""
    ready = scratch / "base"

    def run_base():
        shutil.rmtree(ready, ignore_errors=True)
        common.cold_run(["allocate", "--plan", base, "--out", str(ready)])

    run_base()
    results, out = [], ready
    for i in range(runs):
        out = scratch / f"replan-{i}"

        def fresh(out=out):
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(ready, out, symlinks=True)

        run = common.cold_run(["reallocate", "--plan", plan, "--out", str(out)], prepare=fresh)
        if len(run.tasks.get("Solve", [])) != 1:
            raise SystemExit(f"the base plan {base} was redone in a re-plan run (code changing?)")
        results.append(run)
    return results, out


def minimal_inputs(plan: str, need: int, base_run: Path, net_cache: dict):
    """The minimal_change re-plan's parameters at ``need``, as the pipeline builds them."""
    resolved = resolve_plan(plan, overrides={"need_persons": need, "replan": {"policy": "minimal_change"}})
    inputs = read_inputs(resolved)
    if "net" not in net_cache:
        net_cache["net"] = network.build_network(inputs.data.municipalities, inputs.data.adjacency,
                                                 resolved.plan.network.reasonable_travel_minutes)
    net = net_cache["net"]
    context = replan_context(inputs, net, read_run_allocation(base_run)["request"])
    return plan_inputs(inputs.data, net.access, resolved.plan, inputs.submissions, context)[1], resolved.plan


def largest_feasible(plan: str, low: int, high: int, base_run: Path, cache: dict) -> int:
    """The largest need in [low, high] whose first stage (fewest new municipalities) is feasible."""
    while low < high:
        mid = (low + high + 1) // 2
        inputs, plan_cfg = minimal_inputs(plan, mid, base_run, cache)
        try:
            reallocate.fewest_newly_asked(inputs, make_solvers(plan_cfg.solver))
            low = mid
        except reallocate.InfeasiblePlan:
            high = mid - 1
    return low


def one_stage_baseline(inputs, solver_cfg) -> tuple[float, str, float | None]:
    """The former formulation: no first stage; each municipality asked anew pays a
    penalty above what moving all its persons elsewhere could save (per person at
    most the dearest band at both ends, extra capacity and beyond reach, times its
    largest request), with the plan's time limit raised to ``BASELINE_LIMIT``."""
    p = inputs.penalties
    new = model.newly_askable(inputs)
    top = max(p.bands.prices)
    per_person = (4 * top * p.deviation_from_target + p.extra_capacity + 2 * top * p.deviation_from_recommendation
                  + 2 * top * p.change_from_previous + inputs.shortfall_outside_cost)
    penalty = per_person * float(inputs.upper[new].max()) + 1
    prob, v = model.build_model(inputs)
    objective = prob.objective
    for s_var in v.s[new]:
        objective.addterm(s_var, penalty)
    prob.setObjective(objective)
    result = solve(prob, make_solvers(dataclasses.replace(solver_cfg, time_limit_seconds=BASELINE_LIMIT)))
    return result.solve_seconds, result.status.name.lower(), result.gap


def minimal_change_rows(plan: str, base_run: Path, runs: int) -> tuple[list[tuple], list[str]]:
    cache: dict = {}
    needs = list(MINIMAL_NEEDS[:-1]) + [largest_feasible(plan, MINIMAL_NEEDS[-2], MINIMAL_NEEDS[-1], base_run, cache)]
    rows, notes = [], []
    for need in needs:
        inputs, plan_cfg = minimal_inputs(plan, need, base_run, cache)
        solvers = make_solvers(plan_cfg.solver)
        stage1, stage2, status, gap, limit = [], [], "", None, None
        for _ in range(runs):
            start = time.perf_counter()
            staged = reallocate.fewest_newly_asked(inputs, solvers)
            stage1.append(time.perf_counter() - start)
            prob, _ = model.build_model(staged)
            result = solve(prob, solvers)
            stage2.append(result.solve_seconds)
            status, gap, limit = result.status.name.lower(), result.gap, staged.newly_asked_limit
        total = median(a + b for a, b in zip(stage1, stage2))
        rows.append((f"minimal_change at need {need:,}: first stage (fewest new: {limit})", median(stage1), "", ""))
        rows.append((f"&nbsp;&nbsp;second stage ({status}, gap {gap:.1e})", median(stage2), "", ""))
        rows.append(("&nbsp;&nbsp;both stages", total, f"≤ {MINIMAL_TARGET:g} s",
                     verdict(total, MINIMAL_TARGET) if status == SolveStatus.OPTIMAL.name.lower() else "**not met**"))
        seconds, base_status, base_gap = one_stage_baseline(inputs, plan_cfg.solver)
        rows.append((f"&nbsp;&nbsp;baseline: one stage, newly asked priced (limit {BASELINE_LIMIT:g} s): {base_status}, "
                     f"gap {base_gap if base_gap is None else f'{base_gap:.1e}'}", seconds, "", ""))
    notes.append(f"The largest need the shipped status file allows is {needs[-1]:,}: above it a county's spread "
                 "minimum exceeds what its municipalities can take, and the run says which.")
    return rows, notes


def section(args, plan: str, base: str, machine: str, med: dict, tasks: list, facts: dict) -> str:
    rows = [
        (f"cold re-plan: fresh `python -m pipeline reallocate --plan {plan}` (base run {base} already in the "
         "out dir; wall)", med["cold"], f"≤ {TARGET:g} s", verdict(med["cold"], TARGET)),
        *tasks,
        ("re-plan model build, `optimiser.model.build_model` (this process)", med["build"], "", ""),
        ("re-plan model build, as recorded by each cold run's manifest", med["cold_build"], "", ""),
        ("re-plan solve, PuLP path `optimiser.solve.solve` (this process)", med["solve"], "", ""),
        ("&nbsp;&nbsp;of which HiGHS's own run time (`getRunTime`)", med["solve_highs"], "", ""),
        ("re-plan solve, as recorded by each cold run's manifest", med["cold_solve"], "", ""),
        ("baseline: re-plan model as MPS, `highspy` `readModel` + `run` (this process)", med["highspy"], "", ""),
        ("&nbsp;&nbsp;of which HiGHS's own run time (`getRunTime`)", med["highspy_highs"], "", ""),
        (f"baseline: fresh plan {base} model build (this process)", med["base_build"], "", ""),
        (f"baseline: fresh plan {base} solve, PuLP path (this process)", med["base_solve"], "", ""),
    ]
    lines = [
        SECTION,
        "",
        "`bench/replan.py` (`make bench` runs it; `--write` rewrites this section): the March 2022",
        f"re-plan {plan} (need {facts['need']:,}, all municipalities eligible) of plan {base} on the real data,",
        f"median of {args.runs} runs. Each cold run starts a new process in a copy of an out dir that",
        f"already holds the finished run of {base}, so only the re-plan is timed. The model has {facts['size']}",
        f"({facts['pairs']:,} of the variables move declined quotas, t_ij); plan {base} has "
        f"{facts['base_size']}.",
        "The in-process rows are interleaved, one of each per round. The PuLP path and direct highspy",
        f"reach objectives {facts['objective_gap']:.2g} apart (both within the plan's gap {facts['gap']:g}).",
        "",
        f"Machine: {machine}.",
        "",
        *common.table(("step", "median seconds", "target", ""), rows),
        "",
        f"Ratios: PuLP path / direct highspy on the re-plan {med['solve'] / med['highspy']:.2f}× (PuLP's own "
        f"part, wall minus HiGHS's run time, {med['solve'] - med['solve_highs']:.3f} s); re-plan / "
        f"plan {base}: build {med['build'] / med['base_build']:.1f}×, solve {med['solve'] / med['base_solve']:.2f}×.",
        f"HiGHS explores {facts['nodes']} node(s) on the re-plan; its first feasible solution arrives at "
        f"{facts['first']:.2f} s (median) of the {med['highspy']:.2f} s.",
        "",
        f"Largest parts of the cold re-plan: {facts['largest']}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plan", default="2022-03", help="a re-plan: config/<plan>.yaml with replan.base_plan")
    parser.add_argument("--minimal-runs", type=int, default=3, help="runs of each minimal_change need")
    parser.add_argument("--write", action="store_true", help="replace the Re-plan section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    resolved = resolve_plan(args.plan)
    if resolved.base is None:
        raise SystemExit(f"plan {args.plan} is not a re-plan (no replan.base_plan)")
    base = resolved.base.name
    machine = common.Machine(PACKAGES)
    with tempfile.TemporaryDirectory(prefix="bench-replan-") as scratch:
        scratch = Path(scratch)
        cold, last = cold_replans(args.plan, base, args.runs, scratch)
        manifests = [json.loads((scratch / f"replan-{i}" / args.plan / "manifest.json").read_text())
                     for i in range(args.runs)]
        inputs, plan = common.cached_model_inputs(last, args.plan)
        base_inputs, base_plan = common.cached_model_inputs(last, base)
        prob, _ = common.build_step(inputs)()
        base_prob, _ = common.build_step(base_inputs)()
        mps = scratch / "replan.mps"
        prob.writeMPS(str(mps))
        timed = common.interleaved({
            "build": common.build_step(inputs),
            "solve": common.pulp_step(inputs, plan.solver),
            "highspy": common.highspy_step(mps, plan.solver),
            "base_build": common.build_step(base_inputs),
            "base_solve": common.pulp_step(base_inputs, base_plan.solver),
        }, args.runs)
        minimal_rows, minimal_notes = minimal_change_rows(args.plan, scratch / "base" / base, args.minimal_runs)

    med = {name: median(common.seconds(results)) for name, results in timed.items()}
    med.update(common.cold_medians(cold, manifests))
    med.update(common.solver_medians(timed, "solve", "highspy"))
    reference = [h for _, h in timed["highspy"]]
    pulp_objective = timed["solve"][-1][1][0].objective
    facts = {
        "need": inputs.need, "pairs": len(inputs.shortfall_pairs),
        "size": f"{prob.numVariables():,} variables and {prob.numConstraints():,} constraints",
        "base_size": f"{base_prob.numVariables():,} and {base_prob.numConstraints():,}",
        "nodes": reference[-1].nodes, "first": median(h.first[0] for h in reference),
        "objective_gap": abs(pulp_objective - reference[-1].objective), "gap": plan.solver.mip_rel_gap,
        "largest": common.largest_parts(cold, med["outside"]),
    }
    text = section(args, args.plan, base, machine.describe(), med, common.task_rows(cold, med["outside"]), facts)
    text += "\n" + "\n".join([
        "**minimal_change at high needs.** The same re-plan under `replan.policy: minimal_change` at needs",
        "where municipalities not asked before must be asked, median of "
        f"{args.minimal_runs} runs: the first stage finds the fewest new municipalities, the second the best",
        "plan with no more than that many. The baseline, in the same process, is the former single solve that",
        "priced each new municipality above what moving its persons could save.", "",
        *common.table(("step", "median seconds", "target", ""), minimal_rows), "", *minimal_notes]) + "\n"
    raw = {"cold": [r.wall for r in cold], **{name: common.seconds(results) for name, results in timed.items()}}
    return common.finish(SECTION, text, args.write, raw, pulp_objective, reference[-1].objective,
                         plan.solver.mip_rel_gap)

if __name__ == "__main__":
    sys.exit(main())
