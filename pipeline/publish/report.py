"""The planners' report: ``report.html`` (self-contained, offline) and ``map.png``.

The page carries its own CSS and embeds the map as a base64 data URI, so it
opens from a USB stick or an e-mail attachment with no network.  Sections:
national summary, per-county table, largest changes (re-plans), map, and the
criteria and rules that shaped the plan (from the manifest).
"""
from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import pandas as pd

from optimiser.plan import Plan
from pipeline.publish.documents import LETTERS_DIR, DocumentSettings, file_stem, fill, minors_figures
from pipeline.publish.tables import county_table

MAP_FILE = "map.png"
REPORT_FILE = "report.html"
MAP_DPI = 100
MAP_SIZE_INCHES = (6.0, 6.8)
MAP_LABELS = 6  # the largest requests are named on the map ...
MAP_LABEL_SPACING_DEGREES = 1.2  # ... unless a named point is this close (keeps labels apart)
MAP_MAX_AREA = 400.0  # marker area (points^2) of the largest request


def largest_changes(allocation: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` municipalities with the largest absolute change (ties by code)."""
    if count == 0 or not {"previous", "change"} <= set(allocation.columns):
        return allocation.iloc[0:0]
    ranked = allocation.assign(size=allocation["change"].abs()).sort_values(["size", "kommunenummer"],
                                                                          ascending=[False, True])
    return ranked[ranked["size"] > 0].head(count).drop(columns="size")


def map_png(allocation: pd.DataFrame, municipalities: pd.DataFrame) -> bytes:
    """Municipality points (lon/lat) sized by request, coloured by requests per 1,000 inhabitants."""
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    frame = allocation.join(municipalities[["lon", "lat"]], on="kommunenummer")
    frame = frame.assign(per_1000=frame["request"] / frame["population"] * 1000.0)
    asked = frame[frame["request"] > 0].sort_values("request", ascending=False)
    idle = frame[frame["request"] <= 0]
    fig = Figure(figsize=MAP_SIZE_INCHES, dpi=MAP_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 0.84, 0.95))
    ax.scatter(idle["lon"], idle["lat"], s=6, facecolors="none", edgecolors="#9a9a9a", linewidths=0.5,
               label="not asked")
    scale = MAP_MAX_AREA / max(float(asked["request"].max()), 1.0) if len(asked) else 1.0
    points = ax.scatter(asked["lon"], asked["lat"], s=8 + asked["request"] * scale, c=asked["per_1000"],
                        cmap="viridis", alpha=0.85, edgecolors="#222222", linewidths=0.3)
    for persons in _legend_sizes(int(asked["request"].max()) if len(asked) else 0):
        ax.scatter([], [], s=8 + persons * scale, facecolors="none", edgecolors="#222222", linewidths=0.5,
                   label=f"{persons} persons")
    for row in _label_rows(asked):
        ax.annotate(f"{row.kommune} {row.request}", (row.lon, row.lat), xytext=(6, -3),
                    textcoords="offset points", fontsize=7,
                    path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])
    ax.set_aspect(1.0 / math.cos(math.radians(65.0)))
    ax.set_xlim(4.0, 31.5)
    ax.set_ylim(57.8, 71.4)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    fig.suptitle("Requests per municipality (area: persons; colour: per 1,000 inhabitants)", fontsize=8, y=0.985)
    cax = fig.add_axes((0.86, 0.25, 0.03, 0.5))
    bar = fig.colorbar(points, cax=cax)
    bar.ax.tick_params(labelsize=7)
    bar.set_label("requests per 1,000 inhabitants", fontsize=7)
    ax.legend(loc="lower right", fontsize=7, frameon=False, labelspacing=1.2, borderpad=1.0)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=MAP_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _legend_sizes(largest: int) -> list[int]:
    """Two or three round reference sizes up to the largest request."""
    sizes = [n for n in (10, 50, 100, 250, 500, 1000, 2500, 5000) if n <= largest]
    return sizes[-3:] if len(sizes) > 3 else sizes


def _label_rows(asked: pd.DataFrame) -> list:
    """The largest requests, skipping points too close to one already named."""
    chosen = []
    for row in asked.itertuples():
        if len(chosen) == MAP_LABELS:
            break
        if all(math.hypot(row.lon - c.lon, (row.lat - c.lat) * 2.0) >= MAP_LABEL_SPACING_DEGREES for c in chosen):
            chosen.append(row)
    return chosen


def _cell(value, kind: str = "int") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "<td></td>"
    if kind == "int":
        return f'<td class="n">{int(value):,}</td>'.replace(",", "\u202f")
    if kind == "signed":
        return f'<td class="n">{int(value):+,}</td>'.replace(",", "\u202f")
    if kind == "float1":
        return f'<td class="n">{value:.1f}</td>'
    if kind == "float2":
        return f'<td class="n">{value:.2f}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(table_id: str, header: list[str], rows: list[str], foot: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join(f"<tr>{r}</tr>" for r in rows)
    footer = f"<tfoot><tr>{foot}</tr></tfoot>" if foot else ""
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody>{footer}</table>'


def county_html(table: pd.DataFrame) -> str:
    cols = [("asked", "int"), ("municipalities", "int"), ("population", "int"), ("request", "int"),
            ("per_1000", "float2"), ("target", "float1")]
    header = ["county", "asked", "municipalities", "population", "request", "per 1,000", "target"]
    if "recommended" in table.columns:
        cols += [("recommended", "int"), ("deviation_from_recommended", "signed")]
        header += ["recommended", "deviation from recommendation"]
    if "previous" in table.columns:
        cols += [("previous", "int"), ("change", "signed")]
        header += ["previous request", "change"]
    if "em_request" in table.columns:
        cols += [("em_request", "int")]
        header += ["unaccompanied minors"]
    rows = []
    for rec in table.to_dict("records"):
        rows.append(_cell(f"{rec['fylke']} {rec['fylkesnavn']}", "text") + "".join(_cell(rec[c], k) for c, k in cols))
    totals = table[[c for c, _ in cols]].sum()
    totals["per_1000"] = table["request"].sum() / table["population"].sum() * 1000.0
    foot = "<th>Norway</th>" + "".join(_cell(totals[c], k) for c, k in cols)
    return _table("county-table", header, rows, foot)


def changes_html(changes: pd.DataFrame) -> str:
    if changes.empty:
        return ""
    rows = [_cell(f"{r['kommunenummer']} {r['kommune']}", "text") + _cell(r["fylkesnavn"], "text")
            + _cell(r["previous"]) + _cell(r["request"]) + _cell(r["change"], "signed")
            for r in changes.to_dict("records")]
    table = _table("changes-table", ["municipality", "county", "previous request", "new request", "change"], rows)
    return (f"<section><h2>Largest changes from the previous request</h2>"
            f"<p>The {len(changes)} municipalities whose request changed most.</p>{table}</section>")


def summary_html(allocation: pd.DataFrame, plan: Plan, manifest: dict, minors) -> str:
    request = int(allocation["request"].sum())
    asked = int((allocation["request"] > 0).sum())
    population = int(allocation["population"].sum())
    items = [
        ("national need", f"{plan.need_persons:,} persons"),
        ("sum of requests", f"{request:,} persons"),
        ("municipalities asked", f"{asked} of {len(allocation)}"),
        ("requests per 1,000 inhabitants", f"{request / population * 1000:.2f}"),
        ("minimum request", f"{plan.minimum_request} persons"),
    ]
    if "extra_used" in allocation.columns:
        items.append(("drawn from volunteered extra capacity", f"{int(allocation['extra_used'].sum()):,} persons"))
    if minors is not None:
        total, bufetat = minors
        items.append(("unaccompanied minors (national)", f"{total}, of whom {bufetat} under 15 placed by Bufetat"))
    if "em_request" in allocation.columns:
        items.append(("unaccompanied minors requested from municipalities", f"{int(allocation['em_request'].sum())}"))
    if {"previous", "change"} <= set(allocation.columns):
        items.append(("previous requests in all", f"{int(allocation['previous'].sum()):,} persons"))
        items.append(("municipalities with a changed request", f"{int((allocation['change'] != 0).sum())}"))
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in items)
    return f'<table id="summary-table" class="kv">{rows}</table>'


def rules_html(manifest: dict) -> str:
    config = manifest.get("config", {})
    crit = manifest.get("criteria", {})
    weights = config.get("criteria", {}).get("weights", {})
    used, lacked, unused = crit.get("used", []), crit.get("lacked", []), crit.get("unused", [])
    rows = []
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        state = "used" if name in used else "lacked (no data)" if name in lacked else "unused (weight 0)" \
            if name in unused else ""
        rows.append(_cell(name, "text") + f'<td class="n">{weights[name]:.2f}</td>' + _cell(state, "text"))
    criteria_table = _table("criteria-table", ["criterion", "weight", "in this run"], rows)
    solver = manifest.get("solver", {})
    gap = manifest.get("gap")
    facts = [
        ("solver", f"{solver.get('name', '')} {solver.get('version', '')}".strip()),
        ("status", f"{manifest.get('status')} (solution status {manifest.get('sol_status')})"),
        ("MIP gap", "n/a" if gap is None else f"{gap:.4g}"),
        ("objective", "n/a" if manifest.get("objective") is None else f"{manifest['objective']:.3f}"),
        ("minimum request", str(config.get("minimum_request"))),
        ("granularity", f"{config.get('granularity_persons')} persons"),
        ("spread: each county at least", f"{config.get('spread', {}).get('min_county_share_of_target')} "
                                         "of its municipalities' targets"),
        ("reasonable travel time", f"{config.get('network', {}).get('reasonable_travel_minutes')} minutes"),
        ("default capacity per 1,000 inhabitants",
         f"base {config.get('capacity', {}).get('base_per_1000_inhabitants')}, "
         f"extra {config.get('capacity', {}).get('extra_per_1000_inhabitants')}"),
        ("run fingerprint", str(manifest.get("fingerprint", ""))[:16]),
    ]
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts)
    return f'{criteria_table}<table id="rules-table" class="kv">{rows}</table>'


def municipalities_html(allocation: pd.DataFrame, letters: set[str]) -> str:
    rows = []
    frame = allocation.assign(per_1000=allocation["request"] / allocation["population"] * 1000.0)
    for r in frame.to_dict("records"):
        stem = file_stem(r["kommunenummer"], r["kommune"])
        link = f"{LETTERS_DIR}/{stem}.html"
        name = html.escape(f"{r['kommunenummer']} {r['kommune']}")
        cell = f'<td><a href="{link}">{name}</a></td>' if link in letters else f"<td>{name}</td>"
        rows.append(cell + _cell(r["fylkesnavn"], "text") + _cell(r["population"]) + _cell(r["request"])
                    + _cell(r["per_1000"], "float2"))
    return _table("municipality-table", ["municipality", "county", "population", "request", "per 1,000"], rows)


def render_report(allocation: pd.DataFrame, municipalities: pd.DataFrame, plan: Plan, manifest: dict,
                  settings: DocumentSettings, png: bytes, letters: set[str]) -> str:
    minors = minors_figures(plan, settings.letters)
    values = {
        "title": html.escape(f"Settlement plan {plan.name}: requests to the municipalities"),
        "plan": html.escape(plan.name),
        "year": str(plan.year),
        "description": html.escape(plan.description.strip()),
        "summary": summary_html(allocation, plan, manifest, minors),
        "county_table": county_html(county_table(allocation)),
        "changes": changes_html(largest_changes(allocation, settings.letters.report_largest_changes)),
        "map_data_uri": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "rules": rules_html(manifest),
        "municipality_table": municipalities_html(allocation, letters),
        "letters_count": str(len(letters)),
    }
    return fill(settings.templates.report_html, values, settings.templates.paths["report.html"])


def write_report(folder: Path, allocation: pd.DataFrame, municipalities: pd.DataFrame, plan: Plan,
                 manifest: dict, settings: DocumentSettings, letters: list[str] | None = None) -> list[str]:
    """Write ``map.png`` and ``report.html`` into ``folder``; return their relative names."""
    folder = Path(folder)
    png = map_png(allocation, municipalities)
    (folder / MAP_FILE).write_bytes(png)
    pages = {f for f in (letters or []) if f.endswith(".html")}
    text = render_report(allocation, municipalities, plan, manifest, settings, png, pages)
    (folder / REPORT_FILE).write_text(text, encoding="utf-8")
    return [MAP_FILE, REPORT_FILE]
