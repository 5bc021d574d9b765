"""Everything one run writes into its folder ``out/<plan>/``, manifest last.

A run for people writes everything; a scenario run of a sweep leaves out
what only people read (explanations, the network graph and map, letters,
report) and keeps the numbers, the model, the solver log, the independent
check and the manifest, which says which kind of run it was (``documents``).
"""
from __future__ import annotations

from pathlib import Path

from optimiser.network import Network
from pipeline.plans.inputs import PlanInputs
from pipeline.plans.resolve import ResolvedPlan
from pipeline.publish import letters, report
from pipeline.publish.documents import DocumentSettings, load_templates
from pipeline.publish.files import write_csv
from pipeline.publish.manifest import build_manifest, write_manifest
from pipeline.publish.network import write_network
from pipeline.publish.run_tables import read_run_tables
from pipeline.publish.solution import Solution
from pipeline.publish.tables import change_table, county_table


def document_settings(inputs: PlanInputs) -> DocumentSettings:
    """Templates and what the report shows besides the run; the letter config and written
    standards when the plan writes letters (else None)."""
    resolved = inputs.resolved
    return DocumentSettings(letters=resolved.letters, standards=inputs.standards,
                            templates=load_templates(resolved.files, resolved.config_dir),
                            municipality_shapes=inputs.municipality_shapes, county_shapes=inputs.county_shapes,
                            previous_year=inputs.previous_year)


def write_run(folder: Path, resolved: ResolvedPlan, solution: Solution, network: Network,
              explained: dict[str, bytes], verify_json: bytes, input_hashes: dict[str, str],
              base_run: Path | None = None, documents: PlanInputs | None = None) -> dict:
    """Write the run into ``folder`` (a staging folder); returns the manifest.

    ``explained``: file name -> bytes of the explanation (explain.csv, explain.md);
    ``input_hashes``: every file the run read, path -> SHA-256; ``base_run``:
    the base plan's run folder a re-plan read; ``documents``: the inputs the
    documents for people are written from (network graph and map, letters,
    report), None for a run without them."""
    folder = Path(folder)
    for name, data in explained.items():
        (folder / name).write_bytes(data)
    write_network(folder, network, solution.inputs.municipalities["eligible"], drawn=documents is not None)
    allocation = solution.allocation
    write_csv(allocation, folder / "allocation.csv")
    write_csv(county_table(allocation), folder / "county.csv")
    write_csv(solution.targets.frame.round(3).reset_index(), folder / "targets.csv")
    params = solution.inputs
    params.municipalities.reset_index().to_csv(folder / "parameters.csv", index=False, lineterminator="\n",
                                               float_format="%.10g")
    write_csv(params.county_minimum.rename_axis("fylke").rename("minimum").reset_index(),
              folder / "county_minimum.csv")
    (folder / "model.mps").write_text(solution.model_mps)
    (folder / "solver.log").write_text(solution.solver_log)
    (folder / "verify.json").write_bytes(verify_json)
    if solution.is_replan:
        write_csv(change_table(allocation), folder / "changes.csv")
        write_csv(solution.shortfalls, folder / "shortfalls.csv")
    manifest = build_manifest(resolved, solution, input_hashes, base_run, documents=documents is not None)
    if documents is not None:
        write_documents(folder, folder, documents, manifest)
    return write_manifest(folder, manifest)


def write_documents(folder: Path, run: Path, inputs: PlanInputs, manifest: dict) -> list[str]:
    """Letters (when the plan has a letter config) and the report, rendered from the tables of the
    run folder ``run`` into ``folder``; the files written, relative to ``folder``."""
    settings = document_settings(inputs)
    tables = read_run_tables(run)
    plan = inputs.plan
    written = letters.write_letters(folder, tables, plan, settings, manifest) if settings.letters is not None else []
    return written + report.write_report(folder, tables, plan, manifest, settings, written)
