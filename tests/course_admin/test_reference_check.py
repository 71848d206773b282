"""The static check for answers that call the course's own implementation."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from course_admin import reference_check as rc

ROOT = Path(__file__).resolve().parents[2]


def with_answers(assignment: str, answers: dict[str, str]) -> tuple[nbformat.NotebookNode,
                                                                    nbformat.NotebookNode]:
    """(source notebook, release notebook with these answer cells)."""
    name = next((ROOT / "source" / assignment).glob("*.ipynb")).name
    source = nbformat.read(ROOT / "source" / assignment / name, 4)
    release = nbformat.read(ROOT / "release" / assignment / name, 4)
    for cell in release.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return source, release


def test_questions_ask_for_the_functions_their_reference_defines() -> None:
    source, _ = with_answers("ps08", {})
    asked = {gid: names for gid, names, _ in rc.questions(source)}
    assert asked["q1_answer"] == {"iou_matrix"}
    assert asked["q3_answer"] == {"encode", "decode"}


@pytest.mark.parametrize("code", [
    # the setup's alias
    "def unfreeze_top(model, n):\n    return fine_tuning.unfreeze_top(model, n)",
    "from helpers.training.fine_tuning import unfreeze_top",
    "import helpers.training.fine_tuning as t\nunfreeze_top = t.unfreeze_top",
    "import helpers\nunfreeze_top = helpers.training.fine_tuning.unfreeze_top",
])
def test_calling_the_course_implementation_is_found(code: str) -> None:
    source, sub = with_answers("ps07", {"q2_answer": code})
    found = rc.check(source, sub)
    assert list(found) == ["q2_answer"]
    assert found["q2_answer"] == (["helpers.training.fine_tuning.unfreeze_top"], ["q2_tests"])


def test_a_helper_cell_the_student_added_counts_too() -> None:
    source, sub = with_answers("ps08", {})
    sub.cells.insert(3, nbformat.v4.new_code_cell(
        "from helpers.detection.boxes import iou_matrix as mine"))
    assert rc.check(source, sub) == {
        "q1_answer": (["helpers.detection.boxes.iou_matrix"], ["q1_tests"])}


def test_own_code_and_other_course_functions_are_fine() -> None:
    source, sub = with_answers("ps07", {
        "q2_answer": "def unfreeze_top(model, n):\n"
                     "    convs = [l for l in model.layers if 'conv' in l.name]\n"
                     "    for i, c in enumerate(convs):\n"
                     "        c.trainable = i >= len(convs) - n\n"
                     "    return unfreeze_top.__name__ and model\n",
        "q1_answer": "def make_transfer_model(pretrained, num_classes):\n"
                     "    base = tr.feature_extractor(pretrained)\n    return base\n"})
    assert rc.check(source, sub) == {}


def test_unparsable_cells_are_skipped() -> None:
    source, sub = with_answers("ps08", {"q1_answer": "%timeit 1\ndef iou_matrix(a, b) pass"})
    assert rc.check(source, sub) == {}


@pytest.mark.parametrize("code", [
    # the course's NMS under the asked name, and the release's own test-support alias
    "from helpers.detection.nms import non_max_suppression as nms",
    "def nms(boxes, scores, iou_threshold=0.7):\n"
    "    return _reference_nms(boxes, scores, iou_threshold)",
])
def test_an_equivalent_course_function_under_any_name_is_found(code: str) -> None:
    source, sub = with_answers("ps08", {"q2_answer": code})
    found = rc.check(source, sub)
    assert found["q2_answer"][0] == ["helpers.detection.nms.non_max_suppression"]


def test_a_course_module_alias_alone_is_not_a_reference_use() -> None:
    """ps07's answers may use the setup's `tr` (the lecture driver) for the task data."""
    source, sub = with_answers("ps07", {"q2_answer": (
        "def unfreeze_top(model, n):\n    _ = tr.TransferConfig()\n"
        "    for layer in model.layers[-n:]:\n        layer.trainable = True\n    return model")})
    assert "q2_answer" not in rc.check(source, sub)
