"""The student's side of a split grading job: runs inside the sandbox, holds the student's
namespace, and answers the trusted grader's requests with plain data (:mod:`.wire`).

    python -m course_admin.student_process REQUEST_FD REPLY_FD

One JSON request per line on ``REQUEST_FD``, one JSON reply per line on ``REPLY_FD``:

* ``{"op": "run", "source": ..., "student": bool, "timeout": s}``: run a cell (IPython, so
  magics work); reply its outputs (nbformat dicts) and error. ``student``: the cell is the
  student's, so the names it binds are *student names*.
* ``{"op": "names"}``: the current student names (bound by the student's cells, not since
  rebound by a course cell).
* ``{"op": "get", "name": ...}``, ``{"op": "getattr", "handle": i, "attr": ...}``: a value.
* ``{"op": "call", "target": {"name" | "handle"}, "args": [...], "kwargs": {...}}``: call
  the student's function on the grader's inputs; reply the result, what the call wrote on
  stdout/stderr, and the arguments after the call (a function may change them in place).

Nothing here decides a grade: the student's code can make this process say anything, and the
grader treats every reply as what the student's function returned.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import traceback
from typing import Any

from course_admin import wire

#: at most this many characters of one cell's stdout or stderr are kept
MAX_STREAM_CHARS = 100_000


class CellTimeout(BaseException):
    """Raised in the student's code when a request's time is up."""


def _on_alarm(signum: int, frame: object) -> None:
    raise CellTimeout()


class StudentProcess:
    """The namespace, the object handles and the request loop."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="NoColor")
        self.shell.history_manager.enabled = False
        # the value of a cell's last expression becomes an execute_result, not "Out[n]: ..."
        self.shell.displayhook.write_output_prompt = lambda: None
        self.shell.displayhook.write_format_data = lambda *args, **kwargs: None
        self.ns: dict[str, Any] = self.shell.user_ns
        self.student_names: set[str] = set()
        self.handles: dict[int, object] = {}

    # -- values -----------------------------------------------------------------------
    def _handle(self, value: object) -> dict:
        self.handles[id(value)] = value
        return {"$": "handle", "id": id(value), "type": type(value).__name__,
                "callable": callable(value)}

    def encode(self, value: object) -> Any:
        return wire.encode(value, on_object=self._handle)

    def _resolve(self, obj: dict) -> Any:
        if obj["$"] == "handle":
            return self.handles[int(obj["id"])]
        if obj["$"] == "kinput":
            import keras

            shape = obj["shape"][1:]
            return keras.Input(tuple(shape), dtype=obj.get("dtype") or None)
        raise wire.WireError(f"unexpected tag {obj['$']!r}")

    def decode(self, obj: Any) -> Any:
        return wire.decode(obj, on_tag=self._resolve, trusted=False)

    # -- requests ---------------------------------------------------------------------
    def run(self, source: str, student: bool, timeout: float) -> dict:
        from IPython.utils.capture import capture_output

        before = {k: id(v) for k, v in self.ns.items()}
        error = None
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.001))
        try:
            with capture_output(display=True) as captured:
                try:
                    result = self.shell.run_cell(source, store_history=False)
                except CellTimeout:
                    result = None
                    error = {"ename": "TimeoutError",
                             "evalue": f"the cell ran for more than {timeout:g} s"}
        except CellTimeout:
            captured = None
            error = {"ename": "TimeoutError", "evalue": f"the cell ran for more than {timeout:g} s"}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if result is not None and not result.success:
            exc = result.error_in_exec or result.error_before_exec
            if isinstance(exc, CellTimeout):
                error = {"ename": "TimeoutError",
                         "evalue": f"the cell ran for more than {timeout:g} s"}
            elif exc is not None:
                error = {"ename": type(exc).__name__, "evalue": str(exc)[:2000]}
        changed = {k for k, v in self.ns.items() if before.get(k) != id(v)}
        gone = set(before) - set(self.ns)
        if student:
            self.student_names |= {k for k in changed if not k.startswith("__")}
        else:
            self.student_names -= changed
        self.student_names -= gone
        outputs = []
        if captured is not None:
            for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
                if text:
                    outputs.append({"output_type": "stream", "name": name,
                                    "text": _clip(text)})
            if result is not None and result.result is not None:
                data, _ = self.shell.display_formatter.format(result.result)
                outputs.append({"output_type": "execute_result", "execution_count": None,
                                "metadata": {},
                                "data": {k: v for k, v in data.items() if isinstance(v, str)}})
            for out in captured.outputs:
                data = {k: v for k, v in out.data.items() if isinstance(v, str)}
                if data:
                    outputs.append({"output_type": "display_data", "data": data,
                                    "metadata": {}})
        return {"outputs": outputs, "error": error}

    def call(self, request: dict) -> dict:
        target = request["target"]
        func = (self.handles[int(target["handle"])] if "handle" in target
                else self.ns[target["name"]])
        args = [self.decode(a) for a in request.get("args", [])]
        kwargs = {k: self.decode(v) for k, v in request.get("kwargs", {}).items()}
        kinputs = [a for a in [*args, *kwargs.values()] if _is_keras_tensor(a)]
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        signal.setitimer(signal.ITIMER_REAL, max(float(request.get("timeout", 60)), 0.001))
        try:
            result = func(*args, **kwargs)
            reply: dict[str, Any] = {"result": self._result(result, args, kwargs, kinputs)}
        except CellTimeout:
            reply = {"error": {"type": "TimeoutError", "bases": ["TimeoutError"],
                               "message": "your function ran out of time"}}
        except BaseException as exc:  # noqa: BLE001  (the student's error, reported)
            reply = {"error": _describe(exc)}
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = old
        reply["stdout"], reply["stderr"] = _clip(out.getvalue()), _clip(err.getvalue())
        after = []
        for a in args:
            try:
                after.append(self.encode(a) if _mutable(a) else None)
            except wire.WireError:
                after.append(None)
        reply["args_after"] = after
        reply["kwargs_after"] = {k: (self.encode(v) if _mutable(v) else None)
                                 for k, v in kwargs.items()}
        return reply

    def _result(self, result: object, args: list, kwargs: dict, kinputs: list) -> Any:
        for i, a in enumerate(args):
            if result is a and _mutable(a):
                return {"$": "argref", "i": i}
        if kinputs and (_is_keras_tensor(result) or (
                isinstance(result, list | tuple) and result
                and all(_is_keras_tensor(r) for r in result))):
            import keras

            model = keras.Model(kinputs[0] if len(kinputs) == 1 else kinputs, result)
            return {"$": "kapply", "model": wire.encode_keras(model)}
        return self.encode(result)

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "run":
            return self.run(request["source"], bool(request.get("student")),
                            float(request.get("timeout", 120)))
        if op == "names":
            return {"names": sorted(n for n in self.student_names if n in self.ns)}
        if op == "get":
            return {"value": self.encode(self.ns[request["name"]])}
        if op == "getattr":
            return {"value": self.encode(getattr(self.handles[int(request["handle"])],
                                                 request["attr"]))}
        if op == "call":
            return self.call(request)
        raise ValueError(f"unknown request {op!r}")


