"""Answer checks used by the assignments' autograder tests.

Tests must accept every correct form of an answer (``26`` or ``np.int64(26)``
or ``26.0``; ``(26, 26, 32)`` or ``[26, 26, 32]`` or ``(None, 26, 26, 32)``)
and reject the typical wrong ones with a message that helps without giving the
answer away.  Every check raises ``AssertionError`` (what nbgrader counts as a
failed test) with a readable message; none of them prints to stderr.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping

import numpy as np


def as_integer(value: object, name: str = "answer") -> int:
    """Return ``value`` as a Python int if it is a whole number, else fail.

    Accepts int, numpy integers, floats with an integral value (``1764000.0``); strings are
    rejected.  Booleans are rejected (``True`` is not a count).

    Args:
        value: the student's answer.
        name: what the messages call the answer.

    Returns:
        ``value`` as a Python ``int``.

    Raises:
        AssertionError: if ``value`` is not a number, not a whole number, or an array.
    """
    if isinstance(value, bool | np.bool_) or value is None or isinstance(value, str):
        raise AssertionError(f"{name} should be a number, got {value!r}")
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise AssertionError(f"{name} should be one number, got an array {value.shape}")
        value = value.item()
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        if float(value).is_integer():
            return int(value)
        raise AssertionError(f"{name} should be a whole number, got {value!r}")
    raise AssertionError(f"{name} should be a number, got {type(value).__name__}")


def check_integer(
    value: object,
    expected: int,
    name: str = "answer",
    mistakes: Mapping[int, str] | None = None,
) -> None:
    """Fail unless ``value`` equals the integer ``expected``.

    Args:
        value: the student's answer (see :func:`as_integer` for what is accepted).
        expected: the right answer.
        name: what the messages call the answer.
        mistakes: typical wrong values mapped to a hint shown to the student
            (for example ``{1764000 + 23520: "count weights only, no biases"}``).

    Raises:
        AssertionError: if ``value`` is not a whole number or differs from ``expected``
            (with the hint of ``mistakes`` when there is one).
    """
    got = as_integer(value, name)
    if got == expected:
        return
    hint = (mistakes or {}).get(got)
    raise AssertionError(f"{name} = {got} is not right." + (f" Hint: {hint}" if hint else ""))


def as_shape(value: object, name: str = "shape") -> tuple[int, ...]:
    """Normalise a shape; a leading batch dimension ``None`` is dropped.

    Args:
        value: a tuple/list/array/TensorShape, a string such as ``"55x55x96"`` (or
            ``"(55, 55, 96)"``), or an int for 1-D.
        name: what the messages call the answer.

    Returns:
        The shape as a tuple of Python ints, e.g. ``(55, 55, 96)``.

    Raises:
        AssertionError: if ``value`` cannot be read as a shape of whole numbers.
    """
    if hasattr(value, "as_list"):  # tf.TensorShape
        value = value.as_list()
    if isinstance(value, str):  # "55x55x96", "55 x 55 x 96", "(55, 55, 96)"
        parts = [p for p in re.split(r"[x×*,()\[\]\s]+", value.lower()) if p]
        if not parts or not all(p.isdigit() or p == "none" for p in parts):
            raise AssertionError(
                f"{name} should look like (26, 26, 32) or '26x26x32', got {value!r}"
            )
        value = [None if p == "none" else int(p) for p in parts]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise AssertionError(f"{name} should be a tuple like (26, 26, 32), got {value!r}")
    items = list(value)
    if items and items[0] is None:
        items = items[1:]
    return tuple(as_integer(v, f"{name} entry") for v in items)


def check_shape(
    value: object,
    expected: tuple[int, ...],
    name: str = "shape",
    mistakes: Mapping[tuple[int, ...], str] | None = None,
) -> None:
    """Fail unless ``value`` is the shape ``expected`` (batch dimension optional).

    Args:
        value: the student's shape (see :func:`as_shape` for what is accepted).
        expected: the right shape without the batch axis, e.g. ``(26, 26, 32)``.
        name: what the messages call the answer.
        mistakes: typical wrong shapes mapped to a hint shown to the student.

    Raises:
        AssertionError: if ``value`` is not a shape or differs from ``expected``.
    """
    got = as_shape(value, name)
    if got == tuple(expected):
        return
    hint = (mistakes or {}).get(got)
    raise AssertionError(f"{name} = {got} is not right." + (f" Hint: {hint}" if hint else ""))


def _same_shape_numbers(value: object, expected: object, name: str
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``value`` and ``expected`` as float64 arrays of one shape, else AssertionError."""
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{name} could not be read as numbers: {exc}") from None
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name} has shape {got.shape}, expected {want.shape}")
    return got, want


