"""Request letters (oppmoding / anmodning) to the municipalities, one per municipality asked.

Every number in a letter comes from the plan or the run (``allocation.csv``,
``targets.csv``, the manifest); the prose that is particular to one year's
letter (its situation, dates, signatories, addresses, grants) comes from
``config/letters/<plan>.yaml``; the wording that stays the same every year
lives in ``config/templates/letter.<standard>.md``.  Each letter ends with
its attachment "Anmodningskriterier for <year>": the criteria, how they were
weighted, and what each gives the municipality.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimiser.plan import Plan
from pipeline.publish.documents import (
    LANG,
    LETTERS_DIR,
    DocumentSettings,
    Templates,
    check_allocation,
    common_values,
    decimal,
    file_stem,
    fill,
    minors_figures,
    number,
    percent,
)
from pipeline.publish.run_tables import RunTables

SECTION = '<section class="letter" lang="{lang}">\n{body}\n</section>'


@dataclass(frozen=True)
class Letter:
    stem: str  # file name without suffix
    markdown: str
    html: str  # the full page


def consultation(manifest: dict) -> list:
    """Which of the input sentences apply: county recommendations received, KS's input (agreed or not)."""
    submissions = manifest.get("submissions") or {}
    chosen = ["counties_input"] if submissions.get("county_recommendations") else []
    ks = submissions.get("ks")
    if ks is not None:
        chosen.append("ks_agrees" if ks.get("agrees") else "ks_input")
    return chosen


def criteria_weights(manifest: dict) -> tuple[list[str], dict[str, float], set[str], set[str]]:
    """(criteria with a positive weight, largest first; weights; used; lacked) from the manifest."""
    weights = (manifest.get("config") or {}).get("criteria", {}).get("weights", {})
    criteria = manifest.get("criteria") or {}
    listed = sorted((n for n, w in weights.items() if w > 0), key=lambda n: (-weights[n], n))
    return listed, weights, set(criteria.get("used", [])), set(criteria.get("lacked", []))


def attachment(row: Mapping, standard: str, values: Mapping[str, str], templates: Templates, manifest: dict,
               targets: Mapping[str, Mapping[str, float]]) -> str:
    """The attachment "Anmodningskriterier": the ministry's criteria, their weights and this municipality's target."""
    parts, path = templates.letter[standard], templates.paths[f"letter.{standard}.md"]
    listed, weights, used, lacked = criteria_weights(manifest)
    total_used = sum(weights[n] for n in listed if n in used) or 1.0
    own = targets.get(row["kommunenummer"], {})
    lines = [fill(parts["criteria_header"], values, path, "criteria_header")]
    for name in listed:
        cell = {**values, "criterion": templates.criterion(name, standard), "weight": percent(weights[name])}
        if name in used:
            cell |= {"weight_used": percent(weights[name] / total_used),
                     "persons": decimal(float(own.get(f"contribution_{name}", 0.0)))}
            lines.append(fill(parts["criteria_row"], cell, path, "criteria_row"))
        else:
            lines.append(fill(parts["criteria_row_lacked"], cell, path, "criteria_row_lacked"))
    target = float(own.get("target", 0.0))
    lines.append(fill(parts["criteria_total"], {
        **values, "weight": percent(sum(weights[n] for n in listed)), "weight_used": percent(1.0),
        "persons": decimal(target)}, path, "criteria_total"))
    missing = [templates.criterion(n, standard).split(" (")[0].lower() for n in listed if n in lacked]
    lacked_text = ""
    if missing:
        joined = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " og " + missing[-1]
        lacked_text = fill(parts["criteria_lacked"], {**values, "lacked": joined}, path, "criteria_lacked")
    return fill(parts["attachment"], {**values, "target": decimal(target), "criteria_table": "\n".join(lines),
                                      "criteria_lacked": lacked_text}, path, "attachment")


def render_letter(row: Mapping, standard: str, common: Mapping[str, str], templates: Templates,
                  minors: tuple[int, int] | None, own_county_authority: bool = False) -> str:
    """The Markdown letter (without its attachment) for one allocation row."""
    parts = templates.letter[standard]
    path = templates.paths[f"letter.{standard}.md"]
    request = int(row["request"])
    values = {**common, "kommune": str(row["kommune"]), "kommunenummer": str(row["kommunenummer"]),
              "request": number(request), "county": str(row["fylkesnavn"])}
    values["county_copy"] = "" if own_county_authority else fill(parts["county_copy"], values, path, "county_copy")
    values["em_national"] = ""
    if minors is not None:
        total, bufetat = minors
        em = {**values, "em_total": number(total), "em_bufetat": number(bufetat)}
        em["em_bufetat_sentence"] = fill(parts["em_bufetat"], em, path, "em_bufetat") if bufetat else ""
        values["em_national"] = fill(parts["em_national"], em, path, "em_national")
    values["em_municipality"] = ""
    em_request = row.get("em_request")
    if em_request is not None and not pd.isna(em_request) and int(em_request) > 0:
        values["em_municipality"] = fill(parts["em_municipality"], {**values, "em_request": number(em_request)},
                                         path, "em_municipality")
    values["replan"] = ""
    previous = row.get("previous")
    if previous is not None and not pd.isna(previous):
        change = int(row["change"])
        part = ("replan_new" if int(previous) == 0 else "replan_up" if change > 0
                else "replan_down" if change < 0 else "replan_same")
        values["replan"] = fill(parts[part], {**values, "previous": number(previous),
                                              "change": number(abs(change))}, path, part)
    return tidy(fill(parts["letter"], values, path, "letter"))


