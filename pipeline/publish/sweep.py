"""What a sweep writes for the planner, beside its scenario runs.

``<out>/<plan>-sweep-<name>/``:

scenarios/<id>/     each scenario's run folder (manifest, allocation, model,
                    verify ...; no letters or report), or ``infeasible.json``
                    with the one-line diagnosis
scenarios.csv       one row per scenario: its values, status, diagnosis, fingerprint
requests.csv        request per municipality (rows) and feasible scenario (columns)
municipalities.csv  per municipality: minimum, median, maximum request, share of
                    scenarios asked, the need at which it is first asked, the
                    weight it is most sensitive to (``optimiser.sweep.summarise``)
counties.csv        the same per county (sums of its municipalities' requests)
fan.csv, fans/      per county and need: median, minimum and maximum request; one
                    fan chart per county (PNG)
answers.csv         one line per municipality for the letter dialogue, in its
                    written standard (nynorsk or bokmål, ``data/malform.csv``;
                    bokmål where the plan has no letter config)
sweep.html          all of it on one offline, self-contained page
sweep.json          the sweep's manifest, written last: plan, sweep file and its
                    SHA-256, fingerprint, counts, SHA-256 of every file above
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from optimiser import sweep as sweeps
from pipeline.plans.inputs import read_inputs
from pipeline.plans.load import plan_to_dict
from pipeline.plans.sweep import ResolvedSweep
from pipeline.publish.documents import file_stem, number
from pipeline.publish.files import atomic_file, atomic_folder, csv_text, json_text, sha256_file
from pipeline.publish.manifest import MANIFEST, read_manifest
from pipeline.publish.report import _percent, _table, _td, _text
from pipeline.publish.solution import read_run_allocation

SWEEP_MANIFEST = "sweep.json"
INFEASIBLE_RECORD = "infeasible.json"
FAN_SIZE_INCHES = (4.2, 2.6)
FAN_DPI = 100
PLACE = ("kommune", "fylke", "fylkesnavn", "population")

# One-line answers, (nynorsk, bokmål): {lo}, {hi}, {k}, {n}, {first}, {context}; {a}, {b} in the context parts.
PHRASES = {
    "same": ("{lo} personar for {context} ({n} scenario).", "{lo} personer for {context} ({n} scenarioer)."),
    "always": ("Mellom {lo} og {hi} personar for {context} ({n} scenario).",
               "Mellom {lo} og {hi} personer for {context} ({n} scenarioer)."),
    "some": ("Spurd i {k} av {n} scenario for {context}, då mellom {lo} og {hi} personar",
             "Spurt i {k} av {n} scenarioer for {context}, da mellom {lo} og {hi} personer"),
    "first": ("; først spurd ved eit nasjonalt behov på {first}", "; først spurt ved et nasjonalt behov på {first}"),
    "never": ("Ikkje spurd i nokon av dei {n} scenarioa for {context}.",
              "Ikke spurt i noen av de {n} scenarioene for {context}."),
    "none": ("Ingen av scenarioa let seg gjennomføre.", "Ingen av scenarioene lot seg gjennomføre."),
    "need": ("nasjonalt behov frå {a} til {b}", "nasjonalt behov fra {a} til {b}"),
    "weights": ("alle vektingar i spennet", "alle vektinger i spennet"),
    "capacity": ("kapasitet ×{a} til ×{b}", "kapasitet ×{a} til ×{b}"),
    "minimum": ("minste anmodning {a} til {b}", "minste anmodning {a} til {b}"),
    "plan": ("planen", "planen"),
    "and": (" og ", " og "),
}
ANSWERS = {standard: {key: pair[i] for key, pair in PHRASES.items()} for i, standard in enumerate(("nn", "nb"))}


def read_outcome(folder: Path) -> dict | None:
    """A scenario folder's outcome: ``{"status": "published" | "infeasible", "fingerprint", ...}``, or None."""
    for name, status in ((INFEASIBLE_RECORD, "infeasible"), (MANIFEST, "published")):
        path = Path(folder) / name
        if path.is_file():
            record = read_manifest(path)
            return None if record is None else {**record, "status": status}
    return None


