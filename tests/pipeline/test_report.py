"""The planners' report: tables that add up to the need, a self-contained page, re-plan changes."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import pytest

from pipeline.publish import letters, report
from tests.pipeline.documents_case import allocation_2022, municipalities_2022, plan_2022, settings_for

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MANIFEST = {
    "fingerprint": "0123456789abcdef" * 4,
    "status": "optimal", "sol_status": 1, "gap": 0.0, "objective": 651.9,
    "solver": {"name": "HiGHS", "version": "1.16.0"},
    "criteria": {"used": ["population", "centrality"], "lacked": ["introduction_results"], "unused": ["employment"]},
    "config": {"minimum_request": 10, "granularity_persons": 1,
               "criteria": {"weights": {"population": 0.5, "centrality": 0.3, "introduction_results": 0.2,
                                        "employment": 0.0}}},
}


class Tables(HTMLParser):
    """Cells of every table with an id: {id: [[cell, ...], ...]} (header, body and footer rows)."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag == "table" and "id" in attrs:
            self.current = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self.current is not None:
            self.row = []
            self.current.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def parse(path):
    parser = Tables()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def column(table: list[list[str]], name: str) -> list[int]:
    """Integer cells of one column, header row excluded, footer included last."""
    index = table[0].index(name)
    return [int(row[index].replace("\u202f", "").replace("+", "")) for row in table[1:]]


@pytest.fixture(scope="module")
def case():
    plan = plan_2022()
    municipalities = municipalities_2022(plan)
    return plan, municipalities, settings_for(plan, municipalities)


def write(tmp_path, case, allocation=None):
    plan, municipalities, settings = case
    allocation = allocation_2022(plan, municipalities) if allocation is None else allocation
    written = letters.write_letters(tmp_path, allocation, plan, settings)
    files = sorted(written + report.write_report(tmp_path, allocation, municipalities, plan, MANIFEST, settings,
                                                 written))
    return allocation, files, parse(tmp_path / "report.html")


def test_county_table_sums_to_the_national_need(tmp_path, case):
    plan = case[0]
    allocation, files, page = write(tmp_path, case)
    table = page.tables["county-table"]
    requests = column(table, "request")
    *counties, total = requests
    assert len(counties) == 11
    assert sum(counties) == total == plan.need_persons == 5500
    asked = column(table, "asked")
    assert asked[-1] == sum(asked[:-1]) == int((allocation["request"] > 0).sum())
    # the per-municipality table adds up too
    municipal = [int(r[3].replace("\u202f", "")) for r in page.tables["municipality-table"][1:]]
    assert sum(municipal) == 5500 and len(municipal) == 356
    assert {"report.html", "map.png", "letters/4631-alver.md", "letters/4631-alver.html"} <= set(files)


def test_report_is_self_contained_with_the_map_embedded(tmp_path, case):
    _, _, page = write(tmp_path, case)
    text = re.sub(r'"data:image/png;base64,[A-Za-z0-9+/=]+"', '""', (tmp_path / "report.html").read_text("utf-8"))
    assert not re.search(r"https?:|//[a-z]|<link|@import|url\(", text, re.IGNORECASE)
    images = [u for u in page.urls if u.startswith("data:")]
    assert len(images) == 1 and images[0].startswith("data:image/png;base64,")
    png = base64.b64decode(images[0].split(",", 1)[1])
    assert png.startswith(PNG_SIGNATURE)
    assert png == (tmp_path / "map.png").read_bytes()
    links = [u for u in page.urls if not u.startswith("data:")]
    assert links and all(re.fullmatch(r"letters/\d{4}-[a-z0-9-]+\.html", u) for u in links)
    assert all((tmp_path / u).is_file() for u in links)


def test_criteria_and_rules_come_from_the_manifest(tmp_path, case):
    _, _, page = write(tmp_path, case)
    state = {row[0]: row[2] for row in page.tables["criteria-table"][1:]}
    assert state == {"population": "used", "centrality": "used", "introduction_results": "lacked (no data)",
                     "employment": "unused (weight 0)"}
    rules = {row[0]: row[1] for row in page.tables["rules-table"]}
    assert rules["status"].startswith("optimal") and rules["MIP gap"] == "0"


def test_replan_lists_the_largest_changes_and_county_changes_add_up(tmp_path, case):
    plan, municipalities, _ = case
    allocation = allocation_2022(plan, municipalities)
    previous = allocation["request"].copy()
    new = previous.copy()
    new[allocation["kommunenummer"] == "0301"] += 300  # Oslo +300
    new[allocation["kommunenummer"] == "4631"] += 40  # Alver +40
    new[allocation["kommunenummer"] == "4601"] += 120  # Bergen +120
    allocation = allocation.assign(previous=previous, request=new, change=new - previous)
    _, _, page = write(tmp_path, case, allocation)
    changes = page.tables["changes-table"]
    assert [row[0] for row in changes[1:]] == ["0301 Oslo", "4601 Bergen", "4631 Alver"]
    assert column(changes, "change") == [300, 120, 40]
    county = page.tables["county-table"]
    assert column(county, "change")[-1] == 460
    assert column(county, "request")[-1] == 5500 + 460
    assert column(county, "previous request")[-1] == 5500


def test_deviation_from_county_recommendations(tmp_path, case):
    plan, municipalities, _ = case
    allocation = allocation_2022(plan, municipalities)
    vestland = allocation["fylke"] == "46"
    # Vestland recommends 10 more than requested for each of its asked municipalities; nobody else recommends.
    recommended = (allocation["request"] + 10).where(vestland & (allocation["request"] > 0))
    allocation = allocation.assign(recommended=recommended)
    asked_in_vestland = int((vestland & (allocation["request"] > 0)).sum())
    _, _, page = write(tmp_path, case, allocation)
    county = page.tables["county-table"]
    names = [row[0] for row in county[1:]]
    deviation = dict(zip(names, column(county, "deviation from recommendation")))
    assert deviation["46 Vestland"] == -10 * asked_in_vestland
    assert all(v == 0 for k, v in deviation.items() if k not in ("46 Vestland", "Norway"))
