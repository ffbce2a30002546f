"""Where the feed thresholds come from: cosine similarities of the bundled encoder on news titles.

    python benchmarks/feed_similarity.py

Prints the similarity of reworded titles (should be duplicates), different stories on one subject (should
not), on-topic items against topic keywords (relevant) and off-topic ones (not). The defaults
``scheduler.feed_duplicate_similarity`` and ``scheduler.feed_relevance`` sit between those groups.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bot.config import SchedulerSettings

SAME_STORY = [
    ("New espresso machine launched", "New Espresso Machine Launched!"),
    ("Coffee prices hit a ten-year high", "Coffee prices hit 10-year high"),
    ("City opens its first specialty coffee museum", "First specialty coffee museum opens in the city"),
]
OTHER_STORY = [
    ("New espresso machine launched", "Espresso prices rise in Europe"),
    ("New espresso machine launched", "Breville unveils a new espresso maker"),
    ("Coffee prices hit a ten-year high", "Coffee shop opens downtown"),
]
TOPICS = ["espresso", "latte", "coffee brewing", "how do I descale my espresso machine"]
ON_TOPIC = ["Espresso prices rise in Europe", "Latte art championship results", "Five tips for brewing coffee at home"]
OFF_TOPIC = ["Football results tonight", "Tea ceremony guide", "Stock markets close lower"]


def main() -> None:
    from models.encoder import load_default_encoder

    started = time.perf_counter()
    encoder = load_default_encoder()
    print(f"encoder loaded in {time.perf_counter() - started:.1f} s")

    def pair_sims(pairs: list[tuple[str, str]]) -> list[float]:
        left = encoder.encode_queries([a for a, _ in pairs])
        right = encoder.encode_queries([b for _, b in pairs])
        return [float(x) for x in np.sum(left * right, axis=1)]

    def topic_sims(texts: list[str]) -> list[float]:
        vectors = encoder.encode_queries(texts)
        topics = encoder.encode_queries(TOPICS)
        return [float(x) for x in (vectors @ topics.T).max(axis=1)]

    settings = SchedulerSettings()
    same, other = pair_sims(SAME_STORY), pair_sims(OTHER_STORY)
    on, off = topic_sims(ON_TOPIC), topic_sims(OFF_TOPIC)
    print(
        f"duplicates   same story min {min(same):.3f} | other story max {max(other):.3f} "
        f"| threshold {settings.feed_duplicate_similarity:.2f}"
    )
    print(
        f"relevance    on topic   min {min(on):.3f} | off topic   max {max(off):.3f} "
        f"| threshold {settings.feed_relevance:.2f}"
    )
    for label, values, texts in (("same", same, SAME_STORY), ("other", other, OTHER_STORY)):
        for value, (a, b) in zip(values, texts, strict=True):
            print(f"  {label:5} {value:.3f}  {a!r} ~ {b!r}")
    for label, values, items in (("on", on, ON_TOPIC), ("off", off, OFF_TOPIC)):
        for value, text in zip(values, items, strict=True):
            print(f"  {label:5} {value:.3f}  {text!r}")


if __name__ == "__main__":
    main()
