"""Residual networks: ResNet v1 (He et al. 2015), v2 (pre-activation, He et al. 2016),
ResNeXt (Xie et al. 2017), the CIFAR-style 6n+2 ResNet and its plain twin, stochastic depth.

Shapes are channels-last ``(batch, height, width, channels)``.  A residual block computes
``y = F(x) + shortcut(x)``; the shortcut is the identity when the shape does not change and
otherwise (``projection=None``, the default) a 1x1 convolution with the block's stride
(He et al.'s option B).  ``projection=False`` forces a parameter-free shortcut: the input
subsampled by the stride and zero-padded to the new channel count (option A, used by the
CIFAR networks so that the residual and the plain network have the same weighted layers).

The ImageNet builders follow ``keras.applications`` conventions so that the parameter
counts are equal: convolutions with biases (none in ResNeXt, none before BN in v2), BN
epsilon 1.001e-5, the v1 bottleneck's stride on its first 1x1 convolution, the v2 stride
on the *last* block of a stage with a subsampled identity shortcut.  ``small_input=True``
replaces the 7x7/2 stem and its max pool by one 3x3/1 convolution, for 28x28 or 32x32
images; ``width`` multiplies every channel count.

Stochastic depth (Huang et al. 2016): with ``stochastic_depth=d`` block ``l`` of ``L``
survives with probability ``p_l = 1 - (l / L) * d`` (the paper's ``p_L = 0.5`` is
``d = 0.5``); the block's ``Add`` becomes a :class:`StochasticDepth` layer.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
from keras import layers, ops

__all__ = [  # layers, blocks, builders
    "StochasticDepth", "ZeroPadChannels",
    "basic_block", "plain_block", "bottleneck_block", "preact_basic_block",
    "preact_bottleneck_block", "resnext_block",
    "build_resnet", "build_resnet_v2", "build_resnext", "build_cifar_resnet",
]

BN_EPSILON = 1.001e-5  # keras.applications' value
STAGE_FILTERS = (64, 128, 256, 512)  # bottleneck widths; bottleneck blocks output 4x these
LAYOUTS = {  # depth -> (block kind, blocks per stage), He et al. 2015 table 1
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


@keras.saving.register_keras_serializable(package="cnn_course")
class StochasticDepth(layers.Layer):
    """Adds a residual branch to its shortcut, keeping the branch with a probability.

    Called on ``[shortcut, residual]`` (same shapes).  In training each sample's branch is
    kept whole with probability ``survival_probability`` and dropped otherwise:
    ``shortcut + b * residual``, ``b ~ Bernoulli(p)`` of shape ``(batch, 1, 1, 1)``.  At
    inference it is deterministic, the paper's (non-inverted) convention:
    ``shortcut + p * residual``.  Output shape = input shape; no weights.
    """

    def __init__(self, survival_probability: float = 0.5, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 < survival_probability <= 1.0:
            raise ValueError(f"survival_probability must be in (0, 1], got {survival_probability}")
        self.survival_probability = float(survival_probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        shortcut, residual = inputs
        p = self.survival_probability
        if not training:
            return shortcut + p * residual
        mask_shape = (ops.shape(residual)[0],) + (1,) * (len(residual.shape) - 1)
        draws = keras.random.uniform(mask_shape, seed=self.seed_generator, dtype=residual.dtype)
        return shortcut + ops.cast(draws < p, residual.dtype) * residual

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "survival_probability": self.survival_probability,
                "seed": self.seed}


@keras.saving.register_keras_serializable(package="cnn_course")
class ZeroPadChannels(layers.Layer):
    """Appends ``extra`` all-zero channels: ``(b, h, w, c) -> (b, h, w, c + extra)``."""

    def __init__(self, extra: int, **kwargs):
        super().__init__(**kwargs)
        self.extra = int(extra)

    def call(self, x):
        return ops.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[0, self.extra]])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + self.extra)

    def get_config(self) -> dict:
        return {**super().get_config(), "extra": self.extra}


def _n(name: str | None, suffix: str) -> str | None:
    """Layer name ``<block>_<suffix>``, or None (Keras picks one) for an unnamed block."""
    return None if name is None else f"{name}_{suffix}"


def _bn(x, name: str | None):
    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)(x)


def _relu(x, name: str | None):
    return layers.Activation("relu", name=name)(x)


def _projects(x, channels: int, stride: int, projection: bool | None) -> bool:
    """Whether the shortcut is a 1x1 projection; ``None``: exactly when the shape changes."""
    if projection is None:
        return stride != 1 or x.shape[-1] != channels
    return projection


def _shortcut(x, channels: int, stride: int, project: bool, name: str | None,
              use_bias: bool = True, batch_norm: bool = True):
    """Projection (1x1 conv with the stride [+ BN]) or identity, subsampled and zero-padded."""
    if project:
        x = layers.Conv2D(channels, 1, strides=stride, use_bias=use_bias,
                          name=_n(name, "0_conv"))(x)
        return _bn(x, _n(name, "0_bn")) if batch_norm else x
    if stride != 1:
        x = layers.MaxPooling2D(1, strides=stride, name=_n(name, "0_subsample"))(x)
    if x.shape[-1] > channels:
        raise ValueError(f"an identity shortcut cannot reduce {x.shape[-1]} to {channels} channels")
    if x.shape[-1] < channels:
        x = ZeroPadChannels(channels - x.shape[-1], name=_n(name, "0_pad"))(x)
    return x


def _merge(shortcut, residual, survival_probability: float, name: str | None):
    """``shortcut + residual``: an Add layer, or StochasticDepth when p < 1."""
    if survival_probability >= 1.0:
        return layers.Add(name=_n(name, "add"))([shortcut, residual])
    return StochasticDepth(survival_probability, name=_n(name, "add"))([shortcut, residual])


def _survival(num_blocks: int, stochastic_depth: float) -> list[float]:
    """Huang et al.'s linear decay: block l of L survives with p_l = 1 - l/L * drop."""
    if not 0.0 <= stochastic_depth < 1.0:
        raise ValueError(f"stochastic_depth must be in [0, 1), got {stochastic_depth}")
    return [1.0 - stochastic_depth * i / num_blocks for i in range(1, num_blocks + 1)]


