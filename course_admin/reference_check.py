"""Answers that call the course's own implementation of what they are asked to write.

Several assignments ask for a function that ``helpers`` also implements for the lectures
(``helpers.detection.boxes.iou_matrix``, ``helpers.training.fine_tuning.unfreeze_top``,
...). An answer
cell that reaches such a function scores zero on its question. The check reads the submitted
source (Python's ``ast``), so it runs before and apart from the student's code:

* the names a question asks for are the functions its reference answer cell defines;
* an answer uses one when it imports that name from a ``helpers`` module, or reads it as an
  attribute of a name bound to a ``helpers`` module (in the answer itself or in a course
  cell, e.g. ``tr.unfreeze_top`` after the setup's ``from helpers import transfer as tr``).

What it cannot see: a name built at run time (``getattr(tr, "unfree" + "ze_top")``,
``importlib``, ``exec`` of a string), or a reference reached through an object that is not a
module name. Those run, and are graded like any other answer.
"""

from __future__ import annotations

import ast

import nbformat


def _meta(cell: nbformat.NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None  # an IPython magic or a broken cell: nothing to read


def defined_functions(source: str) -> set[str]:
    """Names of the functions a cell defines at its top level."""
    tree = _parse(source)
    if tree is None:
        return set()
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def helpers_aliases(source: str) -> dict[str, str]:
    """Names a cell binds to ``helpers`` modules: alias -> module (``tr`` ->
    ``helpers.lectures.transfer``)."""
    tree = _parse(source)
    out: dict[str, str] = {}
    if tree is None:
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "helpers" or alias.name.startswith("helpers."):
                    out[alias.asname or alias.name.split(".")[0]] = (
                        alias.name if alias.asname else "helpers")
        elif isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "helpers" or node.module.startswith("helpers.")):
            for alias in node.names:
                out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def reference_uses(source: str, asked: set[str], aliases: dict[str, str]) -> list[str]:
    """The course functions among ``asked`` that ``source`` reaches (``module.name``)."""
    tree = _parse(source)
    if tree is None:
        return []
    aliases = {**aliases, **helpers_aliases(source)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "helpers" or node.module.startswith("helpers.")):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name in asked]
        elif isinstance(node, ast.Attribute) and node.attr in asked:
            chain, root = [node.attr], node.value
            while isinstance(root, ast.Attribute):
                chain.append(root.attr)
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append(".".join([aliases[root.id], *reversed(chain)]))
        elif isinstance(node, ast.Name) and node.id in aliases and (
                aliases[node.id].rsplit(".", 1)[-1] in asked):
            found.append(aliases[node.id])  # a name bound to it, under any alias
    return sorted(set(found))


#: functions of ``helpers`` that answer a question under another name: asked name -> names.
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    "max_pool2d": ("pool2d",),
    "convolve2d": ("filter_image", "conv2d_naive"),
    "layer_activations": ("activation_model",),
    "saliency_map": ("saliency_maps",),
    "gradient_ascent_step": ("FilterAscent",),
    "residual_block": ("basic_block", "bottleneck_block"),
    "make_transfer_model": ("transfer_model",),
    "nms": ("non_max_suppression", "batched_nms"),
    "encode": ("encode_boxes",),
    "decode": ("decode_boxes",),
    "generate_anchors": ("base_anchors",),
}


def with_equivalents(names: set[str]) -> set[str]:
    """``names`` and the course functions that do the same job (:data:`EQUIVALENTS`)."""
    return set(names) | {e for n in names for e in EQUIVALENTS.get(n, ())}


def questions(source_nb: nbformat.NotebookNode) -> list[tuple[str, set[str], list[str]]]:
    """(answer grade id, function names it asks for, its test grade ids), in order: a
    question's tests are the test cells up to the next answer cell."""
    out: list[tuple[str, set[str], list[str]]] = []
    for cell in source_nb.cells:
        meta = _meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            out.append((meta["grade_id"], defined_functions(cell.source), []))
        elif meta.get("grade") and not meta.get("solution") and out:
            out[-1][2].append(meta["grade_id"])
    return out


def check(source_nb: nbformat.NotebookNode, submission: nbformat.NotebookNode
          ) -> dict[str, tuple[list[str], list[str]]]:
    """answer grade id -> (course functions it uses, test grade ids to zero), for every
    answer that uses the course's implementation of what it is asked to write."""
    aliases: dict[str, str] = {}
    for cell in source_nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and not meta.get("solution"):
            aliases.update(helpers_aliases(cell.source))
    answers = {_meta(c).get("grade_id"): c.get("source", "") for c in submission.cells}
    # cells the student added count against every question they could serve
    extra = "\n".join(c.get("source", "") for c in submission.cells
                      if c.get("cell_type") == "code" and not _meta(c).get("grade_id"))
    result = {}
    for gid, asked, tests in questions(source_nb):
        asked = with_equivalents(asked)
        used = sorted(set(reference_uses(answers.get(gid, ""), asked, aliases)
                          + reference_uses(extra, asked, aliases)))
        if used:
            result[gid] = (used, tests)
    return result