def tidy(text: str) -> str:
    """Drop what empty placeholders leave: doubled spaces, a space or a line break ending a paragraph,
    runs of blank lines."""
    text = re.sub(r"(?<=\S) {2,}(?=\S)", " ", text)
    text = re.sub(r"(?<=\S) (?=\n|$)", "", text)
    text = re.sub(r" {2}\n(?=\s*\n|\s*$)", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


BLOCK_SPLIT = re.compile(r"\n\s*\n")
HEADING = re.compile(r"^(#{1,3}) (.*)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
TABLE_RULE = re.compile(r"^\|[\s:|-]+\|$")


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the letter templates use: #/## headings, '- ' lists, '|' tables
    (a '|---|' second line makes the first a header; '--:' right-aligns), paragraphs, **bold**,
    and hard line breaks (two trailing spaces)."""
    out = []
    for block in BLOCK_SPLIT.split(text.strip()):
        lines = block.split("\n")
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif all(line.startswith("|") for line in lines):
            out.append(_table(lines))
        elif len(lines) == 1 and (m := HEADING.match(lines[0])):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        else:
            joined = "".join(_inline(line[:-2]) + "<br>\n" if line.endswith("  ") else _inline(line) + "\n"
                             for line in lines)
            out.append(f"<p>{joined.strip()}</p>")
    return "\n".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    header = len(lines) > 1 and TABLE_RULE.match(lines[1])
    right = [c.endswith(":") for c in _cells(lines[1])] if header else []

    def row(line: str, tag: str) -> str:
        cells = []
        for i, cell in enumerate(_cells(line)):
            number_class = ' class="n"' if i < len(right) and right[i] else ""
            cells.append(f"<{tag}{number_class}>{_inline(cell)}</{tag}>")
        return "<tr>" + "".join(cells) + "</tr>"

    if header:
        body = "".join(row(line, "td") for line in lines[2:])
        return f'<table class="data"><thead>{row(lines[0], "th")}</thead><tbody>{body}</tbody></table>'
    return f'<table class="signatures"><tbody>{"".join(row(line, "td") for line in lines)}</tbody></table>'


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    return BOLD.sub(r"<strong>\1</strong>", text) if "**" in text else text


def letters_for(tables: RunTables, plan: Plan, settings: DocumentSettings, manifest: dict) -> list[Letter]:
    """One letter per municipality asked, in kommunenummer order."""
    allocation = tables.allocation
    check_allocation(allocation)
    templates = settings.templates
    asked = allocation[allocation["request"] > 0]
    standards = settings.standards["standard"]
    minors = minors_figures(plan, settings.letters)
    common = {}
    sizes = allocation.groupby("fylke")["kommunenummer"].size()
    targets = tables.targets.to_dict("index")
    out = []
    for row in asked.to_dict("records"):
        standard = standards[row["kommunenummer"]]
        if standard not in common:
            values = common_values(plan, settings.letters, standard)
            parts, path = templates.letter[standard], templates.paths[f"letter.{standard}.md"]
            values["consultation"] = " ".join(fill(parts[p], values, path, p) for p in consultation(manifest))
            common[standard] = values
        values = common[standard]
        text = render_letter(row, standard, values, templates, minors, own_county_authority=sizes[row["fylke"]] == 1)
        extra = tidy(attachment(row, standard, {**values, "kommune": str(row["kommune"]),
                                                "request": number(int(row["request"]))},
                                templates, manifest, targets))
        title = f"{values['subject']} i {values['year']} - {row['kommune']} kommune"
        body = SECTION.format(lang=LANG[standard], body=markdown_to_html(text) + '\n<div class="attachment">\n'
                              + markdown_to_html(extra) + "\n</div>")
        page = fill(templates.letter_html, {"lang": LANG[standard], "body": body, "title": html.escape(title)},
                    templates.paths["letter.html"])
        out.append(Letter(stem=file_stem(row["kommunenummer"], row["kommune"]),
                          markdown=text + "\n" + extra, html=page))
    return out


def write_letters(folder: Path, tables: RunTables, plan: Plan, settings: DocumentSettings,
                  manifest: dict) -> list[str]:
    """Write ``letters/<code>-<name>.md`` and ``.html`` for every municipality asked; return relative paths."""
    target = Path(folder) / LETTERS_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for letter in letters_for(tables, plan, settings, manifest):
        (target / f"{letter.stem}.md").write_text(letter.markdown, encoding="utf-8")
        (target / f"{letter.stem}.html").write_text(letter.html, encoding="utf-8")
        written += [f"{LETTERS_DIR}/{letter.stem}.md", f"{LETTERS_DIR}/{letter.stem}.html"]
    return written