def scenario_table(sweep: ResolvedSweep, outcomes: dict[str, dict]) -> pd.DataFrame:
    rows = []
    for scenario, resolved in zip(sweep.scenarios, sweep.resolved):
        outcome = outcomes.get(scenario.id) or {}
        rows.append({**scenario.row(), "status": outcome.get("status", "missing"),
                     "diagnosis": outcome.get("diagnosis", ""), "fingerprint": resolved.fingerprint})
    table = pd.DataFrame(rows)
    plan = sweep.resolved[0].plan
    # A value the sweep does not vary is the plan's own.
    own = {"need_persons": plan.need_persons, "capacity_factor": plan.capacity.factor,
           "minimum_request": plan.minimum_request}
    for column, value in own.items():
        table[column] = table[column].fillna(value) if table[column].notna().any() else value
    return table


def varied_weights(table: pd.DataFrame, lacked: set[str]) -> pd.DataFrame:
    """The weight columns that vary across scenarios (criteria with data only), named by criterion."""
    columns = {c[len("weight_"):]: c for c in table.columns if c.startswith("weight_")}
    frame = table.set_index("scenario")[list(columns.values())].rename(columns={v: k for k, v in columns.items()})
    return frame[[k for k in frame.columns if k not in lacked and frame[k].nunique() > 1]]


def write_sweep(out: Path, sweep: ResolvedSweep) -> dict:
    """Read every scenario's outcome and write the planner's files into ``out/<sweep folder>/``."""
    folder = out / sweep.folder
    outcomes = {s.id: read_outcome(out / sweep.run_folder(s.id)) for s in sweep.scenarios}
    table = scenario_table(sweep, outcomes)
    published = table.loc[table["status"] == "published", "scenario"].tolist()
    allocations = {i: read_run_allocation(out / sweep.run_folder(i)) for i in published}
    lacked = set()
    for i in published:
        lacked |= set(outcomes[i].get("criteria", {}).get("lacked", []))
    inputs = read_inputs(sweep.resolved[0])
    places = inputs.data.municipalities[list(PLACE)]
    requests = pd.DataFrame({i: allocations[i]["request"] for i in published}, index=places.index).fillna(0)
    requests = requests.astype(int)
    needs = table.set_index("scenario")["need_persons"].astype(float)
    weights = varied_weights(table, lacked)
    by_municipality = places.join(sweeps.summarise(requests, needs, weights))
    county_requests = requests.groupby(places["fylke"]).sum()
    counties = places.groupby("fylke").agg(fylkesnavn=("fylkesnavn", "first"), population=("population", "sum"))
    by_county = counties.join(sweeps.summarise(county_requests, needs, weights))
    bins = None if sweep.design.design == "grid" else sweeps.FAN_BINS
    fan = sweeps.fan(county_requests, needs, bins).rename(columns={"key": "fylke"})
    standards = answer_standards(inputs)
    answers = answer_table(by_municipality, requests, table, standards)

    files = {
        "scenarios.csv": csv_text(table),
        "requests.csv": csv_text(requests.rename_axis("kommunenummer").reset_index()),
        "municipalities.csv": csv_text(by_municipality.rename_axis("kommunenummer").reset_index()),
        "counties.csv": csv_text(by_county.rename_axis("fylke").reset_index()),
        "fan.csv": csv_text(fan),
        "answers.csv": csv_text(answers),
    }
    pictures = {f"{file_stem(code, row.fylkesnavn)}.png": fan_png(fan[fan["fylke"] == code], code, row.fylkesnavn)
                for code, row in counties.iterrows()}

    def write_pictures(staging: Path) -> None:
        for name, png in pictures.items():
            (staging / name).write_bytes(png)

    atomic_folder(out, folder / "fans", write_pictures)
    files["sweep.html"] = render_html(sweep, table, by_county, by_municipality, answers, pictures, lacked)
    for name, text in files.items():
        atomic_file(out, folder / name, text)
    manifest = {
        "plan": sweep.plan, "sweep": sweep.name, "sweep_file": str(sweep.source.path),
        "sweep_sha256": sweep.source.sha256, "fingerprint": sweep.fingerprint,
        "design": _present(plan_to_dict(sweep.design)), "plan_changes": sweep.fixed, "weights_note": sweep.note,
        "scenarios": len(table), "published": len(published),
        "infeasible": int((table["status"] == "infeasible").sum()),
        "missing": int((table["status"] == "missing").sum()), "criteria_lacked": sorted(lacked),
        "outputs": {name: sha256_file(folder / name) for name in [*files, *(f"fans/{n}" for n in pictures)]},
    }
    atomic_file(out, folder / SWEEP_MANIFEST, json_text(manifest))
    return manifest


