"""``steward analyze EXPORT.json [--out DIR] [--faq-out FILE]``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.analyze.engine import (
    DEFAULT_BATCH,
    DEFAULT_MIN_COUNT,
    DEFAULT_SIMILARITY,
    Analysis,
    Encoder,
    SentimentModel,
    analyze,
)
from bot.analyze.export import ExportError, load_export
from bot.analyze.report import ReportFiles, write_faq_candidates, write_report
from bot.cli.common import SubParsers, add_command

EXIT_BAD_INPUT = 2
EXIT_NO_MODEL = 1

__all__ = ["AnalyzeResult", "register", "run_analyze"]

HELP = "analyse a Telegram Desktop chat export (result.json) offline into an HTML report"
DESCRIPTION = (
    "Reads a Telegram Desktop chat export (JSON), runs sentiment and question detection over "
    "the history and writes report.html with charts. The last line printed is the report's path."
)


@dataclass(frozen=True, slots=True)
class AnalyzeResult:
    analysis: Analysis
    files: ReportFiles
    faq_entries: int | None


def _load_models() -> tuple[SentimentModel, Encoder]:
    from models import encoder, sentiment

    return sentiment.load_default(), encoder.load_default_encoder()


def run_analyze(
    export_path: Path,
    out_dir: Path,
    *,
    faq_out: Path | None = None,
    model: SentimentModel | None = None,
    encoder: Encoder | None = None,
    load_models: Callable[[], tuple[SentimentModel, Encoder]] | None = None,
    timezone: str = "UTC",
    similarity: float = DEFAULT_SIMILARITY,
    min_count: int = DEFAULT_MIN_COUNT,
    batch_size: int = DEFAULT_BATCH,
    locale: str = "en",
    progress: bool = False,
    log: Callable[[str], None] = lambda line: None,
) -> AnalyzeResult:
    """Read, analyse, write. Raises :class:`ExportError` for a bad export or timezone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ExportError(f"unknown timezone {timezone!r} (use an IANA name like Europe/Berlin)") from None
    export = load_export(export_path)
    log(f"read {len(export.messages)} messages and {len(export.events)} service messages from {export_path}")
    if model is None or encoder is None:
        started = time.perf_counter()
        loaded_model, loaded_encoder = (load_models or _load_models)()
        model = model or loaded_model
        encoder = encoder or loaded_encoder
        log(f"loaded the bundled models in {time.perf_counter() - started:.1f} s")
    bar: Any = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(
            total=sum(1 for m in export.messages if m.text),
            desc="sentiment",
            unit="msg",
            file=sys.stderr,
            dynamic_ncols=True,
        )
    try:
        analysis = analyze(
            export,
            model,
            encoder,
            zone=zone,
            zone_name=timezone,
            similarity=similarity,
            min_count=min_count,
            batch_size=batch_size,
            progress=bar.update if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    entries = write_faq_candidates(analysis, faq_out) if faq_out is not None else None
    files = write_report(analysis, out_dir, locale=locale, faq_file=faq_out)
    return AnalyzeResult(analysis, files, entries)


def _summary(result: AnalyzeResult) -> list[str]:
    a = result.analysis
    lines = [
        f"{a.name}: {a.messages} messages from {a.members} members, {a.joins} joins",
        f"questions: {a.questions.asked} asked, {a.questions.answered} answered, {len(a.unanswered)} unanswered; "
        f"{len(a.clusters)} FAQ candidates ({a.unanswered_in_clusters} questions)",
        f"mood: {a.sentiment.negative} negative, {a.sentiment.neutral} neutral, {a.sentiment.positive} positive",
    ]
    if a.negative_threads:
        top = a.negative_threads[0]
        lines.append(
            f"most negative thread: #{top.root.id} by {top.root.author or '?'} "
            f"({top.negative} negative of {top.messages} messages, {top.participants} people)"
        )
    if result.faq_entries is not None:
        lines.append(f"FAQ candidates: {result.faq_entries} disabled entries written (fill in the answers)")
    lines.append(f"charts: {', '.join(p.name for p in result.files.charts) or 'none'}")
    return lines


def cmd_analyze(args: argparse.Namespace) -> int:
    export_path: Path = args.export
    out_dir: Path = args.out or Path(f"{export_path.stem}-report")

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    options = {name: getattr(args, name) for name in ("faq_out", "timezone", "similarity", "min_count", "batch_size")}
    try:
        result = run_analyze(export_path, out_dir, locale=args.lang, progress=not args.no_progress, log=log, **options)
    except ExportError as exc:
        print(f"steward analyze: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, RuntimeError, ImportError) as exc:
        # The models are the only thing that can fail this way once the export is read.
        print(f"steward analyze: could not run the bundled models: {exc}", file=sys.stderr)
        return EXIT_NO_MODEL
    for line in _summary(result):
        print(line)
    print(result.files.html)
    return 0


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError("must be in (0, 1]")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    p = add_command(sub, common, "analyze", HELP, DESCRIPTION)
    p.add_argument("export", type=Path, metavar="EXPORT.json", help="the export's result.json")
    p.add_argument(
        "--out", type=Path, default=None, help="folder for report.html and the charts (default: ./<export name>-report)"
    )
    p.add_argument(
        "--faq-out",
        type=Path,
        default=None,
        metavar="FILE",
        help="also write the FAQ candidates as disabled entries in the FAQ import format (TOML)",
    )
    p.add_argument("--timezone", default="UTC", help="IANA timezone for days and times (default UTC)")
    p.add_argument(
        "--similarity",
        type=_probability,
        default=DEFAULT_SIMILARITY,
        help=f"cosine similarity that groups two questions (default {DEFAULT_SIMILARITY})",
    )
    p.add_argument(
        "--min-count",
        type=_positive,
        default=DEFAULT_MIN_COUNT,
        help=f"times a question must be asked to be an FAQ candidate (default {DEFAULT_MIN_COUNT})",
    )
    p.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH, help="texts per model batch")
    p.add_argument("--lang", default="en", help="language of the report (en, ru, he)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=cmd_analyze)
