"""``python -m pipeline ladder --plan 2022 --from 4000 --to 40000 --step 500``."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from pipeline import cli_allocate, tasks
from pipeline.config import load_plan, plan_path
from pipeline.errors import InputError
from pipeline.inputs import read_plan_data
from pipeline.run import RunOptions, build
from pipeline.submissions import read_status


def add_arguments(p: argparse.ArgumentParser) -> None:
    cli_allocate.add_arguments(p)
    p.add_argument("--from", dest="need_from", type=int, required=True, help="first national need (persons)")
    p.add_argument("--to", dest="need_to", type=int, required=True, help="last national need (persons)")
    p.add_argument("--step", dest="need_step", type=int, required=True, help="step between needs (persons)")


def run(args: argparse.Namespace) -> int:
    if args.need_step <= 0 or args.need_to < args.need_from or args.need_from < 0:
        print("error: ladder: need --from <= --to, both >= 0, and --step > 0", file=sys.stderr)
        return 2
    opts = cli_allocate.options(args)
    try:
        check_settled(opts, args.need_from)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"busetting: need ladder for plan {opts.plan}: {args.need_from} to {args.need_to} by {args.need_step}",
          file=sys.stderr)
    status = build(opts, tasks.Ladder, need_from=args.need_from, need_to=args.need_to, need_step=args.need_step)
    if status == 0:
        print(f"ladder: {opts.out_dir / f'{opts.plan}-ladder'}/ladder-{args.need_from}-{args.need_to}-"
              f"{args.need_step}.csv (municipality x need; no request falls as the need rises)")
    return status


def check_settled(opts: RunOptions, need_from: int) -> None:
    """A re-plan's ladder starts no lower than what is already settled nationally:
    the status file is checked against the ladder's first need as against a plan's."""
    plan = load_plan(plan_path(opts.plan, opts.config_dir))
    if plan.replan is None:
        return
    municipalities = read_plan_data(plan, opts.data_dir).municipalities
    read_status(dataclasses.replace(plan, need_persons=need_from), municipalities, opts.data_dir)
