"""The instructor's ``course`` command: parallel autograde over a corpus of bad submissions,
kill-and-resume, the Dask executor, feedback without hidden tests, reports and collect.

Everything runs on the tiny NumPy-only assignment ``tests/fixtures/mini_course/source/mini``
(4 points) with short timeouts; the corpus and each student's expected score and reason are
in ``tests/fixtures/submissions/`` (regenerate with ``tests/fixtures/make_corpus.py``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_admin import nbgrader_pipeline as pipe
from course_admin import records
from course_admin.cli import main
from course_admin.grading import submission_digest
from course_admin.report import hidden_leaks, split_hidden

pytestmark = pytest.mark.nbgrader

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "submissions"
EXPECTED: dict[str, dict] = json.loads((CORPUS / "expected.json").read_text())
#: submissions that leave no autograded notebook (dead kernel, not JSON, no notebook)
NOT_GRADABLE = {"s16_invalid_json", "s20_no_notebook"}
FAST = ["--timeout-cell", "5", "--timeout-notebook", "120", "--memory-mb", "2048",
        "--no-progress"]


def make_course(dest: Path, students: list[str] | None = None) -> Path:
    """A course directory: the repository's nbgrader config, the mini assignment and the
    chosen corpus submissions (default: all) in submitted/."""
    dest.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(FIXTURES / "mini_course" / "source", dest / "source")
    for student in students or sorted(EXPECTED):
        shutil.copytree(CORPUS / student, dest / "submitted" / student)
    return dest


def total(course: Path, student: str) -> float:
    """A student's mini score from the gradebook."""
    return sum(nb.score for nb in pipe.read_grades(course, "mini", student).values())


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole corpus graded once with ``course autograde`` (2 worker processes)."""
    course = make_course(tmp_path_factory.mktemp("corpus") / "course")
    assert main(["autograde", "mini", "--course", str(course), "--workers", "2", *FAST]) == 0
    return course


def test_corpus_has_enough_cases() -> None:
    assert len(EXPECTED) >= 15
    assert all(set(v) == {"score", "reason"} for v in EXPECTED.values())


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_corpus_score(graded: Path, student: str) -> None:
    entry = {e["student"]: e for e in records.journal_for(graded).entries("mini")}[student]
    why = f"{EXPECTED[student]['reason']}; got error={entry['error']!r} flags={entry['flags']}"
    assert total(graded, student) == EXPECTED[student]["score"], why
    assert entry["score"] == EXPECTED[student]["score"], why


def test_each_student_graded_once(graded: Path) -> None:
    entries = records.journal_for(graded).entries("mini")
    assert sorted(e["student"] for e in entries) == sorted(EXPECTED)
    from nbgrader.api import Gradebook

    with Gradebook(records.gradebook_url(graded)) as gb:
        assert sorted(s.student.id for s in gb.find_assignment("mini").submissions) == sorted(
            EXPECTED)


def test_readable_reasons(graded: Path) -> None:
    entries = {e["student"]: e for e in records.journal_for(graded).entries("mini")}
    notes = {s: " ".join([e["error"] or ""] + e["flags"]) for s, e in entries.items()}
    assert "q3_tests' edited: restored" in notes["s11_locked_edited"]
    assert "q2_tests' deleted" in notes["s12_deleted_test"]
    assert "answer cell 'q3_answer' stopped the kernel" in notes["s07_kernel_crash"]
    assert "answer cell 'q2_answer' stopped the kernel" in notes["s21_segfault"]
    assert "not a valid notebook" in notes["s16_invalid_json"]
    assert "renamed to mini.ipynb" in notes["s17_renamed"]
    assert "duplicate cell ids" in notes["s14_duplicate_ids"]
    assert "cell_type" in notes["s15_cell_type_changed"]
    assert "missing notebook" in notes["s20_no_notebook"]
    assert "matched to the release by content" in notes["s24_metadata_cleared"]
    assert "byte-order mark removed" in notes["s25_bom"]
    assert "not UTF-8 replaced" in notes["s26_not_utf8"]
    assert "duplicate 'mini-Copy1.ipynb'" in notes["s27_copy1"]
    assert "deleted: restored from the source and graded" in notes["s12_deleted_test"]
    assert notes["s01_reference"].strip() == ""


def test_cheater_changed_nothing(graded: Path) -> None:
    for student in EXPECTED:  # every submission in the course is still the fixture's
        assert submission_digest(graded / "submitted" / student / "mini") == submission_digest(
            CORPUS / student / "mini"), student
    assert submission_digest(graded / "source") == submission_digest(
        FIXTURES / "mini_course" / "source")
    for path in (graded / "autograded").glob("*/mini/mini.ipynb"):
        assert not path.read_text().startswith("overwritten by"), path
    from nbgrader.api import Gradebook

    with Gradebook(records.gradebook_url(graded)) as gb:
        assert {c.name: c.max_score for c in gb.find_notebook("mini", "mini").grade_cells} == {
            "q1_tests": 1, "q2_tests": 1, "q3_tests": 2}


def test_attacks_leak_no_hidden_test_and_no_solution(graded: Path) -> None:
    """a09 prints, base64-encoded, every cell it sees run and every source notebook and
    gradebook it can find: the hidden tests never entered its process, nothing was found."""
    nb = nbformat.read(graded / "autograded" / "a09_print_hidden_and_sources" / "mini" /
                       "mini.ipynb", 4)
    answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
               or not c.metadata.get("nbgrader", {}).get("locked")]
    printed = "".join(o.get("text", "") for c in answers if c.cell_type == "code"
                      for o in c.outputs)
    decoded = [base64.b64decode(tok).decode(errors="replace")
               for tok in re.findall(r"[A-Za-z0-9+/=]{16,}", printed)]
    assert decoded, "the attack printed nothing: it did not run"
    assert any("answer_q2 = 27" in d for d in decoded)  # it saw its own cells ...
    assert not any("HIDDEN-Q" in d or "BEGIN SOLUTION" in d or "SQLite" in d
                   for d in decoded)  # ... and nothing else


def test_nbgrader_engine_is_fooled_where_the_split_engine_is_not(tmp_path: Path) -> None:
    """The same attacks under ``--engine nbgrader`` (tests in the student's kernel) gain
    points: the attacks are real, and only the split engine stops them."""
    students = ["a01_patch_numpy", "a05_ipython_hooks", "a07_liar_objects"]
    course = make_course(tmp_path / "course", students)
    assert main(["autograde", "mini", "--course", str(course), "--workers", "2",
                 "--engine", "nbgrader", *FAST]) == 0
    gained = {s: total(course, s) for s in students}
    assert all(score > 0 for score in gained.values()), gained


def test_no_process_outlives_grading(graded: Path) -> None:
    """s22 left a process that rewrites every gradebook 6 s after its cell ran: the sandbox
    killed it with the job, so the grades stay as recorded."""
    time.sleep(7)
    stray = subprocess.run(["pgrep", "-f", "S22-LINGER"], capture_output=True, text=True)
    assert stray.stdout.strip() == "", stray.stdout
    for student in EXPECTED:  # a score counts manual_score first: none may have appeared
        assert total(graded, student) == EXPECTED[student]["score"], student


def test_stderr_would_fail_under_plain_nbgrader(graded: Path) -> None:
    """nbgrader's own rule gives the stderr-warning answer zero; ``course`` gives full marks."""
    from nbgrader.utils import determine_grade

    nb = nbformat.read(graded / "autograded" / "s19_stderr_warning" / "mini" / "mini.ipynb", 4)
    q1 = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1_tests")
    assert any(o.get("name") == "stderr" for o in q1.outputs)
    assert determine_grade(q1)[0] == 0
    assert pipe.read_grades(graded, "mini", "s19_stderr_warning")["mini.ipynb"].cells[
        "q1_tests"] == (1.0, 1.0)


def test_plain_nbgrader_keeps_warnings_visible_and_the_points(tmp_path: Path) -> None:
    """nbgrader_config.py registers VisibleStderr: plain ``nbgrader autograde`` gives the
    correct answer that warns on stderr its points and shows the warning as [stderr]."""
    course = make_course(tmp_path / "course", ["s19_stderr_warning", "s03_one_wrong"])
    pipe.nbgrader(course, "generate_assignment", "mini", "--force")
    pipe.autograde(course, "mini")
    assert total(course, "s19_stderr_warning") == 4
    assert total(course, "s03_one_wrong") == 3
    nb = nbformat.read(course / "autograded" / "s19_stderr_warning" / "mini" / "mini.ipynb", 4)
    q1 = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1_tests")
    text = "".join(o.get("text", "") for o in q1.outputs)
    assert "[stderr] relu called" in text


def test_autograded_notebooks(graded: Path) -> None:
    for student in EXPECTED:
        folder = graded / "autograded" / student / "mini"
        has_nb = (folder / "mini.ipynb").exists()
        assert has_nb == (student not in NOT_GRADABLE), student


def test_feedback_has_no_hidden_tests(graded: Path, tmp_path: Path) -> None:
    source = nbformat.read(FIXTURES / "mini_course" / "source" / "mini" / "mini.ipynb", 4)
    hidden = [line for c in source.cells for line in split_hidden(c.source)[1]]
    assert hidden
    # nbgrader's own feedback shows the hidden tests (nbgrader #917): the control, with the
    # course config's GenerateFeedback line taken out ...
    bare = shutil.copytree(graded, tmp_path / "bare")
    config = (bare / "nbgrader_config.py").read_text()
    (bare / "nbgrader_config.py").write_text(config.split("c.GenerateFeedback.preprocessors")[0])
    pipe.nbgrader(bare, "generate_feedback", "mini", "--student", "s03_one_wrong", "--force")
    page = (bare / "feedback" / "s03_one_wrong" / "mini" / "mini.html").read_text()
    assert hidden_leaks(page, hidden)
    # ... while plain `nbgrader generate_feedback` (and the formgrader's button) with the
    # course's config cuts them out and keeps the hint
    plain = shutil.copytree(graded, tmp_path / "plain")
    pipe.nbgrader(plain, "generate_feedback", "mini", "--student", "s03_one_wrong", "--force")
    page = (plain / "feedback" / "s03_one_wrong" / "mini" / "mini.html").read_text()
    assert hidden_leaks(page, hidden) == [] and "HIDDEN-Q" not in page
    assert "a hidden test failed" in page and "relu keeps positives" in page
    # ... course feedback does not, and still shows scores and visible test output
    assert main(["feedback", "mini", "--course", str(graded)]) == 0
    pages = sorted((graded / "feedback").glob("*/mini/mini.html"))
    assert len(pages) == len(EXPECTED) - len(NOT_GRADABLE)
    for path in pages:
        text = path.read_text()
        assert hidden_leaks(text, hidden) == [], path
        assert "HIDDEN-Q" not in text
    wrong = (graded / "feedback" / "s03_one_wrong" / "mini" / "mini.html").read_text()
    assert "a hidden test failed" in wrong and "relu keeps positives" in wrong
    toc = wrong.split('<div id="toc">')[1].split("</div>")[0]
    assert "Test cell" not in toc and ">Question 1" in toc, toc


def test_report(graded: Path) -> None:
    out = graded / "reports"
    assert main(["report", "mini", "--course", str(graded), "--out", str(out)]) == 0
    for name in ("grades.csv", "mini_questions.csv", "mini_score_histogram.png",
                 "mini_pass_rate.png", "mini_time_per_submission.png"):
        assert (out / name).stat().st_size > 0, name
    rows = (out / "mini_questions.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("question,n,max_score,mean,pass_rate")
    assert len((out / "grades.csv").read_text().splitlines()) == len(EXPECTED) + 1


def test_unknown_assignment_or_student(graded: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["autograde", "ps99", "--course", str(graded), *FAST]) == 2
    assert "unknown assignment" in capsys.readouterr().err
    assert main(["autograde", "mini", "--course", str(graded), "--student", "nobody",
                 *FAST]) == 2
    assert "nobody" in capsys.readouterr().err


def test_second_run_grades_nothing(graded: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["autograde", "mini", "--course", str(graded), *FAST]) == 0
    assert f"already graded (journal): {len(EXPECTED)}" in capsys.readouterr().out


def test_kill_and_resume(tmp_path: Path) -> None:
    students = ["s01_reference", "s02_alt_correct", "s03_one_wrong", "s04_untouched",
                "s05_raises", "s09_huge_output"]
    course = make_course(tmp_path / "course", students)
    journal = records.journal_for(course)
    cmd = [str(Path(sys.executable).parent / "course"), "autograde", "mini", "--course",
           str(course), "--workers", "2", *FAST]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not journal.entries("mini") and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {e["student"] for e in journal.entries("mini")}
    assert 1 <= len(first) < len(students)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"already graded (journal): {len(first)}" in again.stdout
    entries = journal.entries("mini")
    assert sorted(e["student"] for e in entries) == sorted(students)  # each exactly once
    for student in students:
        assert total(course, student) == EXPECTED[student]["score"], student


def test_dask_executor(tmp_path: Path) -> None:
    from distributed import LocalCluster

    students = ["s03_one_wrong", "s19_stderr_warning"]
    course = make_course(tmp_path / "course", students)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        assert main(["autograde", "mini", "--course", str(course), "--executor", "dask",
                     "--scheduler", cluster.scheduler_address, *FAST]) == 0
    for student in students:
        assert total(course, student) == EXPECTED[student]["score"], student


def test_collect(tmp_path: Path) -> None:
    course = make_course(tmp_path / "course", [])
    inbox = tmp_path / "inbox"
    shutil.copytree(CORPUS / "s01_reference", inbox / "alice")  # alice/mini/mini.ipynb
    shutil.copytree(CORPUS / "s16_invalid_json", inbox / "bob")
    (inbox / "carol" / "ps99").mkdir(parents=True)  # an unknown assignment
    (inbox / "carol" / "ps99" / "x.ipynb").write_text("{}")
    (inbox / "bad id!" / "mini").mkdir(parents=True)
    shutil.copy2(CORPUS / "s01_reference" / "mini" / "mini.ipynb", inbox / "bad id!" / "mini")
    flat = "mini_dave_attempt_2027-01-20-12-00-00_mini.ipynb"  # zip_collect-style name
    shutil.copy2(CORPUS / "s03_one_wrong" / "mini" / "mini.ipynb", inbox / flat)
    (inbox / "notes.txt").write_text("not a submission")
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in inbox.rglob("*"):
            zf.write(path, path.relative_to(inbox))
    from course_admin.collect import collect

    report = collect(archive, course, "mini")
    assert sorted(report.copied) == ["alice/mini", "bob/mini", "dave/mini"]
    assert report.unknown_assignment == ["carol/ps99"]
    assert report.bad_student == ["bad id!/mini"]
    assert report.malformed == ["bob/mini/mini.ipynb"]
    assert any("notes.txt" in u for u in report.unmatched)
    assert (course / "submitted" / "dave" / "mini" / "mini.ipynb").exists()
    assert main(["collect", str(inbox), "--course", str(course)]) == 0


def test_help_of_every_subcommand(capsys: pytest.CaptureFixture) -> None:
    for command in ("release", "collect", "autograde", "feedback", "report"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert f"usage: course {command}" in capsys.readouterr().out


def test_release_registers(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    course = make_course(tmp_path / "course", [])
    assert main(["release", "--course", str(course)]) == 0
    assert (course / "release" / "mini" / "mini.ipynb").exists()
    assert records.has_assignment(course, "mini")
    assert "registered mini in the gradebook" in capsys.readouterr().out


def test_crashing_cell_is_replaced_only_when_not_locked(tmp_path: Path) -> None:
    from course_admin.crash import CRASH_SOURCE, neutralise_cell

    path = tmp_path / "mini.ipynb"
    shutil.copy2(CORPUS / "s07_kernel_crash" / "mini" / "mini.ipynb", path)
    assert neutralise_cell(path, 1) is None  # the locked setup cell: nbgrader would restore it
    assert neutralise_cell(path, 2) is None  # markdown
    assert neutralise_cell(path, 99) is None
    assert neutralise_cell(path, 9) == "q3_answer"
    cells = nbformat.read(path, 4).cells
    assert cells[9].source == CRASH_SOURCE and cells[3].source.startswith("def relu")


def test_commands_say_what_is_wrong_and_create_nothing(tmp_path: Path, capsys) -> None:
    """Each mistake gets one line saying what to do, exit 2, and no file appears."""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(FIXTURES / "mini_course" / "source", course / "source")
    before = sorted(p.relative_to(course) for p in course.rglob("*"))
    cases = [
        (["collect", str(tmp_path / "missing.zip"), "--assignment", "mini"], "does not exist"),
        (["feedback", "mini"], "no gradebook"),
        (["feedback", "ps99"], "unknown assignment 'ps99'"),
        (["autograde", "mini", "--no-progress"], "nothing to grade"),
        (["report", "mini"], "no gradebook"),
    ]
    for argv, message in cases:
        assert main([*argv, "--course", str(course)]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, (argv, err)
    assert sorted(p.relative_to(course) for p in course.rglob("*")) == before
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "``" not in capsys.readouterr().out


def test_autograde_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    """A template and a job folder whose making process is dead (kill -9) are removed by the
    next run; a folder of a live process, or without an owner, is left alone."""
    import subprocess
    import tempfile

    from course_admin.grading import JOB_PREFIX, OWNER_FILE

    course = make_course(tmp_path / "course", ["s01_reference"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    autograded = course / "autograded"
    autograded.mkdir()
    left = [autograded / ".course-template-killed",
            Path(tempfile.mkdtemp(prefix=JOB_PREFIX))]
    for folder in left:
        folder.mkdir(exist_ok=True)
        (folder / "gradebook.db").write_text("hidden tests")
        (folder / OWNER_FILE).write_text(str(dead.pid))
    alive = Path(tempfile.mkdtemp(prefix=JOB_PREFIX))
    (alive / OWNER_FILE).write_text(str(os.getpid()))
    try:
        assert main(["autograde", "mini", "--course", str(course), *FAST]) == 0
        assert not any(folder.exists() for folder in left)
        assert alive.exists()
    finally:
        shutil.rmtree(alive, ignore_errors=True)


@pytest.mark.browser
def test_feedback_page_and_report_plots_render_in_chromium(graded: Path) -> None:
    """What an instructor and a student look at, opened in Debian's Chromium: a feedback page
    (contents titled by question, the hint shown, no hidden test) and every report PNG (drawn,
    not empty). Screenshots go to tests/artifacts/browser/ for a person to look at."""
    from playwright.sync_api import sync_playwright

    chromium = Path("/usr/bin/chromium")
    if os.environ.get("CNN_COURSE_SKIP_BROWSER") == "1":
        pytest.skip("CNN_COURSE_SKIP_BROWSER=1")
    assert chromium.is_file(), "install Debian's chromium (make setup does it as root)"
    out = graded / "reports-browser"
    assert main(["report", "mini", "--course", str(graded), "--out", str(out)]) == 0
    assert main(["feedback", "mini", "--course", str(graded), "--student", "s03_one_wrong"]) == 0
    page_path = graded / "feedback" / "s03_one_wrong" / "mini" / "mini.html"
    shots = ROOT / "tests" / "artifacts" / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_path.as_uri())
            toc = page.locator("#toc li").all_inner_texts()
            assert toc and all(t.startswith("Question ") for t in toc), toc
            assert "a hidden test failed" in page.inner_text("body")
            page.screenshot(path=shots / "5-feedback-mini.png", full_page=True)
            for png in sorted(out.glob("*.png")):
                page.goto(png.as_uri())
                size = page.evaluate("() => [document.images[0].naturalWidth,"
                                     " document.images[0].naturalHeight]")
                assert min(size) > 100, (png.name, size)
                page.screenshot(path=shots / f"6-{png.name}")
        finally:
            browser.close()
