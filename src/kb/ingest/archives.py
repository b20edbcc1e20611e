"""Zip-based formats (.docx, .ofd) are bounded before anything is inflated: the declared sizes of their
parts, past which Python's zipfile never inflates a part, are summed first, and a file whose parts come
to more than MAX_UNPACKED_BYTES is refused by name. A 1 MB .docx whose image inflates to 1 GB would
otherwise be read whole into memory."""

from __future__ import annotations

import zipfile
from pathlib import Path

from kb.ingest.errors import IngestError

MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def check_unpacked_size(path: Path) -> None:
    """IngestError ``archive_too_large`` when the parts unpack to more than kb reads from one file; a file
    that is not a zip at all is left for its loader to name."""
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    if total > MAX_UNPACKED_BYTES:
        raise IngestError(path, "archive_too_large", size_mb=f"{total / 1e6:.0f}",
                          limit_mb=f"{MAX_UNPACKED_BYTES / 1024 / 1024:.0f}")
