"""``python -m helpers.selfcheck``: does every notebook run here?  (``make test`` of the
student edition built by ``course bundle``.)

Runs every lecture in ``course/`` top to bottom and every assignment in ``release/`` up to its
first answer cell (the setup an unanswered notebook can run), each in a fresh kernel, and prints
one line per notebook with its time. Set ``CNN_COURSE_FAST=1`` for minutes instead of the
lectures' full runs. Exit status 0 when every notebook ran.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def setup_cells(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook cut before its first answer cell (nbgrader ``solution`` metadata).

    Args:
        nb: a notebook.

    Returns:
        A new notebook with the cells before the first ``solution`` cell.
    """
    cells = []
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            break
        cells.append(cell)
    nb = nbformat.from_dict({**nb, "cells": cells})
    return nb


def run_notebook(path: Path, setup_only: bool = False, timeout: int = 1800) -> float:
    """Execute ``path`` (in its folder) and return the seconds it took.

    Args:
        path: the ``.ipynb`` file.
        setup_only: run only the cells before the first answer cell (:func:`setup_cells`).
        timeout: the most seconds one cell may run.

    Returns:
        The wall-clock seconds of the execution, a float.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised; the message names it.
    """
    nb = nbformat.read(path, 4)
    if setup_only:
        nb = setup_cells(nb)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.selfcheck [--root DIR]``: run every notebook and report.

    Runs all cells of ``course/*.ipynb`` and the setup cells of ``release/ps*/*.ipynb``.

    Args:
        argv: the command-line arguments (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when every notebook ran, 1 when one failed, 2 when there were
        no notebooks.
    """
    parser = argparse.ArgumentParser(prog="python -m helpers.selfcheck",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the folder with course/ and release/")
    args = parser.parse_args(argv)
    root = Path(args.root)
    jobs = [(p, False) for p in sorted((root / "course").glob("*.ipynb"))]
    jobs += [(p, True) for p in sorted((root / "release").glob("ps*/*.ipynb"))]
    if not jobs:
        print(f"no notebooks under {root.resolve()}/course or /release", file=sys.stderr)
        return 2
    failed = []
    for i, (path, setup_only) in enumerate(jobs, 1):
        what = "setup" if setup_only else "all cells"
        try:
            seconds = run_notebook(path, setup_only)
            print(f"[{i}/{len(jobs)}] ok    {path.relative_to(root)} ({what}, {seconds:.0f} s)",
                  flush=True)
        except CellExecutionError as error:
            failed.append(path)
            print(f"[{i}/{len(jobs)}] FAIL  {path.relative_to(root)}: {str(error)[-600:]}",
                  flush=True)
    print(f"{len(jobs) - len(failed)} of {len(jobs)} notebooks ran")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
