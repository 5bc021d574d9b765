"""The planners' report: ``report.html``, one offline file in bokmål.

Every plan that runs writes it, with or without letters.  The page carries its
own CSS, its map (inline SVG, ``pipeline.publish.choropleth``) and a small
inline script that sorts and filters the table of all municipalities: no
network, no external file.  Sections: a banner when inputs are illustrative,
the national summary with links to the run's files, the map, fairness
figures, the counties, the comparison with IMDi's real requests of the year
before (and in a re-plan with the earlier plan: the change by reason and
where each declined quota went), every municipality, and the criteria and
rules that shaped the plan (from the manifest).
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from optimiser.plan import Plan
from pipeline.publish.choropleth import choropleth_svg
from pipeline.publish.documents import LETTERS_DIR, NBSP, DocumentSettings, decimal, file_stem, fill, minors_figures, number
from pipeline.publish.run_tables import RunTables
from pipeline.publish.tables import change_table, county_table

REPORT_FILE = "report.html"
STANDARD = "nb"  # the report is in bokmål
LARGEST_CHANGES = 20  # municipalities listed under "largest changes" in a re-plan
RUN_FILES = (("allocation.csv", "anmodning, mål og grunnlag per kommune"), ("county.csv", "per fylke"),
             ("targets.csv", "målet og hvert kriteriums bidrag per kommune"),
             ("explain.csv", "hvorfor hver kommune fikk sitt tall"), ("explain.md", "det samme som tekst"),
             ("parameters.csv", "modellens parametre per kommune"), ("access.csv", "reisetider og tilgang"),
             ("verify.json", "uavhengig kontroll av hver regel"), ("manifest.json", "kjøringens revisjonsspor"))
REPLAN_FILES = (("changes.csv", "endringen fordelt på årsaker"),
                ("shortfalls.csv", "hvor hver avslått plass gikk"))
# explain.csv's limit names (optimiser.rules) in bokmål.
LIMITS = {
    "access rule": "tilgangsregelen", "KS exclusion": "unntatt etter innspill fra KS", "not eligible": "ikke aktuell",
    "minimum size": "minstetallet", "base capacity": "grunnkapasitet", "extra capacity": "ekstra kapasitet",
    "KS cap": "KS' tak", "complex-health capacity": "kapasitet for sammensatte helsebehov",
    "settled or decided": "allerede bosatt eller vedtatt", "locked recommendation": "låst anbefaling",
    "EM capacity": "EM-kapasitet",
}
CHANGE_PARTS = {"declined": "vedtok færre", "newly asked": "nye kommuner", "need rose": "behovet økte",
                "extra capacity": "ekstra kapasitet", "shortfall received": "fikk avslåtte plasser",
                "need fell": "behovet falt", "change": "endring i alt"}
NUMBER_CLASS = ' class="n"'
STATUS = {"optimal": "optimal", "feasible": "gyldig (stoppet ved en grense, ikke bevist optimal)"}


def reasons_nb(text) -> str:
    """A re-plan's change_reason ("declined + extra capacity") in bokmål."""
    if _missing(text):
        return ""
    return " + ".join(CHANGE_PARTS.get(part.strip(), part.strip()) for part in str(text).split("+") if part.strip())


def limits_nb(text: str) -> str:
    return "; ".join(LIMITS.get(part.strip(), part.strip()) for part in str(text).split(";") if part.strip())


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _num(value, digits: int = 0, signed: bool = False) -> str:
    if _missing(value):
        return ""
    text = decimal(float(value), digits) if digits else number(round(float(value)))
    return ("+" if signed and float(value) > 0 else "") + text


def _td(value, digits: int = 0, signed: bool = False) -> str:
    """A number cell: shown in Norwegian format, raw value in data-v for sorting and sums."""
    raw = "" if _missing(value) else f"{float(value):.10g}"
    return f'<td class="n" data-v="{raw}">{_num(value, digits, signed)}</td>'


