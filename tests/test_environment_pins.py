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


def pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return _pins(data["project"]["dependencies"])


def environment_yml_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml should have exactly one pip: section"
    return _pins([r for r in pip_sections[0] if not r.startswith("-")])


def test_environment_yml_pins_the_same_versions_as_pyproject():
    assert environment_yml_pins() == pyproject_pins()


def test_pyproject_pins_every_dependency_exactly():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    unpinned = [r for r in data["project"]["dependencies"] if "==" not in r]
    assert not unpinned, f"pin these in pyproject.toml: {unpinned}"
    assert MUST_PIN <= set(pyproject_pins())


def test_environment_yml_python_matches_requires_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert python == ["python=3.11"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in requires


def test_installed_versions_match_the_pins():
    for name in MUST_PIN:
        assert version(name) == pyproject_pins()[name], f"{name}: run `make test` to reinstall"
