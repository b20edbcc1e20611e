"""A record of every change to the knowledge base: who, when, which file, its content hash, and
what came of it.

It lives in its own SQLite file beside the index (``audit.sqlite``), so that rebuilding or
restoring the index never rewrites the history of how it got there.
"""

from __future__ import annotations

import datetime as dt
import getpass
import socket
import sqlite3
from pathlib import Path

from pydantic import BaseModel

from kb.reasons import Reason

AUDIT_FILE = "audit.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    detail TEXT NOT NULL
)
"""
# Added later: the detail as a code and its facts (kb.reasons), which the page words in Chinese; and a
# key for entries that may be written twice (kb.index.runlog), which the log then holds once.
_ADDED_COLUMNS = {"reason": "ALTER TABLE audit ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
                  "entry_key": "ALTER TABLE audit ADD COLUMN entry_key TEXT NOT NULL DEFAULT ''"}
_KEY_INDEX = "CREATE UNIQUE INDEX IF NOT EXISTS audit_entry_key ON audit (entry_key) WHERE entry_key != ''"


class AuditEntry(BaseModel):
    at: str
    actor: str
    action: str  # upload, index, remove, restore, backup, set-password
    target: str  # a document id, a file name, a folder
    content_hash: str = ""
    result: str  # added, changed, renamed, removed, failed, duplicate, refused, done, error
    detail: str = ""
    reason: Reason | None = None
    key: str = ""  # "": an entry written once; else the log keeps the first entry of this key


def cli_actor() -> str:
    """Who runs a command in a terminal: the account and the machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli {user}@{socket.gethostname()}"


def record(index_dir: Path, entries: list[AuditEntry]) -> None:
    if not entries:
        return
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with _connect(index_dir) as db:
        db.executemany(
            "INSERT OR IGNORE INTO audit (at, actor, action, target, content_hash, result, detail, reason, entry_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.at, e.actor, e.action, e.target, e.content_hash, e.result, e.detail,
              e.reason.model_dump_json() if e.reason else "", e.key) for e in entries],
        )
    db.close()


def entry(actor: str, action: str, target: str, result: str, content_hash: str = "", detail: str = "",
          reason: Reason | None = None) -> AuditEntry:
    """``reason``: the detail as a code (its English is the detail when none is given)."""
    return AuditEntry(at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), actor=actor, action=action,
                      target=target, content_hash=content_hash, result=result,
                      detail=detail or (reason.english() if reason else ""), reason=reason)


def entries(index_dir: Path, limit: int = 200) -> list[AuditEntry]:
    """The newest first."""
    if not (Path(index_dir) / AUDIT_FILE).exists():
        return []
    # Read as it is, with no schema change: the log reads on a full disk too, and a log older than
    # the reason column reads as entries without one.
    try:
        rows = _newest(sqlite3.connect(Path(index_dir) / AUDIT_FILE, timeout=30), limit)
    except sqlite3.OperationalError:
        # SQLite's shared-memory file cannot be made (a full or read-only disk): read the file as it stands.
        rows = _newest(sqlite3.connect(f"{(Path(index_dir) / AUDIT_FILE).resolve().as_uri()}?immutable=1", uri=True),
                       limit)
    names = ("at", "actor", "action", "target", "content_hash", "result", "detail")
    return [AuditEntry(**dict(zip(names, row[:7])), reason=Reason.model_validate_json(row[7]) if row[7] else None)
            for row in rows]


def _newest(db: sqlite3.Connection, limit: int) -> list[tuple]:
    try:
        reason = "reason" if "reason" in {row[1] for row in db.execute("PRAGMA table_info(audit)")} else "''"
        return db.execute(f"SELECT at, actor, action, target, content_hash, result, detail, {reason} FROM audit"
                          " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    finally:
        db.close()


def _connect(index_dir: Path) -> sqlite3.Connection:
    db = sqlite3.connect(Path(index_dir) / AUDIT_FILE, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(_SCHEMA)
    present = {row[1] for row in db.execute("PRAGMA table_info(audit)")}
    for column, statement in _ADDED_COLUMNS.items():
        if column not in present:
            try:
                db.execute(statement)
            except sqlite3.OperationalError:  # another process added it meanwhile
                pass
    db.execute(_KEY_INDEX)
    return db
