"""What letters and the report share: templates, strict filling, Norwegian
number and date formats, file names, and the settings one run's documents need.

Templates use ``string.Template`` with strict substitution: a placeholder
without a value is an error naming the template file and the placeholder.
They are read from the bytes the run resolved (``config/templates/``).
"""
from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimiser.plan import Plan
from pipeline.errors import InputError
from pipeline.inputs.source import FileSet
from pipeline.inputs.standards import STANDARDS
from pipeline.plans.letters import LetterConfig
from pipeline.plans.resolve import TEMPLATES_DIR

LANG = {"nn": "nn", "nb": "nb"}  # HTML lang attribute
ILLUSTRATIVE_WORD = "(illustrativt)"  # printed beside a stand-in fact; same word in nynorsk and bokmål
LETTERS_DIR = "letters"
# Placeholders a letter template must use, so no letter can leave out the request or the need.
REQUIRED_PLACEHOLDERS = ("kommune", "request", "year", "need", "reply_deadline", "decision_address")
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "desember")  # identical in nynorsk and bokmål
NBSP = "\u00a0"


@dataclass(frozen=True)
class Templates:
    letter: Mapping[str, Mapping[str, string.Template]]  # standard -> part -> template
    letter_html: string.Template
    report_html: string.Template
    paths: Mapping[str, Path]  # template name -> file (for error messages)


@dataclass(frozen=True)
class DocumentSettings:
    """Everything the letters need besides the run's own frames."""

    letters: LetterConfig
    standards: pd.DataFrame  # scope, code, standard
    templates: Templates


PART_RE = re.compile(r"^<!-- part: ([a-z_]+) -->$", re.MULTILINE)
# Every placeholder a letter template may use (filled by ``common_values`` and ``render_letter``).
LETTER_KEYS = ("year", "next_year", "need", "minimum_request", "sender", "subject", "uncertainty", "criteria_intro",
               "criteria", "consultation", "grants_intro", "grants", "closing", "letter_date", "reply_deadline",
               "decision_address", "signatories", "kommune", "kommunenummer", "request", "em_national",
               "em_municipality", "replan", "em_total", "em_bufetat", "em_bufetat_sentence", "em_request",
               "previous", "change")
LETTER_PARTS = ("letter", "em_national", "em_bufetat", "em_municipality", "replan_up", "replan_down",
                "replan_same", "replan_new")


def load_templates(files: FileSet, config_dir: Path) -> Templates:
    folder = Path(config_dir) / TEMPLATES_DIR
    paths = {f"letter.{s}.md": folder / f"letter.{s}.md" for s in STANDARDS}
    paths["letter.html"] = folder / "letter.html"
    paths["report.html"] = folder / "report.html"
    texts = {name: files.get_source(path, f"restore {name} in {folder}").text() for name, path in paths.items()}
    letter = {s: _parts(texts[f"letter.{s}.md"], paths[f"letter.{s}.md"]) for s in STANDARDS}
    return Templates(letter=letter, letter_html=_template(texts["letter.html"], paths["letter.html"]),
                     report_html=_template(texts["report.html"], paths["report.html"]), paths=paths)


def _template(text: str, path: Path) -> string.Template:
    template = string.Template(text)
    if not template.is_valid():
        raise InputError(str(path), "a '$' that is not a placeholder (write $$ for a dollar sign)")
    return template


def _parts(text: str, path: Path) -> dict[str, string.Template]:
    """Split a letter template at ``<!-- part: name -->`` lines."""
    pieces = PART_RE.split(text)
    parts = {}
    for name, body in zip(pieces[1::2], pieces[2::2]):
        if name in parts:
            raise InputError(str(path), f"part {name!r} appears twice")
        parts[name] = _template(body.strip("\n"), path)
    missing = [p for p in LETTER_PARTS if p not in parts]
    if missing:
        raise InputError(str(path), f"missing part {missing[0]!r}",
                         f"add a line '<!-- part: {missing[0]} -->' followed by its text")
    for name, part in parts.items():
        unknown = sorted(set(part.get_identifiers()) - set(LETTER_KEYS))
        if unknown:
            raise InputError(str(path), f"part {name!r}: unknown placeholder ${{{unknown[0]}}}",
                             f"known: {', '.join(LETTER_KEYS)}")
    used = parts["letter"].get_identifiers()
    for name in REQUIRED_PLACEHOLDERS:
        if name not in used:
            raise InputError(str(path), f"part 'letter' never uses ${{{name}}}", "every letter must state it")
    return parts


