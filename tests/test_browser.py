"""The course in a real browser: JupyterLab, the formgrader and nbgrader's Validate button.

Playwright drives Debian's Chromium (``/usr/bin/chromium``, package ``chromium``; nothing is
downloaded) against a JupyterLab server started on a free loopback port, with a token and
``CNN_COURSE_FAST=1``, in a temporary course directory: ``nbgrader_config.py`` and
``source/`` (from :func:`course_admin.nbgrader_pipeline.make_course_copy`), a copy of ``course/``
and the committed student version ``release/ps01/``.

1. a student opens lecture 01, runs its first cells and sees their output, without errors;
2. an instructor opens the formgrader and sees every assignment of ``source/`` (and so of
   ``course/manifest.toml``), each with its manifest due date;
3. a student clicks *Validate* on the untouched ps01 and gets nbgrader's failure report;
4. the Assignment List panel lists the course and ps01 as released, with no error.

The course is prepared as ``make lab`` does on a fresh clone: ``course publish`` (due dates
into a new gradebook, ``release/`` into the course-local exchange), nothing by hand.

Screenshots (and the server's log) go to ``tests/artifacts/browser/`` (git-ignored by the
``.gitignore`` the tests write into ``tests/artifacts/``). Set ``CNN_COURSE_SKIP_BROWSER=1``
to skip these tests; without it a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from course_admin import nbgrader_pipeline as pipe
from course_admin.manifest import load_manifest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SKIP_VAR = "CNN_COURSE_SKIP_BROWSER"
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
TOKEN = "browser-test-token"
LECTURE = "course/01_cnn_recap_fashion_mnist.ipynb"
RELEASE = "release/ps01/ps01_convolution_arithmetic.ipynb"
#: generous: the machine may be busy with other tests (nbgrader, nbval) at the same time
SLOW_MS = 180_000
#: files of the server's own (temporary) Jupyter config and JupyterLab settings folders: no
#: "get notified about Jupyter news?" toast over the screenshots, no 10-second build check
LAB_FILES = {
    "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        '{"fetchNews": "false", "checkForUpdates": false}',
    "config/labconfig/page_config.json": '{"buildCheck": false, "buildAvailable": false}',
}


def _require_browser() -> None:
    """Skip on request; fail (with the fix) when Chromium or playwright is missing."""
    if os.environ.get(SKIP_VAR) == "1":
        pytest.skip(f"{SKIP_VAR}=1: browser tests skipped")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's package with "
                    "`sudo apt-get install chromium` (`make setup` does it when run as root), "
                    f"or set {SKIP_VAR}=1 to skip the browser tests", pytrace=False)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: run `make setup` "
                    "(or `.venv/bin/pip install -e .`)", pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and every process it started (kernels run in their own sessions)."""
    import psutil

    try:
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    for p in family:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(family, timeout=15)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.wait(timeout=15)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """``tests/artifacts/browser/``, emptied; ``tests/artifacts/`` ignores itself in git."""
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    (ROOT / "tests" / "artifacts" / ".gitignore").write_text("# test output\n*\n")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir()
    return ARTIFACTS


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course directory as nbgrader sees it, with the lectures and ps01's student version."""
    _require_browser()
    course = pipe.make_course_copy(tmp_path_factory.mktemp("browser") / "course")
    shutil.copytree(ROOT / "course", course / "course",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "release" / "ps01", course / "release" / "ps01")
    done = subprocess.run([str(Path(sys.executable).parent / "course"), "publish"], cwd=course,
                          capture_output=True, text=True, timeout=300)  # as `make lab` does
    assert done.returncode == 0, done.stderr[-3000:]
    return course


