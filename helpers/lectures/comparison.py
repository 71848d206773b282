"""A measured comparison on FashionMNIST: five small networks, one per family, trained the
same way for the same number of epochs.

The contenders are :data:`helpers.architectures.fashion_zoo.ZOO` (one skeleton, only the
family's block differs).  :func:`run_comparison` counts each model (parameters and
multiply-adds per image with :func:`layer_table`) and trains it with the course's fast
recipe (:func:`helpers.training.fast.train_recipe`: Adam with warm-up and cosine decay,
label smoothing, ``tf.data``, 16 steps per call) on all 60,000 training images for
:data:`EPOCHS` epochs (the same optimisation steps for every model; the wall-clock time is
measured, not budgeted, so a busy machine changes the times but not the accuracies),
measuring the test accuracy after every epoch.  The reported accuracies are the last epoch's,
plain and with a horizontal flip at test time (no selection on the test set).
:func:`plot_comparison` draws the accuracy against training time, multiply-adds, parameters
and seconds per epoch.
"""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from helpers.architectures.fashion_zoo import ZOO
from helpers.arithmetic.layer_table import layer_table, layer_table_totals
from helpers.mode import FAST_SIZES, RunMode
from helpers.training.fast import FAST, Recipe, RecipeResult, full_training_data, train_recipe

#: Epochs every model trains in full mode: 16 x 469 = 7,504 steps of batch 128 each.
EPOCHS = 16
#: The shared recipe: the fast recipe at batch 128 with a one-epoch warm-up and :data:`EPOCHS`
#: epochs; augmentation (flip, 2-pixel shift) is inside every model, so none in the pipeline;
#: the final test accuracy is also measured with flip test-time augmentation.
RECIPE: Recipe = FAST.with_(batch_size=128, warmup_epochs=1.0, flip=False, augment="none",
                            epochs=EPOCHS, tta_flip=True)
#: The test accuracy whose first crossing is timed (column ``s_to_target``).
TARGET = 0.92

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def comparison_mode(mode: RunMode) -> RunMode:
    """The :class:`RunMode` the comparison trains under.

    Full mode is unchanged (all 60,000 training and 10,000 test images).  Fast mode trains one
    epoch on ``FAST_SIZES["comparison"]`` images (256 and 256: two batches), so that five
    models fit in the fast run's time; there, building each model's graph takes longer than
    training it.

    Args:
        mode: the notebook's :class:`~helpers.mode.RunMode`.

    Returns:
        A :class:`~helpers.mode.RunMode`.
    """
    if not mode.fast:
        return mode
    sizes = FAST_SIZES["comparison"]
    return RunMode(fast=True, max_epochs=1, max_train=sizes["train"], max_eval=sizes["eval"])


def comparison_data() -> Data:
    """FashionMNIST for the comparison: the official 60,000 training and 10,000 test images.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: float32 images ``(N, 28, 28, 1)`` in ``[0, 1]``
        and integer labels ``(N,)``.  :func:`run_comparison` subsamples them in fast mode.
    """
    return full_training_data()


def build_zoo(zoo: dict | None = None, seed: int = 13) -> dict[str, keras.Model]:
    """Build every model of ``zoo`` (default :data:`ZOO`) after seeding Keras.

    Args:
        zoo: name -> a function of no arguments that builds a Keras model.
        seed: passed to ``keras.utils.set_random_seed`` before each build.

    Returns:
        A dict name -> built ``keras.Model``.
    """
    models = {}
    for name, build in (zoo or ZOO).items():
        keras.utils.set_random_seed(seed)
        models[name] = build()
    return models


def zoo_table(models: dict[str, keras.Model]) -> pd.DataFrame:
    """Size of each built model.

    Args:
        models: name -> built Keras model.

    Returns:
        A DataFrame with ``model``, ``params``, ``macs`` (multiply-adds per 28x28 image, via
        :func:`layer_table`) and ``layers``, one row per model.
    """
    rows = []
    for name, model in models.items():
        totals = layer_table_totals(layer_table(model))
        rows.append({"model": name, "params": totals["params"], "macs": totals["macs"],
                     "layers": totals["layers"]})
    return pd.DataFrame(rows)


def epoch_seconds(result: RecipeResult) -> list[float]:
    """Training seconds of each epoch of a :func:`train_recipe` run.

    Args:
        result: the run.

    Returns:
        One float per epoch: differences of the cumulative ``train_seconds`` (the first
        epoch includes building the training graph).
    """
    cumulative = result.history["train_seconds"]
    return [b - a for a, b in zip([0.0, *cumulative[:-1]], cumulative, strict=True)]


