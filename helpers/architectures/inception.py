"""Inception family: GoogLeNet (v1), the v2/v3 factorisations, InceptionV3, v4 blocks.

* Szegedy et al. 2014, "Going deeper with convolutions": the Inception module (naive and with
  1x1 bottlenecks) and GoogLeNet with its two auxiliary classifiers.
* Szegedy et al. 2015, "Rethinking the Inception architecture": 5x5 as two 3x3, n x n as
  1 x n + n x 1, the expanded 8x8 block, grid reduction; InceptionV3 exactly as
  ``keras.applications.InceptionV3`` builds it (same layers, same 23,851,784 parameters).
* Szegedy et al. 2016, "Inception-v4, Inception-ResNet": the Inception-A block and the
  Inception-ResNet-A/B/C residual blocks (blocks only, no whole v4 network).

Shapes are channels-last ``(H, W, C)`` without the batch axis.  Multiply-adds come from
:func:`helpers.arithmetic.layer_table.layer_table`; on a 28x28x256 input the naive module
(128, 192, 96)
gives 28x28x672 and 854,196,224 MACs, the bottleneck module (128, 64->192, 64->96, pool->64)
28x28x480 and 271,351,808 MACs.
"""

from __future__ import annotations

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run

layers = keras.layers
Tensor = keras.KerasTensor
Kernel = int | tuple[int, int]

# Table 1 of Szegedy et al. 2014: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
GOOGLENET_MODULES: dict[str, tuple[int, int, int, int, int, int]] = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(
    x: Tensor,
    filters: int,
    kernel: Kernel,
    name: str,
    strides: int = 1,
    padding: str = "same",
    batch_norm: bool = True,
    activation: str | None = "relu",
) -> Tensor:
    """Conv2D + ReLU (``batch_norm=False``, GoogLeNet) or, as Keras' InceptionV3 does,
    Conv2D without bias + BatchNormalization(scale=False) + ReLU."""
    x = layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=not batch_norm, name=name
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(scale=False, name=f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def _scaled(filters: int, width: float) -> int:
    return max(1, round(filters * width))


# ---------------------------------------------------------------- GoogLeNet / Inception v1
def inception_naive_module(x: Tensor, f1: int, f3: int, f5: int, name: str) -> Tensor:
    """Naive Inception module: 1x1, 3x3 and 5x5 convolutions and a 3x3/1 max pool side by side.

    The convolutions are ``'same'`` with ReLU; the four branches are concatenated:
    (H, W, C) -> (H, W, f1 + f3 + f5 + C).  The pool keeps all C channels, so the depth can
    only grow from module to module.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f1: filters of the 1x1 branch.
        f3: filters of the 3x3 branch.
        f5: filters of the 5x5 branch.
        name: the prefix of the layer names; also the name of the Concatenate.

    Returns:
        The output tensor, ``(batch, H, W, f1 + f3 + f5 + C)``.
    """
    b1 = _conv(x, f1, 1, f"{name}_1x1", batch_norm=False)
    b3 = _conv(x, f3, 3, f"{name}_3x3", batch_norm=False)
    b5 = _conv(x, f5, 5, f"{name}_5x5", batch_norm=False)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    return layers.Concatenate(name=name)([b1, b3, b5, pool])


def inception_module(
    x: Tensor,
    f1: int,
    f3_reduce: int,
    f3: int,
    f5_reduce: int,
    f5: int,
    pool_proj: int,
    name: str,
    batch_norm: bool = False,
) -> Tensor:
    """Inception module with 1x1 bottlenecks (GoogLeNet, figure 2b).

    Branches 1x1 | 1x1 reduce -> 3x3 | 1x1 reduce -> 5x5 | 3x3/1 max pool -> 1x1
    projection, concatenated: (H, W, C) -> (H, W, f1 + f3 + f5 + pool_proj).  Two weight
    layers deep.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f1: filters of the 1x1 branch.
        f3_reduce: filters of the 1x1 reduction before the 3x3.
        f3: filters of the 3x3 convolution.
        f5_reduce: filters of the 1x1 reduction before the 5x5.
        f5: filters of the 5x5 convolution.
        pool_proj: filters of the 1x1 projection after the max pool.
        name: the prefix of the layer names; also the name of the Concatenate.
        batch_norm: convolutions without bias followed by BatchNormalization(scale=False)
            (as in BN-Inception) instead of convolutions with bias.

    Returns:
        The output tensor, ``(batch, H, W, f1 + f3 + f5 + pool_proj)``.
    """
    conv = {"batch_norm": batch_norm}
    b1 = _conv(x, f1, 1, f"{name}_1x1", **conv)
    b3 = _conv(x, f3_reduce, 1, f"{name}_3x3_reduce", **conv)
    b3 = _conv(b3, f3, 3, f"{name}_3x3", **conv)
    b5 = _conv(x, f5_reduce, 1, f"{name}_5x5_reduce", **conv)
    b5 = _conv(b5, f5, 5, f"{name}_5x5", **conv)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pool, pool_proj, 1, f"{name}_pool_proj", **conv)
    return layers.Concatenate(name=name)([b1, b3, b5, pool])


