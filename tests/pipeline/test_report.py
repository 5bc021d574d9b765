"""The planners' report: tables that add up, one offline page, the map, the banner, fairness,
the year before and a re-plan's changes, with or without letters.
(In a real browser: test_report_browser.py.)"""
from __future__ import annotations

import csv
import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from optimiser import rules
from pipeline.publish import letters, report
from pipeline.publish.choropleth import utm33
from tests.pipeline import documents_case as case_2022

HISTORY = "data/imdi_anmodning_vedtak_bosatt_2014_2023_uten_2022.csv"
NBSP = "\u00a0"


class Page(HTMLParser):
    """Cells of every table with an id ({id: [[cell, ...], ...]}), every URL, every map path."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None
        self.urls, self.paths, self.ids = [], [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.ids.add(attrs.get("id"))
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag == "path" and "data-kommunenummer" in attrs:
            self.paths.append(attrs)
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


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    return page


def number(cell: str) -> float:
    return float(cell.replace(NBSP, "").replace("\u202f", "").replace("+", "").replace(",", ".") or "nan")


def column(table: list[list[str]], name: str) -> list[float]:
    """Number cells of one column, header row excluded, footer included last."""
    index = table[0].index(name)
    return [number(row[index]) for row in table[1:]]


@pytest.fixture(scope="module")
def case():
    plan = case_2022.plan_2022()
    municipalities = case_2022.municipalities_2022(plan)
    return plan, municipalities, case_2022.settings_for(plan)


def write(tmp_path, case, allocation=None, manifest=None, settings=None, with_letters=True, tables=None):
    plan, municipalities, base_settings = case
    settings = settings or base_settings
    allocation = case_2022.allocation_2022(plan, municipalities) if allocation is None else allocation
    tables = tables or case_2022.tables_for(plan, allocation)
    manifest = manifest or case_2022.manifest_for(plan, allocation)
    written = letters.write_letters(tmp_path, tables, plan, settings, manifest) if with_letters else []
    files = sorted(written + report.write_report(tmp_path, tables, plan, manifest, settings, written))
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    return allocation, files, text, parse(text)


@pytest.fixture(scope="module")
def with_letters(case, tmp_path_factory):
    """The shared 2022 case written once with its letters: (allocation, files, text, page, folder)."""
    folder = tmp_path_factory.mktemp("report")
    return (*write(folder, case), folder)


def test_county_and_municipality_tables_sum_to_the_national_need(case, with_letters):
    plan = case[0]
    allocation, files, _, page, _ = with_letters
    county = page.tables["county-table"]
    *counties, total = column(county, "anmodning")
    assert len(counties) == 11 and sum(counties) == total == plan.need_persons
    asked = column(county, "anmodet")
    assert asked[-1] == sum(asked[:-1]) == int((allocation["request"] > 0).sum())
    table = page.tables["municipality-table"]
    *rows, footer = table[1:]
    assert len(rows) == 356
    requests = column(table, "anmodning")
    assert sum(requests[:-1]) == requests[-1] == plan.need_persons
    assert footer[0] == "Sum (356 kommuner)"
    assert {"report.html", "letters/4631-alver.md", "letters/4631-alver.html"} <= set(files)
    assert "map.png" not in files


def test_report_is_one_offline_page(with_letters):
    allocation, _, text, page, tmp_path = with_letters
    without_namespace = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?:|//[a-z]|<link|@import|url\(|src=", without_namespace, re.IGNORECASE)
    assert "<script>" in text and "<script src" not in text
    letter_links = [u for u in page.urls if u.startswith("letters/") and u.endswith(".html")]
    assert len(letter_links) == (allocation["request"] > 0).sum() and all((tmp_path / u).is_file() for u in letter_links)
    assert {"allocation.csv", "targets.csv", "explain.csv", "manifest.json"} <= set(page.urls)
    assert "changes.csv" not in page.urls


def test_map_is_one_svg_path_per_municipality_with_its_value(tmp_path, case):
    allocation, _, text, page = write(tmp_path, case, with_letters=False)
    assert re.search(r'<svg xmlns="http://www\.w3\.org/2000/svg" viewBox="0 0 1000 \d+"', text)
    assert len(page.paths) == 356
    by_code = allocation.set_index("kommunenummer")
    for attrs in page.paths:
        row = by_code.loc[attrs["data-kommunenummer"]]
        expected = f"{row['request'] / row['population'] * 1000:.2f}" if row["request"] > 0 else ""
        assert attrs["data-value"] == expected
        assert re.fullmatch(r"(M-?[\d.]+ -?[\d.]+l[-\d. ]+z)+", attrs["d"]), attrs["d"][:80]
    assert 'fill-rule="evenodd"' in text and text.count('data-fylke="') >= 11 + 356


def test_utm33_is_transverse_mercator_on_the_grs80_ellipsoid():
    # On the central meridian: easting 500 000 and northing 0.9996 times the meridian arc, which is
    # integrated here numerically from the ellipsoid's radius of curvature (not Snyder's series).
    a, f = 6378137.0, 1 / 298.257223563
    e2 = f * (2 - f)
    lat = np.linspace(0.0, np.radians(70.0), 200001)
    rho = a * (1 - e2) / (1 - e2 * np.sin(lat) ** 2) ** 1.5
    arc = np.concatenate([[0.0], np.cumsum((rho[1:] + rho[:-1]) / 2 * np.diff(lat))])
    x, y = utm33(np.full(3, 15.0), np.array([0.0, 60.0, 70.0]))
    assert np.allclose(x, 500000.0)
    assert np.allclose(y, 0.9996 * np.interp(np.radians([0.0, 60.0, 70.0]), lat, arc), atol=0.01)
    # Conformal: off the meridian, equal small steps east and north on the ellipsoid scale alike and stay square.
    d, phi = 1e-5, np.radians(63.0)
    n = a / np.sqrt(1 - e2 * np.sin(phi) ** 2)  # prime vertical radius: east step = n cos(phi) dlon
    m = a * (1 - e2) / (1 - e2 * np.sin(phi) ** 2) ** 1.5  # meridian radius: north step = m dlat
    x0, y0 = utm33(9.0, 63.0)
    xe, ye = utm33(9.0 + d * m / (n * np.cos(phi)), 63.0)
    xn, yn = utm33(9.0, 63.0 + d)
    east, north = np.hypot(xe - x0, ye - y0), np.hypot(xn - x0, yn - y0)
    assert east == pytest.approx(north, rel=1e-6)
    assert abs((xe - x0) * (xn - x0) + (ye - y0) * (yn - y0)) < 1e-6 * east * north
    assert utm33(9.0, 63.0)[0] == pytest.approx(1000000 - utm33(21.0, 63.0)[0])  # symmetric about 15° E


def test_banner_only_when_inputs_are_illustrative(tmp_path, case):
    plan, municipalities, _ = case
    allocation = case_2022.allocation_2022(plan, municipalities)
    _, _, text, page = write(tmp_path, case, allocation, with_letters=False)
    assert "illustrative-banner" in page.ids and "Illustrative inndata" in text
    _, _, text, page = write(tmp_path, case, allocation, case_2022.manifest_for(plan, allocation, illustrative=False),
                             with_letters=False)
    assert "illustrative-banner" not in page.ids


def test_fairness_figures_come_from_the_manifest(tmp_path, case):
    plan, municipalities, _ = case
    allocation = case_2022.allocation_2022(plan, municipalities)
    manifest = case_2022.manifest_for(plan, allocation)
    manifest["fairness"] = {**manifest["fairness"], "at_minimum": 7, "median_ratio": 0.981, "largest_ratio": 2.035,
                            "largest_ratio_municipality": "1151 Utsira", "newly_asked": 85,
                            "em_by_county": [{"fylke": "46", "fylkesnavn": "Vestland", "em_request": 13,
                                              "recommended_em": 18, "share": 0.722}]}
    _, _, _, page = write(tmp_path, case, allocation, manifest, with_letters=False)
    rows = {r[0]: r[1] for r in page.tables["fairness-table"]}
    assert rows["anmodet om nøyaktig minstetallet"] == "7"
    assert rows["anmodning ÷ mål, største"] == "2,035 (1151 Utsira)"
    assert rows["nye kommuner (ikke anmodet i forrige plan)"] == "85"
    assert page.tables["em-table"][1] == ["46 Vestland", "13", "18", "72\u00a0%"]


def test_comparison_with_imdis_real_requests_of_the_year_before(tmp_path, case):
    plan = case[0]
    _, _, _, page = write(tmp_path, case, with_letters=False)
    with open(HISTORY, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if int(r["aar"]) == plan.year - 1]
    real = sum(float(r["anmodning"]) for r in rows)
    table = page.tables["previous-year-table"]
    assert table[0][2] == f"anmodning {plan.year - 1}"
    assert column(table, f"anmodning {plan.year - 1}")[-1] == real
    assert column(table, f"anmodet {plan.year - 1}")[-1] == sum(1 for r in rows if float(r["anmodning"]) > 0)
    municipal = page.tables["municipality-table"]
    assert column(municipal, f"anmodning {plan.year - 1} (IMDi)")[-1] == real


def test_report_without_a_letter_config(tmp_path, case):
    plan, municipalities, settings = case
    bare = dataclasses.replace(settings, letters=None, standards=None)
    _, files, text, page = write(tmp_path, case, settings=bare, with_letters=False)
    assert files == ["report.html"]
    assert len(page.tables["municipality-table"]) == 358 and len(page.paths) == 356
    assert not [u for u in page.urls if u.startswith("letters/")]


def test_replan_shows_the_change_by_reason_the_largest_changes_and_the_declined_quotas(tmp_path, case):
    plan, municipalities, _ = case
    allocation = case_2022.allocation_2022(plan, municipalities)
    previous = allocation["request"].copy()
    new = previous.copy()
    code = allocation["kommunenummer"]
    new[code == "0301"] += 300
    new[code == "4601"] += 120
    new[code == "4631"] -= 5
    new[code == "4621"] += 5
    parts = {p: 0 for p in ("declined", "newly_asked", "need_rose", "extra_capacity", "shortfall_received", "need_fell")}
    allocation = allocation.assign(previous=previous, request=new, change=new - previous, **{
        f"change_{p}": 0 for p in parts})
    allocation["change_extra_capacity"] = (new - previous).clip(lower=0).where(code != "4621", 0)
    allocation.loc[code == "4621", "change_shortfall_received"] = 5
    allocation.loc[code == "4631", "change_declined"] = -5
    allocation["change_reason"] = ""
    allocation.loc[code == "0301", "change_reason"] = "extra capacity"
    allocation.loc[code == "4631", "change_reason"] = "declined"
    tables = dataclasses.replace(case_2022.tables_for(plan, allocation), shortfalls=pd.DataFrame(
        {"origin": ["4631"], "receiver": ["4621"], "persons": [5], "minutes": [48.4], "within_reach": [True]}))
    _, _, _, page = write(tmp_path, case, allocation, tables=tables, with_letters=False)
    changes = page.tables["changes-table"]
    assert [row[0] for row in changes[1:4]] == ["0301 Oslo", "4601 Bergen", "4621 Voss"]
    assert changes[1][-1] == "ekstra kapasitet"  # explain's English reason in bokmål
    parts_table = {r[0]: number(r[2]) for r in page.tables["change-parts-table"][1:]}
    assert parts_table["endring i alt"] == 420 and parts_table["vedtok færre"] == -5
    assert page.tables["shortfalls-table"][1] == ["4631 Alver", "4621 Voss", "5", "48", "ja"]
    assert column(page.tables["county-table"], "endring")[-1] == 420
    assert {"changes.csv", "shortfalls.csv"} <= set(page.urls)


def test_every_limit_explain_names_has_a_bokmal_name():
    labels = {rule.binds_as for rule in rules.RULES.values() if rule.binds_as}
    assert labels | {"access rule", "KS exclusion", "not eligible"} <= set(report.LIMITS)


def test_why_a_municipality_is_not_asked():
    row = {"request": 0, "excluded_by": "access"}
    assert report.not_asked_reason(row, "access rule", 90.0) == "ingen videregående skole innen 90 minutter (tilgangsregelen)"
    assert report.not_asked_reason({"request": 0, "excluded_by": "ks_exclusion"}, "", 90) == "unntatt etter innspill fra KS"
    assert report.not_asked_reason({"request": 0, "excluded_by": None}, "complex-health capacity", 90) == (
        "kapasitet for sammensatte helsebehov")
    assert report.not_asked_reason({"request": 0, "excluded_by": float("nan")}, "", 90) == "målet er for lite til minstetallet"
    assert report.not_asked_reason({"request": 12, "excluded_by": None}, "minimum size", 90) == ""
