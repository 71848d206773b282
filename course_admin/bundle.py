"""``course bundle OUT``: the student distribution, what an instructor hands to students.

It holds the lectures (``course/``, with their stored outputs), the assignments as students get
them (``release/``), the students' package ``helpers/`` and the benchmark figures lecture 01
reads, with its own ``README.md``, ``requirements.txt`` (the students' dependencies only) and
``Makefile`` (``make lab``, ``make test``). It never holds ``source/`` (solutions, hidden tests),
a gradebook, ``course_admin/``, ``tests/``, submissions or feedback.

Several assignments ask students to write what ``helpers`` implements for the lectures (ps01's
``im2col``, ps06's numpy BatchNorm, ps08's ``iou_matrix``, ...;
:data:`course_admin.reference_check.EQUIVALENTS` adds the functions that do the same job under
another name). The lectures call those functions, so they cannot simply be left out: every
module that defines one ships as bytecode only (a ``.pyc``
beside where the ``.py`` was, compiled for the Python that builds the bundle), so the lectures
run and ``help()`` still shows the docstrings, but no source is there to read or copy, and
``inspect.getsource`` fails. TensorFlow's AutoGraph converts a ``tf.function`` from its source,
so a module that ships as bytecode must trace its ``tf.function`` s with ``autograph=False``
(loops as ``tf.while_loop``, branches on tensors as ``tf.cond``, as
:class:`helpers.visualisation.FilterAscent` does); :func:`build_bundle` refuses a module that
does not (:func:`autograph_uses`). What this cannot stop: bytecode can be
disassembled (``dis``), so a determined student can reconstruct the logic with effort; and
calling the function from an answer is still possible, which ``course autograde``'s
reference check zeroes (see :mod:`course_admin.reference_check`).
"""

from __future__ import annotations

import ast
import py_compile
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_admin import reference_check
from course_admin.layout import REPO_ROOT
from course_admin.markers import BLOCK

#: what a bundle may never contain (checked on every text file written).
FORBIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                     "END HIDDEN TESTS")

#: benchmark figures the lectures read (relative to the course root).
LECTURE_DATA = ("benchmarks/results/time_to_accuracy.json",)

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


@dataclass
class Bundle:
    """What :func:`build_bundle` wrote."""

    root: Path
    compiled: dict[str, list[str]] = field(default_factory=dict)  # module -> names it hides
    files: int = 0

    def lines(self) -> list[str]:
        """A short report for the command line."""
        out = [f"wrote {self.root} ({self.files} files)"]
        for module, names in sorted(self.compiled.items()):
            out.append(f"  bytecode only: {module} (asked for: {', '.join(sorted(names))})")
        return out


class BundleError(RuntimeError):
    """The bundle cannot be built (bad output folder, a leak found)."""


def asked_functions(root: Path = REPO_ROOT) -> dict[str, set[str]]:
    """Names the assignments ask students to write, with their equivalents: name -> {psNN}."""
    asked: dict[str, set[str]] = {}
    for path in sorted((root / "source").glob("ps*/*.ipynb")):
        for _, names, _ in reference_check.questions(nbformat.read(path, 4)):
            for name in names:
                for n in reference_check.with_equivalents({name}):
                    asked.setdefault(n, set()).add(path.parent.name)
    return asked


def _top_level_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}


def autograph_uses(path: Path) -> list[int]:
    """Lines of ``path`` that make a ``tf.function`` with AutoGraph on (the default): as a
    decorator or a call, without ``autograph=False``. AutoGraph reads the Python source of what
    it converts, so such a module breaks when shipped as bytecode."""
    def is_tf_function(node: ast.AST) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "function"
                and isinstance(node.value, ast.Name) and node.value.id == "tf")

    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and is_tf_function(node.func):
            if not any(k.arg == "autograph" and isinstance(k.value, ast.Constant)
                       and k.value.value is False for k in node.keywords):
                lines.append(node.lineno)
        for decorator in getattr(node, "decorator_list", []):
            if is_tf_function(decorator):  # a bare @tf.function
                lines.append(decorator.lineno)
    return sorted(set(lines))


def modules_to_compile(helpers_dir: Path, asked: dict[str, set[str]]) -> dict[Path, list[str]]:
    """The modules of ``helpers_dir`` that define an asked function -> those names."""
    out = {}
    for path in sorted(helpers_dir.rglob("*.py")):
        hits = sorted(_top_level_names(path) & set(asked))
        if hits:
            out[path] = hits
    return out


def _student_files(root: Path) -> dict[str, str]:
    """README.md, requirements.txt, Makefile and nbgrader_config.py (Validate) of the bundle,
    from the course's own files and the templates beside this module."""
    import tomllib

    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    readme = (Path(__file__).with_name("bundle_readme.md").read_text()
              .replace("{python}", python).replace("{title}", project["description"]))
    requirements = (f"# The students' environment (Python {python}: some modules of helpers/ "
                    "ship as bytecode for it),\n# pinned as in the course's pyproject.toml.\n"
                    + "".join(f"{d}\n" for d in project["dependencies"]))
    makefile = Path(__file__).with_name("bundle_makefile.mk").read_text()
    config = Path(__file__).with_name("bundle_nbgrader_config.py.in").read_text()
    return {"README.md": readme, "requirements.txt": requirements, "Makefile": makefile,
            "nbgrader_config.py": config}


