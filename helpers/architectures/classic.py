"""Classic CNNs: LeNet-5, AlexNet, ZFNet, VGG (configurations A-E) and Network in Network.

Each ``build_*`` returns a functional ``keras.Model`` ending in a softmax.  The defaults
build the paper's network; full-size parameter counts (1000 classes, measured):

=====================  ===========  =========================================
model                  params       note
=====================  ===========  =========================================
LeNet-5 (32x32x1, 10)  61,706       full C3 connectivity, softmax output
AlexNet (227x227x3)    62,378,344   one tower; ``two_tower=True``: 60,965,224
ZFNet (224x224x3)      107,627,624  CONV3-5 512/1024/512 (Fig. 3's: 62,357,608)
VGG A and A-LRN        132,863,336  the paper's table 2: 133 M
VGG B                  133,047,848  133 M
VGG C                  133,638,952  134 M
VGG D                  138,357,544  138 M, = keras.applications.VGG16
VGG E                  143,667,240  144 M, = keras.applications.VGG19
NiN (32x32x3, 10)      966,986      CIFAR-10 model of Lin et al.
=====================  ===========  =========================================

Small inputs (28x28x1 FashionMNIST): AlexNet, ZFNet and VGG take ``small_input``;
``None`` (the default) switches it on when the input's smaller side is below
:data:`SMALL_INPUT_SIDE` pixels.  The small variant keeps every layer, filter count and
kernel size, but all convolutions get stride 1 and ``"same"`` padding (VGG: its 2x2
pools get ``"same"`` padding, so 28 -> 14 -> 7 -> 4 -> 2 -> 1), the hidden FC layers
default to 512 units instead of 4096, and AlexNet's/ZFNet's pools are unchanged.
``width`` multiplies every convolution's filter count (``width=0.25``: about 1/16 of the
convolutions' multiply-adds, for CPU training).  LeNet-5 and NiN need no such switch:
LeNet pads C1 (``"same"``) for inputs below 32 pixels, which is what LeCun did with
MNIST's 28x28 digits (padded to 32x32); NiN is all ``"same"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf
from keras import layers

from helpers.arithmetic.conv_arithmetic import conv_output_size

SMALL_INPUT_SIDE = 64
"""``small_input=None`` builds the small variant when ``min(H, W)`` is below this."""


@keras.saving.register_keras_serializable(package="cnn_course")
class LocalResponseNormalization(layers.Layer):
    """AlexNet's local response normalisation across channels (Krizhevsky et al. 2012, 3.3).

    For channel ``i`` of ``N`` at each position (channels last)::

        b_i = a_i / (k + alpha * sum_{j=max(0, i-n/2)}^{min(N-1, i+n/2)} a_j**2) ** beta

    with the paper's ``n=5, k=2, alpha=1e-4, beta=0.75`` as defaults (``n`` is ``size``,
    odd).  Mapping to ``tf.nn.local_response_normalization``: ``depth_radius = n // 2``
    (= 2), ``bias = k``, ``alpha = alpha``, ``beta = beta``: TensorFlow, like the paper,
    does *not* divide ``alpha`` by ``n``.  Caffe's LRN layer and PyTorch's
    ``nn.LocalResponseNorm`` do (``alpha / n * sum``), so their ``alpha`` becomes
    ``alpha / n`` here.  Input and output shape ``(batch, H, W, C)``; no weights.
    """

    def __init__(
        self, size: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75, **kwargs
    ):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"size (the paper's n) must be a positive odd integer, got {size}")
        self.size, self.k, self.alpha, self.beta = int(size), float(k), float(alpha), float(beta)

    @property
    def depth_radius(self) -> int:
        """TensorFlow's half-width of the channel window: ``size // 2``."""
        return self.size // 2

    def call(self, inputs):
        return tf.nn.local_response_normalization(
            inputs, depth_radius=self.depth_radius, bias=self.k, alpha=self.alpha, beta=self.beta
        )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(size=self.size, k=self.k, alpha=self.alpha, beta=self.beta)
        return config