def _percent(share) -> str:
    if share is None:
        return "<td></td>"
    return f'<td class="n" data-v="{share:.10g}">{decimal(share * 100, 0)}{NBSP}%</td>'


def _text(value) -> str:
    return f"<td>{html.escape('' if _missing(value) else str(value))}</td>"


def _table(table_id: str, header: list[str], rows: list[str], foot: str = "", numeric: set[int] = frozenset(),
           attrs: str = "") -> str:
    head = "".join(f"<th{NUMBER_CLASS if i in numeric else ''}>{html.escape(h)}</th>" for i, h in enumerate(header))
    body = "\n".join(r if r.startswith("<tr") else f"<tr>{r}</tr>" for r in rows)
    footer = f"<tfoot><tr>{foot}</tr></tfoot>" if foot else ""
    return f'<table id="{table_id}"{attrs}><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody>{footer}</table>'


def _kv(table_id: str, items: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in items)
    return f'<table id="{table_id}" class="kv">{rows}</table>'


def banner_html(manifest: dict) -> str:
    if not (manifest.get("submissions") or {}).get("illustrative"):
        return ""
    return ('<div class="banner" role="alert" id="illustrative-banner"><strong>Illustrative inndata.</strong> '
            "Fylkeskommunenes anbefalinger, KS' innspill eller kommunenes svar i denne kjøringen er illustrative "
            "stedfortredere, ikke virkelige innsendinger (data/README.md). Tallene viser hvordan planen virker, "
            "ikke hva kommunene skal bes om. Bytt ut filene med de virkelige før planen brukes.</div>")


def summary_html(tables: RunTables, plan: Plan, minors) -> str:
    a = tables.allocation
    request, population = int(a["request"].sum()), int(a["population"].sum())
    items = [
        ("nasjonalt behov", f"{number(plan.need_persons)} personer"),
        ("sum av anmodningene", f"{number(request)} personer"),
        ("kommuner anmodet", f"{int((a['request'] > 0).sum())} av {len(a)}"),
        ("anmodet per 1 000 innbyggere", decimal(request / population * 1000, 2)),
        ("minste anmodning", f"{plan.minimum_request} personer"),
    ]
    if "extra_used" in a.columns:
        items.append(("hentet fra frivillig ekstra kapasitet", f"{number(int(a['extra_used'].sum()))} personer"))
    if minors is not None:
        items.append(("enslige mindreårige (nasjonalt)", f"{minors[0]}, hvorav {minors[1]} under 15 år bosettes av Bufetat"))
    if "em_request" in a.columns:
        items.append(("enslige mindreårige anmodet fra kommunene", str(int(a["em_request"].sum()))))
    if tables.is_replan:
        items.append(("forrige plans anmodninger i alt", f"{number(int(a['previous'].sum()))} personer"))
        items.append(("kommuner med endret anmodning", str(int((a["change"] != 0).sum()))))
    return _kv("summary-table", items)


def files_html(replan: bool, letters: int) -> str:
    files = RUN_FILES + (REPLAN_FILES if replan else ())
    items = [f'<li><a href="{name}">{name}</a>: {html.escape(what)}</li>' for name, what in files]
    if letters:
        items.append(f'<li><a href="{LETTERS_DIR}/">{LETTERS_DIR}/</a>: {letters} brev (Markdown og HTML); '
                     "lenket fra hver kommune i tabellen under</li>")
    return f'<ul id="run-files">{"".join(items)}</ul>'