def _scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def basic_block(x, filters: int, stride: int = 1, projection: bool | None = None,
                survival_probability: float = 1.0, name: str | None = None):
    """ResNet v1 basic block: 3x3 conv-BN-ReLU, 3x3 conv-BN, add shortcut, ReLU.

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: filters of both convolutions.
        stride: stride of the block's first strided convolution (and of the shortcut).
        projection: shortcut kind: None (the default) a 1x1 convolution with the stride
            exactly when the shape changes, otherwise the identity; True always a
            projection; False a parameter-free shortcut (subsampled, zero-padded channels).
        survival_probability: probability of keeping the residual branch in training
            (< 1 merges with :class:`StochasticDepth`, 1 with a plain ``Add``).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), filters)``.

    Raises:
        ValueError: if an identity shortcut would have to reduce the channel count, or
            ``survival_probability`` is not in ``(0, 1]``.
    """
    shortcut = _shortcut(x, filters, stride, _projects(x, filters, stride, projection), name)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=_n(name, "1_conv"))(x)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(filters, 3, padding="same", name=_n(name, "2_conv"))(y)
    y = _bn(y, _n(name, "2_bn"))
    return _relu(_merge(shortcut, y, survival_probability, name), _n(name, "out"))


def plain_block(x, filters: int, stride: int = 1, name: str | None = None):
    """The basic block without its shortcut: two 3x3 conv-BN-ReLU (a "plain" network).

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: filters of both convolutions.
        stride: stride of the first convolution.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), filters)``.
    """
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=_n(name, "1_conv"))(x)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(filters, 3, padding="same", name=_n(name, "2_conv"))(y)
    return _relu(_bn(y, _n(name, "2_bn")), _n(name, "out"))


