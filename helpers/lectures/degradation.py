"""The degradation experiment of He et al. (2015, figures 1 and 6), scaled to a 2-core CPU.

Plain and residual CIFAR-style networks (:func:`helpers.architectures.resnet.
build_cifar_resnet`, ``depth = 6n + 2``) of two depths are trained with one recipe on the
same FashionMNIST subset, and their *training* error is recorded after every epoch.  The
plain twin has exactly the layers and parameters of the residual network minus the
additions (parameter-free "option A" shortcuts), so any difference comes from the shortcuts.

What "degradation" means: the deeper *plain* network reaches a *higher training error*
than the shallower one, although it could copy the shallow one and set its extra layers to
the identity.  It is an optimisation difficulty, not overfitting.

Recipe (:class:`DegradationConfig`): Adam with a fixed learning rate, sparse categorical
cross-entropy, no augmentation, no weight decay.  The training error of an epoch is
``1 - accuracy`` averaged over that epoch's mini-batches (BatchNormalization in training
mode), as Keras reports it.  Validation is not run: in
a few hundred steps BatchNormalization's moving averages (momentum 0.99) have not
converged, so inference-mode errors would measure that, not the network.

>>> from helpers.lectures.degradation import DegradationConfig
>>> DegradationConfig().net_names()
['plain-20', 'plain-56', 'resnet-20', 'resnet-56']
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import keras  # helpers/__init__.py, which sets TensorFlow's environment, has already run
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from helpers.architectures.resnet import build_cifar_resnet
from helpers.mode import FAST_SIZES, RunMode
from helpers.training.progress import fit_verbose
from helpers.training.recipe import EpochTimer

__all__ = [
    "DegradationConfig", "NetRun", "training_subset", "train_net", "run_degradation",
    "degradation_table", "depth_gaps", "plot_training_error",
]


@dataclass(frozen=True)
class DegradationConfig:
    """How the four networks are built and trained (the same recipe for all).

    Attributes:
        depths: weighted-layer counts ``6n + 2`` to compare (shallow first).
        width: filters of the first stage (stages have ``width``, ``2 width``, ``4 width``).
        n_train: training images, a seeded random subset of the training split.
        epochs: passes over the subset.
        batch_size: images per step.
        learning_rate: Adam's fixed learning rate (no schedule).
        seed: seed of the subset, the weight initialisation and the batch order.
        run_eagerly: run the training steps eagerly (no graph); fast mode does, to skip the
            graph tracing of four deep networks, which takes longer than its tiny training.
    """

    depths: tuple[int, ...] = (20, 56)
    width: int = 8
    n_train: int = 4000
    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 13
    run_eagerly: bool = False

    def for_mode(self, mode: RunMode,
                 fast_train: int = FAST_SIZES["degradation"]["train"]) -> DegradationConfig:
        """This config in full mode; in fast mode ``fast_train`` images (default: one batch),
        ``mode.epochs(self.epochs)`` epochs and eager steps (same driver, meaningless curves)."""
        if not mode.fast:
            return self
        return replace(self, n_train=min(self.n_train, fast_train),
                       epochs=mode.epochs(self.epochs), run_eagerly=True)

    def net_names(self) -> list[str]:
        """``plain-<depth>`` then ``resnet-<depth>`` for every depth."""
        return [f"{kind}-{d}" for kind in ("plain", "resnet") for d in self.depths]

    def describe(self) -> str:
        """One line with the recipe, for the notebook."""
        return (f"{self.n_train:,} training images, {self.epochs} epochs, batch {self.batch_size}, "
                f"Adam at a fixed learning rate {self.learning_rate:g}, width {self.width}, "
                f"seed {self.seed}" + (", eager steps" if self.run_eagerly else ""))


@dataclass
class NetRun:
    """One trained network of the experiment.

    Attributes:
        name: ``"plain-20"``, ``"resnet-56"``, ...
        depth: weighted layers (convolutions + the dense layer).
        residual: whether the blocks have shortcuts.
        params: trainable + non-trainable parameters.
        train_error: per epoch, fraction of misclassified training images in ``[0, 1]``.
        train_loss: per epoch, mean cross-entropy (nats).
        epoch_seconds: wall-clock seconds of every epoch (the first includes the first step).
        first_step_seconds: wall-clock seconds of the first training step, which traces the
            training graph (unless eager) and is much slower than the others.
    """

    name: str
    depth: int
    residual: bool
    params: int
    train_error: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    first_step_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Total training time, seconds (wall clock; includes the first step, not the build)."""
        return float(sum(self.epoch_seconds))

    @property
    def final_train_error(self) -> float:
        """Training error of the last epoch, fraction."""
        return self.train_error[-1]


class _FirstStepTimer(keras.callbacks.Callback):
    """Seconds from the start of the first epoch to the end of its first batch (``seconds``)."""

    def on_train_begin(self, logs=None):
        self.seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 0:
            self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.seconds:
            self.seconds = time.perf_counter() - self._start


