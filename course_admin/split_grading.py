"""Split grading: the student's code in the sandbox, the tests in the trusted grader.

PrairieLearn's model for nbgrader assignments. The grader walks the notebook in order:

* course cells (setup, examples) run in **both** processes;
* the student's cells (answers, and cells they added) run in the **sandbox** only
  (:mod:`.student_process` under bubblewrap), with their outputs kept;
* a test cell's visible part runs in the sandbox too (so the student's namespace is what it
  was when they validated), and the **whole** test, hidden part included, runs here, in the
  trusted process, from the instructor's ``source/`` notebook, never from the submission. Each
  name the test reads that the student's cells bound becomes plain data
  (:mod:`.wire`) or a :class:`~.remote.RemoteFunction` that runs the student's function in
  the sandbox on the test's inputs.

So whether a test passed is decided here: nothing in the student's process (a patched numpy,
IPython hooks, ``sys.settrace``, objects whose ``__eq__`` lies, printed fake results) reaches
the decision, and the hidden tests are never sent to the sandbox. The result is an
autograded notebook in nbgrader's form (the submission with the source's test cells and
every output), whose scores :mod:`.records` writes into the gradebook.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import shutil
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from course_admin import reference_check
from course_admin.grading_plan import Step, plan
from course_admin.remote import RemoteFunction, StudentConnection, StudentProcessDied
from course_admin.sandbox import Sandbox

if TYPE_CHECKING:
    from course_admin.grading import GradeJob

#: how often one submission may stop its process before the rest is scored zero
MAX_RESTARTS = 4
#: names a test always takes from Python itself, even where the student bound them
#: (``abs = lambda *a: 0`` in an answer cell must not reach the tests)
_BUILTINS = frozenset(dir(builtins))


@dataclass
class SplitResult:
    """Scores (grade id -> points or None), the autograded notebook and readable flags."""

    scores: dict[str, float | None]
    notebook: nbformat.NotebookNode
    flags: list[str] = field(default_factory=list)


class TrustedNamespace(dict):
    """The tests' globals: the course's own names, and the student's names fetched from the
    sandbox when a test reads one (never over a name the course binds, nor a built-in)."""

    def __init__(self, conn: StudentConnection) -> None:
        super().__init__(__builtins__=builtins, __name__="__main__")
        self.conn = conn
        self.student: set[str] = set()
        self.fetched: dict[str, Any] = {}
        #: the student's cells that ran so far, in order (the grader's copy, not the sandbox's)
        self.student_sources: list[str] = []

    def fetch(self, name: str) -> Any:
        value = self.conn.get(name)
        if isinstance(value, RemoteFunction):  # what grading.loop_depth reads
            value.__grading_source__ = function_source(name, self.student_sources)
        self.fetched[name] = value
        dict.__setitem__(self, name, value)
        return value

    def __missing__(self, name: str) -> Any:
        if name in self.student and name not in _BUILTINS:
            return self.fetch(name)
        raise KeyError(name)

    def forget_fetched(self) -> None:
        """Drop what was fetched (the student's state may change before the next test)."""
        for name, value in self.fetched.items():
            if dict.get(self, name, None) is value:
                dict.__delitem__(self, name)
        self.fetched.clear()


def function_source(name: str, sources: list[str]) -> str:
    """The source of the last top-level ``def name`` in the student's cells ('' if the name
    was bound otherwise: an alias, an import)."""
    for text in reversed(sources):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in reversed(tree.body):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                return ast.get_source_segment(text, node) or ""
    return ""


def _names(code: types.CodeType) -> set[str]:
    """Every global name ``code`` and the functions and classes inside it may read."""
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _names(const)
    return out


class SplitGrader:
    """Grade one notebook: the walk of :func:`plan`, the sandbox, the trusted tests."""

    def __init__(self, steps: list[Step], workdir: Path, sandbox: Sandbox | None,
                 env: dict[str, str], cell_timeout: float, notebook_timeout: float,
                 name: str, flags: list[str]) -> None:
        self.steps, self.name, self.flags = steps, name, flags
        self.cell_timeout = cell_timeout
        self.deadline = time.monotonic() + notebook_timeout
        self.conn = StudentConnection(workdir, sandbox, env, cell_timeout)
        self.ns = TrustedNamespace(self.conn)
        self.history: list[tuple[str, bool]] = []  # what ran in the sandbox, for a replay
        self.restarts = 0

    def _timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise StudentProcessDied("the submission ran out of time")
        return min(self.cell_timeout, left)

    def _restart(self) -> None:
        """A fresh sandbox, with every cell that ran before run again (outputs dropped)."""
        self.conn.stop()
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise StudentProcessDied("the student's process stopped too often")
        for source, student in self.history:
            self.conn.request({"op": "run", "source": source, "student": student},
                              timeout=self._timeout())

    def run_sandbox(self, step: Step, student: bool, keep_outputs: bool) -> None:
        """Run the step's sandbox source; on a crash, flag it, restart, go on."""
        if not step.sandbox_source.strip():
            return
        try:
            reply = self.conn.request(
                {"op": "run", "source": step.sandbox_source, "student": student},
                timeout=self._timeout())
        except StudentProcessDied as exc:
            what = f"answer cell {step.grade_id!r}" if step.kind == "student" and step.grade_id \
                else f"cell {self.steps.index(step) + 1}"
            self.flags.append(f"{self.name}.ipynb: {what} stopped the kernel ({exc}): "
                              "replaced by an error, the other cells graded")
            step.cell.outputs = [_error("RuntimeError", "This cell stopped the Python process "
                                        "when it was graded: it was not run.")]
            self._restart()
            return
        self.history.append((step.sandbox_source, student))
        if student:
            self.ns.student_sources.append(step.sandbox_source)
        if keep_outputs:
            outputs = list(reply.get("outputs", []))
            error = reply.get("error")
            if error:
                outputs.append(_error(str(error.get("ename", "Error")),
                                      str(error.get("evalue", ""))))
            step.cell.outputs = [nbformat.from_dict(o) for o in outputs]

    def run_trusted(self, step: Step) -> bool:
        """Run a course cell or a whole test here; True when it raised nothing."""
        self.ns.forget_fetched()
        self.conn.captured = []
        out = io.StringIO()
        ok, error = True, None
        try:
            code = compile(step.trusted_source, f"<{step.grade_id or 'cell'}>", "exec")
            self.ns.student = self.conn.names()
            for name in sorted((_names(code) & self.ns.student) - _BUILTINS):
                if name not in self.ns:
                    self.ns.fetch(name)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(code, self.ns)  # noqa: S102  (the instructor's own test code)
        except StudentProcessDied as exc:
            ok, error = False, _error("RuntimeError", f"your code stopped the Python process "
                                      f"during this test ({exc})")
            self._restart()
        except Exception as exc:  # noqa: BLE001  (a failing test, whatever it raised)
            ok = False
            error = _error(type(exc).__name__, str(exc)[:2000],
                           _where(exc, step.grade_id or "cell", step.trusted_source))
        finally:
            self.ns.forget_fetched()
        if step.kind == "test":
            outputs = [nbformat.from_dict(o) for o in self.conn.captured]
            if out.getvalue():
                outputs.append(nbformat.v4.new_output("stream", name="stdout",
                                                      text=out.getvalue()[:100_000]))
            if error is not None:
                outputs.append(error)
            step.cell.outputs = outputs
        return ok

    def grade(self) -> dict[str, float | None]:
        """Walk every step; grade id -> score of each test (and None for written answers)."""
        scores: dict[str, float | None] = {}
        try:
            for step in self.steps:
                if step.kind == "text":
                    if step.grade_id and step.points:
                        scores[step.grade_id] = None  # a written answer: graded by hand
                    continue
                try:
                    if step.kind == "course":
                        self.run_sandbox(step, student=False, keep_outputs=True)
                        self.run_trusted(step)
                    elif step.kind == "student":
                        self.run_sandbox(step, student=True, keep_outputs=True)
                    else:
                        self.run_sandbox(step, student=False, keep_outputs=False)
                        passed = self.run_trusted(step)
                        scores[step.grade_id] = step.points if passed else 0.0
                except StudentProcessDied as exc:
                    self.flags.append(f"{self.name}.ipynb: grading stopped at cell "
                                      f"{step.grade_id or self.steps.index(step) + 1}: {exc}; "
                                      "the rest scores zero")
                    break
        finally:
            self.conn.stop()
        for step in self.steps:
            if step.kind == "test":
                scores.setdefault(step.grade_id, 0.0)
        return scores


def _error(ename: str, evalue: str, where: str = "") -> nbformat.NotebookNode:
    """An error output; ``where`` (the test's line that failed, for the instructor) goes
    into the traceback, which ``course feedback`` replaces when the line is hidden."""
    lines = [f"{ename}: {evalue}"] + ([where] if where else [])
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=lines)


