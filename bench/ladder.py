"""Benchmark: the need ladder (``make ladder``), 69 needs from 6,000 to 40,000 by 500.

(It starts above the base plan's need of 5,500: at that need the shipped
illustrative status file's decisions, lifted to the minimum request, already
ask 5 persons more than 5,500, and below it the re-plan cuts the base plan
proportionally instead of spreading by the criteria.)

Runs in this process what the ``Ladder`` task runs: ``optimiser.reallocate.ladder``
over ``optimiser.allocate.ladder_inputs`` for plan 2022-03 (the March 2022
re-plan: all municipalities eligible, volunteered extra capacity), the shipped
plan whose capacity reaches 40,000; the plan's inputs, access and re-plan
context are the pipeline's own (a one-step ``python -m pipeline ladder`` run at
the plan's own need into a scratch out dir, untimed).  Measures:

ladder    wall time of the whole ladder (every step: parameters at the need,
          the floor from the step before, build, solve), median of ``--runs``
          (default 3), and the seconds of each step;
baseline  in the same process, interleaved with the ladder runs: the same
          needs solved independently, without the floor (what the monotone
          ladder costs or saves), median of ``--baseline-runs`` (default 1,
          to keep ``make bench`` near three minutes).

Checks every run: each municipality's row never falls as the need rises and
each column sums to its need; counts how often the independent solves would
lower a request.  If the plan cannot reach the last need, the ladder is timed
over the needs it reaches and the first infeasible need is diagnosed.
``--also`` names other plans whose reach is checked the same way (untimed).

``--write`` replaces the "Ladder" section of BENCHMARKS.md.

    .venv/bin/python bench/ladder.py [--runs 3] [--baseline-runs 1] [--write]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common
import numpy as np
import pandas as pd
from common import median, verdict

from optimiser.allocate import ladder_inputs
from optimiser.diagnose import describe, diagnose
from optimiser.model import build_model, requests
from optimiser.reallocate import ladder
from optimiser.solve import InfeasiblePlan, SolveStatus, solve
from pipeline.graph.tasks import Ladder
from pipeline.plans.inputs import read_inputs
from pipeline.plans.resolve import resolve_plan
from pipeline.solvers import make_solvers

TARGET = 30.0
SECTION = "## Ladder"
PACKAGES = ("pulp", "highspy", "pandas", "numpy")


@dataclass
class Setup:
    plan: object
    make_inputs: object  # need -> ModelInputs, as the Ladder task builds them
    solvers: list


def setup(plan_name: str, scratch: Path) -> Setup:
    """The plan's inputs, access and re-plan context exactly as ``tasks.Ladder`` uses them
    (from a one-step ladder at the plan's own need)."""
    out = scratch / plan_name
    resolved = resolve_plan(plan_name)
    plan = resolved.plan
    need = plan.need_persons
    common.cold_run(["ladder", "--plan", plan_name, "--from", str(need), "--to", str(need), "--step", "1",
                     "--out", str(out)])
    # The task the command ran, rebuilt here: its network and re-plan context come from the run's files.
    task = Ladder(plan=plan_name, fingerprint=resolved.fingerprint, out_dir=str(out), resolved=resolved,
                  need_from=need, need_to=need, need_step=1)
    net = task.requires()["network"].load()
    context, _ = task.replan_context(net)
    inputs = read_inputs(resolved)

    return Setup(plan, ladder_inputs(inputs.data, net.access, plan, inputs.submissions, context),
                 make_solvers(plan.solver))


def run_ladder(s: Setup, needs: list[int]) -> tuple[float, pd.DataFrame, list[float]]:
    """Wall seconds, the table and the seconds of each step."""
    marks = []
    start = time.perf_counter()
    table = ladder(s.make_inputs, needs, s.solvers, lambda step, steps, need: marks.append(time.perf_counter()))
    wall = time.perf_counter() - start
    steps = list(np.diff([start] + marks))
    return wall, table, steps


def run_independent(s: Setup, needs: list[int]) -> tuple[float, pd.DataFrame, dict[str, float], list[int]]:
    """The baseline: every need solved on its own (no floor).  Wall seconds,
    the table, the seconds spent on parameters, build and solve, and the needs
    whose solve stopped at the time limit with a solution not proven optimal."""
    parts = {"parameters": 0.0, "build": 0.0, "solve": 0.0}
    columns, limited = {}, []
    start = time.perf_counter()
    for need in needs:
        t0 = time.perf_counter()
        inputs = s.make_inputs(need)
        t1 = time.perf_counter()
        prob, v = build_model(inputs)
        t2 = time.perf_counter()
        result = solve(prob, s.solvers)
        t3 = time.perf_counter()
        if not result.status.has_solution:
            raise SystemExit(f"independent solve at need {need}: {result.status.value}")
        if result.status is not SolveStatus.OPTIMAL:  # as the ladder, keep a solution stopped at a limit
            limited.append(need)
        columns[need] = requests(v)
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2)):
            parts[name] += seconds
    return time.perf_counter() - start, pd.DataFrame(columns), parts, limited


