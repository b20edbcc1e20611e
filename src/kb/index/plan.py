"""What a run will change, worked out from the stored content hashes before any file is read: which
candidates to read (and whether each is new, changed or a renamed file), which documents are gone,
how many are unchanged, and which candidates are refused as the same content under a second name."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kb.ingest import SourceFile, Unreadable, load
from kb.records import Document
from kb.text import readable_name


@dataclass(frozen=True)
class Candidate:
    """A document-to-be: its id, the hash of its raw content, and how to load it."""

    doc_id: str
    content_hash: str
    source: str
    load: Callable[[], Document]


def candidates_from_files(files: Iterable[SourceFile], max_bytes: int | None = None) -> list[Candidate]:
    return [
        Candidate(f.doc_id, f.content_hash, readable_name(str(f.path)), lambda f=f: load(f.path, f.doc_id, max_bytes))
        for f in files
    ]


@dataclass(frozen=True)
class PlannedRead:
    candidate: Candidate
    kind: str  # added, changed or renamed: what it becomes once read


@dataclass
class ChangePlan:
    reads: list[PlannedRead] = field(default_factory=list)
    # Stored documents to drop: gone from a scope that was searched whole (renamed ones included).
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    # Candidates whose content another document already holds, with that document's id.
    duplicates: list[tuple[Candidate, str]] = field(default_factory=list)
    # Every stored document and its content hash before the run.
    stored: dict[str, str] = field(default_factory=dict)


def plan_changes(stored: dict[str, str], candidates: list[Candidate], scopes: list[str],
                 unreadable: list[Unreadable], rebuild: bool, unique_content: bool) -> ChangePlan:
    """``scopes``: the document ids or folders (ending in /, "" for all) the candidates were found
    under; a stored document in a scope that no candidate names is gone. What could not be read is
    unknown, not gone: documents under ``unreadable`` keep their last indexed version."""
    plan = ChangePlan(stored=stored)
    seen = {c.doc_id for c in candidates}
    unknown = [u.doc_id for u in unreadable]
    plan.removed = [d for d in stored if _covered(d, scopes) and d not in seen and not _covered(d, unknown)]
    removed_hashes = {stored[d] for d in plan.removed}
    # Content already held under another name: the same text twice would only crowd results.
    owner_of = {h: d for d, h in stored.items() if d not in plan.removed}
    for candidate in candidates:
        if not rebuild and stored.get(candidate.doc_id) == candidate.content_hash:
            plan.unchanged += 1
            continue
        if unique_content and candidate.content_hash:
            owner = owner_of.setdefault(candidate.content_hash, candidate.doc_id)
            if owner != candidate.doc_id:
                plan.duplicates.append((candidate, owner))
                continue
        if candidate.doc_id in stored:
            kind = "changed"
        elif candidate.content_hash in removed_hashes:
            kind = "renamed"
        else:
            kind = "added"
        plan.reads.append(PlannedRead(candidate, kind))
    return plan


def _covered(doc_id: str, prefixes: Iterable[str]) -> bool:
    """Whether ``doc_id`` is one of ``prefixes`` or lies under one that names a folder (ends in /)."""
    return any(doc_id == p or (p.endswith("/") or p == "") and doc_id.startswith(p) for p in prefixes)