def fairness_html(manifest: dict) -> str:
    f = manifest.get("fairness") or {}
    if not f:
        return "<p>Kjøringen har ingen rettferdighetstall.</p>"
    items = [("kommuner anmodet", str(f.get("asked"))), ("ikke anmodet", str(f.get("not_asked"))),
             ("anmodet om nøyaktig minstetallet", str(f.get("at_minimum")))]
    if f.get("median_ratio") is not None:
        items.append(("anmodning ÷ mål, median blant de anmodede", decimal(f["median_ratio"], 3)))
        items.append(("anmodning ÷ mål, største", f"{decimal(f['largest_ratio'], 3)} ({f['largest_ratio_municipality']})"))
    if "newly_asked" in f:
        items.append(("nye kommuner (ikke anmodet i forrige plan)", str(f["newly_asked"])))
    out = _kv("fairness-table", items)
    em = f.get("em_by_county") or []
    if em:
        rows = [_text(f"{c['fylke']} {c['fylkesnavn']}") + _td(c["em_request"]) + _td(c["recommended_em"])
                + _percent(c["share"]) for c in em]
        out += ("<h3>Enslige mindreårige per fylke mot fylkets anbefaling</h3>"
                + _table("em-table", ["fylke", "EM anmodet", "fylkets EM-anbefaling", "andel"], rows,
                         numeric={1, 2, 3}))
    return out


def county_html(table: pd.DataFrame) -> str:
    cols = [("asked", 0), ("municipalities", 0), ("population", 0), ("request", 0), ("per_1000", 2), ("target", 1)]
    header = ["fylke", "anmodet", "kommuner", "innbyggere", "anmodning", "per 1 000", "mål"]
    if "recommended" in table.columns:
        cols += [("recommended", 0), ("deviation_from_recommended", 0)]
        header += ["fylkets anbefaling", "avvik fra anbefalingen"]
    if "previous" in table.columns:
        cols += [("previous", 0), ("change", 0)]
        header += ["forrige anmodning", "endring"]
    if "em_request" in table.columns:
        cols += [("em_request", 0)]
        header += ["enslige mindreårige"]
    signed = {"deviation_from_recommended", "change"}
    rows = [_text(f"{r['fylke']} {r['fylkesnavn']}") + "".join(_td(r[c], d, c in signed) for c, d in cols)
            for r in table.to_dict("records")]
    totals = table[[c for c, _ in cols]].sum()
    totals["per_1000"] = table["request"].sum() / table["population"].sum() * 1000.0
    foot = "<th>Norge</th>" + "".join(_td(totals[c], d, c in signed) for c, d in cols)
    return _table("county-table", header, rows, foot, numeric=set(range(1, len(header))))


def previous_year_html(a: pd.DataFrame, previous: pd.DataFrame | None, year: int) -> str:
    if previous is None:
        return f"<p>IMDis anmodninger for {year} finnes ikke i dataene, så planen kan ikke sammenlignes med dem.</p>"
    frame = a.assign(last=a["kommunenummer"].map(previous["requested"]).fillna(0.0))
    g = frame.groupby(["fylke", "fylkesnavn"], sort=True)
    table = pd.DataFrame({"last": g["last"].sum(), "asked_last": g["last"].apply(lambda s: int((s > 0).sum())),
                          "request": g["request"].sum(), "asked": g["request"].apply(lambda s: int((s > 0).sum()))})
    table["change"] = table["request"] - table["last"]
    rows = [_text(f"{fylke} {name}") + _td(r["asked_last"]) + _td(r["last"]) + _td(r["asked"]) + _td(r["request"])
            + _td(r["change"], signed=True) for (fylke, name), r in table.iterrows()]
    t = table.sum()
    foot = "<th>Norge</th>" + _td(t["asked_last"]) + _td(t["last"]) + _td(t["asked"]) + _td(t["request"]) \
        + _td(t["change"], signed=True)
    before, now = frame["last"] > 0, frame["request"] > 0
    lead = (f"<p>IMDis virkelige anmodninger for {year} mot denne planen. {int((before & now).sum())} kommuner er "
            f"anmodet begge år, {int((~before & now).sum())} er nye og {int((before & ~now).sum())} er ikke anmodet nå. "
            f"Hver kommunes anmodning for {year} står også i tabellen over alle kommuner.</p>")
    return lead + _table("previous-year-table", ["fylke", f"anmodet {year}", f"anmodning {year}", "anmodet nå",
                                                 "anmodning nå", "endring"], rows, foot, numeric={1, 2, 3, 4, 5})


