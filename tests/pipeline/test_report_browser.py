"""The report in a real browser: headless Chromium opens ``report.html`` from disk with the
network blocked; sorting and filtering work, totals match ``allocation.csv``, nothing leaves
the page and the console stays clean.  A screenshot of each page is kept in the test's
tmp folder.  Locally the tests skip without /usr/bin/chromium; CI installs it and sets
BUSETTING_REQUIRE_BROWSER=1, which turns the skip into a failure."""
from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

from pipeline.publish.run_folder import write_documents
from tests.factories import real_inputs

NBSP = "\u00a0"


def allocation_rows(folder: Path) -> list[dict]:
    with (folder / "allocation.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def number(text: str) -> float:
    return float(text.replace(NBSP, "").replace("\u202f", "").replace(" ", "").replace("+", "").replace(",", "."))


def open_report(page, path: Path, tmp_path: Path, name: str):
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    return page


def header_index(page, title: str) -> int:
    heads = page.locator("#municipality-table thead th").all_inner_texts()
    return [h.replace("▲", "").replace("▼", "").strip() for h in heads].index(title)


def visible_column(page, index: int) -> list[str]:
    return page.locator(f"#municipality-table tbody tr:visible td:nth-child({index + 1})").all_inner_texts()


def footer_cell(page, index: int) -> str:
    return page.locator(f"#municipality-table tfoot td:nth-child({index + 1})").inner_text()


def assert_clean(page):
    assert page.errors == [], page.errors
    assert page.attempted == [], page.attempted


def test_sort_and_filter_the_2022_report_against_allocation_csv(page, published, tmp_path):
    folder = published("2022")
    rows = allocation_rows(folder)
    open_report(page, folder / "report.html", tmp_path, "report-2022")
    assert page.locator("#municipality-table tbody tr:visible").count() == 356
    assert page.locator("#illustrative-banner").is_visible()
    assert page.locator("svg path[data-kommunenummer]").count() == 356

    request = header_index(page, "anmodning")
    page.locator("#municipality-table thead th").nth(request).click()  # numbers: largest first
    shown = [number(v) for v in visible_column(page, request)]
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == max(int(r["request"]) for r in rows)
    page.locator("#municipality-table thead th").nth(request).click()  # again: smallest first
    shown = [number(v) for v in visible_column(page, request)]
    assert shown == sorted(shown)

    vestland = [r for r in rows if r["fylke"] == "46"]
    page.select_option("#county-filter", "46")
    assert page.locator("#municipality-table tbody tr:visible").count() == len(vestland)
    assert page.locator("#visible-count").inner_text() == str(len(vestland))
    assert number(footer_cell(page, request)) == sum(int(r["request"]) for r in vestland)
    assert number(footer_cell(page, header_index(page, "EM"))) == sum(int(r["em_request"]) for r in vestland)

    page.fill("#search", "Alver")
    assert visible_column(page, 0) == ["4631 Alver"]
    alver = next(r for r in rows if r["kommunenummer"] == "4631")
    assert number(footer_cell(page, request)) == int(alver["request"])
    page.fill("#search", "")
    page.select_option("#county-filter", "")
    assert number(footer_cell(page, request)) == sum(int(r["request"]) for r in rows)
    page.screenshot(path=str(tmp_path / "report-2022-used.png"), full_page=False)
    assert_clean(page)


def test_the_replan_report_renders_with_its_changes(page, published, tmp_path):
    folder = published("2022-03")
    rows = allocation_rows(folder)
    open_report(page, folder / "report.html", tmp_path, "report-2022-03")
    for table in ("change-parts-table", "changes-table", "county-table", "previous-year-table"):
        assert page.locator(f"#{table}").is_visible(), table
    change = header_index(page, "endring")
    page.locator("#municipality-table thead th").nth(change).click()
    top = page.locator("#municipality-table tbody tr:visible").first.locator("td").first.inner_text()
    largest = max(rows, key=lambda r: (int(r["change"]), -int(r["kommunenummer"])))
    assert top == f"{largest['kommunenummer']} {largest['kommune']}"
    assert number(footer_cell(page, change)) == sum(int(r["change"]) for r in rows)
    assert_clean(page)


def test_a_plan_without_a_letter_config_still_writes_a_report_that_renders(page, published, tmp_path):
    folder = published("2022")
    inputs = real_inputs("2022")
    bare = dataclasses.replace(inputs, resolved=dataclasses.replace(inputs.resolved, letters=None), standards=None)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert write_documents(tmp_path, folder, bare, manifest) == ["report.html"]  # what Publish writes
    open_report(page, tmp_path / "report.html", tmp_path, "report-without-letters")
    assert page.locator("#municipality-table tbody tr").count() == 356
    assert page.locator("#municipality-table a").count() == 0
    page.select_option("#county-filter", "03")
    assert page.locator("#visible-count").inner_text() == "1"
    assert_clean(page)


def test_a_request_that_tries_to_leave_is_blocked_and_recorded(page):
    page.set_content("<script>fetch('http://example.com/x').catch(e => console.error('blocked: ' + e))</script>"
                     "<img src='https://example.org/a.png'>")
    page.wait_for_timeout(300)
    assert any("example.com" in u for u in page.attempted) and any("example.org" in u for u in page.attempted)
    assert any("blocked" in e for e in page.errors)
