"""Lecture 09's measurements: when pretrained features beat training from scratch, which head
to put on frozen features, and how fast to fine-tune.

* :func:`label_sweep` trains, for every number of labels per class and every seed, the three
  ways to use a target task's few labels (:data:`SWEEP_METHODS`): the network trained from
  scratch, a logistic regression on the pretrained network's frozen features (a *linear
  probe*), and the pretrained network fine-tuned end to end with a new head.
  :func:`sweep_summary` gives the mean and spread over seeds, :func:`plot_sweep` draws them.
* :func:`head_recipes` compares heads on the same frozen features: scikit-learn's logistic
  regression, a Keras dense head trained for the target run's epochs, and a Keras linear head
  (standardised features, L2 as in the logistic regression) trained to convergence.
* :func:`finetune_rates` fine-tunes the same network from the same head at 0.1x and at 1x
  the learning rate for the same epochs, and measures how far the weights moved and how well
  each fits its training images.

Images are float32 ``(N, 28, 28, 1)`` in ``[0, 1]``, labels int32 ``(N,)``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from helpers.architectures.small import build_transfer_cnn
from helpers.data import Splits
from helpers.lectures.transfer import TransferConfig, fit_target
from helpers.lectures.transfer_targets import TargetPool
from helpers.training.fine_tuning import (
    conv_blocks,
    feature_extractor,
    freeze_base,
    freeze_up_to,
    transfer_model,
)
from helpers.training.progress import progress
from helpers.training.recipe import predict_batches

SWEEP_METHODS: tuple[str, ...] = ("scratch", "linear probe", "fine-tune all")
HEADS: tuple[str, ...] = (
    "logistic regression (scikit-learn)",
    "Keras dense head, target epochs",
    "Keras linear head, to convergence",
)


def features_of(pretrained: keras.Model, x: np.ndarray) -> np.ndarray:
    """The pretrained network's ``features`` layer (global average pooling) for ``x``.

    Args:
        pretrained: a :func:`~helpers.architectures.small.build_transfer_cnn` model.
        x: float32 images ``(N, 28, 28, 1)``.

    Returns:
        float32 ``(N, C)``, ``C`` the last block's channels.
    """
    return predict_batches(feature_extractor(pretrained), x)


def logistic_regression(f_train: np.ndarray, y_train: np.ndarray, seed: int = 13):
    """scikit-learn's logistic regression on standardised features (``C = 1``), fitted.

    Args:
        f_train: ``(N, C)`` features.
        y_train: ``(N,)`` labels.
        seed: its ``random_state``.

    Returns:
        The fitted scikit-learn pipeline (``StandardScaler`` then ``LogisticRegression``).
    """
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(f_train, y_train)
    return clf


def _accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict_batches(model, x).argmax(axis=1) == y))


def run_sweep_cell(pretrained: keras.Model, splits: Splits, num_classes: int,
                   config: TransferConfig, methods: tuple[str, ...] = SWEEP_METHODS
                   ) -> dict[str, float]:
    """Test accuracy of each method on one draw of labelled target images.

    Args:
        pretrained: the source network.
        splits: the drawn target task (:meth:`TargetPool.draw`).
        num_classes: classes of the target.
        config: the recipe; ``config.seed`` seeds the new layers and the training.
        methods: a subset of :data:`SWEEP_METHODS`.

    Returns:
        method -> test accuracy in ``[0, 1]``.

    Raises:
        ValueError: for a method not in :data:`SWEEP_METHODS`.
    """
    unknown = set(methods) - set(SWEEP_METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}: use some of {SWEEP_METHODS}")
    out: dict[str, float] = {}
    for method in methods:
        if method == "scratch":
            keras.utils.set_random_seed(config.seed)
            model = build_transfer_cnn(num_classes, config.filters, config.head_units,
                                       name="scratch")
            out[method] = fit_target(model, splits, config, config.learning_rate,
                                     verbose=0).test_accuracy
        elif method == "linear probe":
            clf = logistic_regression(features_of(pretrained, splits.x_train), splits.y_train,
                                      config.seed)
            out[method] = float(clf.score(features_of(pretrained, splits.x_test),
                                          splits.y_test))
        else:  # fine-tune all: every pretrained block trainable (BN too), a new head
            model = freeze_up_to(transfer_model(pretrained, num_classes, None,
                                                config.head_units, config.seed), 0)
            out[method] = fit_target(model, splits, config, config.learning_rate,
                                     verbose=0).test_accuracy
    return out


def label_sweep(pretrained: keras.Model, pool: TargetPool, labels_per_class: tuple[int, ...],
                seeds: tuple[int, ...], config: TransferConfig,
                methods: tuple[str, ...] = SWEEP_METHODS) -> pd.DataFrame:
    """:func:`run_sweep_cell` for every label count and seed, with a progress bar.

    Args:
        pretrained: the source network.
        pool: the target (:class:`~helpers.lectures.transfer_targets.TargetPool`).
        labels_per_class: label counts to try, each ``<= pool.max_per_class()``.
        seeds: seeds of the draws (and of the training).
        config: the recipe (epochs per run from ``config.target_epochs``).
        methods: a subset of :data:`SWEEP_METHODS`.

    Returns:
        A DataFrame with one row per (label count, seed, method): ``target``,
        ``labels_per_class``, ``seed``, ``method``, ``accuracy``, ``seconds`` (the cell's
        wall time, shared by its methods).
    """
    rows = []
    cells = [(n, s) for n in labels_per_class for s in seeds]
    for n, seed in progress(cells, desc=f"{pool.name}: label counts x seeds"):
        start = time.perf_counter()
        accs = run_sweep_cell(pretrained, pool.draw(n, seed), pool.num_classes,
                              replace(config, seed=seed), methods)
        took = time.perf_counter() - start
        rows += [{"target": pool.name, "labels_per_class": n, "seed": seed, "method": m,
                  "accuracy": a, "seconds": took} for m, a in accs.items()]
    return pd.DataFrame(rows)


def sweep_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds, one row per method and label count.

    Args:
        runs: the DataFrame of :func:`label_sweep` (one target).

    Returns:
        A DataFrame indexed by ``method`` (in :data:`SWEEP_METHODS` order) with columns
        ``(statistic, labels_per_class)``, statistic ``mean``, ``std`` (0 for one seed)
        and ``seeds``.
    """
    grouped = runs.groupby(["method", "labels_per_class"])["accuracy"]
    stats = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1).fillna(0.0),
                          "seeds": grouped.count()}).unstack("labels_per_class")
    return stats.reindex([m for m in SWEEP_METHODS if m in stats.index])


