"""The default model as ONNX, exported once beside its sentence-transformers folder, so that search
and indexing run on ONNX Runtime without importing torch. The export (and the int8 variant) is the
one step that needs torch; it runs on first use, is built in a temporary folder and renamed into
place, and the files' SHA-256 go into the folder's kb-model.json.

The weights are stored as external data beside a small graph file: ONNX Runtime maps them instead
of parsing a 470 MB protobuf, so a session opens in a quarter of a second and holds only the pages
it touches (the 250,000-row embedding table is mostly never read)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from kb.hashing import file_sha256
from kb.model import bundled
from kb.reasons import KbError

log = logging.getLogger(__name__)

ONNX_FOLDER = "onnx"
GRAPH = "model.onnx"
WEIGHTS = "model.onnx.data"
PRECISIONS = ("fp32", "int8")
OPSET = 17


def onnx_path(folder: Path, precision: str) -> Path:
    """The graph file for ``precision`` (fp32 or int8), exporting or quantizing it on first use."""
    if precision not in PRECISIONS:
        raise KbError(f"the ONNX runtime runs fp32 or int8, not {precision}; use runtime = torch for it")
    folder = Path(folder)
    target = folder / ONNX_FOLDER / precision
    if (target / GRAPH).is_file():
        return target / GRAPH
    target.parent.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{precision}-", dir=target.parent))
    try:
        log.info("writing %s (one time)", target)
        if precision == "fp32":
            _export(folder, work / GRAPH)
        else:
            _quantize(onnx_path(folder, "fp32"), work / GRAPH)
        bundled.share_tree(work)
        try:
            os.rename(work, target)
        except OSError:
            if not (target / GRAPH).is_file():  # not another process that finished first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _record(folder, precision, target)
    return target / GRAPH


def _export(folder: Path, out: Path) -> None:
    import onnx
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    class Encoder(torch.nn.Module):
        """Token states only: pooling and normalisation run in numpy, as in every runtime."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = Encoder(AutoModel.from_pretrained(str(folder), add_pooling_layer=False)).eval()
    ids = torch.tensor([[0, 6, 5, 2], [0, 6, 2, 1]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    whole = out.with_name("whole.onnx")
    # The tracer warns about shapes it folds (none matter for an encoder's fixed graph).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (ids, mask), str(whole), input_names=["input_ids", "attention_mask"],
            output_names=["token_states"], opset_version=OPSET, dynamo=False,
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "token_states")},
        )
    onnx.save_model(onnx.load(str(whole)), str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                    location=WEIGHTS, size_threshold=1024)
    whole.unlink()


def _quantize(source: Path, out: Path) -> None:
    """Dynamic int8, per output channel: weights stored as int8, activations quantized per batch."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # it advises pre-processing on the root logger; dynamic int8 needs none
    try:
        quantize_dynamic(str(source), str(out), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], use_external_data_format=True)
    finally:
        root.setLevel(level)
    data = [p for p in out.parent.iterdir() if p.name != GRAPH]
    if len(data) == 1 and data[0].name != WEIGHTS:  # the quantizer names its data file itself
        import onnx

        model = onnx.load(str(out))
        onnx.save_model(model, str(out), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=WEIGHTS, size_threshold=1024)
        data[0].unlink()


def _record(folder: Path, precision: str, target: Path) -> None:
    marker = folder / bundled.MARKER
    info = json.loads(marker.read_text(encoding="utf-8"))
    info.setdefault("onnx", {})[precision] = {
        path.name: file_sha256(path) for path in sorted(target.iterdir()) if path.is_file()
    }
    temp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    temp.write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temp, marker)