def replan_html(tables: RunTables, base_plan: str | None) -> str:
    if not tables.is_replan:
        return ""
    a = tables.allocation
    parts = change_table(a)
    rows = [_text(CHANGE_PARTS.get(r["part"], r["part"])) + _td(r["municipalities"]) + _td(r["persons"], signed=True)
            for r in parts.to_dict("records")]
    out = [f"<section><h2>Endringer mot forrige plan ({html.escape(str(base_plan))})</h2>",
           "<p>Endringen i hver kommunes anmodning fordelt på årsaker (changes.csv; delene summerer til endringen).</p>",
           _table("change-parts-table", ["årsak", "kommuner", "personer"], rows, numeric={1, 2})]
    ranked = a.assign(size=a["change"].abs()).sort_values(["size", "kommunenummer"], ascending=[False, True])
    ranked = ranked[ranked["size"] > 0].head(LARGEST_CHANGES)
    if len(ranked):
        rows = [_text(f"{r['kommunenummer']} {r['kommune']}") + _text(r["fylkesnavn"]) + _td(r["previous"])
                + _td(r["request"]) + _td(r["change"], signed=True) + _text(reasons_nb(r.get("change_reason")))
                for r in ranked.to_dict("records")]
        out += [f"<h3>De {len(ranked)} største endringene</h3>",
                _table("changes-table", ["kommune", "fylke", "forrige anmodning", "ny anmodning", "endring", "årsak"],
                       rows, numeric={2, 3, 4})]
    flows = tables.shortfalls
    if flows is not None and len(flows):
        names = a.set_index("kommunenummer")["kommune"]
        rows = [_text(f"{r['origin']} {names.get(r['origin'], '')}") + _text(f"{r['receiver']} {names.get(r['receiver'], '')}")
                + _td(r["persons"]) + _td(r["minutes"]) + _text("ja" if r["within_reach"] else "nei")
                for r in flows.to_dict("records")]
        out += ["<h3>Hvor avslåtte plasser gikk</h3>",
                _table("shortfalls-table", ["fra (vedtok færre)", "til", "personer", "minutter", "innen rimelig reisetid"],
                       rows, numeric={2, 3})]
    elif flows is not None:
        out.append("<p>Ingen avslåtte plasser måtte flyttes til andre kommuner (shortfalls.csv er tom).</p>")
    out.append("</section>")
    return "\n".join(out)


def not_asked_reason(row: dict, binding: str, minutes) -> str:
    if row["request"] > 0:
        return ""
    excluded = "" if _missing(row.get("excluded_by")) else str(row.get("excluded_by"))
    if excluded == "access":
        shown = f"{float(minutes):g}" if minutes not in (None, "") else "rimelig reisetid av"
        return f"ingen videregående skole innen {shown} minutter (tilgangsregelen)"
    if excluded == "ks_exclusion":
        return "unntatt etter innspill fra KS"
    if binding:
        return limits_nb(binding)
    return "målet er for lite til minstetallet"


def per_1000(a: pd.DataFrame) -> pd.Series:
    """Request per 1,000 inhabitants of each municipality asked (NaN where not asked)."""
    return (a["request"] / a["population"] * 1000.0).where(a["request"] > 0)


