"""The trusted grader's end of the student's sandboxed process (:mod:`.student_process`).

:class:`StudentConnection` starts the process under bubblewrap and sends it requests;
:class:`RemoteFunction` and :class:`RemoteObject` stand for the student's functions and
objects in the grader's namespace: calling one sends the grader's arguments as plain data,
runs the student's code in the sandbox and brings back its result as plain data, so the
hidden tests themselves run in the trusted process and no student object ever reaches it.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from course_admin import wire
from course_admin.sandbox import Sandbox

#: a reply line longer than this is refused (a value of more than ~192 MB)
MAX_REPLY_BYTES = 256 * 1024 * 1024


class StudentProcessDied(RuntimeError):
    """The student's process ended (os._exit, a crash, the memory limit) or hung."""


class StudentError(Exception):
    """An exception of the student's code whose class is not a built-in one."""


def raise_student_error(error: dict) -> None:
    """Raise what the student's code raised, as the nearest built-in exception class."""
    message = str(error.get("message", ""))
    kind = str(error.get("type", "Exception"))
    text = f"{kind}: {message}" if message else kind
    for name in error.get("bases", []):
        cls = getattr(builtins, str(name), None)
        if (isinstance(cls, type) and issubclass(cls, Exception)
                and cls not in (Exception, BaseException)):
            try:
                exc = cls(text)
            except TypeError:
                continue
            raise exc
    if kind == "WireError":
        raise AssertionError(f"the value cannot be graded: {message}")
    raise StudentError(text)


class StudentConnection:
    """One sandboxed student process: start, request, stop."""

    def __init__(self, workdir: Path, sandbox: Sandbox | None, env: dict[str, str],
                 call_timeout: float = 120.0) -> None:
        self.workdir, self.sandbox, self.env = workdir, sandbox, env
        self.call_timeout = call_timeout
        self.proc: subprocess.Popen | None = None
        #: streams the student's calls wrote, drained by the grader after each test
        self.captured: list[dict] = []

    def start(self) -> None:
        from course_admin.runner import _env

        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        command = [sys.executable, "-m", "course_admin.student_process",
                   str(req_r), str(rep_w)]
        if self.sandbox is not None:
            self.sandbox.prepare()
            command = self.sandbox.argv(command, self.workdir)
        self.proc = subprocess.Popen(
            command, cwd=self.workdir, env=_env(self.env), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(req_r, rep_w),
            start_new_session=True)
        os.close(req_r)
        os.close(rep_w)
        self._out = os.fdopen(req_w, "w", encoding="utf-8", buffering=1)
        self._in = rep_r
        self._buffer = b""

    def stop(self) -> None:
        """Kill the process group (the sandbox and all it started)."""
        if self.proc is None:
            return
        try:
            self._out.close()
        except OSError:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        os.close(self._in)
        self.proc = None

    def request(self, message: dict, timeout: float | None = None) -> dict:
        """Send one request, wait for its reply (``timeout`` s; the student's side stops its
        own work at the request's ``timeout``, this waits 15 s longer before it kills)."""
        if self.proc is None:
            self.start()
        limit = (timeout if timeout is not None else self.call_timeout)
        message = {**message, "timeout": limit}
        try:
            self._out.write(json.dumps(message) + "\n")
            self._out.flush()
        except (BrokenPipeError, OSError):
            self.stop()
            raise StudentProcessDied("the student's process has ended") from None
        deadline = time.monotonic() + limit + 15
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                raise StudentProcessDied(f"no answer within {limit:g} s")
            ready, _, _ = select.select([self._in], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                self.stop()
                raise StudentProcessDied("the student's process stopped (os._exit, a crash "
                                         "or the memory limit)")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                self.stop()
                raise StudentProcessDied("the student's process sent too much data")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            reply = json.loads(line)
        except ValueError:
            raise AssertionError("the student's process sent a malformed reply") from None
        if not isinstance(reply, dict):
            raise AssertionError("the student's process sent a malformed reply")
        return reply

    # -- values -----------------------------------------------------------------------
    def names(self) -> set[str]:
        reply = self.request({"op": "names"})
        names = reply.get("names", [])
        return {n for n in names if isinstance(n, str) and n.isidentifier()}

    def value(self, reply: dict) -> Any:
        if "error" in reply:
            raise_student_error(reply["error"])
        return wire.decode(reply.get("value"), on_tag=self._resolve)

    def get(self, name: str) -> Any:
        return self.value(self.request({"op": "get", "name": name}))

    def _resolve(self, obj: dict) -> Any:
        if obj.get("$") == "handle":
            handle = int(obj["id"])
            kind = str(obj.get("type", "object"))[:100]
            if obj.get("callable"):
                return RemoteFunction(self, {"handle": handle}, kind)
            return RemoteObject(self, handle, kind)
        raise wire.WireError(f"unexpected tag {obj.get('$')!r}")

    def _encode_arg(self, value: object) -> Any:
        def local(obj: object) -> dict:
            if isinstance(obj, RemoteFunction | RemoteObject) and obj._conn is self:
                return {"$": "handle", "id": obj._handle_id()}
            raise wire.WireError(f"a {type(obj).__name__} cannot be passed to the student's "
                                 "code")
        return wire.encode(value, on_object=local)

    def call(self, target: dict, args: tuple, kwargs: dict) -> Any:
        message = {"op": "call", "target": target,
                   "args": [self._encode_arg(a) for a in args],
                   "kwargs": {str(k): self._encode_arg(v) for k, v in kwargs.items()}}
        reply = self.request(message)
        for name in ("stdout", "stderr"):
            text = reply.get(name)
            if isinstance(text, str) and text:
                self.captured.append({"output_type": "stream", "name": name, "text": text})
        after = reply.get("args_after") or []
        for original, new in zip(args, after, strict=False):
            if new is not None:
                _sync(original, new, self)
        kw_after = reply.get("kwargs_after") or {}
        for key, original in kwargs.items():
            if kw_after.get(key) is not None:
                _sync(original, kw_after[key], self)
        if "error" in reply:
            raise_student_error(reply["error"])
        result = reply.get("result")
        if isinstance(result, dict) and result.get("$") == "argref":
            index = int(result["i"])
            if not 0 <= index < len(args):
                raise AssertionError("the student's process sent a malformed reply")
            return args[index]
        if isinstance(result, dict) and result.get("$") == "kapply":
            tensors = [a for a in [*args, *kwargs.values()] if _is_keras_tensor(a)]
            block = wire.decode_keras(result["model"], trusted=True)
            return block(tensors[0] if len(tensors) == 1 else tensors)
        return wire.decode(result, on_tag=self._resolve)


def _is_keras_tensor(value: object) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.KerasTensor)


