"""``python -m pipeline letters-pdf``: the letters of a published run as PDF, printed by
headless Chromium, one file per letter and one for printing, the same bytes on a rerun;
a missing run, browser or an edited letter stops it with one line (exit 2).

The run is a copy of the session's published plan 2022 trimmed to three letters (two
nynorsk, one bokmål), so one print takes a second or two."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest

from pipeline.__main__ import main

KEEP = ("0301", "4601", "4631")  # Oslo (bokmål), Bergen and Alver (nynorsk)


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def run(published, tmp_path) -> Path:
    """out/2022 with the letters of KEEP only (files and manifest)."""
    folder = tmp_path / "out" / "2022"
    shutil.copytree(published("2022"), folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for name in list(manifest["outputs"]):
        if name.startswith("letters/") and not name[len("letters/"):].startswith(KEEP):
            (folder / name).unlink()
            del manifest["outputs"][name]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def pdf_files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "pdf").iterdir())}


def test_one_pdf_per_letter_and_one_for_printing_the_same_on_a_rerun(run, chromium):
    from pypdf import PdfReader

    status, out, err = cli("letters-pdf", "--plan", "2022", "--out", str(run.parent), "--chromium", str(chromium))
    assert status == 0, err
    assert "3 letters" in out
    files = pdf_files(run)
    assert set(files) == {"all-letters.pdf", "0301-oslo.pdf", "4601-bergen.pdf", "4631-alver.pdf"}
    combined = PdfReader(run / "pdf" / "all-letters.pdf")
    singles = {name: PdfReader(run / "pdf" / name) for name in files if name != "all-letters.pdf"}
    assert sum(len(r.pages) for r in singles.values()) == len(combined.pages)
    first = singles["4631-alver.pdf"].pages[0].extract_text()
    assert "Oppmoding om busetting av" in first and "Alver" in first
    assert "Anmodning om bosetting av" in singles["0301-oslo.pdf"].pages[0].extract_text()
    last = singles["4631-alver.pdf"].pages[-1].extract_text()
    assert "Vedlegg: Anmodningskriterier for 2022" in last  # the attachment, on a page of its own
    assert [str(entry.title) for entry in combined.outline if not isinstance(entry, list)][0].startswith(
        "Anmodning om bosetting")
    status, _, err = cli("letters-pdf", "--plan", "2022", "--out", str(run.parent), "--chromium", str(chromium))
    assert status == 0, err
    assert pdf_files(run) == files  # byte for byte


def test_missing_browser_skips_with_one_line_and_writes_nothing(run):
    status, _, err = cli("letters-pdf", "--plan", "2022", "--out", str(run.parent), "--chromium",
                         str(run / "no-chromium"))
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("letters-pdf: skipped,") and "no-chromium not found" in err
    assert not (run / "pdf").exists()


def test_missing_run_and_edited_letter_name_the_file(run, tmp_path):
    status, _, err = cli("letters-pdf", "--plan", "2022", "--out", str(tmp_path / "empty"))
    assert status == 2 and "manifest.json: no published run" in err
    letter = run / "letters" / "4631-alver.html"
    letter.write_text(letter.read_text(encoding="utf-8").replace("Alver", "Alvær"), encoding="utf-8")
    status, _, err = cli("letters-pdf", "--plan", "2022", "--out", str(run.parent), "--chromium", "/nonexistent")
    assert status == 2 and "4631-alver.html: differs from the SHA-256 the manifest records" in err
    assert not (run / "pdf").exists()