def answer_standards(inputs) -> pd.Series:
    """Written standard per municipality: the one its letters are written in, else bokmål."""
    if inputs.standards is None:
        return pd.Series("nb", index=inputs.data.municipalities.index)
    return inputs.standards["standard"]


def context_text(table: pd.DataFrame, words: dict) -> str:
    """What varied across the scenarios, in words ("alle vektingar i spennet")."""
    parts = []
    feasible = table[table["status"] == "published"]
    for column, key, fmt in (("need_persons", "need", number), ("capacity_factor", "capacity", decimal),
                             ("minimum_request", "minimum", number)):
        values = feasible[column]
        if values.nunique() > 1:
            parts.append(words[key].format(a=fmt(values.min()), b=fmt(values.max())))
    weight_columns = [c for c in feasible.columns if c.startswith("weight_")]
    if weight_columns and len(feasible[weight_columns].drop_duplicates()) > 1:
        parts.insert(0, words["weights"])
    if not parts:
        return words["plan"]
    return ", ".join(parts[:-1]) + words["and"] + parts[-1] if len(parts) > 1 else parts[0]


def decimal(value: float) -> str:
    """A factor as Norwegian writes it: 3,5."""
    return f"{value:g}".replace(".", ",")


def answer_table(stats: pd.DataFrame, requests: pd.DataFrame, table: pd.DataFrame,
                 standards: pd.Series) -> pd.DataFrame:
    """One sentence per municipality: how much it is asked for across the feasible scenarios."""
    n = requests.shape[1]
    need_varies = table.loc[table["status"] == "published", "need_persons"].nunique() > 1
    positive = requests.where(requests > 0)
    contexts = {std: context_text(table, ANSWERS[std]) for std in ANSWERS}
    lines = []
    for code, row in stats.iterrows():
        std = standards.get(code, "nb")
        words = ANSWERS[std]
        asked = int((requests.loc[code] > 0).sum())
        lo, hi = positive.loc[code].min(), positive.loc[code].max()
        values = {"n": number(n), "k": number(asked), "context": contexts[std],
                  "lo": number(lo) if asked else "", "hi": number(hi) if asked else ""}
        if n == 0:
            text = words["none"]
        elif asked == 0:
            text = words["never"].format(**values)
        elif asked == n:
            text = words["same" if lo == hi else "always"].format(**values)
        else:
            text = words["some"].format(**values)
            if need_varies:
                text += words["first"].format(first=number(row["first_asked_need"]))
            text += "."
        lines.append({"kommunenummer": code, "kommune": row["kommune"], "standard": std, "answer": text})
    return pd.DataFrame(lines)


