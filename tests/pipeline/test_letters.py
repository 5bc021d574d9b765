"""Request letters: every fact of the real 2022 letter to Alver, the written standard,
and no number in any letter that differs from the allocation."""
from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from optimiser.plan import UnaccompaniedMinors
from pipeline.errors import InputError
from pipeline.inputs.source import FileSet, Source
from pipeline.inputs.standards import read_standards as load_standards
from pipeline.inputs.standards import standard_for
from pipeline.plans.letters import read_letter_config as load_letter_config
from pipeline.publish.documents import file_stem
from pipeline.publish.documents import load_templates as load_template_files
from pipeline.publish.letters import write_letters
from tests.pipeline.documents_case import ALVER, allocation_2022, municipalities_2022, plan_2022, settings_for

NBSP = "\u00a0"
MONTHS = {12: "desember", 3: "mars", 11: "november"}
NYNORSK_ONLY = ("flyktningar", "ikkje", "einslege", "kommunane")
BOKMAL_ONLY = ("flyktninger", "ikke ", "enslige", "kommunene")


@pytest.fixture(scope="module")
def case():
    plan = plan_2022()
    municipalities = municipalities_2022(plan)
    return plan, municipalities, settings_for(plan, municipalities)


def render(tmp_path, case, allocation=None, plan=None):
    base_plan, municipalities, settings = case
    plan = plan or base_plan
    allocation = allocation_2022(base_plan, municipalities) if allocation is None else allocation
    files = write_letters(tmp_path, allocation, plan, settings)
    return allocation, files


def letter(tmp_path, code: str) -> str:
    (path,) = (tmp_path / "letters").glob(f"{code}-*.md")
    return path.read_text(encoding="utf-8")


def raw_config(name: str = "2022") -> dict:
    return yaml.safe_load(Path(f"config/letters/{name}.yaml").read_text(encoding="utf-8"))


def long_date(iso: str) -> str:
    year, month, day = (int(p) for p in iso.split("-"))
    return f"{day}. {MONTHS[month]} {year}"


def test_alver_letter_states_every_fact_of_the_2022_letter_in_nynorsk(tmp_path, case):
    render(tmp_path, case)
    text = letter(tmp_path, ALVER)
    raw = raw_config()
    facts = [
        "ber IMDi om at Alver kommune busetter 28 flyktningar i 2022",  # the request
        f"rekna til 5{NBSP}500 personar",  # national need ...
        "svært usikkert",  # ... and why it is uncertain
        "overføringsflyktningar",
        "Kunnskapsdepartementet har fastsett kriteria",  # the ministry's criteria
        "styrt og spreidd",
        "introduksjonsprogrammet",
        "vidaregåande opplæring",
        "færre enn 10 personar",
        "i samråd med KS, etter innspel frå fylkeskommunane",  # county authorities and KS
        f"Av dei 5{NBSP}500 personane er 141 einslege mindreårige",  # EM nationally
        "Av desse er 30 under 15 år, og dei blir busette av Bufetat",
        "Plassar som ikkje blir nytta i 2022, blir ikkje overførte til 2023",  # no carry-over
        "busette etter nyttår, tel med på vedtaket for 2023",
        "Vedtaket må tydeleg seie kor mange flyktningar kommunen vil busetje i 2022",
        "Det må ikkje omfatte familiesameinte, og det må ikkje ha andre atterhald",
        "kor mange fleire kommunen kan busetje dersom behovet aukar",  # more if the need grows
        "samansette helseutfordringar",  # complex health needs
        f"svar innan {long_date(raw['reply_deadline'])}",  # deadline (illustrative in the config)
        f"Vedtaket skal sendast til {raw['decision_address']}",
        "integreringstilskot",  # grants
        "Med helsing",
    ]
    missing = [f for f in facts if f not in text]
    assert not missing, missing
    for signatory in raw["signatories"]:
        assert f"{signatory['name']} (illustrativt)  \n{signatory['title']['nn']}" in text
    assert "(illustrativt)" in text.split("svar innan")[1].split("\n")[0]  # the stand-in deadline says so
    for word in BOKMAL_ONLY:
        assert word not in text, word
    assert "av desse er einslege mindreårige" not in text  # no em_request column: no municipal EM sentence


