from __future__ import annotations

from kb.reasons import KbError, Reason


class IngestError(KbError, ValueError):
    """A file cannot be read as a document: its path and a coded reason (kb.reasons words it, in
    English here and for the CLI, in Chinese on the page)."""

    def __init__(self, path, code: str, note: str = "", **facts):
        self.path = str(path)
        self.reason = Reason(code=code, facts={name: str(value) for name, value in facts.items()})
        super().__init__(f"{self.path}: {self.reason.english()}" + (f" ({note})" if note else ""))