def municipalities_html(tables: RunTables, letters: set[str], previous: pd.DataFrame | None, year: int,
                        minutes) -> str:
    """Every municipality, one row each (``data-fylke`` for the filter, ``data-v`` for sorting and the
    totals of the visible rows, which the page's script keeps up to date)."""
    a = tables.allocation.assign(per_1000=per_1000(tables.allocation))
    code = a["kommunenummer"]
    # (header, values, decimals or None for text, summed)
    columns = [("innbyggere", a["population"], 0, False), ("anmodning", a["request"], 0, True),
               ("mål", a["target"], 1, True), ("per 1 000", a["per_1000"], 2, False),
               ("fylkets anbefaling", a.get("recommended", pd.Series(float("nan"), index=a.index)), 0, True),
               ("EM", a.get("em_request", pd.Series(float("nan"), index=a.index)), 0, True)]
    if previous is not None:
        columns.append((f"anmodning {year} (IMDi)", code.map(previous["requested"]), 0, True))
    if tables.is_replan:
        columns += [("forrige anmodning", a["previous"], 0, True), ("endring", a["change"], 0, True),
                    ("årsak til endringen", a.get("change_reason", pd.Series("", index=a.index)).map(reasons_nb), None,
                     False)]
    binding = code.map(tables.binding).fillna("").astype(str)
    reasons = [not_asked_reason(r, b, minutes) for r, b in zip(a.to_dict("records"), binding)]
    columns += [("ikke anmodet: hvorfor", pd.Series(reasons, index=a.index), None, False),
                ("grenser som binder", pd.Series([limits_nb(b) if q > 0 else "" for b, q in zip(binding, a["request"])],
                                                 index=a.index), None, False)]
    header = ["kommune", "fylke"] + [c[0] for c in columns]
    numeric = {i + 2 for i, c in enumerate(columns) if c[2] is not None}
    rows = []
    lists = [(values.tolist(), digits, header == "endring") for header, values, digits, _ in columns]
    for i, r in enumerate(a.to_dict("records")):
        link = f"{LETTERS_DIR}/{file_stem(r['kommunenummer'], r['kommune'])}.html"
        name = html.escape(f"{r['kommunenummer']} {r['kommune']}")
        cells = [f'<td><a href="{link}">{name}</a></td>' if link in letters else f"<td>{name}</td>",
                 _text(r["fylkesnavn"])]
        for values, digits, signed in lists:
            value = values[i]
            cells.append(_text(value) if digits is None else _td(value, digits, signed=signed))
        rows.append(f'<tr data-fylke="{html.escape(str(r["fylke"]))}">' + "".join(cells) + "</tr>")
    foot = [f'<th>Sum (<span id="visible-count">{len(a)}</span> kommuner)</th>', "<td></td>"]
    for i, (_, values, digits, summed) in enumerate(columns):
        foot.append(f'<td class="n" data-sum="{i + 2}" data-digits="{digits}">{_num(values.sum(), digits)}</td>'
                    if summed else "<td></td>")
    counties = sorted(set(zip(a["fylke"], a["fylkesnavn"])))
    options = "".join(f'<option value="{html.escape(str(f))}">{html.escape(f"{f} {n}")}</option>' for f, n in counties)
    controls = ('<div class="controls"><label>Fylke <select id="county-filter"><option value="">alle fylker</option>'
                f'{options}</select></label> <label>Søk <input id="search" type="search" '
                'placeholder="kommunenavn eller -nummer"></label> <span class="hint">Klikk på en kolonneoverskrift '
                "for å sortere; klikk igjen for å snu rekkefølgen.</span></div>")
    return controls + _table("municipality-table", header, rows, "".join(foot), numeric=numeric,
                             attrs=' class="sortable"')


