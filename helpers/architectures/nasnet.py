"""NASNet cells built from a description (Zoph et al., CVPR 2018, "Learning Transferable
Architectures for Scalable Image Recognition").

The architecture search finds two cells, stacked by hand: a *normal cell* keeps the grid
size, a *reduction cell* halves it.  A cell takes the outputs of the two previous cells,
hidden states ``0`` (``prev``, h_i in the paper's figure 4) and ``1`` (``prev_prev``,
h_{i-1}).  Each of its 5 blocks applies one operation to each of two existing hidden
states and adds the results, creating hidden state ``2 + b`` for block b.  The cell's
output concatenates hidden states along the channels: by default the ones no block uses.

A :class:`CellDescription` is that recipe as data::

    blocks = (((0, "sep5x5"), (1, "sep3x3")), ...)   # per block: (input, op), (input, op)

with the operations of :data:`OPERATIONS`.  :data:`NASNET_A_NORMAL` and
:data:`NASNET_A_REDUCTION` are NASNet-A (figure 4), as implemented by TF-slim and
``keras.applications.NASNetMobile``, whose outputs concatenate hidden states 1-6 (normal)
and 3-6 (reduction) rather than strictly the unused ones.

:func:`build_cell` first brings both inputs to ``filters`` channels (ReLU-1x1 conv-BN) and
``prev_prev`` to the grid of ``prev`` (factorized reduction: two 1x1 stride-2 convolutions,
one shifted by a pixel, concatenated); in a reduction cell the operations applied to hidden
states 0 and 1 have stride 2.  A cell with k output states has ``k * filters`` channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
from keras import layers

OPERATIONS = ("identity", "sep3x3", "sep5x5", "sep7x7", "avg3x3", "max3x3")
Block = tuple[tuple[int, str], tuple[int, str]]


def _name(name: str | None, suffix: str) -> str | None:
    """Layer name ``{name}_{suffix}``, or None (Keras picks a unique name) when name is None."""
    return None if name is None else f"{name}_{suffix}"


def _index(value: object, what: str, n_states: int, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < n_states:
        raise ValueError(f"{what}: hidden state {value!r} does not exist; {allowed}")
    return value


@dataclass(frozen=True)
class CellDescription:
    """The blocks of a cell and the hidden states its output concatenates.

    ``blocks``: per block two ``(input_index, operation)`` pairs, summed; block b (from 0)
    may use hidden states 0 (prev), 1 (prev_prev) and 2 .. b+1 (earlier blocks).
    ``concat``: hidden states to concatenate; None means those that no block uses.
    Raises :class:`ValueError` for an unknown operation or a hidden state that does not exist.
    """

    blocks: tuple[Block, ...]
    concat: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.blocks, str | bytes) or not isinstance(self.blocks, Sequence):
            raise ValueError(f"blocks must be a sequence of blocks, got {self.blocks!r}")
        if len(self.blocks) == 0:
            raise ValueError("a cell needs at least one block")
        blocks = []
        for b, block in enumerate(self.blocks):
            if not isinstance(block, Sequence) or len(block) != 2:
                raise ValueError(
                    f"block {b} must be two (input_index, operation) pairs, got {block!r}"
                )
            pairs = []
            for side, pair in zip(("left", "right"), block, strict=True):
                if not isinstance(pair, Sequence) or len(pair) != 2:
                    raise ValueError(
                        f"block {b} {side}: expected (input_index, operation), got {pair!r}"
                    )
                index, op = pair
                allowed = f"block {b} may use hidden states 0 to {b + 1} (0: prev, 1: prev_prev"
                allowed += ", 2..: earlier blocks)" if b else ")"
                _index(index, f"block {b} {side}", b + 2, allowed)
                if op not in OPERATIONS:
                    raise ValueError(
                        f"block {b} {side}: unknown operation {op!r}; choose from {OPERATIONS}"
                    )
                pairs.append((index, op))
            blocks.append(tuple(pairs))
        object.__setattr__(self, "blocks", tuple(blocks))
        if self.concat is not None:
            n = len(blocks) + 2
            concat = tuple(
                _index(i, "concat", n, f"the cell has hidden states 0 to {n - 1}")
                for i in self.concat
            )
            if not concat or len(set(concat)) != len(concat):
                raise ValueError(f"concat must list distinct hidden states, got {self.concat!r}")
            object.__setattr__(self, "concat", concat)

    @property
    def outputs(self) -> tuple[int, ...]:
        """The hidden states the cell's output concatenates, in order.

        Returns:
            A tuple of hidden-state indices: ``concat``, or (when it is None) the states that
            no block uses.
        """
        if self.concat is not None:
            return self.concat
        used = {index for block in self.blocks for index, _ in block}
        return tuple(i for i in range(len(self.blocks) + 2) if i not in used)


# NASNet-A, Zoph et al. 2018 figure 4 (left: normal cell, right: reduction cell).
NASNET_A_NORMAL = CellDescription(
    blocks=(
        ((0, "sep5x5"), (1, "sep3x3")),
        ((1, "sep5x5"), (1, "sep3x3")),
        ((0, "avg3x3"), (1, "identity")),
        ((1, "avg3x3"), (1, "avg3x3")),
        ((0, "sep3x3"), (0, "identity")),
    ),
    concat=(1, 2, 3, 4, 5, 6),
)
NASNET_A_REDUCTION = CellDescription(
    blocks=(
        ((0, "sep5x5"), (1, "sep7x7")),
        ((0, "max3x3"), (1, "sep7x7")),
        ((0, "avg3x3"), (1, "sep5x5")),
        ((3, "identity"), (2, "avg3x3")),
        ((2, "sep3x3"), (0, "max3x3")),
    ),
    concat=(3, 4, 5, 6),
)


def _relu_conv_bn(x: keras.KerasTensor, filters: int, name: str | None) -> keras.KerasTensor:
    x = layers.Activation("relu", name=_name(name, "relu"))(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=_name(name, "conv"))(x)
    return layers.BatchNormalization(name=_name(name, "bn"))(x)


def factorized_reduction(
    x: keras.KerasTensor, filters: int, name: str | None = None
) -> keras.KerasTensor:
    """Halve the grid without losing every other pixel.

    ReLU, then two 1x1 stride-2 convs with ``filters // 2`` and ``filters - filters // 2``
    filters, the second on the input shifted by one pixel, concatenated, BN.

    Args:
        x: the input tensor, ``(batch, H, W, C)``.
        filters: the output channels.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, ceil(H/2), ceil(W/2), filters)``.
    """
    x = layers.Activation("relu", name=_name(name, "relu"))(x)
    a = layers.AveragePooling2D(1, strides=2, name=_name(name, "pool_a"))(x)
    a = layers.Conv2D(filters // 2, 1, use_bias=False, name=_name(name, "conv_a"))(a)
    b = layers.ZeroPadding2D(((0, 1), (0, 1)), name=_name(name, "pad_b"))(x)
    b = layers.Cropping2D(((1, 0), (1, 0)), name=_name(name, "shift_b"))(b)
    b = layers.AveragePooling2D(1, strides=2, name=_name(name, "pool_b"))(b)
    b = layers.Conv2D(filters - filters // 2, 1, use_bias=False, name=_name(name, "conv_b"))(b)
    x = layers.Concatenate(name=_name(name, "concat"))([a, b])
    return layers.BatchNormalization(name=_name(name, "bn"))(x)


def apply_operation(
    x: keras.KerasTensor, op: str, filters: int, stride: int = 1, name: str | None = None
) -> keras.KerasTensor:
    """One operation of :data:`OPERATIONS` on a ``filters``-channel input.

    ``sepKxK``: (ReLU-KxK separable conv-BN) twice, the first with ``stride``; ``avg3x3``,
    ``max3x3``: 3x3 pooling, "same" padding; ``identity``: x itself, or a
    :func:`factorized_reduction` for stride 2.

    Args:
        x: the input tensor, ``(batch, H, W, filters)``.
        op: a name from :data:`OPERATIONS`.
        filters: the channels of input and output.
        stride: 1, or 2 in a reduction cell.
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor, ``(batch, H/s, W/s, filters)`` (rounded up).

    Raises:
        ValueError: if ``op`` is not in :data:`OPERATIONS`.
    """
    if op.startswith("sep"):
        k = int(op[3])
        for i, s in ((1, stride), (2, 1)):
            x = layers.Activation("relu", name=_name(name, f"relu{i}"))(x)
            x = layers.SeparableConv2D(
                filters, k, strides=s, padding="same", use_bias=False, name=_name(name, f"sep{i}")
            )(x)
            x = layers.BatchNormalization(name=_name(name, f"bn{i}"))(x)
        return x
    if op == "avg3x3":
        return layers.AveragePooling2D(3, strides=stride, padding="same", name=name)(x)
    if op == "max3x3":
        return layers.MaxPooling2D(3, strides=stride, padding="same", name=name)(x)
    if op == "identity":
        return x if stride == 1 else factorized_reduction(x, filters, name=name)
    raise ValueError(f"unknown operation {op!r}; choose from {OPERATIONS}")


def build_cell(
    prev: keras.KerasTensor,
    prev_prev: keras.KerasTensor | None,
    description: CellDescription | Sequence[Block],
    filters: int,
    reduction: bool = False,
    name: str | None = None,
) -> keras.KerasTensor:
    """Build one cell from ``description`` (a :class:`CellDescription` or its blocks).

    Args:
        prev: the previous cell's output, ``(batch, H, W, C)``.
        prev_prev: the output of the cell before (None for the first cell: ``prev`` is used
            twice); its grid may be twice ``prev``'s.
        description: a :class:`CellDescription`, or its blocks.
        filters: the channels of every operation.
        reduction: a reduction cell (operations on the inputs have stride 2).
        name: the prefix of the layer names (None: Keras picks them).

    Returns:
        The output tensor: ``(batch, H, W, k * filters)`` for a normal cell,
        ``(batch, ceil(H/2), ceil(W/2), k * filters)`` for a reduction cell, where
        k = ``len(description.outputs)``.

    Raises:
        ValueError: if a reduction cell outputs hidden state 0 or 1, ``prev_prev``'s grid
            does not halve to ``prev``'s, or the blocks are invalid (see
            :class:`CellDescription`).
    """
    if not isinstance(description, CellDescription):
        description = CellDescription(tuple(description))
    if reduction and {0, 1} & set(description.outputs):
        raise ValueError(
            "a reduction cell cannot output hidden state 0 or 1 (they keep the input grid); "
            f"its outputs are {description.outputs}"
        )
    prev_prev = prev if prev_prev is None else prev_prev
    h0 = _relu_conv_bn(prev, filters, _name(name, "prev"))
    h1 = prev_prev
    for i in range(3):  # factorized reductions until prev_prev has prev's grid
        if h1.shape[1] <= prev.shape[1]:
            break
        h1 = factorized_reduction(h1, filters, name=_name(name, f"prev_prev_reduce{i}"))
    if tuple(h1.shape[1:3]) != tuple(prev.shape[1:3]):
        raise ValueError(
            f"prev_prev's grid {tuple(prev_prev.shape[1:3])} does not halve to prev's grid "
            f"{tuple(prev.shape[1:3])}"
        )
    if h1.shape[-1] != filters:
        h1 = _relu_conv_bn(h1, filters, _name(name, "prev_prev"))

    states = [h0, h1]
    for b, block in enumerate(description.blocks):
        branches = []
        for side, (index, op) in zip(("left", "right"), block, strict=True):
            stride = 2 if reduction and index < 2 else 1
            label = _name(name, f"b{b}_{side}_{op}")
            branches.append(apply_operation(states[index], op, filters, stride, name=label))
        states.append(layers.Add(name=_name(name, f"b{b}_add"))(branches))
    outputs = [states[i] for i in description.outputs]
    if len(outputs) == 1:
        return outputs[0]
    return layers.Concatenate(name=_name(name, "concat"))(outputs)


def build_nasnet_demo(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    filters: int = 16,
    n_normal: int = 2,
    normal: CellDescription = NASNET_A_NORMAL,
    reduction: CellDescription = NASNET_A_REDUCTION,
    name: str = "nasnet_demo",
) -> keras.Model:
    """A small NASNet in the paper's CIFAR layout.

    3x3 stem conv (3 * filters)-BN, then ``n_normal`` normal cells, a reduction cell,
    ``n_normal`` normal cells, a reduction cell, ``n_normal`` normal cells; ``filters``
    doubles at each reduction.  ReLU, global average pooling, softmax Dense.  With 28x28
    inputs the cells see 28x28, 14x14 and 7x7 grids.

    Args:
        input_shape: ``(H, W, C)`` without the batch axis (pixels, channels).
        num_classes: units of the softmax layer.
        filters: the first stage's filters.
        n_normal: normal cells per stage.
        normal: the normal cell.
        reduction: the reduction cell.
        name: the model's name.

    Returns:
        A functional ``keras.Model``, ``(batch, H, W, C) -> (batch, num_classes)``.
    """
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(3 * filters, 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(name="stem_bn")(x)
    prev, prev_prev = x, None
    for stage in range(3):
        f = filters * 2**stage
        if stage > 0:
            cell = build_cell(prev, prev_prev, reduction, f, reduction=True, name=f"reduce{stage}")
            prev, prev_prev = cell, prev
        for i in range(n_normal):
            cell = build_cell(prev, prev_prev, normal, f, name=f"normal{stage}_{i}")
            prev, prev_prev = cell, prev
    x = layers.Activation("relu", name="relu")(prev)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
