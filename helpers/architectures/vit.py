"""Vision Transformer (Dosovitskiy et al., ICLR 2021): patches as tokens, and its size.

A ViT cuts the image into non-overlapping ``P x P`` patches, flattens each one
(``P * P * C`` values) and maps it linearly to a ``D``-dimensional token, which is a
convolution with kernel ``P`` and stride ``P``.  A learned class token joins the
``(H / P) * (W / P)`` patch tokens, a learned position embedding is added, and
``L`` Transformer encoder blocks (layer norm, multi-head self-attention, layer norm,
an MLP of ``M`` GELU units, each with a residual connection) follow; a final layer
norm and a linear classifier read the class token.

ViT-B/16 on 224 x 224 x 3: 196 patches of 16 x 16 x 3 = 768 values, ``D = 768``,
``L = 12`` blocks of 12 heads, ``M = 3072``: 86,567,656 parameters with a
1,000-class head (:func:`vit_parameter_count`, checked against :func:`build_vit`).
"""

from __future__ import annotations

import keras
from keras import layers

VIT_B16 = {"image_size": 224, "patch_size": 16, "channels": 3, "dim": 768, "depth": 12,
           "heads": 12, "mlp_dim": 3072, "num_classes": 1000}


def patch_tokens(image_size: int, patch_size: int, channels: int = 3) -> dict[str, int]:
    """How a square image becomes tokens.

    Args:
        image_size: side of the square image in pixels.
        patch_size: side of a square patch in pixels; must divide ``image_size``.
        channels: colour channels.

    Returns:
        ``{"patches per side", "tokens" (patches, the class token not counted),
        "values per patch"}``.

    Raises:
        ValueError: the patch side does not divide the image side.
    """
    if patch_size < 1 or image_size < 1 or image_size % patch_size:
        divisors = [d for d in range(1, max(image_size, 1) + 1) if image_size % d == 0]
        nearest = min(divisors, key=lambda d: (abs(d - patch_size), -d))
        raise ValueError(f"the patch side ({patch_size} px) must divide the image side "
                         f"({image_size} px), because ViT cuts the image into whole patches: "
                         f"resize the image, or use patch_size={nearest}")
    side = image_size // patch_size
    return {"patches per side": side, "tokens": side * side,
            "values per patch": patch_size * patch_size * channels}


def vit_parameter_count(image_size: int = 224, patch_size: int = 16, channels: int = 3,
                        dim: int = 768, depth: int = 12, heads: int = 12, mlp_dim: int = 3072,
                        num_classes: int = 1000) -> dict[str, int]:
    """Parameters of a ViT, part by part (weights and biases).

    Args:
        image_size, patch_size, channels: the input and its patches (see :func:`patch_tokens`).
        dim: token width ``D``; ``heads`` must divide it.
        depth: encoder blocks ``L``.
        heads: attention heads per block (their number does not change the count).
        mlp_dim: hidden units ``M`` of each block's MLP.
        num_classes: outputs of the classifier.

    Returns:
        ``{"patch embedding", "class token + positions", "encoder blocks", "final norm + head",
        "total"}``.

    Raises:
        ValueError: the patch side does not divide the image side, or ``heads`` does not
            divide ``dim``.
    """
    tokens = patch_tokens(image_size, patch_size, channels)
    if heads < 1 or dim % heads:
        raise ValueError(f"heads ({heads}) must divide the token width dim ({dim})")
    attention = 4 * (dim * dim + dim)  # query, key, value and output projections
    mlp = (dim * mlp_dim + mlp_dim) + (mlp_dim * dim + dim)
    block = 2 * (2 * dim) + attention + mlp  # two layer norms (scale and shift each)
    parts = {
        "patch embedding": tokens["values per patch"] * dim + dim,
        "class token + positions": dim + (tokens["tokens"] + 1) * dim,
        "encoder blocks": depth * block,
        "final norm + head": 2 * dim + dim * num_classes + num_classes,
    }
    parts["total"] = sum(parts.values())
    return parts


class ClassTokenAndPositions(layers.Layer):
    """Prepend a learned class token and add a learned position embedding.

    Call on patch tokens ``(B, N, D)``; returns ``(B, N + 1, D)``.
    """

    def build(self, input_shape):
        n, d = input_shape[1], input_shape[2]
        self.class_token = self.add_weight(shape=(1, 1, d), initializer="zeros", name="cls")
        self.positions = self.add_weight(shape=(1, n + 1, d), name="positions",
                                         initializer=keras.initializers.RandomNormal(0.02))

    def call(self, tokens):
        batch = keras.ops.shape(tokens)[0]
        cls = keras.ops.broadcast_to(self.class_token, (batch, 1, keras.ops.shape(tokens)[2]))
        return keras.ops.concatenate([cls, tokens], axis=1) + self.positions


def encoder_block(x, heads: int, mlp_dim: int, name: str):
    """One pre-norm Transformer encoder block: ``x + MSA(LN(x))``, then ``+ MLP(LN(.))``.

    Args:
        x: tokens ``(B, N, D)``.
        heads: attention heads (``D / heads`` values each).
        mlp_dim: hidden GELU units of the MLP.
        name: prefix of the layer names.

    Returns:
        Tokens ``(B, N, D)``.
    """
    dim = x.shape[-1]
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln1")(x)
    h = layers.MultiHeadAttention(heads, dim // heads, name=f"{name}_attention")(h, h)
    x = layers.Add(name=f"{name}_add1")([x, h])
    h = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ln2")(x)
    h = layers.Dense(mlp_dim, activation="gelu", name=f"{name}_mlp1")(h)
    h = layers.Dense(dim, name=f"{name}_mlp2")(h)
    return layers.Add(name=f"{name}_add2")([x, h])


def build_vit(image_size: int = 224, patch_size: int = 16, channels: int = 3, dim: int = 768,
              depth: int = 12, heads: int = 12, mlp_dim: int = 3072,
              num_classes: int = 1000, name: str = "vit") -> keras.Model:
    """A Vision Transformer classifier (defaults: ViT-B/16).

    Args:
        image_size, patch_size, channels, dim, depth, heads, mlp_dim, num_classes: as in
            :func:`vit_parameter_count`.
        name: the model's name.

    Returns:
        keras.Model mapping ``(B, image_size, image_size, channels)`` to class logits
        ``(B, num_classes)``.

    Raises:
        ValueError: as :func:`vit_parameter_count`.
    """
    vit_parameter_count(image_size, patch_size, channels, dim, depth, heads, mlp_dim,
                        num_classes)  # validates the arguments
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = layers.Conv2D(dim, patch_size, strides=patch_size, name="patch_embedding")(inputs)
    x = layers.Reshape((-1, dim), name="tokens")(x)
    x = ClassTokenAndPositions(name="class_token_and_positions")(x)
    for i in range(depth):
        x = encoder_block(x, heads, mlp_dim, name=f"block{i + 1}")
    x = layers.LayerNormalization(epsilon=1e-6, name="final_ln")(x)
    cls = layers.Lambda(lambda t: t[:, 0], name="class_token")(x)
    outputs = layers.Dense(num_classes, name="head")(cls)
    return keras.Model(inputs, outputs, name=name)
