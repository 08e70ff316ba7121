"""Embedding throughput on real arXiv abstracts: torch fp32 vs ONNX Runtime int8.

    flock /tmp/paperfeed-bench.lock python bench/embed_throughput.py \\
        ../shared/data/arxiv-cs-2025-2026.jsonl.gz --n 384 \\
        --previous /tmp/pf-cache/onnx/<model id>/model-int8-pc.onnx

Prints abstracts per second for each variant and the cosine of each vector to its torch fp32
twin (min and mean). Variants run interleaved, ``--rounds`` times each (after a warm-up
batch), and the median is printed with every run, so that a load spike from another job
hits all variants alike. The ONNX model is exported into --cache-dir on first use.
``--previous`` adds an older int8 ONNX file (e.g. the MatMul-only ``model-int8-pc.onnx``
of earlier versions) run as those versions ran it: batches of 16, ONNX Runtime's
SkipLayerNormalization fusion on. ``--ablate`` adds the steps in between: the previous file
run the new way (one text per run, SkipLayerNormFusion off), and the new file with
SkipLayerNormFusion left on. ``--bf16`` adds the reference model cast to bfloat16 (the
route that AMX or AVX512-BF16 CPUs would take instead of int8).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from collections.abc import Callable
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


def bf16_embedder(model_dir: Path) -> TorchEmbedder:
    """The reference model cast to bfloat16, batches of 8 (the best of 8 and 32 here)."""
    import torch

    embedder = TorchEmbedder(model_dir, batch_size=8)
    embedder.model = embedder.model.to(torch.bfloat16)
    return embedder


def rate(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[float, np.ndarray]:
    embed(texts[:32])
    start = time.perf_counter()
    vectors = embed(texts)
    return len(texts) / (time.perf_counter() - start), vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--n", type=int, default=384)
    parser.add_argument("--cache-dir", default="/tmp/pf-cache")
    parser.add_argument("--max-tokens", type=int, nargs="*", default=[256])
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[1],
                        help="batch sizes of the current onnx-int8 model (default: 1)")
    parser.add_argument("--previous", type=Path, help="an older int8 ONNX file to compare")
    parser.add_argument("--ablate", action="store_true",
                        help="also run the previous file the new way and the new file with "
                        "ONNX Runtime's SkipLayerNormFusion on (both at batch 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--bf16", action="store_true",
                        help="also sentence-transformers with the model cast to bfloat16, "
                        "batches of 8 (oneDNN's AMX / AVX512-BF16 kernels where the CPU has "
                        "them; very slow where it has neither)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    texts = read_texts(args.corpus, args.n)
    model_dir = bundled_model_dir()
    onnx_path = quantized_model_path(model_dir, args.cache_dir)

    variants: list[tuple[str, int, int, Callable[[list[str]], np.ndarray]]] = []
    if not args.no_torch:
        variants.append(("torch fp32 (sentence-transformers)", 256, 32,
                         TorchEmbedder(model_dir).embed))
    if args.bf16:
        variants.append(("torch bf16 (sentence-transformers)", 256, 8,
                         bf16_embedder(model_dir).embed))
    if args.previous:
        old = OnnxEmbedder(model_dir, args.previous, batch_size=16, disabled_optimizers=())
        variants.append((f"onnx-int8 previous ({args.previous.name})", 256, 16, old.embed))
        if args.ablate:
            old_now = OnnxEmbedder(model_dir, args.previous, batch_size=1)
            name = f"onnx-int8 previous ({args.previous.name}), SkipLayerNormFusion off"
            variants.append((name, 256, 1, old_now.embed))
    if args.ablate:
        fused_skip = OnnxEmbedder(model_dir, onnx_path, batch_size=1, disabled_optimizers=())
        variants.append((f"onnx-int8 ({onnx_path.name}), SkipLayerNormFusion on", 256, 1,
                         fused_skip.embed))
    for tokens in args.max_tokens:
        for batch in args.batch_sizes:
            new = OnnxEmbedder(model_dir, onnx_path, max_tokens=tokens, batch_size=batch)
            variants.append((f"onnx-int8 ({onnx_path.name})", tokens, batch, new.embed))

    rates: list[list[float]] = [[] for _ in variants]
    vectors: list[np.ndarray] = [np.zeros(0)] * len(variants)
    for _ in range(args.rounds):
        for i, (_, _, _, embed) in enumerate(variants):
            value, vectors[i] = rate(embed, texts)
            rates[i].append(value)

    reference = vectors[0] if not args.no_torch else None
    print(f"{len(texts)} abstracts, {args.rounds} interleaved rounds, {os.cpu_count()} cores, "
          f"load average before/after: {load_before} / {os.getloadavg()}")
    print("| engine | max tokens | batch | abstracts/s (median) | runs "
          "| cosine min | cosine mean |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for (name, tokens, batch, _), runs, vecs in zip(variants, rates, vectors, strict=True):
        runs_text = ", ".join(f"{r:.1f}" for r in runs)
        if reference is not None:
            cos = (vecs * reference).sum(axis=1)
            quality = f"{cos.min():.4f} | {cos.mean():.4f}"
        else:
            quality = "- | -"
        print(f"| {name} | {tokens} | {batch} | {statistics.median(runs):.1f} | {runs_text} "
              f"| {quality} |")


if __name__ == "__main__":
    main()
