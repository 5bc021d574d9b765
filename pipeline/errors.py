"""Errors meant for people: one line, what is wrong, where, what to do."""
from __future__ import annotations


class InputError(ValueError):
    """Bad input (config or data file).  The CLI prints it and exits with 2."""

    def __init__(self, where: str, what: str, hint: str = ""):
        self.where = where
        self.what = what
        self.hint = hint
        text = f"{where}: {what}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)