def _is_small(input_shape: Sequence[int], small_input: bool | None) -> bool:
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C) without the batch axis, got {input_shape}")
    return min(input_shape[:2]) < SMALL_INPUT_SIDE if small_input is None else small_input


def _scaled(filters: int, width: float) -> int:
    """``filters * width`` rounded, at least 1."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return max(1, round(filters * width))


def _classifier(x, num_classes: int, fc_units: int, dropout: float, names: Sequence[str]):
    """Flatten -> [FC relu -> dropout] x 2 -> FC softmax; ``names`` of the three FC layers."""
    x = layers.Flatten(name="flatten")(x)
    for name in names[:2]:
        x = layers.Dense(fc_units, activation="relu", name=name)(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name=names[2])(x)


def build_lenet5(
    input_shape: tuple[int, int, int] = (32, 32, 1),
    num_classes: int = 10,
    c1_padding: str | None = None,
) -> keras.Model:
    """LeNet-5 (LeCun et al. 1998) as usually built: (H, W, C) -> (num_classes,).

    C1 6@5x5 -> S2 avg pool 2 -> C3 16@5x5 -> S4 avg pool 2 -> C5 120@5x5 -> F6 84 -> output,
    tanh; on 32x32x1: 28x28x6, 14x14x6, 10x10x16, 5x5x16, 1x1x120, 84, 10.  Simplified:
    C3 sees all 6 S2 maps (the paper: 10 of 15 combinations, 1,516 instead of 2,416
    params), S2/S4 are plain averages (the paper: trainable coefficient and bias, then a
    sigmoid), tanh instead of 1.7159 tanh(2a/3), softmax instead of the RBF output.
    61,706 parameters whatever the input (C5 must see a 5x5 map).

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax output.
        c1_padding: C1's padding; ``None`` picks ``"valid"`` for inputs of at least 32
            pixels and ``"same"`` below, which on 28x28 equals the paper's padding of MNIST
            digits to 32x32.

    Returns:
        A functional ``keras.Model`` named ``lenet5``,
        ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    if c1_padding is None:
        c1_padding = "valid" if min(input_shape[:2]) >= 32 else "same"
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(6, 5, padding=c1_padding, activation="tanh", name="c1")(inputs)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation="tanh", name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Conv2D(120, 5, activation="tanh", name="c5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(84, activation="tanh", name="f6")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="output")(x)
    return keras.Model(inputs, outputs, name="lenet5")


def _check_alexnet_input(input_shape: Sequence[int]) -> None:
    """ValueError unless CONV1 (11x11, stride 4, no padding) tiles both sides exactly."""
    for side in sorted(set(input_shape[:2])):
        try:
            conv_output_size(side, 11, stride=4, exact=True)
        except ValueError as err:
            typo = (
                " The AlexNet paper's figure says 224x224, a typo: a 55x55 CONV1 output needs "
                "(X - 11) / 4 + 1 = 55, i.e. X = 227."
                if side == 224
                else ""
            )
            raise ValueError(
                f"AlexNet's CONV1 (96 11x11 filters, stride 4, no padding) does not fit a "
                f"{side}-pixel side: ({side} - 11) / 4 + 1 = {(side - 11) / 4 + 1:g} is not "
                f"an integer.{typo} Use input_shape=(227, 227, 3), or pass strict=False to let "
                f"Keras drop the last {(side - 11) % 4} row(s)/column(s)."
            ) from err


def build_alexnet(
    input_shape: tuple[int, int, int] = (227, 227, 3),
    num_classes: int = 1000,
    lrn: bool = True,
    dropout: float = 0.5,
    strict: bool = True,
    small_input: bool | None = None,
    fc_units: int | None = None,
    width: float = 1.0,
    two_tower: bool = False,
) -> keras.Model:
    """AlexNet (Krizhevsky et al. 2012) on one device: (H, W, C) -> (num_classes,).

    227x227x3: CONV1 96@11x11/4 55x55x96 -> LRN -> POOL1 3x3/2 27x27x96 -> CONV2 256@5x5
    pad 2 27x27x256 -> LRN -> POOL2 13x13x256 -> CONV3 384@3x3 -> CONV4 384 -> CONV5 256
    13x13 -> POOL5 6x6x256 -> FC6 4096 -> dropout -> FC7 4096 -> dropout -> FC8 softmax;
    ReLU everywhere, LRN after the ReLU and before the overlapping pool as in the paper
    (the seed slides list POOL before NORM; the counts are the same).  62,378,344 params.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax output.
        lrn: add the :class:`LocalResponseNormalization` layers.
        dropout: rate of the dropout after FC6 and FC7 (0: none).
        strict: (full size only) raise when CONV1 does not tile the input exactly, e.g.
            for 224.
        small_input: build the small variant (stride 1, ``"same"`` convolutions, see the
            module docstring); None: when ``min(H, W) <`` :data:`SMALL_INPUT_SIDE`.
        fc_units: units of FC6 and FC7 (default 4096, small 512).
        width: multiplier of every convolution's filter count, ``> 0``.
        two_tower: split CONV2, CONV4, CONV5 into two groups as on the paper's two GPUs
            (``groups=2``): 60,965,224 params, the "60M" of the slides.

    Returns:
        A functional ``keras.Model`` named ``alexnet`` (``alexnet_small``),
        ``(batch, H, W, C) -> (batch, num_classes)``.

    Raises:
        ValueError: if ``input_shape`` is not ``(H, W, C)``, ``width <= 0``, or (``strict``,
            full size) CONV1 (11x11, stride 4, no padding) does not tile a side exactly.
    """
    small = _is_small(input_shape, small_input)
    if strict and not small:
        _check_alexnet_input(input_shape)
    fc_units = fc_units or (512 if small else 4096)
    groups = 2 if two_tower else 1

    def conv(x, filters: int, kernel: int, name: str, stride: int = 1, grouped: bool = False):
        return layers.Conv2D(
            _scaled(filters, width),
            kernel,
            strides=1 if small else stride,
            padding="same" if small or kernel < 11 else "valid",
            groups=groups if grouped else 1,
            activation="relu",
            name=name,
        )(x)

    inputs = keras.Input(shape=input_shape)
    x = conv(inputs, 96, 11, "conv1", stride=4)
    if lrn:
        x = LocalResponseNormalization(name="norm1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = conv(x, 256, 5, "conv2", grouped=True)
    if lrn:
        x = LocalResponseNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = conv(x, 384, 3, "conv3")
    x = conv(x, 384, 3, "conv4", grouped=True)
    x = conv(x, 256, 3, "conv5", grouped=True)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    outputs = _classifier(x, num_classes, fc_units, dropout, ("fc6", "fc7", "fc8"))
    return keras.Model(inputs, outputs, name="alexnet_small" if small else "alexnet")


def build_zfnet(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    conv_filters: Sequence[int] = (96, 256, 512, 1024, 512),
    lrn: bool = True,
    dropout: float = 0.5,
    small_input: bool | None = None,
    fc_units: int | None = None,
    width: float = 1.0,
) -> keras.Model:
    """ZFNet (Zeiler & Fergus 2013): AlexNet with a 7x7/2 CONV1, a 5x5/2 CONV2 and wider CONV3-5.

    Maps (H, W, C) -> (num_classes,).  Sizes follow the paper's Fig. 3 on 224x224x3: CONV1
    (1 pixel of zero padding) 110x110x96 -> POOL1 3x3/2 55x55 -> LRN -> CONV2 26x26x256 ->
    POOL2 13x13 -> LRN -> CONV3-5 13x13 (3x3, pad 1) -> POOL5 3x3/2 6x6 -> FC6 4096 -> FC7
    4096 -> FC8; POOL1/2 round up (Keras ``"same"``), like Caffe.  107,627,624 params with
    the default filters.  The paper's "contrast normalisation" is modelled with AlexNet's
    LRN.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax output.
        conv_filters: filters of CONV1-5; defaults to 512/1024/512 in CONV3-5 (the seed
            slides' numbers, from the paper's variant with bigger layers 3-5; Fig. 3 itself
            draws AlexNet's 384/384/256: pass ``(96, 256, 384, 384, 256)``, 62,357,608
            params).
        lrn: add the :class:`LocalResponseNormalization` layers.
        dropout: rate of the dropout after FC6 and FC7 (0: none).
        small_input: build the small variant (stride 1, ``"same"`` convolutions, see the
            module docstring); None: when ``min(H, W) <`` :data:`SMALL_INPUT_SIDE`.
        fc_units: units of FC6 and FC7 (default 4096, small 512).
        width: multiplier of every convolution's filter count, ``> 0``.

    Returns:
        A functional ``keras.Model`` named ``zfnet`` (``zfnet_small``),
        ``(batch, H, W, C) -> (batch, num_classes)``.

    Raises:
        ValueError: if ``input_shape`` is not ``(H, W, C)`` or ``width <= 0``.
    """
    small = _is_small(input_shape, small_input)
    fc_units = fc_units or (512 if small else 4096)
    f1, f2, f3, f4, f5 = (_scaled(f, width) for f in conv_filters)
    inputs = keras.Input(shape=input_shape)
    if small:
        x = layers.Conv2D(f1, 7, padding="same", activation="relu", name="conv1")(inputs)
    else:
        x = layers.ZeroPadding2D(1, name="conv1_pad")(inputs)
        x = layers.Conv2D(f1, 7, strides=2, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    if lrn:
        x = LocalResponseNormalization(name="norm1")(x)
    stride, padding = (1, "same") if small else (2, "valid")
    x = layers.Conv2D(f2, 5, strides=stride, padding=padding, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    if lrn:
        x = LocalResponseNormalization(name="norm2")(x)
    for i, filters in zip((3, 4, 5), (f3, f4, f5), strict=True):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    outputs = _classifier(x, num_classes, fc_units, dropout, ("fc6", "fc7", "fc8"))
    return keras.Model(inputs, outputs, name="zfnet_small" if small else "zfnet")


# Simonyan & Zisserman (2015), table 1: one string per stage, i.e. per cell of the table
# between two max pools (each stage ends in a 2x2/2 max pool).  "convK-F": KxK convolution
# with F filters, stride 1, "same", ReLU; "LRN": AlexNet's local response normalisation.
# fmt: off
VGG_CONFIGS: dict[str, tuple[str, ...]] = {
    "A": ("conv3-64", "conv3-128", "conv3-256 conv3-256", "conv3-512 conv3-512",
          "conv3-512 conv3-512"),
    "A-LRN": ("conv3-64 LRN", "conv3-128", "conv3-256 conv3-256", "conv3-512 conv3-512",
              "conv3-512 conv3-512"),
    "B": ("conv3-64 conv3-64", "conv3-128 conv3-128", "conv3-256 conv3-256",
          "conv3-512 conv3-512", "conv3-512 conv3-512"),
    "C": ("conv3-64 conv3-64", "conv3-128 conv3-128", "conv3-256 conv3-256 conv1-256",
          "conv3-512 conv3-512 conv1-512", "conv3-512 conv3-512 conv1-512"),
    "D": ("conv3-64 conv3-64", "conv3-128 conv3-128", "conv3-256 conv3-256 conv3-256",
          "conv3-512 conv3-512 conv3-512", "conv3-512 conv3-512 conv3-512"),
    "E": ("conv3-64 conv3-64", "conv3-128 conv3-128",
          "conv3-256 conv3-256 conv3-256 conv3-256",
          "conv3-512 conv3-512 conv3-512 conv3-512",
          "conv3-512 conv3-512 conv3-512 conv3-512"),
}
# fmt: on
_VGG_NAMES = {"A": "vgg11", "A-LRN": "vgg11_lrn", "B": "vgg13", "C": "vgg16_c", "D": "vgg16"}


def vgg_block(
    x,
    filters: int,
    n_convs: int,
    kernel_sizes: Sequence[int] | None = None,
    lrn: bool = False,
    name: str = "block1",
    pool_padding: str = "valid",
):
    """One VGG stage: ``n_convs`` ReLU convolutions, optional LRN, then a 2x2/2 max pool.

    The convolutions have stride 1, ``"same"`` padding and ``filters`` filters: (H, W, C) ->
    (H/2, W/2, filters).  Layers are named as in ``keras.applications``: ``{name}_conv1``,
    ..., ``{name}_pool``.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        filters: filters of every convolution.
        n_convs: the number of convolutions.
        kernel_sizes: one kernel side per convolution (pixels), default all 3.
        lrn: add a :class:`LocalResponseNormalization` after the convolutions.
        name: the prefix of the layer names.
        pool_padding: the max pool's padding (``"same"`` rounds odd sizes up).

    Returns:
        The output tensor, ``(batch, H/2, W/2, filters)``.

    Raises:
        ValueError: if ``kernel_sizes`` does not have ``n_convs`` entries.
    """
    kernel_sizes = tuple(kernel_sizes or (3,) * n_convs)
    if len(kernel_sizes) != n_convs:
        raise ValueError(f"kernel_sizes {kernel_sizes} must have n_convs={n_convs} entries")
    for i, kernel in enumerate(kernel_sizes, start=1):
        x = layers.Conv2D(
            filters, kernel, padding="same", activation="relu", name=f"{name}_conv{i}"
        )(x)
    if lrn:
        x = LocalResponseNormalization(name=f"{name}_lrn")(x)
    return layers.MaxPooling2D(2, strides=2, padding=pool_padding, name=f"{name}_pool")(x)


def _parse_stage(stage: str) -> tuple[int, tuple[int, ...], bool]:
    """``"conv3-256 conv3-256 conv1-256"`` -> ``(256, (3, 3, 1), False)``."""
    convs = [word.removeprefix("conv").split("-") for word in stage.split() if word != "LRN"]
    filters = {int(f) for _, f in convs}
    if len(filters) != 1:
        raise ValueError(f"a VGG stage has one filter count, got {stage!r}")
    return filters.pop(), tuple(int(k) for k, _ in convs), "LRN" in stage.split()


def build_vgg(
    config: str = "D",
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    fc_units: int | None = None,
    dropout: float = 0.5,
    small_input: bool | None = None,
    width: float = 1.0,
) -> keras.Model:
    """VGG configuration ``config`` (table 1 of Simonyan & Zisserman 2015).

    Maps (H, W, C) -> (num_classes,).  Five :func:`vgg_block` stages (224 -> 112 -> 56 ->
    28 -> 14 -> 7, 64..512 filters) -> 7x7x512 -> FC 4096 -> dropout -> FC 4096 -> dropout
    -> FC softmax.  D and E have exactly the layers and parameters of
    ``keras.applications.VGG16``/``VGG19`` (138,357,544 and 143,667,240).

    Args:
        config: ``"A"``, ``"A-LRN"``, ``"B"``, ``"C"``, ``"D"`` or ``"E"``.
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax output.
        fc_units: units of the two hidden FC layers; defaults to 4096 (512 for small
            inputs).
        dropout: rate of the dropout after the hidden FC layers (0: none).
        small_input: build the small variant (stride 1, ``"same"`` convolutions, see the
            module docstring); None: when ``min(H, W) <`` :data:`SMALL_INPUT_SIDE`.
        width: multiplier of every convolution's filter count, ``> 0``.

    Returns:
        A functional ``keras.Model`` named after the configuration (e.g. ``vgg16`` for D;
        ``_small`` appended for the small variant),
        ``(batch, H, W, C) -> (batch, num_classes)``.

    Raises:
        ValueError: if ``config`` is unknown, ``input_shape`` is not ``(H, W, C)`` or
            ``width <= 0``.
    """
    if config not in VGG_CONFIGS:
        raise ValueError(f"unknown VGG config {config!r}; choose one of {list(VGG_CONFIGS)}")
    small = _is_small(input_shape, small_input)
    fc_units = fc_units or (512 if small else 4096)
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for i, stage in enumerate(VGG_CONFIGS[config], start=1):
        filters, kernels, lrn = _parse_stage(stage)
        x = vgg_block(
            x,
            _scaled(filters, width),
            len(kernels),
            kernels,
            lrn=lrn,
            name=f"block{i}",
            pool_padding="same" if small else "valid",
        )
    outputs = _classifier(x, num_classes, fc_units, dropout, ("fc1", "fc2", "predictions"))
    name = _VGG_NAMES.get(config, "vgg19")
    return keras.Model(inputs, outputs, name=f"{name}_small" if small else name)


def mlpconv_block(x, filters: Sequence[int], kernel_size: int, name: str = "mlpconv1"):
    """Network-in-Network "mlpconv": a ``kernel_size`` convolution followed by two 1x1 convolutions.

    The two 1x1 convolutions are a small MLP shared over positions; all ReLU, stride 1,
    ``"same"``: (H, W, C) -> (H, W, filters[2]).

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        filters: three filter counts, of the ``kernel_size`` convolution and the two 1x1
            ones.
        kernel_size: side of the first convolution's kernel (pixels).
        name: the prefix of the layer names (``{name}_conv``, ``{name}_cccp1``, ``{name}_cccp2``).

    Returns:
        The output tensor, ``(batch, H, W, filters[2])``.
    """
    f1, f2, f3 = filters
    x = layers.Conv2D(f1, kernel_size, padding="same", activation="relu", name=f"{name}_conv")(x)
    x = layers.Conv2D(f2, 1, activation="relu", name=f"{name}_cccp1")(x)
    return layers.Conv2D(f3, 1, activation="relu", name=f"{name}_cccp2")(x)


def build_nin(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int = 10,
    dropout: float = 0.5,
) -> keras.Model:
    """Network in Network (Lin, Chen & Yan 2014), CIFAR-10 model: (H, W, C) -> (num_classes,).

    mlpconv 192-160-96 (5x5) -> max pool 3x3/2 -> dropout -> mlpconv 192-192-192 (5x5) ->
    max pool 3x3/2 -> dropout -> mlpconv 192-192-num_classes (3x3) -> global average
    pooling -> softmax; 32 -> 16 -> 8 (28 -> 14 -> 7).  No fully connected layer: the last
    1x1 convolution gives one map per class (ReLU, as in the authors' Caffe model) and
    its average is the class score.  966,986 params for 32x32x3 and 10 classes.  Pools
    round up (``"same"``) as in Caffe; the second pool is a max pool here.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: the number of classes (filters of the last 1x1 convolution).
        dropout: rate of the dropout after the first two pools (0: none).

    Returns:
        A functional ``keras.Model`` named ``nin``,
        ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    inputs = keras.Input(shape=input_shape)
    x = mlpconv_block(inputs, (192, 160, 96), 5, name="mlpconv1")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout1")(x)
    x = mlpconv_block(x, (192, 192, 192), 5, name="mlpconv2")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout2")(x)
    x = mlpconv_block(x, (192, 192, num_classes), 3, name="mlpconv3")
    x = layers.GlobalAveragePooling2D(name="global_avg_pool")(x)
    outputs = layers.Activation("softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="nin")
