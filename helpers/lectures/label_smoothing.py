"""Label smoothing (Szegedy et al., Inception-v3, 2016): the formula and a measurement.

Cross-entropy against a one-hot target pushes the true class's logit towards infinity.
Label smoothing mixes the target with the uniform distribution over the ``K`` classes,

    q'(k) = (1 - eps) * [k = y] + eps / K,

so the best prediction puts ``1 - eps + eps / K`` on the true class and ``eps / K`` on each
other: the logits stay finite and the network is discouraged from being over-confident.
Inception-v3 used ``eps = 0.1`` on ImageNet (K = 1000); the course's fast recipe (lecture 1,
section 10) uses ``eps = 0.1`` too.  :func:`label_smoothing_study` trains the fast recipe
with and without it on FashionMNIST and reports accuracy, confidence and calibration.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from helpers.mode import FAST_SIZES, RunMode, run_mode


def smoothed_targets(y: np.ndarray, num_classes: int, epsilon: float) -> np.ndarray:
    """The smoothed target distribution ``(1 - eps) * one_hot(y) + eps / K``.

    Args:
        y: integer labels ``(N,)`` in ``0 .. num_classes - 1``.
        num_classes: ``K``.
        epsilon: the smoothing weight, in ``[0, 1)``.

    Returns:
        float64 targets ``(N, K)``; every row sums to 1.

    Raises:
        ValueError: ``epsilon`` outside ``[0, 1)`` or a label outside the classes.
    """
    y = np.asarray(y)
    if not 0 <= epsilon < 1:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon}; Inception-v3 used 0.1")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    targets = np.full((len(y), num_classes), epsilon / num_classes)
    targets[np.arange(len(y)), y] += 1.0 - epsilon
    return targets


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: how far confidence is from accuracy, on average.

    The predictions are grouped by their confidence (the largest probability) into ``bins``
    equal-width bins of ``(0, 1]``; ECE is the mean over bins of ``|accuracy - confidence|``,
    weighted by the fraction of predictions in the bin (Guo et al., 2017).

    Args:
        probs: class probabilities ``(N, K)``.
        y: integer labels ``(N,)``.
        bins: number of confidence bins.

    Returns:
        ECE in ``[0, 1]`` (0: perfectly calibrated).
    """
    probs, y = np.asarray(probs), np.asarray(y)
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(ece)


def prediction_report(probs: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy, mean confidence, ECE and negative log-likelihood of predictions.

    Args:
        probs: class probabilities ``(N, K)``.
        y: integer labels ``(N,)``.

    Returns:
        ``{"test accuracy", "mean confidence", "ECE", "test NLL"}`` (NLL in nats per image).
    """
    from sklearn.metrics import log_loss

    probs, y = np.asarray(probs, np.float64), np.asarray(y)
    probs = probs / probs.sum(axis=1, keepdims=True)  # float32 softmax rows sum to 1 +- 1e-7
    return {
        "test accuracy": float(np.mean(probs.argmax(axis=1) == y)),
        "mean confidence": float(probs.max(axis=1).mean()),
        "ECE": expected_calibration_error(probs, y),
        "test NLL": float(log_loss(y, probs, labels=np.arange(probs.shape[1]))),
    }


def label_smoothing_study(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                          y_test: np.ndarray, epsilons: tuple[float, ...] = (0.0, 0.1),
                          seeds: tuple[int, ...] = (13, 14, 15), recipe=None,
                          mode: RunMode | None = None) -> pd.DataFrame:
    """Train the fast recipe once per (epsilon, seed) and measure its test predictions.

    Everything but ``label_smoothing`` and ``seed`` is the recipe's (default
    :data:`helpers.training.fast.FAST`); the same seed gives the same initial weights and
    batches for every epsilon, so differences are measured pair by pair.

    Args:
        x_train, y_train: float32 images ``(N, 28, 28, 1)`` and integer labels ``(N,)``.
        x_test, y_test: the test images and labels.
        epsilons: smoothing weights to compare.
        seeds: random seeds (fast mode keeps ``FAST_SIZES["label_smoothing"]["seeds"]``).
        recipe: a :class:`helpers.training.fast.Recipe` (None: ``FAST``).
        mode: the :class:`~helpers.mode.RunMode` (None: :func:`~helpers.mode.run_mode`);
            fast mode also subsamples and caps the epochs (``train_recipe``).

    Returns:
        DataFrame, one row per run: ``epsilon``, ``seed``, ``seconds``, ``train accuracy``
        (during the last epoch) and the columns of :func:`prediction_report`.
    """
    import keras

    from helpers.training.fast import FAST, build_fast_cnn, train_recipe
    from helpers.training.progress import progress

    mode = run_mode() if mode is None else mode
    recipe = FAST if recipe is None else recipe
    if mode.fast:
        seeds = seeds[: FAST_SIZES["label_smoothing"]["seeds"]]
    x_eval, y_eval = mode.subset(x_test, y_test, kind="eval", seed=0)
    rows = []
    runs = [(eps, seed) for seed in seeds for eps in epsilons]
    for eps, seed in progress(runs, "label smoothing runs", mode=mode):
        r = dataclasses.replace(recipe, label_smoothing=eps, seed=seed, tta_flip=False)
        model = build_fast_cnn(r)
        result = train_recipe(x_train, y_train, x_eval, y_eval, recipe=r, target=None,
                              model=model, mode=mode)
        logits = model.predict(x_eval, batch_size=1024, verbose=0)
        probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=1))
        rows.append({"epsilon": eps, "seed": seed, "seconds": result.seconds,
                     "train accuracy": result.history["accuracy"][-1],
                     **prediction_report(probs, y_eval)})
    return pd.DataFrame(rows)


def study_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds, and each epsilon's change from the first.

    Args:
        runs: the output of :func:`label_smoothing_study`.

    Returns:
        DataFrame indexed by epsilon: the mean of every measured column, ``accuracy std``,
        and ``accuracy change (points)`` against the first epsilon, seed by seed.
    """
    cols = ["test accuracy", "mean confidence", "ECE", "test NLL"]
    table = runs.groupby("epsilon")[cols].mean()
    table["accuracy std"] = runs.groupby("epsilon")["test accuracy"].std(ddof=0)
    by_seed = runs.pivot(index="seed", columns="epsilon", values="test accuracy")
    base = by_seed.columns[0]
    table["accuracy change (points)"] = [100 * float((by_seed[e] - by_seed[base]).mean())
                                         for e in table.index]
    return table