@pytest.fixture(scope="module")
def lab(course_dir: Path, artifacts: Path) -> Iterator[str]:
    """JupyterLab serving ``course_dir``; yields its base URL; stopped afterwards."""
    port, state = _free_port(), course_dir.parent / "lab-state"
    for name, text in LAB_FILES.items():
        (state / name).parent.mkdir(parents=True, exist_ok=True)
        (state / name).write_text(text)
    env = dict(os.environ, CNN_COURSE_FAST="1", JUPYTER_RUNTIME_DIR=str(state / "runtime"),
               JUPYTER_CONFIG_DIR=str(state / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    log_path = artifacts / "jupyter-server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
             f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={course_dir}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=course_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SLOW_MS / 1000
        while _up(base) is False:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start (exit {proc.poll()}); its log:\n"
                            f"{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        _stop(proc)


def _up(base: str) -> bool:
    try:
        return _status(f"{base}/api/status?token={TOKEN}") == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def browser(lab: str):
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(SLOW_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def _open_in_lab(page, lab: str, workspace: str, path: str, kernel: bool = True):
    """Open ``path`` in a fresh Lab workspace (no tabs restored); returns the notebook panel
    once it is shown and, with ``kernel``, its kernel is idle."""
    page.goto(f"{lab}/lab/workspaces/{workspace}/tree/{path}?token={TOKEN}")
    panel = page.locator(".jp-NotebookPanel").first
    panel.locator(".jp-Cell").first.wait_for(state="visible")
    if kernel:
        page.wait_for_function(
            "() => { const bar = document.querySelector('#jp-main-statusbar');"
            " return bar && /\\| Idle/.test(bar.innerText) && !/No Kernel/.test(bar.innerText); }",
            timeout=SLOW_MS)
    return panel


def test_lecture_runs_its_first_cells(lab, page, artifacts):
    from playwright.sync_api import expect

    panel = _open_in_lab(page, lab, "lecture", LECTURE)
    cells = panel.locator(".jp-Cell")
    cells.first.click()  # the title cell (markdown)
    page.keyboard.press("Escape")
    for _ in range(3):  # markdown title, `import helpers`, the mode banner
        page.keyboard.press("Shift+Enter")
    banner = cells.nth(2).locator(".jp-OutputArea-output")
    # the stored output says FULL mode: FAST proves the cell ran, in the server's fast mode
    expect(banner).to_contain_text("FAST mode", timeout=SLOW_MS)
    for i in (1, 2):
        expect(cells.nth(i).locator(".jp-InputPrompt")).not_to_contain_text("*")
        outputs = cells.nth(i).locator(".jp-OutputArea-output")
        assert "Traceback" not in " ".join(outputs.all_inner_texts())
        assert cells.nth(i).locator("[data-mime-type='application/vnd.jupyter.stderr']").count() \
            == 0, f"cell {i} wrote to stderr"
    assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()
    page.screenshot(path=artifacts / "1-lecture01-first-cells.png")


def test_formgrader_lists_every_assignment(lab, page, course_dir, artifacts):
    page.goto(f"{lab}/formgrader?token={TOKEN}")
    page.locator("table tbody td.name a").first.wait_for()
    listed = [name.strip() for name in page.locator("table tbody td.name").all_inner_texts()]
    assert listed == pipe.assignments(course_dir)
    assert {a.id for a in load_manifest().assignments} <= set(listed)
    assert not page.locator("#warning-exchange").is_visible()
    dues = dict(zip(listed, (d.strip() for d in page.locator("table tbody td.duedate")
                             .all_inner_texts()), strict=True))
    for a in load_manifest().assignments:  # shown as "2027-01-25 23:59:59 UTC" or similar
        assert dues[a.id].startswith(f"{a.due.isoformat()} 23:59:59"), (a.id, dues[a.id])
    page.screenshot(path=artifacts / "2-formgrader-assignments.png", full_page=True)


def test_assignment_list_shows_the_released_assignment_without_error(lab, page, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{lab}/lab/workspaces/assignments?token={TOKEN}")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    course = page.locator("#course_list_default")
    expect(course).to_have_text("cnn-course", timeout=SLOW_MS)
    released = page.locator("#released_assignments_list")
    expect(released).to_contain_text("ps01", timeout=SLOW_MS)
    text = page.locator("#assignments").inner_text()
    page.screenshot(path=artifacts / "4-assignment-list.png")
    for error in ("Error fetching courses", "does not exist", "No courses found"):
        assert error not in text, text[:2000]


def test_validate_reports_the_untouched_release(lab, page, course_dir, artifacts):
    cells = json.loads((course_dir / RELEASE).read_text())["cells"]
    tests = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")
             and not c["metadata"]["nbgrader"].get("solution")]
    panel = _open_in_lab(page, lab, "student", RELEASE, kernel=False)
    panel.locator(".validate-button").click()  # saves, then nbgrader runs the whole notebook
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=SLOW_MS)
    text = dialog.inner_text()
    page.screenshot(path=artifacts / "3-validate-ps01.png")
    assert text.startswith("Validation Results"), text[:500]
    # every test cell fails on the untouched notebook, each with the stub's exception
    assert text.count("The following cell failed") == len(tests) > 0, text[:2000]
    assert "NotImplementedError" in text


def test_missing_chromium_fails_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.delenv(SKIP_VAR, raising=False)
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception, match="sudo apt-get install chromium"):
        _require_browser()
    monkeypatch.setenv(SKIP_VAR, "1")
    with pytest.raises(pytest.skip.Exception):
        _require_browser()
