"""Preprocessors the course registers with plain nbgrader (``nbgrader_config.py``).

:class:`VisibleStderr`: nbgrader 0.9 gives zero to a test cell with any output on stderr
(issue #1904), so a correct answer whose code, or a library the test calls, prints a warning
loses the cell. Run right after nbgrader's Execute step, this turns each stderr stream of a
test cell into a stdout stream marked ``[stderr]``: the warning stays visible in the autograded
notebook and the feedback, and only an error fails the cell.
"""

from __future__ import annotations

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