def _googlenet_aux_head(x: Tensor, num_classes: int, width: float, name: str) -> Tensor:
    """Auxiliary classifier: 5x5/3 average pool (14x14 -> 4x4), 1x1 conv 128, FC 1024 + ReLU,
    dropout 0.7, softmax.  Needs a grid of at least 5x5."""
    if x.shape[1] < 5 or x.shape[2] < 5:
        raise ValueError(
            f"the auxiliary classifier {name!r} needs a grid of at least 5x5, got "
            f"{tuple(x.shape[1:3])}: use small_input=True for small images or aux_classifiers=False"
        )
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = _conv(x, _scaled(128, width), 1, f"{name}_conv", batch_norm=False)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(_scaled(1024, width), activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name=name)(x)


def build_googlenet(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    num_classes: int = 1000,
    aux_classifiers: bool = True,
    width: float = 1.0,
    small_input: bool = False,
    batch_norm: bool = False,
) -> keras.Model:
    """GoogLeNet (Inception v1), table 1 of Szegedy et al. 2014.

    224x224x3 -> conv 7x7/2 64 (112x112) -> max pool 3x3/2 (56) -> conv 1x1 64 -> conv 3x3 192
    -> max pool 3x3/2 (28x28x192) -> 3a, 3b (28x28x480) -> max pool (14) -> 4a..4e (14x14x832)
    -> max pool (7) -> 5a, 5b (7x7x1024) -> global average pool -> dropout 0.4 -> softmax.

    Differences from the paper: the two LRN layers are omitted (they add no parameters);
    the 7x7/1 average pool is a global average pool (the same on 224x224, any size
    otherwise).

    Parameters (1000 classes, biases included): 6,998,552 without the auxiliary heads,
    13,378,280 with them (3,188,840 for the head on 4a, 3,190,888 for the one on 4d).
    Main path: 1,582,671,872 conv/FC multiply-adds per 224x224 image (the paper: 1.5
    billion); :func:`weight_layer_depth` of the main output is 22, the paper's layer count.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax outputs.
        aux_classifiers: add the auxiliary heads on 4a and 4d: the model has three outputs
            ``[main, aux_4a, aux_4d]`` (the paper weights their losses 0.3).
        width: multiplier of every filter count (aux FC included).
        small_input: replace the stem by conv 3x3/1 64 -> 1x1 64 -> 3x3 192 without
            pooling, so a 28x28 image meets 3a at 28x28 as a 224x224 one does.
        batch_norm: add BatchNormalization (as in BN-Inception) and drop the conv biases.

    Returns:
        A functional ``keras.Model`` named ``googlenet``,
        ``(batch, H, W, C) -> (batch, num_classes)`` (a list of three such outputs with
        ``aux_classifiers``).

    Raises:
        ValueError: if an auxiliary head gets a grid smaller than 5x5 (use
            ``small_input=True`` for small images or ``aux_classifiers=False``).
    """
    inputs = keras.Input(input_shape)
    conv = {"batch_norm": batch_norm}
    if small_input:
        x = _conv(inputs, _scaled(64, width), 3, "conv1", **conv)
    else:
        x = _conv(inputs, _scaled(64, width), 7, "conv1", strides=2, **conv)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)
    x = _conv(x, _scaled(64, width), 1, "conv2_reduce", **conv)
    x = _conv(x, _scaled(192, width), 3, "conv2", **conv)
    if not small_input:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)
    aux = []
    for stage, filters in GOOGLENET_MODULES.items():
        if stage in ("4a", "5a"):
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{stage[0]}")(x)
        if aux_classifiers and stage in ("4b", "4e"):  # the heads read the outputs of 4a, 4d
            aux.append(_googlenet_aux_head(x, num_classes, width, f"aux_{len(aux) + 1}"))
        scaled = [_scaled(f, width) for f in filters]
        x = inception_module(x, *scaled, name=f"inception_{stage}", **conv)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.4, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, [outputs, *aux] if aux else outputs, name="googlenet")


