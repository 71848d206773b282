"""``course publish`` (and ``make lab``, ``course release``): due dates in the gradebook and every
release in the course-local exchange, so nbgrader's panels are right at first start."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_admin import layout, publish
from course_admin import nbgrader_pipeline as pipe
from course_admin.cli import main
from course_admin.manifest import load_manifest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A fresh clone's course as far as nbgrader sees it: config, source/, release/, course/
    (its manifest), no gradebook, no exchange."""
    root = pipe.make_course_copy(tmp_path / "course")
    shutil.copytree(ROOT / "release", root / "release")
    shutil.copytree(ROOT / "course", root / "course",
                    ignore=shutil.ignore_patterns("*.ipynb"))
    for lecture in (ROOT / "course").glob("*.ipynb"):  # the manifest checks they exist
        (root / "course" / lecture.name).write_text("{}")
    return root


def _gradebook_dues(root: Path) -> dict[str, dt.datetime]:
    from nbgrader.api import Gradebook

    with Gradebook(layout.gradebook_url(root)) as gb:
        return {a.name: a.duedate for a in gb.assignments}


def test_publish_sets_every_due_date_and_releases_every_assignment(course, capsys):
    assert main(["publish", "--course", str(course)]) == 0
    lines = capsys.readouterr().out.splitlines()
    manifest = load_manifest(course / "course" / "manifest.toml", course)
    assert _gradebook_dues(course) == {
        a.id: dt.datetime.combine(a.due, dt.time(23, 59, 59)) for a in manifest.assignments}
    released = sorted(p.name for p in (course / "release").iterdir())
    assert len(lines) == len(released) == 9
    for name, line in zip(released, lines, strict=True):
        assert line.startswith(f"{name}: due ") and "released to .exchange/cnn-course" in line
        assert publish._same_tree(course / "release" / name, layout.outbound(course, name))
    # what the Assignment List panel asks the server: the exchange's released assignments
    listed = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "list"],
                            cwd=course, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    for name in released:
        assert f"cnn-course {name}" in listed.stdout + listed.stderr


def test_publish_again_changes_nothing_and_a_changed_release_is_replaced(course, monkeypatch):
    publish.publish(course)

    def no_nbgrader(*args, **kwargs):
        raise AssertionError("nbgrader ran although the exchange was up to date")

    monkeypatch.setattr(publish, "run_nbgrader", no_nbgrader)
    assert all("already in" in line for line in publish.publish(course))
    monkeypatch.undo()
    notebook = next((course / "release" / "ps02").glob("*.ipynb"))
    notebook.write_text(notebook.read_text().replace("Lecture", "Lecture (revised)", 1))
    (line,) = publish.publish(course, ["ps02"])
    assert "released to" in line
    assert publish._same_tree(course / "release" / "ps02", layout.outbound(course, "ps02"))


def test_publish_without_a_release_says_to_run_course_release(course, capsys):
    shutil.rmtree(course / "release" / "ps03")
    assert main(["publish", "ps03", "--course", str(course)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "release/ps03 is missing: run `course release ps03`" in err


def test_the_layout_names_the_exchange_and_course_id_of_nbgrader_config():
    config = (ROOT / "nbgrader_config.py").read_text()
    assert f'c.CourseDirectory.course_id = "{layout.COURSE_ID}"' in config
    assert f'c.Exchange.root = os.path.join(ROOT, "{layout.EXCHANGE_NAME}")' in config


def test_make_lab_publishes_before_it_starts_jupyterlab():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("course publish") < recipe.index("jupyter lab")