def test_municipal_em_number_is_stated_when_the_allocation_has_one(tmp_path, case):
    plan, municipalities, _ = case
    allocation = allocation_2022(plan, municipalities)
    allocation["em_request"] = 0
    allocation.loc[allocation["kommunenummer"] == ALVER, "em_request"] = 4
    render(tmp_path, case, allocation)
    assert "busetter 28 flyktningar i 2022. IMDi ber om at 4 av desse er einslege mindreårige." in letter(tmp_path, ALVER)
    assert "av desse er einslege mindreårige" not in letter(tmp_path, "4601")  # em_request 0


@pytest.mark.parametrize("code, name", [("4601", "Bergen"), ("0301", "Oslo"), ("1505", "Kristiansund")])
def test_bokmal_municipality_gets_a_bokmal_letter(tmp_path, case, code, name):
    allocation, _ = render(tmp_path, case)
    request = int(allocation.set_index("kommunenummer").loc[code, "request"])
    text = letter(tmp_path, code)
    assert f"ber IMDi om at {name} kommune bosetter {request:,} flyktninger i 2022".replace(",", NBSP) in text
    assert "Med hilsen" in text and "ikke blir brukt i 2022" in text and "familiegjenforente" in text
    for word in NYNORSK_ONLY:
        assert word not in text, word


def test_standard_is_the_county_default_unless_the_municipality_overrides_it(case):
    _, municipalities, settings = case
    chosen = standard_for(settings.standards, municipalities)
    expected = {"4631": "nn", "4621": "nn", "4601": "nb", "0301": "nb", "1505": "nb", "1577": "nn",
                "3825": "nn", "3401": "nb"}  # Alver, Voss, Bergen, Oslo, Kristiansund, Volda, Vinje, Kongsvinger
    assert {code: chosen[code] for code in expected} == expected
    assert chosen.notna().all() and set(chosen) <= {"nn", "nb"}


def test_one_letter_per_municipality_asked_in_markdown_and_html(tmp_path, case):
    allocation, files = render(tmp_path, case)
    asked = allocation.loc[allocation["request"] > 0, "kommunenummer"]
    stems = {Path(f).stem for f in files}
    assert {s[:4] for s in stems} == set(asked)
    assert len(stems) == len(asked)
    assert len(files) == 2 * len(asked)
    page = (tmp_path / "letters" / "4631-alver.html").read_text(encoding="utf-8")
    assert '<html lang="nn">' in page
    assert "<h1>Oppmoding om busetjing av flyktningar i 2022</h1>" in page
    assert "<li>kor mange fleire kommunen kan busetje dersom behovet aukar, og</li>" in page
    assert "N.N. (illustrativt)<br>\navdelingsdirektør" in page
    assert "ber IMDi om at Alver kommune busetter 28 flyktningar i 2022" in page
    assert "http" not in page


def numbers_in(text: str) -> list[int]:
    """Every number as a reader sees it (5 500 with a no-break space is one number)."""
    return [int(n.replace(NBSP, "")) for n in re.findall(rf"\d+(?:{NBSP}\d{{3}})*", text)]


def allowed_numbers(plan, raw: dict) -> set[int]:
    """Numbers a letter may show besides its municipality's own: the plan's, dates, config prose."""
    allowed = {plan.year, plan.year + 1, plan.need_persons, plan.minimum_request, 141, 30, 15}
    for key in ("letter_date", "reply_deadline"):
        allowed.update(int(p) for p in raw[key].split("-"))
    allowed.update(numbers_in(yaml.safe_dump(raw["texts"], allow_unicode=True).replace(" 000", f"{NBSP}000")))
    return allowed


