"""Request letters (oppmoding / anmodning) to the municipalities, one per municipality asked.

Every number in a letter comes from the plan or the allocation; the prose that
is not a model output (deadline, where to send the decision, grants, criteria
wording, signatories) comes from ``config/letters/<plan>.yaml``; the wording
around them lives in ``config/templates/letter.<standard>.md``.  Templates use
``string.Template`` with strict substitution: a placeholder without a value is
an error naming the template file and the placeholder.

Written standard (målform): ``data/malform.csv`` holds a default per county
and overrides per municipality; ``nn`` (nynorsk) or ``nb`` (bokmål).
"""
from __future__ import annotations

import datetime as dt
import html
import re
import string
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd
import yaml

from optimiser.plan import Plan
from pipeline.config import build_dataclass
from pipeline.errors import InputError
from pipeline.tables import Column, fail_at, read_table

STANDARDS = ("nn", "nb")
LANG = {"nn": "nn", "nb": "nb"}  # HTML lang attribute
ILLUSTRATIVE_MARK = "(illustrativt)"  # same word in nynorsk and bokmål
STANDARDS_FILE = "malform.csv"
LETTERS_DIR = "letters"
TEMPLATES_DIR = "templates"
# Placeholders a letter template must use, so no letter can leave out the request or the need.
REQUIRED_PLACEHOLDERS = ("kommune", "request", "year", "need", "reply_deadline", "decision_address")
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
          "november", "desember")  # identical in nynorsk and bokmål
NBSP = "\u00a0"


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Signatory:
    name: str
    title: Mapping[str, str]  # per written standard
    illustrative: bool = False  # True: the name is a stand-in, printed with "(illustrativt)"


@dataclass(frozen=True)
class LetterTexts:
    """Prose in one written standard.  ``${year}``, ``${next_year}``, ``${need}`` and
    ``${minimum_request}`` may be used inside; they are filled from the plan."""

    sender: str
    subject: str
    uncertainty: str
    criteria_intro: str
    criteria: tuple[str, ...]
    consultation: str
    grants_intro: str
    grants: tuple[str, ...]
    closing: str


@dataclass(frozen=True)
class MinorsFigures:
    """National unaccompanied-minor figures, used only when the plan has none."""

    total_persons: int
    placed_by_bufetat_persons: int = 0


@dataclass(frozen=True)
class LetterConfig:
    plan: str
    letter_date: str  # ISO date
    reply_deadline: str  # ISO date
    decision_address: str
    signatories: tuple[Signatory, ...]
    texts: Mapping[str, LetterTexts]  # keys: nn, nb
    unaccompanied_minors: MinorsFigures | None = None
    # Names of top-level fields whose values are stand-ins, not the real letter's.
    illustrative: tuple[str, ...] = ()
    # How many municipalities the report lists under "largest changes" in a re-plan.
    report_largest_changes: int = 20


@dataclass(frozen=True)
class Templates:
    letter: Mapping[str, Mapping[str, string.Template]]  # standard -> part -> template
    letter_html: string.Template
    report_html: string.Template
    paths: Mapping[str, Path]  # template name -> file (for error messages)


@dataclass(frozen=True)
class DocumentSettings:
    """Everything ``write_documents`` needs besides the run's own frames."""

    letters: LetterConfig
    standards: pd.DataFrame  # scope, code, standard
    templates: Templates
    files: tuple[Path, ...] = field(default=())  # the files these were read from


def letter_config_path(plan_name: str, config_dir: Path) -> Path:
    return Path(config_dir) / LETTERS_DIR / f"{plan_name}.yaml"


def document_files(plan_name: str, config_dir: Path, data_dir: Path) -> list[Path]:
    """Files the documents depend on (for the run fingerprint); [] when the plan has no letter config."""
    config = letter_config_path(plan_name, config_dir)
    if not config.is_file():
        return []
    templates = sorted(p for p in (Path(config_dir) / TEMPLATES_DIR).glob("*") if p.is_file())
    return [config, *templates, Path(data_dir) / STANDARDS_FILE]


