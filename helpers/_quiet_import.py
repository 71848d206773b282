"""Import a package with file descriptor 2 on a temporary file: TensorFlow's C++ notices off
stderr, oneDNN left on.

TensorFlow prints "oneDNN custom operations are on ..." (and absl's "All log messages before
absl::InitializeLog() ..."), from C++, straight to file descriptor 2 while ``import
tensorflow`` loads its libraries; ``TF_CPP_MIN_LOG_LEVEL`` does not silence it. Python's
``sys.stderr`` cannot catch it, and a Jupyter kernel forwards that descriptor to the notebook
as stderr output. :func:`quiet_first_import` installs an import hook that runs the first
import of the package with descriptor 2 pointed at a temporary file and restored right after;
the notices are dropped, every other line is written back to stderr, and an import that fails
raises with the captured text.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from types import ModuleType

#: what TensorFlow's libraries print to descriptor 2 when they load: dropped
NOTICES = re.compile(r"All log messages before absl::InitializeLog\(\) is called"
                     r"|oneDNN custom operations are on")
#: the notices dropped so far (what says that oneDNN is on), for tests and the curious
dropped: list[str] = []


def _drop_notices(text: str) -> str:
    """``text`` without the lines :data:`NOTICES` matches (kept in :data:`dropped`)."""
    lines = text.splitlines(True)
    dropped.extend(line.strip() for line in lines if NOTICES.search(line))
    return "".join(line for line in lines if not NOTICES.search(line))


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader's ``exec_module`` with descriptor 2 on a temporary file."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def __getattr__(self, name: str):
        # everything else (get_resource_reader, is_package, get_data, ...) is the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile(mode="w+b") as captured:
            os.dup2(captured.fileno(), 2)
            try:
                self.loader.exec_module(module)
            except BaseException as exc:
                os.dup2(saved, 2)
                captured.seek(0)
                text = captured.read().decode(errors="replace").strip()
                if text:
                    exc.add_note(f"while importing {module.__name__}, it printed:\n{text}")
                raise
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            captured.seek(0)
            rest = _drop_notices(captured.read().decode(errors="replace"))
        if rest:
            sys.stderr.write(rest)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``name`` once, as the other finders would, and hands it to :class:`_QuietLoader`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once: the nested imports find their modules as usual
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def quiet_first_import(name: str) -> None:
    """Make the first ``import name`` of this process quiet on descriptor 2 (module docstring).

    Args:
        name: a top-level package, e.g. ``"tensorflow"``.

    Returns:
        None. Nothing happens when ``name`` is already imported or a hook for it is installed.
    """
    if name in sys.modules or any(isinstance(f, _QuietFinder) and f.name == name
                                  for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder(name))
