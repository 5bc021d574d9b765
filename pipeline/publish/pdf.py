"""The letters as PDF: one file per letter and one with all of them, for printing.

Made from the run's own letter pages (``letters/*.html``, each checked against
the SHA-256 the manifest records), by a real browser engine: the sections of
all letters are put into one HTML document (CSS page breaks between letters,
``@page`` A4, each letter's title its only ``<h1>``), headless Chromium prints
it once through Playwright (``page.pdf`` with a tagged outline), and the
printed file is split per letter at its top-level outline entries, whose count
and titles must equal the letters'.  One print instead of 271 keeps it to a few
seconds.  The creation and modification dates Chromium stamps in the combined
file are set to a fixed value (same length, so the cross-reference offsets stay
valid): a rerun on the same run folder writes the same bytes.
"""
from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError
from pipeline.publish.documents import LETTERS_DIR

PDF_DIR = "pdf"
ALL_LETTERS = "all-letters.pdf"
CHROMIUM = Path("/usr/bin/chromium")
FIXED_DATE = b"20000101000000"
DATE_FIELD = re.compile(rb"/(CreationDate|ModDate) \(D:(\d{14})")
SECTION = re.compile(r'<section class="letter"[^>]*>.*?</section>', re.DOTALL)
TITLE = re.compile(r"<h1>(.*?)</h1>", re.DOTALL)


class EngineMissing(RuntimeError):
    """No browser engine (or no Playwright / pypdf) to print with: one line for the planner."""


@dataclass(frozen=True)
class LetterPage:
    stem: str
    title: str  # the letter's <h1> as text
    section: str  # its <section class="letter"> ... </section>


def letter_pages(folder: Path, manifest: dict) -> tuple[str, list[LetterPage]]:
    """(the first page's HTML, every letter page the manifest lists, by file name), each checked
    against its recorded SHA-256."""
    folder = Path(folder)
    outputs = manifest.get("outputs") or {}
    names = sorted(n for n in outputs if n.startswith(f"{LETTERS_DIR}/") and n.endswith(".html"))
    if not names:
        raise InputError(str(folder / "manifest.json"), "the run has no letters",
                         f"add config/letters/{manifest.get('plan', folder.name)}.yaml and run the plan again")
    pages, first = [], ""
    for name in names:
        path = folder / name
        if not path.is_file():
            raise InputError(str(path), "missing, though the manifest lists it", "run the plan again")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != outputs[name]:
            raise InputError(str(path), "differs from the SHA-256 the manifest records", "run the plan again")
        text = data.decode("utf-8")
        section, title = SECTION.search(text), TITLE.search(text)
        if section is None or title is None:
            raise InputError(str(path), "no <section class=\"letter\"> with an <h1>",
                             "letter pages come from config/templates/letter.html; run the plan again")
        first = first or text
        pages.append(LetterPage(stem=Path(name).stem, title=plain(title.group(1)), section=section.group(0)))
    return first, pages


def plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def combined_html(first_page: str, pages: list[LetterPage], title: str) -> str:
    """One document with every letter: the first letter page's head (its CSS), all sections in order."""
    head = first_page[:first_page.index("<body>")]
    head = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", head, flags=re.DOTALL)
    return head + "<body>\n" + "\n".join(p.section for p in pages) + "\n</body>\n</html>\n"


def print_pdf(document: str, chromium: Path = CHROMIUM) -> bytes:
    """Print ``document`` with headless Chromium (the system's, started by Playwright)."""
    if not Path(chromium).is_file():
        raise EngineMissing(f"{chromium} not found: install Chromium (apt-get install chromium) to make PDFs")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise EngineMissing("Playwright is not installed: pip install -e '.[pdf]' (make letters-pdf does)") from None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=["--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_content(document, wait_until="load")
            pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True, outline=True, tagged=True)
        finally:
            browser.close()
    return fixed_dates(pdf)


def fixed_dates(pdf: bytes) -> bytes:
    """The combined file's /CreationDate and /ModDate set to a fixed stamp of the same length."""
    return DATE_FIELD.sub(lambda m: b"/%s (D:%s" % (m[1], FIXED_DATE), pdf)


def split_pdf(pdf: bytes, titles: list[str]) -> list[bytes]:
    """One PDF per letter, cut at the top-level outline entries (one per <h1>)."""
    try:
        from pypdf import PdfReader, PdfWriter
    except ImportError:
        raise EngineMissing("pypdf is not installed: pip install -e '.[pdf]' (make letters-pdf does)") from None
    reader = PdfReader(io.BytesIO(pdf))
    starts = [(reader.get_destination_page_number(entry), str(entry.title))
              for entry in reader.outline if not isinstance(entry, list)]
    printed = [squeeze(t) for _, t in starts]  # a title that wraps loses its space in the outline
    if printed != [squeeze(t) for t in titles]:
        first = next((i for i, (a, b) in enumerate(zip(printed, titles)) if a != squeeze(b)), min(len(printed), len(titles)))
        raise RuntimeError(f"the printed outline has {len(starts)} letters, expected {len(titles)}; "
                           f"they differ from letter {first + 1} on")
    bounds = [page for page, _ in starts] + [len(reader.pages)]
    out = []
    for start, end in zip(bounds, bounds[1:]):
        writer = PdfWriter()
        for number in range(start, end):
            writer.add_page(reader.pages[number])
        buffer = io.BytesIO()
        writer.write(buffer)
        out.append(buffer.getvalue())
    return out


def squeeze(text: str) -> str:
    return "".join(text.split())


def write_pdfs(folder: Path, run: Path, manifest: dict, chromium: Path = CHROMIUM) -> dict:
    """Print the letters of run folder ``run`` into ``folder``: ``all-letters.pdf`` and
    ``<stem>.pdf`` per letter.  Returns counts for the summary line."""
    first, pages = letter_pages(run, manifest)
    combined = print_pdf(combined_html(first, pages, f"Brev for plan {manifest.get('plan', '')}"), chromium)
    singles = split_pdf(combined, [p.title for p in pages])
    folder = Path(folder)
    (folder / ALL_LETTERS).write_bytes(combined)
    for page, data in zip(pages, singles):
        (folder / f"{page.stem}.pdf").write_bytes(data)
    return {"letters": len(pages), "bytes": len(combined)}
