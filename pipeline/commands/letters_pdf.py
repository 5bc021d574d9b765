"""``python -m pipeline letters-pdf --plan 2022``: the letters of a published run as PDF.

Reads ``<out>/<plan>/`` (a run ``allocate`` or ``reallocate`` published) and writes
``<out>/<plan>/pdf/`` atomically: ``all-letters.pdf`` and one file per letter
(``pipeline.publish.pdf``).  A plain command, not a Luigi task: it depends on one
finished run folder only, does one print in one browser process, and leaves
nothing a scheduler could share or resume; publishing the plan again replaces
the run folder, PDFs included, so stale PDFs never outlive their letters.
Exit 2 with one line when the run, its letters or the browser engine is missing.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.commands import flags
from pipeline.errors import InputError
from pipeline.plans.load import check_name
from pipeline.publish.files import atomic_folder
from pipeline.publish.manifest import MANIFEST, read_manifest
from pipeline.publish.pdf import ALL_LETTERS, CHROMIUM, PDF_DIR, EngineMissing, write_pdfs


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_plan(p)
    p.add_argument("--out", default="out", help="output root; reads and writes <out>/<plan>/ (default out)")
    p.add_argument("--chromium", default=str(CHROMIUM), help=f"the Chromium executable (default {CHROMIUM})")


def run(args: argparse.Namespace) -> int:
    plan = check_name(args.plan, "--plan", "plan")
    out = Path(args.out)
    folder = out / plan
    manifest_path = folder / MANIFEST
    manifest = read_manifest(manifest_path)
    if manifest is None:
        raise InputError(str(manifest_path), "no published run", f"run make allocate PLAN={plan} first")
    start = time.perf_counter()
    counts = {}

    def write(staging: Path) -> None:
        counts.update(write_pdfs(staging, folder, manifest, Path(args.chromium)))

    try:
        atomic_folder(out, folder / PDF_DIR, write)
    except EngineMissing as exc:
        print(f"letters-pdf: skipped, {exc}", file=sys.stderr)
        return 2
    print(f"letters-pdf: {counts['letters']} letters in {folder / PDF_DIR}/ ({ALL_LETTERS} for printing, "
          f"{counts['bytes'] / 1e6:.1f} MB, and one file per letter) in {time.perf_counter() - start:.1f} s")
    return 0
