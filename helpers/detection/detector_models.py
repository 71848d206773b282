"""Keras building blocks of the course's Fast and Faster R-CNN.

Sizes are chosen for 128 x 128 grey scenes on a laptop CPU:

* backbone: five 3 x 3 convolutions after a 5 x 5 stride-2 stem, two max
  pools, BatchNorm; stride 8, so a 128 x 128 image gives a 16 x 16 x 128
  feature map (receptive field 63 px; objects are 7-56 px).
* RPN head: a 3 x 3 convolution then two sibling 1 x 1 convolutions with A
  objectness logits and 4A box deltas per position (A anchors per position).
* RoI head: RoI pooling to 7 x 7, two fully connected layers, a softmax over
  ``num_classes + 1`` (index 0 is background) and class-specific box deltas.

The localisation network of the lecture's first section (one object: class
scores and one box) is here too.
"""

from __future__ import annotations

import keras
from keras import layers

import helpers  # noqa: F401  (silences TensorFlow before it is imported)

BACKBONE_STRIDE = 8


def _conv_bn(x, filters: int, kernel: int, name: str, strides: int = 1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      name=f"{name}_conv")(x)
    # momentum 0.9, not Keras' 0.99: these runs are a few hundred steps long, and with 0.99 the
    # moving statistics used at test time still lag far behind the batch statistics.
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_backbone(input_shape: tuple[int, int, int] = (128, 128, 1), name: str = "backbone"):
    """The shared convolutional trunk.

    Args:
        input_shape: (H, W, C) of the scenes; H and W multiples of 8 (pixels).
        name: the model's name.

    Returns:
        keras.Model mapping (B, H, W, C) -> (B, H/8, W/8, 128).

    Raises:
        ValueError: if H or W is not a multiple of 8.
    """
    if input_shape[0] % BACKBONE_STRIDE or input_shape[1] % BACKBONE_STRIDE:
        raise ValueError(f"image height and width must be multiples of 8, got {input_shape[:2]}")
    inputs = keras.Input(input_shape, name="image")
    x = _conv_bn(inputs, 16, 5, "stem", strides=2)
    x = _conv_bn(x, 32, 3, "b1")
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = _conv_bn(x, 64, 3, "b2a")
    x = _conv_bn(x, 64, 3, "b2b")
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = _conv_bn(x, 128, 3, "b3a")
    x = _conv_bn(x, 128, 3, "b3b")
    return keras.Model(inputs, x, name=name)


def build_rpn_head(channels: int = 128, num_anchors: int = 9, name: str = "rpn"):
    """Region proposal head applied at every feature-map position.

    A 3x3 ReLU convolution (128 filters), then two 1x1 convolutions: objectness logits and
    box deltas.

    Args:
        channels: channels of the feature map.
        num_anchors: ``A``, anchors per position.
        name: the model's name.

    Returns:
        keras.Model mapping (B, h, w, channels) -> [objectness logits (B, h, w, A),
        deltas (B, h, w, 4A)], anchor index fastest within a position.
    """
    features = keras.Input((None, None, channels), name="features")
    x = layers.Conv2D(128, 3, padding="same", activation="relu", name="rpn_conv")(features)
    logits = layers.Conv2D(num_anchors, 1, name="rpn_objectness",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=0.01))(x)
    deltas = layers.Conv2D(4 * num_anchors, 1, name="rpn_deltas",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))(x)
    return keras.Model(features, [logits, deltas], name=name)


def build_roi_head(pool_size: int = 7, channels: int = 128, num_classes: int = 10,
                   hidden: int = 256, dropout: float = 0.3, name: str = "roi_head"):
    """Fast R-CNN head on pooled RoI features.

    Flatten -> fc6 -> dropout -> fc7 -> dropout (ReLU, ``hidden`` units), then class
    logits and class-specific box deltas.

    Args:
        pool_size: side of the pooled RoI features (cells).
        channels: channels of the pooled features.
        num_classes: object classes (background not counted).
        hidden: units of fc6 and fc7.
        dropout: rate of the dropout after fc6 and fc7.
        name: the model's name.

    Returns:
        keras.Model mapping (R, pool, pool, channels) -> [class logits (R, num_classes + 1)
        with background at index 0, class-specific deltas (R, num_classes + 1, 4)].
    """
    pooled = keras.Input((pool_size, pool_size, channels), name="pooled")
    x = layers.Flatten(name="flatten")(pooled)
    x = layers.Dense(hidden, activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(hidden, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    logits = layers.Dense(num_classes + 1, name="cls_logits")(x)
    deltas = layers.Dense(4 * (num_classes + 1), name="bbox_deltas",
                          kernel_initializer=keras.initializers.RandomNormal(stddev=0.001))(x)
    deltas = layers.Reshape((num_classes + 1, 4), name="bbox_deltas_per_class")(deltas)
    return keras.Model(pooled, [logits, deltas], name=name)


def build_localisation_net(input_shape: tuple[int, int, int] = (128, 128, 1),
                           num_classes: int = 10, name: str = "localiser"):
    """Classification + localisation for one object per image.

    Args:
        input_shape: (H, W, C) of the scenes; H and W multiples of 8 (pixels).
        num_classes: object classes.
        name: the model's name.

    Returns:
        keras.Model with outputs ``class`` (B, num_classes) softmax probabilities and
        ``box`` (B, 4) = (x1, y1, x2, y2) / image side, in [0, 1] (sigmoid).

    Raises:
        ValueError: if H or W is not a multiple of 8.
    """
    backbone = build_backbone(input_shape, name="localiser_backbone")
    x = layers.GlobalAveragePooling2D(name="gap")(backbone.output)
    flat = layers.Flatten(name="flat")(layers.MaxPooling2D(2, name="pool3")(backbone.output))
    h = layers.Dense(256, activation="relu", name="fc")(layers.Concatenate()([x, flat]))
    cls = layers.Dense(num_classes, activation="softmax", name="class")(h)
    box = layers.Dense(4, activation="sigmoid", name="box")(h)
    return keras.Model(backbone.input, {"class": cls, "box": box}, name=name)
