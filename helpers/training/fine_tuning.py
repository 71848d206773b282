"""Fine-tuning: freeze and unfreeze a pretrained network's blocks, swap its head.

The networks are those of :func:`helpers.architectures.small.build_transfer_cnn`: blocks
``block{i}_conv/_bn/_relu/_pool``, then ``features`` (global average pooling) and a head.
A frozen BatchNormalization layer runs in inference mode (Keras 3), so freezing a block
freezes its moving statistics too.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from helpers.architectures.small import build_transfer_cnn


def conv_blocks(model: keras.Model) -> list[list[keras.Layer]]:
    """The layers of each ``block{i}_*`` group, in order (block 1 first).

    Args:
        model: a model built by :func:`~helpers.architectures.small.build_transfer_cnn` (layers
            named ``block<i>_...``).

    Returns:
        A list of ``L`` lists of Keras layers, one per block.

    Raises:
        ValueError: if the model has no ``block<i>_...`` layers.
    """
    blocks: dict[int, list[keras.Layer]] = {}
    for layer in model.layers:
        head, _, _ = layer.name.partition("_")
        if head.startswith("block") and head[5:].isdigit():
            blocks.setdefault(int(head[5:]), []).append(layer)
    if not blocks:
        raise ValueError(f"model {model.name!r} has no layers named 'block<i>_...': build it "
                         "with :func:`~helpers.architectures.small.build_transfer_cnn`")
    return [blocks[i] for i in sorted(blocks)]


def feature_extractor(model: keras.Model) -> keras.Model:
    """``model`` up to its ``features`` layer (shares the weights).

    Args:
        model: a model built by :func:`~helpers.architectures.small.build_transfer_cnn` (layers
            named ``block<i>_...``).

    Returns:
        A ``keras.Model`` named ``features``, ``(N, 28, 28, 1) -> (N, filters[-1])``.
    """
    return keras.Model(model.input, model.get_layer("features").output, name="features")


def trainable_parameter_count(model: keras.Model) -> int:
    """Number of scalars in ``model.trainable_weights`` (what an optimizer updates).

    Args:
        model: a Keras model.

    Returns:
        The count, an ``int``.
    """
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def freeze_up_to(model: keras.Model, k: int, train_bn: bool = True) -> keras.Model:
    """Freeze blocks ``1..k`` and make blocks ``k+1..L`` trainable; the head is left as it is.

    Args:
        model: a model built by :func:`~helpers.architectures.small.build_transfer_cnn` (layers
            named ``block<i>_...``).
        k: the number of bottom blocks to freeze, ``0 <= k <= L``.
        train_bn: also make the BN layers of blocks ``k+1..L`` trainable.

    Returns:
        ``model`` itself (changed in place).

    Raises:
        ValueError: if the model has no ``block<i>_...`` layers, or ``k`` is out of range.
    """
    blocks = conv_blocks(model)
    if not 0 <= k <= len(blocks):
        raise ValueError(f"k={k} is out of range: the model has {len(blocks)} blocks, "
                         f"use 0 <= k <= {len(blocks)}")
    for i, block in enumerate(blocks, 1):
        for layer in block:
            bn = isinstance(layer, layers.BatchNormalization)
            layer.trainable = i > k and (train_bn or not bn)
    return model


def freeze_base(model: keras.Model) -> keras.Model:
    """Freeze every layer up to ``features``; the layers after it (the head) stay trainable.

    Args:
        model: a model built by :func:`~helpers.architectures.small.build_transfer_cnn` (layers
            named ``block<i>_...``).

    Returns:
        ``model`` itself (changed in place).

    Raises:
        ValueError: if the model has no ``block<i>_...`` layers.
    """
    freeze_up_to(model, len(conv_blocks(model)))
    for layer in model.layers[model.layers.index(model.get_layer("features")) + 1:]:
        layer.trainable = True
    return model


def unfreeze_top(model: keras.Model, n: int) -> keras.Model:
    """Make the convolutions of the top ``n`` blocks trainable.

    Lower blocks and every BN layer stay frozen (inference mode); the head is left as it is.

    Args:
        model: a model built by :func:`~helpers.architectures.small.build_transfer_cnn` (layers
            named ``block<i>_...``).
        n: the number of top blocks to unfreeze, ``0 <= n <= L``.

    Returns:
        ``model`` itself (changed in place).

    Raises:
        ValueError: if the model has no ``block<i>_...`` layers, or ``n`` is out of range.
    """
    blocks = conv_blocks(model)
    if not 0 <= n <= len(blocks):
        raise ValueError(f"n={n} is out of range: the model has {len(blocks)} blocks, "
                         f"use 0 <= n <= {len(blocks)}")
    return freeze_up_to(model, len(blocks) - n, train_bn=False)


def transfer_model(pretrained: keras.Model, num_classes: int = 5, copy_blocks: int | None = None,
                   head_units: int = 64, seed: int = 13) -> keras.Model:
    """A new transfer CNN whose first ``copy_blocks`` blocks copy ``pretrained``'s weights.

    The model is a :func:`~helpers.architectures.small.build_transfer_cnn` with
    ``pretrained``'s filters and input shape; the blocks not copied and the head are freshly
    initialised (seeded).  ``pretrained`` itself is never changed.  Nothing is frozen here.

    Args:
        pretrained: a model built by
            :func:`~helpers.architectures.small.build_transfer_cnn`.
        num_classes: units of the new softmax head.
        copy_blocks: how many bottom blocks to copy (default: all).
        head_units: units of the new ``head_dense``.
        seed: passed to ``keras.utils.set_random_seed`` before building.

    Returns:
        A new ``keras.Model`` named ``transfer``, ``(N, 28, 28, 1) -> (N, num_classes)``.

    Raises:
        ValueError: if ``pretrained`` has no ``block<i>_...`` layers or ``copy_blocks`` is
            out of range.
    """
    blocks = conv_blocks(pretrained)
    copy_blocks = len(blocks) if copy_blocks is None else copy_blocks
    if not 0 <= copy_blocks <= len(blocks):
        raise ValueError(f"copy_blocks={copy_blocks} is out of range: use 0..{len(blocks)}")
    filters = tuple(la.filters for b in blocks for la in b if isinstance(la, layers.Conv2D))
    keras.utils.set_random_seed(seed)
    model = build_transfer_cnn(num_classes, filters, head_units, tuple(pretrained.input_shape[1:]),
                      name="transfer")
    for block in blocks[:copy_blocks]:
        for layer in block:
            model.get_layer(layer.name).set_weights(layer.get_weights())
    return model
