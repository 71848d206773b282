"""Find the cell that kills the kernel, so the rest of a crashing notebook can be graded.

nbgrader gives no score at all to a notebook whose kernel dies (``os._exit``, a segfault):
the autograded copy is never written. :func:`find_crashing_cell` runs the submitted notebook
once more, cell by cell, in the job's (memory-limited) kernel and returns the index of the
cell during which the kernel died; :func:`neutralise_cell` replaces that cell by one that
raises, so a second nbgrader run grades every other cell normally and the crashing answer
scores zero like any other error.

Run as ``python -m course_admin.crash NOTEBOOK CELL_TIMEOUT``: prints the index (or
``none``). The grading job calls it in a subprocess with the job's environment and a timeout.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from course_admin.runner import run_command
from course_admin.sandbox import Sandbox

#: what the neutralised cell runs (an error, so its tests fail as for any wrong answer)
CRASH_SOURCE = ("raise RuntimeError('This cell stopped the Python kernel when it was graded "
                "(os._exit, a crash): it was not run.')")


def _locate(path: Path, cell_timeout: float) -> int | None:
    """Index of the cell during which the kernel died, or None if it never did."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                return index
            except CellTimeoutError:
                continue
            except RuntimeError:
                if client.km is not None and not client.km.is_alive():
                    return index
                raise
            if client.km is not None and not client.km.is_alive():
                return index
    return None


def find_crashing_cell(path: Path, cell_timeout: float, timeout: float,
                       env: dict[str, str], sandbox: Sandbox | None = None) -> int | None:
    """Run :func:`_locate` in a fresh process (``env`` added to the grading environment,
    under ``sandbox`` when given) and return its answer; None when it found no crash,
    failed or ran over ``timeout`` s."""
    status, log = run_command(
        [sys.executable, "-m", "course_admin.crash", str(path), str(cell_timeout)],
        path.parent, timeout, env, sandbox)
    if status is None:
        return None
    last = (log.strip().splitlines() or ["none"])[-1]
    return int(last) if last.isdigit() else None


def neutralise_cell(path: Path, index: int) -> str | None:
    """Replace code cell ``index`` of the notebook at ``path`` by :data:`CRASH_SOURCE`;
    return its grade id ('' for an ordinary cell), or None when it cannot be replaced (a
    locked cell, which nbgrader would restore, or an index out of range)."""
    nb = nbformat.read(path, as_version=4)
    if not 0 <= index < len(nb.cells) or nb.cells[index].cell_type != "code":
        return None
    meta = nb.cells[index].metadata.get("nbgrader", {})
    if meta.get("locked"):
        return None
    nb.cells[index].source = CRASH_SOURCE
    nbformat.write(nb, path)
    return meta.get("grade_id", "")


def main(argv: list[str] | None = None) -> None:
    """``python -m course_admin.crash NOTEBOOK CELL_TIMEOUT``: print the index."""
    args = sys.argv[1:] if argv is None else argv
    index = _locate(Path(args[0]), float(args[1]))
    print("none" if index is None else index)


if __name__ == "__main__":
    main()
