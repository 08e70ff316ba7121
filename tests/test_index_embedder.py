"""Embedders: the hashing stand-in, settings, and (slow) the real model via ONNX int8."""

from __future__ import annotations

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
