"""Preprocessors the course registers with plain nbgrader (``nbgrader_config.py``).

:class:`VisibleStderr`: nbgrader 0.9 gives zero to a test cell with any output on stderr
(issue #1904), so a correct answer whose code, or a library the test calls, prints a warning
loses the cell. Run right after nbgrader's Execute step, this turns each stderr stream of a
test cell into a stdout stream marked ``[stderr]``: the warning stays visible in the autograded
notebook and the feedback, and only an error fails the cell.

:class:`HideHiddenTests` and :class:`QuestionTitles` prepare the feedback page: no hidden test,
and every graded cell named by its question (the course's template
``course_admin/templates/course_feedback`` shows the name in the table of contents).
"""

from __future__ import annotations

import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class VisibleStderr(NbGraderPreprocessor):
    """Relabel test cells' stderr output as marked stdout (see the module docstring)."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
                        ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "".join(f"[stderr] {line}"
                                             for line in output["text"].splitlines(True))
        return cell, resources


class HideHiddenTests(NbGraderPreprocessor):
    """Cut the hidden tests out of an autograded notebook before nbgrader renders its
    feedback (``nbgrader_config.py`` registers it in ``GenerateFeedback.preprocessors``), so
    ``nbgrader generate_feedback`` and the formgrader's *Generate Feedback* button show what
    ``course feedback`` shows: no hidden test source, a failed hidden check reduced to its hint
    (:func:`course_admin.report.sanitise`). nbgrader alone writes them into the HTML
    (nbgrader #917)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        from course_admin.report import sanitise

        sanitise(nb)
        return nb, resources


_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$", re.M)
_POINTS = re.compile(r"\s*\(\d+(?:\.\d+)?\s+points?\b[^)]*\)\s*$")
_PART = re.compile(r"^q(\d+)([a-z])_")


def question_titles(nb: NotebookNode) -> dict[str, str]:
    """Each graded cell's title: the last Markdown heading above it, without its "(N points)",
    with the part letter of a multi-part question (grade id ``q3a_tests`` under
    "## Question 3: ..." -> "Question 3 (a): ...").

    Args:
        nb: an assignment notebook (source, release or autograded).

    Returns:
        grade id -> title, for every graded cell below a heading.
    """
    titles, heading = {}, None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _HEADING.findall(cell.source)
            heading = _POINTS.sub("", found[-1]) if found else heading
        meta = cell.metadata.get("nbgrader", {})
        if not (meta.get("grade") or meta.get("task")) or heading is None:
            continue
        title, part = heading, _PART.match(meta.get("grade_id", ""))
        number = re.match(r"^(Question\s+\d+)(.*)$", heading)
        if part and number and number.group(1).endswith(part.group(1)):
            title = f"{number.group(1)} ({part.group(2)}){number.group(2)}"
        titles[meta["grade_id"]] = title
    return titles


class QuestionTitles(NbGraderPreprocessor):
    """Write :func:`question_titles` into ``cell.metadata.course_question`` of each graded cell,
    for the feedback page's table of contents (``nbgrader_config.py`` registers it)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        titles = question_titles(nb)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in titles:
                cell.metadata["course_question"] = titles[grade_id]
        return nb, resources