def training_subset(x: np.ndarray, y: np.ndarray, n: int,
                    seed: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random subset of ``n`` rows, sorted.

    Args:
        x: images ``(N, 28, 28, 1)``.
        y: labels ``(N,)``.
        n: rows to keep, ``1 <= n <= N``.
        seed: seed of the choice.

    Returns:
        A tuple ``(x_sub, y_sub)``: images ``(n, 28, 28, 1)``, labels ``(n,)``, in their
        original order.

    Raises:
        ValueError: if ``x`` and ``y`` differ in length or ``n`` is out of range.
    """
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length: {len(x)} and {len(y)}")
    if not 1 <= n <= len(x):
        raise ValueError(f"n must be in [1, {len(x)}], got {n}")
    rows = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return x[rows], y[rows]


def train_net(depth: int, residual: bool, x: np.ndarray, y: np.ndarray,
              config: DegradationConfig) -> NetRun:
    """Build a CIFAR-style ResNet (or its plain twin) and train it with the config's recipe.

    The model is ``build_cifar_resnet(depth, x.shape[1:], 10, config.width, residual)``,
    trained with Adam and sparse cross-entropy.  No XLA (``jit_compile=False``): on this CPU
    it compiled slower and stepped no faster.

    Args:
        depth: ``6n + 2`` weighted layers.
        residual: with shortcuts (ResNet) or without (plain).
        x: float32 images ``(N, 28, 28, 1)``.
        y: int labels ``(N,)``.
        config: the :class:`DegradationConfig` (width, learning rate, batch size, epochs,
            seed, eagerness).

    Returns:
        A :class:`NetRun` with per-epoch training error and loss and the timings.

    Raises:
        ValueError: if ``depth`` is not ``6n + 2``.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(config.seed)
    model = build_cifar_resnet(depth, tuple(x.shape[1:]), 10, width=config.width,
                               residual=residual)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False, run_eagerly=config.run_eagerly)
    timer, first = EpochTimer(), _FirstStepTimer()
    history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs,
                        callbacks=[timer, first], verbose=fit_verbose())
    return NetRun(
        name=f"{'resnet' if residual else 'plain'}-{depth}", depth=depth, residual=residual,
        params=int(model.count_params()),
        train_error=[1.0 - float(a) for a in history.history["accuracy"]],
        train_loss=[float(v) for v in history.history["loss"]],
        epoch_seconds=list(timer.seconds), first_step_seconds=first.seconds,
    )


def run_degradation(x_train: np.ndarray, y_train: np.ndarray,
                    config: DegradationConfig) -> list[NetRun]:
    """Train plain and residual nets of every depth in ``config`` on the same subset.

    Args:
        x_train: float32 images ``(N, 28, 28, 1)``, ``N >= config.n_train``.
        y_train: int labels ``(N,)``.

    Returns:
        :class:`NetRun` in the order of :meth:`DegradationConfig.net_names`.
    """
    x, y = training_subset(x_train, y_train, config.n_train, config.seed)
    return [train_net(d, residual, x, y, config)
            for residual in (False, True) for d in config.depths]


def degradation_table(runs: list[NetRun]) -> pd.DataFrame:
    """One row per net of the experiment.

    Args:
        runs: the :class:`NetRun` results.

    Returns:
        A DataFrame indexed by ``net`` with depth, residual, params, final and best
        training error (%), training seconds (all epochs) and the first step's seconds
        (included in the former).
    """
    return pd.DataFrame({
        "net": [r.name for r in runs],
        "depth": [r.depth for r in runs],
        "residual": [r.residual for r in runs],
        "params": [r.params for r in runs],
        "final train error %": [round(100 * r.final_train_error, 2) for r in runs],
        "best train error %": [round(100 * min(r.train_error), 2) for r in runs],
        "train seconds": [round(r.seconds, 1) for r in runs],
        "first step seconds": [round(r.first_step_seconds, 1) for r in runs],
    }).set_index("net")


def depth_gaps(runs: list[NetRun]) -> dict[str, float]:
    """Final training error of the deepest minus the shallowest net, per kind (fraction).

    Degradation is a positive plain gap, and residual learning shows as a resnet gap <= 0
    (or close to 0).

    Args:
        runs: the :class:`NetRun` results, with at least two depths of each kind.

    Returns:
        ``{"plain": e(plain-deep) - e(plain-shallow), "resnet": ...}``, floats.

    Raises:
        ValueError: if a kind has fewer than two nets.
    """
    gaps = {}
    for kind, residual in (("plain", False), ("resnet", True)):
        same = sorted((r for r in runs if r.residual == residual), key=lambda r: r.depth)
        if len(same) < 2:
            raise ValueError(f"need two depths of {kind} nets, got {len(same)}")
        gaps[kind] = same[-1].final_train_error - same[0].final_train_error
    return gaps


def plot_training_error(runs: list[NetRun], title_note: str = "") -> plt.Figure:
    """He et al.'s figure 6 layout: training error (%) per epoch, plain left, residual right.

    The deeper net is drawn in bold; the panels share one y axis.

    Args:
        runs: the :class:`NetRun` results.
        title_note: appended to the figure's title in parentheses (empty: nothing).

    Returns:
        The matplotlib ``Figure``.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), dpi=90, sharey=True)
    shallow = min(r.depth for r in runs)
    for ax, residual, label in ((axes[0], False, "plain"), (axes[1], True, "residual (ResNet)")):
        for r in sorted((r for r in runs if r.residual == residual), key=lambda r: r.depth):
            epochs = np.arange(1, len(r.train_error) + 1)
            ax.plot(epochs, 100 * np.asarray(r.train_error), marker="o", markersize=4,
                    linewidth=1.2 if r.depth == shallow else 2.5,
                    linestyle="--" if r.depth == shallow else "-", label=r.name)
        ax.set_title(f"{label} networks")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("training error (%)")
    fig.suptitle("Training error per epoch on FashionMNIST" + (f" ({title_note})"
                                                              if title_note else ""))
    fig.tight_layout()
    return fig
