"""The layout of the two packages: audiences apart, layers downwards, one name per module."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# helpers' stages, lowest first: a module imports only from its own stage or lower ones.
STAGES = ("base", "arithmetic", "nn", "architectures", "training", "detection", "lectures")


def _modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package``."""
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (any nesting depth, lazy imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _stage(module: str) -> int:
    parts = module.split(".")
    return STAGES.index(parts[1]) if len(parts) > 2 and parts[1] in STAGES else 0


def test_course_admin_imports_nothing_from_helpers():
    leaks = {m: sorted(i for i in _imports(p) if i.split(".")[0] == "helpers")
             for m, p in _modules("course_admin").items()}
    assert not {m: i for m, i in leaks.items() if i}


def test_helpers_imports_nothing_from_course_admin_or_benchmarks():
    leaks = {m: sorted(i for i in _imports(p) if i.split(".")[0] in ("course_admin", "benchmarks"))
             for m, p in _modules("helpers").items()}
    assert not {m: i for m, i in leaks.items() if i}


def test_helpers_stages_import_only_downwards():
    modules = _modules("helpers")
    upward = {}
    for module, path in modules.items():
        for imported in _imports(path):
            if imported in modules and _stage(imported) > _stage(module):
                upward.setdefault(module, []).append(imported)
    assert not upward, f"upward imports (stages {STAGES}): {upward}"


def test_no_two_modules_share_a_name():
    names: dict[str, list[str]] = {}
    for package in ("helpers", "course_admin"):
        for module in _modules(package):
            names.setdefault(module.rsplit(".", 1)[-1], []).append(module)
    shared = {n: ms for n, ms in names.items() if len(ms) > 1 and n not in STAGES}
    assert not shared


def test_the_layout_detector_sees_an_upward_import(tmp_path):
    """The stage check itself: a training module importing a lecture module is upward."""
    assert _stage("helpers.lectures.recap") > _stage("helpers.training.recipe")
    assert _stage("helpers.data") == 0 and _stage("helpers.nn.activations") == 2
