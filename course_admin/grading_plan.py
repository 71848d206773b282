"""Which cell of a submission runs where: the plan of split grading.

:func:`plan` reads the instructor's notebook (``source/``) and a submission side by side and
makes one :class:`Step` per cell: course cells run in both processes, the student's answers
and added cells only in the sandboxed student process, every test cell (hidden part included)
in the trusted grader from ``source/``, never from the submission, so an edited or deleted
test still runs. :mod:`course_admin.split_grading` executes the plan.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import nbformat

from course_admin.intake import normalised_source as _norm
from course_admin.intake import restore_metadata
from course_admin.report import split_hidden


@dataclass
class Step:
    """One cell of the grading walk."""

    kind: str  # "course", "student", "test" or "text"
    cell: nbformat.NotebookNode  # the autograded notebook's cell (outputs filled in here)
    grade_id: str | None = None
    label: str = ""
    points: float = 0.0
    #: what runs in the sandbox (a test's visible part; nothing for text)
    sandbox_source: str = ""
    #: what runs in the trusted process (course cells and whole tests)
    trusted_source: str = ""


def _meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def plan(source: nbformat.NotebookNode, submission: nbformat.NotebookNode, name: str,
         flags: list[str]) -> tuple[list[Step], nbformat.NotebookNode]:
    """The grading walk and the autograded notebook it fills.

    Follows the submission's order; course and test cells come from ``source`` (edits to
    them are ignored, deleted ones restored in place), answer cells from the submission,
    cells the student added run as student code.
    """
    release = copy.deepcopy(source)  # what students got: hidden tests out
    for cell in release.cells:
        if _meta(cell).get("locked"):
            cell.source = split_hidden(cell.source)[0]
    submission = copy.deepcopy(submission)
    restored = restore_metadata(release, submission)
    if restored:
        flags.append(f"{name}.ipynb: nbgrader metadata of {restored} cell(s) was missing: "
                     "matched to the release by content")
    _locked_notes(release, submission, name, flags)
    by_id = {_meta(c)["grade_id"]: c for c in source.cells if _meta(c).get("grade_id")}
    order = [g for g in (_meta(c).get("grade_id") for c in source.cells) if g]
    seen: set[str] = set()
    steps: list[Step] = []
    placed: dict[str, int] = {}
    for cell in submission.cells:
        gid = _meta(cell).get("grade_id")
        if gid in by_id and gid not in seen:
            seen.add(gid)
            placed[gid] = len(steps)
            steps.append(_step(by_id[gid], cell, name, flags))
        elif cell.get("cell_type") == "code":
            if gid in seen:
                flags.append(f"{name}.ipynb: a second cell {gid!r} was run as an ordinary cell")
            plain = nbformat.v4.new_code_cell(cell.get("source", ""))
            steps.append(Step("student", plain, sandbox_source=plain.source))
        else:
            steps.append(Step("text", copy.deepcopy(cell)))
    for i, gid in enumerate(order):  # restore deleted cells after their predecessor
        if gid in seen:
            continue
        src = by_id[gid]
        before = next((placed[g] + 1 for g in reversed(order[:i]) if g in placed), 0)
        step = _step(src, None, name, flags)
        steps.insert(before, step)
        for g, pos in placed.items():
            if pos >= before:
                placed[g] = pos + 1
        placed[gid] = before
    notebook = copy.deepcopy(submission)
    notebook.cells = [s.cell for s in steps]
    return steps, notebook


def _locked_notes(release: nbformat.NotebookNode, submission: nbformat.NotebookNode,
                  name: str, flags: list[str]) -> None:
    """Flag the course's cells that the student edited or deleted (both are restored)."""
    mine: dict[str, str] = {}
    for cell in submission.cells:
        mine.setdefault(_meta(cell).get("grade_id") or "", cell.get("source", ""))
    for cell in release.cells:
        gid = _meta(cell).get("grade_id")
        if not gid or not _meta(cell).get("locked"):
            continue
        if gid not in mine:
            flags.append(f"locked cell {gid!r} deleted: restored from the source and graded")
        elif _norm(mine[gid]) != _norm(cell.source):
            flags.append(f"locked cell {gid!r} edited: restored from the source")


def _step(src: nbformat.NotebookNode, sub: nbformat.NotebookNode | None, name: str,
          flags: list[str]) -> Step:
    """The step of one source cell, ``sub`` being the student's copy (None: deleted)."""
    meta = _meta(src)
    gid = meta["grade_id"]
    points = float(meta.get("points", 0) or 0)
    if meta.get("solution"):
        if sub is None:
            flags.append(f"{name}.ipynb: answer cell {gid!r} deleted: graded as empty")
            cell = nbformat.v4.new_code_cell("") if src.cell_type == "code" else \
                nbformat.v4.new_markdown_cell("")
            cell.metadata = copy.deepcopy(src.metadata)
        else:
            cell = copy.deepcopy(sub)
            if cell.cell_type != src.cell_type:
                flags.append(f"{name}.ipynb: the 'cell_type' for cell {gid!r} was changed to "
                             f"{cell.cell_type}: graded as {src.cell_type}")
                fresh = (nbformat.v4.new_code_cell if src.cell_type == "code"
                         else nbformat.v4.new_markdown_cell)(cell.source)
                fresh.metadata, cell = cell.metadata, fresh
        if src.cell_type != "code":
            return Step("text", cell, gid, gid, points)
        return Step("student", cell, gid, gid, points, sandbox_source=cell.source)
    cell = copy.deepcopy(src)
    if src.cell_type != "code":
        return Step("text", cell, gid)
    if meta.get("grade"):
        visible, _ = split_hidden(src.source)
        return Step("test", cell, gid, gid, points, sandbox_source=visible,
                    trusted_source=src.source)
    return Step("course", cell, gid, gid, sandbox_source=src.source,
                trusted_source=src.source)
