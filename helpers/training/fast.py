"""The course's fast FashionMNIST recipe: what makes a small CNN train quickly on a CPU.

Lecture 01 trains ``cnn1`` with Adam, batch 256, for 10 epochs
(:func:`helpers.lectures.recap.train`)
and ends near 0.905.  The fast recipe here passes 0.91 in 2 epochs (``benchmarks/README.md``
has the measured times).  Its ingredients, each a small function or a field of
:class:`Recipe`, so that a benchmark can remove one at a time:

* a compact CNN with batch normalisation (:func:`build_fast_cnn`), pooling straight after
  each convolution so that BN and ReLU run on a quarter of the values;
* a ``tf.data`` input pipeline: cache, shuffle, batch, prefetch (:func:`fast_dataset`), small
  batches (64) and 16 training steps per call into TensorFlow;
* a learning rate that warms up linearly and then decays along a cosine (:class:`WarmupCosine`);
* label smoothing in the cross-entropy;
* no augmentation: for two epochs it costs accuracy.  It pays in longer runs (the best small
  model of ``benchmarks/best_small_model.py``): Keras 3 preprocessing layers for random shift,
  horizontal flip and random erasing (:func:`augmentation`), inside the model or in the
  pipeline, and a flip at test time (:func:`test_accuracy`);
* :func:`train_recipe`: trains under a number of epochs and/or a wall-clock budget, measures
  the test accuracy after every epoch and the time at which a target accuracy was first reached.

Images are float32 ``(N, 28, 28, 1)`` in ``[0, 1]``; labels are integers ``(N,)`` or one-hot
``(N, 10)`` (both are accepted).  Times are wall-clock seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers, ops
from matplotlib.figure import Figure

from helpers.data import as_images, load_fashion_mnist
from helpers.mode import RunMode, run_mode
from helpers.training.augmentation import make_dataset as augmentation_pipeline
from helpers.training.progress import fit_verbose
from helpers.training.schedules import BudgetClock, WarmupCosine

AUGMENT_PLACES = ("model", "pipeline", "none")
INPUTS = ("tf.data", "numpy")
SCHEDULES = ("warmup_cosine", "constant")


@dataclass(frozen=True)
class Recipe:
    """Every knob of the recipe; the defaults are the course's fast recipe.

    Attributes:
        filters: output channels of the conv blocks; each block is conv 3x3 -> max-pool 2x2
            -> [BN] -> ReLU (see ``pool_before_bn``), so two blocks turn 28x28 into 7x7.
        pool_before_bn: pool straight after the convolution, so that BN and ReLU work on a
            quarter of the values (the recipe); False: the textbook order conv -> BN -> ReLU
            -> pool.  Max-pooling commutes with ReLU and with BN's per-channel map while its
            scale is positive, so the difference is mainly that BN takes its batch
            statistics from the pooled maps.
        dense: units of the hidden dense layer (0: none).
        dropout: dropout rate before the hidden dense layer.
        batch_norm: batch normalisation after every convolution and the hidden dense layer.
        batch_size: images per step.
        epochs: epochs to train (an upper bound when ``train_recipe`` gets a budget).
        peak_lr: the learning rate at the end of the warm-up (Adam).
        warmup_epochs: length of the linear warm-up, in epochs (fractions allowed).
        schedule: ``"warmup_cosine"`` or ``"constant"`` (``peak_lr`` throughout).
        label_smoothing: weight moved from the true class to a uniform distribution.
        shift: random translation, as a fraction of the image size (0.1 = 2.8 pixels).
        flip: random horizontal flip.
        erasing: probability of erasing a random rectangle (random erasing), 0 = off.
        augment: where augmentation runs: ``"model"``, ``"pipeline"`` or ``"none"`` (the
            fast recipe: ``shift``, ``flip`` and ``erasing`` then do nothing).
        input: ``"tf.data"`` (cache, shuffle, batch, prefetch) or ``"numpy"`` arrays.
        jit_compile: compile the train step with XLA.
        steps_per_execution: training steps run per call into TensorFlow; more than one saves
            Python overhead per step, which matters for small models and small batches.
        tta_flip: also report the final test accuracy with test-time augmentation: the
            average of the predicted probabilities for each image and its mirror image.
        seed: seeds weights, shuffling and augmentation.
    """

    filters: tuple[int, ...] = (16, 32)
    pool_before_bn: bool = True
    dense: int = 128
    dropout: float = 0.0
    batch_norm: bool = True
    batch_size: int = 64
    epochs: int = 2
    peak_lr: float = 3e-3
    warmup_epochs: float = 0.5
    schedule: str = "warmup_cosine"
    label_smoothing: float = 0.1
    shift: float = 0.0
    flip: bool = True
    erasing: float = 0.0
    augment: str = "none"
    input: str = "tf.data"
    jit_compile: bool = False
    steps_per_execution: int = 16
    tta_flip: bool = False
    seed: int = 13

    def __post_init__(self) -> None:
        checks = [
            (len(self.filters) > 0 and all(f >= 1 for f in self.filters),
             f"filters must be a non-empty tuple of positive ints, got {self.filters!r}"),
            (self.dense >= 0, f"dense must be >= 0, got {self.dense}"),
            (0 <= self.dropout < 1, f"dropout must be in [0, 1), got {self.dropout}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.steps_per_execution >= 1,
             f"steps_per_execution must be >= 1, got {self.steps_per_execution}"),
            (self.peak_lr > 0, f"peak_lr must be > 0, got {self.peak_lr}"),
            (self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}"),
            (self.schedule in SCHEDULES,
             f"schedule must be one of {SCHEDULES}, got {self.schedule!r}"),
            (0 <= self.label_smoothing < 1,
             f"label_smoothing must be in [0, 1), got {self.label_smoothing}"),
            (0 <= self.shift < 0.5, f"shift must be in [0, 0.5), got {self.shift}"),
            (0 <= self.erasing <= 1,
             f"erasing must be a probability in [0, 1], got {self.erasing}"),
            (self.augment in AUGMENT_PLACES,
             f"augment must be one of {AUGMENT_PLACES}, got {self.augment!r}"),
            (self.input in INPUTS, f"input must be one of {INPUTS}, got {self.input!r}"),
            (not (self.input == "numpy" and self.augment == "pipeline"),
             "augment='pipeline' needs input='tf.data' (numpy arrays have no pipeline)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed (validated again).

        Args:
            **changes: field name -> new value.

        Returns:
            A new :class:`Recipe`.

        Raises:
            ValueError: if a changed value is invalid.
        """
        return replace(self, **changes)

    def augments(self) -> bool:
        """True when some augmentation is switched on and has a place to run.

        Returns:
            ``augment != "none"`` and (``shift > 0``, ``flip`` or ``erasing > 0``), a bool.
        """
        return self.augment != "none" and (self.shift > 0 or self.flip or self.erasing > 0)


