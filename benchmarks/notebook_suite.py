"""Time every notebook of course/ and source/, cell by cell, in fast mode or in full mode.

Each notebook runs in a fresh kernel (nbclient, the project's environment, the notebook's own
folder as working directory, ``CNN_COURSE_FAST=1``, or ``0`` with ``--full``), and three
things are timed apart:

* kernel start: from launching the kernel until it answers;
* import: one extra first cell, ``import helpers, tensorflow, keras``, added in memory only
  (the notebook file is never written), so the notebook's own cells find them imported;
* own work: each of the notebook's code cells, and their sum.

Prints one row per notebook (the slowest cell with its index in the notebook, 0-based and
counting markdown cells, and its first line) and flags a notebook whose own work is over the
limit (60 s in fast mode, 900 s with ``--full``).  A failing cell stops that notebook and is
reported with its index, first line and exception.  Also records the machine and
``os.getloadavg()`` before and after.

``--full`` runs full mode (default notebooks: the lectures, course/*.ipynb); ``--store`` writes
each notebook that ran without an error back to its file with the outputs of this run, so that
one run both times a lecture and gives it its stored outputs (the extra import cell is not
stored; a notebook with a failing cell is left as it was).

    .venv/bin/python benchmarks/notebook_suite.py [--json out.json] [--limit S] [NOTEBOOK ...]
    .venv/bin/python benchmarks/notebook_suite.py --full --store --json full.json [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parent.parent
IMPORT_CELL = "import helpers, tensorflow, keras"
LIMIT_S = 60.0
FULL_LIMIT_S = 900.0


def first_line(source: str) -> str:
    """The cell's first non-blank line that is not an nbval marker (``# NBVAL_...``), or
    ``""`` for an empty cell."""
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    for line in lines:
        if not line.startswith("# NBVAL_"):
            return line
    return lines[0] if lines else ""


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, CellExecutionError) and exc.ename:
        return f"{exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def time_notebook(nb: nbformat.NotebookNode, cwd: Path | str, *, name: str = "<notebook>",
                  fast: bool = True, cell_timeout: int = 1800,
                  import_cell: str | None = IMPORT_CELL, limit_s: float = LIMIT_S) -> dict:
    """Run ``nb`` in a fresh kernel and return its timings.

    The notebook object is executed as given (outputs land in it); nothing is written to disk.

    Returns a dict with ``notebook``, ``kernel_start_s``, ``import_s`` (``None`` without an
    import cell), ``own_work_s`` (sum of the code cells that ran), ``cells`` (``index``,
    ``first_line``, ``seconds`` per code cell that ran), ``slowest_cell`` (one of ``cells``, or
    ``None``), ``over_limit``, ``total_s`` and ``error``: ``None``, or ``index``,
    ``first_line`` and ``message`` of the cell that failed (``index`` -1 for the import cell);
    the cells after a failing one are not run.
    """
    env = dict(os.environ)
    env["CNN_COURSE_FAST"] = "1" if fast else "0"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    result: dict = {"notebook": name, "kernel_start_s": None, "import_s": None,
                    "own_work_s": 0.0, "cells": [], "slowest_cell": None,
                    "over_limit": False, "total_s": None, "error": None}
    start = time.perf_counter()
    client.km = client.create_kernel_manager()
    try:
        client.start_new_kernel(env=env)
        client.start_new_kernel_client()
        result["kernel_start_s"] = round(time.perf_counter() - start, 2)
        if import_cell:
            # nbclient writes an executed cell back to nb.cells[index]: run the extra cell in
            # front of the notebook's own cells and take it out again, so that it never
            # replaces one of them (and is never stored)
            cell = nbformat.v4.new_code_cell(import_cell)
            nb.cells.insert(0, cell)
            t0 = time.perf_counter()
            try:
                client.execute_cell(cell, 0, store_history=False)
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                result["error"] = {"index": -1, "first_line": import_cell,
                                   "message": _error_text(exc)}
            finally:
                nb.cells.pop(0)
            result["import_s"] = round(time.perf_counter() - t0, 2)
        if result["error"] is None:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                t0 = time.perf_counter()
                error = None
                try:
                    client.execute_cell(cell, index)
                except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                    error = {"index": index, "first_line": first_line(cell.source),
                             "message": _error_text(exc)}
                seconds = time.perf_counter() - t0
                result["cells"].append({"index": index, "first_line": first_line(cell.source),
                                        "seconds": round(seconds, 2)})
                result["own_work_s"] += seconds
                if error:
                    result["error"] = error
                    break
    finally:
        client._cleanup_kernel()
    result["own_work_s"] = round(result["own_work_s"], 2)
    if result["cells"]:
        result["slowest_cell"] = max(result["cells"], key=lambda c: c["seconds"])
    result["over_limit"] = result["own_work_s"] > limit_s
    result["total_s"] = round(time.perf_counter() - start, 2)
    return result


def suite_notebooks(root: Path = ROOT, lectures_only: bool = False) -> list[Path]:
    """Every notebook nbval runs: course/*.ipynb and source/*/*.ipynb, in order.

    Args:
        root: the repository root.
        lectures_only: only course/*.ipynb (what full mode reproduces).

    Returns:
        The notebooks' paths, lectures first.
    """
    lectures = sorted((root / "course").glob("*.ipynb"))
    return lectures if lectures_only else lectures + sorted((root / "source").glob("*/*.ipynb"))


