"""benchmarks/time_to_accuracy.py: the pair ratio, and one smoke run of the script."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[2]
_PATH = _ROOT / "benchmarks" / "time_to_accuracy.py"
_spec = importlib.util.spec_from_file_location("time_to_accuracy", _PATH)
tta = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tta)


def _row(to_target, seconds):
    return {"time_to_target_s": to_target, "train_seconds": seconds}


def test_pair_ratio_uses_the_seeds_time_to_target_when_it_got_there():
    pair = tta.pair_figures(_row(60.0, 100.0), _row(20.0, 30.0))
    assert pair["ratio"] == pytest.approx(1 / 3, abs=1e-3) and pair["seed_reached"]
    assert pair["seed_seconds"] == 60.0 and "0.333" in pair["explained"]


def test_pair_ratio_is_an_upper_bound_when_the_seed_never_got_there():
    pair = tta.pair_figures(_row(None, 120.0), _row(30.0, 30.0))
    assert pair["ratio"] == 0.25 and not pair["seed_reached"]
    assert "true ratio is smaller" in pair["explained"]


def test_pair_ratio_is_none_when_the_fast_recipe_missed():
    pair = tta.pair_figures(_row(60.0, 100.0), _row(None, 30.0))
    assert pair["ratio"] is None and "did not reach" in pair["explained"]


def test_script_runs_pairs_side_by_side_and_writes_the_median(tmp_path):
    out = tmp_path / "tta.json"
    env = {**os.environ, "CNN_COURSE_FAST": "1"}
    proc = subprocess.run([sys.executable, str(_PATH), "--pairs", "2", "--target", "0.3",
                           "--json", str(out)], cwd=_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert [r["name"] for r in result["runs"]] == ["seed (cnn1)", "fast"]
    assert len(result["pairs"]) == 2 and "pair 2:" in proc.stdout
    ratios = sorted(p["ratio"] for p in result["pairs"])
    assert result["fast_over_seed"] == pytest.approx(sum(ratios) / 2, abs=1e-3)
    assert "median of 2 pair(s)" in proc.stdout


def test_script_rejects_zero_pairs():
    proc = subprocess.run([sys.executable, str(_PATH), "--pairs", "0"], cwd=_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--pairs must be at least 1" in proc.stderr