def _sync(original: Any, new_obj: Any, conn: StudentConnection) -> None:
    """Apply what a call did to an argument in the sandbox to the grader's own object."""
    if isinstance(new_obj, dict) and new_obj.get("$") == "keras":
        keras = sys.modules.get("keras")
        if keras is not None and isinstance(original, keras.layers.Layer):
            wire.check_keras_config(new_obj.get("compile"))
            wire.sync_keras(original, new_obj)
        return
    try:
        new = wire.decode(new_obj, on_tag=conn._resolve)
    except wire.WireError:
        return
    if type(original) is np.ndarray and type(new) is np.ndarray:
        if new.shape == original.shape and original.flags.writeable:
            np.copyto(original, new, casting="unsafe")
    elif type(original) is list and type(new) is list:
        original[:] = new
    elif type(original) is dict and type(new) is dict:
        original.clear()
        original.update(new)
    elif type(original) is set and type(new) is set:
        original.clear()
        original.update(new)
    elif type(original) is np.random.Generator and type(new) is np.random.Generator:
        original.bit_generator.state = new.bit_generator.state


class RemoteFunction:
    """The student's function (or callable object): calls run in the sandbox."""

    def __init__(self, conn: StudentConnection, target: dict, kind: str = "function") -> None:
        self._conn, self._target, self._kind = conn, target, kind

    def _handle_id(self) -> int:
        if "handle" in self._target:
            return int(self._target["handle"])
        raise wire.WireError("a function cannot be passed back by name")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._conn.call(self._target, args, kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if "handle" not in self._target:
            raise AttributeError(attr)
        return self._conn.value(self._conn.request(
            {"op": "getattr", "handle": self._target["handle"], "attr": attr}))

    def __repr__(self) -> str:
        return f"<student {self._kind}>"


class RemoteObject:
    """An object of the student's that cannot cross: attributes are fetched, methods
    called, one request each."""

    def __init__(self, conn: StudentConnection, handle: int, kind: str) -> None:
        self._conn, self._handle, self._kind = conn, handle, kind

    def _handle_id(self) -> int:
        return self._handle

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._conn.value(self._conn.request(
            {"op": "getattr", "handle": self._handle, "attr": attr}))

    def __repr__(self) -> str:
        return f"<student {self._kind} object>"
