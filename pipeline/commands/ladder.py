"""``python -m pipeline ladder --plan 2022 --from 4000 --to 40000 --step 500``."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from pipeline.commands import flags
from pipeline.commands.allocate import preflight
from pipeline.errors import InputError
from pipeline.graph.runner import run_tasks
from pipeline.graph.tasks import Ladder
from pipeline.inputs.submissions import read_status
from pipeline.plans.inputs import read_inputs


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan_run(p)
    p.add_argument("--from", dest="need_from", type=int, required=True, help="first national need (persons)")
    p.add_argument("--to", dest="need_to", type=int, required=True, help="last national need (persons)")
    p.add_argument("--step", dest="need_step", type=int, required=True, help="step between needs (persons)")


def run(args: argparse.Namespace) -> int:
    if args.need_step <= 0 or args.need_to < args.need_from or args.need_from < 0:
        raise InputError("ladder", "need --from <= --to, both >= 0, and --step > 0")
    resolved = flags.resolve(args)
    preflight(resolved)
    if resolved.status_file is not None:
        # The ladder starts no lower than what is already settled nationally.
        inputs = read_inputs(resolved)
        read_status(dataclasses.replace(resolved.plan, need_persons=args.need_from), inputs.data.municipalities,
                    resolved.files.get_source(resolved.status_file))
    print(f"busetting: need ladder for plan {resolved.name}: {args.need_from} to {args.need_to} by {args.need_step}",
          file=sys.stderr)
    task = Ladder(plan=resolved.name, fingerprint=resolved.fingerprint, out_dir=args.out, resolved=resolved,
                  need_from=args.need_from, need_to=args.need_to, need_step=args.need_step)
    status = run_tasks([task], flags.scheduler_options(args))
    if status == 0:
        print(f"ladder: {Path(args.out) / f'{resolved.name}-ladder'}/ladder-{args.need_from}-{args.need_to}-"
              f"{args.need_step}.csv (municipality x need; no request falls as the need rises)")
    return status
