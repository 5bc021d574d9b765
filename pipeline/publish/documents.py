"""What letters and the report share: templates, strict filling, Norwegian
number and date formats, file names, and the settings one run's documents need.

Templates use ``string.Template`` with strict substitution: a placeholder
without a value is an error naming the template file and the placeholder.
They are read from the bytes the run resolved (``config/templates/``).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from optimiser.plan import ALL_CRITERIA, Plan
from pipeline.errors import InputError
from pipeline.inputs.maps import Shape
from pipeline.inputs.source import FileSet, Source
from pipeline.inputs.standards import STANDARDS
from pipeline.inputs.yamlfile import read_yaml
from pipeline.plans.letters import LetterConfig
from pipeline.plans.resolve import TEMPLATES_DIR

LANG = {"nn": "nn", "nb": "nb"}  # HTML lang attribute
ILLUSTRATIVE_WORD = "(illustrativt)"  # printed beside a stand-in fact; same word in nynorsk and bokmål
LETTERS_DIR = "letters"
# Placeholders a letter template must use, so no letter can leave out the request or the need.
REQUIRED_PLACEHOLDERS = ("kommune", "request", "year", "need", "reply_deadline", "decision_email")
NBSP = "\u00a0"
CRITERIA_FILE = "criteria.yaml"


@dataclass(frozen=True)
class Templates:
    letter: Mapping[str, Mapping[str, string.Template]]  # standard -> part -> template
    letter_html: string.Template
    report_html: string.Template
    criteria: Mapping[str, Mapping[str, str]]  # criterion -> standard -> its name
    paths: Mapping[str, Path]  # template name -> file (for error messages)

    def criterion(self, name: str, standard: str) -> str:
        return self.criteria.get(name, {}).get(standard, name)


@dataclass(frozen=True)
class DocumentSettings:
    """Everything the letters and the report need besides the run's own tables.
    ``letters`` and ``standards`` are None for a plan without a letter config."""

    letters: LetterConfig | None
    standards: pd.DataFrame | None  # by kommunenummer: official, standard
    templates: Templates
    municipality_shapes: tuple[Shape, ...] = ()
    county_shapes: tuple[Shape, ...] = ()
    previous_year: pd.DataFrame | None = None  # IMDi's real requests of the year before, by kommunenummer


PART_RE = re.compile(r"^<!-- part: ([a-z_]+) -->$", re.MULTILINE)
# Every placeholder a letter template may use (filled by ``common_values`` and ``pipeline.publish.letters``).
LETTER_KEYS = (
    "year", "next_year", "last_year", "need", "minimum_request",
    "sender", "subject", "distribution", "situation", "uncertainty", "criteria", "background_uncertainty",
    "grants", "approval", "attachment_criteria", "consultation", "letter_date", "reply_deadline", "decision_email",
    "ks_email", "contact_phone", "contact_email", "grants_url", "signatories",
    "kommune", "kommunenummer", "request", "county", "county_copy", "em_national", "em_total", "em_bufetat",
    "em_bufetat_sentence", "em_municipality", "em_request", "replan", "previous", "change",
    "target", "criteria_table", "criteria_lacked", "criterion", "weight", "weight_used", "persons", "lacked")
LETTER_PARTS = ("letter", "counties_input", "ks_agrees", "ks_input", "county_copy", "em_national", "em_bufetat",
                "em_municipality", "replan_up", "replan_down", "replan_same", "replan_new", "attachment",
                "criteria_header", "criteria_row", "criteria_row_lacked", "criteria_total", "criteria_lacked")


def load_templates(files: FileSet, config_dir: Path) -> Templates:
    folder = Path(config_dir) / TEMPLATES_DIR
    paths = {f"letter.{s}.md": folder / f"letter.{s}.md" for s in STANDARDS}
    paths["letter.html"] = folder / "letter.html"
    paths["report.html"] = folder / "report.html"
    paths[CRITERIA_FILE] = folder / CRITERIA_FILE
    sources = {name: files.get_source(path, f"restore {name} in {folder}") for name, path in paths.items()}
    texts = {name: source.text() for name, source in sources.items()}
    letter = {s: _parts(texts[f"letter.{s}.md"], paths[f"letter.{s}.md"]) for s in STANDARDS}
    return Templates(letter=letter, letter_html=_template(texts["letter.html"], paths["letter.html"]),
                     report_html=_template(texts["report.html"], paths["report.html"]),
                     criteria=_criteria_names(sources[CRITERIA_FILE]), paths=paths)


@functools.lru_cache(maxsize=8)
def _criteria_names(source: Source) -> dict[str, dict[str, str]]:
    """``criteria.yaml``: criterion -> {nn: name, nb: name}.  Parsed once per source (a re-plan and
    its base plan share it)."""
    raw = read_yaml(source) or {}
    where = str(source.path)
    if not isinstance(raw, dict):
        raise InputError(where, "expected a mapping: criterion -> {nn: name, nb: name}")
    for name, names in raw.items():
        if name not in ALL_CRITERIA:
            raise InputError(f"{where}: {name}", "unknown criterion", f"known: {', '.join(ALL_CRITERIA)}")
        if not isinstance(names, dict) or set(names) != set(STANDARDS) or not all(isinstance(v, str) for v in names.values()):
            raise InputError(f"{where}: {name}", "needs exactly the keys nn and nb, each a text")
    return raw


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


def decimal(value: float, digits: int = 1) -> str:
    """Norwegian decimal comma and grouping: 1 664,6."""
    return f"{value:,.{digits}f}".replace(",", NBSP).replace(".", ",")


def percent(share: float) -> str:
    """37,5 % (no decimal when whole)."""
    text = decimal(share * 100.0, 1).removesuffix(",0")
    return f"{text}{NBSP}%"


def short_date(iso: str) -> str:
    """1.2.2022, as IMDi's letters write dates."""
    day = dt.date.fromisoformat(iso)
    return f"{day.day}.{day.month}.{day.year}"


