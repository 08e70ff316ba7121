"""Embedding throughput on real arXiv abstracts: torch fp32 vs ONNX Runtime int8.

    flock /tmp/paperfeed-bench.lock python bench/embed_throughput.py \
        ../shared/data/arxiv-cs-2025-2026.jsonl.gz --n 512

Prints abstracts per second for each backend (after a warm-up batch) and the cosine of
each int8 vector to its fp32 twin (min and mean). The ONNX model is exported into
--cache-dir on first use.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from paperfeed.index.embedder import OnnxEmbedder, TorchEmbedder, bundled_model_dir
from paperfeed.index.onnx_export import quantized_model_path
from paperfeed.index.text import embedding_text


def read_texts(path: Path, n: int) -> list[str]:
    texts = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            texts.append(embedding_text(item["title"], " ".join(item["summary"].split())))
            if len(texts) >= n:
                break
    return texts


def rate(embed, texts: list[str]) -> tuple[float, np.ndarray]:
    embed(texts[:32])
    start = time.perf_counter()
    vectors = embed(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--cache-dir", default="/tmp/pf-cache")
    parser.add_argument("--max-tokens", type=int, nargs="*", default=[256, 192, 128])
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    texts = read_texts(args.corpus, args.n)
    model_dir = bundled_model_dir()
    onnx_path = quantized_model_path(model_dir, args.cache_dir)
    reference = None
    if not args.no_torch:
        torch_rate, reference = rate(TorchEmbedder(model_dir).embed, texts)
        print(f"| torch fp32 (sentence-transformers) | 256 | {torch_rate:.1f} | 1.000 | 1.000 |")
    for tokens in args.max_tokens:
        onnx = OnnxEmbedder(model_dir, onnx_path, max_tokens=tokens)
        onnx_rate, vectors = rate(onnx.embed, texts)
        if reference is not None:
            cos = (vectors * reference).sum(axis=1)
            print(f"| onnx-int8 | {tokens} | {onnx_rate:.1f} | {cos.min():.3f} | {cos.mean():.3f} |")
        else:
            print(f"| onnx-int8 | {tokens} | {onnx_rate:.1f} | - | - |")


if __name__ == "__main__":
    main()
