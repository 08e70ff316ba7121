"""The machine block printed above every benchmark table: CPU, flags, libraries, kernels.

Besides what the machine says about itself, two measured peaks make a run comparable with
another machine's: int8 GEMM through ONNX Runtime (the int8 embedder's kernel) and fp32
GEMM through torch (the fp32 reference's kernel), one thread each, at the shape of the
model's largest MatMul (256 tokens x 384 -> 1536). Their ratio bounds the embedding speed-up
(the embedder also runs fp32 attention, GELU and LayerNorm, so it gets less than that).
"""

from __future__ import annotations

import os
import platform
import sqlite3
import time
from pathlib import Path
from typing import Any

import numpy as np

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_tile")
GEMM_SHAPE = (256, 384, 1536)  # tokens x hidden -> intermediate: all-MiniLM-L6-v2's FFN


def cpu_info() -> dict[str, Any]:
    """Model name, family/model, the flags that matter and the core count (Linux)."""
    info: dict[str, Any] = {"model": platform.processor() or platform.machine(),
                            "cores": os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if not key.strip():
            break  # first processor only
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    info.update(model=fields.get("model name", info["model"]),
                family=fields.get("cpu family", "?"), model_number=fields.get("model", "?"),
                flags={flag: flag in flags for flag in FLAGS})
    return info


def memory_gib() -> float:
    """Total memory in GiB (Linux), 0 if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def numpy_blas() -> str:
    """numpy's BLAS: name, version and the core type OpenBLAS picked."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]  # type: ignore[index]
        text = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001 - older numpy: no dicts
        text = "unknown"
    try:
        import threadpoolctl

        for pool in threadpoolctl.threadpool_info():
            if pool.get("internal_api") in ("openblas", "mkl", "blis"):
                text += f" ({pool.get('internal_api')} core {pool.get('architecture')}, " \
                        f"{pool.get('num_threads')} threads)"
                break
    except ImportError:
        pass
    return text


def int8_peak() -> float:
    """GMAC/s of ONNX Runtime's MatMulInteger (uint8 x int8, pre-packed weights), 1 thread."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    m, k, n = GEMM_SHAPE
    rng = np.random.default_rng(0)
    weights = numpy_helper.from_array(rng.integers(-127, 128, (k, n)).astype(np.int8), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])], "peak",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, n])], [weights])
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(),
        options, providers=["CPUExecutionProvider"])
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    return m * k * n / _best_seconds(lambda: session.run(None, {"a": a})) / 1e9


def torch_fp32_peak() -> float:
    """GMAC/s of torch's fp32 matmul (the sentence-transformers reference's kernel), 1 thread."""
    return torch_peak("float32")


def torch_peak(dtype: str) -> float:
    """GMAC/s of torch's matmul in ``dtype`` ("float32", "bfloat16": oneDNN, AMX where the
    CPU has it), 1 thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        m, k, n = GEMM_SHAPE
        kind = getattr(torch, dtype)
        x, w = torch.rand(m, k).to(kind), torch.rand(k, n).to(kind)
        return m * k * n / _best_seconds(lambda: x @ w) / 1e9
    finally:
        torch.set_num_threads(threads)


def _best_seconds(run: Any, repeat: int = 7, number: int = 20) -> float:
    for _ in range(3):
        run()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def ort_kernels(embedder: Any, token_ids: list[int]) -> str:
    """The ONNX Runtime ops that run for one text, with their share of the time (profiler)."""
    import json

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = "/tmp/pf-bench-ort"
    model = embedder.onnx_path
    from paperfeed.index.embedder import without_padding_mask

    unmasked = without_padding_mask(model)
    session = ort.InferenceSession(unmasked if unmasked is not None else str(model), options,
                                   providers=["CPUExecutionProvider"],
                                   disabled_optimizers=embedder.disabled_optimizers)
    ids = np.array([token_ids], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.zeros_like(ids)}
    for _ in range(10):
        session.run(None, feed)
    path = session.end_profiling()
    totals: dict[str, float] = {}
    for event in json.loads(Path(path).read_text()):
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            op = event["args"].get("op_name", "?")
            totals[op] = totals.get(op, 0.0) + float(event["dur"])
    Path(path).unlink(missing_ok=True)
    whole = sum(totals.values()) or 1.0
    return ", ".join(f"{op} {100 * t / whole:.0f}%"
                     for op, t in sorted(totals.items(), key=lambda kv: -kv[1]))


def machine_block(load_before: tuple[float, float, float], extra: dict[str, str]) -> str:
    """Markdown lines describing the machine and the libraries."""
    import onnxruntime as ort

    cpu = cpu_info()
    flags = cpu.get("flags", {})
    lines = [
        (f"- CPU: {cpu['model']} (family {cpu.get('family', '?')}, model "
        f"{cpu.get('model_number', '?')}), {cpu['cores']} cores, {memory_gib():.0f} GiB"),
        "- flags: " + ", ".join(f"{f} {'yes' if on else 'no'}" for f, on in flags.items()),
        (f"- Python {platform.python_version()}, numpy {np.__version__} "
        f"(BLAS: {numpy_blas()}), SQLite {sqlite3.sqlite_version}"),
        (f"- onnxruntime {ort.__version__}, execution providers: "
        f"{', '.join(ort.get_available_providers())} (CPUExecutionProvider used)"),
        f"- load average before: {' / '.join(f'{x:.2f}' for x in load_before)}",
    ]
    lines += [f"- {key}: {value}" for key, value in extra.items()]
    return "\n".join(lines)