def fill(template: string.Template, values: Mapping[str, object], path: Path | str, part: str = "") -> str:
    """Strict substitution: a placeholder with no value names the template and the placeholder."""
    try:
        return template.substitute(values)
    except KeyError as exc:
        where = f"{path}: part {part!r}" if part else str(path)
        raise InputError(where, f"placeholder ${{{exc.args[0]}}} has no value",
                         f"known: {', '.join(sorted(values))}") from None


TRANSLIT = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa"})


def file_stem(code: str, name: str) -> str:
    """``4631-alver``: æ, ø, å become ae, oe, aa; other accents are dropped; anything else becomes '-'."""
    ascii_name = unicodedata.normalize("NFKD", name.translate(TRANSLIT)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"{code}-{slug}"


def number(value: int) -> str:
    """Norwegian thousands grouping with a no-break space: 35 000."""
    return f"{int(value):,}".replace(",", NBSP)


def long_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def minors_figures(plan: Plan, config: LetterConfig) -> tuple[int, int] | None:
    """(total, placed by Bufetat): the plan's when set, else the letter config's, else None."""
    if plan.unaccompanied_minors is not None:
        return plan.unaccompanied_minors.total_persons, plan.unaccompanied_minors.placed_by_bufetat_persons
    if config.unaccompanied_minors is not None:
        return config.unaccompanied_minors.total_persons, config.unaccompanied_minors.placed_by_bufetat_persons
    return None


def plan_values(plan: Plan) -> dict[str, str]:
    return {"year": str(plan.year), "next_year": str(plan.year + 1), "need": number(plan.need_persons),
            "minimum_request": number(plan.minimum_request)}


def common_values(plan: Plan, config: LetterConfig, standard: str) -> dict[str, str]:
    """Values shared by every letter in one written standard."""
    texts = config.texts[standard]
    base = plan_values(plan)
    where = f"letter config for plan {plan.name}: texts.{standard}"

    def text(value: str) -> str:
        return fill(string.Template(value), base, where)

    def mark(key: str, value: str) -> str:
        return f"{value} {ILLUSTRATIVE_WORD}" if key in config.illustrative else value

    signatures = []
    for s in config.signatories:
        name = f"{s.name} {ILLUSTRATIVE_WORD}" if s.illustrative and ILLUSTRATIVE_WORD not in s.name else s.name
        signatures.append(f"{name}  \n{s.title[standard]}")
    return {
        **base,
        "sender": text(texts.sender),
        "subject": text(texts.subject),
        "uncertainty": text(texts.uncertainty),
        "criteria_intro": text(texts.criteria_intro),
        "criteria": "\n".join(f"- {text(c)}" for c in texts.criteria),
        "consultation": text(texts.consultation),
        "grants_intro": text(texts.grants_intro),
        "grants": "\n".join(f"- {text(g)}" for g in texts.grants),
        "closing": text(texts.closing),
        "letter_date": mark("letter_date", long_date(config.letter_date)),
        "reply_deadline": mark("reply_deadline", long_date(config.reply_deadline)),
        "decision_address": mark("decision_address", config.decision_address),
        "signatories": "\n\n".join(signatures),
    }


def check_allocation(allocation: pd.DataFrame) -> None:
    """A re-plan's ``change`` must equal ``request - previous``: a letter states both."""
    if {"previous", "change"} <= set(allocation.columns):
        wrong = allocation["change"] != allocation["request"] - allocation["previous"]
        if wrong.any():
            row = allocation[wrong].iloc[0]
            raise ValueError(f"allocation: change {row['change']} for {row['kommunenummer']} is not "
                             f"request {row['request']} - previous {row['previous']}")
