"""Embedders: the hashing stand-in, settings, and (slow) the real model via ONNX int8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperfeed.config import load_settings
from paperfeed.index.embedder import Embedder, HashingEmbedder, load_embedder


def test_hashing_embedder_is_deterministic_and_normalised():
    embedder = HashingEmbedder()
    a = embedder.embed(["Graph neural networks", "graph NEURAL networks", "", "cats"])
    assert a.dtype == np.float32 and a.shape == (4, 384)
    np.testing.assert_allclose(a[0], a[1])
    np.testing.assert_allclose(np.linalg.norm(a[[0, 3]], axis=1), 1.0, rtol=1e-5)
    assert not a[2].any()  # empty text: zero vector, not NaN
    assert isinstance(embedder, Embedder)


def test_load_embedder_follows_settings(tmp_path):
    settings = load_settings(embedding_backend="hashing", cache_dir=str(tmp_path))
    embedder = load_embedder(settings)
    assert embedder.model_id == "hashing-384" and embedder.dim == 384
    assert load_embedder(settings) is embedder  # loaded once per process


def test_missing_model_directory_is_a_clear_error(tmp_path):
    settings = load_settings(embedding_backend="torch", embedding_model=str(tmp_path / "nope"))
    with pytest.raises(ValueError, match="not a local model directory"):
        load_embedder(settings)


TEXTS = [
    "Reducing hubness in cross-modal retrieval of images and captions.",
    "Large language models solve multi-step reasoning problems with chains of thought.",
    "Graph neural networks predict molecule properties from atoms and bonds. " * 20,
    "日本語の論文検索",
    "",
]


@pytest.mark.slow
def test_onnx_int8_matches_torch_fp32(tmp_path):
    """The exported, quantised model gives the reference model's vectors (cosine > 0.99)."""
    onnx = load_embedder(load_settings(embedding_backend="onnx-int8", cache_dir=str(tmp_path)))
    torch = load_embedder(load_settings(embedding_backend="torch", cache_dir=str(tmp_path)))
    assert onnx.model_id == torch.model_id and onnx.model_id.startswith("all-MiniLM-L6-v2@")
    a, b = onnx.embed(TEXTS), torch.embed(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    cosines = (a * b).sum(axis=1)
    assert cosines[:3].min() > 0.99, cosines  # English titles and abstracts
    assert cosines[3:].min() > 0.95, cosines  # CJK and empty text: still the same vector
    assert (tmp_path / "onnx").exists()  # the derived model is cached, not rebuilt
    assert len(list((tmp_path / "onnx").rglob("*.onnx"))) >= 1


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory):
    """(cache dir, the int8 model built there): built once for the tests below."""
    from paperfeed.index.embedder import bundled_model_dir
    from paperfeed.index.onnx_export import quantized_model_path

    cache = tmp_path_factory.mktemp("onnx-cache")
    return cache, quantized_model_path(bundled_model_dir(), cache)


@pytest.mark.slow
def test_onnx_batches_pad_correctly_and_use_the_fused_model(int8_model):
    """Batches of texts of different lengths (right-padded) still give the reference vectors;
    the cached model is the fused recipe (MultiHeadAttention, quantised MatMuls); batches
    without padding run the copy without a padding mask and give the same vectors."""
    import onnx

    from paperfeed.index.embedder import OnnxEmbedder, bundled_model_dir, without_padding_mask
    from paperfeed.index.onnx_export import QUANTIZED_NAME, quantized_model_path

    model_dir = bundled_model_dir()
    cache, path = int8_model
    assert path.name == QUANTIZED_NAME
    assert quantized_model_path(model_dir, cache) == path  # cached
    ops = {node.op_type for node in onnx.load(str(path), load_external_data=False).graph.node}
    assert "MultiHeadAttention" in ops and "SkipLayerNormalization" not in ops, ops
    assert "MatMulInteger" in ops and "QAttention" not in ops, ops
    unmasked = onnx.load_from_string(without_padding_mask(path))
    attention = [n for n in unmasked.graph.node if n.op_type == "MultiHeadAttention"]
    assert attention and all(len(n.input) <= 4 for n in attention)
    embedder = OnnxEmbedder(model_dir, path, workers=1)
    assert embedder.unmasked
    one = embedder._embed_batch([embedder.tokenizer.encode(TEXTS[0]).ids])
    masked = embedder._masked_session(1)
    assert masked is not embedder.session
    ids = np.array([embedder.tokenizer.encode(TEXTS[0]).ids])
    hidden = masked.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                               "token_type_ids": np.zeros_like(ids)})[0].mean(axis=1)
    cosine = float((one @ hidden.T).item() / np.linalg.norm(one) / np.linalg.norm(hidden))
    assert cosine > 0.999, cosine
    reference = load_embedder(load_settings(embedding_backend="torch")).embed(TEXTS)
    query = OnnxEmbedder(model_dir, path, batch_size=4, workers=2)
    alone = query.embed(TEXTS[:1])
    assert query._parallel is None  # one query: no one-thread session built (web workers)
    for batch_size in (1, 4):
        vectors = OnnxEmbedder(model_dir, path, batch_size=batch_size, workers=2).embed(TEXTS)
        assert vectors.shape == (len(TEXTS), 384)
        if batch_size == 4:
            assert float(vectors[0] @ alone[0]) > 0.98  # per-batch activation scales
        # Not identical across batch sizes: dynamic quantisation scales activations per batch.
        cosines = (vectors * reference).sum(axis=1)
        assert cosines[:3].min() > 0.99 and cosines[3:].min() > 0.95, (batch_size, cosines)
    assert OnnxEmbedder(model_dir, path).embed([]).shape == (0, 384)


