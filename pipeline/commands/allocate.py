"""``python -m pipeline allocate --plan 2022`` (and ``reallocate``): build and publish one plan."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.graph.runner import run_tasks
from pipeline.graph.tasks import Publish
from pipeline.plans.inputs import read_inputs
from pipeline.plans.resolve import ResolvedPlan
from pipeline.publish.summary import run_summary


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan_run(p)


def preflight(resolved: ResolvedPlan) -> None:
    """Read every input of the plan and its base plans before any task runs:
    bad input stops the run here, with nothing written."""
    while resolved is not None:
        read_inputs(resolved)
        resolved = resolved.base


def run(args: argparse.Namespace) -> int:
    resolved = flags.resolve(args)
    is_replan = resolved.base is not None
    if args.command == "reallocate" and not is_replan:
        raise InputError(str(resolved.plan_files[0]), "not a re-plan (no replan.base_plan)",
                         f"use make allocate PLAN={resolved.name}")
    preflight(resolved)
    print(f"busetting: {'re-planning' if is_replan else 'allocating'} plan {resolved.name}", file=sys.stderr)
    task = Publish(plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=args.out, resolved=resolved)
    status = run_tasks([task], flags.scheduler_options(args))
    if status == 0:
        print(run_summary(Path(args.out) / resolved.name))
    return status
