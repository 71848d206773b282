"""Feedback without hidden tests, and the grade reports (CSV and PNG).

nbgrader's ``generate_feedback`` renders the autograded notebooks, whose test cells carry the
hidden tests (restored from the gradebook to run them), so its HTML shows the hidden test
source and the tracebacks of failing hidden asserts (nbgrader issue #917). :func:`feedback`
renders sanitised copies instead: hidden-test blocks cut from every cell, and a traceback that
quotes a hidden line replaced by "a hidden test failed".
"""

from __future__ import annotations

import csv
import html
import math
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from course_admin import records
from course_admin.grading import _CONFIG_TAIL
from course_admin.markers import HIDDEN_BEGIN, HIDDEN_END
from course_admin.runner import run_nbgrader

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TRACEBACK_PREFIX = re.compile(r"^\s*(-*>)?\s*\d+\s")


def split_hidden(source: str) -> tuple[str, list[str]]:
    """(source without its hidden-test blocks, the hidden lines)."""
    keep, hidden, inside = [], [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN.match(line):
            inside = True
        elif HIDDEN_END.match(line):
            inside = False
        elif inside:
            hidden.append(line)
        else:
            keep.append(line)
    return "\n".join(keep), hidden


def sanitise(nb: nbformat.NotebookNode) -> list[str]:
    """Cut hidden tests out of ``nb`` in place; return the hidden lines removed.

    An error raised inside a hidden test keeps only its hint (the text after ``Hint:`` in
    the message, which the checks write for the typical mistake): never the test's source,
    never the expected value."""
    removed: list[str] = []
    for cell in nb.cells:
        if "HIDDEN TESTS" not in cell.source:
            continue
        cell.source, hidden = split_hidden(cell.source)
        removed += hidden
        quoted = [h.strip() for h in hidden if len(h.strip()) > 3]
        for output in cell.get("outputs", []):
            if output.output_type != "error":
                continue
            text = _ANSI.sub("", "\n".join(output.traceback) + "\n" + output.evalue)
            if any(q in text for q in quoted):
                hint = output.evalue.split("Hint:", 1)[1].strip() if (
                    "Hint:" in output.evalue) else ""
                output.evalue = "a hidden test failed" + (f". Hint: {hint}" if hint else "")
                output.traceback = [f"{output.ename}: {output.evalue}"]
    return removed


def visible_lines(nb: nbformat.NotebookNode) -> set[str]:
    """The stripped lines of every cell source of a (sanitised) notebook: what the student
    may see anyway."""
    return {line.strip() for cell in nb.cells for line in cell.source.splitlines()}


def hidden_leaks(page: str, hidden: list[str], visible: set[str] = frozenset()) -> list[str]:
    """Lines cut out as hidden (longer than 8 characters) readable in an HTML page's text,
    except a line the student can see anyway in a visible cell (``visible``): the same
    ``import tensorflow as tf`` in a visible test, the student's own ``return out``."""
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    # a line of the page, as a line (a traceback's "---> 12 " prefix taken off): a hidden
    # line is a leak when it stands there whole, not when it is part of a longer visible one
    lines = {_TRACEBACK_PREFIX.sub("", _ANSI.sub("", line)).strip()
             for line in text.splitlines()}
    leaks = [h.strip() for h in hidden
             if len(h.strip()) > 8 and h.strip() not in visible and h.strip() in lines]
    return leaks + (["BEGIN HIDDEN TESTS"] if "BEGIN HIDDEN TESTS" in text else [])


def feedback(course_root: Path, assignment: str, students: list[str] | None = None
             ) -> dict[str, list[Path]]:
    """Write ``feedback/<student>/<assignment>/*.html`` for every autograded (or the chosen)
    student; return student -> pages. Raises RuntimeError if a page would leak a hidden test."""
    if not (course_root / "source" / assignment).is_dir():
        raise ValueError(f"unknown assignment {assignment!r} (no source/{assignment}/)")
    if not (course_root / "gradebook.db").exists():
        raise ValueError(f"no gradebook in {course_root}: run `course release` and "
                         f"`course autograde {assignment}` first")
    graded = sorted({p.parent.parent.name for p in
                     (course_root / "autograded").glob(f"*/{assignment}/*.ipynb")
                     if not p.parent.parent.name.startswith(".")})
    students = [s for s in graded if students is None or s in students]
    out: dict[str, list[Path]] = {}
    if not students:
        return out
    with tempfile.TemporaryDirectory(prefix="course-feedback-") as tmp:
        work = Path(tmp)
        config = (course_root / "nbgrader_config.py").read_text()
        (work / "nbgrader_config.py").write_text(config + _CONFIG_TAIL.format(cell_timeout=120))
        shutil.copy2(course_root / "gradebook.db", work / "gradebook.db")
        hidden: dict[tuple[str, str], tuple[list[str], set[str]]] = {}
        for student in students:
            src = course_root / "autograded" / student / assignment
            dest = work / "autograded" / student / assignment
            shutil.copytree(src, dest)
            for path in dest.glob("*.ipynb"):
                nb = nbformat.read(path, as_version=4)
                cut = sanitise(nb)  # this student's hidden lines, checked on this page only
                hidden[(student, path.stem)] = (cut, visible_lines(nb))
                nbformat.write(nb, path)
        args = ["generate_feedback", assignment, "--force"]
        if len(students) == 1:
            args += ["--student", students[0]]
        status, log = run_nbgrader(work, args, 1800)
        if status != 0:
            raise RuntimeError(f"nbgrader generate_feedback failed:\n{log[-4000:]}")
        for student in students:
            made = work / "feedback" / student / assignment
            for page in made.glob("*.html"):
                cut, visible = hidden.get((student, page.stem), ([], set()))
                leaks = hidden_leaks(page.read_text(), cut, visible)
                if leaks:
                    raise RuntimeError(f"{page.name} of {student} leaks hidden tests: {leaks}")
            target = course_root / "feedback" / student / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(made, target)
            out[student] = sorted(target.glob("*.html"))
    return out


def question_stats(course_root: Path, assignment: str) -> tuple[list[dict], dict[str, float]]:
    """(one row per grade cell: n, mean, max_score, pass_rate, zeros; student -> total)."""
    from nbgrader.api import Gradebook

    rows: dict[str, list[float]] = {}
    maxima: dict[str, float] = {}
    totals: dict[str, float] = {}
    with Gradebook(records.gradebook_url(course_root)) as gb:
        for sub in gb.find_assignment(assignment).submissions:
            totals[sub.student.id] = float(sub.score)
            for nb in sub.notebooks:
                for grade in nb.grades:
                    key = f"{nb.name}/{grade.name}"
                    rows.setdefault(key, []).append(float(grade.score or 0.0))
                    maxima[key] = float(grade.max_score)
    stats = []
    for key, scores in sorted(rows.items()):
        full = maxima[key]
        stats.append({
            "question": key, "n": len(scores), "max_score": full,
            "mean": round(sum(scores) / len(scores), 4),
            "pass_rate": round(sum(s >= full for s in scores) / len(scores), 4),
            "zeros": sum(s == 0 for s in scores),
        })
    return stats, totals


def report(course_root: Path, assignment: str, out_dir: Path) -> list[Path]:
    """grades.csv (nbgrader export), questions.csv and three PNG plots in ``out_dir``.

    Raises:
        ValueError: no gradebook yet, or the assignment is not in it (nothing is created).
    """
    from nbgrader.api import Gradebook, MissingEntry

    if not (course_root / "gradebook.db").exists():
        raise ValueError(f"no gradebook in {course_root}: run `course release` and "
                         f"`course autograde {assignment}` first")
    with Gradebook(records.gradebook_url(course_root)) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"{assignment!r} is not in the gradebook: run `course release "
                             f"{assignment}` and `course autograde {assignment}` first"
                             ) from None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    out_dir.mkdir(parents=True, exist_ok=True)
    grades_csv = out_dir / "grades.csv"
    status, log = run_nbgrader(course_root, ["export", "--to", str(grades_csv)], 600)
    if status != 0:
        raise RuntimeError(f"nbgrader export failed:\n{log[-4000:]}")
    stats, totals = question_stats(course_root, assignment)
    questions_csv = out_dir / f"{assignment}_questions.csv"
    with questions_csv.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(stats[0]) if stats else ["question"])
        writer.writeheader()
        writer.writerows(stats)
    written = [grades_csv, questions_csv]

    fig, ax = plt.subplots(figsize=(6, 3.5))
    top = max([*totals.values(), *(s["max_score"] for s in stats), 1.0])
    # one bin per whole point, centred on it; students counted in whole numbers
    ax.hist(list(totals.values()), bins=np.arange(-0.5, math.ceil(top) + 1.0, 1.0),
            color="tab:blue", edgecolor="white")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title=f"{assignment}: total score", xlabel="points (bins of 1 point)",
           ylabel="students")
    written.append(_save(fig, out_dir / f"{assignment}_score_histogram.png"))

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([s["question"].split("/")[-1] for s in stats], [s["pass_rate"] for s in stats])
    ax.set(title=f"{assignment}: pass rate per question", xlabel="test cell (question)",
           ylabel="full marks (fraction of students)", ylim=(0, 1))
    ax.tick_params(axis="x", rotation=45)
    written.append(_save(fig, out_dir / f"{assignment}_pass_rate.png"))

    entries = {e["student"]: e for e in records.journal_for(course_root).entries(assignment)}
    names = sorted(entries)
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.28 * len(names) + 1.2)))
    ax.barh(names, [entries[n]["seconds"] for n in names], color="tab:orange")
    ax.set(title=f"{assignment}: grading time per submission", xlabel="seconds",
           ylabel="student")
    ax.tick_params(axis="y", labelsize=9)
    written.append(_save(fig, out_dir / f"{assignment}_time_per_submission.png"))
    return written


def _save(fig: object, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