def weight_layer_depth(model: keras.Model, output_index: int = 0) -> int:
    """The most Conv2D/Dense layers on any path from the input to output ``output_index``.

    Parallel branches count once, pooling/BN/activations not at all.  This is how the
    GoogLeNet paper counts its 22 layers (3 in the stem, 2 per Inception module, the FC).
    Assumes each layer is called once (true for every builder here).

    Args:
        model: a functional Keras model.
        output_index: which of ``model.outputs`` to measure.

    Returns:
        The depth in weight layers, an ``int``.
    """
    depth: dict[int, int] = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            depth[id(layer.output)] = 0
            continue
        inputs = keras.tree.flatten(layer.input)
        weighted = isinstance(layer, layers.Conv2D | layers.Dense)
        depth[id(layer.output)] = max(depth[id(t)] for t in inputs) + int(weighted)
    return depth[id(model.outputs[output_index])]


# ---------------------------------------------------------------- Inception v2 / v3 blocks
def inception_factorised_5x5_block(
    x: Tensor,
    f1: int,
    fmid_reduce: int,
    fmid: int,
    fdbl_reduce: int,
    fdbl: int,
    pool_proj: int,
    name: str,
    mid_kernel: int = 5,
) -> Tensor:
    """35x35 block (figure 5 of Szegedy et al. 2015): a 5x5 receptive field as two 3x3 convs.

    Two stacked 3x3 convolutions use 18 instead of 25 weights per channel pair.  Branches:
    1x1 | 1x1 -> ``mid_kernel`` | 1x1 -> 3x3 -> 3x3 | 3x3/1 average pool -> 1x1,
    concatenated.  The paper's figure has ``mid_kernel=3``; Keras' InceptionV3 (mixed0..2)
    and its weights keep a 5x5 there.  Every conv is conv (no bias) + BN + ReLU.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f1: filters of the 1x1 branch.
        fmid_reduce: filters of the 1x1 before the ``mid_kernel`` convolution.
        fmid: filters of the ``mid_kernel`` convolution.
        fdbl_reduce: filters of the 1x1 before the two 3x3 convolutions.
        fdbl: filters of the two 3x3 convolutions.
        pool_proj: filters of the 1x1 after the average pool.
        name: the prefix of the layer names; also the name of the Concatenate.
        mid_kernel: kernel side of the middle branch (pixels).

    Returns:
        The output tensor, ``(batch, H, W, f1 + fmid + fdbl + pool_proj)``.
    """
    b1 = _conv(x, f1, 1, f"{name}_1x1")
    bm = _conv(x, fmid_reduce, 1, f"{name}_{mid_kernel}x{mid_kernel}_reduce")
    bm = _conv(bm, fmid, mid_kernel, f"{name}_{mid_kernel}x{mid_kernel}")
    bd = _conv(x, fdbl_reduce, 1, f"{name}_3x3dbl_reduce")
    bd = _conv(bd, fdbl, 3, f"{name}_3x3dbl_1")
    bd = _conv(bd, fdbl, 3, f"{name}_3x3dbl_2")
    pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pool, pool_proj, 1, f"{name}_pool_proj")
    return layers.Concatenate(name=name)([b1, bm, bd, pool])


