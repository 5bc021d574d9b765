"""What the terminal shows after a run: the county table, the changes of a
re-plan, the solver's verdict and where the files are."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from optimiser.fairness import fairness_line
from pipeline.publish.solution import read_run_allocation
from pipeline.publish.tables import change_table, county_table, format_change_table, format_county_table


def run_summary(folder: Path) -> str:
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    allocation = read_run_allocation(folder).reset_index()
    lines = [format_county_table(county_table(allocation))]
    if "change_reason" in allocation:
        lines += ["", f"changes against plan {manifest.get('base_plan')}:", format_change_table(change_table(allocation))]
        flows = pd.read_csv(folder / "shortfalls.csv", dtype={"origin": str, "receiver": str})
        if len(flows):
            lines.append(f"declined quotas: {int(flows['persons'].sum())} persons moved, "
                         f"{int(flows.loc[flows['within_reach'], 'persons'].sum())} of them within the reasonable "
                         "travel time (shortfalls.csv)")
    if manifest.get("fairness"):
        lines += ["", fairness_line(manifest["fairness"])]
    crit = manifest["criteria"]
    lines += ["", f"solver {manifest['solver']['name']} {manifest['solver']['version']}: {manifest['status']}, "
                  f"objective {manifest['objective']:.3f}, gap {manifest['gap']}",
              f"criteria used: {', '.join(crit['used'])}; lacked (no data): {', '.join(crit['lacked']) or 'none'}"]
    if (manifest.get("submissions") or {}).get("illustrative"):
        lines.append("inputs: county recommendations, KS input or municipal answers are ILLUSTRATIVE stand-ins "
                     "(data/README.md); replace them with the real submissions before publishing")
    files = manifest["files"]
    lines.append(f"outputs in {folder}/: {', '.join(f for f in files if '/' not in f)}")
    letters = [f for f in files if f.startswith("letters/") and f.endswith(".md")]
    if letters:
        lines.append(f"letters: {len(letters)} municipalities, Markdown and HTML, in {folder / 'letters'}/")
    else:
        lines.append(f"letters: none (no config/letters/{manifest.get('plan', folder.name)}.yaml)")
    if "report.html" in files:
        lines.append(f"report: {folder / 'report.html'} (opens offline, in bokmål)")
    return "\n".join(lines)
