"""One writer per index: an OS file lock in the index folder, holding the writer's pid for the message
a second writer gets. A lock held by a dead process is released by the OS with it, so a killed
`kb index` never leaves a stale lock behind."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from kb.reasons import KbError

LOCK_NAME = "index.lock"


class IndexBusyError(KbError, RuntimeError):
    """Another process is writing this index."""


class WriterLock:
    """One writer per index; a lock held by a dead process is released by the OS with it."""

    def __init__(self, index_dir: Path, wait: bool):
        self.path = Path(index_dir) / LOCK_NAME
        self.wait = wait
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a+")
        flags = fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(self.handle, flags)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            raise IndexBusyError(
                f"index busy: {self.path.parent.resolve()} is being written by pid {holder}; try again or pass --wait"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc):
        self.handle.seek(0)
        self.handle.truncate()
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
