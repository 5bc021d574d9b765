"""``python -m pipeline sweep --plan 2022 --sweep 2022-need``: many scenarios of one plan.

Every scenario is the plan with the sweep's overrides, run through the same
Luigi tasks as ``make allocate`` (``pipeline.graph.sweep``), published into
``<out>/<plan>-sweep-<name>/scenarios/<id>/`` without the documents for
people, then summarised for the planner.  ``--workers N`` runs N worker
processes; ``--scheduler-host``/``--scheduler-port`` point every worker at one
central ``luigid``, so workers on several machines share the sweep.  A sweep
that is stopped and started again runs only the scenarios that are missing.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from pipeline.commands import flags
from pipeline.commands.allocate import preflight
from pipeline.graph.runner import run_tasks
from pipeline.graph.sweep import SweepReport
from pipeline.plans.sweep import ResolvedSweep, resolve_sweep

# With a central luigid, a worker waits while other workers run the sweep's
# last tasks, and leaves after this long without work of its own (a failed
# task elsewhere would otherwise keep it waiting for Luigi's retry).
KEEP_ALIVE_IDLE_SECONDS = 120.0
SUMMARY_POLL_SECONDS = 0.5


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan_run(p)
    p.add_argument("--sweep", required=True,
                   help="sweep file: a name (config/sweeps/<name>.yaml) or a path to a YAML file")


def run(args: argparse.Namespace) -> int:
    sweep = resolve_sweep(args.plan, args.sweep, Path(args.config_dir), Path(args.data_dir))
    for resolved in checked_scenarios(sweep):
        preflight(resolved)
    print(f"busetting: sweep {sweep.name} of plan {sweep.plan}: {len(sweep.scenarios)} scenarios "
          f"({sweep.design.design}; weights: {sweep.note}) -> {Path(args.out) / sweep.folder}/", file=sys.stderr)
    report = SweepReport(plan=sweep.plan, sweep=sweep.name, fingerprint=sweep.fingerprint, out_dir=args.out,
                         resolved=sweep)
    options = dataclasses.replace(flags.scheduler_options(args), quiet=True,
                                  keep_alive_idle_seconds=KEEP_ALIVE_IDLE_SECONDS)
    # Every scenario reads the same transport network: build it first and keep it
    # loaded, so the worker processes forked for the tasks do not each parse it.
    network = report.requires()[0].network_task()
    run_tasks([network], options)
    if network.complete():
        network.load()
    return finish(report, run_tasks([report], options))


def checked_scenarios(sweep: ResolvedSweep) -> list:
    """The scenarios whose inputs are read before anything runs: the first and
    those with the smallest and the largest need (the submissions are checked
    against the need).  Any other scenario with bad input fails when it runs."""
    by_need = sorted(sweep.resolved, key=lambda r: r.plan.need_persons)
    chosen = [sweep.resolved[0], by_need[0], by_need[-1]]
    return list({id(r): r for r in chosen}.values())


def finish(report: SweepReport, status: int) -> int:
    """Say what is done, by this worker or others; 0 once the sweep's summary is written."""
    tasks = report.requires()
    done = sum(task.complete() for task in tasks)
    folder = report.folder()
    if done == len(tasks) and not report.complete():
        # Every scenario is done: another worker is writing the summary.
        deadline = time.monotonic() + KEEP_ALIVE_IDLE_SECONDS
        while not report.complete() and time.monotonic() < deadline:
            time.sleep(SUMMARY_POLL_SECONDS)
    if report.complete():
        print(f"sweep: {folder}/ ({done} of {len(tasks)} scenarios; sweep.html, answers.csv, municipalities.csv, "
              f"counties.csv)")
        return 0
    print(f"sweep: {done} of {len(tasks)} scenarios done, the summary is not written yet; run the same command "
          "again to finish (what is done is kept) or --verbose to see what failed", file=sys.stderr)
    return status or 1

