"""Where kb keeps what it can rebuild (the converted model, OCR results, jieba's dictionary in a form
that loads fast): one folder per user, under XDG_CACHE_HOME when it is set. Tests point it at a
folder of their own, so they never write into a user's cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb"


def write_atomically(path: Path, data: bytes) -> None:
    """Write under a temporary name and rename into place: a reader sees the whole file or none, and
    two processes writing the same cache at once both leave a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
