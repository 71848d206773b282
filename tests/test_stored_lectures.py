"""The lectures are stored from one full-mode run each: what a student opens is the lecture's
result, not a fast-mode preview."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers.mode import RunMode

ROOT = Path(__file__).resolve().parent.parent
LECTURES = sorted((ROOT / "course").glob("*.ipynb"))
FULL_BANNER = RunMode(fast=False).banner()


def _stream_text(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    return [(i, out.get("text", "")) for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" for out in cell.get("outputs", [])
            if out.get("output_type") == "stream"]


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_lecture_is_stored_from_a_full_mode_run(path):
    nb = nbformat.read(path, as_version=4)
    texts = _stream_text(nb)
    banners = [(i, t) for i, t in texts if "mode" in t and ("FULL mode" in t or "FAST mode" in t)]
    assert banners, f"{path.name}: no stored mode banner (print(mode.banner()))"
    for index, text in banners:
        assert FULL_BANNER in text, (
            f"{path.name} cell {index} was stored from a fast-mode run: rerun it with "
            "`benchmarks/notebook_suite.py --full --store` and commit the outputs")


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_every_code_cell_of_a_lecture_has_run_in_order(path):
    nb = nbformat.read(path, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert None not in counts, f"{path.name}: a code cell was never run"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), (
        f"{path.name}: execution counts {counts} are not one top-to-bottom run")
