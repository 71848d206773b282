"""Values between the student's process and the grader: plain JSON data, exact types."""

from __future__ import annotations

import json

import numpy as np
import pytest

from course_admin import wire


def cross(value: object) -> object:
    """``value`` sent through JSON text, as it crosses the pipe."""
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", [1, [2, 3]], (1, "a"), {"p": 0.5, 3: (1, 2)}, {1, 2},
    frozenset({"A"}), b"\x00\x01", 1 + 2j, np.int64(7), np.float32(1.5), np.bool_(False),
])
def test_plain_values_cross_with_their_exact_type(value: object) -> None:
    got = cross(value)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int8", "uint8", "int64", "bool",
                                   "complex128"])
def test_arrays_cross_with_dtype_and_shape(dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype)
    got = cross(array)
    assert type(got) is np.ndarray and got.dtype == array.dtype and np.array_equal(got, array)
    assert got.flags.writeable


def test_a_generator_crosses_with_its_state() -> None:
    rng = np.random.default_rng(5)
    rng.random(3)
    copy = cross(rng)
    assert np.array_equal(copy.random(4), rng.random(4))


class Liar(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("value", [Liar(3), np.array([object()]), object(), lambda: 1])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(wire.WireError):
        wire.encode(value)


def test_other_objects_become_what_the_sender_says() -> None:
    out = wire.encode([object()], on_object=lambda obj: {"$": "handle", "id": 1})
    assert out == [{"$": "handle", "id": 1}]


@pytest.mark.parametrize("message", [
    {"$": "ndarray", "dtype": "object", "shape": [1], "b64": ""},
    {"$": "ndarray", "dtype": "float64", "shape": [3], "b64": "AAAA"},
    {"$": "pickle", "v": "gASV"},
    {"no": "tag"},
    {"$": "rng", "state": {"$": "dict", "items": [["bit_generator", "MT19937"]]}},
])
def test_malformed_or_unknown_messages_are_refused(message: dict) -> None:
    with pytest.raises((wire.WireError, ValueError)):
        wire.decode(message)


def test_keras_models_cross_with_weights_flags_and_compile_state() -> None:
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="a"),
                              keras.layers.Dense(2, activation="softmax", name="b")])
    model.get_layer("a").trainable = False
    model.compile(keras.optimizers.Adam(3e-4), "sparse_categorical_crossentropy")
    got = cross(model)
    assert got is not model
    assert [w.shape for w in got.get_weights()] == [w.shape for w in model.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(got.get_weights(), model.get_weights(),
                                                    strict=True))
    assert not got.get_layer("a").trainable and got.get_layer("b").trainable
    assert isinstance(got.optimizer, keras.optimizers.Adam)
    assert np.isclose(float(keras.ops.convert_to_numpy(got.optimizer.learning_rate)), 3e-4)


@pytest.mark.parametrize("config", [
    {"module": "keras.config", "class_name": "enable_unsafe_deserialization"},
    {"module": "os", "class_name": "system"},
    {"module": "keras.layers", "class_name": "Lambda", "config": {}},
    {"module": None, "class_name": "Mine", "registered_name": "Custom>Mine"},
    {"module": "keras.layers", "class_name": "Dense",
     "config": {"kernel_initializer": {"module": "keras.src.utils", "class_name": "x"}}},
])
def test_keras_configurations_with_code_are_refused(config: dict) -> None:
    with pytest.raises(wire.WireError):
        wire.check_keras_config(config)