def store_outputs(nb: nbformat.NotebookNode, path: Path, row: dict) -> bool:
    """Write the executed ``nb`` to ``path`` unless its run failed.

    Args:
        nb: the notebook :func:`time_notebook` executed (its outputs are this run's).
        path: where to write it (normally the file it was read from).
        row: :func:`time_notebook`'s result for it.

    Returns:
        True if written, False if the run had an error (the file is left untouched).
    """
    if row["error"] is not None:
        return False
    nbformat.write(nb, path)
    return True


def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def version(*dists: str) -> str | None:
        for dist in dists:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return None

    return {"machine": platform.machine(), "cpu": model or platform.processor(),
            "cores": os.cpu_count(), "python": platform.python_version(),
            "tensorflow": version("tensorflow-cpu", "tensorflow"), "keras": version("keras"),
            "platform": platform.platform()}


def format_row(row: dict, limit_s: float = LIMIT_S) -> str:
    slow = row["slowest_cell"]
    slow_text = (f"cell {slow['index']:>3} {slow['seconds']:7.1f} s  {slow['first_line'][:48]}"
                 if slow else "-")
    flag = f"  OVER {limit_s:.0f} s" if row["over_limit"] else ""
    text = (f"{row['notebook']:<48} {row['kernel_start_s'] or 0:6.1f} "
            f"{row['import_s'] or 0:7.1f} {row['own_work_s']:8.1f}  {slow_text}{flag}")
    if row["error"]:
        err = row["error"]
        text += f"\n    FAILED at cell {err['index']} ({err['first_line'][:60]}): {err['message']}"
    return text


def merge_results(path: Path, record: dict) -> dict:
    """``record`` merged into the figures already in ``path`` from a run in the same mode.

    A full-mode suite takes hours, so it is run a few lectures at a time: the rows of the
    notebooks run now replace their old rows, the other rows are kept (each row carries its
    own ``started`` and ``loadavg_before``), in suite order.

    Args:
        path: the JSON file (it may not exist yet).
        record: this run's figures, with ``fast`` and ``results``.

    Returns:
        The record to write: ``record`` itself when ``path`` is missing, unreadable or from
        the other mode; else ``record`` with the old rows of the other notebooks added.
    """
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return record
    if not isinstance(old, dict) or old.get("fast") != record["fast"]:
        return record
    ran = {row["notebook"] for row in record["results"]}
    rows = [row for row in old.get("results", []) if row.get("notebook") not in ran]
    merged = sorted(rows + record["results"], key=lambda row: row["notebook"])
    return {**record, "results": merged}


HEADER = (f"{'notebook':<48} {'kernel':>6} {'import':>7} {'own work':>8}  "
          "slowest cell (s, first line)\n" + "-" * 120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every notebook of course/ and source/")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--limit", type=float, default=None,
                        help="flag notebooks whose own work takes longer (s, default 60, "
                             "900 with --full)")
    parser.add_argument("--full", action="store_true",
                        help="full mode (CNN_COURSE_FAST=0); default notebooks: course/ only")
    parser.add_argument("--store", action="store_true",
                        help="write each notebook that ran without error back with its outputs")
    parser.add_argument("--cell-timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.limit is None:
        args.limit = FULL_LIMIT_S if args.full else LIMIT_S
    paths = [p.resolve() for p in args.notebooks] or suite_notebooks(lectures_only=args.full)
    info = machine_info()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()
    print(f"{'full' if args.full else 'fast'} mode; {info['cpu']} ({info['cores']} cores), "
          f"Python {info['python']}, "
          f"TensorFlow {info['tensorflow']}; load average before {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    print(HEADER, flush=True)
    rows = []
    for path in paths:
        try:
            name = str(path.relative_to(ROOT))
        except ValueError:
            name = str(path)
        nb = nbformat.read(path, as_version=4)
        row_started = datetime.now(UTC).isoformat(timespec="seconds")
        row_load = os.getloadavg()[0]
        row = time_notebook(nb, path.parent, name=name, fast=not args.full,
                            cell_timeout=args.cell_timeout, limit_s=args.limit)
        row["stored"] = store_outputs(nb, path, row) if args.store else False
        row["started"], row["loadavg_before"] = row_started, row_load
        rows.append(row)
        print(format_row(row, args.limit) + ("  (outputs stored)" if row["stored"] else ""),
              flush=True)
    load_after = os.getloadavg()
    over = [r["notebook"] for r in rows if r["over_limit"]]
    failed = [r["notebook"] for r in rows if r["error"]]
    print("-" * 120)
    kernel_s = sum(r['kernel_start_s'] or 0 for r in rows)
    print(f"{len(rows)} notebooks: kernel start {kernel_s:.1f} s, "
          f"import {sum(r['import_s'] or 0 for r in rows):.1f} s, "
          f"own work {sum(r['own_work_s'] for r in rows):.1f} s, "
          f"wall {sum(r['total_s'] for r in rows):.1f} s")
    print(f"over {args.limit:.0f} s of own work: {', '.join(over) or 'none'}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    if args.json:
        record = {"started": started, "machine": info, "fast": not args.full,
                  "limit_s": args.limit, "loadavg_before": list(load_before),
                  "loadavg_after": list(load_after), "results": rows}
        args.json.write_text(json.dumps(merge_results(args.json, record), indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
