"""Request letters: the written standard, the attachment, the re-plan parts, no number in any
letter that differs from the plan or the allocation, and bad letter input named.
(Sentence by sentence against IMDi's real letter: test_letter_reference.py.)"""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from optimiser.plan import ALL_CRITERIA, UnaccompaniedMinors
from pipeline.errors import InputError
from pipeline.inputs.source import FileSet, Source
from pipeline.inputs.standards import read_standards, standard_for
from pipeline.plans.letters import read_letter_config as load_letter_config
from pipeline.publish.documents import file_stem
from pipeline.publish.documents import load_templates as load_template_files
from pipeline.publish.letters import write_letters
from tests.pipeline import documents_case as case_2022

NBSP = "\u00a0"
STANDARDS_FILE = Path("data/maalform_kommune_2020.csv")
NYNORSK_ONLY = ("flyktningar", "ikkje", "einslege", "kommunane")
BOKMAL_ONLY = ("flyktninger", "ikke ", "enslige", "kommunene")
ATTACHMENT = "## Vedlegg: Anmodningskriterier"


@pytest.fixture(scope="module")
def case():
    plan = case_2022.plan_2022()
    municipalities = case_2022.municipalities_2022(plan)
    return plan, municipalities, case_2022.settings_for(plan)


@pytest.fixture(scope="module")
def default(case, tmp_path_factory):
    """The letters of the shared 2022 case, written once for the module: (allocation, files, folder)."""
    folder = tmp_path_factory.mktemp("letters")
    allocation, files = render(folder, case)
    return allocation, files, folder


def render(tmp_path, case, allocation=None, plan=None, manifest=None):
    base_plan, municipalities, settings = case
    plan = plan or base_plan
    allocation = case_2022.allocation_2022(base_plan, municipalities) if allocation is None else allocation
    files = write_letters(tmp_path, case_2022.tables_for(base_plan, allocation), plan, settings,
                          manifest or case_2022.manifest_for(base_plan, allocation))
    return allocation, files


def letter(tmp_path, code: str) -> str:
    (path,) = (tmp_path / "letters").glob(f"{code}-*.md")
    return path.read_text(encoding="utf-8")


def request_of(allocation, code: str) -> int:
    return int(allocation.set_index("kommunenummer").loc[code, "request"])