def _where(exc: BaseException, grade_id: str, source: str) -> str:
    """The line of the test's own code that raised ``exc`` ('' if none)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename == f"<{grade_id}>"]
    if not frames or not frames[0].lineno:
        return ""
    lines = source.splitlines()
    line = lines[frames[0].lineno - 1].strip() if frames[0].lineno <= len(lines) else ""
    return f"failed at line {frames[0].lineno} of the test: {line}"


def grade_notebook(source: nbformat.NotebookNode, submission: nbformat.NotebookNode,
                   name: str, workdir: Path, sandbox: Sandbox | None, env: dict[str, str],
                   cell_timeout: float, notebook_timeout: float) -> SplitResult:
    """Grade one submitted notebook against its source notebook (see the module
    docstring); ``workdir`` is the student's folder (the sandbox's working directory)."""
    flags: list[str] = []
    steps, notebook = plan(source, submission, name, flags)
    grader = SplitGrader(steps, workdir, sandbox, env, cell_timeout, notebook_timeout, name,
                         flags)
    scores = grader.grade()
    for answer, (used, tests) in reference_check.check(source, notebook).items():
        flags.append(f"{name}.ipynb: answer cell {answer!r} uses the course's own "
                     f"{', '.join(used)}: its question scores zero")
        for step in steps:
            if step.kind == "test" and step.grade_id in tests:
                scores[step.grade_id] = 0.0
                step.cell.outputs = list(step.cell.get("outputs", [])) + [_error(
                    "AssertionError", f"this answer calls the course's own {', '.join(used)}:"
                    " write the function yourself")]
    return SplitResult(scores, notebook, flags)


def grade_split_job(job: GradeJob, work: Path, dest: Path, present: list[str],
                    cells: dict, files: dict[str, bytes], flags: list[str]) -> str | None:
    """The split engine for one grading job (see :func:`~.grading.grade_one`): the
    submission (already checked and repaired in ``dest``) is copied into the sandbox's only
    writable folder with the assignment's other files; fills ``cells`` and ``files``,
    returns the error (None)."""
    from course_admin.grading import MAX_RESULT_FILE_BYTES
    from course_admin.sandbox import grading_sandbox

    student_dir = work / "student"
    shutil.copytree(dest, student_dir)
    shipped = Path(job.template_dir) / "source" / job.assignment
    for path in (p for p in shipped.rglob("*") if p.is_file()):  # the course's files win
        target = student_dir / path.relative_to(shipped)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    sandbox = (grading_sandbox(student_dir, Path(job.course_root) if job.course_root else None)
               if job.sandbox else None)
    env = {"COURSE_KERNEL_MEMORY_MB": str(job.memory_mb), "MPLBACKEND": "Agg", **job.env}
    deadline = time.monotonic() + job.notebook_timeout
    for name in present:
        source = nbformat.reads(job.sources[name], as_version=4)
        submission = nbformat.read(student_dir / f"{name}.ipynb", as_version=4)
        result = grade_notebook(source, submission, name, student_dir, sandbox, env,
                                job.cell_timeout, max(deadline - time.monotonic(), 1.0))
        flags += result.flags
        cells[name] = {gid: result.scores.get(gid, 0.0) for gid in job.expected[name]}
        files[f"{name}.ipynb"] = nbformat.writes(result.notebook).encode()
    for path in (p for p in dest.rglob("*") if p.is_file() and p.suffix != ".ipynb"):
        if path.stat().st_size <= MAX_RESULT_FILE_BYTES:
            files[str(path.relative_to(dest))] = path.read_bytes()
    return None