#: The course's fast recipe.
FAST = Recipe()
#: Lecture 01's seed recipe as a :class:`Recipe` (use it with ``model=recap.build_cnn1()``):
#: Adam at its default 1e-3, batch 256, 10 epochs, no augmentation, no smoothing, arrays.
SEED = Recipe(batch_size=256, epochs=10, peak_lr=1e-3, schedule="constant", label_smoothing=0.0,
              flip=False, augment="none", input="numpy", steps_per_execution=1)


def augmentation(recipe: Recipe) -> keras.Sequential:
    """Keras 3 preprocessing layers for ``recipe``: RandomTranslation, RandomFlip, RandomErasing.

    Works on batches ``(B, 28, 28, 1)`` in ``[0, 1]``; active only with ``training=True``
    (inside a model: during ``fit``), so evaluation sees the original images.  The same object
    can run in a ``tf.data`` ``map`` (call it with ``training=True``).

    Args:
        recipe: the :class:`Recipe`; its ``shift``, ``flip``, ``erasing`` and ``seed`` are
            used.

    Returns:
        A ``keras.Sequential`` named ``augmentation``, ``(B, 28, 28, 1) -> (B, 28, 28, 1)``.
    """
    stack: list[layers.Layer] = []
    if recipe.shift > 0:
        stack.append(layers.RandomTranslation(recipe.shift, recipe.shift, fill_mode="constant",
                                              seed=recipe.seed))
    if recipe.flip:
        stack.append(layers.RandomFlip("horizontal", seed=recipe.seed + 1))
    if recipe.erasing > 0:
        stack.append(layers.RandomErasing(factor=recipe.erasing, scale=(0.02, 0.2),
                                          fill_value=0.0, value_range=(0, 1),
                                          seed=recipe.seed + 2))
    return keras.Sequential(stack, name="augmentation")