def bottleneck_block(x, filters: int, stride: int = 1, projection: bool | None = None,
                     survival_probability: float = 1.0, name: str | None = None):
    """ResNet v1 bottleneck (Keras' layout): 1x1 (stride) -> 3x3 -> 1x1 to ``4 * filters``.

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: the bottleneck width; the block outputs ``4 * filters`` channels.
        stride: stride of the first 1x1 convolution (and of the shortcut).
        projection: shortcut kind: None (the default) a 1x1 convolution with the stride
            exactly when the shape changes, otherwise the identity; True always a
            projection; False a parameter-free shortcut (subsampled, zero-padded channels).
        survival_probability: probability of keeping the residual branch in training
            (< 1 merges with :class:`StochasticDepth`, 1 with a plain ``Add``).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), 4 * filters)``.

    Raises:
        ValueError: if an identity shortcut would have to reduce the channel count, or
            ``survival_probability`` is not in ``(0, 1]``.
    """
    out = 4 * filters
    shortcut = _shortcut(x, out, stride, _projects(x, out, stride, projection), name)
    y = layers.Conv2D(filters, 1, strides=stride, name=_n(name, "1_conv"))(x)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(filters, 3, padding="same", name=_n(name, "2_conv"))(y)
    y = _relu(_bn(y, _n(name, "2_bn")), _n(name, "2_relu"))
    y = layers.Conv2D(out, 1, name=_n(name, "3_conv"))(y)
    y = _bn(y, _n(name, "3_bn"))
    return _relu(_merge(shortcut, y, survival_probability, name), _n(name, "out"))


def preact_basic_block(x, filters: int, stride: int = 1, projection: bool | None = None,
                       survival_probability: float = 1.0, name: str | None = None):
    """ResNet v2 basic block: BN-ReLU-3x3 conv, BN-ReLU-3x3 conv, add; nothing after the add.

    A projection shortcut reads the pre-activated input, an identity one the raw input.

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: filters of both convolutions.
        stride: stride of the block's first strided convolution (and of the shortcut).
        projection: shortcut kind: None (the default) a 1x1 convolution with the stride
            exactly when the shape changes, otherwise the identity; True always a
            projection; False a parameter-free shortcut (subsampled, zero-padded channels).
        survival_probability: probability of keeping the residual branch in training
            (< 1 merges with :class:`StochasticDepth`, 1 with a plain ``Add``).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), filters)``.

    Raises:
        ValueError: if an identity shortcut would have to reduce the channel count, or
            ``survival_probability`` is not in ``(0, 1]``.
    """
    preact = _relu(_bn(x, _n(name, "preact_bn")), _n(name, "preact_relu"))
    project = _projects(x, filters, stride, projection)
    shortcut = _shortcut(preact if project else x, filters, stride, project, name,
                         batch_norm=False)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                      name=_n(name, "1_conv"))(preact)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(filters, 3, padding="same", name=_n(name, "2_conv"))(y)
    return _merge(shortcut, y, survival_probability, name)


def preact_bottleneck_block(x, filters: int, stride: int = 1, projection: bool | None = None,
                            survival_probability: float = 1.0, name: str | None = None):
    """ResNet v2 bottleneck (Keras' layout): BN-ReLU, 1x1 -> 3x3 (stride) -> 1x1, add.

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: the bottleneck width; the block outputs ``4 * filters`` channels.
        stride: stride of the 3x3 convolution (and of the shortcut).
        projection: shortcut kind: None (the default) a 1x1 convolution with the stride
            exactly when the shape changes, otherwise the identity; True always a
            projection; False a parameter-free shortcut (subsampled, zero-padded channels).
        survival_probability: probability of keeping the residual branch in training
            (< 1 merges with :class:`StochasticDepth`, 1 with a plain ``Add``).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), 4 * filters)``.

    Raises:
        ValueError: if an identity shortcut would have to reduce the channel count, or
            ``survival_probability`` is not in ``(0, 1]``.
    """
    out = 4 * filters
    preact = _relu(_bn(x, _n(name, "preact_bn")), _n(name, "preact_relu"))
    project = _projects(x, out, stride, projection)
    shortcut = _shortcut(preact if project else x, out, stride, project, name, batch_norm=False)
    y = layers.Conv2D(filters, 1, use_bias=False, name=_n(name, "1_conv"))(preact)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False,
                      name=_n(name, "2_conv"))(y)
    y = _relu(_bn(y, _n(name, "2_bn")), _n(name, "2_relu"))
    y = layers.Conv2D(out, 1, name=_n(name, "3_conv"))(y)
    return _merge(shortcut, y, survival_probability, name)