def gain_over_scratch(summary: pd.DataFrame) -> pd.DataFrame:
    """Per label count: the best pretrained method, its mean accuracy and its gain.

    Args:
        summary: the DataFrame of :func:`sweep_summary`.

    Returns:
        A DataFrame indexed by ``labels_per_class`` with ``best`` (method name),
        ``best_accuracy``, ``scratch`` and ``gain_points`` (100 x the difference).
    """
    mean = summary["mean"]
    transfer = mean.drop(index="scratch")
    best = transfer.idxmax()
    return pd.DataFrame({"best": best,
                         "best_accuracy": [transfer.loc[b, n] for n, b in best.items()],
                         "scratch": mean.loc["scratch"],
                         "gain_points": [100 * (transfer.loc[b, n] - mean.loc["scratch", n])
                                         for n, b in best.items()]})


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """``mean +- std`` strings of a :func:`sweep_summary`, methods x label counts.

    Args:
        summary: the DataFrame of :func:`sweep_summary`.

    Returns:
        A DataFrame of strings such as ``"0.812 +- 0.021"``.
    """
    mean, std = summary["mean"], summary["std"]
    return pd.DataFrame({n: [f"{a:.3f} +- {b:.3f}" for a, b in zip(mean[n], std[n], strict=True)]
                         for n in mean.columns}, index=mean.index)


def crossing(summary: pd.DataFrame, within_points: float = 1.0) -> int | None:
    """The smallest label count from which training from scratch stays within
    ``within_points`` of the best pretrained method (or beats it) at every larger count.

    Args:
        summary: the DataFrame of :func:`sweep_summary`.
        within_points: tolerance in accuracy points (100 x).

    Returns:
        That label count, or None when scratch is behind at the largest count.
    """
    gains = gain_over_scratch(summary)["gain_points"]
    caught_up = None
    for n in sorted(gains.index, reverse=True):
        if gains[n] > within_points:
            break
        caught_up = n
    return caught_up


def plot_sweep(runs: pd.DataFrame) -> plt.Figure:
    """Test accuracy against labels per class (log x), mean +- std over seeds, one panel per
    target, one line per method.

    Args:
        runs: :func:`label_sweep` rows of one or more targets.

    Returns:
        The matplotlib ``Figure``.
    """
    targets = list(dict.fromkeys(runs["target"]))
    fig, axes = plt.subplots(1, len(targets), figsize=(5.2 * len(targets), 3.8), dpi=90,
                             squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        summary = sweep_summary(runs[runs["target"] == target])
        for method in summary.index:
            mean, std = 100 * summary.loc[method, "mean"], 100 * summary.loc[method, "std"]
            ax.errorbar(mean.index, mean.to_numpy(), yerr=std.to_numpy(), marker="o",
                        capsize=3, label=method)
        ax.set_xscale("log")
        ax.set_xticks(list(mean.index), [str(n) for n in mean.index])
        ax.minorticks_off()
        ax.set(xlabel="labelled target images per class (log scale)",
               ylabel="target test accuracy (%)", title=target)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _dense_head(num_classes: int, units: int, dim: int, adapt: np.ndarray | None = None,
                l2: float = 0.0) -> keras.Model:
    """A head on ``(N, dim)`` features: [Normalization adapted to ``adapt``] ->
    [Dense(units, ReLU)] -> Dense softmax."""
    inputs = keras.Input((dim,))
    x = inputs
    if adapt is not None:
        norm = keras.layers.Normalization()
        norm.adapt(adapt)
        x = norm(x)
    if units:
        x = keras.layers.Dense(units, activation="relu")(x)
    reg = keras.regularizers.L2(l2) if l2 else None
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax",
                                                  kernel_regularizer=reg)(x))


