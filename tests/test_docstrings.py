"""Every public function of helpers/ documents its arguments and its result (Keras style)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# modules left out of this check (none)
EXCLUDED: set[str] = set()


def _own_nodes(func: ast.AST):
    """The nodes of ``func``'s body, not descending into nested functions, lambdas or classes."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _returns_value(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether ``func`` has a ``return <value>`` statement of its own."""
    return any(isinstance(n, ast.Return) and n.value is not None for n in _own_nodes(func))


def _has_parameters(func: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    a = func.args
    return bool(a.posonlyargs or a.args or a.kwonlyargs or a.vararg or a.kwarg)


def _offenders() -> list[str]:
    out = []
    for path in sorted((ROOT / "helpers").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in EXCLUDED:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if node.name.startswith("_") or not _has_parameters(node):
                continue
            doc = ast.get_docstring(node) or ""
            missing = [s for s in ("Args:",) if s not in doc]
            if _returns_value(node) and "Returns:" not in doc:
                missing.append("Returns:")
            if missing:
                out.append(f"{module}:{node.name} (no {', '.join(missing)})")
    return out


def test_public_functions_have_args_and_returns_sections():
    offenders = _offenders()
    assert not offenders, (
        f"{len(offenders)} public functions of helpers/ lack docstring sections:\n"
        + "\n".join(offenders)
    )
