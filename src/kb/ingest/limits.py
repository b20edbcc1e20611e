"""How much kb takes from one file: bounds that real CPPCC documents stay far inside (a 500-page
yearbook is about 3,000 chunks) and that a crafted file meets early, before it costs memory or time.
Set from Settings (``max_unpacked_mb``, ``max_paragraphs_per_file``, ``max_pages_per_file``) by whoever
indexes, for the loaders it calls; a file past one is refused by name with its reason, and the rest
of the batch is indexed."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from pydantic import BaseModel, ConfigDict

from kb.config import Settings


class IngestLimits(BaseModel):
    model_config = ConfigDict(frozen=True)

    unpacked_bytes: int = 200 * 1024 * 1024  # all parts of a .docx or .ofd, as declared, before inflating
    paragraphs: int = 100_000  # a .docx's paragraphs, counted in its XML before it is parsed
    pages: int = 2_000  # a PDF's or OFD's pages, counted before any is read

    @classmethod
    def of(cls, settings: Settings) -> IngestLimits:
        return cls(unpacked_bytes=settings.max_unpacked_mb * 1024 * 1024,
                   paragraphs=settings.max_paragraphs_per_file, pages=settings.max_pages_per_file)


_DEFAULT = IngestLimits()
_LIMITS: ContextVar[IngestLimits | None] = ContextVar("ingest_limits", default=None)


def current() -> IngestLimits:
    """The bounds of the block this runs in (kb's defaults outside any)."""
    return _LIMITS.get() or _DEFAULT


@contextlib.contextmanager
def limited(limits: IngestLimits):
    """The loaders called inside this block bound their work by ``limits``."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)