def inception_asymmetric_block(x: Tensor, f_out: int, f_mid: int, name: str, n: int = 7) -> Tensor:
    """17x17 block (figure 6): every n x n convolution as 1 x n followed by n x 1.

    That takes 2n instead of n^2 weights per channel pair: 14 vs 49 for n=7, 6 vs 9 for
    n=3.  Branches: 1x1 | 1x1 -> 1xn -> nx1 | 1x1 -> nx1 -> 1xn -> nx1 -> 1xn | 3x3/1
    average pool -> 1x1; every branch ends with ``f_out`` channels.  Keras' mixed4..7 use
    f_out=192 and f_mid=128, 160, 160, 192.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f_out: output filters of every branch.
        f_mid: filters of the 1x1 reductions and inner convolutions of the two factorised
            branches.
        name: the prefix of the layer names; also the name of the Concatenate.
        n: the side of the factorised kernel.

    Returns:
        The output tensor, ``(batch, H, W, 4 * f_out)``.
    """
    b1 = _conv(x, f_out, 1, f"{name}_1x1")
    b7 = _conv(x, f_mid, 1, f"{name}_{n}x{n}_reduce")
    b7 = _conv(b7, f_mid, (1, n), f"{name}_1x{n}")
    b7 = _conv(b7, f_out, (n, 1), f"{name}_{n}x1")
    bd = _conv(x, f_mid, 1, f"{name}_{n}x{n}dbl_reduce")
    for i, (kernel, filters) in enumerate([((n, 1), f_mid), ((1, n), f_mid), ((n, 1), f_mid)]):
        bd = _conv(bd, filters, kernel, f"{name}_{n}x{n}dbl_{i + 1}")
    bd = _conv(bd, f_out, (1, n), f"{name}_{n}x{n}dbl_4")
    pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pool, f_out, 1, f"{name}_pool_proj")
    return layers.Concatenate(name=name)([b1, b7, bd, pool])


def inception_expanded_block(
    x: Tensor, f1: int, f3: int, fdbl_reduce: int, fdbl: int, pool_proj: int, name: str
) -> Tensor:
    """8x8 block with expanded filter banks (figure 7).

    The last 3x3 of two branches is split into a 1x3 and a 3x1 side by side, both kept.
    Branches: 1x1 | 1x1 -> [1x3, 3x1] | 1x1 -> 3x3 -> [1x3, 3x1] | 3x3/1 average pool ->
    1x1 (8x8x2048 in InceptionV3).

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f1: filters of the 1x1 branch.
        f3: filters of the 1x1 and of each of the 1x3 and 3x1 of the second branch.
        fdbl_reduce: filters of the 1x1 of the third branch.
        fdbl: filters of the 3x3 and of each of the 1x3 and 3x1 of the third branch.
        pool_proj: filters of the 1x1 after the average pool.
        name: the prefix of the layer names; also the name of the Concatenate.

    Returns:
        The output tensor, ``(batch, H, W, f1 + 2 f3 + 2 fdbl + pool_proj)``.
    """
    b1 = _conv(x, f1, 1, f"{name}_1x1")
    b3 = _conv(x, f3, 1, f"{name}_3x3_reduce")
    b3 = layers.Concatenate(name=f"{name}_3x3")(
        [_conv(b3, f3, (1, 3), f"{name}_1x3"), _conv(b3, f3, (3, 1), f"{name}_3x1")]
    )
    bd = _conv(x, fdbl_reduce, 1, f"{name}_3x3dbl_reduce")
    bd = _conv(bd, fdbl, 3, f"{name}_3x3dbl_1")
    bd = layers.Concatenate(name=f"{name}_3x3dbl")(
        [_conv(bd, fdbl, (1, 3), f"{name}_dbl_1x3"), _conv(bd, fdbl, (3, 1), f"{name}_dbl_3x1")]
    )
    pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pool, pool_proj, 1, f"{name}_pool_proj")
    return layers.Concatenate(name=name)([b1, b3, bd, pool])


