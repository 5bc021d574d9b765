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
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import common
from common import median, verdict

from pipeline.plans.resolve import resolve_plan

TARGET = 3.0
SECTION = "## Re-plan"
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
    raw = {"cold": [r.wall for r in cold], **{name: common.seconds(results) for name, results in timed.items()}}
    return common.finish(SECTION, text, args.write, raw, pulp_objective, reference[-1].objective,
                         plan.solver.mip_rel_gap)

if __name__ == "__main__":
    sys.exit(main())