def build_fast_cnn(recipe: Recipe = FAST, input_shape: tuple[int, int, int] = (28, 28, 1),
                   num_classes: int = 10) -> keras.Model:
    """The recipe's CNN; outputs logits ``(B, num_classes)``.

    Per entry ``f`` of ``recipe.filters``: Conv2D(f, 3x3, same) -> MaxPool(2x2) -> [BatchNorm]
    -> ReLU (``recipe.pool_before_bn``; else pooling comes last).  Then Flatten -> Dropout ->
    Dense(dense) -> [BatchNorm] -> ReLU -> Dense(num_classes).  With the defaults (16, 32,
    dense 128): (28, 28, 16) -> (14, 14, 16) -> (14, 14, 32) -> (7, 7, 32) -> 1,568 -> 128 ->
    10; 206,922 parameters without BN.  With ``recipe.augment == "model"`` the augmentation
    layers come first.

    Args:
        recipe: the :class:`Recipe` (filters, pool order, dense, dropout, batch_norm,
            augmentation).
        input_shape: ``(H, W, C)`` of one image (pixels, channels).
        num_classes: units of the output layer.

    Returns:
        An uncompiled ``keras.Sequential`` named ``fast_cnn``,
        ``(B, H, W, C) -> (B, num_classes)`` logits.
    """
    keras.utils.set_random_seed(recipe.seed)
    bn = recipe.batch_norm
    stack: list = [keras.Input(shape=input_shape)]
    if recipe.augment == "model" and recipe.augments():
        stack.append(augmentation(recipe))
    for f in recipe.filters:
        stack.append(layers.Conv2D(f, 3, padding="same", use_bias=not bn))
        norm = [layers.BatchNormalization(momentum=0.9)] if bn else []
        if recipe.pool_before_bn:
            stack += [layers.MaxPooling2D(2), *norm, layers.ReLU()]
        else:
            stack += [*norm, layers.ReLU(), layers.MaxPooling2D(2)]
    stack.append(layers.Flatten())
    stack += [layers.Dropout(recipe.dropout)] if recipe.dropout else []
    if recipe.dense:
        stack.append(layers.Dense(recipe.dense, use_bias=not bn))
        stack += [layers.BatchNormalization(momentum=0.9)] if bn else []
        stack.append(layers.ReLU())
    stack.append(layers.Dense(num_classes))
    return keras.Sequential(stack, name="fast_cnn")


def one_hot(y: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Float32 one-hot labels from integer labels (one-hot labels pass through).

    Args:
        y: integer labels ``(N,)`` in ``[0, num_classes)``, or one-hot ``(N, num_classes)``.
        num_classes: the number of classes.

    Returns:
        A float32 array ``(N, num_classes)``.
    """
    y = np.asarray(y)
    if y.ndim == 2:
        return y.astype("float32")
    return np.eye(num_classes, dtype="float32")[y.astype(int)]


def fast_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, training: bool,
                 augment: keras.Layer | None = None, seed: int = 13) -> tf.data.Dataset:
    """``tf.data`` pipeline of ``(images (B, 28, 28, 1), one-hot (B, 10))`` batches.

    ``from_tensor_slices -> cache -> [shuffle, training only] -> batch -> [augment] ->
    prefetch``.  Shuffling reshuffles every epoch; ``augment`` (e.g. :func:`augmentation`)
    runs on whole batches with ``training=True``, in parallel with the model's step.

    Args:
        x: float32 images ``(N, 28, 28, 1)`` in ``[0, 1]``.
        y: integer labels ``(N,)`` or one-hot ``(N, 10)``.
        batch_size: images per batch, ``>= 1``.
        training: shuffle (every epoch).
        augment: a layer applied to every batch (None: none).
        seed: seed of the shuffling.

    Returns:
        A ``tf.data.Dataset`` of ``(images (B, 28, 28, 1), one-hot (B, 10))`` batches.

    Raises:
        ValueError: if ``batch_size < 1`` or ``x`` and ``y`` differ in length.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} images, {len(y)} labels")
    return augmentation_pipeline(x, one_hot(y), batch_size=batch_size, augment=augment,
                                 shuffle=training, seed=seed)