def check_array(
    value: object,
    expected: np.ndarray,
    name: str = "result",
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> None:
    """Fail unless ``value`` is an array of ``expected``'s shape with close values.

    Args:
        value: the student's array (anything ``np.asarray`` reads as numbers).
        expected: the right array, any shape.
        name: what the messages call the answer.
        rtol: relative tolerance of ``np.allclose``.
        atol: absolute tolerance of ``np.allclose``.

    Raises:
        AssertionError: if ``value`` is not numbers of ``expected``'s shape, or its values
            are not close.
    """
    got, expected = _same_shape_numbers(value, expected, name)
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got - expected)))
        raise AssertionError(f"{name} has the right shape but wrong values (max error {worst:.3g})")


def check_choice(value: object, expected: str | set[str], name: str = "choice") -> None:
    """Check a multiple-choice answer: a letter or a set of letters, case and order insensitive.

    Args:
        value: a collection (``{"A", "C"}``, ``["a", "c"]``) or a string (``"A, C"``,
            ``"a c"``, ``"AC"``, ``"A and C"``).
        expected: the right letter, or set of letters.
        name: what the messages call the answer.

    Raises:
        AssertionError: if ``value`` is not letters, or not the right set.
    """
    def norm(v: object) -> frozenset[str]:
        if isinstance(v, str):
            text = re.sub(r"\band\b|[,;/&+{}\[\]()'\"]", " ", v, flags=re.IGNORECASE)
            parts = text.split()
            if len(parts) == 1 and parts[0].isalpha():
                parts = list(parts[0])  # "AC": letters run together
            return frozenset(p.strip().upper() for p in parts if p.strip())
        if isinstance(v, list | tuple | set | frozenset):
            return frozenset(str(p).strip().upper() for p in v)
        raise AssertionError(f"{name} should be a letter such as 'B' or a list of letters")

    if norm(value) != norm(expected):
        raise AssertionError(f"{name} = {value!r} is not right.")


def significant_tolerance(expected: object, digits: int = 3) -> np.ndarray:
    """One unit in the ``digits``-th significant digit of each value of ``expected``.

    That is how far an answer rounded (or cut) to that many significant digits may be.

    Args:
        expected: a number or an array of numbers, any shape.
        digits: significant digits.

    Returns:
        A float64 array of the shape of ``expected`` (``10**-digits`` where a value is 0),
        times 1.0001 for rounding.
    """
    want = np.abs(np.asarray(expected, dtype=np.float64))
    exponent = np.floor(np.log10(np.where(want > 0, want, 1.0)))
    return np.where(want > 0, 10.0 ** (exponent - digits + 1), 10.0 ** -digits) * 1.0001


def close_to(value: object, expected: object, digits: int = 3) -> bool:
    """Whether ``value`` matches ``expected`` to ``digits`` significant digits (each entry).

    Args:
        value: a number or numbers.
        expected: the right number or numbers, any shape.
        digits: significant digits.

    Returns:
        A bool; False for anything that is not numbers of the same shape.
    """
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    want = np.asarray(expected, dtype=np.float64)
    if got.shape != want.shape:
        return False
    return bool(np.all(np.abs(got - want) <= significant_tolerance(want, digits)))