def check(table: pd.DataFrame, needs: list[int]) -> None:
    """Every row non-decreasing, every column summing to its need (not timed)."""
    values = table[needs].to_numpy()
    falls = int((np.diff(values, axis=1) < 0).sum())
    if falls:
        raise SystemExit(f"ladder: {falls} request(s) fall as the need rises")
    sums = values.sum(axis=0)
    if not (sums == np.array(needs)).all():
        raise SystemExit(f"ladder: column sums {sums.tolist()} differ from the needs")


def feasible(s: Setup, need: int) -> tuple[bool, str]:
    """Whether the need can be solved on its own and, if not, the conflict."""
    inputs = s.make_inputs(need)
    prob, _ = build_model(inputs)
    if solve(prob, s.solvers).status.has_solution:
        return True, ""
    return False, describe(diagnose(inputs, s.solvers))


def reach(s: Setup, needs: list[int]) -> tuple[list[int], list[str]]:
    """The longest run of needs the plan's ladder reaches, and why it leaves out the others:
    needs at the start that are infeasible on their own are skipped, the ladder stops at
    the first need it cannot solve."""
    notes, first = [], 0
    while first < len(needs):
        ok, why = feasible(s, needs[first])
        if ok:
            break
        if first == 0:
            notes.append(why)
        first += 1
    if first:
        notes[0] = (f"need{'s' if first > 1 else ''} {needs[0]:,}"
                    + (f" to {needs[first - 1]:,} are" if first > 1 else " is")
                    + f" infeasible on {'their' if first > 1 else 'its'} own ({needs[0]:,}: {notes[0]})")
    rest, done = needs[first:], []
    try:
        ladder(s.make_inputs, rest, s.solvers, lambda step, steps, need: done.append(need))
        return rest, notes
    except InfeasiblePlan:
        failed = rest[len(done)]
    ok, why = feasible(s, failed)
    notes.append(f"need {failed:,} is infeasible " + ("with the floor of the step before" if ok else f"on its own: {why}"))
    return done, notes