def test_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, tta_flip: bool = False,
                  batch_size: int = 1024) -> float:
    """Accuracy of ``model`` on images ``x (N, 28, 28, 1)`` and integer labels ``y (N,)``.

    With ``tta_flip`` each image is classified by the mean of the class probabilities of the
    image and of its left-right mirror image (test-time augmentation; it costs a second
    forward pass).  Models with logits or with probabilities out are both fine.

    Args:
        model: a Keras classifier, ``(N, 28, 28, 1) -> (N, C)`` logits or probabilities.
        x: float32 images ``(N, 28, 28, 1)``.
        y: integer labels ``(N,)``.
        tta_flip: average with the mirror images' probabilities.
        batch_size: images per forward pass.

    Returns:
        The accuracy, a Python float in ``[0, 1]``.
    """
    def probabilities(images: np.ndarray) -> np.ndarray:
        out = model.predict(images, batch_size=batch_size, verbose=0)
        if out.min() >= 0 and np.allclose(out.sum(axis=1), 1.0, atol=1e-3):
            return out
        return ops.convert_to_numpy(ops.softmax(out, axis=1))

    p = probabilities(x)
    if tta_flip:
        p = (p + probabilities(np.ascontiguousarray(x[:, :, ::-1]))) / 2
    return float(np.mean(np.argmax(p, axis=1) == np.asarray(y)))


@dataclass
class RecipeResult:
    """What :func:`train_recipe` returns.

    Attributes:
        history: per epoch ``loss``, ``accuracy`` (training, on augmented images),
            ``test_accuracy``, ``train_seconds`` (cumulative from the call of
            :func:`train_recipe`, set-up included, evaluations excluded) and
            ``wall_seconds`` (cumulative, evaluations included).
        seconds: training seconds of the whole run (evaluation excluded).
        wall_seconds: wall seconds of the whole call: set-up, training, every test
            evaluation and the final flip TTA (what a budget limits).
        final_eval_seconds: seconds of the final flip TTA (0 without it).
        test_accuracy: after the last epoch.
        time_to_target: training seconds at the end of the first epoch whose test accuracy
            reached ``target``; None if never reached.
        test_accuracy_tta: with ``recipe.tta_flip``, the final test accuracy with flip
            test-time augmentation (:func:`test_accuracy`); else None.
        epochs: epochs run; ``stopped_by_budget`` when the budget ended the run early.
    """

    history: dict[str, list[float]]
    seconds: float
    wall_seconds: float
    test_accuracy: float
    time_to_target: float | None
    target: float | None
    epochs: int
    n_train: int
    stopped_by_budget: bool
    recipe: dict = field(default_factory=dict)
    test_accuracy_tta: float | None = None
    final_eval_seconds: float = 0.0


