"""benchmarks/best_small_model.py: a smoke run in fast mode, and its argument checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = _ROOT / "benchmarks" / "best_small_model.py"


def test_smoke_run_with_other_filters_writes_its_figures(tmp_path):
    out = tmp_path / "best.json"
    proc = subprocess.run([sys.executable, str(_SCRIPT), "--budget-s", "120", "--filters", "8",
                           "16", "--json", str(out)], cwd=_ROOT, capture_output=True, text=True,
                          env={**os.environ, "CNN_COURSE_FAST": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["recipe"]["filters"] == [8, 16] and result["setting"] == "cpu"
    assert result["epochs"] >= 1 and 0 < result["test_accuracy"] <= 1
    assert result["test_accuracy_tta"] is not None  # the CPU setting adds flip TTA
    assert "with flip test-time augmentation" in proc.stdout


def test_non_positive_filters_are_refused_with_the_reason():
    proc = subprocess.run([sys.executable, str(_SCRIPT), "--filters", "32", "0"], cwd=_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--filters must be positive integers" in proc.stderr