def grid_reduction_block(
    x: Tensor, f3: int, fdbl_reduce: int, fdbl: int, name: str, f3_reduce: int = 0, n: int = 0
) -> Tensor:
    """Grid reduction (figure 10): stride-2 convolutions in parallel with a stride-2 max pool.

    The grid halves without a representational bottleneck.  Branches:
    [1x1 f3_reduce ->] 3x3/2 f3 | 1x1 -> (3x3, or 1xn -> nx1 when n) -> 3x3/2 fdbl |
    3x3/2 max pool, all 'valid'; 35x35x288 -> 17x17x768 (mixed3) and 17x17x768 -> 8x8x1280
    (mixed8) in InceptionV3.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        f3: filters of the 3x3/2 convolution of the first branch.
        fdbl_reduce: filters of the 1x1 of the second branch.
        fdbl: filters of the second branch's middle (3x3, or 1xn and nx1) and last 3x3/2
            convolutions.
        name: the prefix of the layer names; also the name of the Concatenate.
        f3_reduce: filters of an optional 1x1 before the first branch's 3x3/2 (0: none).
        n: when nonzero, the second branch's middle 3x3 becomes 1xn -> nx1.

    Returns:
        The output tensor, ``(batch, (H-3)//2+1, (W-3)//2+1, f3 + fdbl + C)``.
    """
    b3 = _conv(x, f3_reduce, 1, f"{name}_3x3_reduce") if f3_reduce else x
    b3 = _conv(b3, f3, 3, f"{name}_3x3", strides=2, padding="valid")
    bd = _conv(x, fdbl_reduce, 1, f"{name}_dbl_reduce")
    if n:
        bd = _conv(bd, fdbl, (1, n), f"{name}_dbl_1x{n}")
        bd = _conv(bd, fdbl, (n, 1), f"{name}_dbl_{n}x1")
    else:
        bd = _conv(bd, fdbl, 3, f"{name}_dbl_3x3")
    bd = _conv(bd, fdbl, 3, f"{name}_dbl_3x3_s2", strides=2, padding="valid")
    pool = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    return layers.Concatenate(name=name)([b3, bd, pool])


def build_inception_v3(
    input_shape: tuple[int, int, int] = (299, 299, 3),
    num_classes: int = 1000,
    width: float = 1.0,
    small_input: bool = False,
) -> keras.Model:
    """InceptionV3 as ``keras.applications.InceptionV3(weights=None)`` builds it.

    23,851,784 parameters with 1000 classes (21,802,784 + 2,049,000 in the classifier),
    5,713,216,096 conv/FC multiply-adds per 299x299 image; every conv has no bias and is
    followed by BatchNormalization(scale=False) + ReLU.

    299x299x3 -> stem (3x3/2 32, 3x3 32, 3x3 64, max pool 3x3/2, 1x1 80, 3x3 192, max pool
    3x3/2) -> 35x35x192 -> 3 factorised 5x5 blocks (35x35x288) -> grid reduction
    (17x17x768) -> 4 asymmetric 7x7 blocks -> grid reduction (8x8x1280) -> 2 expanded blocks
    (8x8x2048) -> global average pool -> softmax.  No auxiliary classifier (Keras has none).

    Args:
        input_shape: ``(H, W, C)`` without the batch axis; the stem needs at least 75x75
            pixels.
        num_classes: units of the softmax output.
        width: multiplier of every filter count.
        small_input: keep the stem's five convs but with stride 1, 'same' padding and no
            pooling, so a 28x28 image enters the 35x35 blocks at 28x28 (then 13x13 and
            6x6).

    Returns:
        A functional ``keras.Model`` named ``inception_v3``,
        ``(batch, H, W, C) -> (batch, num_classes)``.

    Raises:
        ValueError: if ``small_input`` is False and the input is smaller than 75x75 pixels.
    """
    if not small_input and min(input_shape[:2]) < 75:
        raise ValueError(
            f"InceptionV3's stem needs at least 75x75 pixels, got {input_shape[:2]}; "
            f"pass small_input=True for small images such as (28, 28, 1)"
        )

    def w(filters: int) -> int:
        return _scaled(filters, width)

    inputs = keras.Input(input_shape)
    strides, pad = (1, "same") if small_input else (2, "valid")
    x = _conv(inputs, w(32), 3, "stem_conv1", strides=strides, padding=pad)
    x = _conv(x, w(32), 3, "stem_conv2", padding=pad)
    x = _conv(x, w(64), 3, "stem_conv3")
    if not small_input:
        x = layers.MaxPooling2D(3, strides=2, name="stem_pool1")(x)
    x = _conv(x, w(80), 1, "stem_conv4", padding=pad)
    x = _conv(x, w(192), 3, "stem_conv5", padding=pad)
    if not small_input:
        x = layers.MaxPooling2D(3, strides=2, name="stem_pool2")(x)
    for i, pool_proj in enumerate((32, 64, 64)):
        filters = [w(f) for f in (64, 48, 64, 64, 96, pool_proj)]
        x = inception_factorised_5x5_block(x, *filters, name=f"mixed{i}")
    x = grid_reduction_block(x, w(384), w(64), w(96), name="mixed3")
    for i, f_mid in enumerate((128, 160, 160, 192)):
        x = inception_asymmetric_block(x, w(192), w(f_mid), name=f"mixed{4 + i}")
    x = grid_reduction_block(x, w(320), w(192), w(192), "mixed8", f3_reduce=w(192), n=7)
    for i in range(2):
        filters = [w(f) for f in (320, 384, 448, 384, 192)]
        x = inception_expanded_block(x, *filters, name=f"mixed{9 + i}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="inception_v3")


# ---------------------------------------------------------------- Inception-v4 blocks
def inception_v4_block_a(x: Tensor, name: str) -> Tensor:
    """Inception-A block of Inception-v4 (Szegedy et al. 2016, figure 4), conv + BN + ReLU.

    Branches 3x3/1 average pool -> 1x1 96 | 1x1 96 | 1x1 64 -> 3x3 96 | 1x1 64 -> 3x3 96 ->
    3x3 96, concatenated; 35x35x384 in, 35x35x384 out in the paper.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        name: the prefix of the layer names; also the name of the Concatenate.

    Returns:
        The output tensor, ``(batch, H, W, 384)``.
    """
    pool = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pool, 96, 1, f"{name}_pool_proj")
    b1 = _conv(x, 96, 1, f"{name}_1x1")
    b3 = _conv(_conv(x, 64, 1, f"{name}_3x3_reduce"), 96, 3, f"{name}_3x3")
    bd = _conv(x, 64, 1, f"{name}_3x3dbl_reduce")
    bd = _conv(_conv(bd, 96, 3, f"{name}_3x3dbl_1"), 96, 3, f"{name}_3x3dbl_2")
    return layers.Concatenate(name=name)([pool, b1, b3, bd])