def raw_config(name: str = "2022") -> dict:
    return yaml.safe_load(Path(f"config/letters/{name}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("code, name", [("4631", "Alver"), ("4601", "Bergen"), ("1103", "Stavanger")])
def test_nynorsk_and_neutral_municipalities_of_nynorsk_counties_get_nynorsk(default, code, name):
    allocation, _, tmp_path = default
    text = letter(tmp_path, code)
    assert f"ber IMDi om at {name} kommune busetter {request_of(allocation, code)} flyktningar i 2022" in text
    for word in BOKMAL_ONLY:
        assert word not in text, word


@pytest.mark.parametrize("code, name", [("3401", "Kongsvinger"), ("0301", "Oslo"), ("5001", "Trondheim")])
def test_bokmal_and_neutral_municipalities_of_bokmal_counties_get_bokmal(default, code, name):
    allocation, _, tmp_path = default
    text = letter(tmp_path, code)
    request = f"{request_of(allocation, code):,}".replace(",", NBSP)
    assert f"ber IMDi om at {name} kommune bosetter {request} flyktninger i 2022" in text
    assert "Med hilsen" in text and "familiegjenforente" in text
    for word in NYNORSK_ONLY:
        assert word not in text, word


def test_written_standard_follows_the_register_and_the_county_majority_for_neutral_ones(case):
    standards = case[2].standards
    assert (standards["official"] == "Nynorsk").sum() + (standards["official"] == "Bokmål").sum() + (
        standards["official"] == "Nøytral").sum() == 356
    chosen = standards[standards["official"] != "Nøytral"]
    assert (chosen["standard"] == chosen["official"].map({"Nynorsk": "nn", "Bokmål": "nb"})).all()


def test_neutral_municipality_gets_its_county_majority_and_bokmal_on_a_tie():
    official = pd.Series({"0001": "Nynorsk", "0002": "Nynorsk", "0003": "Bokmål", "0004": "Nøytral",
                          "0101": "Nynorsk", "0102": "Bokmål", "0103": "Nøytral", "0201": "Nøytral"})
    county = pd.Series({"0001": "00", "0002": "00", "0003": "00", "0004": "00", "0101": "01", "0102": "01",
                        "0103": "01", "0201": "02"})
    chosen = standard_for(official, county)
    assert chosen.to_dict() == {"0001": "nn", "0002": "nn", "0003": "nb", "0004": "nn", "0101": "nn", "0102": "nb",
                                "0103": "nb", "0201": "nb"}


def test_one_letter_per_municipality_asked_in_markdown_and_html(default):
    allocation, files, tmp_path = default
    asked = allocation.loc[allocation["request"] > 0, "kommunenummer"]
    stems = {Path(f).stem for f in files}
    assert {s[:4] for s in stems} == set(asked)
    assert len(stems) == len(asked) and len(files) == 2 * len(asked)
    page = (tmp_path / "letters" / "4631-alver.html").read_text(encoding="utf-8")
    assert '<html lang="nn">' in page and '<section class="letter" lang="nn">' in page
    assert page.count("<h1>") == 1
    assert "<h1>Oppmoding om busetting av flyktningar i 2022 - Alver kommune</h1>" in page
    assert "<td>Halwan Ibrahim</td><td>Kristian Mellingen</td>" in page
    assert '<div class="attachment">' in page and "<h2>Vedlegg: Anmodningskriterier for 2022</h2>" in page
    assert "src=" not in page and "<link" not in page  # nothing loaded from anywhere


def test_sourced_facts_are_not_marked_and_the_stand_in_date_is(default):
    tmp_path = default[2]
    text = letter(tmp_path, case_2022.ALVER)
    raw = raw_config()
    assert raw["illustrative"] == ["letter_date"]
    assert "Dato: 11.11.2021 (illustrativt)" in text
    assert text.count("(illustrativt)") == 1
    assert "Frist for å svare på oppmodinga er 1.2.2022." in text


def test_replan_letter_marks_every_unsourced_fact(tmp_path, case):
    plan, municipalities, settings = case
    plan_03 = dataclasses.replace(plan, name="2022-03", need_persons=35000, unaccompanied_minors=None)
    config = load_letter_config(Path("config/letters/2022-03.yaml"), plan_03)
    allocation = replan_allocation(plan, municipalities)
    write_letters(tmp_path, case_2022.tables_for(plan, allocation), plan_03, dataclasses.replace(settings, letters=config),
                  case_2022.manifest_for(plan_03, allocation))
    alver = letter(tmp_path, case_2022.ALVER)
    for fact in ("Dato: 18.3.2022 (illustrativt)", "er 31.3.2022 (illustrativt)", "post@imdi.no (illustrativt)",
                 "N.N. (illustrativt)"):
        assert fact in alver, fact


def test_attachment_weights_the_criteria_as_the_plan_and_adds_up_to_the_target(tmp_path, case):
    # The shipped plan's calibrated weights, plus two planner criteria it has no file for.
    base = case[0]
    weights = {**base.criteria.weights, "introduction_results": 0.1, "employment": 0.1}
    plan = dataclasses.replace(base, criteria=dataclasses.replace(base.criteria, weights=weights))
    allocation = case_2022.allocation_2022(base, case[1])
    render(tmp_path, case, allocation, plan=plan, manifest=case_2022.manifest_for(plan, allocation))
    text = letter(tmp_path, case_2022.ALVER).split(ATTACHMENT)[1]
    rows = [line.split("|")[1:-1] for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    body = {r[0].strip(): [c.strip() for c in r[1:]] for r in rows[1:]}
    total = body.pop("Sum")
    weights = plan.criteria.weights
    assert len(body) == sum(1 for w in weights.values() if w > 0)
    persons = [float(c[2].replace(",", ".")) for c in body.values() if c[2] != "–"]
    target = allocation.set_index("kommunenummer").loc[case_2022.ALVER, "target"]
    assert sum(persons) == pytest.approx(target, abs=0.05 * len(persons))
    assert float(total[2].replace(",", ".")) == pytest.approx(target, abs=0.05)
    assert sorted(c[1] for c in body.values() if c[1] == "manglar data") == ["manglar data"] * 2
    assert "Det finst ikkje data for sysselsetting og resultat i introduksjonsprogrammet for 2022" in text


def test_every_criterion_has_a_name_in_both_standards(case):
    names = case[2].templates.criteria
    assert set(names) == set(ALL_CRITERIA)
    assert all(set(n) == {"nn", "nb"} and all(n.values()) for n in names.values())


def test_input_sentences_follow_what_the_run_received(tmp_path, case):
    plan, municipalities, _ = case
    allocation = case_2022.allocation_2022(plan, municipalities)
    manifest = case_2022.manifest_for(plan, allocation)
    manifest["submissions"] = {**manifest["submissions"], "ks": None, "county_recommendations": 0}
    render(tmp_path, case, allocation, manifest=manifest)
    text = letter(tmp_path, case_2022.ALVER)
    assert "innspel frå fylkeskommunane" not in text and "(KS) har gitt" not in text
    manifest["submissions"]["ks"] = {"agrees": False}
    render(tmp_path, case, allocation, manifest=manifest)
    assert "Kommunesektorens organisasjon (KS) har gitt innspel til fordelinga." in letter(tmp_path, case_2022.ALVER)


def test_oslo_is_its_own_county_authority_and_gets_no_county_copy(default):
    tmp_path = default[2]
    oslo = letter(tmp_path, "0301")
    assert "Kommunesektorens organisasjon - KS" in oslo and "fylkeskommune" not in oslo.split("Kopimottakere")[1]
    assert "Vestland fylkeskommune" in letter(tmp_path, case_2022.ALVER)


def test_municipal_em_number_is_stated_when_the_allocation_has_one(tmp_path, case):
    plan, municipalities, _ = case
    allocation = case_2022.allocation_2022(plan, municipalities)
    allocation["em_request"] = 0
    allocation.loc[allocation["kommunenummer"] == case_2022.ALVER, "em_request"] = 4
    render(tmp_path, case, allocation)
    request = request_of(allocation, case_2022.ALVER)
    assert f"busetter {request} flyktningar i 2022. Av desse ber IMDi om at 4 er einslege mindreårige." in letter(
        tmp_path, case_2022.ALVER)
    assert "er einslege mindreårige." not in letter(tmp_path, "4621")  # Voss: em_request 0


def numbers_in(text: str) -> list[int]:
    """Every number as a reader sees it (5 500 with a no-break space is one number)."""
    return [int(n.replace(NBSP, "")) for n in re.findall(rf"\d+(?:{NBSP}\d{{3}})*", text)]


def allowed_numbers(plan, raw: dict) -> set[int]:
    """Numbers a letter may show besides its municipality's own: the plan's, dates, the config's."""
    allowed = {plan.year, plan.year - 1, plan.year + 1, plan.need_persons, plan.minimum_request, 141, 30, 15}
    for key in ("letter_date", "reply_deadline"):
        allowed.update(int(p) for p in raw[key].split("-"))
    allowed.update(numbers_in(yaml.safe_dump(raw, allow_unicode=True).replace(" 000", f"{NBSP}000")))
    return allowed


@pytest.mark.parametrize("replan", [False, True], ids=["plan", "replan"])
def test_no_letter_shows_a_number_that_differs_from_the_allocation(tmp_path, case, replan):
    plan, municipalities, _ = case
    allocation = replan_allocation(plan, municipalities) if replan else case_2022.allocation_2022(plan, municipalities)
    allocation["em_request"] = (allocation["request"] // 25).clip(upper=6)
    render(tmp_path, case, allocation)
    general = allowed_numbers(plan, raw_config())
    for row in allocation[allocation["request"] > 0].to_dict("records"):
        row = pd.Series(row)
        text = letter(tmp_path, row.kommunenummer).split(ATTACHMENT)[0]
        stated = re.search(rf"kommune bu?o?setter (\d+(?:{NBSP}\d{{3}})*) flyktning", text).group(1)
        assert int(stated.replace(NBSP, "")) == row.request, row.kommunenummer
        own = {row.request} | ({row.em_request} if row.em_request else set())
        if replan:
            own |= {row.previous, abs(row.change)} if row.previous else {row.change}
        strays = [n for n in numbers_in(text) if n not in own | general]
        assert not strays, (row.kommunenummer, strays)


def replan_allocation(plan, municipalities):
    allocation = case_2022.allocation_2022(plan, municipalities)
    previous = allocation["request"].copy()
    new = previous * 6 + 10
    new[allocation["kommunenummer"] == "4601"] = previous[allocation["kommunenummer"] == "4601"]  # unchanged
    return allocation.assign(previous=previous, request=new, change=new - previous)


def test_replan_letter_states_the_new_number_and_the_change(tmp_path, case):
    plan, municipalities, _ = case
    plan_03 = dataclasses.replace(plan, name="2022-03")
    allocation = replan_allocation(plan, municipalities)
    render(tmp_path, case, allocation, plan_03)
    row = allocation.set_index("kommunenummer").loc[case_2022.ALVER]
    alver = letter(tmp_path, case_2022.ALVER)
    assert f"IMDi bad tidlegare om at Alver kommune busette {row['previous']} flyktningar i 2022" in alver
    assert f"Den nye oppmodinga er {row['request']}, det vil seie {row['change']} fleire enn i den førre" in alver
    assert "Den nye oppmodinga er uendra" in letter(tmp_path, "4601")
    first = allocation[allocation["previous"] == 0].iloc[0]  # not asked before the re-plan
    text = letter(tmp_path, first["kommunenummer"])
    assert f"{first['kommune']} kommune var ikkje med i den førre oppmodinga for 2022" in text \
        or f"{first['kommune']} kommune var ikke med i forrige anmodning for 2022" in text


def test_replan_with_change_that_does_not_match_request_minus_previous_is_refused(tmp_path, case):
    plan, municipalities, _ = case
    allocation = replan_allocation(plan, municipalities)
    allocation.loc[0, "change"] += 1
    with pytest.raises(ValueError, match="change"):
        render(tmp_path, case, allocation)


def load_templates(folder: Path):
    return load_template_files(FileSet(Source.read(p) for p in folder.glob("*")), folder.parent)


def write_yaml(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_unknown_key_in_letter_config_names_file_and_key(tmp_path, case):
    raw = raw_config()
    raw["texts"]["nn"]["sendr"] = "x"
    path = write_yaml(tmp_path / "2022.yaml", raw)
    with pytest.raises(InputError, match=r"2022\.yaml: texts\.nn\.sendr: unknown key"):
        load_letter_config(path, case[0])


def test_letter_config_for_another_plan_is_refused(tmp_path, case):
    path = write_yaml(tmp_path / "2022.yaml", {**raw_config(), "plan": "2023"})
    with pytest.raises(InputError, match="does not match the plan '2022'"):
        load_letter_config(path, case[0])


def test_unknown_placeholder_in_a_letter_text_names_the_key(tmp_path, case):
    raw = raw_config()
    raw["texts"]["nb"]["situation"][1] = "I ${lastyear} skjedde mye."
    path = write_yaml(tmp_path / "2022.yaml", raw)
    with pytest.raises(InputError, match=r"texts\.nb\.situation\[1\]: unknown placeholder \$\{lastyear\}"):
        load_letter_config(path, case[0])


def test_minor_figures_that_disagree_with_the_plan_are_refused(case):
    plan = dataclasses.replace(case[0], unaccompanied_minors=UnaccompaniedMinors(total_persons=150,
                                                                                 placed_by_bufetat_persons=30))
    with pytest.raises(InputError, match="unaccompanied_minors: 141/30 differs from the plan's 150/30"):
        load_letter_config(Path("config/letters/2022.yaml"), plan)


def test_unknown_placeholder_in_a_template_names_the_template(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree("config/templates", folder)
    path = folder / "letter.nn.md"
    path.write_text(path.read_text(encoding="utf-8").replace("${request}", "${reqest}", 1), encoding="utf-8")
    with pytest.raises(InputError, match=r"letter\.nn\.md: part 'letter': unknown placeholder \$\{reqest\}"):
        load_templates(folder)


def test_standards_register_with_an_unknown_value_names_file_row_and_field(tmp_path, case):
    lines = STANDARDS_FILE.read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if text.startswith("4631,"))
    lines[line - 1] = lines[line - 1].replace("Nynorsk", "nynorsk")
    path = tmp_path / STANDARDS_FILE.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"maalform_kommune_2020\.csv:{line}:maalform: unknown written standard "
                                         r"'nynorsk' \(use one of Nynorsk, Bokmål, Nøytral\)"):
        read_standards(path, case[1])


def test_standards_register_without_a_municipality_names_it(tmp_path, case):
    lines = [line for line in STANDARDS_FILE.read_text(encoding="utf-8").splitlines() if not line.startswith("4631,")]
    path = tmp_path / STANDARDS_FILE.name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no row for kommunenummer '4631'"):
        read_standards(path, case[1])


def test_file_names_are_ascii_unique_and_transliterate_norwegian_letters(case):
    municipalities = case[1]
    assert file_stem("4631", "Alver") == "4631-alver"
    assert file_stem("1507", "Ålesund") == "1507-aalesund"
    assert file_stem("3453", "Øystre Slidre") == "3453-oeystre-slidre"
    assert file_stem("1111", "Sokndal - Suohkan Æ") == "1111-sokndal-suohkan-ae"
    assert file_stem("5444", "Sør-Varanger Čáhcesuolu") == "5444-soer-varanger-cahcesuolu"
    stems = [file_stem(c, n) for c, n in municipalities["kommune"].items()]
    assert len(set(stems)) == len(stems)
    assert all(re.fullmatch(r"\d{4}-[a-z0-9-]+", s) for s in stems)
