"""``python -m pipeline illustrate --plan 2022``: write illustrative submissions.

The county recommendations, KS input and municipal answers for 2022 are not
public.  This command writes stand-ins in the real format under
``data/inputs/<plan>/``, every file marked ILLUSTRATIVE, by fixed rules from
the real population and school data (no randomness):

county recommendation  municipalities with an upper-secondary school of their
    own: max(10, 5 * round(need * p^0.64 / sum p^0.64 / 5)), p = population on
    1 January of the plan's population year; others: no recommendation.
    EM recommendation: for the EM-capable (below), the municipal EM need
    spread by population, at least 2.
municipal answers  base capacity max(10, ceil(2.0 * p / 1000)); volunteered
    extra ceil(1.0 * p / 1000); complex-health capacity ceil(base / 10);
    EM capacity ceil(p / 20,000) where p >= 20,000 and the municipality has a
    school, else empty; no decision yet.
re-plan status  (plans with a ``replan`` section, from the base plan's run in
    out/<base>/): settled so far = floor(25 % of the base request); decision =
    the base request, except every 10th asked municipality in code order,
    which decided 20 % less (rounded down to whole persons, never below
    settled); volunteered extra capacity if the need grows =
    max(10, ceil(8.0 * p / 1000)).
KS input  agrees; caps the largest municipality in a county of several
    municipalities at 90 % of its county recommendation (a cap on a county of
    one municipality would fight the spread rule); grants the smallest municipality with a school of its own
    an exception to the minimum (5 instead of the plan's minimum).
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.inputs.catalog import plan_inputs_dir
from pipeline.inputs.national import national_files, read_plan_data
from pipeline.inputs.submissions import ANSWERS_FILE
from pipeline.plans.load import plan_path
from pipeline.plans.resolve import load_plan
from pipeline.publish.files import atomic_file
from pipeline.publish.solution import read_run_allocation

HEADER = ("# ILLUSTRATIVE: not a real submission. Written by `python -m pipeline illustrate --plan {plan}` "
          "from real population and school data by the rules in pipeline/illustrative.py.\n")


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan(p)
    flags.add_folders(p)


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    plan = load_plan(plan_path(args.plan, Path(args.config_dir)))
    # The national files only: the plan's own inputs are what this command writes.
    data = read_plan_data(plan, national_files(data_dir), data_dir)
    folder = plan_inputs_dir(plan.name, data_dir)
    if plan.replan is not None:
        base_run = Path(args.out) / plan.replan.base_plan
        if not (base_run / "allocation.csv").is_file():
            raise InputError(str(base_run), "no run of the base plan", f"run make allocate PLAN={plan.replan.base_plan} first")
        previous = read_run_allocation(base_run)["request"]
        written = {plan.replan.status_file: illustrative_status(plan, data.municipalities, previous)}
    else:
        written = illustrative_files(plan, data.municipalities)
    for name, text in written.items():
        path = folder / name
        atomic_file(folder, path, text)
        print(f"wrote {path}")
    return 0


def illustrative_files(plan, m: pd.DataFrame) -> dict[str, str]:
    """File name (relative to data/inputs/<plan>/) -> text."""
    pop = m["population"].astype(float)
    has_school = m["schools"] > 0
    share = pop ** 0.64 / (pop ** 0.64).sum()
    recommended = np.maximum(10, 5 * np.round(plan.need_persons * share / 5)).astype(int)
    base = np.maximum(10, np.ceil(2.0 * pop / 1000)).astype(int)
    extra = np.ceil(1.0 * pop / 1000).astype(int)
    em_capable = has_school & (pop >= 20_000)
    em_capacity = np.ceil(pop / 20_000).astype(int).where(em_capable)
    em_need = plan.unaccompanied_minors.municipal_persons if plan.unaccompanied_minors else 0
    em_rec = np.maximum(2, np.round(em_need * pop.where(em_capable, 0) / pop[em_capable].sum())).where(em_capable)
    em_rec = np.minimum(em_rec, em_capacity)

    files = {}
    for county, members in m.groupby("fylke").groups.items():
        rows = pd.DataFrame({
            "kommunenummer": members, "kommune": m.loc[members, "kommune"], "year": plan.year,
            "recommended": recommended[members].where(has_school[members]).astype("Int64"),
            "recommended_em": em_rec[members].astype("Int64"),
            "reason": np.where(has_school[members], "illustrative: population rule", "illustrative: no school of its own"),
        })
        files[f"counties/{county}.csv"] = HEADER.format(plan=plan.name) + rows.to_csv(index=False, lineterminator="\n")
    answers = pd.DataFrame({
        "kommunenummer": m.index, "kommune": m["kommune"], "year": plan.year, "decision": pd.NA,
        "base_capacity": base, "extra_capacity": extra,
        "complex_health_capacity": np.ceil(base / 10).astype(int),
        "em_capacity": em_capacity.astype("Int64"),
    })
    files[ANSWERS_FILE] = HEADER.format(plan=plan.name) + answers.to_csv(index=False, lineterminator="\n")

    shared_county = m.groupby("fylke")["kommune"].transform("size") > 1
    largest = pop[shared_county].idxmax()
    smallest_with_school = pop[has_school].idxmin()
    ks = {
        "illustrative": True,
        "year": plan.year,
        "agrees": True,
        "reference": "ILLUSTRATIVE - not a real KS reference",
        "date": f"{plan.year - 1}-10-01",
        "caps": [{"kommunenummer": largest, "max_persons": int(math.floor(0.9 * recommended[largest])),
                  "reason": "illustrative: housing market"}],
        "exclusions": [],
        "minimum_exceptions": [{"kommunenummer": smallest_with_school, "minimum": 5,
                                "reason": "illustrative: small municipality, own school"}],
    }
    files["ks.yaml"] = ("# ILLUSTRATIVE: not a real KS input; see pipeline/illustrative.py\n"
                        + yaml.safe_dump(ks, sort_keys=False, allow_unicode=True))
    return files


def illustrative_status(plan, m: pd.DataFrame, previous: pd.Series) -> str:
    """status.csv for a re-plan (rule in the module docstring)."""
    previous = previous.reindex(m.index).fillna(0).astype(int)
    settled = np.floor(0.25 * previous).astype(int)
    asked = previous.index[previous > 0]
    declining = asked[::10]
    decision = previous.where(previous > 0).astype("Int64")
    decision[declining] = np.maximum(settled[declining], np.floor(0.8 * previous[declining])).astype(int)
    rows = pd.DataFrame({
        "kommunenummer": m.index, "kommune": m["kommune"], "year": plan.year, "settled": settled,
        "decision": decision,
        "extra_capacity": np.maximum(10, np.ceil(8.0 * m["population"] / 1000)).astype(int),
        "settled_above_decision": False,
    })
    return HEADER.format(plan=plan.name) + rows.to_csv(index=False, lineterminator="\n")
