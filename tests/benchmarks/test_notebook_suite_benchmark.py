"""benchmarks/notebook_suite.py: the per-notebook timing, on tiny in-memory notebooks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "notebook_suite.py"
_spec = importlib.util.spec_from_file_location("notebook_suite", _PATH)
suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite)


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def test_times_kernel_start_and_each_cell_in_fast_mode(tmp_path):
    nb = _notebook("import os\nfast = os.environ['CNN_COURSE_FAST']",
                   "# the slow one\nimport time; time.sleep(0.3); print(fast, os.getcwd())")
    row = suite.time_notebook(nb, tmp_path, name="tiny.ipynb", import_cell=None, limit_s=0.2)
    assert row["notebook"] == "tiny.ipynb" and row["error"] is None
    assert row["kernel_start_s"] > 0 and row["import_s"] is None
    assert [c["index"] for c in row["cells"]] == [1, 2]
    assert row["slowest_cell"]["index"] == 2
    assert row["slowest_cell"]["first_line"] == "# the slow one"
    assert row["slowest_cell"]["seconds"] >= 0.3
    assert abs(row["own_work_s"] - sum(c["seconds"] for c in row["cells"])) < 0.02
    assert row["over_limit"] and row["total_s"] >= row["kernel_start_s"] + row["own_work_s"]
    # fast mode is on in the kernel and it runs in the notebook's folder; no file written
    assert nb.cells[2].outputs[0]["text"].split() == ["1", str(tmp_path)]
    assert list(tmp_path.iterdir()) == []
    assert "OVER" in suite.format_row(row, 0.2)


def test_a_failing_cell_is_reported_and_stops_the_notebook(tmp_path):
    nb = _notebook("x = 1", "y = x +\\\n  undefined_name", "never = 'run'")
    row = suite.time_notebook(nb, tmp_path, name="broken.ipynb", import_cell=None)
    err = row["error"]
    assert err["index"] == 2 and err["first_line"] == "y = x +\\"
    assert err["message"] == "NameError: name 'undefined_name' is not defined"
    assert [c["index"] for c in row["cells"]] == [1, 2]  # cell 3 never ran
    text = suite.format_row(row)
    assert "FAILED at cell 2" in text and "NameError" in text


def test_a_failing_import_cell_is_reported_as_cell_minus_one(tmp_path):
    row = suite.time_notebook(_notebook("x = 1"), tmp_path, import_cell="import no_such_module_x")
    assert row["error"]["index"] == -1 and "ModuleNotFoundError" in row["error"]["message"]
    assert row["cells"] == [] and row["import_s"] is not None and row["slowest_cell"] is None


def test_the_suite_is_every_course_and_source_notebook():
    names = [p.relative_to(suite.ROOT).as_posix() for p in suite.suite_notebooks()]
    assert names[0] == "course/00_convolution_basics.ipynb"
    assert "source/ps01/ps01_convolution_arithmetic.ipynb" in names
    assert all(n.startswith(("course/", "source/")) and n.endswith(".ipynb") for n in names)


def test_full_mode_runs_with_the_switch_off_and_stores_the_outputs(tmp_path):
    path = tmp_path / "lecture.ipynb"
    nbformat.write(_notebook("import os\nprint('fast =', os.environ['CNN_COURSE_FAST'])"), path)
    nb = nbformat.read(path, as_version=4)
    row = suite.time_notebook(nb, tmp_path, name="lecture.ipynb", fast=False, import_cell=None)
    assert suite.store_outputs(nb, path, row) is True
    stored = nbformat.read(path, as_version=4)
    assert stored.cells[1].outputs[0]["text"] == "fast = 0\n"
    assert stored.cells[1].execution_count == 1


def test_a_failed_run_leaves_the_notebook_file_untouched(tmp_path):
    path = tmp_path / "broken.ipynb"
    nbformat.write(_notebook("print('ran')", "raise RuntimeError('stop')"), path)
    before = path.read_bytes()
    nb = nbformat.read(path, as_version=4)
    row = suite.time_notebook(nb, tmp_path, name="broken.ipynb", fast=False, import_cell=None)
    assert row["error"]["message"] == "RuntimeError: stop"
    assert suite.store_outputs(nb, path, row) is False
    assert path.read_bytes() == before


def test_full_mode_defaults_to_the_lectures_only():
    names = [p.relative_to(suite.ROOT).as_posix()
             for p in suite.suite_notebooks(lectures_only=True)]
    assert names and all(n.startswith("course/") for n in names)
    assert len(names) == len(list((suite.ROOT / "course").glob("*.ipynb")))


def test_a_later_run_replaces_its_notebooks_rows_and_keeps_the_others(tmp_path):
    path = tmp_path / "full.json"
    first = {"fast": False, "results": [{"notebook": "course/00.ipynb", "own_work_s": 5.0},
                                        {"notebook": "course/07.ipynb", "own_work_s": 900.0}]}
    path.write_text(suite.json.dumps(first))
    later = {"fast": False, "results": [{"notebook": "course/07.ipynb", "own_work_s": 600.0},
                                        {"notebook": "course/03.ipynb", "own_work_s": 700.0}]}
    merged = suite.merge_results(path, later)
    assert [(r["notebook"], r["own_work_s"]) for r in merged["results"]] == [
        ("course/00.ipynb", 5.0), ("course/03.ipynb", 700.0), ("course/07.ipynb", 600.0)]
    # figures of the other mode, or no file, are not mixed in
    assert suite.merge_results(path, {**later, "fast": True})["results"] == later["results"]
    assert suite.merge_results(tmp_path / "none.json", later) is later


def test_the_extra_import_cell_leaves_every_cell_of_the_notebook_in_place(tmp_path):
    nb = _notebook("x = 1", "print(x)")
    nb.cells.append(nbformat.v4.new_markdown_cell("## Summary"))
    before = [(c.cell_type, c.source) for c in nb.cells]
    row = suite.time_notebook(nb, tmp_path, import_cell="import os")
    assert row["error"] is None and row["import_s"] is not None
    assert [(c.cell_type, c.source) for c in nb.cells] == before
    assert nb.cells[2].outputs[0]["text"] == "1\n" and nb.cells[1].execution_count == 1