def fan_png(fan: pd.DataFrame, code: str, name: str) -> bytes:
    """The county's requests against the national need: median line, minimum-maximum band."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FAN_SIZE_INCHES, dpi=FAN_DPI)
    fig.subplots_adjust(left=0.16, right=0.97, bottom=0.17, top=0.9)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if len(fan) > 1:
        ax.fill_between(fan["need"], fan["minimum"], fan["maximum"], color="#9ecae1", alpha=0.7,
                        label="minimum to maximum", linewidth=0)
        ax.plot(fan["need"], fan["median"], color="#08519c", linewidth=1.5, label="median")
    elif len(fan) == 1:
        ax.errorbar(fan["need"], fan["median"], yerr=[fan["median"] - fan["minimum"], fan["maximum"] - fan["median"]],
                    fmt="o", color="#08519c", capsize=4, label="median, minimum to maximum")
    ax.set_title(f"{code} {name}", fontsize=9)
    ax.set_xlabel("national need (persons)", fontsize=8)
    ax.set_ylabel("requests in the county", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, linewidth=0.5)
    if len(fan):
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=FAN_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _stats_cells(row) -> str:
    first = row["first_asked_need"]
    sensitive = (f"{row['most_sensitive_to']} ({row['sensitivity']:+.2f})" if row["most_sensitive_to"] else "")
    return (_td(row["minimum"]) + _td(row["median"], 1) + _td(row["maximum"])
            + _percent(row["share_asked"]) + _td(None if pd.isna(first) else first) + _text(sensitive))


STATS_HEADER = ["minimum", "median", "maximum", "asked in", "first asked at need", "most sensitive to (Spearman)"]


def render_html(sweep: ResolvedSweep, table: pd.DataFrame, by_county: pd.DataFrame, by_municipality: pd.DataFrame,
                answers: pd.DataFrame, pictures: dict[str, bytes], lacked: set[str]) -> str:
    counts = table["status"].value_counts()
    county_rows = [_text(f"{code} {row['fylkesnavn']}") + _stats_cells(row) for code, row in by_county.iterrows()]
    answer_of = answers.set_index("kommunenummer")["answer"]
    municipality_rows = [_text(code) + _text(row["kommune"]) + _text(row["fylkesnavn"])
                         + _stats_cells(row) + _text(answer_of.get(code, ""))
                         for code, row in by_municipality.iterrows()]
    figures = "\n".join(
        f'<figure><img alt="fan chart {html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode("ascii")}"></figure>' for name, png in pictures.items())
    infeasible = table[table["status"] == "infeasible"]
    infeasible_rows = [_text(r["scenario"]) + _td(r["need_persons"]) + _text(r["diagnosis"])
                       for r in infeasible.to_dict("records")]
    description = html.escape(sweep.design.description.strip())
    lacked_text = (f"<p>Criteria without data for this plan (their weight is left out and the others renormalised, "
                   f"so they are not in the sensitivities): {html.escape(', '.join(sorted(lacked)))}.</p>"
                   if lacked else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sweep {html.escape(sweep.name)} of plan {html.escape(sweep.plan)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.85em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
figure {{ display: inline-block; margin: 0.3em; }}
</style></head><body>
<h1>Sweep {html.escape(sweep.name)} of plan {html.escape(sweep.plan)}</h1>
<p>{description}</p>
<p>{len(table)} scenarios ({html.escape(sweep.design.design)}): {int(counts.get("published", 0))} published and
verified, {int(counts.get("infeasible", 0))} infeasible, {int(counts.get("missing", 0))} missing.
Weights: {html.escape(sweep.note)}.</p>
{lacked_text}
<p><em>Most sensitive to</em>: the weight whose value, across the feasible scenarios, has the largest rank
correlation (Spearman) with the request as a share of the national need; the sign says whether a larger weight
raises (+) or lowers (&minus;) the request. <em>First asked at need</em>: the smallest national need of a
scenario in which it is asked.</p>
<h2>Counties</h2>
{figures}
{_table("county-table", ["county", *STATS_HEADER], county_rows)}
<h2>Municipalities</h2>
{_table("municipality-table", ["kommunenummer", "municipality", "county", *STATS_HEADER, "answer"], municipality_rows)}
<h2>Infeasible scenarios</h2>
{_table("infeasible-table", ["scenario", "need", "diagnosis"], infeasible_rows) if infeasible_rows else "<p>None.</p>"}
</body></html>
"""


def _present(value):
    """``value`` without the keys that are None (an axis names only the form it uses)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    return value
