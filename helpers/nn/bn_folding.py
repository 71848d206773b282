"""Folding a trained BatchNormalization into the convolution before it, in Keras.

At inference BN is a fixed affine map per channel, so ``BN(conv(x))`` is itself a
convolution with rescaled weights (seed 004, algorithm 2, step 11; the arithmetic is in
:func:`helpers.nn.numpy_layers.fold_batchnorm`).  Deployed networks do this to save the BN's
memory traffic: one layer instead of two, identical outputs up to float rounding.
"""

from __future__ import annotations

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import numpy as np
from keras import layers

from helpers.nn.numpy_layers import fold_batchnorm


def conv_bn_model(input_shape: tuple[int, int, int] = (28, 28, 1), filters: int = 8,
                  seed: int = 0) -> keras.Model:
    """A small model Input -> Conv2D(filters, 3, same, no bias) -> BatchNormalization -> ReLU.

    Maps ``(batch, H, W, C) -> (batch, H, W, filters)``; layers named ``conv``, ``bn``,
    ``relu``.

    Args:
        input_shape: ``(H, W, C)`` of one image, in pixels and channels.
        filters: the number of output channels of the convolution.
        seed: seed of Keras' random state (the initial weights).

    Returns:
        The (untrained) ``keras.Model`` named ``conv_bn``.
    """
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name="conv")(inputs)
    x = layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, layers.ReLU(name="relu")(x), name="conv_bn")


def fold_conv_bn(model: keras.Model, conv: str = "conv", bn: str = "bn") -> keras.Model:
    """A copy of ``model`` with its BatchNormalization folded into the convolution before it.

    ``model`` is built by :func:`conv_bn_model` or shaped like it (Input -> conv -> bn ->
    activation); the copy is Input -> Conv2D (with bias) -> the layers after ``bn``.  Uses
    the BN's moving statistics, so it equals ``model(x, training=False)``.

    Args:
        model: the Keras model with a ``Conv2D`` followed by a ``BatchNormalization``.
        conv: the name of the ``Conv2D`` layer.
        bn: the name of the ``BatchNormalization`` layer.

    Returns:
        A new ``keras.Model`` named ``<model.name>_folded`` with the same input and output
        shapes, e.g. ``(batch, H, W, C) -> (batch, H, W, filters)``.

    Raises:
        ValueError: if ``conv`` is not a ``Conv2D`` or ``bn`` not a ``BatchNormalization``
            (or either is not a layer of ``model``).
    """
    conv_layer, bn_layer = model.get_layer(conv), model.get_layer(bn)
    if not isinstance(conv_layer, layers.Conv2D) or not isinstance(
            bn_layer, layers.BatchNormalization):
        raise ValueError(f"fold_conv_bn needs a Conv2D {conv!r} followed by a "
                         f"BatchNormalization {bn!r}; got {type(conv_layer).__name__} and "
                         f"{type(bn_layer).__name__}")
    weights = conv_layer.get_weights()
    kernel, bias = weights[0], (weights[1] if conv_layer.use_bias else None)
    gamma, beta, mean, var = bn_layer.get_weights()
    new_kernel, new_bias = fold_batchnorm(kernel, bias, gamma, beta, mean, var,
                                          bn_layer.epsilon)
    inputs = keras.Input(model.input_shape[1:])
    folded = layers.Conv2D(conv_layer.filters, conv_layer.kernel_size,
                           strides=conv_layer.strides, padding=conv_layer.padding,
                           name=f"{conv}_folded")
    x = folded(inputs)
    folded.set_weights([new_kernel, new_bias])
    after = model.layers[model.layers.index(bn_layer) + 1:]
    for layer in after:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_folded")


def max_abs_difference(a: keras.Model, b: keras.Model, x: np.ndarray) -> float:
    """Largest absolute difference of two models' inference outputs on ``x``.

    Args:
        a: a Keras model.
        b: a Keras model with the same input and output shapes as ``a``.
        x: a batch of inputs, e.g. ``(N, 28, 28, 1)`` float32.

    Returns:
        ``max |a(x) - b(x)|`` (both with ``training=False``), a Python float.
    """
    ya = keras.ops.convert_to_numpy(a(x, training=False))
    yb = keras.ops.convert_to_numpy(b(x, training=False))
    return float(np.max(np.abs(ya - yb)))