@pytest.mark.slow
def test_onnx_runs_one_session_per_core_this_process_may_use(int8_model, monkeypatch):
    """The default number of parallel runs follows the process's CPU affinity (taskset, a
    container's cpuset), not the machine's CPU count: extra runs would only take turns."""
    import os

    from paperfeed.index.embedder import OnnxEmbedder, bundled_model_dir

    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no CPU affinity on this OS")
    _, path = int8_model
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    for cores in ({0}, {0, 1, 2}):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, cores=cores: cores)
        assert OnnxEmbedder(bundled_model_dir(), path).workers == len(cores)
    assert OnnxEmbedder(bundled_model_dir(), path, workers=5).workers == 5


@pytest.mark.slow
def test_onnx_weights_are_memory_mapped_and_give_the_same_vectors(int8_model, monkeypatch):
    """The embedder runs graphs whose weights are in one file beside them, which ONNX
    Runtime maps (shared by every process) instead of a private copy per process; the
    vectors are exactly those of the model file itself, with and without padding."""
    from paperfeed.index import onnx_mapped
    from paperfeed.index.embedder import OnnxEmbedder, bundled_model_dir

    model_dir = bundled_model_dir()
    _, path = int8_model
    mapped = OnnxEmbedder(model_dir, path, workers=2)
    weights, masked, unmasked = onnx_mapped.mapped_paths(path)
    assert mapped.mapped and mapped.unmasked and mapped.onnx_path == masked
    assert weights.stat().st_size > 50e6  # all-MiniLM-L6-v2's weights, int8 + embeddings
    assert masked.stat().st_size < 1e6 and unmasked.stat().st_size < 1e6  # graphs only
    own = OnnxEmbedder(model_dir, path, workers=2, mapped_weights=False)
    assert not own.mapped and own.unmasked
    for text in TEXTS:  # one text per run: the unmasked graph
        np.testing.assert_array_equal(mapped.embed([text]), own.embed([text]))
    np.testing.assert_array_equal(mapped.embed(TEXTS, batch_size=4),  # padded: as exported
                                  own.embed(TEXTS, batch_size=4))
    maps = Path("/proc/self/maps")
    if maps.exists():  # ONNX Runtime mapped the weights file rather than reading it
        assert str(weights) in maps.read_text()
    built = masked.stat().st_mtime_ns
    assert onnx_mapped.mapped_models(path) == (masked, unmasked)
    assert masked.stat().st_mtime_ns == built  # built once, not per process

    def read_only(*args: object) -> None:
        raise PermissionError("read-only cache directory")

    monkeypatch.setattr(onnx_mapped, "_current", lambda *args: False)
    monkeypatch.setattr(onnx_mapped, "_build", read_only)
    fallback = OnnxEmbedder(model_dir, path, workers=2)  # loads the model file itself
    assert not fallback.mapped and fallback.onnx_path == path
    np.testing.assert_array_equal(fallback.embed(TEXTS[:1]), own.embed(TEXTS[:1]))


def test_fusion_is_skipped_for_other_models_and_when_it_fails(tmp_path, monkeypatch, caplog):
    """The transformer fusion is an optional speed-up: a non-BERT model or a failing fusion
    quantises the plain export instead (no model is loaded here)."""
    import json

    from onnxruntime.transformers import optimizer

    from paperfeed.index import onnx_export

    fp32 = tmp_path / onnx_export.FP32_NAME
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mpnet"}))
    assert onnx_export._fused(tmp_path, fp32) == fp32

    def broken(*args, **kwargs):
        raise ValueError("no such graph")

    monkeypatch.setattr(optimizer, "optimize_model", broken)
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "bert", "num_attention_heads": 12, "hidden_size": 384}))
    assert onnx_export._fused(tmp_path, fp32) == fp32
    assert "fusion failed" in caplog.text