def build_bundle(out: Path, root: Path = REPO_ROOT) -> Bundle:
    """Write the student distribution to ``out`` (which must not exist, or be empty).

    Args:
        out: the folder to create.
        root: the course (its ``course/``, ``release/``, ``helpers/``, ``source/``).

    Returns:
        The :class:`Bundle`: where it is, which modules ship as bytecode and why.

    Raises:
        BundleError: ``out`` is not empty or lies inside the course, ``release/`` is
            missing, or a forbidden marker or a solution's source is found in what was
            written.
    """
    out = Path(out).resolve()
    root = Path(root).resolve()
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} is not empty: give a new folder (nothing was written)")
    if out == root or root in out.parents:
        raise BundleError(f"{out} is inside the course {root}: give a folder outside it")
    if not (root / "release").is_dir():
        raise BundleError(f"{root / 'release'} is missing: run `course release` first")
    out.mkdir(parents=True, exist_ok=True)
    bundle = Bundle(out)
    shutil.copytree(root / "course", out / "course", ignore=_SKIP, dirs_exist_ok=True)
    shutil.copytree(root / "release", out / "release", ignore=_SKIP, dirs_exist_ok=True)
    shutil.copytree(root / "helpers", out / "helpers", ignore=_SKIP, dirs_exist_ok=True)
    for rel in LECTURE_DATA:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, out / rel)
    for name, text in _student_files(root).items():
        (out / name).write_text(text)
    asked = asked_functions(root)
    for path, names in modules_to_compile(out / "helpers", asked).items():
        module = ".".join(path.relative_to(out).with_suffix("").parts)
        traced = autograph_uses(path)
        if traced:
            shutil.rmtree(out)
            raise BundleError(
                f"{module} defines {', '.join(names)} (asked in an assignment), so it ships as "
                f"bytecode, but line {traced[0]} makes a tf.function with AutoGraph, which needs "
                "the source: pass autograph=False (loops as tf.while_loop, tensor branches as "
                "tf.cond). Nothing was written")
        py_compile.compile(str(path), cfile=str(path.with_suffix(".pyc")), doraise=True)
        path.unlink()
        bundle.compiled[module] = names
    bundle.files = sum(1 for p in out.rglob("*") if p.is_file())
    leaks = find_leaks(out, root)
    if leaks:
        shutil.rmtree(out)
        raise BundleError("nothing was written: the bundle would leak instructor material: "
                          + "; ".join(leaks[:5]))
    return bundle


SHINGLE = 3  # consecutive lines that make a copied passage


def _shingles(lines: list[str]) -> set[tuple[str, ...]]:
    """Runs of :data:`SHINGLE` consecutive code lines (stripped; blanks and comments out)."""
    code = [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return {tuple(code[i:i + SHINGLE]) for i in range(len(code) - SHINGLE + 1)}


def _solution_shingles(root: Path) -> set[tuple[str, ...]]:
    """Passages of the reference solutions and hidden tests that the released notebooks do
    not give away anyway."""
    shingles = set()
    for path in sorted((root / "source").glob("ps*/*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            for match in BLOCK.finditer(cell.source):
                shingles |= _shingles(match.group(2).splitlines())
    released = set()
    for path in sorted((root / "release").glob("ps*/*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            released |= _shingles(cell.source.splitlines())
    return shingles - released


def find_leaks(bundle: Path, root: Path = REPO_ROOT) -> list[str]:
    """What in ``bundle`` must not be there: instructor folders, a gradebook, source of an
    asked function, nbgrader's solution/hidden-test markers, three consecutive lines of a
    reference solution or a hidden test (an empty list when the bundle is clean)."""
    leaks = [f"{p.relative_to(bundle)} exists" for p in
             [bundle / "source", bundle / "course_admin", bundle / "tests",
              bundle / "submitted", bundle / "autograded", bundle / "feedback"] if p.exists()]
    leaks += [f"{p.relative_to(bundle)}: a gradebook" for p in bundle.rglob("*.db")]
    asked = asked_functions(root)
    solution = _solution_shingles(root)
    for path in sorted(p for p in bundle.rglob("*") if p.is_file() and p.suffix != ".pyc"):
        text = path.read_text(errors="replace")
        leaks += [f"{path.relative_to(bundle)}: {m!r}" for m in FORBIDDEN_MARKERS if m in text]
        if path.suffix == ".py":
            defined = _top_level_names(path) & set(asked)
            leaks += [f"{path.relative_to(bundle)} defines {n} (asked in "
                      f"{', '.join(sorted(asked[n]))})" for n in sorted(defined)]
        if path.suffix in (".py", ".ipynb", ".md"):
            copied = _shingles(_text_lines(path, text)) & solution
            leaks += [f"{path.relative_to(bundle)}: a passage of a solution: {run[0][:40]!r}"
                      for run in sorted(copied)]
    return leaks


def _text_lines(path: Path, text: str) -> list[str]:
    if path.suffix != ".ipynb":
        return text.splitlines()
    return [ln for cell in nbformat.reads(text, 4).cells for ln in cell.source.splitlines()]
