"""``course bundle``: the student edition holds no solution, hidden test, gradebook or
instructor code, and the notebooks run in it."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_admin import bundle as bd

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> bd.Bundle:
    return bd.build_bundle(tmp_path_factory.mktemp("bundle") / "student")


def _run(bundle: Path, code: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python whose ``helpers`` is the bundle's (as its Makefile sets)."""
    env = {**os.environ, "PYTHONPATH": str(bundle), "CNN_COURSE_FAST": "1"}
    return subprocess.run([sys.executable, "-c", code], cwd=bundle, env=env, timeout=timeout,
                          capture_output=True, text=True)


def test_bundle_holds_the_lectures_the_release_and_helpers_and_nothing_of_the_instructor(built):
    root = built.root
    assert sorted(p.name for p in (root / "course").glob("*.ipynb")) == sorted(
        p.name for p in (ROOT / "course").glob("*.ipynb"))
    assert sorted(p.relative_to(root / "release").as_posix()
                  for p in (root / "release").rglob("*.ipynb")) == sorted(
        p.relative_to(ROOT / "release").as_posix() for p in (ROOT / "release").rglob("*.ipynb"))
    for absent in ("source", "course_admin", "tests", "gradebook.db",
                   "submitted", "autograded", "feedback", "pyproject.toml"):
        assert not (root / absent).exists(), absent
    assert not list(root.rglob("*.db"))
    assert {"README.md", "Makefile", "requirements.txt", "nbgrader_config.py"} <= {
        p.name for p in root.iterdir()}
    config = (root / "nbgrader_config.py").read_text()
    assert "relabel_stderr_in_validate()" in config and "db_url" not in config  # Validate only
    readme = (root / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert bd.find_leaks(root) == []


def test_no_function_an_assignment_asks_for_ships_as_source(built):
    asked = bd.asked_functions()
    assert {"iou_matrix", "im2col", "batchnorm_backward", "unfreeze_top",
            "depthwise_separable_block", "se_block", "roi_max_pool"} <= set(asked)
    for module in built.compiled:
        path = built.root / Path(*module.split("."))
        assert not path.with_suffix(".py").exists() and path.with_suffix(".pyc").exists()
    for path in (built.root / "helpers").rglob("*.py"):
        tree = ast.parse(path.read_text())
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
        assert not defined & set(asked), (path, defined & set(asked))
    # ps02's activation maps, saliency and gradient ascent included (their tf.function traces
    # without AutoGraph)
    assert {"helpers.visualisation", "helpers.nn.convolution_basics"} <= set(built.compiled)
    # they import from bytecode, keep their docstrings, and have no source to read
    checks = "\n".join(
        f"import {m} as mod\nassert mod.__file__.endswith('.pyc'), mod.__file__\n"
        f"for n in {names!r}:\n"
        "    assert getattr(mod, n).__doc__\n"
        "    try:\n"
        "        inspect.getsource(getattr(mod, n))\n"
        "        raise SystemExit(f'source of {n} is readable')\n"
        "    except OSError:\n"
        "        pass\n"
        for m, names in built.compiled.items())
    done = _run(built.root, "import inspect\n" + checks)
    assert done.returncode == 0, done.stderr[-2000:]
    # AutoGraph converts a tf.function from its source: no bytecode module may trace with it
    for module in built.compiled:
        assert bd.autograph_uses((ROOT / Path(*module.split("."))).with_suffix(".py")) == []


def test_gradient_ascent_runs_from_bytecode(built):
    """FilterAscent's tf.function (lecture 02) traces from the .pyc, regularisers on."""
    code = ("import keras, numpy as np\nfrom helpers import visualisation as vis\n"
            "assert vis.__file__.endswith('.pyc')\n"
            "m = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, "
            "activation='relu', name='c')])\n"
            "r = vis.FilterAscent(m, 'c', regularisers=vis.Regularisers.all(), steps=5).batched()\n"
            "assert r.images.shape == (4, 12, 12, 1) and np.isfinite(r.images).all()\n")
    done = _run(built.root, code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_autograph_uses_finds_each_way_to_make_a_tf_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import tensorflow as tf\n@tf.function\ndef a(x):\n    return x\n"
                      "@tf.function(reduce_retracing=True)\ndef b(x):\n    return x\n"
                      "c = tf.function(a, autograph=False)\nd = tf.function(b)\n")
    assert bd.autograph_uses(module) == [2, 5, 9]


def test_find_leaks_sees_each_kind_of_leak(built, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(built.root, copy)
    source = nbformat.read(ROOT / "source" / "ps06" / "ps06_batchnorm_dropout.ipynb", 4)
    answer = next(c.source for c in source.cells if "### BEGIN SOLUTION" in c.source)
    body = answer.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
    (copy / "notes.md").write_text(body)  # a pasted solution, markers stripped
    (copy / "marked.py").write_text("# ### BEGIN HIDDEN TESTS\n")
    (copy / "helpers" / "mine.py").write_text("def iou_matrix(a, b):\n    return a\n")
    (copy / "source").mkdir()
    (copy / "gradebook.db").write_bytes(b"")
    leaks = "\n".join(bd.find_leaks(copy))
    for expected in ("notes.md: a passage of a solution", "marked.py: 'BEGIN HIDDEN TESTS'",
                     "mine.py defines iou_matrix (asked in ps08)", "source exists",
                     "gradebook.db: a gradebook"):
        assert expected in leaks


def test_bundle_refuses_a_folder_that_is_not_empty_or_inside_the_course(tmp_path):
    (tmp_path / "kept.txt").write_text("mine")
    with pytest.raises(bd.BundleError, match="not empty"):
        bd.build_bundle(tmp_path)
    assert (tmp_path / "kept.txt").read_text() == "mine"
    with pytest.raises(bd.BundleError, match="inside the course"):
        bd.build_bundle(ROOT / "autograded" / "bundle-test")
    assert not (ROOT / "autograded" / "bundle-test").exists()


def test_every_import_of_every_notebook_resolves_in_the_bundle(built):
    """The import statements of every code cell of every lecture and release notebook, run
    in one process against the bundle's helpers (bytecode modules included)."""
    statements = []
    for path in sorted(built.root.glob("course/*.ipynb")) + sorted(
            built.root.glob("release/ps*/*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            statements += [ast.unparse(n) for n in ast.walk(tree)
                           if isinstance(n, ast.Import | ast.ImportFrom)]
    assert len(statements) > 100
    code = f"import helpers\nassert helpers.__file__.startswith({str(built.root)!r})\n"
    done = _run(built.root, code + "\n".join(dict.fromkeys(statements)))
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_lecture_and_an_assignment_setup_run_in_the_bundle(built):
    """Lecture 11 (it calls bytecode modules: boxes, nms, numpy layers, inception) top to
    bottom, and ps06's setup, through the bundle's own ``helpers.selfcheck``."""
    code = ("from pathlib import Path\nfrom helpers.selfcheck import run_notebook\n"
            "print(run_notebook(Path('course/11_exam_practice.ipynb')))\n"
            "print(run_notebook(Path('release/ps06/ps06_batchnorm_dropout.ipynb'), "
            "setup_only=True))\n")
    done = _run(built.root, code, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    seconds = [float(x) for x in done.stdout.split()]
    assert len(seconds) == 2


def test_the_bundle_readme_and_makefile_name_the_two_student_commands(built):
    makefile = (built.root / "Makefile").read_text()
    assert "lab:" in makefile and "test:" in makefile and "helpers.selfcheck" in makefile
    requirements = (built.root / "requirements.txt").read_text().split()
    assert "nbgrader==0.9.6" in requirements and not any(
        r.startswith(("pytest", "dask", "ruff")) for r in requirements)


def test_bundle_refuses_a_bytecode_module_that_needs_autograph(tmp_path, monkeypatch):
    monkeypatch.setattr(bd, "autograph_uses", lambda path: [7])
    with pytest.raises(bd.BundleError, match="line 7 makes a tf.function with AutoGraph.*"
                       "autograph=False.*Nothing was written"):
        bd.build_bundle(tmp_path / "student")
    assert not (tmp_path / "student").exists()


def test_no_lecture_shows_the_code_of_what_an_assignment_asks_for():
    """Every ``show_code(X)`` of a lecture names a function of a module that ships as source
    (so the student edition can show it) and that is not an answer (asked, or an equivalent)."""
    import importlib

    asked = bd.asked_functions()
    compiled = {".".join(p.relative_to(ROOT).with_suffix("").parts)
                for p in bd.modules_to_compile(ROOT / "helpers", asked)}
    shown = []
    for path in sorted((ROOT / "course").glob("*.ipynb")):
        aliases: dict[str, str] = {}
        for cell in nbformat.read(path, 4).cells:
            if cell.cell_type != "code":
                continue
            tree = ast.parse(cell.source)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module:
                    for a in node.names:
                        aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                        and node.func.id == "show_code"):
                    shown.append((path.name, ast.unparse(node.args[0]), dict(aliases)))
    assert len(shown) >= 4, shown  # lectures 01, 03, 06 and 08 show their concept code
    for lecture, expr, names in shown:
        head, *rest = expr.split(".")
        target = names[head]  # "helpers.lectures.degradation" or "...small.build_cnn1"
        try:
            obj = importlib.import_module(target)
        except ModuleNotFoundError:
            module, attr = target.rsplit(".", 1)
            obj = getattr(importlib.import_module(module), attr)
        for attr in rest:
            obj = getattr(obj, attr)
        assert obj.__module__ not in compiled, (lecture, expr, obj.__module__)
        assert obj.__name__ not in asked, (lecture, expr, sorted(asked[obj.__name__]))
