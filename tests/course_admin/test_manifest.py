"""course/manifest.toml agrees with the files on disk, and the validator catches broken ones.

The first half checks the real course: every lecture notebook and every assignment is listed
(and the reverse), points agree with the nbgrader metadata, the course id with
nbgrader_config.py, and course/SYLLABUS.md with the manifest. The second half writes small
broken manifests into a temporary course and checks each error is reported clearly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_admin import manifest as cm
from course_admin import nbgrader_pipeline as pipe
from course_admin import syllabus

ROOT = Path(__file__).resolve().parents[2]
HOW_TO = "see the comment at the end of course/manifest.toml for how to add an entry"


@pytest.fixture(scope="module")
def manifest() -> cm.Manifest:
    return cm.load_manifest(cm.MANIFEST)


def test_manifest_is_valid(manifest):
    assert manifest.lectures and manifest.assignments


def test_every_lecture_notebook_is_in_the_manifest(manifest):
    on_disk = sorted(p.name for p in (ROOT / "course").glob("*.ipynb")
                     if cm.LECTURE_FILE.match(p.name))
    listed = [lec.notebook for lec in manifest.lectures]
    unlisted = sorted(set(on_disk) - set(listed))
    assert not unlisted, f"lecture notebooks not in the manifest: {unlisted}; {HOW_TO}"
    assert listed == on_disk, "the manifest should list every course/NN_*.ipynb, in order"


def test_every_assignment_in_source_is_in_the_manifest_and_back(manifest):
    ids = [a.id for a in manifest.assignments]
    unlisted = sorted(set(pipe.assignments()) - set(ids))
    assert not unlisted, f"source/ assignments not in the manifest: {unlisted}; {HOW_TO}"
    assert ids == pipe.assignments(), "manifest assignments without a source/ folder"
    assert not cm.unlisted(manifest)


def test_points_agree_with_the_nbgrader_metadata(manifest):
    for a in manifest.assignments:
        actual = sum(cm.nbgrader_points(ROOT / "source" / a.id / nb) for nb in a.notebooks)
        assert a.points == actual > 0, f"{a.id}: manifest {a.points}, nbgrader metadata {actual}"


def test_every_assignment_notebook_is_released(manifest):
    missing = [f"release/{a.id}/{nb}" for a in manifest.assignments for nb in a.notebooks
               if not (ROOT / "release" / a.id / nb).is_file()]
    assert not missing, f"run `make release`: {missing}"


def test_course_id_is_nbgrader_s(manifest):
    config = (ROOT / "nbgrader_config.py").read_text()
    found = re.search(r"""CourseDirectory\.course_id\s*=\s*["']([^"']+)["']""", config)
    assert found and found.group(1) == manifest.course_id


def test_goals_come_from_a_learning_goals_cell(manifest):
    for lec in manifest.lectures:
        text = (ROOT / "course" / lec.notebook).read_text(encoding="utf-8")
        assert re.search(r"learning goals", text, re.I), f"{lec.notebook}: no learning goals"


def test_syllabus_is_up_to_date(manifest):
    stored = (ROOT / "course" / "SYLLABUS.md").read_text(encoding="utf-8")
    assert stored == syllabus.syllabus_markdown(manifest), (
        "course/SYLLABUS.md is out of date: run `python -m course_admin.manifest syllabus`")


def test_syllabus_shows_order_goals_times_points_and_dates(manifest):
    text = syllabus.syllabus_markdown(manifest)
    positions = [text.index(f"### {lec.number:02d} · {lec.title}") for lec in manifest.lectures]
    assert positions == sorted(positions)
    for lec in manifest.lectures:
        assert lec.goals[0] in text and f"{lec.minutes} min" in text
    for a in manifest.assignments:
        assert f"`{a.id}` | {cm.format_points(a.points)} | {a.due}" in text
    assert f"**{cm.format_points(manifest.total_points)}**" in text


# --- broken manifests in a small temporary course -------------------------------------------

MINI = """\
course_id = "mini"
title = "Mini course"

[[lecture]]
number = 0
notebook = "00_intro.ipynb"
title = "Intro"
date = 2027-01-11
minutes = 30
goals = ["one", "two", "three"]

[[lecture]]
number = 1
notebook = "01_more.ipynb"
title = "More"
date = 2027-01-18
minutes = 45
goals = ["one", "two", "three"]
assignment = "ps01"

[[assignment]]
id = "ps01"
title = "First"
notebooks = ["ps01_first.ipynb"]
lecture = 1
points = 3
due = 2027-01-25
"""


def _notebook(path: Path, points: list[float] = ()) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# A notebook\n", "text"]}]
    cells += [{"cell_type": "code", "execution_count": None, "outputs": [], "source": "pass",
               "metadata": {"nbgrader": {"grade": True, "grade_id": f"t{i}", "points": p,
                                         "solution": False, "locked": True}}}
              for i, p in enumerate(points)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A course with lectures 00, 01 and assignment ps01 (1 + 2 points); returns the manifest
    path (not yet written)."""
    _notebook(tmp_path / "course" / "00_intro.ipynb")
    _notebook(tmp_path / "course" / "01_more.ipynb")
    _notebook(tmp_path / "source" / "ps01" / "ps01_first.ipynb", [1, 2])
    return tmp_path / "course" / "manifest.toml"


