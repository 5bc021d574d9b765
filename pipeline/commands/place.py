"""``python -m pipeline place --plan 2022-03 --arrivals <file>`` (and ``place-year``):
place a batch of households against a published plan, or a year of them
week by week against hindsight.  Runs the plan first if its run is missing
or stale."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.commands import flags
from pipeline.commands.allocate import preflight
from pipeline.graph.placement import Place, PlaceYear
from pipeline.graph.runner import run_tasks
from pipeline.plans.placement import resolve_batch
from pipeline.publish.placement import placement_summary, year_summary_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan_run(p)
    p.add_argument("--arrivals", required=True,
                   help="arrivals CSV, one row per household (README, Placing households); its stem names the batch")


def run(args: argparse.Namespace) -> int:
    resolved = flags.resolve(args)
    preflight(resolved)
    batch = resolve_batch(resolved, Path(args.arrivals))
    year = args.command == "place-year"
    what = "a year of" if year else "placing"
    print(f"busetting: {what} {batch.name} against plan {resolved.name}"
          + (" (SYNTHETIC arrivals)" if batch.arrivals.synthetic else ""), file=sys.stderr)
    task = (PlaceYear if year else Place)(
        plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=args.out, resolved=resolved,
        batch_name=batch.name, batch_fingerprint=batch.fingerprint, batch=batch)
    status = run_tasks([task], flags.scheduler_options(args))
    if status == 0:
        print((year_summary_text if year else placement_summary)(task.folder()))
    return status
