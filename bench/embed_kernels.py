"""The embedding model's cost per abstract per core on each runtime this machine offers.

    flock /tmp/paperfeed-bench.lock python bench/embed_kernels.py \\
        ../shared/data/arxiv-cs-2025-2026.jsonl.gz --n 128

`paperfeed index` runs one single-threaded ONNX Runtime session per core, so what bounds
it is the CPU time one abstract costs on one core. This prints that cost (median of
``--rounds`` interleaved rounds, one thread each, abstracts sorted by length) for:

- torch fp32 through sentence-transformers (the in-run reference of `make bench`);
- torch with the model cast to bfloat16, eager, batches of 8 (oneDNN runs bf16 matrix
  products on AMX tiles or AVX512-BF16 where the CPU has them);
- the same bf16 model compiled by TorchInductor with frozen weights (prepacked oneDNN
  linear layers with their bias / GELU / residual fused; needs a C++ compiler), one text
  per run; skipped with the reason when compiling fails;
- paperfeed's int8 ONNX model as `paperfeed index` runs it (one text per run).

Each row has its speedup over torch fp32 and the cosine of its vectors to fp32's. Above
the table: the one-thread GEMM peaks of this machine (int8 MatMulInteger, bf16 and fp32
torch matmul, 256 x 384 x 1536) and the model's multiply-accumulates per abstract, so that
the compute bound at each peak can be read off.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.embed_throughput import bf16_embedder, read_texts
from bench.machine import cpu_info, int8_peak, torch_peak
from paperfeed.index.embedder import OnnxEmbedder, TorchEmbedder, bundled_model_dir
from paperfeed.index.onnx_export import quantized_model_path

Embed = Callable[[list[str]], np.ndarray]


def macs_per_token(tokens: float, hidden: int = 384, inner: int = 1536,
                   layers: int = 6) -> tuple[float, float]:
    """(MACs of the linear layers, MACs of attention) per token of a text of ``tokens``."""
    linear = layers * (4 * hidden * hidden + 2 * hidden * inner)
    attention = layers * 2 * tokens * hidden  # Q K^T and P V, every head
    return float(linear), float(attention)


def compiled_bf16(model_dir: Path) -> tuple[Embed | None, str]:
    """The bf16 model compiled by TorchInductor with frozen weights, one text per run."""
    import torch
    import torch._inductor.config as inductor
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval().to(torch.bfloat16)
    inductor.freezing = True

    def pooled(ids: torch.Tensor) -> torch.Tensor:
        return model(input_ids=ids).last_hidden_state.float().mean(dim=1)

    forward = torch.compile(pooled, dynamic=True)

    def embed(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        with torch.inference_mode():
            for i, text in enumerate(texts):
                ids = tokenizer(text, truncation=True, max_length=256)["input_ids"]
                out[i] = forward(torch.tensor([ids])).numpy()[0]
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    start = time.perf_counter()
    try:
        embed(["a warm-up text that compiles the graph"])
    except Exception as error:  # noqa: BLE001 - no compiler, unsupported CPU: say so
        return None, f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return embed, f"compiled in {time.perf_counter() - start:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache-dir", default="/tmp/pf-cache")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    texts = read_texts(args.corpus, args.n)
    model_dir = bundled_model_dir()
    fp32 = TorchEmbedder(model_dir)
    bf16 = bf16_embedder(model_dir)
    int8 = OnnxEmbedder(model_dir, quantized_model_path(model_dir, args.cache_dir), workers=1)
    variants: list[tuple[str, Embed]] = [
        ("torch fp32 (sentence-transformers), batches of 32", fp32.embed),
        ("torch bf16, eager, batches of 8", bf16.embed),
    ]
    compiled_note = "not run (--no-compile)"
    if not args.no_compile:
        compiled, compiled_note = compiled_bf16(model_dir)
        if compiled is not None:
            variants.append(("torch bf16, TorchInductor (frozen weights), one text per run",
                             compiled))
    variants.append(("paperfeed onnx-int8, one text per run", int8.embed))

    seconds: list[list[float]] = [[] for _ in variants]
    vectors: list[np.ndarray] = [np.zeros(0)] * len(variants)
    for _ in range(args.rounds):
        for i, (_, embed) in enumerate(variants):
            embed(texts[:8])
            start = time.process_time()
            vectors[i] = np.asarray(embed(texts), dtype=np.float32)
            seconds[i].append(time.process_time() - start)

    tokens = float(np.mean([len(e.ids) for e in int8.tokenizer.encode_batch(texts)]))
    linear, attention = macs_per_token(tokens)
    per_abstract = tokens * (linear + attention) / 1e9
    peaks = {"int8 (ONNX Runtime MatMulInteger)": int8_peak(),
             "bf16 (torch matmul)": torch_peak("bfloat16"),
             "fp32 (torch matmul)": torch_peak("float32")}
    flags = cpu_info()
    print(f"CPU: {flags.get('model', '?')}; {len(texts)} abstracts, mean {tokens:.0f} "
          f"tokens; {args.rounds} interleaved rounds, one thread; load average "
          f"before/after: {load_before} / {os.getloadavg()}")
    print(f"Per abstract: {per_abstract:.2f} G multiply-accumulates "
          f"({tokens * linear / 1e9:.2f} G in linear layers, "
          f"{tokens * attention / 1e9:.2f} G in attention). TorchInductor: {compiled_note}.")
    for name, peak in peaks.items():
        print(f"- one-thread GEMM peak, {name}: {peak:.0f} GMAC/s; "
              f"the whole model at that rate: {per_abstract / peak * 1e3:.1f} ms per abstract")
    print()
    print("| runtime | CPU ms per abstract (median) | runs | x torch fp32 | cosine to fp32 "
          "min / mean |")
    print("|---|---:|---|---:|---|")
    reference = statistics.median(seconds[0])
    for (name, _), runs, vecs in zip(variants, seconds, vectors, strict=True):
        cosine = (vecs * vectors[0]).sum(axis=1)
        median = statistics.median(runs)
        print(f"| {name} | {median / len(texts) * 1e3:.2f} | "
              f"{', '.join(f'{r / len(texts) * 1e3:.2f}' for r in runs)} | "
              f"{reference / median:.2f}x | {cosine.min():.4f} / {cosine.mean():.4f} |")


if __name__ == "__main__":
    main()
