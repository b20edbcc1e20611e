"""SHA-256 of files read in blocks, so a model's weights or a large corpus never sit in memory whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

_BLOCK = 1 << 20


def feed_file(digest, path: Path) -> None:
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    feed_file(digest, path)
    return digest.hexdigest()
