"""Writing files: CSV and JSON in one format, and atomic replacement.

``atomic_folder`` builds a folder complete in a staging folder beside it and
swaps it in with renames, so a failed run never leaves partial output and a
planner never sees a mix of two runs.  ``atomic_file`` does the same for one
file.  Both refuse a destination outside the root they are given: nothing
is ever written, renamed or deleted outside the output folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from pipeline.errors import InputError


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.3f")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    Path(path).write_text(csv_text(frame), encoding="utf-8")


def json_text(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(obj, path: Path) -> None:
    Path(path).write_text(json_text(obj), encoding="utf-8")


def within(root: Path, path: Path) -> Path:
    """``path`` if it lies inside ``root``; an input error otherwise.  The
    folders leading to it are followed through links, its own name is not: a
    link at ``path`` is replaced, never written through."""
    root, path = Path(root), Path(path)
    placed = path.parent.resolve() / path.name
    if path.name in ("", ".", "..") or not placed.is_relative_to(root.resolve()) or placed == root.resolve():
        raise InputError(str(path), f"lies outside the output folder {root}", "pass a plain plan name")
    return path


def _umask() -> int:
    """Temporary files are created private (0600); what is published gets the
    permissions any other file written here would get."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_folder(root: Path, folder: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(staging)`` and swap the staging folder in as ``folder`` (inside ``root``)."""
    folder = within(root, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
    try:
        staging.chmod(0o777 & ~_umask())
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    if folder.is_symlink():
        folder.unlink()
    elif folder.exists():
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def atomic_file(root: Path, path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` (inside ``root``) through a temporary file and a rename."""
    path = within(root, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def listing(folder: Path) -> list[str]:
    """Every file under ``folder``, relative, sorted (what a manifest lists)."""
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def frame_to_json(frame: pd.DataFrame) -> dict:
    """A frame as plain JSON data that reads back with the same index, columns,
    values and dtypes (``frame_from_json``): exact floats, None kept apart from ''."""
    def plain(value):
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return None
        return value.item() if hasattr(value, "item") else value

    return {"index_name": frame.index.name, "index": [plain(v) for v in frame.index],
            "columns": [str(c) for c in frame.columns],
            "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
            "data": [[plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]}


def frame_from_json(obj: dict) -> pd.DataFrame:
    frame = pd.DataFrame(obj["data"], columns=obj["columns"], dtype=object)
    frame.index = pd.Index(obj["index"], name=obj["index_name"], dtype=object)
    for column, dtype in obj["dtypes"].items():
        if dtype != "object":
            frame[column] = frame[column].astype(dtype)
    return frame
