"""pyproject.toml is the one place versions are pinned; environment.yml agrees."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MUST_PIN = {"tensorflow-cpu", "keras", "nbgrader", "jupyterlab", "nbval"}


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;]+)\s*", req)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


AUDIENCES = ("instructor", "dev")  # the extras on top of the students' dependencies


def pyproject_pins(audiences: tuple[str, ...] = AUDIENCES) -> dict[str, str]:
    """The pins of the students' dependencies and of the given extras."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = data["project"]["optional-dependencies"]
    return _pins(data["project"]["dependencies"] + [r for a in audiences for r in extras[a]])


def environment_yml_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return _pins([r for r in pip_sections[0] if not r.startswith("-")])


def test_environment_yml_pins_the_same_versions_as_pyproject():
    assert environment_yml_pins() == pyproject_pins()


def test_pyproject_pins_every_dependency_exactly():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = data["project"]["optional-dependencies"]
    listed = data["project"]["dependencies"] + [r for a in AUDIENCES for r in extras[a]]
    unpinned = [r for r in listed if "==" not in r]
    assert not unpinned, f"pin these in pyproject.toml: {unpinned}"
    assert MUST_PIN <= set(pyproject_pins())


def test_each_audience_declares_what_its_code_imports():
    """A module imported by helpers/ is a student dependency; by course_admin/ an instructor
    one; by tests/ a developer one (nothing arrives only transitively)."""
    import ast
    import sys

    provides = {"sklearn": "scikit-learn", "skimage": "scikit-image", "yaml": "pyyaml",
                "IPython": "ipython", "jupyter_client": "jupyter_client"}
    local = {"helpers", "course_admin", "attacks", "grading_cases", "common"}
    audiences = {"helpers": (), "course_admin": ("instructor",),
                 "tests": ("instructor", "dev")}
    missing = {}
    for folder, extras in audiences.items():
        pins = {k.replace("_", "-") for k in pyproject_pins(extras)}
        for path in (ROOT / folder).rglob("*.py"):
            if "fixtures" in path.parts and "submissions" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.module
                         and not node.level else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in local:
                        continue
                    dist = provides.get(top, top).lower().replace("_", "-")
                    if dist not in pins and not dist.startswith(("tensorflow", "keras")):
                        missing.setdefault(folder, set()).add(top)
    assert not missing, f"declare these in pyproject.toml for their audience: {missing}"


def test_environment_yml_python_matches_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert python == ["python=3.11"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in requires


def test_installed_versions_match_the_pins():
    for name in MUST_PIN:
        assert version(name) == pyproject_pins()[name], f"{name}: run `make test` to reinstall"
