"""Lecture 03, data augmentation: the seed's transformations in Keras 3, offline and online
augmentation (tf.data), when not to augment (text, digits), noise injection, training.
Images are channels-last float32 ``(N, H, W, 1)`` in ``[0, 1]``; labels are integers ``(N,)``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from helpers.data import load_fashion_mnist
from helpers.mode import RunMode, run_mode
from helpers.recap import build_cnn1
from helpers.training import EpochTimer, FitResult, Splits

#: The seed's ImageDataGenerator settings (rotation in degrees, shifts and zoom as fractions).
SEED_ROTATION_DEGREES = 8.0
SEED_SHIFT = 0.08
SEED_ZOOM = 0.08
#: ``shear_range=0.3``: an angle, read in radians by Keras <= 2.1.2 and in degrees from Keras
#: 2.1.3 (December 2017) on.
SEED_SHEAR = 0.3
SHEAR_UNITS = ("degrees", "radians")
#: Fast mode's :func:`lecture01_splits`: at most this many training and validation/test images
#: (every cnn1 run of the lecture trains on, validates on and is tested on them).
FAST_SPLIT_TRAIN = 1000
FAST_SPLIT_EVAL = 500


def seed_shear_radians(unit: str = "degrees") -> float:
    """The seed's ``shear_range=0.3`` as an angle in radians, read in ``unit``: ``"degrees"``
    (Keras >= 2.1.3, ±0.3°: practically no shear) or ``"radians"`` (older Keras, ±17.2°)."""
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
    """The seed's ImageDataGenerator(rotation_range=8, width/height_shift_range=0.08,
    shear_range=0.3, zoom_range=0.08) as a Keras 3 ``Sequential``: rotation ±8°, shifts ±8 %,
    centred shear ±0.3 read in ``shear_unit`` (default degrees, as Keras >= 2.1.3 did; see
    :func:`seed_shear_radians`), independent height/width zoom in [0.92, 1.08], ``fill_mode``
    nearest (ImageDataGenerator's default).  ``fused=True``: one :class:`RandomAffine` (one
    interpolation, as ImageDataGenerator); ``fused=False``: ``RandomRotation(8/360)``,
    ``RandomTranslation``, a shear-only :class:`RandomAffine`, ``RandomZoom`` (four
    interpolations).  Shape and dtype kept; identity with ``training=False``."""
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
    """One random layer per transformation of the lecture, strong enough to see on 28x28."""
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
    """Rows: one transformation each; columns: the original, then ``n`` random draws."""
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
    """Pre-augmentation: the ``N`` originals followed by ``k - 1`` augmented copies:
    ``(k N, H, W, C)`` float32 images (copy ``j`` in rows ``j N ... (j + 1) N - 1``) and the
    labels ``y`` repeated ``k`` times."""
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
    Yields ``(B, H, W, C)`` float32 images and ``(B,)`` labels."""
    ds = tf.data.Dataset.from_tensor_slices((np.asarray(x, "float32"), np.asarray(y))).cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if augment is not None:
        ds = ds.map(lambda images, labels: (augment(images, training=True), labels),
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def lecture01_splits(mode: RunMode | None = None, val_size: float = 0.2,
                     random_state: int = 13) -> Splits:
    """Lecture 01's split: the 60,000 training images split 80/20 with
    ``train_test_split(test_size=0.2, random_state=13)`` (48,000 / 12,000, the same rows as
    ``recap.prepare_csv_data``), and the official 10,000 test images; seeded subsets in
    fast mode (at most :data:`FAST_SPLIT_TRAIN` training and :data:`FAST_SPLIT_EVAL`
    validation and test images).  Integer labels."""
    mode = mode or run_mode()
    if mode.fast:
        mode = dataclasses.replace(mode, max_train=min(mode.max_train, FAST_SPLIT_TRAIN),
                                   max_eval=min(mode.max_eval, FAST_SPLIT_EVAL))
    data = load_fashion_mnist()
    x = (data.x_train.astype("float32") / 255)[..., None]
    x_tr, x_val, y_tr, y_val = train_test_split(x, data.y_train.astype("int32"),
                                                test_size=val_size, random_state=random_state)
    x_test = (data.x_test.astype("float32") / 255)[..., None]
    x_tr, y_tr = mode.subset(x_tr, y_tr, kind="train", seed=random_state)
    x_val, y_val = mode.subset(x_val, y_val, kind="eval", seed=random_state)
    x_test, y_test = mode.subset(x_test, data.y_test.astype("int32"), kind="eval", seed=13)
    return Splits(x_tr, y_tr, x_val, y_val, x_test, y_test)


def with_augmentation(model: keras.Model, augment: layers.Layer) -> keras.Sequential:
    """``augment`` inside the model, in front of ``model`` (active only when training)."""
    return keras.Sequential([keras.Input(model.input_shape[1:]), augment, model],
                            name=f"{augment.name}_{model.name}")


def cnn1_with_noise(input_std: float = 0.0, hidden_std: float = 0.0,
                    seed: int = 13) -> keras.Sequential:
    """``cnn1`` with ``GaussianNoise(input_std)`` on the pixels and ``GaussianNoise(hidden_std)``
    on the 128 hidden units (after their ReLU); the noise is active only in training."""
    cnn = build_cnn1(seed=seed)
    body, head = cnn.layers[:-1], cnn.layers[-1]
    return keras.Sequential([keras.Input((28, 28, 1)), layers.GaussianNoise(input_std, seed=seed),
                             *body, layers.GaussianNoise(hidden_std, seed=seed + 1), head],
                            name=f"cnn1_noise_{input_std:g}_{hidden_std:g}")


def train(model: keras.Model, train_data: tf.data.Dataset | tuple[np.ndarray, np.ndarray],
          splits: Splits, epochs: int, batch_size: int = 256, seed: int = 13) -> FitResult:
    """The lecture's recipe: Adam (learning rate 1e-3), cross-entropy, ``epochs`` epochs on
    ``train_data`` (a dataset of batches, or arrays cut into batches of ``batch_size``),
    validated on the clean ``splits.x_val`` after every epoch, tested on ``splits.x_test``.
    ``epoch_seconds`` holds each epoch's wall-clock time in seconds (validation included)."""
    keras.utils.set_random_seed(seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    hist = model.fit(**_fit_kwargs(train_data, batch_size), epochs=epochs,
                     validation_data=(splits.x_val, splits.y_val), callbacks=[timer], verbose=0)
    loss, acc = model.evaluate(splits.x_test, splits.y_test, batch_size=batch_size, verbose=0)
    return FitResult(model.name, {k: [float(v) for v in vals] for k, vals in hist.history.items()},
                     timer.seconds, float(loss), float(acc), int(model.count_params()))


def _fit_kwargs(train_data, batch_size: int) -> dict:
    """``model.fit`` arguments for a dataset of batches or ``(x, y)`` arrays."""
    if isinstance(train_data, tf.data.Dataset):
        return {"x": train_data, "shuffle": False}  # the dataset shuffles itself
    return {"x": train_data[0], "y": train_data[1], "batch_size": batch_size}


def compare_epoch_seconds(variants: dict[str, tuple[keras.Model, object]], rounds: int = 3,
                          batch_size: int = 256) -> dict[str, float]:
    """Median seconds of one training epoch (no validation) for each ``name: (model, data)``
    (``data``: a ``tf.data.Dataset`` of batches or ``(x, y)`` arrays).  Every model first
    trains one untimed epoch (graph tracing); then ``rounds`` rounds train one epoch of each
    variant in turn, so that a change in machine load hits all variants alike."""
    for model, data in variants.values():
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(**_fit_kwargs(data, batch_size), epochs=1, verbose=0)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, (model, data) in variants.items():
            start = time.perf_counter()
            model.fit(**_fit_kwargs(data, batch_size), epochs=1, verbose=0)
            seconds[name].append(time.perf_counter() - start)
    return {name: float(np.median(s)) for name, s in seconds.items()}


def plot_curves(results: dict[str, FitResult], key: str = "accuracy") -> Figure:
    """Training vs validation ``key`` per epoch, one panel per run, shared y axis."""
    fig, axes = plt.subplots(1, len(results), figsize=(4.5 * len(results), 3.3), sharey=True,
                             squeeze=False)
    for ax, (name, res) in zip(axes[0], results.items(), strict=True):
        epochs = np.arange(1, len(res.history[key]) + 1)
        ax.plot(epochs, res.history[key], label=f"training {key}")
        ax.plot(epochs, res.history[f"val_{key}"], "--", label=f"validation {key}")
        ax.set(xlabel="epoch", ylabel=key)
        ax.set_title(f"{name}\ntest accuracy {res.test_accuracy:.4f}", fontsize=10)
        ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout()
    return fig


def text_image(text: str = "STOP 42", height: int = 32, width: int = 128) -> np.ndarray:
    """``text`` rendered in black on white by matplotlib: float32 ``(height, width)`` ink
    values in ``[0, 1]`` (1 = black)."""
    fig = Figure(figsize=(width / 100, height / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=0.55 * height,
             fontweight="bold", family="DejaVu Sans")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype="float32")[:height, :width]
    return 1.0 - rgba[..., :3].mean(axis=-1) / 255.0


def digits_splits(test_size: float = 0.25, seed: int = 13):
    """scikit-learn's 1,797 bundled 8x8 digits, scaled to ``[0, 1]`` (values 0..16 / 16),
    split stratified: ``x_train (N, 8, 8, 1), y_train (N,), x_test, y_test``."""
    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(x, digits.target.astype("int32"), test_size=test_size,
                            random_state=seed, stratify=digits.target)


def build_digits_cnn(augment: layers.Layer | None = None, seed: int = 13) -> keras.Sequential:
    """A small CNN for 8x8 digits: [augment] -> Conv 3x3 (16) -> Conv 3x3 (32) -> MaxPool 2
    -> Flatten (512) -> Dense 64 -> Dense 10 softmax (38,282 parameters)."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 1)), *([augment] if augment else []),
                             layers.Conv2D(16, 3, padding="same", activation="relu"),
                             layers.Conv2D(32, 3, padding="same", activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(),
                             layers.Dense(64, activation="relu"),
                             layers.Dense(10, activation="softmax")], name="digits_cnn")


def digits_experiment(augmenters: dict[str, Callable[[int], layers.Layer | None]],
                      epochs: int = 30, seeds: tuple[int, ...] = (13, 14, 15)
                      ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Train :func:`build_digits_cnn` (Adam, batch 64) once per seed with each augmentation
    (``augmenters[name](seed)`` gives a fresh layer or None) on :func:`digits_splits`; return
    ``name: (y_true, y_pred)`` over the test digits of all seeds (``len(seeds) * 450``)."""
    x_tr, x_te, y_tr, y_te = digits_splits()
    out = {}
    for name, factory in augmenters.items():
        preds = []
        for seed in seeds:
            model = build_digits_cnn(factory(seed), seed=seed)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            model.fit(x_tr, y_tr, batch_size=64, epochs=epochs, verbose=0)
            preds.append(model.predict(x_te, verbose=0).argmax(axis=1))
        out[name] = (np.tile(y_te, len(seeds)), np.concatenate(preds))
    return out


def plot_per_class(accuracies: dict[str, np.ndarray], title: str) -> Figure:
    """Grouped bars: per-class accuracy (fraction correct) of each named run."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    width = 0.8 / len(accuracies)
    for i, (name, acc) in enumerate(accuracies.items()):
        ax.bar(np.arange(len(acc)) + (i - (len(accuracies) - 1) / 2) * width, acc, width,
               label=name)
    ax.set(xlabel="true digit", ylabel="accuracy (fraction correct)", title=title,
           xticks=np.arange(10), ylim=(0, 1.25))
    ax.legend(loc="upper center", ncols=len(accuracies), fontsize=8)
    fig.tight_layout()
    return fig


def plot_noise_sweep(stds: list[float], accuracies: dict[str, list[float]], title: str,
                     ylabel: str = "validation accuracy") -> Figure:
    """Accuracy against the noise standard deviation σ, one line per placement of the noise."""
    fig, ax = plt.subplots(figsize=(5.5, 3.3))
    for name, acc in accuracies.items():
        ax.plot(stds, acc, "o-", label=name)
    ax.set(xlabel="noise standard deviation σ (pixel values range 0 to 1)",
           ylabel=ylabel, title=title)
    ax.grid(alpha=0.3), ax.legend()
    fig.tight_layout()
    return fig

