"""Shared by every test: ``helpers`` imported first, and the lecture's ``cnn1`` built once.

``helpers`` sets TensorFlow's environment variables (log level, threads) when imported; pytest
loads this file before any test module, so no test module has to import it first itself.
"""

from __future__ import annotations

from collections.abc import Callable

import helpers  # noqa: F401  (first: TensorFlow's environment before keras is imported)

# isort: split
import keras
import pytest

layers = keras.layers


def cnn1_layers() -> list[keras.layers.Layer]:
    """The layers of lecture 01's ``cnn1`` (``helpers.architectures.small.build_cnn1``), named so
    that tables can be asserted row by row: conv, relu, pool, drop, flat, fc, out."""
    return [
        layers.Conv2D(32, 3, name="conv"),
        layers.Activation("relu", name="relu"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Dropout(0.2, name="drop"),
        layers.Flatten(name="flat"),
        layers.Dense(128, activation="relu", name="fc"),
        layers.Dense(10, activation="softmax", name="out"),
    ]


@pytest.fixture(scope="session")
def make_cnn1() -> Callable[..., keras.Model]:
    """A builder of a fresh ``cnn1``: ``make_cnn1()`` with an ``Input((28, 28, 1))``,
    ``make_cnn1(built_with_input=False)`` without one (unbuilt)."""

    def make(built_with_input: bool = True) -> keras.Model:
        head = [keras.Input((28, 28, 1))] if built_with_input else []
        return keras.Sequential(head + cnn1_layers())

    return make


@pytest.fixture(scope="session")
def cnn1(make_cnn1) -> keras.Model:
    """One ``cnn1`` for the whole run, for tests that only read it (tables, patterns): 693,962
    parameters. A test that compiles, fits or patches a model builds its own with ``make_cnn1``."""
    return make_cnn1()
