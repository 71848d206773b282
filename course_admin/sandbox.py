"""Run a grading job's commands under bubblewrap (``bwrap``), Debian's package ``bubblewrap``.

What the sandboxed process sees:

* the whole file system **read-only**, except
* the course root, the checkout that holds ``helpers/`` (its ``source/``), ``$HOME``,
  ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run``, ``/home``, ``/root``, ``/srv``, ``/mnt`` and
  ``/media``, which are **hidden** (an empty tmpfs over each), with
* the Python environment, the ``helpers`` package and the data directories bound back
  read-only inside them, and
* the job's own folder (one submission and the assignment's template), the only
  **writable** place that outlives the process;
* no network (its own, empty network namespace), its own PID namespace (no ``/proc`` of the
  grader: only its own processes are visible) and its own IPC and UTS namespaces;
* every process it starts is killed when the sandbox's main process ends
  (``--die-with-parent``, and the PID namespace goes with its first process), so nothing
  outlives the job.

Memory is bounded by the kernel itself (``course_admin.kernel``, ``RLIMIT_AS``) and time
by the job's timeouts. Processes (threads included) are bounded by ``RLIMIT_NPROC``
(:data:`PROCESS_LIMIT`), which the kernel does not apply to root: a grader running as root
therefore runs each sandbox's command as an unprivileged user of its own (util-linux's
``prlimit`` and ``setpriv`` inside the sandbox: capabilities dropped, ``no_new_privs``), with
the job's folder handed to that user. Where that is impossible (the grader is not root) the
process count is not bounded; :func:`process_bound` says which.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: most processes and threads a sandbox may run at once (RLIMIT_NPROC of its own user):
#: TensorFlow starts a few dozen threads; a fork bomb stops here.
PROCESS_LIMIT = 512

#: the sandbox's users are FIRST_UID + the pid of the process that starts it (unique among
#: the jobs running at the same time; no account is needed for a uid)
FIRST_UID = 200_000

#: hidden folders that stay writable (as empty, sticky tmpfs) for the sandbox's user
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")

#: hidden in every sandbox (when they exist): where other people's files live
SYSTEM_HIDDEN = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/home", "/root", "/srv", "/mnt",
                 "/media")

INSTALL_HINT = ("install Debian's package with `sudo apt-get install bubblewrap` (`make setup` "
                "does it when run as root)")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces on this machine."""


@dataclass(frozen=True)
class Sandbox:
    """A bubblewrap policy: what is hidden, what is readable again, what is writable.

    Args:
        writable: folders bound read-write at their own path (the job's folder).
        hidden: folders replaced by an empty tmpfs.
        readable: folders (or files) bound back read-only, also inside hidden ones.
    """

    writable: tuple[str, ...]
    hidden: tuple[str, ...] = ()
    readable: tuple[str, ...] = ()
    #: run as this unprivileged uid with RLIMIT_NPROC = PROCESS_LIMIT (None: as the caller)
    uid: int | None = None

    def prepare(self) -> None:
        """Hand the writable folders to the sandbox's user (when it has one of its own):
        call before each run, so that files the grader wrote there since are writable."""
        if self.uid is not None:
            for path in self.writable:
                _hand_over(Path(path), self.uid)

    def argv(self, command: list[str], cwd: str | Path) -> list[str]:
        """``bwrap ... -- command``, run in ``cwd`` (which must be inside a writable or
        readable folder)."""
        args = [bwrap_path(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        hidden = _existing(self.hidden)
        for path in hidden:
            # scratch space stays writable for any user (sticky), the rest only readable
            args += ["--perms", "1777" if path in SCRATCH or path == str(Path.home())
                     else "0755", "--tmpfs", path]
        made: set[str] = set()
        for path, how in [*((p, "--ro-bind") for p in _existing(self.readable)),
                          *((p, "--bind") for p in self.writable)]:
            # the folders bwrap makes on the way to a bind inside a hidden one: traversable
            for parent in reversed(Path(path).parents):
                inside = any(str(parent).startswith(h + "/") for h in hidden)
                if inside and str(parent) not in made:
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += [how, path, path]
        if self.uid is None:
            args += ["--unshare-all"]
        else:
            # every namespace but the user's: the command drops to the sandbox's own uid
            # (capabilities gone, no way back through setuid programs) under RLIMIT_NPROC
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                     "--unshare-cgroup-try"]
            command = ["prlimit", f"--nproc={PROCESS_LIMIT}", "--", "setpriv",
                       f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                       "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--",
                       *command]
        args += ["--die-with-parent", "--new-session", "--chdir", str(cwd), "--", *command]
        return args


def _existing(paths: Iterable[str]) -> list[str]:
    """The paths that exist, resolved, without duplicates, shortest first (a folder is
    mounted before anything inside it)."""
    out = {str(Path(p).resolve()) for p in paths if p and Path(p).exists()}
    return sorted(out, key=lambda p: (p.count("/"), p))


@functools.cache
def bwrap_path() -> str:
    """The ``bwrap`` executable; :class:`SandboxUnavailable` when there is none."""
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}, or "
                                 "grade without isolation with --no-sandbox (trusted "
                                 "submissions only).")
    return path


