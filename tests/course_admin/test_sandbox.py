"""The grading sandbox (bubblewrap) itself: what a student's process can and cannot reach.

Each test runs a small Python program in :func:`course_admin.sandbox.grading_sandbox`
through the same :func:`course_admin.runner.run_command` the grading jobs use.
"""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from pathlib import Path

import pytest

from course_admin import sandbox as sb
from course_admin.runner import run_command

ROOT = Path(__file__).resolve().parents[2]


def run_in_sandbox(tmp_path: Path, code: str, course: Path | None = None,
                   timeout: float = 60) -> tuple[int | None, str, Path]:
    """Run ``code`` with this interpreter in a job folder under ``tmp_path``."""
    job = tmp_path / "job"
    job.mkdir(exist_ok=True)
    box = sb.grading_sandbox(job, course)
    status, log = run_command([sys.executable, "-c", textwrap.dedent(code)], job, timeout,
                              {}, box)
    return status, log, job


@pytest.fixture()
def course(tmp_path: Path) -> Path:
    """A course folder with a 'solution' and a 'gradebook' in it."""
    root = tmp_path / "course"
    (root / "source" / "ps01").mkdir(parents=True)
    (root / "source" / "ps01" / "ps01.ipynb").write_text("SOLUTION")
    (root / "gradebook.db").write_text("GRADES")
    return root


def test_course_root_and_checkout_are_hidden(tmp_path: Path, course: Path) -> None:
    status, log, _ = run_in_sandbox(tmp_path, f"""
        import os
        print(sorted(os.listdir({str(course)!r})))
        print(os.path.exists({str(ROOT / 'source')!r}), os.path.exists({str(ROOT / 'README.md')!r}))
        import helpers
        print("helpers at", helpers.__file__)
    """, course)
    assert status == 0, log
    lines = log.splitlines()
    assert lines[0] == "[]"  # the course is an empty folder inside
    assert lines[1] == "False False"  # the checkout's source/ and files are gone
    assert lines[2] == f"helpers at {ROOT / 'helpers' / '__init__.py'}"  # the package is there


def test_writes_outside_the_job_do_not_reach_the_disk(tmp_path: Path, course: Path) -> None:
    status, log, job = run_in_sandbox(tmp_path, f"""
        import pathlib
        try:  # the course is an empty tmpfs: a write is refused or stays in it
            pathlib.Path({str(course / 'gradebook.db')!r}).write_text("HACKED")
        except OSError:
            pass
        pathlib.Path("mine.txt").write_text("kept")
        try:
            open({str(Path(sys.prefix) / 'hacked.txt')!r}, "w")
        except OSError as exc:
            print("environment:", type(exc).__name__)
    """, course)
    assert status == 0, log
    assert "environment: OSError" in log
    assert (course / "gradebook.db").read_text() == "GRADES"
    assert not (Path(sys.prefix) / "hacked.txt").exists()
    assert (job / "mine.txt").read_text() == "kept"


def test_no_network_not_even_the_graders_loopback(tmp_path: Path) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        status, log, _ = run_in_sandbox(tmp_path, f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                print("connected")
            except OSError as exc:
                print("refused:", type(exc).__name__)
            try:
                socket.getaddrinfo("pypi.org", 443)
                print("resolved")
            except OSError as exc:
                print("no dns:", type(exc).__name__)
        """)
    finally:
        server.close()
    assert status == 0, log
    assert "refused:" in log and "connected" not in log
    assert "no dns:" in log


def test_grader_processes_are_invisible(tmp_path: Path) -> None:
    status, log, _ = run_in_sandbox(tmp_path, f"""
        import os
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(len(pids), {os.getpid()} in pids, os.path.exists("/proc/{os.getpid()}/cwd"))
    """)
    assert status == 0, log
    count, has_me, has_cwd = log.split()
    assert int(count) <= 3 and has_me == "False" and has_cwd == "False"


def test_nothing_outlives_the_sandbox(tmp_path: Path) -> None:
    status, log, job = run_in_sandbox(tmp_path, """
        import subprocess, sys
        late = "import time, pathlib; time.sleep(2); pathlib.Path('late.txt').write_text('x')"
        subprocess.Popen([sys.executable, "-c", late], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("started")
    """)
    assert status == 0 and "started" in log, log
    time.sleep(3.5)
    assert not (job / "late.txt").exists()


@pytest.mark.skipif(not sb.process_bound(), reason="needs root and unprivileged bwrap")
def test_processes_are_bounded_and_the_sandbox_runs_as_its_own_user(tmp_path: Path) -> None:
    """A fork bomb stops at PROCESS_LIMIT tasks of the sandbox's own (non-root) user, and
    the job's folder stays writable for it; every process is gone afterwards."""
    status, log, job = run_in_sandbox(tmp_path, """
        import os, signal
        print("uid", os.getuid())
        open("written.txt", "w").write("ok")
        children = 0
        try:
            for _ in range(5000):
                pid = os.fork()
                if pid == 0:
                    signal.pause()
                    os._exit(0)
                children += 1
        except OSError as error:
            print("fork refused after", children, "children:", error.errno)
        print("children", children)
    """, timeout=120)
    assert status == 0, log
    uid = int(log.split("uid ")[1].split()[0])
    assert uid >= sb.FIRST_UID, log
    children = int(log.split("children ")[-1].split()[0])
    assert "fork refused" in log and children < sb.PROCESS_LIMIT, log
    assert (job / "written.txt").read_text() == "ok"
    time.sleep(1)
    owned = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _owner(p) == uid]
    assert not owned, f"{len(owned)} processes of the sandbox's user are still running"


def _owner(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None


def test_files_beside_the_notebook_cannot_shadow_modules(tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    (job / "helpers.py").write_text("raise SystemExit('shadowed')\n")
    (job / "sitecustomize.py").write_text("print('sitecustomize ran')\n")
    status, log, _ = run_in_sandbox(tmp_path, """
        import helpers
        print("real helpers:", hasattr(helpers, "__path__"))
    """)
    assert status == 0, log
    assert "real helpers: True" in log and "sitecustomize ran" not in log


def test_missing_bwrap_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    sb.bwrap_path.cache_clear()
    monkeypatch.setattr(sb.shutil, "which", lambda name: None)
    try:
        with pytest.raises(sb.SandboxUnavailable, match="apt-get install bubblewrap"):
            sb.bwrap_path()
    finally:
        sb.bwrap_path.cache_clear()
