"""`make lab` serves JupyterLab with the course and nbgrader's extensions.

Starts the installed JupyterLab on a free loopback port (as `make lab` does,
without a browser) and checks over HTTP that the lab page loads nbgrader's
front-end extension, that the formgrader and the validate API answer, and that
the course notebooks are served.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "course-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    port = _free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path_factory.mktemp("runtime")))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
         f"--ServerApp.root_dir={ROOT}", *(["--allow-root"] if os.geteuid() == 0 else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}: {proc.stderr.read()[-2000:]}")
        try:
            if _get(f"{base}/api/status?token={TOKEN}")[0] == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("jupyter lab did not answer within 60 s")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def test_lab_page_loads_the_nbgrader_extension(lab_url):
    status, html = _get(f"{lab_url}/lab?token={TOKEN}")
    assert status == 200
    assert "@jupyter/nbgrader" in html, "nbgrader's JupyterLab extension is not enabled"


def test_formgrader_is_served(lab_url):
    status, html = _get(f"{lab_url}/formgrader?token={TOKEN}")
    assert status == 200 and "formgrade" in html.lower()


def test_course_notebooks_are_served(lab_url):
    status, body = _get(f"{lab_url}/api/contents/course?token={TOKEN}")
    assert status == 200
    names = {item["name"] for item in json.loads(body)["content"]}
    assert any(name.startswith("01_") and name.endswith(".ipynb") for name in names), names


def test_nbgrader_validate_and_assignment_list_server_extensions_are_enabled():
    out = subprocess.run(
        [str(Path(sys.executable).parent / "jupyter"), "server", "extension", "list"],
        capture_output=True, text=True, check=True,
    )
    text = out.stdout + out.stderr
    for ext in ("formgrader", "validate_assignment", "assignment_list"):
        assert f"nbgrader.server_extensions.{ext} \x1b[32menabled" in text or (
            f"nbgrader.server_extensions.{ext} enabled" in text
        ), f"nbgrader server extension {ext} is not enabled"