def run_comparison(models: dict[str, keras.Model], data: Data, mode: RunMode,
                   budget_s: float | None = None, recipe: Recipe = RECIPE,
                   target: float = TARGET) -> tuple[pd.DataFrame, dict[str, RecipeResult]]:
    """Train each model the same way for the same epochs (or time) and tabulate the results.

    Args:
        models: name -> built Keras model (softmax outputs).
        data: ``(x_train, y_train, x_test, y_test)`` as from :func:`comparison_data`.
        mode: the notebook's :class:`~helpers.mode.RunMode`; fast mode trains one epoch on
            a few images (:func:`comparison_mode`) and ignores ``budget_s``.
        budget_s: None (default) to train ``recipe.epochs`` epochs per model; or a
            wall-clock budget in seconds per model in full mode (> 0), the epochs that fit.
        recipe: the shared :class:`~helpers.training.fast.Recipe`.
        target: the test accuracy whose first crossing is timed.

    Returns:
        A tuple ``(table, results)``: a DataFrame with columns ``model``, ``params``,
        ``macs``, ``epochs``, ``s_per_epoch`` (median training seconds of an epoch after the
        first), ``test_accuracy`` (last epoch), ``test_accuracy_tta`` (last epoch, with flip
        test-time augmentation; NaN without ``recipe.tta_flip``), ``s_to_target`` (training
        seconds until the test accuracy first reached ``target``, NaN if never) and
        ``total_s`` (wall seconds of the run); and a dict name ->
        :class:`~helpers.training.fast.RecipeResult`.

    Raises:
        ValueError: if ``budget_s <= 0``.
    """
    if budget_s is not None and budget_s <= 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s}")
    run_as = comparison_mode(mode)
    sizes = zoo_table(models).set_index("model")
    rows, results = [], {}
    for name, model in models.items():
        result = train_recipe(*data, recipe=recipe, budget_s=None if mode.fast else budget_s,
                              target=target, model=model, mode=run_as)
        results[name] = result
        seconds = epoch_seconds(result)
        rows.append({
            "model": name, "params": int(sizes.loc[name, "params"]),
            "macs": int(sizes.loc[name, "macs"]), "epochs": result.epochs,
            "s_per_epoch": float(np.median(seconds[1:] or seconds)),
            "test_accuracy": result.test_accuracy,
            "test_accuracy_tta": (np.nan if result.test_accuracy_tta is None
                                  else result.test_accuracy_tta),
            "s_to_target": (np.nan if result.time_to_target is None
                            else float(result.time_to_target)),
            "total_s": float(result.wall_seconds),
        })
    return pd.DataFrame(rows), results


def plot_comparison(table: pd.DataFrame, results: dict[str, RecipeResult]) -> plt.Figure:
    """Test accuracy against training time, multiply-adds, parameters and seconds per epoch.

    Args:
        table: the table of :func:`run_comparison`.
        results: the results of :func:`run_comparison`.

    Returns:
        The matplotlib ``Figure``: four panels, one colour per model.
    """
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), dpi=90)
    curves, by_macs, by_params, by_time = axes.ravel()
    colours = {name: f"C{i}" for i, name in enumerate(table["model"])}
    for name, result in results.items():
        curves.plot(result.history["train_seconds"], result.history["test_accuracy"],
                    marker="o", markersize=3, color=colours[name], label=name)
    curves.set_xlabel("training time (s, wall clock, 2-core CPU)")
    curves.set_ylabel("test accuracy")
    curves.set_title("Accuracy during training (one point per epoch)")
    curves.legend(fontsize=8)
    panels = ((by_macs, "macs", 1e6, "multiply-adds per image (millions)"),
              (by_params, "params", 1e6, "parameters (millions)"),
              (by_time, "s_per_epoch", 1.0, "seconds per epoch (60,000 images)"))
    for ax, column, scale, label in panels:
        for row in table.itertuples():
            value = getattr(row, column) / scale
            ax.scatter(value, row.test_accuracy, s=60, color=colours[row.model],
                       edgecolor="black", zorder=3)
            ax.annotate(row.model, (value, row.test_accuracy), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy (last epoch)")
        ax.set_title(f"Accuracy against {label.split(' (')[0]}")
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
