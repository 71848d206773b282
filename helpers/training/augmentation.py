"""Lecture 03, data augmentation: the seed's transformations in Keras 3, offline and online
augmentation (tf.data), when not to augment (text, digits), noise injection, training.
Images are channels-last float32 ``(N, H, W, 1)`` in ``[0, 1]``; labels are integers ``(N,)``.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from matplotlib.figure import Figure

#: The seed's ImageDataGenerator settings (rotation in degrees, shifts and zoom as fractions).
SEED_ROTATION_DEGREES = 8.0
SEED_SHIFT = 0.08
SEED_ZOOM = 0.08
#: ``shear_range=0.3``: an angle, read in radians by Keras <= 2.1.2 and in degrees from Keras
#: 2.1.3 (December 2017) on.
SEED_SHEAR = 0.3
SHEAR_UNITS = ("degrees", "radians")


def seed_shear_radians(unit: str = "degrees") -> float:
    """The seed's ``shear_range=0.3`` as an angle in radians, read in ``unit``.

    Args:
        unit: ``"degrees"`` (Keras >= 2.1.3, ±0.3°: practically no shear) or ``"radians"``
            (older Keras, ±17.2°).

    Returns:
        The shear range in radians, a float.

    Raises:
        ValueError: if ``unit`` is not one of :data:`SHEAR_UNITS`.
    """
    if unit not in SHEAR_UNITS:
        raise ValueError(f"shear unit must be one of {SHEAR_UNITS}, got {unit!r}")
    return float(np.deg2rad(SEED_SHEAR)) if unit == "degrees" else SEED_SHEAR


class RandomAffine(layers.Layer):
    """ImageDataGenerator's random affine transformation as one Keras 3 layer.

    Per image: an angle ``t`` uniform in ±``rotation_degrees``, a shear angle ``s`` uniform in
    ±``shear_radians``, scales ``zx, zy`` uniform in ``[1 - zoom, 1 + zoom]``, shifts uniform in
    ±``shift`` times the width and height.  An output pixel ``p`` reads the input at
    ``c + R(t) Sh(s) Z(zx, zy) (p - c) + shift``, with ``c`` the image centre and
    ``Sh(s) = [[1, -sin s], [0, cos s]]`` ImageDataGenerator's shear (rows slide sideways in
    proportion to their distance from the centre row).  One interpolation for all four
    transformations.  Batched input ``(B, H, W, C)``; identity when ``training`` is false (as
    Keras' random layers, a direct call defaults to ``training=True``); works inside a model
    and in ``tf.data``.
    """

    def __init__(self, rotation_degrees: float = 0.0, shift: float = 0.0,
                 shear_radians: float = 0.0, zoom: float = 0.0, fill_mode: str = "nearest",
                 interpolation: str = "bilinear", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation_degrees, self.shift, self.zoom = rotation_degrees, shift, zoom
        self.shear_radians, self.fill_mode = shear_radians, fill_mode
        self.interpolation = interpolation
        self.seed, self.generator = seed, keras.random.SeedGenerator(seed)

    def _uniform(self, n, half_width: float, centre: float = 0.0):
        return keras.random.uniform((n,), centre - half_width, centre + half_width,
                                    seed=self.generator)

    def call(self, images, training=True):
        if not training:
            return images
        ops = keras.ops
        shape = ops.shape(images)
        h, w = ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")
        cy, cx = (h - 1.0) / 2.0, (w - 1.0) / 2.0
        t = self._uniform(shape[0], self.rotation_degrees * np.pi / 180)
        s = self._uniform(shape[0], self.shear_radians)
        zx, zy = self._uniform(shape[0], self.zoom, 1.0), self._uniform(shape[0], self.zoom, 1.0)
        tx, ty = self._uniform(shape[0], self.shift) * w, self._uniform(shape[0], self.shift) * h
        a00, a01 = ops.cos(t) * zx, -ops.sin(t + s) * zy
        a10, a11 = ops.sin(t) * zx, ops.cos(t + s) * zy
        zero = ops.zeros_like(t)
        transform = ops.stack([a00, a01, cx - a00 * cx - a01 * cy + tx,
                               a10, a11, cy - a10 * cx - a11 * cy + ty, zero, zero], axis=1)
        out = ops.image.affine_transform(ops.cast(images, "float32"), transform,
                                         interpolation=self.interpolation,
                                         fill_mode=self.fill_mode)
        return ops.cast(out, images.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        names = ("rotation_degrees", "shift", "shear_radians", "zoom", "fill_mode",
                 "interpolation", "seed")
        return {**super().get_config(), **{name: getattr(self, name) for name in names}}


def seed_augmentation(fused: bool = True, fill_mode: str = "nearest", seed: int = 13,
                      shear_unit: str = "degrees") -> keras.Sequential:
    """The seed's ImageDataGenerator as a Keras 3 ``Sequential``.

    ImageDataGenerator(rotation_range=8, width/height_shift_range=0.08, shear_range=0.3,
    zoom_range=0.08): rotation ±8°, shifts ±8 %, centred shear ±0.3 read in ``shear_unit``,
    independent height/width zoom in [0.92, 1.08].  Shape and dtype kept; identity with
    ``training=False``.

    Args:
        fused: one :class:`RandomAffine` (one interpolation, as ImageDataGenerator); False:
            ``RandomRotation(8/360)``, ``RandomTranslation``, a shear-only
            :class:`RandomAffine`, ``RandomZoom`` (four interpolations).
        fill_mode: how pixels outside the image are filled; ``"nearest"`` is
            ImageDataGenerator's default.
        seed: seed of the random layers.
        shear_unit: ``"degrees"`` (default, as Keras >= 2.1.3 did) or ``"radians"``; see
            :func:`seed_shear_radians`.

    Returns:
        A ``keras.Sequential``, ``(B, H, W, C) -> (B, H, W, C)``.

    Raises:
        ValueError: if ``shear_unit`` is unknown.
    """
    shear = seed_shear_radians(shear_unit)
    if fused:
        return keras.Sequential([RandomAffine(SEED_ROTATION_DEGREES, SEED_SHIFT, shear,
                                              SEED_ZOOM, fill_mode, seed=seed)],
                                name="seed_augmentation")
    kw = {"fill_mode": fill_mode, "interpolation": "bilinear"}
    return keras.Sequential([
        layers.RandomRotation(SEED_ROTATION_DEGREES / 360, seed=seed, **kw),
        layers.RandomTranslation(SEED_SHIFT, SEED_SHIFT, seed=seed + 1, **kw),
        RandomAffine(shear_radians=shear, seed=seed + 2, **kw),
        layers.RandomZoom(SEED_ZOOM, SEED_ZOOM, seed=seed + 3, **kw),
    ], name="seed_augmentation_layers")


def transformation_layers(seed: int = 13) -> dict[str, layers.Layer]:
    """One random layer per transformation of the lecture, strong enough to see on 28x28.

    Args:
        seed: seed of every random layer.

    Returns:
        A dict label -> Keras layer: rotation, shift, horizontal flip, shear, zoom,
        brightness, contrast and :func:`seed_augmentation`.
    """
    kw = {"fill_mode": "constant", "seed": seed}
    return {
        "rotation ±20°": layers.RandomRotation(20 / 360, **kw),
        "shift ±15 %": layers.RandomTranslation(0.15, 0.15, **kw),
        "horizontal flip": layers.RandomFlip("horizontal", seed=seed),
        "shear ±0.3 rad": RandomAffine(shear_radians=0.3, **kw),
        "zoom ±20 %": layers.RandomZoom(0.2, 0.2, **kw),
        "brightness ±0.3": layers.RandomBrightness(0.3, value_range=(0, 1), seed=seed),
        "contrast ×[0.4, 1.6]": layers.RandomContrast(0.6, value_range=(0, 1), seed=seed),
        "seed_augmentation()": seed_augmentation(seed=seed),
    }


def augmentation_grid(image: np.ndarray, named: dict[str, layers.Layer], n: int = 5) -> Figure:
    """Rows: one transformation each; columns: the original, then ``n`` random draws.

    Args:
        image: one image ``(28, 28, 1)`` (or ``(28, 28)``), float in ``[0, 1]``.
        named: label -> random Keras layer, e.g. :func:`transformation_layers`.
        n: random draws per transformation.

    Returns:
        The matplotlib ``Figure``, ``len(named)`` rows by ``n + 1`` columns.
    """
    fig, axes = plt.subplots(len(named), n + 1, figsize=(1.2 * (n + 1), 1.25 * len(named)),
                             squeeze=False)
    for row, (name, layer) in zip(axes, named.items(), strict=True):
        batch = np.repeat(np.asarray(image, "float32")[None], n, axis=0)
        draws = keras.ops.convert_to_numpy(layer(batch, training=True))
        for ax, img in zip(row, [image, *draws], strict=True):
            ax.imshow(np.squeeze(img), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    for j, ax in enumerate(axes[0]):
        ax.set_title(f"draw {j}" if j else "original", fontsize=8)
    fig.suptitle("One FashionMNIST image under each random transformation (28 × 28 px)")
    fig.tight_layout()
    return fig


def offline_augment(x: np.ndarray, y: np.ndarray, k: int, augmenter: layers.Layer,
                    batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Pre-augmentation: the ``N`` originals followed by ``k - 1`` augmented copies.

    Args:
        x: images ``(N, H, W, C)``, converted to float32.
        y: labels ``(N,)`` (or ``(N, C)`` one-hot).
        k: copies in all, the originals included; ``>= 1``.
        augmenter: a random Keras layer, called with ``training=True``.
        batch_size: images per call of ``augmenter``.

    Returns:
        A tuple ``(x_aug, y_aug)``: float32 images ``(k N, H, W, C)`` (copy ``j`` in rows
        ``j N ... (j + 1) N - 1``) and the labels ``y`` repeated ``k`` times.

    Raises:
        ValueError: if ``k < 1``.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x = np.asarray(x, "float32")
    copies = [x]
    for _ in range(k - 1):
        copies.append(np.concatenate([
            keras.ops.convert_to_numpy(augmenter(x[i:i + batch_size], training=True))
            for i in range(0, len(x), batch_size)]))
    return np.concatenate(copies), np.tile(np.asarray(y), k)


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int = 256,
                 augment: layers.Layer | None = None, shuffle: bool = True,
                 seed: int = 13) -> tf.data.Dataset:
    """Online augmentation in tf.data: slices -> cache -> shuffle -> batch -> map -> prefetch.

    The cache holds the *clean* images, so every epoch draws new random transformations;
    ``augment`` runs once per batch (vectorised) with ``training=True``, in parallel
    (``num_parallel_calls=AUTOTUNE``) while the model trains on the previous batch.

    Args:
        x: images ``(N, H, W, C)``, converted to float32.
        y: labels ``(N,)``.
        batch_size: images per batch.
        augment: a random Keras layer (None: no augmentation).
        shuffle: shuffle every epoch.
        seed: seed of the shuffling.

    Returns:
        A ``tf.data.Dataset`` yielding ``(B, H, W, C)`` float32 images and ``(B,)`` labels.
    """
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(x, "float32"), np.asarray(y))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        ds = ds.map(lambda images, labels: (augment(images, training=True), labels),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def with_augmentation(model: keras.Model, augment: layers.Layer) -> keras.Sequential:
    """``augment`` inside the model, in front of ``model`` (active only when training).

    Args:
        model: a built Keras model.
        augment: a random Keras layer.

    Returns:
        A ``keras.Sequential`` named ``<augment.name>_<model.name>`` with the input shape and
        output of ``model``.
    """
    return keras.Sequential([keras.Input(model.input_shape[1:]), augment, model],
                            name=f"{augment.name}_{model.name}")