@pytest.mark.parametrize("replan", [False, True], ids=["plan", "replan"])
def test_no_letter_shows_a_number_that_differs_from_the_allocation(tmp_path, case, replan):
    plan, municipalities, _ = case
    allocation = replan_allocation(plan, municipalities) if replan else allocation_2022(plan, municipalities)
    allocation["em_request"] = (allocation["request"] // 25).clip(upper=6)
    render(tmp_path, case, allocation)
    general = allowed_numbers(plan, raw_config())
    for row in allocation[allocation["request"] > 0].to_dict("records"):
        row = pd.Series(row)
        text = letter(tmp_path, row.kommunenummer)
        stated = re.search(rf"kommune bu?o?setter (\d+(?:{NBSP}\d{{3}})*) flyktning", text).group(1)
        assert int(stated.replace(NBSP, "")) == row.request, row.kommunenummer
        own = {row.request} | ({row.em_request} if row.em_request else set())
        if replan:
            own |= {row.previous, abs(row.change)} if row.previous else {row.change}
        strays = [n for n in numbers_in(text) if n not in own | general]
        assert not strays, (row.kommunenummer, strays)
        if row.em_request:
            assert re.search(rf"ber om at {row.em_request} av d[ei]sse er (einslege|enslige) mindreårige", text)


def replan_allocation(plan, municipalities):
    allocation = allocation_2022(plan, municipalities)
    previous = allocation["request"].copy()
    new = previous * 6 + 10
    new[allocation["kommunenummer"] == "4601"] = previous[allocation["kommunenummer"] == "4601"]  # unchanged
    return allocation.assign(previous=previous, request=new, change=new - previous)


def test_replan_letter_states_the_new_number_and_the_change(tmp_path, case):
    plan, municipalities, _ = case
    plan_03 = dataclasses.replace(plan, name="2022-03")
    allocation = replan_allocation(plan, municipalities)
    render(tmp_path, case, allocation, plan_03)
    alver = letter(tmp_path, ALVER)
    assert "IMDi bad tidlegare om at Alver kommune busette 28 flyktningar i 2022" in alver
    assert "Den nye oppmodinga er 178, det vil seie 150 fleire enn i den førre oppmodinga" in alver
    assert "ber IMDi om at Alver kommune busetter 178 flyktningar i 2022" in alver
    bergen = letter(tmp_path, "4601")
    assert "Den nye anmodningen er uendret" in bergen
    first = allocation[allocation["previous"] == 0].iloc[0]  # not asked before the re-plan
    text = letter(tmp_path, first["kommunenummer"])
    assert f"{first['kommune']} kommune var ikkje med i den førre oppmodinga for 2022" in text \
        or f"{first['kommune']} kommune var ikke med i forrige anmodning for 2022" in text
    assert " 0 " not in text


def test_replan_with_change_that_does_not_match_request_minus_previous_is_refused(tmp_path, case):
    plan, municipalities, _ = case
    allocation = replan_allocation(plan, municipalities)
    allocation.loc[0, "change"] += 1
    with pytest.raises(ValueError, match="change"):
        render(tmp_path, case, allocation)


def test_letter_config_for_the_march_2022_replan_loads(case):
    plan = dataclasses.replace(case[0], name="2022-03", need_persons=35000, unaccompanied_minors=None)
    config = load_letter_config(Path("config/letters/2022-03.yaml"), plan)
    assert config.reply_deadline == "2022-03-31"
    assert all(s.illustrative for s in config.signatories)


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


def test_minor_figures_that_disagree_with_the_plan_are_refused(tmp_path, case):
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


def test_standards_file_without_a_county_default_names_the_county(tmp_path, case):
    lines = Path("data/malform.csv").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "malform.csv"
    path.write_text("\n".join(line for line in lines if not line.startswith("county,54")) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="county 54 has no default row"):
        load_standards(path, case[1])


def test_standards_file_with_an_unknown_standard_names_the_line(tmp_path, case):
    text = Path("data/malform.csv").read_text(encoding="utf-8").replace("municipality,4631,Alver,nn",
                                                                         "municipality,4631,Alver,nynorsk")
    path = tmp_path / "malform.csv"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("municipality,4631,Alver,nynorsk") + 1
    with pytest.raises(InputError, match=rf"malform\.csv:{line}:standard: unknown standard 'nynorsk'"):
        load_standards(path, case[1])


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
