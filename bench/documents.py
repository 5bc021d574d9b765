"""Benchmark: the letters and the report of one run (what ``Publish`` adds to a run).

Times ``pipeline.publish.letters.write_letters`` and ``report.write_report``
for the 2022 plan with every municipality asked (356 letters in Markdown and
HTML with their attachments, the report with its SVG map) against a baseline run in
the same process: ``pipeline.inputs.national.read_plan_data`` for the same plan.
The first call is printed separately.  Prints the machine, the median of several
runs and the ratio.

    .venv/bin/python bench/documents.py [--runs 7]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import common
import pandas as pd

from pipeline.inputs.national import read_plan_data
from pipeline.plans.inputs import read_inputs
from pipeline.plans.resolve import resolve_plan
from pipeline.publish import letters, report
from pipeline.publish.run_folder import document_settings
from pipeline.publish.run_tables import RunTables

os.chdir(common.ROOT)

MANIFEST = {"status": "optimal", "sol_status": 1, "gap": 0.0, "objective": 0.0, "criteria": {"used": ["population"]},
            "config": {"criteria": {"weights": {"population": 1.0}}}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    machine = common.Machine(("pandas", "matplotlib"))
    resolved = resolve_plan("2022")
    plan = resolved.plan
    inputs = read_inputs(resolved)
    m = inputs.data.municipalities
    # Everyone asked: a request in proportion to population, at least the minimum (the sum is not the need;
    # the documents do not check it, and the letter count is the point here).
    allocation = m[["kommune", "fylke", "fylkesnavn", "population"]].reset_index().assign(
        target=lambda f: f["population"] / 1000.0,
        request=lambda f: (f["population"] // 1000).clip(lower=plan.minimum_request).astype(int))
    settings = document_settings(inputs)
    code = allocation.set_index("kommunenummer")
    tables = RunTables(allocation=allocation, targets=code[["target"]].assign(contribution_population=code["target"]),
                       binding=pd.Series("", index=code.index))
    with tempfile.TemporaryDirectory(prefix="bench-documents-") as tmp:
        folders = iter(range(args.runs + 1))

        def run():  # a fresh folder each time, as Publish's staging folder is
            folder = Path(tmp, str(next(folders)))
            folder.mkdir()
            written = letters.write_letters(folder, tables, plan, settings, MANIFEST)
            report.write_report(folder, tables, plan, MANIFEST, settings, written)

        start = time.perf_counter()
        run()
        first = time.perf_counter() - start
        documents, _ = common.median_seconds(run, args.runs)
        count = len(list(Path(tmp, "0", "letters").glob("*.md")))
    baseline, _ = common.median_seconds(lambda: read_plan_data(plan, resolved.files, resolved.data_dir), args.runs)
    print(json.dumps({
        "machine": machine.describe(),
        "letters": count, "runs": args.runs,
        "write_documents_first_call_seconds": round(first, 3),
        "write_documents_median_seconds": round(documents, 3),
        "baseline_read_plan_data_median_seconds": round(baseline, 3),
        "ratio_to_baseline": round(documents / baseline, 2),
    }))


if __name__ == "__main__":
    main()
