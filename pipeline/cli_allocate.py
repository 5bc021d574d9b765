"""``python -m pipeline allocate --plan 2022``: build and publish one plan."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from pipeline import outputs
from pipeline.config import plan_path
from pipeline.fingerprint import base_plan_name
from pipeline.run import RunOptions, build


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plan", default="2022", help="plan name: config/<plan>.yaml (default 2022)")
    p.add_argument("--config-dir", default="config")
    p.add_argument("--data-dir", default="data")
    p.add_argument("--out", default="out", help="output root; the run goes to <out>/<plan>/")
    p.add_argument("--scheduler-host", default=None, help="central luigid host (default: local scheduler)")
    p.add_argument("--scheduler-port", type=int, default=8082)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--verbose", action="store_true", help="show Luigi's own log")


def options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(plan=args.plan, config_dir=Path(args.config_dir), data_dir=Path(args.data_dir),
                      out_dir=Path(args.out), scheduler_host=args.scheduler_host,
                      scheduler_port=args.scheduler_port, workers=args.workers, verbose=args.verbose)


def run(args: argparse.Namespace) -> int:
    opts = options(args)
    is_replan = base_plan_name(opts.plan, opts.config_dir) is not None
    if args.command == "reallocate" and not is_replan:
        print(f"error: {plan_path(opts.plan, opts.config_dir)}: not a re-plan (no replan.base_plan); "
              f"use make allocate PLAN={opts.plan}", file=sys.stderr)
        return 2
    print(f"busetting: {'re-planning' if is_replan else 'allocating'} plan {opts.plan}", file=sys.stderr)
    status = build(opts)
    if status == 0:
        summary(opts.out_dir / opts.plan)
    return status


def summary(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    allocation = outputs.read_run_allocation(folder).reset_index()
    print(outputs.format_county_table(outputs.county_table(allocation)))
    if "change_reason" in allocation:
        print("\nchanges against plan " + str(manifest.get("base_plan")) + ":")
        print(outputs.format_change_table(outputs.change_table(allocation)))
        flows = pd.read_csv(folder / "shortfalls.csv", dtype={"origin": str, "receiver": str})
        if len(flows):
            print(f"declined quotas: {int(flows['persons'].sum())} persons moved, "
                  f"{int(flows.loc[flows['within_reach'], 'persons'].sum())} of them within the reasonable travel time "
                  f"(shortfalls.csv)")
    crit = manifest["criteria"]
    print(f"\nsolver {manifest['solver']['name']} {manifest['solver']['version']}: {manifest['status']}, "
          f"objective {manifest['objective']:.3f}, gap {manifest['gap']}")
    print(f"criteria used: {', '.join(crit['used'])}; lacked (no data): {', '.join(crit['lacked']) or 'none'}")
    if (manifest.get("submissions") or {}).get("illustrative"):
        print("inputs: county recommendations, KS input or municipal answers are ILLUSTRATIVE stand-ins "
              "(data/README.md); replace them with the real submissions before publishing")
    print(f"outputs in {folder}/: {', '.join(f for f in manifest['files'] if '/' not in f)}")
    if not any(f.startswith("letters/") for f in manifest["files"]):
        print(f"letters: none (no config/letters/{manifest.get('plan', folder.name)}.yaml)")
    letters = [f for f in manifest["files"] if f.startswith("letters/") and f.endswith(".md")]
    if letters:
        print(f"letters: {len(letters)} municipalities, Markdown and HTML, in {folder / 'letters'}/")
    if "report.html" in manifest["files"]:
        print(f"report: {folder / 'report.html'} (opens offline; map also in map.png)")
