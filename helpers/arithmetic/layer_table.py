"""A per-layer table of a Keras model: output shape, parameters, multiply-adds, activations.

>>> import helpers, keras
>>> from helpers.arithmetic.layer_table import layer_table
>>> model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, name="c")])
>>> layer_table(model)[["name", "output_shape", "params", "macs"]].to_dict("records")
[{'name': 'c', 'output_shape': (26, 26, 32), 'params': 320, 'macs': 194688}]

Columns, one row per layer in ``model.layers`` (Keras 3 lists no InputLayer for a
Sequential model; a functional model's InputLayer gets a row with zeros):

* ``name``, ``type`` (the class name);
* ``output_shape``: a tuple without the batch axis (a tuple of tuples for several outputs);
* ``params``: ``layer.count_params()`` (trainable and non-trainable); the column sums to
  ``model.count_params()``, which is checked;
* ``macs``: multiply-adds per image, biases not counted, for Conv2D, DepthwiseConv2D,
  SeparableConv2D and Dense (computed with :mod:`helpers.arithmetic.conv_arithmetic`) and for nested
  models (the sum of their layers).  Every other layer (pooling, BatchNormalization,
  activations, additions...) gets 0, although it does some arithmetic.  A layer called
  several times is counted once, for its first call;
* ``activations``: the number of output values per image.
"""

from __future__ import annotations

import math
from typing import Any

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import pandas as pd

from helpers.arithmetic import conv_arithmetic as ca

COLUMNS = ["name", "type", "output_shape", "params", "macs", "activations"]


def _output_shapes(layer: keras.layers.Layer) -> list[tuple[int, ...]]:
    """The layer's output shape(s) without the batch axis, all sizes known."""
    try:
        output = layer.output
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"layer {layer.name!r} has no output shape ({err}); the model must be built with "
            f"a known input shape: call model.build(...) or give an Input, e.g. "
            f"keras.Sequential([keras.Input((28, 28, 1)), ...])"
        ) from err
    outputs = output if isinstance(output, list | tuple) else [output]
    shapes = []
    for tensor in outputs:
        shape = tuple(tensor.shape)[1:]
        if any(d is None for d in shape):
            raise ValueError(
                f"layer {layer.name!r} has output shape {tuple(tensor.shape)} with an unknown "
                f"size after the batch axis; give the Input a fixed shape such as (28, 28, 1)"
            )
        shapes.append(tuple(int(d) for d in shape))
    return shapes


def _channels_last(layer: keras.layers.Layer, shape: tuple[int, ...]) -> tuple[int, int, int]:
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        return shape[1], shape[2], shape[0]
    return shape[0], shape[1], shape[2]


def _macs(layer: keras.layers.Layer, shape: tuple[int, ...]) -> int:
    """Multiply-adds per image of one layer with output ``shape`` (0 where not modelled)."""
    # In Keras 3 SeparableConv2D and DepthwiseConv2D are not Conv2D subclasses; Conv1D,
    # Conv3D and Conv2DTranspose are not modelled and get 0.
    if isinstance(layer, keras.layers.SeparableConv2D):
        kh, kw, cin, mult = layer.depthwise_kernel.shape
        return ca.separable_conv2d_macs(_channels_last(layer, shape), (kh, kw), cin, mult)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw, _, _ = layer.kernel.shape
        return ca.depthwise_conv2d_macs(_channels_last(layer, shape), (kh, kw))
    if isinstance(layer, keras.layers.Conv2D):
        # kernel (kh, kw, C_in / groups, filters): grouped convolutions come out right.
        kh, kw, cin_per_group, _ = layer.kernel.shape
        return ca.conv2d_macs(_channels_last(layer, shape), (kh, kw), cin_per_group)
    if isinstance(layer, keras.layers.Dense):
        in_features, units = layer.kernel.shape
        # Dense acts on the last axis; every leading position is one vector product.
        return math.prod(shape[:-1]) * ca.dense_macs(in_features, units)
    if isinstance(layer, keras.Model):
        return int(layer_table(layer)["macs"].sum())
    return 0


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer of a built ``model``: output shape, parameters, multiply-adds, activations.

    Columns ``name, type, output_shape, params, macs, activations`` (see the module
    docstring for what each counts; shapes are without the batch axis, counts per image).

    Args:
        model: a built ``keras.Model`` (with a known input shape, e.g. an ``Input``).

    Returns:
        A DataFrame with one row per layer of ``model.layers``; ``params``, ``macs`` and
        ``activations`` are int64.

    Raises:
        TypeError: if ``model`` is not a ``keras.Model``.
        ValueError: if the model is not built or has no known input shape (a size after the
            batch axis is unknown), or when the ``params`` column does not add up to
            ``model.count_params()``.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built, so its layers have no shapes: "
            f"call model.build(...) or give an Input, e.g. "
            f"keras.Sequential([keras.Input((28, 28, 1)), ...])"
        )
    rows = []
    for layer in model.layers:
        shapes = _output_shapes(layer)
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": shapes[0] if len(shapes) == 1 else tuple(shapes),
                "params": int(layer.count_params()) if layer.built else 0,
                "macs": sum(_macs(layer, s) for s in shapes),
                "activations": sum(math.prod(s) for s in shapes),
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("params", "macs", "activations"):
        df[column] = df[column].astype("int64")
    total, expected = int(df["params"].sum()), int(model.count_params())
    if total != expected:
        raise ValueError(
            f"the layers' parameters add up to {total:,} but model.count_params() is "
            f"{expected:,}; are weights shared between layers or held by the model itself?"
        )
    return df


def layer_table_totals(df: pd.DataFrame) -> dict[str, Any]:
    """Totals of a :func:`layer_table`.

    Args:
        df: a DataFrame returned by :func:`layer_table`.

    Returns:
        A dict with ``layers``, ``params``, ``macs``, ``activations`` (Python ints) and
        ``activation_bytes``, the float32 bytes of all outputs per image
        (``4 * activations``).

    Raises:
        ValueError: if a column of :func:`layer_table` is missing.

    Example:
        >>> layer_table_totals(layer_table(model))["params"]  # doctest: +SKIP
        693962
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not a layer_table: columns {missing} are missing")
    activations = int(df["activations"].sum())
    return {
        "layers": len(df),
        "params": int(df["params"].sum()),
        "macs": int(df["macs"].sum()),
        "activations": activations,
        "activation_bytes": activations * 4,
    }