def section(args, plan_name: str, needs: list[int], machine: str, res: dict, others: dict[str, tuple]) -> str:
    full = len(needs) == len(range(args.need_from, args.need_to + 1, args.step))
    span = f"{needs[0]:,} to {needs[-1]:,} by {args.step:,} ({len(needs)} steps)"
    steps, parts = res["steps"], res["parts"]
    slowest = sorted(zip(steps, needs), reverse=True)[:3]
    rows = [
        ("ladder, `optimiser.reallocate.ladder` (monotone: each step floored by the one before)",
         res["ladder"], f"≤ {TARGET:g} s", verdict(res["ladder"], TARGET)),
        ("baseline: the same needs solved independently, no floor", res["independent"], "", ""),
        ("&nbsp;&nbsp;of which parameters at each need, `ladder_inputs`", parts["parameters"], "", ""),
        ("&nbsp;&nbsp;of which model build", parts["build"], "", ""),
        ("&nbsp;&nbsp;of which solve (PuLP + HiGHS)", parts["solve"], "", ""),
        ("ladder: median step", median(steps), "", ""),
        ("ladder: slowest step, " + ", ".join(f"need {n:,} {t:.2f} s" for t, n in slowest), max(steps), "", ""),
    ]
    lines = [
        SECTION,
        "",
        "`bench/ladder.py` (`make bench` runs it; `--write` rewrites this section): the need ladder of",
        f"plan {plan_name} over {span}, in process, as the `Ladder` task runs it",
        f"(`ladder_inputs` + `ladder`); median of {args.runs} ladder runs and {args.baseline_runs} baseline runs,",
        "interleaved. The baseline solves every need on its own, without the floor; its split into",
        "parameters, build and solve is from its last run. The step rows are from the last ladder run.",
        "",
        f"Machine: {machine}.",
        "",
        *common.table(("step", "median seconds", "target", ""), rows),
        "",
        f"Ratio ladder / independent solves: {res['ladder'] / res['independent']:.2f}×. Per step the baseline "
        f"spends {parts['parameters'] / len(needs):.3f} s on parameters and {parts['build'] / len(needs):.3f} s "
        f"building the model, against a median ladder step of {median(steps):.3f} s. Every run was checked:",
        "each municipality's request never falls as the need rises and each step sums to its need. Solved",
        f"independently, {res['falls']} request(s) of {res['fall_municipalities']} municipalities would fall "
        "from one step to the next" + ("; the floor prevents that." if res["falls"] else "."),
        "",
    ]
    limit = res["time_limit"]
    slow = [n for t, n in zip(steps, needs) if t >= limit]
    if res["limited"] or slow:
        lines += [
            f"Stopped at the plan's {limit:g} s time limit with a solution not proven optimal (kept, as the "
            "ladder keeps it): independent solves at need(s) "
            f"{', '.join(f'{n:,}' for n in res['limited']) or 'none'}; ladder steps taking {limit:g} s or more: "
            f"{', '.join(f'{n:,}' for n in slow) or 'none'}.",
            "",
        ]
    wanted = f"{args.need_from:,} to {args.need_to:,}"
    if full:
        lines.append(f"Plan {plan_name} reaches the whole range {wanted}.")
    else:
        lines.append(f"Plan {plan_name} does not reach the whole range {wanted}, so the ladder is timed over "
                     f"{span}: " + "; ".join(res["stop"]) + ".")
    for other, (reached, why) in others.items():
        if why:
            got = f"its ladder reaches {reached[0]:,} to {reached[-1]:,}" if reached else "no step is feasible"
            lines.append(f"Plan {other} cannot be used for the whole range: {got}; " + "; ".join(why) + ".")
        else:
            lines.append(f"Plan {other} also reaches the whole range.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--plan", default="2022-03")
    parser.add_argument("--from", dest="need_from", type=int, default=6000)
    parser.add_argument("--to", dest="need_to", type=int, default=40000)
    parser.add_argument("--step", type=int, default=500)
    parser.add_argument("--also", nargs="*", default=["2022"], help="other plans whose reach is checked (untimed)")
    parser.add_argument("--write", action="store_true", help="replace the Ladder section of BENCHMARKS.md")
    args = parser.parse_args(argv)
    os.chdir(common.ROOT)
    machine = common.Machine(PACKAGES)
    if args.runs < 1 or args.baseline_runs < 1:
        parser.error("--runs and --baseline-runs must be at least 1")
    needs, stop = list(range(args.need_from, args.need_to + 1, args.step)), []
    with tempfile.TemporaryDirectory(prefix="bench-ladder-") as scratch:
        s = setup(args.plan, Path(scratch))
        others = {other: reach(setup(other, Path(scratch)), needs)
                  for other in args.also}

    ladders, independents = [], []
    for i in range(max(args.runs, args.baseline_runs)):
        if i < args.runs:
            try:
                wall, table, steps = run_ladder(s, needs)
            except InfeasiblePlan:  # the plan stops short: time the needs it reaches
                needs, stop = reach(s, needs)
                if not needs:
                    raise SystemExit(f"plan {args.plan}: " + "; ".join(stop)) from None
                wall, table, steps = run_ladder(s, needs)
            check(table, needs)
            ladders.append((wall, steps))
        if i < args.baseline_runs:
            wall, free, parts, limited = run_independent(s, needs)
            independents.append((wall, parts, limited))
    diffs = np.diff(free[needs].to_numpy(), axis=1) < 0
    res = {"ladder": median(w for w, _ in ladders), "independent": median(w for w, _, _ in independents),
           "steps": ladders[-1][1], "parts": independents[-1][1], "limited": independents[-1][2], "stop": stop,
           "time_limit": s.plan.solver.time_limit_seconds,
           "falls": int(diffs.sum()), "fall_municipalities": int(diffs.any(axis=1).sum())}
    text = section(args, args.plan, needs, machine.describe(), res, others)
    print(text)
    print("raw seconds:", json.dumps({"ladder": [round(w, 3) for w, _ in ladders],
                                      "independent": [round(w, 3) for w, _, _ in independents]}))
    if args.write:
        common.write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