def check_significant(value: object, expected: object, name: str = "answer",
                      digits: int = 3) -> None:
    """Fail unless ``value`` equals ``expected`` to at least ``digits`` significant digits.

    Rounded or cut answers pass (``12 / 59`` as ``0.203``, ``5.333`` as ``5.33``).

    Args:
        value: the student's number or numbers.
        expected: the right number or numbers, any shape.
        name: what the messages call the answer.
        digits: significant digits.

    Raises:
        AssertionError: if ``value`` is not close enough (or not numbers of the same
            shape).
    """
    got, want = _same_shape_numbers(value, expected, name)
    if not close_to(got, want, digits):
        raise AssertionError(f"{name} is not right (to {digits} significant digits).")


def loop_depth(func: object) -> int:
    """How deeply Python loops (``for``, ``while``, comprehensions) nest in ``func``'s own body.

    The source is the function's ``__grading_source__`` (set by the course's grader from the
    submitted cells; '' when it found no ``def``, which counts as 0) or
    ``inspect.getsource``.  Loops inside the functions it calls are not seen.

    Args:
        func: a Python function.

    Returns:
        The largest nesting depth of loops, an ``int`` (0: no loop).

    Raises:
        AssertionError: if the source of ``func`` cannot be read.
    """
    import ast
    import inspect
    import textwrap

    source = getattr(func, "__grading_source__", None)
    if source == "":
        return 0  # the grader could not find the definition (an alias): nothing to judge
    if source is None:
        try:
            source = inspect.getsource(func)
        except (OSError, TypeError) as exc:
            raise AssertionError(f"the source of {func!r} cannot be read: {exc}") from None
    tree = ast.parse(textwrap.dedent(source))

    def depth(node: ast.AST) -> int:
        inner = max((depth(child) for child in ast.iter_child_nodes(node)), default=0)
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            return inner + len(node.generators)  # one loop per ``for`` clause
        return inner + (1 if isinstance(node, ast.For | ast.AsyncFor | ast.While) else 0)

    return depth(tree)


def check_loop_depth(func: object, most: int, message: str) -> None:
    """Fail with ``message`` when Python loops nest more than ``most`` deep in ``func``.

    Args:
        func: a Python function (see :func:`loop_depth`).
        most: the deepest nesting allowed.
        message: the failure message shown to the student.

    Raises:
        AssertionError: if the loops nest deeper than ``most``, or the source cannot be
            read.
    """
    if loop_depth(func) > most:
        raise AssertionError(message)


def check_raises(func, *args, exception: type[BaseException] = ValueError, **kwargs) -> None:
    """Fail unless ``func(*args, **kwargs)`` raises ``exception``.

    Args:
        func: the function to call.
        *args: its positional arguments.
        exception: the exception class expected.
        **kwargs: its keyword arguments.

    Raises:
        AssertionError: if the call returns, or raises another exception.
    """
    try:
        result = func(*args, **kwargs)
    except exception:
        return
    except Exception as exc:  # noqa: BLE001 - report what was raised instead
        raise AssertionError(
            f"{getattr(func, '__name__', 'function')}{args} raised {exc.__class__.__name__}, "
            f"expected {exception.__name__}"
        ) from None
    raise AssertionError(
        f"{getattr(func, '__name__', 'function')}{args} returned {result!r}; "
        f"it should raise {exception.__name__}"
    )


def stderr_is_not_a_failure(cell: dict, **_: object) -> None:
    """Called after each cell nbgrader's Execute step runs (see
    :func:`relabel_stderr_in_validate`, for Validate as for autograde): nbgrader 0.9 fails a
    test cell with any output on stderr (its issue #1904), so a correct answer that prints a
    warning would fail Validate. Each stderr stream of a test cell becomes stdout marked
    ``[stderr]``: the warning stays visible, and only an error fails the cell.

    Args:
        cell: the executed cell (a notebook node: ``metadata``, ``outputs``), changed in place.
    """
    meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
    if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
        return
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            output["name"] = "stdout"
            output["text"] = "".join(f"[stderr] {line}"
                                     for line in output["text"].splitlines(True))


