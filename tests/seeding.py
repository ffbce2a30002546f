"""One replayable seed for tests that draw random kill points or traffic.

The seed comes from ``STEWARD_TEST_SEED`` when set, else from the system's randomness; it is printed
before the test starts, so a failure can be replayed with ``STEWARD_TEST_SEED=<seed> pytest <test>``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

SEED_ENV = "STEWARD_TEST_SEED"


class SeededRandom(random.Random):
    """A ``random.Random`` that remembers the seed it was made with (``replay_seed``)."""

    def __init__(self, replay_seed: int) -> None:
        super().__init__(replay_seed)
        self.replay_seed = replay_seed


def replayable_rng(test: str, announce: Callable[[str], None] = print) -> SeededRandom:
    """The seed from the environment (or a fresh one), announced before the test runs."""
    raw = os.environ.get(SEED_ENV, "").strip()
    seed = int(raw) if raw else random.SystemRandom().randrange(1, 2**31)
    announce(f"\n{test}: random seed {seed} (replay with {SEED_ENV}={seed})")
    return SeededRandom(seed)
