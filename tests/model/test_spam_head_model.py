"""benchmarks/spam.py --encoder-head with the real bundled e5 encoder: every route reports dev and test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

ROOT = Path(__file__).resolve().parents[2]
DATASET = ROOT.parent / "shared" / "datasets" / "tg-spam-samples"


@pytest.mark.skipif(not DATASET.exists(), reason="../shared/datasets is absent")
def test_encoder_head_route_reports_every_route_on_dev_and_test() -> None:
    out = subprocess.run(
        [sys.executable, "benchmarks/spam.py", "--json", "--encoder-head", "--data", str(DATASET)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result = json.loads(out.stdout)["encoder_head"]
    routes = result["routes"]
    assert set(routes) == {"lexical", "e5_head", "average", "baseline"}
    for name, route in routes.items():
        for split in ("dev", "test"):
            for lang in ("en", "ru", "he", "all"):
                row = route[split][lang]
                assert row["n"] > 0 and row["tp"] + row["fn"] == row["spam"]
        if name != "baseline":
            # The threshold rule (precision >= 0.98 out of fold) holds on dev for every fitted route.
            assert route["dev"]["all"]["precision"] >= 0.98
    # The lexical route's out-of-fold threshold is the shipped model's (same data, same rule).
    assert abs(routes["lexical"]["threshold"]["out_of_fold"] - routes["lexical"]["threshold"]["model"]) < 1e-3
    assert result["speed"]["e5_batched_msgs_per_s"] > 0 and result["speed"]["embedding_dim"] == 384
