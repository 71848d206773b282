"""Plain data between the student's sandboxed process and the trusted grader.

Everything that crosses is JSON (no pickle): ``None``, ``bool``, ``int``, ``float``, ``str``
and lists as themselves, everything else as a tagged object ``{"$": tag, ...}``:

=============  =========================================================================
tag            what
=============  =========================================================================
``tuple``      ``v``: items
``dict``       ``items``: [[key, value], ...] (keys of any encodable type)
``set``        ``v``: items (``frozenset`` likewise)
``bytes``      ``b64``
``complex``    ``re``, ``im``
``ndarray``    ``dtype`` (numeric or bool only), ``shape``, ``b64`` (C order)
``npscalar``   ``dtype``, ``b64``
``tensor``     a TensorFlow tensor, as ``ndarray``
``shape``      a ``tf.TensorShape``: ``v``: dims
``rng``        a ``numpy.random.Generator``: ``state`` (its bit generator's state)
``keras``      a Keras model or layer: ``config`` (Keras' serialisation), ``weights``,
               ``trainable`` (every layer's flag, depth first), ``compile``
``kinput``     a symbolic Keras tensor: ``shape``, ``dtype``
``kapply``     the student's block applied to a ``kinput``: ``model`` (a ``keras`` object)
``handle``     an object that stays in the sandbox: ``id``, ``type``, ``callable``
``argref``     the very object passed as argument ``i`` of the call
=============  =========================================================================

:func:`decode` builds only these types, checks every tag and dtype, and (on the trusted side)
rebuilds Keras objects with ``safe_mode=True`` from built-in Keras classes only. A value the
student's code sends can therefore be wrong, never clever: no ``__eq__`` that is always true,
no ``__array__`` that lies, no code.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

#: dtypes an array may have on the wire
_DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64", "complex64", "complex128"}
#: nesting deeper than this is refused (a self-referencing list, a hostile structure)
MAX_DEPTH = 64
#: the Keras modules a configuration may name: layers, models and what they are built and
#: compiled with; not keras.config, keras.utils, keras.saving or anything outside Keras
_KERAS_MODULES = re.compile(
    r"^keras(\.src)?(\.(layers|models|optimizers|losses|metrics|activations|initializers|"
    r"regularizers|constraints|dtype_policies)(\.[A-Za-z_][A-Za-z0-9_]*)*)?$")


class WireError(ValueError):
    """A value that cannot cross (an unsupported type, a malformed message)."""


def _array(value: np.ndarray) -> dict:
    if value.dtype.name not in _DTYPES:
        raise WireError(f"arrays of dtype {value.dtype} cannot be graded: use numbers")
    data = np.ascontiguousarray(value)
    return {"$": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape),
            "b64": base64.b64encode(data.tobytes()).decode()}


def _from_array(obj: dict) -> np.ndarray:
    dtype = obj.get("dtype")
    if dtype not in _DTYPES:
        raise WireError(f"bad dtype {dtype!r}")
    shape = obj.get("shape")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise WireError("bad shape")
    raw = base64.b64decode(obj.get("b64", ""), validate=True)
    array = np.frombuffer(raw, dtype=dtype)
    if array.size != int(np.prod(shape, dtype=np.int64)):
        raise WireError("array data does not match its shape")
    return array.reshape(shape).copy()


def _is_tensor(value: object) -> bool:
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.Tensor) and hasattr(value, "numpy")


def _is_keras(value: object) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.layers.Layer)


def _is_keras_tensor(value: object) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.KerasTensor)


def encode(value: Any, *, on_object: Callable[[object], dict] | None = None,
           depth: int = 0) -> Any:
    """``value`` as plain JSON data. ``on_object`` turns anything else into a tag (the
    sandbox keeps such objects and sends a ``handle``); without it they are refused."""
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, float, str):
        return value

    def sub(v: Any) -> Any:
        return encode(v, on_object=on_object, depth=depth + 1)

    if t is list:
        return [sub(v) for v in value]
    if t is tuple:
        return {"$": "tuple", "v": [sub(v) for v in value]}
    if t is dict:
        return {"$": "dict", "items": [[sub(k), sub(v)] for k, v in value.items()]}
    if t in (set, frozenset):
        return {"$": t.__name__, "v": [sub(v) for v in value]}
    if t is bytes:
        return {"$": "bytes", "b64": base64.b64encode(value).decode()}
    if t is complex:
        return {"$": "complex", "re": value.real, "im": value.imag}
    if t is np.ndarray:
        return _array(value)
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        out = _array(np.asarray(value))
        return {"$": "npscalar", "dtype": out["dtype"], "b64": out["b64"]}
    if t is np.random.Generator:
        return {"$": "rng", "state": sub(value.bit_generator.state)}
    if _is_tensor(value):
        return {**_array(np.asarray(value.numpy())), "$": "tensor"}
    if type(value).__name__ == "TensorShape" and hasattr(value, "as_list"):
        dims = value.as_list() if value.rank is not None else None
        return {"$": "shape", "v": dims}
    if _is_keras(value):
        return encode_keras(value)
    if _is_keras_tensor(value):
        return {"$": "kinput", "shape": [d if type(d) is int else None for d in value.shape],
                "dtype": str(value.dtype)}
    if on_object is not None:
        return on_object(value)
    raise WireError(f"a {type(value).__name__} cannot be graded here")


def encode_keras(obj: Any) -> dict:
    """A Keras model or layer: its configuration, weights, trainable flags and compile
    configuration."""
    import keras

    config = keras.saving.serialize_keras_object(obj)
    compiled = None
    if isinstance(obj, keras.Model) and getattr(obj, "compiled", False):
        try:
            compiled = obj.get_compile_config()
        except Exception:  # noqa: BLE001  (a model compiled with something unserialisable)
            compiled = None
    return {"$": "keras", "config": _plain_json(config),
            "weights": [_array(np.asarray(w)) for w in obj.get_weights()],
            "trainable": [bool(layer.trainable) for layer in _walk_layers(obj)],
            "compile": _plain_json(compiled)}


def _walk_layers(obj: Any) -> list:
    """``obj`` and its layers, depth first (nested models expanded)."""
    out = [obj]
    for layer in getattr(obj, "layers", []) or []:
        out += _walk_layers(layer)
    return out


def _plain_json(value: Any, depth: int = 0) -> Any:
    """Keras' serialisation is JSON-like: keep exactly its JSON types."""
    if depth > 200:
        raise WireError("a Keras configuration nested too deeply")
    t = type(value)
    if value is None or t in (bool, int, float, str):
        return value
    if t in (list, tuple):
        return [_plain_json(v, depth + 1) for v in value]
    if t is dict:
        if not all(type(k) is str for k in value):
            raise WireError("a Keras configuration with non-string keys")
        return {k: _plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    raise WireError(f"a Keras configuration holding a {t.__name__}")


def check_keras_config(config: Any, depth: int = 0) -> None:
    """Refuse anything in a Keras configuration that is not a built-in Keras object:
    modules outside ``keras``, registered (custom) objects, Lambda layers."""
    if depth > 200:
        raise WireError("a Keras configuration nested too deeply")
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (isinstance(module, str) and _KERAS_MODULES.match(module)):
            raise WireError(f"only built-in Keras layers can be graded, not {module!r}")
        if config.get("registered_name") not in (None, config.get("class_name")):
            raise WireError("custom (registered) Keras objects cannot be graded")
        if config.get("class_name") in ("Lambda", "TFSMLayer"):
            raise WireError("Lambda layers cannot be graded: use built-in layers")
        for v in config.values():
            check_keras_config(v, depth + 1)
    elif isinstance(config, list):
        for v in config:
            check_keras_config(v, depth + 1)


def decode_keras(obj: dict, *, trusted: bool) -> Any:
    """Rebuild a Keras object; on the trusted side only from built-in classes."""
    import keras

    if trusted:
        check_keras_config(obj.get("config"))
        check_keras_config(obj.get("compile"))
    model = keras.saving.deserialize_keras_object(obj["config"], safe_mode=True)
    weights = [_from_array(w) for w in obj.get("weights", [])]
    if weights:
        model.set_weights(weights)
    apply_keras_state(model, obj)
    return model


def apply_keras_state(model: Any, obj: dict) -> None:
    """Trainable flags and compile state of ``obj`` onto ``model`` (same architecture)."""
    import keras

    flags = obj.get("trainable") or []
    layers = _walk_layers(model)
    if len(flags) == len(layers):
        # outermost first: a model's flag sets its layers', which are then set themselves
        for layer, flag in zip(layers, flags, strict=True):
            layer.trainable = bool(flag)
    if obj.get("compile") and isinstance(model, keras.Model):
        with keras.saving.custom_object_scope({}):
            model.compile_from_config(obj["compile"])  # deserialises it in safe mode


def sync_keras(target: Any, obj: dict) -> None:
    """Make the trusted ``target`` what the sandbox's copy became (weights, flags,
    compile state): a function that changes a model in place."""
    weights = [_from_array(w) for w in obj.get("weights", [])]
    if weights and len(weights) == len(target.get_weights()):
        target.set_weights(weights)
    apply_keras_state(target, obj)


def decode(obj: Any, *, on_tag: Callable[[dict], Any] | None = None, trusted: bool = True,
           depth: int = 0) -> Any:
    """Plain data back into values (see the module docstring). ``on_tag`` resolves the
    tags only one side knows (``handle``, ``argref``, ``kapply``, ``kinput``)."""
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    t = type(obj)
    if obj is None or t in (bool, int, float, str):
        return obj

    def sub(v: Any) -> Any:
        return decode(v, on_tag=on_tag, trusted=trusted, depth=depth + 1)

    if t is list:
        return [sub(v) for v in obj]
    if t is not dict or not isinstance(obj.get("$"), str):
        raise WireError("malformed value")
    tag = obj["$"]
    if tag == "tuple":
        return tuple(sub(v) for v in obj["v"])
    if tag == "dict":
        return {_hashable(sub(k)): sub(v) for k, v in obj["items"]}
    if tag in ("set", "frozenset"):
        items = {_hashable(sub(v)) for v in obj["v"]}
        return items if tag == "set" else frozenset(items)
    if tag == "bytes":
        return base64.b64decode(obj["b64"], validate=True)
    if tag == "complex":
        return complex(float(obj["re"]), float(obj["im"]))
    if tag == "ndarray":
        return _from_array(obj)
    if tag == "npscalar":
        return _from_array({**obj, "shape": []})[()]
    if tag == "tensor":
        array = _from_array(obj)
        tf = sys.modules.get("tensorflow")
        return tf.constant(array) if tf is not None else array
    if tag == "shape":
        import tensorflow as tf

        dims = obj["v"]
        if dims is not None and not all(d is None or type(d) is int for d in dims):
            raise WireError("bad TensorShape")
        return tf.TensorShape(dims)
    if tag == "rng":
        state = sub(obj["state"])
        if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
            raise WireError("only numpy's default generator (PCG64) can be passed")
        bit = np.random.PCG64()
        bit.state = state
        return np.random.Generator(bit)
    if tag == "keras":
        return decode_keras(obj, trusted=trusted)
    if on_tag is not None:
        return on_tag(obj)
    raise WireError(f"unknown value tag {tag!r}")


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        raise WireError("an unhashable set item or dictionary key") from None
    return value