def resnext_block(x, filters: int, cardinality: int = 32, bottleneck_width: int = 4,
                  stride: int = 1, projection: bool | None = None,
                  survival_probability: float = 1.0, name: str | None = None):
    """ResNeXt block: 1x1, grouped 3x3 (``groups=cardinality``, the stride), 1x1; no conv biases.

    The first 1x1 goes to ``cardinality * bottleneck_width`` channels, the last to
    ``4 * filters``.

    Args:
        x: the input tensor, ``(b, h, w, c)``.
        filters: a quarter of the block's output channels.
        cardinality: the number of groups of the 3x3 convolution.
        bottleneck_width: channels per group.
        stride: stride of the grouped 3x3 convolution (and of the shortcut).
        projection: shortcut kind: None (the default) a 1x1 convolution with the stride
            exactly when the shape changes, otherwise the identity; True always a
            projection; False a parameter-free shortcut (subsampled, zero-padded channels).
        survival_probability: probability of keeping the residual branch in training
            (< 1 merges with :class:`StochasticDepth`, 1 with a plain ``Add``).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(b, ceil(h/stride), ceil(w/stride), 4 * filters)``.

    Raises:
        ValueError: if an identity shortcut would have to reduce the channel count, or
            ``survival_probability`` is not in ``(0, 1]``.
    """
    out, inner = 4 * filters, cardinality * bottleneck_width
    project = _projects(x, out, stride, projection)
    shortcut = _shortcut(x, out, stride, project, name, use_bias=False)
    y = layers.Conv2D(inner, 1, use_bias=False, name=_n(name, "1_conv"))(x)
    y = _relu(_bn(y, _n(name, "1_bn")), _n(name, "1_relu"))
    y = layers.Conv2D(inner, 3, strides=stride, padding="same", groups=cardinality,
                      use_bias=False, name=_n(name, "2_conv"))(y)
    y = _relu(_bn(y, _n(name, "2_bn")), _n(name, "2_relu"))
    y = layers.Conv2D(out, 1, use_bias=False, name=_n(name, "3_conv"))(y)
    y = _bn(y, _n(name, "3_bn"))
    return _relu(_merge(shortcut, y, survival_probability, name), _n(name, "out"))


