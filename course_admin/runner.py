"""Run nbgrader for a grading job: as a fresh ``nbgrader`` process, or forked from a worker
that has nbgrader imported already (the default in single-threaded workers, i.e. process
pools: it saves nbgrader's start-up, a second or two per submission).

Either way the run is its own process group in its own working directory, is killed with its
group after a timeout, and (on Linux) dies with the worker that started it.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from course_admin.sandbox import Sandbox


def _bin(name: str) -> str:
    exe = Path(sys.executable).parent / name
    return str(exe) if exe.exists() else name


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an nbgrader run: this interpreter's bin/ first, quiet TensorFlow,
    ``PYTHONSAFEPATH`` and no hint of where the real course lives (``PWD``/``OLDPWD``
    dropped)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PWD", "OLDPWD")}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    # no implicit current directory on sys.path: files handed in beside the notebook (a
    # helpers.py, sitecustomize.py) cannot shadow the environment's modules at start-up
    env["PYTHONSAFEPATH"] = "1"
    env.update(extra or {})
    return env


def _die_with_parent() -> None:
    """In the child, before exec: on Linux, be killed when the process that started us dies
    (a grading worker killed with ``kill -9`` leaves no nbgrader behind; its kernel follows,
    as ipykernel exits when its parent goes)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _forked_nbgrader(course_dir: Path, args: list[str], timeout: float,
                     env: dict[str, str] | None) -> tuple[int | None, str]:
    """:func:`run_nbgrader` by ``fork`` + nbgrader's application in the child."""
    import nbgrader.apps.nbgraderapp  # noqa: F401  (imported once per worker, then inherited)

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.setsid()
            _die_with_parent()
            os.dup2(write_fd, 1)
            os.dup2(write_fd, 2)
            os.close(read_fd)
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            os.chdir(course_dir)
            full = _env(env)
            os.environ.clear()
            os.environ.update(full)
            from nbgrader.apps.nbgraderapp import NbGraderApp

            sys.argv = ["nbgrader", *args]
            NbGraderApp.launch_instance()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([read_fd], [], [], min(left, 1.0))
        if ready:
            data = os.read(read_fd, 65536)
            if not data:
                break
            chunks.append(data)
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    log = b"".join(chunks).decode(errors="replace")
    return (None if timed_out else os.waitstatus_to_exitcode(status)), log


def run_nbgrader(course_dir: Path, args: list[str], timeout: float,
                 env: dict[str, str] | None = None,
                 sandbox: Sandbox | None = None) -> tuple[int | None, str]:
    """Run ``nbgrader *args`` in ``course_dir`` in its own process group.

    Returns (exit status, combined log); the status is None when ``timeout`` seconds passed,
    in which case the whole group (nbgrader and its kernel) is killed. With ``sandbox``,
    nbgrader and everything it starts run under bubblewrap (:mod:`.sandbox`) in a fresh
    process. Otherwise forks (see the module docstring) when the process is
    single-threaded, on POSIX, unless ``COURSE_GRADE_FORK=0``.
    """
    return run_command([_bin("nbgrader"), *args], course_dir, timeout, env, sandbox,
                       fork_args=args)


def run_command(command: list[str], cwd: Path, timeout: float,
                env: dict[str, str] | None = None, sandbox: Sandbox | None = None,
                fork_args: list[str] | None = None) -> tuple[int | None, str]:
    """Run ``command`` in ``cwd`` (under ``sandbox`` when given) in its own process group
    with the grading environment; (exit status or None after ``timeout`` s, combined log).
    ``fork_args``: nbgrader's arguments, when ``command`` is nbgrader and may be forked."""
    if (sandbox is None and fork_args is not None and hasattr(os, "fork")
            and threading.active_count() == 1
            and os.environ.get("COURSE_GRADE_FORK", "1") != "0"):
        return _forked_nbgrader(cwd, fork_args, timeout, env)
    if sandbox is not None:
        sandbox.prepare()
        command = sandbox.argv(command, cwd)
    proc = subprocess.Popen(
        command, cwd=cwd, env=_env(env), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # preexec_fn is unsafe with threads: only in single-threaded processes
        preexec_fn=_die_with_parent if threading.active_count() == 1 else None,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out
