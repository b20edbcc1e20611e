"""What a run leaves on record beside the index: its report (``last-run.json``, the page's status
panel) and its change-log entries (``audit.sqlite``).

A run that commits a generation stores both in the index's meta in the very transaction that commits
it, then writes them out and clears them. If the disk fills in between, they stay in the index and the
next run writes them first: a committed generation is never left unrecorded, and as each entry carries
a key, none is recorded twice.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel

from kb.index import audit
from kb.index.report import IndexReport

LAST_RUN_NAME = "last-run.json"
PENDING_KEY = "pending_records"


class RunRecords(BaseModel):
    report: IndexReport
    entries: list[audit.AuditEntry]


def records_for(report: IndexReport, actor: str | None, action: str) -> RunRecords:
    """The records of a finished run; ``actor`` None (benchmarks, eval indexes) puts nothing in the log.
    Keys name the run by its generation and end, so writing them again adds nothing."""
    entries = [] if actor is None else [
        audit.entry(actor, action, change.doc_id, change.kind, change.content_hash, change.detail, change.reason)
        for change in report.changes
    ]
    for number, item in enumerate(entries):
        item.key = f"{report.generation}@{report.finished_at}#{number}"
    return RunRecords(report=report, entries=entries)


def write_records(index_dir: Path, records: RunRecords) -> None:
    """The report replaces the last one whole (no temporary file is left when that fails), then the
    change log takes the entries it does not hold yet."""
    path = Path(index_dir) / LAST_RUN_NAME
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(records.report.model_dump_json(indent=2), encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    audit.record(index_dir, records.entries)


def write_pending(store, index_dir: Path) -> None:
    """Writes out what a committed run left in the index (``store``: kb.index.store.Store) and clears it."""
    pending = store.get_meta(PENDING_KEY)
    if pending:
        write_records(index_dir, RunRecords.model_validate_json(pending))
        store.put_meta(PENDING_KEY, "")


def last_run(index_dir: Path) -> IndexReport | None:
    """The report of the last finished run, for the page's status panel."""
    try:
        return IndexReport.model_validate_json((Path(index_dir) / LAST_RUN_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
