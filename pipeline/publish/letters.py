"""Request letters (oppmoding / anmodning) to the municipalities, one per municipality asked.

Every number in a letter comes from the plan or the allocation; the prose that
is not a model output (deadline, where to send the decision, grants, criteria
wording, signatories) comes from ``config/letters/<plan>.yaml``; the wording
around them lives in ``config/templates/letter.<standard>.md``.
"""
from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from optimiser.plan import Plan
from pipeline.inputs.standards import STANDARDS, standard_for
from pipeline.publish.documents import (
    LANG,
    LETTERS_DIR,
    DocumentSettings,
    Templates,
    check_allocation,
    common_values,
    file_stem,
    fill,
    minors_figures,
    number,
)


def render_letter(row: Mapping, standard: str, common: Mapping[str, str], templates: Templates,
                  minors: tuple[int, int] | None) -> str:
    """The Markdown letter for one allocation row."""
    parts = templates.letter[standard]
    path = templates.paths[f"letter.{standard}.md"]
    request = int(row["request"])
    values = {**common, "kommune": str(row["kommune"]), "kommunenummer": str(row["kommunenummer"]),
              "request": number(request)}
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
    text = fill(parts["letter"], values, path, "letter")
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


BLOCK_SPLIT = re.compile(r"\n\s*\n")
HEADING = re.compile(r"^(#{1,3}) (.*)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")


def markdown_to_html(text: str) -> str:
    """The small Markdown subset the letter templates use: #/## headings, '- ' lists,
    paragraphs, **bold**, and hard line breaks (two trailing spaces)."""
    out = []
    for block in BLOCK_SPLIT.split(text.strip()):
        lines = block.split("\n")
        if all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif len(lines) == 1 and (m := HEADING.match(lines[0])):
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        else:
            joined = "".join(_inline(line[:-2]) + "<br>\n" if line.endswith("  ") else _inline(line) + "\n"
                             for line in lines)
            out.append(f"<p>{joined.strip()}</p>")
    return "\n".join(out)


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    return BOLD.sub(r"<strong>\1</strong>", text) if "**" in text else text


def write_letters(folder: Path, allocation: pd.DataFrame, plan: Plan, settings: DocumentSettings) -> list[str]:
    """Write ``letters/<code>-<name>.md`` and ``.html`` for every municipality asked; return relative paths."""
    check_allocation(allocation)
    folder = Path(folder)
    target = folder / LETTERS_DIR
    target.mkdir(parents=True, exist_ok=True)
    asked = allocation[allocation["request"] > 0]
    standards = standard_for(settings.standards, asked.set_index("kommunenummer"))
    minors = minors_figures(plan, settings.letters)
    common = {s: common_values(plan, settings.letters, s) for s in STANDARDS}
    templates = settings.templates
    written = []
    for row in asked.to_dict("records"):
        standard = standards[row["kommunenummer"]]
        text = render_letter(row, standard, common[standard], templates, minors)
        stem = file_stem(row["kommunenummer"], row["kommune"])
        (target / f"{stem}.md").write_text(text, encoding="utf-8")
        page = fill(templates.letter_html, {"lang": LANG[standard], "body": markdown_to_html(text),
                                             "title": html.escape(f"{common[standard]['subject']} – {row['kommune']}")},
                    templates.paths["letter.html"])
        (target / f"{stem}.html").write_text(page, encoding="utf-8")
        written += [f"{LETTERS_DIR}/{stem}.md", f"{LETTERS_DIR}/{stem}.html"]
    return written