def test_mini_manifest_is_valid_and_check_passes(mini, capsys):
    mini.write_text(MINI)
    m = cm.load_manifest(mini)
    assert [lec.number for lec in m.lectures] == [0, 1]
    assert m.total_points == 3 and m.total_minutes == 75
    assert cm.main(["check", "--manifest", str(mini)]) == 1  # no SYLLABUS.md yet
    assert "SYLLABUS.md is out of date" in capsys.readouterr().err
    assert cm.main(["syllabus", "--manifest", str(mini)]) == 0
    assert cm.main(["check", "--manifest", str(mini)]) == 0
    assert "OK: 2 lectures, 1 assignments, 3 points" in capsys.readouterr().out
    mini.write_text(MINI.replace('title = "First"', 'title = "Renamed"'))
    assert cm.main(["check", "--manifest", str(mini)]) == 1, "stale syllabus not detected"


BROKEN = {
    "missing lecture notebook": (
        '"01_more.ipynb"', '"01_missing.ipynb"', "missing notebook course/01_missing.ipynb"),
    "missing assignment notebook": (
        '["ps01_first.ipynb"]', '["ps01_gone.ipynb"]', "missing notebook source/ps01/ps01_gone"),
    "unknown assignment": ('assignment = "ps01"', 'assignment = "ps02"', "unknown assignment"),
    "unknown lecture": ("lecture = 1\n", "lecture = 7\n", "unknown lecture 7"),
    "points mismatch": ("points = 3", "points = 4",
                        "points mismatch: the manifest says 4, the nbgrader metadata of "
                        "source/ps01/ gives 3"),
    "duplicate assignment id": (
        "due = 2027-01-25\n", "due = 2027-01-25\n\n[[assignment]]\nid = \"ps01\"\n"
        "title = \"Again\"\nnotebooks = [\"ps01_first.ipynb\"]\npoints = 3\ndue = 2027-02-01\n",
        "duplicate assignment id 'ps01'"),
    "duplicate lecture number": ("number = 1", "number = 0", "duplicate lecture number 0"),
    "bad date string": ("due = 2027-01-25", 'due = "2027-13-01"', "bad date 'due'"),
    "not a date": ("due = 2027-01-25", 'due = "next Monday"', "bad date 'due'"),
    "datetime instead of date": ("date = 2027-01-18", "date = 2027-01-18T09:00:00",
                                 "bad date 'date'"),
    "due before its lecture": ("due = 2027-01-25", "due = 2027-01-18", "is not after its lecture"),
    "number does not match file": ("number = 1", "number = 2", "does not start with 02_"),
    "too few goals": ('goals = ["one", "two", "three"]\nassignment', 'goals = ["one"]\nassignment',
                      "goals should be 3-5"),
    "missing key": ("minutes = 45\n", "", "missing key 'minutes'"),
    "unknown key": ("due = 2027-01-25", "due = 2027-01-25\ndue_date = 2027-01-25",
                    "unknown key 'due_date'"),
    "wrong type": ("minutes = 30", 'minutes = "thirty"', "'minutes' should be an integer"),
    "links disagree": ('assignment = "ps01"\n', "", "says assignment = None"),
    "not TOML": ("[[assignment]]", "[[assignment]", "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_manifest_is_reported(mini, case, capsys):
    old, new, message = BROKEN[case]
    assert old in MINI, f"bad test case {case}"
    mini.write_text(MINI.replace(old, new, 1))
    with pytest.raises(cm.ManifestError) as err:
        cm.load_manifest(mini)
    assert message in str(err.value), str(err.value)
    assert cm.main(["check", "--manifest", str(mini)]) == 1
    assert message in capsys.readouterr().err


def test_unreadable_notebook_is_reported(mini):
    mini.write_text(MINI)
    (mini.parent.parent / "source" / "ps01" / "ps01_first.ipynb").write_text("{not json")
    with pytest.raises(cm.ManifestError, match="cannot read the nbgrader metadata"):
        cm.load_manifest(mini)


def test_unlisted_files_are_reported(mini):
    mini.write_text(MINI)
    _notebook(mini.parent / "02_new.ipynb")
    _notebook(mini.parent / "notes.ipynb")  # not NN_*: not a lecture
    _notebook(mini.parent.parent / "source" / "ps02" / "ps02_new.ipynb", [1])
    _notebook(mini.parent.parent / "source" / "ps01" / "ps01_extra.ipynb", [1])
    assert cm.unlisted(cm.load_manifest(mini)) == [
        "course/02_new.ipynb is not in the manifest",
        "source/ps01/ps01_extra.ipynb is not in the manifest",
        "source/ps02/ is not in the manifest",
    ]


def test_estimate_minutes_counts_words_and_code_cells(tmp_path):
    nb = tmp_path / "00_x.ipynb"
    _notebook(nb, [1, 1, 1])  # 4 words of markdown, 3 code cells: 0.05 + 4.5 min
    assert cm.estimate_minutes(nb) == 5
    words = " ".join(["word"] * 800)  # 10 min of reading
    data = json.loads(nb.read_text())
    data["cells"][0]["source"] = words
    nb.write_text(json.dumps(data))
    assert cm.estimate_minutes(nb) == 15