def load_document_settings(plan: Plan, municipalities: pd.DataFrame, config_dir: Path,
                           data_dir: Path) -> DocumentSettings | None:
    """Read letter config, templates and written standards; None when the plan has no letter config."""
    path = letter_config_path(plan.name, config_dir)
    if not path.is_file():
        return None
    letters = load_letter_config(path, plan)
    templates = load_templates(Path(config_dir) / TEMPLATES_DIR)
    standards = load_standards(Path(data_dir) / STANDARDS_FILE, municipalities)
    return DocumentSettings(letters, standards, templates,
                            tuple(document_files(plan.name, config_dir, data_dir)))


def load_letter_config(path: Path, plan: Plan) -> LetterConfig:
    path = Path(path)
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(where, f"cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise InputError(where, f"not valid YAML: {exc}".replace("\n", " ")) from exc
    config = build_dataclass(LetterConfig, raw, where)
    _check_letter_config(config, plan, where)
    return config


def _check_letter_config(config: LetterConfig, plan: Plan, where: str) -> None:
    if config.plan != plan.name:
        raise InputError(where, f"plan: {config.plan!r} does not match the plan {plan.name!r}",
                         f"this file belongs to config/letters/{config.plan}.yaml")
    for key in ("letter_date", "reply_deadline"):
        try:
            dt.date.fromisoformat(getattr(config, key))
        except ValueError:
            raise InputError(where, f"{key}: {getattr(config, key)!r} is not a date",
                             "write it as \"YYYY-MM-DD\" in quotes") from None
    if set(config.texts) != set(STANDARDS):
        raise InputError(where, "texts: need exactly the keys nn and nb",
                         f"found: {', '.join(sorted(config.texts)) or 'none'}")
    if not config.signatories:
        raise InputError(where, "signatories: at least one is needed")
    for i, s in enumerate(config.signatories):
        if set(s.title) != set(STANDARDS):
            raise InputError(where, f"signatories[{i}].title: need exactly the keys nn and nb")
    known = {"letter_date", "reply_deadline", "decision_address"}
    for name in config.illustrative:
        if name not in known:
            raise InputError(where, f"illustrative: unknown field {name!r}",
                             f"list any of {', '.join(sorted(known))}; mark signatories one by one")
    em = config.unaccompanied_minors
    if em is not None:
        if not 0 <= em.placed_by_bufetat_persons <= em.total_persons:
            raise InputError(where, "unaccompanied_minors.placed_by_bufetat_persons: must be between 0 and "
                             "total_persons")
        planned = plan.unaccompanied_minors
        if planned is not None and (planned.total_persons, planned.placed_by_bufetat_persons) != (
                em.total_persons, em.placed_by_bufetat_persons):
            raise InputError(where, f"unaccompanied_minors: {em.total_persons}/{em.placed_by_bufetat_persons} "
                             f"differs from the plan's {planned.total_persons}/{planned.placed_by_bufetat_persons}",
                             "remove it here; the plan's figures are used")
    if config.report_largest_changes < 0:
        raise InputError(where, "report_largest_changes: must be >= 0")
    for standard, texts in config.texts.items():
        for key in ("sender", "subject", "uncertainty", "criteria_intro", "consultation", "grants_intro", "closing"):
            _check_placeholders(string.Template(getattr(texts, key)), PLAN_TEXT_KEYS, where,
                                f"texts.{standard}.{key}")
        for i, item in enumerate(texts.criteria + texts.grants):
            _check_placeholders(string.Template(item), PLAN_TEXT_KEYS, where, f"texts.{standard} list item {i}")


PLAN_TEXT_KEYS = ("year", "next_year", "need", "minimum_request")


def _check_placeholders(template: string.Template, allowed, where: str, key: str) -> None:
    for name in template.get_identifiers():
        if name not in allowed:
            raise InputError(where, f"{key}: unknown placeholder ${{{name}}}",
                             f"known here: {', '.join('${' + a + '}' for a in allowed)}")
    if not template.is_valid():
        raise InputError(where, f"{key}: a '$' that is not a placeholder (write $$ for a dollar sign)")


# --------------------------------------------------------------------------- templates

PART_RE = re.compile(r"^<!-- part: ([a-z_]+) -->$", re.MULTILINE)
# Every placeholder a letter template may use (filled by ``common_values`` and ``render_letter``).
LETTER_KEYS = ("year", "next_year", "need", "minimum_request", "sender", "subject", "uncertainty", "criteria_intro",
               "criteria", "consultation", "grants_intro", "grants", "closing", "letter_date", "reply_deadline",
               "decision_address", "signatories", "kommune", "kommunenummer", "request", "em_national",
               "em_municipality", "replan", "em_total", "em_bufetat", "em_bufetat_sentence", "em_request",
               "previous", "change")
LETTER_PARTS = ("letter", "em_national", "em_bufetat", "em_municipality", "replan_up", "replan_down",
                "replan_same", "replan_new")


def load_templates(folder: Path) -> Templates:
    folder = Path(folder)
    paths = {f"letter.{s}.md": folder / f"letter.{s}.md" for s in STANDARDS}
    paths["letter.html"] = folder / "letter.html"
    paths["report.html"] = folder / "report.html"
    texts = {}
    for name, path in paths.items():
        if not path.is_file():
            raise InputError(str(path), "template not found", f"restore {name} in {folder}")
        texts[name] = path.read_text(encoding="utf-8")
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


# --------------------------------------------------------------------------- written standard


def load_standards(path: Path, municipalities: pd.DataFrame) -> pd.DataFrame:
    """Read ``scope,code,standard``: every county needs a default; codes must exist."""
    frame = read_table(path, [Column("scope", "text"), Column("code", "text"), Column("standard", "text")],
                       key=None)
    scope_ok = frame["scope"].isin(["county", "municipality"])
    if not scope_ok.all():
        fail_at(path, frame, ~scope_ok, "scope", f"unknown scope {frame['scope'][~scope_ok].iloc[0]!r}",
                "use county or municipality")
    std_ok = frame["standard"].isin(STANDARDS)
    if not std_ok.all():
        fail_at(path, frame, ~std_ok, "standard", f"unknown standard {frame['standard'][~std_ok].iloc[0]!r}",
                "use nn (nynorsk) or nb (bokmål)")
    counties = set(municipalities["fylke"])
    county = frame["scope"] == "county"
    bad = (county & ~frame["code"].isin(counties)) | (~county & ~frame["code"].isin(municipalities.index))
    if bad.any():
        fail_at(path, frame, bad, "code", f"unknown code {frame['code'][bad].iloc[0]!r}",
                "use 2-digit county numbers and 4-digit kommunenummer of 2020-2023")
    dup = frame.duplicated(["scope", "code"])
    if dup.any():
        fail_at(path, frame, dup, "code", f"second row for {frame['code'][dup].iloc[0]!r}")
    missing = sorted(counties - set(frame.loc[county, "code"]))
    if missing:
        raise InputError(str(path), f"county {missing[0]} has no default row",
                         f"add a line 'county,{missing[0]},<name>,nb' or nn")
    return frame[["scope", "code", "standard"]].reset_index(drop=True)


def standard_for(standards: pd.DataFrame, municipalities: pd.DataFrame) -> pd.Series:
    """Written standard per kommunenummer: the municipality's override, else its county's default."""
    by_county = standards[standards["scope"] == "county"].set_index("code")["standard"]
    override = standards[standards["scope"] == "municipality"].set_index("code")["standard"]
    chosen = municipalities["fylke"].map(by_county)
    return override.reindex(municipalities.index).fillna(chosen).rename("standard")


# --------------------------------------------------------------------------- rendering

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
        return f"{value} {ILLUSTRATIVE_MARK}" if key in config.illustrative else value

    signatures = []
    for s in config.signatories:
        name = f"{s.name} {ILLUSTRATIVE_MARK}" if s.illustrative and ILLUSTRATIVE_MARK not in s.name else s.name
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


def write_documents(folder: Path, allocation: pd.DataFrame, municipalities: pd.DataFrame, plan: Plan,
                    manifest: dict, settings: DocumentSettings) -> list[str]:
    """Letters and the planners' report for one run folder; returns the files written, relative to it."""
    from pipeline import report

    written = write_letters(folder, allocation, plan, settings)
    written += report.write_report(folder, allocation, municipalities, plan, manifest, settings, written)
    return sorted(written)


def add_documents(folder: Path, inputs: dict, allocation: pd.DataFrame, manifest: dict) -> list[str]:
    """For ``Publish``: write letters and report into the staging folder and list them in
    ``manifest['files']``; nothing when ``ReadInputs`` found no letter config for the plan."""
    settings = inputs.get("documents")
    if settings is None:
        return []
    written = write_documents(folder, allocation, inputs["data"].municipalities, inputs["plan"], manifest, settings)
    manifest["files"] = sorted({*manifest.get("files", []), *written})
    return written
