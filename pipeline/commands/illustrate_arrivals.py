"""``python -m pipeline illustrate-arrivals --plan 2022-03 --households 14000 --seed 2022
--out-file data/inputs/2022-03/arrivals-synthetic.csv``: write a synthetic arrivals file.

No real household data exists here, nor may it be added.  This draws one
with ``optimiser.arrivals.synthetic_arrivals`` (its stated distributions,
the seed fixed), adapted to the plan:

ties                    in proportion to the refugee population living in each
                        municipality (``flyktninger_og_familieinnvandrede`` of
                        ``data/imdi_innvandrere_etter_innvandringsgrunn_2006_2021.csv``,
                        1 January of the latest year before the plan year)
complex health          the plan's ``submissions.complex_health_share`` of the
                        households (the default shape's where the plan sets none)
unaccompanied minors    as many as the plan's municipal EM need per person of
                        its national need: share of households = EM persons /
                        need persons * mean household size
ready dates             uniform over the plan's year; registered 7-42 days later

The file's first line says ``# SYNTHETIC`` and how it was made; a placement
on it says so in its manifest (``synthetic: true``) and in the terminal.
The file must go into the plan's input folder and be named ``arrivals*.csv``
(a placement file, never one of the plan's inputs).
"""
from __future__ import annotations

import argparse
import dataclasses
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.arrivals import ArrivalShape, ArrivalYear, synthetic_arrivals
from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.inputs.arrivals import latest_refugees
from pipeline.inputs.catalog import PLACEMENT_FILES, national_path, plan_inputs_dir
from pipeline.inputs.history import REFUGEE_COLUMN
from pipeline.inputs.national import national_files, read_plan_data
from pipeline.plans.load import plan_path
from pipeline.plans.resolve import load_plan
from pipeline.publish.files import atomic_file

COLUMNS = ["household_id", "persons", "adults", "children", "unaccompanied_minor", "complex_health",
           "tie_kommunenummer", "ready_date", "registered_date"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan(p)
    p.add_argument("--households", type=int, required=True, help="how many households to draw")
    p.add_argument("--seed", type=int, default=2022, help="seed of the draw (default 2022)")
    p.add_argument("--out-file", required=True, help="data/inputs/<plan>/arrivals-<name>.csv")
    flags.add_folders(p)


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    plan = load_plan(plan_path(args.plan, Path(args.config_dir)))
    out = out_file(Path(args.out_file), plan_inputs_dir(plan.name, data_dir))
    if not 0 < args.households <= 1_000_000:
        raise InputError("--households", f"{args.households} households", "draw between 1 and 1,000,000")
    files = national_files(data_dir)
    data = read_plan_data(plan, files, data_dir)
    source = files.get_source(national_path("refugees", data_dir))
    refugees, year = latest_refugees(data.refugees, data.municipalities.index, plan.year, source.path)
    shape = plan_shape(plan)
    frame = synthetic_arrivals(refugees, args.households, args.seed, ArrivalYear(year=plan.year, shape=shape))
    header = synthetic_header(args, plan, shape, source.path, year)
    atomic_file(out.parent, out, header + arrivals_csv(frame))
    print(f"wrote {out}: {len(frame):,} synthetic households, {int(frame['persons'].sum()):,} persons")
    return 0


def out_file(path: Path, folder: Path) -> Path:
    """``path`` if it names an ``arrivals*.csv`` directly in the plan's input folder."""
    if path.parent.resolve() != folder.resolve() or not fnmatch(path.name, PLACEMENT_FILES[0]):
        raise InputError(f"--out-file {path}", f"must be {folder}/{PLACEMENT_FILES[0]}",
                         "synthetic arrivals go beside the plan's other inputs, named arrivals*.csv")
    return folder / path.name


def plan_shape(plan) -> ArrivalShape:
    """The default shape with the plan's complex-health share and EM share (module docstring)."""
    shape = ArrivalShape()
    mean_size = float(np.dot(np.arange(1, len(shape.size_shares) + 1), shape.size_shares))
    em = plan.unaccompanied_minors.municipal_persons if plan.unaccompanied_minors else 0
    health = plan.submissions.complex_health_share or shape.complex_health_share
    return dataclasses.replace(shape, complex_health_share=health,
                               unaccompanied_minor_share=min(1.0, em / plan.need_persons * mean_size))


def synthetic_header(args: argparse.Namespace, plan, shape: ArrivalShape, refugees: Path, year: int) -> str:
    sizes = ", ".join(f"{i + 1}: {s:.0%}" for i, s in enumerate(shape.size_shares))
    low, high = shape.registration_lag_days
    return (
        f"# SYNTHETIC: not real households. Drawn by `python -m pipeline illustrate-arrivals --plan {plan.name} "
        f"--households {args.households} --seed {args.seed}` with optimiser/arrivals.py (synthetic_arrivals).\n"
        f"# Ties in proportion to {REFUGEE_COLUMN} on 1 January {year} ({refugees}); no tie {shape.no_tie_share:.0%}. "
        f"Persons per household {sizes}; two adults in {shape.two_adult_share:.0%} of households of two or more. "
        f"Complex health needs {shape.complex_health_share:.1%} (the plan's complex_health_share); unaccompanied "
        f"minors {shape.unaccompanied_minor_share:.2%} (the plan's EM need per person of its need, times the mean "
        f"household size). Ready dates uniform over {plan.year}; registered {low}-{high} days later.\n")


def arrivals_csv(frame: pd.DataFrame) -> str:
    """The households in the arrivals format (README, Placing households)."""
    out = frame.rename(columns={"tie": "tie_kommunenummer"}).assign(
        unaccompanied_minor=lambda f: f["unaccompanied_minor"].map({True: "true", False: "false"}),
        complex_health=lambda f: f["complex_health"].map({True: "true", False: "false"}),
        ready_date=lambda f: f["ready_date"].dt.strftime("%Y-%m-%d"),
        registered_date=lambda f: f["registered_date"].dt.strftime("%Y-%m-%d"))
    return out[COLUMNS].to_csv(index=False, lineterminator="\n")