def _is_keras_tensor(value: object) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.KerasTensor)


def _mutable(value: object) -> bool:
    """Arguments whose changes the grader must see (arrays, containers, generators, Keras
    objects)."""
    import numpy as np

    keras = sys.modules.get("keras")
    return (type(value) in (list, dict, set, np.ndarray) or type(value) is np.random.Generator
            or (keras is not None and isinstance(value, keras.layers.Layer)))


def _describe(exc: BaseException) -> dict:
    bases = [c.__name__ for c in type(exc).__mro__
             if c.__module__ == "builtins" and issubclass(c, BaseException)]
    tb = traceback.extract_tb(exc.__traceback__)
    where = [f"line {f.lineno} in {f.name}" for f in tb[1:]][-3:]
    return {"type": type(exc).__name__, "bases": bases, "message": str(exc)[:2000],
            "where": where}


def _clip(text: str) -> str:
    if len(text) <= MAX_STREAM_CHARS:
        return text
    return text[:MAX_STREAM_CHARS] + f"\n... [{len(text) - MAX_STREAM_CHARS} characters cut]\n"


def main(argv: list[str] | None = None) -> None:
    """Serve requests until the grader closes the request pipe."""
    args = sys.argv[1:] if argv is None else argv
    from course_admin.kernel import limit_memory

    limit_memory()
    requests = os.fdopen(int(args[0]), "r", encoding="utf-8")
    replies = os.fdopen(int(args[1]), "w", encoding="utf-8", buffering=1)
    signal.signal(signal.SIGALRM, _on_alarm)
    process = StudentProcess()
    for line in requests:
        try:
            reply = process.handle(json.loads(line))
        except BaseException as exc:  # noqa: BLE001  (a bad request or value: say so)
            if isinstance(exc, CellTimeout):
                exc = TimeoutError("out of time")
            reply = {"error": _describe(exc)} if not isinstance(exc, wire.WireError) else {
                "error": {"type": "WireError", "bases": ["ValueError"], "message": str(exc)}}
        try:
            replies.write(json.dumps(reply) + "\n")
        except (TypeError, ValueError) as exc:
            replies.write(json.dumps({"error": {"type": "WireError", "bases": ["ValueError"],
                                                "message": str(exc)}}) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
