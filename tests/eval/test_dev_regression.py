"""Keeps the seeds dev-set figures from sliding: runs ../shared/eval/score.py on `python -m bot ask --jsonl`.

Targets (issue 3): hit@1 >= 12/13, hit@3 13/13, abstained >= 6/7, false abstentions <= 1/13,
0 verbatim violations, 0 bad highlights, no quote over 1,000 characters.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCORER = REPO.parent / "shared" / "eval" / "score.py"
DEV = REPO.parent / "shared" / "eval" / "seeds-dev.jsonl"
CALIB = REPO / "tests" / "eval" / "seeds-calib.jsonl"


def _score(qa: Path, tmp_path: Path) -> dict:
    env = dict(os.environ, VERBATIM_DB=str(tmp_path / "index.db"), VERBATIM_QUIET_BUILD="1")
    cmd = f"{sys.executable} -m bot ask --jsonl --corpus {REPO / 'seeds'}"
    proc = subprocess.run([sys.executable, str(SCORER), str(qa), "--corpus", str(REPO / "seeds"), "--cmd", cmd],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not SCORER.exists(), reason="../shared/eval is not beside the repo")
def test_dev_set_figures_hold(tmp_path):
    m = _score(DEV, tmp_path)
    assert m["verbatim_violations"] == 0 and m["malformed"] == 0
    assert m["bad_highlights"] == 0 and m["long_quotes"] == 0
    assert m["hit_at_1"] >= 100 * 12 / 13 - 0.1
    assert m["hit_at_3"] == 100.0
    assert m["abstain_ok"] >= 100 * 6 / 7 - 0.1
    assert m["false_abstain"] <= 100 * 1 / 13 + 0.1


@pytest.mark.skipif(not SCORER.exists() or not CALIB.exists(), reason="scorer or calibration set missing")
def test_calibration_set_figures_do_not_slide(tmp_path):
    """Floors a little under the figures reported in the README, so real regressions fail."""
    m = _score(CALIB, tmp_path)
    assert m["verbatim_violations"] == 0 and m["bad_highlights"] == 0 and m["long_quotes"] == 0
    assert m["hit_at_1"] >= 62.0
    assert m["false_abstain"] <= 30.0
    assert m["abstain_ok"] >= 78.0
