"""The two runtimes of the default model: ONNX Runtime (default; no torch in the process) and
torch. Same weights, same vectors, so an index built with either serves the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import SEED
from test_model import _real_texts

from kb.config import Settings
from kb.hashing import file_sha256
from kb.model import bundled
from kb.model.embedder import Embedder, ModelLoadError


@pytest.fixture(scope="module")
def torch_embedder():
    return Embedder(Settings(runtime="torch"))


def test_the_default_runtime_is_onnx_with_its_checksum_recorded(embedder):
    assert embedder.runtime.name == "onnx"
    embedder.embed_query("预热")
    recorded = bundled.read_marker(embedder.folder)["onnx"]["fp32"]
    files = Path(embedder.folder) / "onnx" / "fp32"
    assert recorded == {path.name: file_sha256(path) for path in files.iterdir()}
    assert set(recorded) == {"model.onnx", "model.onnx.data"}


@pytest.mark.slow  # ~45 s: torch loaded beside ONNX for 200 texts; .ci/run runs it
def test_onnx_and_torch_agree(embedder, torch_embedder):
    """fp32 through ONNX Runtime vs torch: cosine mean ≥ 0.9999 and min ≥ 0.999 on real texts, so
    both runtimes are one model identity and share every stored vector."""
    passages, questions = _real_texts()
    long_text = SEED.read_text(encoding="utf-8")[:5000]  # truncated at 510 tokens by both
    ours = np.vstack([embedder.embed_passages([*passages, long_text]), [embedder.embed_query(q) for q in questions]])
    theirs = np.vstack([torch_embedder.embed_passages([*passages, long_text]),
                        [torch_embedder.embed_query(q) for q in questions]])
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.mean() >= 0.9999 and cosines.min() >= 0.999, (cosines.mean(), cosines.min())
    assert embedder.identity == torch_embedder.identity


def test_a_lower_precision_is_its_own_identity():
    fp32 = Embedder(Settings()).identity
    int8 = Embedder(Settings(precision="int8")).identity
    torch_int8 = Embedder(Settings(precision="int8", runtime="torch")).identity
    assert len({fp32.key(), int8.key(), torch_int8.key()}) == 3
    assert int8.precision == "int8-onnx" and torch_int8.precision == "int8"


def test_onnx_runs_only_what_it_can():
    with pytest.raises(ModelLoadError, match="bf16"):
        _ = Embedder(Settings(runtime="onnx", precision="bf16")).runtime


def test_a_search_never_imports_torch(seed_index):
    """`kb search` in semantic and hybrid mode, then a look at what the process imported."""
    code = (
        "import sys; from pathlib import Path; from kb.config import Settings; from kb.search import Searcher;"
        f"s = Searcher(Settings(index_dir=Path({str(seed_index.index_dir)!r})));"
        "[s.search('委员工作站', mode=m, k=3) for m in ('semantic', 'hybrid', 'keyword')];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sentence_transformers', 'transformers')))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**env, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert json.loads(out.stdout.strip().replace("'", '"')) == []
