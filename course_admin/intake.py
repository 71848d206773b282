"""Make a submitted folder gradable, and say what was repaired.

Read leniently, match robustly, flag what was changed: a lone renamed notebook gets its
expected name; a duplicate saved beside the right name (``ps01-Copy1.ipynb``) is reported;
a UTF-8 byte-order mark or bytes that are not UTF-8 (Windows editors, a pasted comment) are
repaired; duplicate cell and grade ids are renumbered; nbgrader metadata that an editor
cleared is matched back to the release by content (:func:`restore_metadata`). Only a file
that is no notebook at all scores zero.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from pathlib import Path

import nbformat

_BOM = b"\xef\xbb\xbf"
_DUPLICATE = re.compile(r"^(?P<stem>.+?)(?:-Copy\d+| \(\d+\)| copy)$", re.IGNORECASE)


def read_lenient(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook at ``path`` and what had to be repaired to read it (a BOM removed,
    undecodable bytes replaced by U+FFFD). Raises on anything that is not a notebook."""
    data = path.read_bytes()
    repairs = []
    if data.startswith(_BOM):
        data = data[len(_BOM):]
        repairs.append("a UTF-8 byte-order mark removed")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        repairs.append("bytes that are not UTF-8 replaced by \N{REPLACEMENT CHARACTER}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbformat's DuplicateCellId: reported by the caller
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    return nb, repairs


def check_notebooks(folder: Path, expected: list[str], flags: list[str]) -> list[str]:
    """Repair what can be repaired in a job's copy of a submission; return the expected
    notebooks that are present and readable (see the module docstring)."""
    present = {p.stem for p in folder.glob("*.ipynb")}
    missing = [name for name in expected if name not in present]
    extra = sorted(p for p in folder.glob("*.ipynb") if p.stem not in expected)
    if len(missing) == 1 and len(extra) == 1:
        extra[0].rename(folder / f"{missing[0]}.ipynb")
        flags.append(f"notebook {extra[0].name!r} renamed to {missing[0]}.ipynb")
    else:
        if missing:
            flags.append(f"missing notebook(s): {', '.join(m + '.ipynb' for m in missing)}")
        for path in extra:
            match = _DUPLICATE.match(path.stem)
            if match and match["stem"] in expected and match["stem"] not in missing:
                flags.append(f"a duplicate {path.name!r} was handed in beside "
                             f"{match['stem']}.ipynb: {match['stem']}.ipynb was graded; "
                             "check whether the work is in the duplicate")
    ok = []
    for name in expected:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        try:
            nb, repairs = read_lenient(path)
        except Exception as exc:  # noqa: BLE001  (any unreadable file is the student's)
            flags.append(f"{name}.ipynb is not a valid notebook ({type(exc).__name__}); scored 0")
            path.unlink()
            continue
        ok.append(name)
        changed = bool(repairs)
        if repairs:
            flags.append(f"{name}.ipynb repaired: {', '.join(repairs)}")
        raw = json.loads(path.read_bytes().removeprefix(_BOM).decode("utf-8", "replace"))
        ids = [c.get("id") for c in raw.get("cells", []) if c.get("id")]
        if len(ids) != len(set(ids)):  # nbformat.reads gave the duplicates fresh ids
            changed = True
            flags.append(f"{name}.ipynb has duplicate cell ids: renumbered")
        seen: set[str] = set()
        for cell in nb.cells:  # nbgrader refuses duplicate grade ids: keep the first
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in seen:
                del cell.metadata["nbgrader"]
                changed = True
                flags.append(f"{name}.ipynb: duplicate of cell {grade_id!r} made a plain cell")
            elif grade_id:
                seen.add(grade_id)
        if changed:
            nbformat.write(nb, path)
    return ok


def normalised_source(source: str) -> str:
    """Source text compared without blank lines and trailing spaces."""
    return "\n".join(line.rstrip() for line in source.splitlines() if line.strip())


def _gid(cell: nbformat.NotebookNode) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade_id")


def restore_metadata(release: nbformat.NotebookNode, submission: nbformat.NotebookNode
                     ) -> int:
    """Give cells whose nbgrader metadata was cleared (nbconvert's ClearMetadata, some
    editors) their metadata back from ``release``, in place; return how many.

    A cell whose source equals a locked release cell that the submission lacks becomes that
    cell; an unlabelled code cell right after a labelled one whose successor in the release
    is a missing answer cell becomes that answer cell.
    """
    labelled = [c for c in release.cells if _gid(c)]
    by_id = {_gid(c): c for c in labelled}
    have = {g for g in (_gid(c) for c in submission.cells) if g}
    missing_locked = {g: normalised_source(c.source) for g, c in by_id.items()
                      if g not in have and c.metadata["nbgrader"].get("locked")}
    successor = {_gid(a): _gid(b) for a, b in zip(labelled, labelled[1:], strict=False)}
    restored = 0

    def adopt(cell: nbformat.NotebookNode, gid: str) -> None:
        nonlocal restored
        cell.metadata["nbgrader"] = copy.deepcopy(by_id[gid].metadata["nbgrader"])
        have.add(gid)
        restored += 1

    for cell in submission.cells:
        if _gid(cell):
            continue
        for gid, text in missing_locked.items():
            if gid not in have and cell.cell_type == by_id[gid].cell_type \
                    and normalised_source(cell.source) == text:
                adopt(cell, gid)
                break
    previous = None
    for cell in submission.cells:
        gid = _gid(cell)
        if gid:
            previous = gid
            continue
        candidate = successor.get(previous) if previous else _gid(labelled[0])
        if (cell.cell_type == "code" and candidate and candidate not in have
                and by_id[candidate].metadata["nbgrader"].get("solution")):
            adopt(cell, candidate)
            previous = candidate
    return restored
