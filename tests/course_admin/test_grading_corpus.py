"""Every assignment graded by ``course autograde`` on submissions written as students write
them (``tests/fixtures/grading_cases.py``): other correct forms get full marks, each typical
mistake loses exactly its question, and on ps01 (numpy and TensorFlow) and ps05 (Keras) every
self-grading attack of ``tests/fixtures/attacks.py`` scores zero while the reference, graded
in the same run, gets full marks.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from course_admin import nbgrader_pipeline as pipe
from course_admin.cli import main

pytestmark = pytest.mark.nbgrader

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from attacks import COMBINED  # noqa: E402
from grading_cases import CASES, submissions  # noqa: E402

ATTACKED = ("ps01", "ps05")


def _notebook(assignment: str) -> str:
    return next((ROOT / "source" / assignment).glob("*.ipynb")).name


def _test_cells(assignment: str) -> dict[str, float]:
    nb = nbformat.read(ROOT / "source" / assignment / _notebook(assignment), 4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def _first_answer(assignment: str) -> str:
    nb = nbformat.read(ROOT / "release" / assignment / _notebook(assignment), 4)
    return next(c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("solution"))


@pytest.fixture(scope="module", params=sorted(CASES))
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[str, Path, dict[str, set[str]]]:
    """(assignment, course, student -> tests that must score zero), graded once."""
    assignment = request.param
    name = _notebook(assignment)
    course = tmp_path_factory.mktemp(assignment) / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / assignment, course / "source" / assignment)
    release = nbformat.read(ROOT / "release" / assignment / name, 4)
    source = nbformat.read(ROOT / "source" / assignment / name, 4)
    reference = pipe.solution_cells(source)
    expect: dict[str, set[str]] = {"reference": set()}
    pipe.submit(course, assignment, "reference", {name: pipe.fill_answers(release, reference)})
    for student, answers, zero, _ in submissions(assignment):
        nb = pipe.fill_answers(release, {**reference, **answers})
        pipe.submit(course, assignment, student, {name: nb})
        expect[student] = zero
    if assignment in ATTACKED:
        first = _first_answer(assignment)
        attack = pipe.fill_answers(release, {first: COMBINED + "\nraise NotImplementedError()"})
        pipe.submit(course, assignment, "attacker", {name: attack})
        expect["attacker"] = set(_test_cells(assignment))
    # 30 s per cell: the slowest honest cell (ps07's pretraining) takes about 10 s; the
    # attacker's sys.settrace wedges its own process, which is killed at the cell timeout
    assert main(["autograde", assignment, "--course", str(course), "--workers", "2",
                 "--timeout-cell", "30", "--no-progress"]) == 0
    return assignment, course, expect


def test_every_assignment_has_eight_cases() -> None:
    for assignment, cases in CASES.items():
        assert len(cases) >= 8, assignment
        kinds = {case_id.split("_")[0] for case_id, _, _ in cases}
        assert "mistake" in kinds and kinds & {"alt", "form"}, assignment


def test_each_case_is_graded_as_labelled(graded: tuple[str, Path, dict[str, set[str]]]) -> None:
    assignment, course, expect = graded
    points = _test_cells(assignment)
    cases = {s: ids for s, _, _, ids in submissions(assignment)}
    wrong = []
    for student, zero in expect.items():
        grades = pipe.read_grades(course, assignment, student)[_notebook(assignment)].cells
        for cell, full in points.items():
            want = 0.0 if cell in zero else full
            if grades[cell][0] != want:
                wrong.append(f"{student} {cases.get(student, [student])}: {cell} scored "
                             f"{grades[cell][0]:g}, expected {want:g}")
    assert not wrong, "\n".join(wrong)


def _hidden_text(assignment: str) -> set[str]:
    """Lines of the source's hidden-test blocks that no released cell shows (> 8 characters)."""
    name = _notebook(assignment)
    shown = {line.strip() for c in nbformat.read(ROOT / "release" / assignment / name, 4).cells
             for line in c.source.splitlines()}
    hidden = set()
    for cell in nbformat.read(ROOT / "source" / assignment / name, 4).cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 8 and line.strip() not in shown:
                hidden.add(line.strip())
    return hidden


def test_feedback_hides_the_hidden_tests_and_shows_their_hints(
        graded: tuple[str, Path, dict[str, set[str]]]) -> None:
    """``course feedback`` on every real assignment: pages for the reference and for a
    submission with mistakes, no hidden line in either (other than the student's own code),
    and a failed hidden check shows its hint."""
    import html
    import re

    from course_admin.nbgrader_hooks import question_titles
    from course_admin.report import feedback

    assignment, course, expect = graded
    wrong = next(s for s, zero in expect.items() if zero and s != "attacker")
    pages = feedback(course, assignment, ["reference", wrong])
    assert sorted(pages) == sorted(["reference", wrong]) and all(pages.values())
    hidden = _hidden_text(assignment)
    for student, paths in pages.items():
        own = {line.strip() for c in nbformat.read(
            course / "submitted" / student / assignment / _notebook(assignment), 4).cells
            for line in c.source.splitlines()}
        for path in paths:
            text = html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))
            lines = {re.sub(r"^\s*(-*>)?\s*\d+\s", "", line).strip()
                     for line in text.splitlines()}
            leaked = sorted(line for line in hidden - own if line in lines)
            assert not leaked, f"{student}: {leaked[:3]}"
            # the contents name each graded cell by its question, none is just "Test cell"
            toc = html.unescape(path.read_text().split('<div id="toc">')[1].split("</div>")[0])
            titles = question_titles(nbformat.read(
                ROOT / "release" / assignment / _notebook(assignment), 4))
            assert "Test cell" not in toc and titles
            for grade_id, title in titles.items():
                assert f'href="#{grade_id}">{title}</a>' in toc, (grade_id, title)
    if assignment == "ps04":
        student = next(s for s, _, _, ids in submissions("ps04") if "mistake_q2_no_biases" in ids)
        page = feedback(course, "ps04", [student])[student][0].read_text()
        assert "a hidden test failed. Hint: every layer has biases" in html.unescape(page)


def test_report_of_a_real_assignment_has_a_row_per_question_and_drawn_plots(
        graded: tuple[str, Path, dict[str, set[str]]], tmp_path: Path) -> None:
    """``course report`` on ps01 and ps05 (NumPy and Keras): one CSV row per graded cell,
    every student in grades.csv, and three PNGs with something drawn on them."""
    import matplotlib.image as mpimg

    from course_admin.report import report

    assignment, course, expect = graded
    if assignment not in ("ps01", "ps05"):
        pytest.skip("two assignments are enough for the report")
    written = {p.name: p for p in report(course, assignment, tmp_path)}
    rows = (tmp_path / f"{assignment}_questions.csv").read_text().splitlines()
    assert len(rows) == 1 + len(_test_cells(assignment))
    grades = (tmp_path / "grades.csv").read_text().splitlines()
    assert len(grades) == 1 + len(expect)
    pngs = [p for name, p in written.items() if name.endswith(".png")]
    assert len(pngs) == 3
    for png in pngs:
        pixels = mpimg.imread(png)
        assert min(pixels.shape[:2]) > 200 and pixels.std() > 0.05, png.name