def head_recipes(pretrained: keras.Model, splits: Splits, num_classes: int,
                 config: TransferConfig, converge_epochs: int = 500) -> pd.DataFrame:
    """The :data:`HEADS` on the same frozen features of one target draw.

    * scikit-learn's logistic regression on standardised features (``C = 1``);
    * a Keras head as the transfer model has it (``head_units`` ReLU units, softmax), on the
      raw features, for the target run's epochs at ``config.learning_rate`` (what "frozen +
      new head" trains);
    * a Keras linear softmax on standardised features with the logistic regression's L2
      penalty (``1 / (2 C n)`` per image), full batch, Adam at 1e-2 for
      ``converge_epochs`` epochs: the same objective, solved by gradient descent.

    Args:
        pretrained: the source network.
        splits: the drawn target task.
        num_classes: classes of the target.
        config: the recipe of the target runs.
        converge_epochs: full-batch epochs of the linear head.

    Returns:
        A DataFrame with ``head``, ``train_accuracy``, ``test_accuracy``, one row per head.
    """
    f_train, f_test = features_of(pretrained, splits.x_train), features_of(pretrained,
                                                                           splits.x_test)
    y_train, y_test = splits.y_train, splits.y_test
    rows = []
    clf = logistic_regression(f_train, y_train, config.seed)
    rows.append((HEADS[0], clf.score(f_train, y_train), clf.score(f_test, y_test)))
    keras.utils.set_random_seed(config.seed)
    dense = _dense_head(num_classes, config.head_units, f_train.shape[1])
    empty = np.zeros((0, f_train.shape[1]), "float32")
    fit_target(dense, Splits(f_train, y_train, empty, np.zeros(0, "int32"), f_test, y_test),
               config, config.learning_rate, verbose=0)
    rows.append((HEADS[1], _accuracy(dense, f_train, y_train), _accuracy(dense, f_test, y_test)))
    keras.utils.set_random_seed(config.seed)
    linear = _dense_head(num_classes, 0, f_train.shape[1], f_train, l2=1.0 / (2 * len(f_train)))
    linear.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    linear.fit(f_train, y_train, batch_size=len(f_train), epochs=converge_epochs, verbose=0)
    rows.append((HEADS[2], _accuracy(linear, f_train, y_train),
                 _accuracy(linear, f_test, y_test)))
    return pd.DataFrame(rows, columns=["head", "train_accuracy", "test_accuracy"]).astype(
        {"train_accuracy": float, "test_accuracy": float})


def _conv_kernels(model: keras.Model) -> list[np.ndarray]:
    return [layer.get_weights()[0] for block in conv_blocks(model) for layer in block
            if isinstance(layer, keras.layers.Conv2D)]


def finetune_rates(pretrained: keras.Model, splits: Splits, num_classes: int,
                   config: TransferConfig, factors: tuple[float, ...] = (0.1, 1.0)
                   ) -> pd.DataFrame:
    """Fine-tune all blocks (BN frozen) from the same trained head at each rate factor.

    The head is first trained on the frozen base for the target run's epochs; every variant
    then starts from those weights and trains ``config.target_epochs(n)`` epochs at
    ``factor x config.learning_rate``.

    Args:
        pretrained: the source network.
        splits: the drawn target task.
        num_classes: classes of the target.
        config: the recipe.
        factors: learning-rate factors to compare.

    Returns:
        A DataFrame with ``factor``, ``train_loss`` and ``train_accuracy`` (last epoch),
        ``test_accuracy`` and ``weight_change`` (mean over the convolutions of
        ``||W - W0|| / ||W0||``), one row per factor, plus a first row ``factor = 0`` for
        the head alone.
    """
    model = freeze_base(transfer_model(pretrained, num_classes, None, config.head_units,
                                       config.seed))
    head = fit_target(model, splits, config, config.learning_rate, verbose=0)
    start, before = model.get_weights(), _conv_kernels(model)
    rows = [{"factor": 0.0, "train_loss": head.history["loss"][-1],
             "train_accuracy": head.history["accuracy"][-1],
             "test_accuracy": head.test_accuracy, "weight_change": 0.0}]
    for factor in factors:
        model.set_weights(start)
        freeze_up_to(model, 0, train_bn=False)
        fit = fit_target(model, splits, config, factor * config.learning_rate, verbose=0)
        change = np.mean([np.linalg.norm(a - b) / np.linalg.norm(b)
                          for a, b in zip(_conv_kernels(model), before, strict=True)])
        rows.append({"factor": factor, "train_loss": fit.history["loss"][-1],
                     "train_accuracy": fit.history["accuracy"][-1],
                     "test_accuracy": fit.test_accuracy, "weight_change": float(change)})
    return pd.DataFrame(rows)