# (1x1 branch, [(kernel, filters), ...] of the second branch, [...] of the third or None)
_RESNET_BLOCKS = {
    "A": (32, [(1, 32), (3, 32)], [(1, 32), (3, 48), (3, 64)]),  # 35x35 grid
    "B": (192, [(1, 128), ((1, 7), 160), ((7, 1), 192)], None),  # 17x17 grid
    "C": (192, [(1, 192), ((1, 3), 224), ((3, 1), 256)], None),  # 8x8 grid
}


def inception_resnet_block(
    x: Tensor, scale: float, block_type: str, name: str, activation: str | None = "relu"
) -> Tensor:
    """Inception-ResNet-A/B/C block with the filter numbers of Inception-ResNet-v2.

    As in ``keras.applications.InceptionResNetV2``:
    ``activation(x + scale * proj(branches(x)))``.  The Inception branches (conv + BN + ReLU)
    are concatenated and brought back to the input's C channels by a linear 1x1 convolution
    with bias (no BN, no ReLU), named ``{name}_proj``; the paper scales this residual by
    0.1-0.3 before the addition to keep training stable.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        scale: the factor of the residual before the addition.
        block_type: ``"A"`` (35x35 grid), ``"B"`` (17x17) or ``"C"`` (8x8).
        name: the prefix of the layer names.
        activation: the activation after the addition (None: linear).

    Returns:
        The output tensor, same shape as ``x``.

    Raises:
        ValueError: if ``block_type`` is not ``"A"``, ``"B"`` or ``"C"``.
    """
    key = block_type.upper()
    if key not in _RESNET_BLOCKS:
        raise ValueError(f"block_type must be 'A', 'B' or 'C', got {block_type!r}")
    f0, second, third = _RESNET_BLOCKS[key]
    branches = [_conv(x, f0, 1, f"{name}_b0_1x1")]
    for b, chain in enumerate([second, third] if third else [second], start=1):
        y = x
        for i, (kernel, filters) in enumerate(chain):
            y = _conv(y, filters, kernel, f"{name}_b{b}_{i}")
        branches.append(y)
    mixed = layers.Concatenate(name=f"{name}_mixed")(branches)
    up = layers.Conv2D(x.shape[-1], 1, name=f"{name}_proj")(mixed)
    up = layers.Rescaling(scale, name=f"{name}_scale")(up)
    x = layers.Add(name=f"{name}_add")([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x
