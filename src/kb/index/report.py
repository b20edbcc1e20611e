"""What a run of `kb index` reports: counts, the files it could not take (with coded reasons) or
skipped, and the change per document that the audit log records."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kb.reasons import Reason, chinese_reason


class FileFailure(BaseModel):
    """A file or folder not taken: ``reason`` in English (the CLI, logs), ``code`` and ``facts`` for
    the words of other languages (kb.reasons)."""

    path: str
    reason: str
    code: str = ""
    facts: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, path: str, reason: Reason) -> FileFailure:
        return cls(path=path, reason=f"{path}: {reason.english()}", code=reason.code, facts=reason.facts)

    def chinese(self) -> str:
        """Why, in Chinese (without the path): the page's words, and the CLI's in a Chinese locale."""
        return chinese_reason(Reason(code=self.code, facts=self.facts) if self.code else None, self.reason)


class DocumentChange(BaseModel):
    doc_id: str
    kind: str  # added, changed, renamed, removed, failed
    content_hash: str = ""
    detail: str = ""
    reason: Reason | None = None


class PublishReport(BaseModel):
    """What the step after a commit did for another backend (Milvus): the generation it serves now."""

    generation: int
    published: bool  # False: the backend already served this generation
    chunks: int = 0  # what the generation serves
    added: int = 0  # chunks written by this publish
    removed: int = 0  # chunks it retired
    seconds: float = 0.0
    dropped: list[str] = []


class IndexReport(BaseModel):
    added: int = 0
    changed: int = 0
    removed: int = 0
    renamed: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    failed: list[FileFailure] = Field(default_factory=list)
    # Files of types kb does not read, found under the paths: listed, not failures.
    skipped: list[FileFailure] = Field(default_factory=list)
    # What a file that was read left out (OCR pages kb was not sure of).
    notes: list[FileFailure] = Field(default_factory=list)
    # Per document, for the audit log.
    changes: list[DocumentChange] = Field(default_factory=list)
    generation: int = 0
    seconds: float = 0.0
    # Of ``seconds``: loading the model (when anything needed embedding) and embedding.
    embedding_seconds: float = 0.0
    finished_at: str = ""
    # Where readers use Milvus: the publish that followed the commit.
    published: PublishReport | None = None

    def summary(self) -> str:
        line = (
            f"{self.added} added, {self.changed} changed, {self.removed} removed, {self.renamed} renamed,"
            f" {self.unchanged} unchanged; chunks: {self.chunks_embedded} embedded, {self.chunks_reused} reused;"
            f" generation {self.generation}; {self.seconds:.1f} s"
        )
        if self.failed:
            line += f"; {len(self.failed)} file(s) failed"
        if self.skipped:
            line += f"; {len(self.skipped)} file(s) skipped (not a type kb reads)"
        if self.notes:
            line += f"; {len(self.notes)} note(s)"
        return line

    def summary_in_chinese(self) -> str:
        line = (f"新增 {self.added}，更新 {self.changed}，删除 {self.removed}，改名 {self.renamed}，"
                f"未变 {self.unchanged}；新计算向量 {self.chunks_embedded} 段，复用 {self.chunks_reused} 段；"
                f"第 {self.generation} 版索引；用时 {self.seconds:.1f} 秒")
        if self.failed:
            line += f"；{len(self.failed)} 个文件未能导入"
        if self.skipped:
            line += f"；{len(self.skipped)} 个文件不是 kb 读取的类型，已跳过"
        if self.notes:
            line += f"；{len(self.notes)} 条提示"
        return line