@functools.cache
def check_available() -> None:
    """Run ``true`` in a minimal sandbox once; raise :class:`SandboxUnavailable` with
    bwrap's own message when namespaces cannot be created (a container without
    privileges, user namespaces switched off)."""
    probe = Sandbox(writable=()).argv(["true"], "/")
    done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise SandboxUnavailable(
            f"bubblewrap cannot create a sandbox here: {done.stderr.strip() or done.returncode}"
            ". Grading needs Linux namespaces (run as root, or enable unprivileged user "
            "namespaces: sysctl kernel.unprivileged_userns_clone=1), or use --no-sandbox "
            "for trusted submissions only.")


def _package_root() -> Path:
    """The folder that holds the ``helpers`` and ``course_admin`` packages (a checkout or
    site-packages); found without importing ``helpers``."""
    spec = importlib.util.find_spec("helpers")
    if spec is None or spec.origin is None:
        raise SandboxUnavailable("the helpers package is not installed: run `make setup`")
    return Path(spec.origin).resolve().parent.parent


def data_dirs() -> list[str]:
    """Data the notebooks read: FashionMNIST (``FASHION_MNIST_DIR``, the course cache,
    Keras' cache, Debian's package lives under /usr and is readable anyway)."""
    home = Path.home()
    dirs = [os.environ.get("FASHION_MNIST_DIR", ""), os.environ.get("CNN_COURSE_CACHE", ""),
            str(home / ".cache" / "cnn-course"), str(home / ".keras")]
    return [d for d in dirs if d]


@functools.cache
def process_bound() -> bool:
    """Whether sandboxes run as a user of their own with a process limit: the grader is
    root and util-linux's ``prlimit`` and ``setpriv`` work in a sandbox."""
    if os.geteuid() != 0 or not (shutil.which("prlimit") and shutil.which("setpriv")):
        return False
    try:
        probe = Sandbox(writable=(), uid=FIRST_UID).argv(["true"], "/")
        return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired, SandboxUnavailable):
        return False


def _hand_over(job_dir: Path, uid: int) -> None:
    """Make ``job_dir`` and everything in it belong to ``uid`` (the sandbox writes there)."""
    for path in [job_dir, *job_dir.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, uid, uid)


def grading_sandbox(job_dir: Path, course_root: Path | None = None) -> Sandbox:
    """The sandbox of one grading job: ``job_dir`` writable; the course, the checkout of
    ``helpers`` and every other user folder hidden; the environment readable; as a user of
    its own with at most :data:`PROCESS_LIMIT` processes where :func:`process_bound`."""
    package_root = _package_root()
    hidden = [*SYSTEM_HIDDEN, str(Path.home())]
    if course_root is not None:
        hidden.append(str(course_root))
    if (package_root / "helpers" / "__init__.py").exists() and not _is_site_packages(
            package_root):
        hidden.append(str(package_root))  # a checkout: its source/, gradebook.db, ...
    readable = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                str(package_root / "helpers"), str(Path(__file__).resolve().parent),
                *data_dirs()]
    readable += [p for p in sys.path if p.endswith("site-packages")]
    uid = FIRST_UID + os.getpid() if process_bound() else None
    return Sandbox(writable=(str(job_dir.resolve()),), hidden=tuple(hidden),
                   readable=tuple(readable), uid=uid)


def _is_site_packages(path: Path) -> bool:
    return path.name in ("site-packages", "dist-packages")