def rules_html(manifest: dict, templates) -> str:
    config = manifest.get("config", {})
    crit = manifest.get("criteria", {})
    weights = config.get("criteria", {}).get("weights", {})
    used, lacked, unused = crit.get("used", []), crit.get("lacked", []), crit.get("unused", [])
    rows = []
    for name in sorted(weights, key=lambda n: (-weights[n], n)):
        state = ("brukt" if name in used else "mangler data" if name in lacked else "ikke brukt (vekt 0)"
                 if name in unused else "")
        rows.append(_text(templates.criterion(name, STANDARD)) + _text(name) + _td(weights[name], 2) + _text(state))
    criteria_table = _table("criteria-table", ["kriterium", "navn i planen", "vekt", "i denne kjøringen"], rows,
                            numeric={2})
    solver = manifest.get("solver", {})
    gap = manifest.get("gap")
    facts = [
        ("løser", f"{solver.get('name', '')} {solver.get('version', '')}".strip()),
        ("status", f"{STATUS.get(manifest.get('status'), manifest.get('status'))} "
                   f"(løsningsstatus {manifest.get('sol_status')})"),
        ("MIP-gap", "–" if gap is None else f"{gap:.4g}"),
        ("målfunksjon", "–" if manifest.get("objective") is None else decimal(manifest["objective"], 3)),
        ("minste anmodning", str(config.get("minimum_request"))),
        ("granularitet", f"{config.get('granularity_persons')} personer"),
        ("spredning: hvert fylke minst", f"{config.get('spread', {}).get('min_county_share_of_target')} "
                                         "av kommunenes samlede mål"),
        ("rimelig reisetid", f"{config.get('network', {}).get('reasonable_travel_minutes')} minutter"),
        ("kapasitet uten svar fra kommunen, per 1 000 innbyggere",
         f"grunn {config.get('capacity', {}).get('base_per_1000_inhabitants')}, "
         f"ekstra {config.get('capacity', {}).get('extra_per_1000_inhabitants')}"),
        ("planens beskrivelse", " ".join(str(config.get("description", "")).split())),
        ("kjøringens fingeravtrykk", str(manifest.get("fingerprint", ""))[:16]),
    ]
    return criteria_table + _kv("rules-table", facts)


def map_html(tables: RunTables, settings: DocumentSettings) -> str:
    if not settings.municipality_shapes:
        return "<p>Kartet mangler (ingen kommunegrenser i dataene).</p>"
    a = tables.allocation
    values = {code: (None if pd.isna(v) else v) for code, v in zip(a["kommunenummer"], per_1000(a))}
    names = dict(zip(a["kommunenummer"], a["kommune"]))
    return choropleth_svg(settings.municipality_shapes, settings.county_shapes, values,
                          "Anmodning per 1 000 innbyggere", names=names, unit="per 1 000", missing_label="ikke anmodet")


def render_report(tables: RunTables, plan: Plan, manifest: dict, settings: DocumentSettings, letters: set[str]) -> str:
    a = tables.allocation
    minutes = (manifest.get("config") or {}).get("network", {}).get("reasonable_travel_minutes", "")
    previous = settings.previous_year
    values = {
        "title": html.escape(f"Bosettingsplan {plan.name}: anmodninger til kommunene"),
        "plan": html.escape(plan.name),
        "year": str(plan.year),
        "last_year": str(plan.year - 1),
        "banner": banner_html(manifest),
        "summary": summary_html(tables, plan, minors_figures(plan, settings.letters)),
        "files": files_html(tables.is_replan, len(letters)),
        "map": map_html(tables, settings),
        "fairness": fairness_html(manifest),
        "county_table": county_html(county_table(a)),
        "previous_year": previous_year_html(a, previous, plan.year - 1),
        "replan": replan_html(tables, manifest.get("base_plan")),
        "municipality_table": municipalities_html(tables, letters, previous, plan.year - 1, minutes),
        "rules": rules_html(manifest, settings.templates),
    }
    return fill(settings.templates.report_html, values, settings.templates.paths["report.html"])


def write_report(folder: Path, tables: RunTables, plan: Plan, manifest: dict, settings: DocumentSettings,
                 letters: list[str] | None = None) -> list[str]:
    """Write ``report.html`` into ``folder``; return its relative name."""
    pages = {f for f in (letters or []) if f.endswith(".html")}
    (Path(folder) / REPORT_FILE).write_text(render_report(tables, plan, manifest, settings, pages), encoding="utf-8")
    return [REPORT_FILE]