def _stem(x, filters: int, small_input: bool, use_bias: bool = True, batch_norm: bool = True):
    """7x7/2 conv [-BN-ReLU], 3x3/2 max pool (224 -> 56); or one 3x3/1 conv (28 -> 28)."""
    if small_input:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias, name="conv1_conv")(x)
    else:
        x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = layers.Conv2D(filters, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if batch_norm:
        x = _relu(_bn(x, "conv1_bn"), "conv1_relu")
    if not small_input:
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    return x


def _head(inputs, x, num_classes: int, classifier_activation, name: str) -> keras.Model:
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(inputs, x, name=name)


def _layout(depth: int) -> tuple[str, tuple[int, ...]]:
    if depth not in LAYOUTS:
        raise ValueError(f"depth must be one of {sorted(LAYOUTS)}, got {depth}")
    return LAYOUTS[depth]


def build_resnet(depth: int = 50, input_shape: tuple[int, int, int] = (224, 224, 3),
                 num_classes: int = 1000, *, small_input: bool = False, width: float = 1.0,
                 stochastic_depth: float = 0.0,
                 classifier_activation: str | Callable | None = "softmax") -> keras.Model:
    """ResNet v1-``depth`` (18, 34: basic blocks; 50, 101, 152: bottlenecks), He et al. 2015.

    Stages of 64/128/256/512 (x ``width``) filters, stride 2 in the first block of stages
    2-4.  With defaults, 50/101/152 equal ``keras.applications.ResNet50/101/152(weights=None)``
    in parameters.

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the output layer.
        small_input: replace the 7x7/2 stem and its max pool by one 3x3/1 convolution, for
            28x28 or 32x32 images.
        width: multiplier of every channel count.
        stochastic_depth: ``d`` in ``[0, 1)``; block ``l`` of ``L`` survives with
            probability ``1 - (l / L) * d`` (0: no stochastic depth).
        classifier_activation: the output layer's activation (None: logits).

    Returns:
        A functional ``keras.Model`` named ``resnet<depth>``,
        ``(b, *input_shape) -> (b, num_classes)``.

    Raises:
        ValueError: if ``depth`` is not one of the layouts or ``stochastic_depth`` is not in
            ``[0, 1)``.
    """
    kind, blocks = _layout(depth)
    block = basic_block if kind == "basic" else bottleneck_block
    inputs = keras.Input(input_shape)
    x = _stem(inputs, _scaled(64, width), small_input)
    survival = iter(_survival(sum(blocks), stochastic_depth))
    for stage, (count, filters) in enumerate(zip(blocks, STAGE_FILTERS, strict=True)):
        for i in range(count):
            x = block(x, _scaled(filters, width), stride=2 if stage and i == 0 else 1,
                      survival_probability=next(survival), name=f"conv{stage + 2}_block{i + 1}")
    return _head(inputs, x, num_classes, classifier_activation, f"resnet{depth}")


def build_resnet_v2(depth: int = 50, input_shape: tuple[int, int, int] = (224, 224, 3),
                    num_classes: int = 1000, *, small_input: bool = False, width: float = 1.0,
                    stochastic_depth: float = 0.0,
                    classifier_activation: str | Callable | None = "softmax") -> keras.Model:
    """Pre-activation ResNet-``depth`` (He et al. 2016) in Keras' ResNetV2 layout.

    The stem has no BN (the first block pre-activates), stages 1-3 subsample in their last
    block through a max-pooled identity, BN-ReLU follow the last stage.  With defaults,
    depth 50 equals ``keras.applications.ResNet50V2(weights=None)`` in parameters (101 and
    152 the same layout as ResNet101V2/152V2).

    Args:
        depth: 18, 34, 50, 101 or 152.
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the output layer.
        small_input: replace the 7x7/2 stem and its max pool by one 3x3/1 convolution, for
            28x28 or 32x32 images.
        width: multiplier of every channel count.
        stochastic_depth: ``d`` in ``[0, 1)``; block ``l`` of ``L`` survives with
            probability ``1 - (l / L) * d`` (0: no stochastic depth).
        classifier_activation: the output layer's activation (None: logits).

    Returns:
        A functional ``keras.Model`` named ``resnet<depth>v2``,
        ``(b, *input_shape) -> (b, num_classes)``.

    Raises:
        ValueError: if ``depth`` is not one of the layouts or ``stochastic_depth`` is not in
            ``[0, 1)``.
    """
    kind, blocks = _layout(depth)
    block = preact_basic_block if kind == "basic" else preact_bottleneck_block
    inputs = keras.Input(input_shape)
    x = _stem(inputs, _scaled(64, width), small_input, batch_norm=False)
    survival = iter(_survival(sum(blocks), stochastic_depth))
    for stage, (count, filters) in enumerate(zip(blocks, STAGE_FILTERS, strict=True)):
        for i in range(count):
            last = i == count - 1 and stage < len(blocks) - 1
            x = block(x, _scaled(filters, width), stride=2 if last else 1,
                      projection=False if last else None,
                      survival_probability=next(survival), name=f"conv{stage + 2}_block{i + 1}")
    x = _relu(_bn(x, "post_bn"), "post_relu")
    return _head(inputs, x, num_classes, classifier_activation, f"resnet{depth}v2")


def build_resnext(depth: int = 50, cardinality: int = 32, bottleneck_width: int = 4,
                  input_shape: tuple[int, int, int] = (224, 224, 3), num_classes: int = 1000,
                  *, small_input: bool = False, width: float = 1.0,
                  stochastic_depth: float = 0.0,
                  classifier_activation: str | Callable | None = "softmax") -> keras.Model:
    """ResNeXt-``depth`` (``cardinality`` x ``bottleneck_width``d), Xie et al. 2017 table 1.

    ResNet-50/101/152's layout with :func:`resnext_block`; the group width doubles with
    every stage (``d, 2d, 4d, 8d``: 32x4d has 128/256/512/1024 inner channels and
    256/512/1024/2048 outputs).  No conv biases.

    Args:
        depth: 50, 101 or 152.
        cardinality: groups of every grouped convolution.
        bottleneck_width: ``d``, channels per group in the first stage.
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the output layer.
        small_input: replace the 7x7/2 stem and its max pool by one 3x3/1 convolution, for
            28x28 or 32x32 images.
        width: multiplier of every channel count.
        stochastic_depth: ``d`` in ``[0, 1)``; block ``l`` of ``L`` survives with
            probability ``1 - (l / L) * d`` (0: no stochastic depth).
        classifier_activation: the output layer's activation (None: logits).

    Returns:
        A functional ``keras.Model``, ``(b, *input_shape) -> (b, num_classes)``.

    Raises:
        ValueError: if ``depth`` is not 50, 101 or 152, or ``stochastic_depth`` is not in
            ``[0, 1)``.
    """
    kind, blocks = _layout(depth)
    if kind != "bottleneck":
        raise ValueError(f"ResNeXt depth must be 50, 101 or 152, got {depth}")
    inputs = keras.Input(input_shape)
    x = _stem(inputs, _scaled(64, width), small_input, use_bias=False)
    survival = iter(_survival(sum(blocks), stochastic_depth))
    for stage, (count, filters) in enumerate(zip(blocks, STAGE_FILTERS, strict=True)):
        group_width = _scaled(bottleneck_width * 2**stage, width)
        for i in range(count):
            x = resnext_block(x, _scaled(filters, width), cardinality, group_width,
                              stride=2 if stage and i == 0 else 1,
                              survival_probability=next(survival),
                              name=f"conv{stage + 2}_block{i + 1}")
    name = f"resnext{depth}_{cardinality}x{bottleneck_width}d"
    return _head(inputs, x, num_classes, classifier_activation, name)


def build_cifar_resnet(depth: int = 20, input_shape: tuple[int, int, int] = (28, 28, 1),
                       num_classes: int = 10, width: int = 16, residual: bool = True,
                       *, stochastic_depth: float = 0.0,
                       classifier_activation: str | Callable | None = "softmax") -> keras.Model:
    """He et al.'s CIFAR network with ``depth = 6n + 2`` weighted layers (20, 32, 44, 56, 110).

    3x3 conv (``width`` filters), three stages of ``n`` basic blocks with ``width``,
    ``2 * width``, ``4 * width`` filters (stride 2 at stages 2 and 3), global average pool,
    dense.  Shortcuts are parameter-free (option A), so ``residual=False``, the *plain*
    network of the degradation experiment, has exactly the same layers and parameters
    minus the additions.

    Args:
        depth: ``6n + 2`` with ``n >= 1``.
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the output layer.
        width: filters of the first stage.
        residual: with shortcuts (ResNet) or without (the plain network).
        stochastic_depth: ``d`` in ``[0, 1)``; block ``l`` of ``L`` survives with
            probability ``1 - (l / L) * d`` (needs ``residual=True``).
        classifier_activation: the output layer's activation (None: logits).

    Returns:
        A functional ``keras.Model`` named ``cifar_resnet<depth>`` or ``cifar_plain<depth>``,
        ``(b, *input_shape) -> (b, num_classes)``.

    Raises:
        ValueError: if ``depth`` is not ``6n + 2``, ``stochastic_depth`` is not in
            ``[0, 1)``, or ``stochastic_depth > 0`` with ``residual=False``.
    """
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got {depth}")
    if not residual and stochastic_depth:
        raise ValueError("stochastic depth drops residual branches: it needs residual=True")
    n = (depth - 2) // 6
    inputs = keras.Input(input_shape)
    x = _stem(inputs, width, small_input=True)
    survival = iter(_survival(3 * n, stochastic_depth))
    for stage in range(3):
        for i in range(n):
            stride, name = (2 if stage and i == 0 else 1), f"conv{stage + 2}_block{i + 1}"
            if residual:
                x = basic_block(x, width * 2**stage, stride, projection=False,
                                survival_probability=next(survival), name=name)
            else:
                x = plain_block(x, width * 2**stage, stride, name=name)
    kind = "resnet" if residual else "plain"
    return _head(inputs, x, num_classes, classifier_activation, f"cifar_{kind}{depth}")
