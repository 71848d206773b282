"""BatchNormalization's main practical effect, measured: it makes high learning rates usable.

The same small CNN (:func:`build_bn_cnn`) is trained with and without BatchNormalization
layers, at a low and at a high learning rate, on the same FashionMNIST data with the same
recipe (:class:`BNConfig`): four runs.  Ioffe & Szegedy (2015) report that BN lets them
"increase learning rate" (their BN-x5 and BN-x30 networks).  Here Adam at 0.05 (50 times
the usual 1e-3) kills the plain network within its first steps (its ReLUs die: after the
eight steps of a fast-mode run 20-100 % of the channels per layer, all of the last layer's, see
:func:`helpers.nn.activations.dead_relu_fraction`; the loss sticks at ln 10 = 2.303 and the
accuracy at chance), while the BN network still trains.  (Probed on 2,000-4,000 images
and two seeds: the plain net trained at 0.03 and died at 0.05 and 0.1; the BN net trained
at 0.05 and died at 0.1.)

Full mode (12,000 training images, 5 epochs, the 5,000 validation and 10,000 test images)
costs about 10 CPU-minutes for the four runs, some 5-6 minutes on two cores.

>>> from helpers.lectures.bn_experiment import BNConfig
>>> BNConfig().run_names()
['plain, lr=0.001', 'BN, lr=0.001', 'plain, lr=0.05', 'BN, lr=0.05']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from helpers.data import Splits, fashion_mnist_splits
from helpers.mode import FAST_SIZES, RunMode, run_mode
from helpers.training.progress import fit_verbose
from helpers.training.recipe import EpochTimer

__all__ = [
    "BNConfig", "BNRun", "build_bn_cnn", "conv_structure", "train_run", "run_bn_experiment",
    "bn_results_table", "plot_bn_curves",
]


#: Fast mode's data: at most this many training images, and this many validation and test
#: images (fewer than the course default: the four runs' cost is mostly fixed per run).
FAST_TRAIN, FAST_EVAL = FAST_SIZES["bn_experiment"]["train"], FAST_SIZES["bn_experiment"]["eval"]


@dataclass(frozen=True)
class BNConfig:
    """How the four networks are built and trained (one recipe for all).

    Attributes:
        learning_rates: the low and the high learning rate (Adam, fixed, no schedule).
        filters: output channels of the 3x3 convolutions; a 2x2 max pooling follows every
            second one.
        n_train: training images (the first ``n_train`` of the training split; ``None``:
            all of it).
        epochs: passes over the training images.
        batch_size: images per step.
        bn_momentum: BatchNormalization's moving-average momentum; 0.9 (Keras' default is
            0.99) so the inference statistics used for validation settle within the first
            epoch.
        seed: seed of the weights and the batch order (the same for all four runs).
        run_eagerly: run the steps eagerly (no graph tracing; for tiny test runs).
    """

    learning_rates: tuple[float, float] = (1e-3, 5e-2)
    filters: tuple[int, ...] = (16, 16, 32, 32)
    n_train: int | None = 12000
    epochs: int = 5
    batch_size: int = 128
    bn_momentum: float = 0.9
    seed: int = 13
    run_eagerly: bool = False

    def for_mode(self, mode: RunMode) -> BNConfig:
        """This config in full mode; in fast mode ``mode.epochs(self.epochs)`` epochs and at
        most :data:`FAST_TRAIN` training images (what :func:`run_bn_experiment`'s fast splits
        hold), so that :meth:`describe` tells the truth."""
        if not mode.fast:
            return self
        cap = min(mode.max_train, FAST_TRAIN)
        n_train = cap if self.n_train is None else min(self.n_train, cap)
        return replace(self, epochs=mode.epochs(self.epochs), n_train=n_train)

    def run_names(self) -> list[str]:
        """``plain, lr=...`` and ``BN, lr=...`` for each learning rate, low rate first."""
        return [_name(bn, lr) for lr in self.learning_rates for bn in (False, True)]

    def describe(self) -> str:
        """One line with the recipe, for the notebook."""
        n = "all" if self.n_train is None else f"{self.n_train:,}"
        return (f"{n} training images, {self.epochs} epochs, batch {self.batch_size}, Adam at "
                f"fixed learning rates {' and '.join(f'{lr:g}' for lr in self.learning_rates)}"
                f", conv filters {self.filters}, seed {self.seed}")


def _name(batch_norm: bool, learning_rate: float) -> str:
    return f"{'BN' if batch_norm else 'plain'}, lr={learning_rate:g}"


@dataclass
class BNRun:
    """One trained network.

    Attributes:
        batch_norm: whether it has BatchNormalization layers.
        learning_rate: Adam's learning rate.
        history: per-epoch ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` (accuracy
            as a fraction; a diverged run has NaN losses and chance accuracy).
        epoch_seconds: wall-clock seconds of every epoch.
        test_accuracy: fraction of the test split classified correctly.
        params: trainable + non-trainable parameters.
        model: the trained network (e.g. for
            :func:`helpers.nn.activations.dead_relu_fraction`).
    """

    batch_norm: bool
    learning_rate: float
    history: dict[str, list[float]]
    epoch_seconds: list[float]
    test_accuracy: float
    params: int
    model: keras.Model | None = field(default=None, repr=False)
    extra: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return _name(self.batch_norm, self.learning_rate)

    @property
    def seconds(self) -> float:
        """Total training seconds (validation included, test evaluation not)."""
        return float(sum(self.epoch_seconds))


def build_bn_cnn(batch_norm: bool, input_shape: tuple[int, int, int] = (28, 28, 1),
              n_classes: int = 10, filters: Sequence[int] = (16, 16, 32, 32),
              bn_momentum: float = 0.9) -> keras.Model:
    """A VGG-style CNN with or without BatchNormalization.

    ``[Conv 3x3 -> (BN) -> ReLU] x len(filters)``, a 2x2 max pooling after every second
    convolution, ``Flatten``, ``Dense(n_classes, softmax)``.  With ``batch_norm`` every
    convolution is followed by a ``BatchNormalization`` and has no bias (BN's beta replaces
    it); the convolutions are otherwise identical (same filters, kernels, strides, padding
    and names ``conv1``, ``conv2``, ...).

    Args:
        batch_norm: add the BatchNormalization layers.
        input_shape: ``(H, W, C)`` of one image (pixels, channels).
        n_classes: units of the softmax layer.
        filters: output channels of each convolution (positive).
        bn_momentum: momentum of the BN moving statistics, in ``[0, 1)``.

    Returns:
        A functional ``keras.Model`` named ``cnn_bn`` or ``cnn_plain``,
        ``(N, H, W, C) -> (N, n_classes)``.

    Raises:
        ValueError: if ``filters`` is empty or not positive, or ``bn_momentum`` is not in
            ``[0, 1)``.
    """
    if not filters or min(filters) < 1:
        raise ValueError(f"filters must be a non-empty list of positive channel counts, "
                         f"got {filters!r}")
    if not 0.0 <= bn_momentum < 1.0:
        raise ValueError(f"bn_momentum must be in [0, 1), got {bn_momentum}")
    x = inputs = keras.Input(input_shape)
    for i, f in enumerate(filters, start=1):
        x = keras.layers.Conv2D(f, 3, padding="same", use_bias=not batch_norm,
                                kernel_initializer="he_normal", name=f"conv{i}")(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
        if i % 2 == 0:
            x = keras.layers.MaxPooling2D(2, name=f"pool{i // 2}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="cnn_bn" if batch_norm else "cnn_plain")


def conv_structure(model: keras.Model) -> list[tuple]:
    """``(name, filters, kernel_size, strides, padding)`` of every ``Conv2D`` of ``model``.

    Args:
        model: a Keras model.

    Returns:
        A list of tuples, one per Conv2D layer, in layer order.
    """
    return [(layer.name, layer.filters, tuple(layer.kernel_size), tuple(layer.strides),
             layer.padding) for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def train_run(batch_norm: bool, learning_rate: float, splits: Splits,
              config: BNConfig) -> BNRun:
    """Build :func:`build_bn_cnn` and train it with Adam at ``learning_rate``, then test it.

    Trains on the first ``config.n_train`` training images, validating every epoch.
    Without XLA (``jit_compile=False``): compiling four small nets costs more than it saves
    on a CPU.

    Args:
        batch_norm: train the BN network (True) or the plain one.
        learning_rate: Adam's learning rate, ``> 0``.
        splits: :class:`~helpers.data.Splits` with integer labels.
        config: the :class:`BNConfig` (n_train, batch size, epochs, seed, ...).

    Returns:
        A :class:`BNRun` with the per-epoch history, test accuracy and seconds.

    Raises:
        ValueError: if ``learning_rate <= 0``.
    """
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    n = len(splits.x_train) if config.n_train is None else min(config.n_train,
                                                                 len(splits.x_train))
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_bn_cnn(batch_norm, tuple(splits.x_train.shape[1:]),
                      filters=config.filters, bn_momentum=config.bn_momentum)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False, run_eagerly=config.run_eagerly)
    timer = EpochTimer()
    history = model.fit(splits.x_train[:n], splits.y_train[:n], batch_size=config.batch_size,
                        epochs=config.epochs, validation_data=(splits.x_val, splits.y_val),
                        callbacks=[timer], verbose=fit_verbose())
    _, test_accuracy = model.evaluate(splits.x_test, splits.y_test, verbose=0)
    return BNRun(batch_norm, float(learning_rate),
                 {k: [float(v) for v in vals] for k, vals in history.history.items()},
                 list(timer.seconds), float(test_accuracy), int(model.count_params()),
                 model=model, extra={"n_train": n})


def run_bn_experiment(mode: RunMode | None = None, splits: Splits | None = None,
                      config: BNConfig | None = None) -> tuple[pd.DataFrame, list[BNRun]]:
    """Train the four networks (plain and BN, at each learning rate) with one recipe.

    Args:
        mode: fast or full (default: :func:`helpers.mode.run_mode`); fast mode trains
            ``mode.epochs(config.epochs)`` epoch(s) on at most :data:`FAST_TRAIN` images.
        splits: the data (default: ``fashion_mnist_splits(mode=mode)``, in fast mode with
            ``config.n_train`` training and :data:`FAST_EVAL` validation and test images).
        config: the recipe (default: :class:`BNConfig`).

    Returns:
        :func:`bn_results_table` of the runs, and the runs in :meth:`BNConfig.run_names` order.
    """
    config = BNConfig() if config is None else config
    if len(config.learning_rates) != 2:
        raise ValueError(f"config.learning_rates must be (low, high), got "
                         f"{config.learning_rates!r}")
    mode = run_mode() if mode is None else mode
    config = config.for_mode(mode)
    if splits is None:
        data_mode = mode if not mode.fast else replace(
            mode, max_train=config.n_train or mode.max_train,
            max_eval=min(mode.max_eval, FAST_EVAL))
        splits = fashion_mnist_splits(mode=data_mode, seed=config.seed)
    runs = [train_run(bn, lr, splits, config)
            for lr in config.learning_rates for bn in (False, True)]
    return bn_results_table(runs), runs


def bn_results_table(runs: Sequence[BNRun]) -> pd.DataFrame:
    """One row per run of the BatchNormalization experiment.

    Args:
        runs: the :class:`BNRun` results (at least one).

    Returns:
        A DataFrame with ``batch_norm``, ``learning_rate``, final training and validation
        accuracy (last epoch), test accuracy (fractions) and training ``seconds``.

    Raises:
        ValueError: if ``runs`` is empty.
    """
    if not runs:
        raise ValueError("runs is empty: pass the runs of run_bn_experiment")
    return pd.DataFrame({
        "batch_norm": [r.batch_norm for r in runs],
        "learning_rate": [r.learning_rate for r in runs],
        "final train acc": [round(r.history["accuracy"][-1], 4) for r in runs],
        "final val acc": [round(r.history["val_accuracy"][-1], 4) for r in runs],
        "test acc": [round(r.test_accuracy, 4) for r in runs],
        "seconds": [round(r.seconds, 1) for r in runs],
    })


def plot_bn_curves(runs: Sequence[BNRun], title_note: str = "") -> plt.Figure:
    """Validation accuracy (%) per epoch: one panel per learning rate.

    The plain network is dashed and the BN network solid; the panels share one y axis.

    Args:
        runs: the :class:`BNRun` results (at least one).
        title_note: appended to the figure's title (empty: nothing).

    Returns:
        The matplotlib ``Figure``.

    Raises:
        ValueError: if ``runs`` is empty.
    """
    if not runs:
        raise ValueError("runs is empty: pass the runs of run_bn_experiment")
    rates = sorted({r.learning_rate for r in runs})
    fig, axes = plt.subplots(1, len(rates), figsize=(4.6 * len(rates), 3.6), dpi=90,
                             sharey=True, squeeze=False)
    for ax, lr in zip(axes[0], rates, strict=True):
        for r in sorted((r for r in runs if r.learning_rate == lr), key=lambda r: r.batch_norm):
            acc = 100 * np.asarray(r.history["val_accuracy"])
            ax.plot(np.arange(1, len(acc) + 1), acc, marker="o", markersize=4,
                    linestyle="-" if r.batch_norm else "--",
                    color="C1" if r.batch_norm else "C0", label=r.name)
        ax.set_title(f"Adam, learning rate {lr:g}")
        ax.set_xlabel("epoch")
        epochs = max(len(r.history["val_accuracy"]) for r in runs)
        ax.set_xlim(0.5, epochs + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0, 0].set_ylabel("validation accuracy (%)")
    fig.suptitle("With and without BatchNormalization on FashionMNIST"
                 + (f" ({title_note})" if title_note else ""))
    fig.tight_layout()
    return fig
