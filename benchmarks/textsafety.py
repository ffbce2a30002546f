"""Text-safety benchmark: question and small-talk detection on hostile text vs ordinary text.

Usage::

    python benchmarks/textsafety.py [--repeats 18] [--json]

Baseline: ``is_question`` + ``is_small_talk`` on an ordinary 4096-character member message. Then the
same calls on 4096-character messages built from repeated greetings and addressees (the text that made
the old ``_ONLY_POLITE`` backtrack). For comparison, the old pattern (Python's engine, rebuilt here from
the same word lists) is timed on ``--repeats`` repetitions of "hi there " + "x" only: it doubles with
every few more repetitions, so a full message would not finish. Prints milliseconds per call, ratios to
the baseline and the load average. With ``--json`` the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.services import questions


def _message(pieces: list[str], tail: str) -> str:
    unit = " ".join(pieces) + " "
    return (unit * (4096 // len(unit) + 1))[: 4096 - len(tail)] + tail


def _best_ms(call: object, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=18, help="repetitions of 'hi there' for the old pattern")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    ordinary = _message(["the meetup moved to Friday, bring your own", "coffee and a laptop please"], "?")
    hostile = {
        "en": _message(["hi", "there"], "x"),
        "en-mixed": _message(["hello there", "all", "thanks again"], "?"),
        "ru": _message(["привет", "всем", "спасибо", "ещё раз"], "как"),
        "he": _message(["שלום", "חברים", "תודה רבה"], "?"),
    }

    def detect(text: str) -> object:
        return lambda: (questions.is_question(text), questions.is_small_talk(text))

    baseline = _best_ms(detect(ordinary))
    figures = {name: _best_ms(detect(text)) for name, text in hostile.items()}
    old = re.compile(
        rf"^(?:(?:{questions._GREETING}|{questions._THANKS})(?: {questions._ADDRESSEE})?"
        r"(?: (?:again|ещё раз|еще раз|שוב))?\s*)+$",
        re.IGNORECASE,
    )
    short = "hi there " * args.repeats + "x"
    old_ms = _best_ms(lambda: old.match(short), runs=1)
    new_ms = _best_ms(lambda: questions._ONLY_POLITE.match(short))
    load = os.getloadavg()

    print(f"ordinary 4096-char message: {baseline:.2f} ms (is_question + is_small_talk)")
    for name, ms in figures.items():
        print(f"hostile {name:9s} 4096 chars: {ms:.2f} ms  ({ms / baseline:.2f}× the ordinary message)")
    print(
        f"'hi there' × {args.repeats} + 'x' ({len(short)} chars): old pattern {old_ms:.1f} ms, "
        f"RE2 pattern {new_ms:.3f} ms ({old_ms / new_ms:,.0f}× faster)"
    )
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        print(
            json.dumps(
                {
                    "baseline_ms": baseline,
                    "hostile_ms": figures,
                    "old_ms": old_ms,
                    "new_ms": new_ms,
                    "repeats": args.repeats,
                    "loadavg": load,
                }
            )
        )


if __name__ == "__main__":
    main()