def train_recipe(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                 y_test: np.ndarray, recipe: Recipe = FAST, budget_s: float | None = None,
                 target: float | None = 0.91, model: keras.Model | None = None,
                 mode: RunMode | None = None) -> RecipeResult:
    """Train ``model`` (default: :func:`build_fast_cnn` of ``recipe``) the recipe's way.

    Test accuracy is measured on ``x_test`` after every epoch; ``time_to_target`` counts
    training seconds only (the evaluation is measurement, not training).

    Args:
        x_train: float32 images ``(N, 28, 28, 1)`` in ``[0, 1]``.
        y_train: integer labels ``(N,)`` or one-hot ``(N, 10)``.
        x_test: float32 images ``(M, 28, 28, 1)`` in ``[0, 1]``.
        y_test: integer labels ``(M,)`` or one-hot ``(M, 10)``.
        recipe: the knobs; ``recipe.epochs`` is the number of epochs, or with ``budget_s``
            the most epochs.
        budget_s: wall-clock budget in seconds (test evaluations included).  After every
            epoch the epochs that still fit are planned again and the schedule is fitted to
            them (:meth:`helpers.training.schedules.BudgetClock.plan`).
        target: the test accuracy whose first crossing is timed; None to skip.
        model: any Keras model with logits or probabilities out, e.g. ``recap.build_cnn1()``.
        mode: default :func:`run_mode`; fast mode caps epochs and subsamples both sets.

    Returns:
        A :class:`RecipeResult`: per-epoch history, seconds, test accuracy, time to target.

    Raises:
        ValueError: if ``budget_s <= 0`` or ``target`` is not in ``(0, 1]``.
    """
    start = time.perf_counter()  # a budget counts from here: set-up and final TTA included
    if budget_s is not None and budget_s <= 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s}")
    if target is not None and not 0 < target <= 1:
        raise ValueError(f"target must be an accuracy in (0, 1], got {target}")
    mode = run_mode() if mode is None else mode
    x_train, y_train = mode.subset(x_train, y_train, kind="train", seed=recipe.seed)
    x_test, y_test = mode.subset(x_test, y_test, kind="eval", seed=recipe.seed)
    y_test_int = np.asarray(y_test).argmax(axis=1) if np.ndim(y_test) == 2 else np.asarray(y_test)
    epochs = mode.epochs(recipe.epochs)
    model = build_fast_cnn(recipe) if model is None else model
    keras.utils.set_random_seed(recipe.seed)
    steps = math.ceil(len(x_train) / recipe.batch_size)
    schedule = None
    if recipe.schedule == "warmup_cosine":
        total = epochs * steps
        schedule = WarmupCosine(recipe.peak_lr, total,
                                min(int(recipe.warmup_epochs * steps), total - 1))
    from_logits = model.layers[-1].get_config().get("activation") != "softmax"
    model.compile(optimizer=keras.optimizers.Adam(schedule or recipe.peak_lr),
                  loss=keras.losses.CategoricalCrossentropy(
                      from_logits=from_logits, label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"], jit_compile=recipe.jit_compile,
                  steps_per_execution=recipe.steps_per_execution)
    clock = BudgetClock(lambda m: test_accuracy(m, x_test, y_test_int), budget_s, epochs,
                        steps, schedule, start=start)
    if recipe.tta_flip and budget_s:  # time for the final two passes over the test set
        clock.reserve_s, clock.final_passes = 0.02 * budget_s, 2
    if recipe.input == "tf.data":
        aug = augmentation(recipe) if recipe.augment == "pipeline" and recipe.augments() else None
        data = fast_dataset(x_train, y_train, recipe.batch_size, True, aug, recipe.seed)
        hist = model.fit(data, epochs=epochs, callbacks=[clock], verbose=fit_verbose(mode),
                         shuffle=False)
    else:
        hist = model.fit(x_train, one_hot(y_train), batch_size=recipe.batch_size, epochs=epochs,
                         shuffle=True, callbacks=[clock], verbose=fit_verbose(mode))
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    history.update(clock.log)
    t_tta = time.perf_counter()
    tta = test_accuracy(model, x_test, y_test_int, tta_flip=True) if recipe.tta_flip else None
    final_eval_s = time.perf_counter() - t_tta if recipe.tta_flip else 0.0
    reached = [s for s, a in zip(clock.log["train_seconds"], clock.log["test_accuracy"],
                                 strict=True) if target is not None and a >= target]
    return RecipeResult(
        history=history, seconds=clock.log["train_seconds"][-1],
        wall_seconds=time.perf_counter() - start, test_accuracy=clock.log["test_accuracy"][-1],
        time_to_target=reached[0] if reached else None, target=target,
        epochs=len(clock.log["test_accuracy"]), n_train=len(x_train),
        stopped_by_budget=clock.stopped_by_budget, recipe=asdict(recipe), test_accuracy_tta=tta,
        final_eval_seconds=final_eval_s)


def full_training_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All 60,000 training and the 10,000 test images of FashionMNIST (verified files).

    Returns:
        A tuple ``(x_train, y_train, x_test, y_test)``: float32 images
        ``(60000, 28, 28, 1)`` and ``(10000, 28, 28, 1)``, int32 labels ``(60000,)`` and
        ``(10000,)``.
    """
    data = load_fashion_mnist()
    return (as_images(data.x_train), data.y_train.astype("int32"),
            as_images(data.x_test), data.y_test.astype("int32"))


def plot_accuracy_vs_time(curves: dict[str, tuple[list[float], list[float]]],
                          target: float | None = 0.91, title: str = "") -> Figure:
    """Test accuracy (y) after each epoch against training seconds (x), one line per run.

    Args:
        curves: label -> ``(seconds, accuracies)``, e.g. a :class:`RecipeResult`'s
            ``history["train_seconds"]`` and ``history["test_accuracy"]``.
        target: accuracy drawn as a horizontal line (None: none).
        title: the axes' title.

    Returns:
        The matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, (seconds, accuracy) in curves.items():
        ax.plot(seconds, accuracy, "o-", label=label)
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", label=f"target {target}")
    ax.set(xlabel="training time (wall seconds)", ylabel="test accuracy", title=title)
    ax.set_xlim(left=0)
    ax.legend()
    fig.tight_layout()
    return fig