def relabel_stderr_in_validate() -> None:
    """Make nbgrader's Execute step call :func:`stderr_is_not_a_failure` after every cell.

    For ``nbgrader_config.py`` (the course's and the student edition's): Validate runs only
    Execute and takes no preprocessors from the config, and nbgrader 0.9.6's Execute
    implements nbclient's ``on_cell_executed`` hook itself (to record errors), so this wraps
    that method. Calling it again changes nothing.
    """
    from nbgrader.preprocessors import Execute

    if getattr(Execute.on_cell_executed, "relabels_stderr", False):
        return
    recorded = Execute.on_cell_executed

    def on_cell_executed(self, **kwargs):
        recorded(self, **kwargs)
        stderr_is_not_a_failure(kwargs["cell"])

    on_cell_executed.relabels_stderr = True
    Execute.on_cell_executed = on_cell_executed


def _weighted_layers(model) -> list:
    """The layers of a Keras model that hold weights, nested models expanded."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers and layer is not model:
            out += _weighted_layers(layer)
        elif layer.get_weights():
            out.append(layer)
    return out


def check_block_matches(student, reference, x, name: str, any_channel_order: bool = False,
                        atol: float = 1e-4, seed: int = 0) -> None:
    """A Keras block behaves like the reference block, given the same random weights.

    The two get the same random, non-zero weights and must compute the same output on
    ``x``.  Weights are matched by layer kind and weight shapes, not by position, so any
    creation order (branches, the shortcut first, nested ``keras.Sequential`` parts) is
    accepted; layers of one kind and shape all get the same weights (every
    BatchNormalization of ``c`` channels the same gamma, beta, mean and variance), which
    keeps the comparison order-free.

    Args:
        student: the Keras model under test (the student's block).
        reference: the reference Keras model, from the same input shape.
        x: a float32 batch for both, ``(N, H, W, C)``.
        name: what the messages call the block.
        any_channel_order: compare the output channels as a set (an inception module may
            concatenate its branches in any order).
        atol: largest difference allowed.
        seed: seed of the weights.

    Raises:
        AssertionError: a layer with weights the reference has no counterpart for, another
            output shape, or other values (the layer order, an activation, a branch).
    """
    rng = np.random.default_rng(seed)

    def kind(layer) -> tuple:
        return (type(layer).__name__, tuple(tuple(w.shape) for w in layer.get_weights()))

    table: dict[tuple, list] = {}
    for layer in _weighted_layers(reference):
        key = kind(layer)
        if key not in table:
            shapes = [w.shape for w in layer.get_weights()]
            if type(layer).__name__ == "BatchNormalization" and len(shapes) == 4:
                c = shapes[0]
                table[key] = [rng.uniform(0.5, 1.5, c), rng.normal(0, 0.5, c),
                              rng.normal(0, 0.2, c), rng.uniform(0.5, 1.5, c)]
            else:
                table[key] = [rng.normal(0, 0.5, s) for s in shapes]
            table[key] = [w.astype("float32") for w in table[key]]
        layer.set_weights(table[key])
    for layer in _weighted_layers(student):
        key = kind(layer)
        if key not in table:
            raise AssertionError(f"{name}: a {key[0]} layer with weights of shapes "
                                 f"{list(key[1])} that the block should not have")
        layer.set_weights(table[key])
    got = np.asarray(student(x, training=False), dtype=np.float64)
    want = np.asarray(reference(x, training=False), dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{name}: output shape {got.shape}, expected {want.shape}")
    if any_channel_order:
        got = got.reshape(-1, got.shape[-1]).T  # one row per channel
        free = list(range(len(got)))
        for row in want.reshape(-1, want.shape[-1]).T:
            same = [j for j in free if np.abs(got[j] - row).max() <= atol]
            if not same:
                break
            free.remove(same[0])
        matched = not free
    else:
        matched = bool(np.allclose(got, want, atol=atol, rtol=0))
    if not matched:
        raise AssertionError(f"{name}: with the same weights as the reference block it "
                             "computes something else (check the order of the layers, each "
                             "activation and each branch against the question)")
