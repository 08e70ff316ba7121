"""The int8 model with its weights in a file of their own, which ONNX Runtime memory-maps.

A model whose weights are inside the ``.onnx`` file is parsed into each process's own
memory: every web worker held a private copy of all-MiniLM-L6-v2's weights (58 MB, mostly
the fp32 word embeddings) plus the bytes of its unmasked copy (``without_padding_mask``).
With the weights stored as ONNX *external data* at page-aligned offsets, ONNX Runtime maps
that file read-only instead of reading it (CPU provider, offsets aligned to the page
size); the pages are the page cache's, shared by every process that runs the model, and
only the rows of the word embeddings that queries touch are ever read. What stays
private per session is what ONNX Runtime derives from the weights (the int8 MatMul
weights prepacked for its kernels, ~13 MB) and its activation buffers.

``mapped_models(onnx_path)`` writes, once, beside the model in the cache directory:

- ``<stem>.weights``: every initializer of at least ``EXTERNAL_MIN_BYTES``, each at an
  offset aligned to ``ALIGNMENT``;
- ``<stem>-mapped.onnx``: the graph as exported, its large initializers pointing there;
- ``<stem>-unmasked-mapped.onnx``: the same graph without the attention's padding mask
  (see ``drop_padding_mask``), pointing at the same weights, when the model has one.

Both graphs are small files; the weights are the same bytes as in the original model, so
the vectors are identical to those of the original file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from paperfeed.index.saved_arrays import build_lock

log = logging.getLogger(__name__)

ALIGNMENT = 64 * 1024  # page size on every platform ONNX Runtime maps files on
EXTERNAL_MIN_BYTES = 16 * 1024  # smaller initializers (biases, norms) stay in the graph


def drop_padding_mask(model: Any) -> bool:
    """Remove the padding-mask input of the MultiHeadAttention nodes of an ONNX ModelProto
    (in place); True when there was one.

    Valid only for batches without padding: every position then is a real token, so the
    mask changes nothing, and without it ONNX Runtime's CPU kernel runs flash attention.
    """
    changed = False
    for node in model.graph.node:
        if node.op_type == "MultiHeadAttention" and len(node.input) > 4 and node.input[4]:
            node.input[4] = ""  # key_padding_mask (optional inputs are positional)
            while node.input and not node.input[-1]:
                node.input.pop()
            changed = True
    return changed


def mapped_paths(onnx_path: Path) -> tuple[Path, Path, Path]:
    """(weights, graph as exported, graph without padding mask) beside ``onnx_path``."""
    stem = onnx_path.name.removesuffix(".onnx")
    return (onnx_path.with_name(f"{stem}.weights"), onnx_path.with_name(f"{stem}-mapped.onnx"),
            onnx_path.with_name(f"{stem}-unmasked-mapped.onnx"))


def mapped_models(onnx_path: Path) -> tuple[Path, Path | None] | None:
    """(graph as exported, graph without padding mask or None when the model has no such
    mask), both with their weights in a memory-mapped file; built on first call (under the
    directory's build lock, so concurrent processes build it once) and again when
    ``onnx_path`` is newer. None when they cannot be written (a read-only cache
    directory): the caller then loads ``onnx_path`` itself."""
    weights, masked, unmasked = mapped_paths(onnx_path)
    try:
        if not _current(masked, onnx_path):
            # the lock file onnx_export's builder takes too (cache_dir/onnx/<model>/.build.lock)
            with build_lock(onnx_path.parent, ".build"):
                if not _current(masked, onnx_path):
                    _build(onnx_path, weights, masked, unmasked)
    except OSError as exc:
        log.warning("cannot write the memory-mapped model beside %s (%s): each process "
                    "loads its own copy", onnx_path, exc)
        return None
    return masked, (unmasked if unmasked.exists() else None)


def _current(path: Path, source: Path) -> bool:
    try:
        return path.stat().st_mtime_ns >= source.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def _build(onnx_path: Path, weights: Path, masked: Path, unmasked: Path) -> None:
    """Write the weights file, then the unmasked graph, then the graph as exported (last:
    its presence says the set is complete). Each file is renamed into place whole."""
    import onnx
    from onnx import TensorProto

    model = onnx.load(str(onnx_path))
    tmp_weights = weights.with_name(weights.name + ".tmp")
    with open(tmp_weights, "wb") as out:
        for tensor in model.graph.initializer:
            if len(tensor.raw_data) < EXTERNAL_MIN_BYTES:
                continue
            offset = -(-out.tell() // ALIGNMENT) * ALIGNMENT
            out.seek(offset)
            out.write(tensor.raw_data)
            length = len(tensor.raw_data)
            tensor.ClearField("raw_data")
            del tensor.external_data[:]
            for key, value in (("location", weights.name), ("offset", str(offset)),
                               ("length", str(length))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            tensor.data_location = TensorProto.EXTERNAL
    os.replace(tmp_weights, weights)
    graphs = [(masked, model.SerializeToString())]
    if drop_padding_mask(model):
        graphs.insert(0, (unmasked, model.SerializeToString()))
    else:
        unmasked.unlink(missing_ok=True)
    for path, data in graphs:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
