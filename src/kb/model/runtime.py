"""Model runtimes behind one small protocol: text in (prompt already prefixed), unit-length
float32 rows out. ONNX Runtime with `tokenizers` runs the default model without importing torch
(a search starts in a second or two instead of eight); torch with sentence-transformers runs any
other model, and bf16 or GPUs."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import warnings
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.model.query_tokens import QueryTokenizer

log = logging.getLogger(__name__)


class Runtime(Protocol):
    name: str

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 rows; texts past the model's token limit are truncated."""

    def warm(self) -> None:
        """Load now rather than at the first text."""


class OnnxRuntime:
    name = "onnx"

    def __init__(self, folder: Path, precision: str, max_tokens: int):
        self.folder = Path(folder)
        self.precision = precision
        self.max_tokens = max_tokens

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        # The limit counts the special tokens, as sentence-transformers' max_seq_length does.
        tokenizer.enable_truncation(self.max_tokens)
        tokenizer.no_padding()
        return tokenizer

    @cached_property
    def _lone_text_tokenizer(self) -> QueryTokenizer | None:
        """A query's ids from its own pieces (kb.model.query_tokens): the 250,002-piece vocabulary is
        read only by a process that embeds passages in batches. None where the piece table cannot be
        made (a read-only cache): lone texts then take the whole tokenizer too."""
        tokenizer = QueryTokenizer(self.folder / "tokenizer.json", self.max_tokens)
        try:
            tokenizer.encode("")  # makes or opens the piece table now
        except (OSError, sqlite3.Error, ValueError) as exc:
            log.warning("queries use the whole tokenizer: %s", exc)
            return None
        return tokenizer

    def _token_ids(self, texts: list[str]) -> list[list[int]]:
        if len(texts) == 1 and self._lone_text_tokenizer is not None:
            try:
                return [self._lone_text_tokenizer.encode(texts[0])]
            except sqlite3.DatabaseError as exc:  # its file damaged under a running server: the whole one
                log.warning("queries use the whole tokenizer from now on: %s", exc)
                self.__dict__["_lone_text_tokenizer"] = None
        return [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]

    @cached_property
    def _session(self):
        return self._open(threads=0)  # every core: batches of passages

    @cached_property
    def _query_session(self):
        """A lone query gains little from a second thread and would take the core the keyword search
        of a hybrid query runs on. The weights are mapped, so a second session costs no memory."""
        return self._open(threads=1)

    def _open(self, threads: int):
        import onnxruntime

        from kb.model.onnx_export import onnx_path

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        return onnxruntime.InferenceSession(str(onnx_path(self.folder, self.precision)), options,
                                            providers=["CPUExecutionProvider"])

    def warm(self) -> None:
        _ = self._query_session, self._lone_text_tokenizer

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        token_ids = self._token_ids(list(texts))
        # Length-sorted batches pad least; the rows go back to the input order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(token_ids[i]) for i in batch)
            ids = np.ones((len(batch), width), dtype=np.int64)  # 1 is <pad> in XLM-R
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                tokens = token_ids[i]
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            session = self._query_session if len(texts) == 1 else self._session
            states = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            rows.update(zip(batch, pooled))
        if rows:
            out = np.vstack([rows[i] for i in range(len(texts))])
        return np.ascontiguousarray(out, dtype=np.float32)


class TorchRuntime:
    name = "torch"

    def __init__(self, folder: str, device: str, precision: str, local_files_only: bool, limit=None):
        self.folder = folder
        self.device = device
        self.precision = precision
        self.local_files_only = local_files_only
        self.limit = limit  # called with the loaded model: the token limit to set, or None to keep it

    @cached_property
    def model(self):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Their bars would interleave with kb's own progress line.
        hf_logging.disable_progress_bar()
        model = SentenceTransformer(self.folder, device=self.device, local_files_only=self.local_files_only)
        if self.precision == "int8":
            with warnings.catch_warnings():
                # torch announces the quantized tensor API's future removal on every use.
                warnings.simplefilter("ignore", UserWarning)
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        elif self.precision == "bf16":
            model = model.to(torch.bfloat16)
        model.eval()
        if self.limit is not None:
            model.max_seq_length = self.limit(model)
        return model

    def warm(self) -> None:
        _ = self.model

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        context = _one_torch_thread() if len(texts) == 1 else contextlib.nullcontext()
        with context:
            vectors = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
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
