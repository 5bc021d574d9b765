"""The generated letter against IMDi's real letter, sentence by sentence.

The reference is the real 2022 letter to Alver (``tests/reference/``, public, as
extracted from its PDF).  Both texts are normalised (whitespace, punctuation,
the extraction's bullets and broken lines) and split into sentences; every
sentence of the real letter must appear in the generated letter, in the same
order, word for word.  The sentences in ``DATA_DRIVEN`` depend on the plan or
the run: there the figures of the real letter are replaced by the ones the
letter must state, taken from the plan, the letter config and the run's
allocation (never from the real letter: its number for Alver is a 2022
request and no expected figure here).

The Alver letter is built from the real plan 2022 with the allocation made in
``documents_case`` (requests by population), so this test knows nothing of
IMDi's 2022 requests.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.inputs.source import FileSet, Source
from pipeline.publish.documents import load_templates, number, short_date
from pipeline.publish.letters import letters_for
from tests.pipeline import documents_case as case_2022

REFERENCE = Path("tests/reference")
REAL_LETTER = REFERENCE / "imdi_oppmoding_2022_alver.txt"  # nynorsk, IMDi's own
BOKMAL_RENDERING = REFERENCE / "imdi_anmodning_2022_alver.nb.txt"  # our translation of it
BULLETS = re.compile("[\ue000-\uf8ff\u2022\u25aa\u25cf\u2013](?=\\s)")  # PDF bullets (private-use glyphs, •)
ARTEFACTS = (("lntegrerings", "Integrerings"),)  # the extraction reads the capital I of one word as l
SENTENCE_END = re.compile(r"(?<=[.!?])(?<!tlf\.)\s+(?=[A-ZÆØÅ0-9])")  # not after "tlf."
WORD = re.compile(r"\w+(?:[^\w\s]+\w+)*")  # words; inner punctuation (1.2.2022, post@imdi.no, 105,9) kept

# Sentences of the real letter that carry a figure or a name of the plan or the run: pattern
# (searched in the normalised sentence) -> the groups it replaces.  A group's value is named by
# the group without trailing digits (year, year2 -> year).
DATA_DRIVEN = {
    "nn": (
        r"^Oppmoding om busetting av flyktningar i (?P<year>\d{4}) - (?P<kommune>\S+) kommune ",
        r"^(?P<last_year>\d{4}) har vore nok eit spesielt år",
        r"^(?P<last_year>\d{4}) har også vore eit år prega av uvisse",
        r"busettingsbehovet i (?P<last_year>\d{4}) lågare",
        r"^Oppmoding for (?P<year>\d{4}) Prognosane viser at behovet for busetting i (?P<year2>\d{4}) er berekna å "
        r"vere om lag (?P<need>\d[\d ]*\d) personar",
        r"innkomst av overføringsflyktningar i (?P<year>\d{4})\.$",
        r"ber IMDi om at (?P<kommune>\S+) kommune busetter (?P<request>\S+) flyktningar i (?P<year>\d{4})\.$",
        r"nytta i (?P<last_year>\d{4}) kan ikkje overførast til (?P<year>\d{4})",
        r"kommunen i (?P<last_year>\d{4}), men .* kommunens vedtak for (?P<year>\d{4})\.$",
        r"vedtek å busette i (?P<year>\d{4})\.$",
        r"^Frist for å svare på oppmodinga er (?P<deadline>\d+\.\d+\.\d{4})\.$",
        r"om lag (?P<need>\d[\d ]*\d) flyktningar i Noreg i (?P<year>\d{4})\.$",
        r"talet er (?P<em_total>\d+) einslege mindreårige, kor (?P<em_bufetat>\d+) er under 15 år",
        r"Anmodningskriterier for (?P<year>\d{4}) Kopimottakere: Kommunesektorens organisasjon - KS "
        r"(?P<county>.+) fylkeskommune$",
    ),
    "nb": (
        r"^Anmodning om bosetting av flyktninger i (?P<year>\d{4}) - (?P<kommune>\S+) kommune ",
        r"^(?P<last_year>\d{4}) har vært nok et spesielt år",
        r"^(?P<last_year>\d{4}) har også vært et år preget av usikkerhet",
        r"bosettingsbehovet i (?P<last_year>\d{4}) lavere",
        r"^Anmodning for (?P<year>\d{4}) Prognosene viser at behovet for bosetting i (?P<year2>\d{4}) er beregnet å "
        r"være om lag (?P<need>\d[\d ]*\d) personer",
        r"ankomsten av overføringsflyktninger i (?P<year>\d{4})\.$",
        r"ber IMDi om at (?P<kommune>\S+) kommune bosetter (?P<request>\S+) flyktninger i (?P<year>\d{4})\.$",
        r"brukt i (?P<last_year>\d{4}), kan ikke overføres til (?P<year>\d{4})",
        r"kommunen i (?P<last_year>\d{4}), men .* kommunens vedtak for (?P<year>\d{4})\.$",
        r"vedtar å bosette i (?P<year>\d{4})\.$",
        r"^Frist for å svare på anmodningen er (?P<deadline>\d+\.\d+\.\d{4})\.$",
        r"om lag (?P<need>\d[\d ]*\d) flyktninger i Norge i (?P<year>\d{4})\.$",
        r"tallet er (?P<em_total>\d+) enslige mindreårige, hvorav (?P<em_bufetat>\d+) er under 15 år",
        r"Anmodningskriterier for (?P<year>\d{4}) Kopimottakere: Kommunesektorens organisasjon - KS "
        r"(?P<county>.+) fylkeskommune$",
    ),
}


def plain(text: str) -> str:
    """One line of text: comment lines (a translation's header) dropped, extraction artefacts fixed,
    every run of whitespace (line breaks, no-break spaces) one space."""
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    text = BULLETS.sub(" ", text)
    for wrong, right in ARTEFACTS:
        text = text.replace(wrong, right)
    return " ".join(text.split())


def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE_END.split(plain(text)) if s]


def words(text: str) -> list[str]:
    return WORD.findall(plain(text))


class Text(HTMLParser):
    """The visible text of an HTML page (body only, no style or script)."""

    def __init__(self):
        super().__init__()
        self.parts, self.inside, self.skip = [], False, 0

    def handle_starttag(self, tag, attrs):
        self.inside |= tag == "body"
        self.skip += tag in ("style", "script")
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script")
        self.parts.append(" ")

    def handle_data(self, data):
        if self.inside and not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = Text()
    parser.feed(page)
    return "".join(parser.parts)


def expected_sentence(sentence: str, patterns: tuple[str, ...], values: dict, matched: set) -> str:
    """``sentence`` with the figures of every data-driven group replaced by the run's."""
    spans = []
    for pattern in patterns:
        m = re.search(pattern, sentence)
        if m:
            matched.add(pattern)
            spans += [(m.start(g), m.end(g), values[g.rstrip("0123456789")]) for g in m.groupdict()]
    for start, end, value in sorted(spans, reverse=True):
        sentence = sentence[:start] + str(value) + sentence[end:]
    return sentence


def find(haystack: list[str], needle: list[str], start: int) -> int | None:
    for i in range(start, len(haystack) - len(needle) + 1):
        if haystack[i:i + len(needle)] == needle:
            return i
    return None


def compare(reference: str, letter_page: str, standard: str, values: dict) -> list[str]:
    """Every problem: a sentence of the reference missing, changed or out of order in the letter,
    or a data-driven pattern that matches no sentence of the reference."""
    letter = words(visible_text(letter_page))
    problems, position, matched = [], 0, set()
    for sentence in sentences(reference):
        wanted = words(expected_sentence(sentence, DATA_DRIVEN[standard], values, matched))
        at = find(letter, wanted, position)
        if at is None:
            where = "out of order" if find(letter, wanted, 0) is not None else "missing or changed"
            problems.append(f"{where}: {' '.join(wanted)}")
            continue
        position = at + len(wanted)
    problems += [f"data-driven pattern matches no sentence: {p}" for p in DATA_DRIVEN[standard] if p not in matched]
    return problems


@pytest.fixture(scope="module")
def case():
    plan = case_2022.plan_2022()
    municipalities = case_2022.municipalities_2022(plan)
    allocation = case_2022.allocation_2022(plan, municipalities)
    return plan, allocation, case_2022.settings_for(plan)


def render(case, settings=None, allocation=None) -> dict:
    """kommunenummer -> the letter's HTML page."""
    plan, base_allocation, base_settings = case
    allocation = base_allocation if allocation is None else allocation
    settings = settings or base_settings
    letters = letters_for(case_2022.tables_for(plan, allocation), plan, settings, case_2022.manifest_for(plan, allocation))
    return {letter.stem[:4]: letter.html for letter in letters}


def values_for(case, code: str) -> dict:
    """What the data-driven sentences must say for municipality ``code``: from the plan, the
    letter config and the allocation."""
    plan, allocation, settings = case
    row = allocation.set_index("kommunenummer").loc[code]
    minors = plan.unaccompanied_minors
    return {"year": plan.year, "last_year": plan.year - 1, "need": number(plan.need_persons).replace("\u00a0", " "),
            "kommune": row["kommune"], "request": int(row["request"]), "county": row["fylkesnavn"],
            "deadline": short_date(settings.letters.reply_deadline), "em_total": minors.total_persons,
            "em_bufetat": minors.placed_by_bufetat_persons}


@pytest.fixture(scope="module")
def pages(case):
    return render(case)


def test_alver_letter_reads_like_the_real_letter_in_every_sentence(case, pages):
    assert case[2].standards.loc[case_2022.ALVER, "standard"] == "nn"
    problems = compare(REAL_LETTER.read_text(encoding="utf-8"), pages[case_2022.ALVER], "nn", values_for(case, case_2022.ALVER))
    assert not problems, "\n".join(problems)


def test_a_bokmal_municipality_reads_like_the_bokmal_rendering(case, pages):
    assert case[2].standards.loc[case_2022.KONGSVINGER, "official"] == "Bokmål"
    problems = compare(BOKMAL_RENDERING.read_text(encoding="utf-8"), pages[case_2022.KONGSVINGER], "nb",
                       values_for(case, case_2022.KONGSVINGER))
    assert not problems, "\n".join(problems)


def test_the_data_driven_figure_must_be_the_allocations(case, pages):
    """The request sentence is compared with the allocation's number: another number fails."""
    values = {**values_for(case, case_2022.ALVER), "request": values_for(case, case_2022.ALVER)["request"] + 1}
    problems = compare(REAL_LETTER.read_text(encoding="utf-8"), pages[case_2022.ALVER], "nn", values)
    assert len(problems) == 1 and "ber IMDi om at Alver kommune busetter" in problems[0], problems


def test_a_one_word_change_to_a_template_sentence_fails(case, tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree("config/templates", folder)
    template = folder / "letter.nn.md"
    text = template.read_text(encoding="utf-8")
    sentence = "Målet er deltaking i arbeid og samfunnsliv."
    assert text.count(sentence) == 1
    template.write_text(text.replace(sentence, "Målet er deltaking i arbeid og kulturliv."), encoding="utf-8")
    templates = load_templates(FileSet(Source.read(p) for p in folder.glob("*")), tmp_path)
    edited = render(case, dataclasses.replace(case[2], templates=templates))
    problems = compare(REAL_LETTER.read_text(encoding="utf-8"), edited[case_2022.ALVER], "nn", values_for(case, case_2022.ALVER))
    assert len(problems) == 1, problems
    assert problems[0].startswith("missing or changed:") and "Målet er deltaking i arbeid og samfunnsliv" in problems[0]