def minors_figures(plan: Plan, config: LetterConfig) -> tuple[int, int] | None:
    """(total, placed by Bufetat): the plan's when set, else the letter config's, else None."""
    if plan.unaccompanied_minors is not None:
        return plan.unaccompanied_minors.total_persons, plan.unaccompanied_minors.placed_by_bufetat_persons
    if config.unaccompanied_minors is not None:
        return config.unaccompanied_minors.total_persons, config.unaccompanied_minors.placed_by_bufetat_persons
    return None


def plan_values(plan: Plan) -> dict[str, str]:
    return {"year": str(plan.year), "next_year": str(plan.year + 1), "last_year": str(plan.year - 1),
            "need": number(plan.need_persons), "minimum_request": number(plan.minimum_request)}


def common_values(plan: Plan, config: LetterConfig, standard: str) -> dict[str, str]:
    """Values shared by every letter of one plan in one written standard."""
    texts = config.texts[standard]
    base = plan_values(plan)
    where = f"letter config for plan {plan.name}: texts.{standard}"

    def text(value: str) -> str:
        return " ".join(fill(string.Template(value), base, where).split())

    def mark(key: str, value: str) -> str:
        return f"{value} {ILLUSTRATIVE_WORD}" if key in config.illustrative else value

    names = [f"{s.name} {ILLUSTRATIVE_WORD}" if s.illustrative and ILLUSTRATIVE_WORD not in s.name else s.name
             for s in config.signatories]
    signatories = f"| {' | '.join(names)} |\n| {' | '.join(s.title[standard] for s in config.signatories)} |"
    return {
        **base,
        "sender": text(texts.sender),
        "subject": text(texts.subject),
        "distribution": text(texts.distribution),
        "situation": "\n\n".join(text(p) for p in texts.situation),
        "uncertainty": text(texts.uncertainty),
        "criteria": text(texts.criteria),
        "background_uncertainty": text(texts.background_uncertainty),
        "grants": "\n".join(f"- {text(g)}" for g in texts.grants),
        "approval": text(texts.approval),
        "attachment_criteria": "\n".join(f"- {text(c)}" for c in texts.attachment_criteria),
        "letter_date": mark("letter_date", short_date(config.letter_date)),
        "reply_deadline": mark("reply_deadline", short_date(config.reply_deadline)),
        "decision_email": mark("decision_email", config.decision_email),
        "ks_email": mark("ks_email", config.ks_email),
        "contact_phone": mark("contact_phone", config.contact_phone),
        "contact_email": mark("contact_email", config.contact_email),
        "grants_url": config.grants_url,
        "signatories": signatories,
    }


def check_allocation(allocation: pd.DataFrame) -> None:
    """A re-plan's ``change`` must equal ``request - previous``: a letter states both."""
    if {"previous", "change"} <= set(allocation.columns):
        wrong = allocation["change"] != allocation["request"] - allocation["previous"]
        if wrong.any():
            row = allocation[wrong].iloc[0]
            raise ValueError(f"allocation: change {row['change']} for {row['kommunenummer']} is not "
                             f"request {row['request']} - previous {row['previous']}")
