"""One Settings object for all of kb: read from ``KB_*`` environment variables and an optional
``kb.toml`` in the working directory; CLI options override both."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from kb.reasons import KbError

DEFAULT_MODEL = "multilingual-e5-small"

# The search modes, each with the page's word for it: the one registry that the setting, the CLI's
# choices, the page's radio, the API's schema, `kb eval` and the searcher read.
SEARCH_MODES = {"hybrid": "混合", "semantic": "语义", "keyword": "关键词"}
# The modes that embed the question (and so wait for the model).
MODEL_MODES = ("hybrid", "semantic")
SearchMode = Literal[tuple(SEARCH_MODES)]
Precision = Literal["fp32", "bf16", "int8"]
Fusion = Literal["convex", "rrf"]
RuntimeName = Literal["auto", "onnx", "torch"]
BackendName = Literal["local", "milvus"]


class SettingsError(KbError, ValueError):
    """A settings file that cannot be read."""


class Settings(BaseModel):
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # The bundled model, a local sentence-transformers folder, or a hub name where a hub is reachable.
    model: str = DEFAULT_MODEL
    # Where the bundled model is converted to on first use; shared by every index on the machine.
    model_cache_dir: Path | None = None
    query_prompt: str | None = None
    passage_prompt: str | None = None
    precision: Precision = "fp32"
    # Which runtime embeds (kb.model.runtime): "auto" runs the default model on ONNX Runtime (no torch
    # in the process) and everything else, bf16 and GPUs on torch.
    runtime: RuntimeName = "auto"
    device: str = "cpu"
    batch_size: int = Field(32, ge=1)
    # A link in the corpus folder to a file outside it is not followed unless this allows it.
    follow_symlinks: bool = False
    # Larger files are refused at upload and at indexing, with the file named; and so are files past
    # one of the bounds after it (kb.ingest.limits): what a .docx or .ofd unpacks to, a .docx's
    # paragraphs, a PDF's or OFD's pages, and the passages one file is cut into.
    max_file_mb: int = Field(50, ge=1)
    max_unpacked_mb: int = Field(200, ge=1)
    max_paragraphs_per_file: int = Field(100_000, ge=1)
    max_pages_per_file: int = Field(2_000, ge=1)
    max_chunks_per_file: int = Field(20_000, ge=1)
    # The page's manage views ask for this password (a salted scrypt hash from `kb admin set-password`).
    admin_password_hash: str | None = None
    # Where searches read from (kb.search.backend): "local", the index folder (one machine), or
    # "milvus", the collections `kb index` publishes to a Milvus server (many `kb serve`s, no local
    # files). milvus_uri: a path (Milvus Lite, a local folder) or http://host:19530 (a Milvus server).
    search_backend: BackendName = "local"
    milvus_uri: str = ""
    milvus_token: str | None = None
    milvus_collection: str = Field("kb", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,200}$")
    # The time zone the page and reports show times in (stored times stay UTC).
    timezone: str = "Asia/Shanghai"
    # `kb api`: management routes (upload, re-index, delete, backup) answer only to this token (off
    # when unset); browsers of these origins may call the API (none when empty: CORS off).
    api_token: str | None = None
    api_cors_origins: list[str] = Field(default_factory=list)
    # The names (besides loopback names and IP addresses) browsers may reach the page and the API by,
    # e.g. ["kb.zx.lan"]; "*" for any, behind a proxy that checks names (kb.office.hosts).
    allowed_hosts: list[str] = Field(default_factory=list)
    # What one page session may hold in uploaded files not yet indexed.
    max_upload_session_mb: int = Field(200, ge=1)

    chunk_size: int = Field(360, ge=50, le=2000)
    chunk_overlap: int = Field(60, ge=0)

    mode: SearchMode = "hybrid"
    top_k: int = Field(10, ge=1, le=1000)
    # How hybrid fuses the two rankings (kb.search.fusion): "convex", a weighted mix of per-query
    # min-max normalised scores, or "rrf", score = sum(weight / (rrf_k + rank)) over the retrievers.
    fusion: Fusion = "convex"
    rrf_k: int = Field(60, ge=1)
    semantic_weight: float = Field(1.0, ge=0)
    keyword_weight: float = Field(1.0, ge=0)
    # The keyword retriever also looks for the other words CPPCC texts use for a question's word
    # (委员工作站 for 驻点, 提案 for 建议: kb.search.lexicon). Kept by bench/floor.py --judgement.
    query_expansion: bool = True
    # How deep each retriever looks before fusion.
    candidates: int = Field(100, ge=1)
    # Postings (the summed document frequencies of a question's words) the local keyword search scores
    # at most before only the rarest words choose the passages (kb.search.bounded); 0: FTS5 scores every
    # match. Past about 10⁵ passages a question of common words would otherwise cost a second.
    keyword_budget: int = Field(150_000, ge=0)
    # The relevance floor (kb.search.floor): a hit is weak below both; keyword mode, which has no
    # similarity, below its own coverage floor. Chosen on STARD dev by bench/floor.py.
    floor_similarity: float = Field(0.34, ge=0, le=1)
    floor_coverage: float = Field(0.55, ge=0, le=1)
    floor_keyword_coverage: float = Field(0.20, ge=0, le=1)
    # Inside the domain every practice is near every CPPCC question: a hit from what a CPPCC body wrote
    # (a practice, a review) is strong only if it also stands out from the question's typical match
    # (its centred similarity less the mean of the question's 30 nearest chunks') by this much, or
    # covers this share of the question's words; the corpus's laws and policies likewise, among
    # themselves. Chosen by bench/floor.py on kb's own question sets; passages of no unit (STARD's)
    # keep the floor above.
    # None: no such test (the floor as it was before it).
    floor_practice_margin: float | None = Field(0.12, ge=0, le=1)
    floor_practice_coverage: float = Field(0.40, ge=0, le=1)
    # A question that asks for a time, a number, an address … is answered by what CPPCC bodies wrote only
    # where the passage states one (kb.search.answers). Part of the in-domain judgement: with
    # floor_practice_margin = None (the floor alone) it is off too. Kept by bench/floor.py --judgement.
    answer_kinds: bool = True

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, value: int, info) -> int:
        size = info.data.get("chunk_size", 360)
        if value >= size:
            raise ValueError(f"chunk_overlap ({value}) must be smaller than chunk_size ({size})")
        return value

    @field_validator("api_cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _origins_from_text(cls, value):
        """KB_API_CORS_ORIGINS="http://oa.example,http://lz.example" as well as a TOML list (and so
        for KB_ALLOWED_HOSTS)."""
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides) -> Settings:
        """Settings from kb.toml, then KB_* variables, then explicit overrides (None = not given)."""
        values: dict = {}
        path = config_file or Path(os.environ.get("KB_CONFIG") or "kb.toml")
        if path.is_file():
            with open(path, "rb") as handle:
                try:
                    values.update(tomllib.load(handle))
                except tomllib.TOMLDecodeError as exc:
                    raise SettingsError(f"{path}: {exc}") from exc
        for name in cls.model_fields:
            env = os.environ.get(f"KB_{name.upper()}")
            if env is not None and env != "":
                values[name] = env
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def chunking_identity(self) -> dict:
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}
