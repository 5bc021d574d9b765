"""The letter config of a plan (``config/letters/<plan>.yaml``): the facts in a
request letter that are not model outputs (dates, signatories, addresses and
the prose around them), in nynorsk and bokmål.  Read once when the plan is
resolved; the letters are written by ``pipeline.publish.letters``."""
from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from optimiser.plan import Plan
from pipeline.errors import InputError
from pipeline.inputs.source import Source
from pipeline.inputs.standards import STANDARDS
from pipeline.inputs.yamlfile import build_dataclass, read_yaml

LETTERS_DIR = "letters"


def letter_config_path(plan_name: str, config_dir: Path) -> Path:
    return Path(config_dir) / LETTERS_DIR / f"{plan_name}.yaml"


@dataclass(frozen=True)
class Signatory:
    name: str
    title: Mapping[str, str]  # per written standard
    illustrative: bool = False  # True: the name is a stand-in, printed with "(illustrativt)"


@dataclass(frozen=True)
class LetterTexts:
    """Prose of one year's letter in one written standard (the wording that stays the same
    every year is in the templates).  ``${year}``, ``${next_year}``, ``${last_year}``,
    ``${need}`` and ``${minimum_request}`` may be used inside; they are filled from the plan.
    An empty text leaves its sentence out."""

    sender: str  # the directorate's full name
    subject: str  # the letter's title before " i <year> - <municipality>"
    distribution: str  # who in the municipality is to read it
    situation: tuple[str, ...]  # paragraphs on the year behind the request
    uncertainty: str  # why the need is uncertain
    criteria: str  # the ministry's criteria and what weighs most
    background_uncertainty: str  # what else makes the prognoses uncertain this year
    grants: tuple[str, ...]  # the grant schemes, one paragraph each
    approval: str  # how the letter was approved (e.g. electronically, without signature)
    attachment_criteria: tuple[str, ...]  # the ministry's principles, listed in the attachment


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
    decision_email: str  # where the council's decision is sent
    ks_email: str  # KS's copy of the decision
    contact_phone: str  # the directorate's contact centre
    contact_email: str
    grants_url: str
    signatories: tuple[Signatory, ...]
    texts: Mapping[str, LetterTexts]  # keys: nn, nb
    unaccompanied_minors: MinorsFigures | None = None
    # Names of top-level fields whose values are stand-ins, not the real letter's.
    illustrative: tuple[str, ...] = ()


ILLUSTRATIVE_FIELDS = ("letter_date", "reply_deadline", "decision_email", "ks_email", "contact_phone", "contact_email")


def read_letter_config(path: Path, plan: Plan) -> LetterConfig:
    source = Source.read(path)
    return parse_letter_config(source, read_yaml(source), plan)


def parse_letter_config(source: Source, raw, plan: Plan) -> LetterConfig:
    """The letter config (``raw``: its parsed YAML), checked against the plan."""
    where = str(source.path)
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
    for name in config.illustrative:
        if name not in ILLUSTRATIVE_FIELDS:
            raise InputError(where, f"illustrative: unknown field {name!r}",
                             f"list any of {', '.join(ILLUSTRATIVE_FIELDS)}; mark signatories one by one")
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
    for standard, texts in config.texts.items():
        for key, value in vars(texts).items():
            items = value if isinstance(value, tuple) else (value,)
            for i, item in enumerate(items):
                name = f"texts.{standard}.{key}" + (f"[{i}]" if isinstance(value, tuple) else "")
                _check_placeholders(string.Template(item), PLAN_TEXT_KEYS, where, name)


PLAN_TEXT_KEYS = ("year", "next_year", "last_year", "need", "minimum_request")


def _check_placeholders(template: string.Template, allowed, where: str, key: str) -> None:
    for name in template.get_identifiers():
        if name not in allowed:
            raise InputError(where, f"{key}: unknown placeholder ${{{name}}}",
                             f"known here: {', '.join('${' + a + '}' for a in allowed)}")
    if not template.is_valid():
        raise InputError(where, f"{key}: a '$' that is not a placeholder (write $$ for a dollar sign)")
