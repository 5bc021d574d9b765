"""Input files read once: the bytes a run parses are the bytes it hashed.

A ``Source`` holds one file's bytes and their SHA-256.  ``FileSet`` is every
file one run reads, keyed by path; readers take sources from it instead of
opening files, so nothing is read twice and nothing changes between hashing
and parsing.  Decoding is strict UTF-8: a byte-order mark is accepted and
dropped, undecodable bytes are reported with file and line.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

BOM = "\ufeff"


@dataclass(frozen=True, eq=False)
class Source:
    path: Path
    data: bytes
    sha256: str

    @classmethod
    def read(cls, path: Path | str, hint: str = "restore it from the repository or supply it") -> Source:
        path = Path(path)
        if not path.is_file():
            raise InputError(str(path), "file not found", hint)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from exc
        return cls(path=path, data=data, sha256=hashlib.sha256(data).hexdigest())

    @classmethod
    def of_text(cls, path: Path | str, text: str) -> Source:
        """A source made in memory (tests, generated files)."""
        data = text.encode("utf-8")
        return cls(path=Path(path), data=data, sha256=hashlib.sha256(data).hexdigest())

    def text(self) -> str:
        """The file as UTF-8 text without a byte-order mark."""
        try:
            text = self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.data[:exc.start].count(b"\n") + 1
            raise InputError(f"{self.path}:{line}", f"not UTF-8: byte 0x{self.data[exc.start]:02x} cannot be decoded",
                             "save the file as UTF-8") from None
        return text[len(BOM):] if text.startswith(BOM) else text


def as_source(source: Source | Path | str) -> Source:
    """``source`` itself, or the file at that path read now."""
    return source if isinstance(source, Source) else Source.read(source)


class FileSet(Mapping[str, Source]):
    """The sources of one run, keyed by ``str(path)`` as the run names them."""

    def __init__(self, sources: Iterable[Source] = ()):
        self._by_path: dict[str, Source] = {}
        for source in sources:
            self._by_path.setdefault(str(source.path), source)

    def __getitem__(self, key: str) -> Source:
        return self._by_path[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_path)

    def __len__(self) -> int:
        return len(self._by_path)

    def get_source(self, path: Path | str, hint: str = "restore it from the repository or supply it") -> Source:
        """The source at ``path``; a file the run did not find is an input error."""
        source = self._by_path.get(str(path))
        if source is None:
            raise InputError(str(path), "file not found", hint)
        return source

    def has(self, path: Path | str) -> bool:
        return str(path) in self._by_path

    def under(self, folder: Path | str, suffix: str = "") -> list[Source]:
        """Sources directly inside ``folder`` whose name ends with ``suffix``, by name."""
        folder = Path(folder)
        found = [s for s in self._by_path.values() if s.path.parent == folder and s.path.name.endswith(suffix)]
        return sorted(found, key=lambda s: s.path.name)

    def hashes(self) -> dict[str, str]:
        return {key: source.sha256 for key, source in self._by_path.items()}
