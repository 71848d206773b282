"""Classification + localisation: one object per image, a class head and a box head.

The box head regresses the corners divided by the image side (so targets lie in
[0, 1]) with a smooth L1 loss; the class head is a softmax.  The two losses are
added (the multi-task loss in its simplest form).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import keras
import numpy as np

import helpers  # noqa: F401
from helpers.detection.boxes import iou
from helpers.detection.detector_models import build_localisation_net
from helpers.detection.scenes import DetectionScenes
from helpers.training.progress import fit_verbose


def localisation_targets(scenes: DetectionScenes) -> dict[str, np.ndarray]:
    """Targets for :func:`build_localisation_net`: class (N,) and box (N, 4) / image side.

    Args:
        scenes: :class:`DetectionScenes` with exactly one object each.

    Returns:
        A dict with ``class`` (N,) class ids and ``box`` (N, 4) float32 corners divided by
        the image side, in [0, 1].

    Raises:
        ValueError: a scene does not hold exactly one object.
    """
    counts = {len(b) for b in scenes.boxes}
    if counts != {1}:
        raise ValueError(f"localisation needs exactly one object per scene, found counts {counts};"
                         " make the scenes with single_object_scenes()")
    side = scenes.images.shape[1]
    return {"class": np.concatenate(scenes.labels),
            "box": np.concatenate(scenes.boxes).astype(np.float32) / side}


@dataclass
class LocalisationResult:
    """A trained localiser and its test metrics."""

    model: keras.Model
    accuracy: float
    mean_iou: float
    hit_rate: float  # fraction with correct class and IoU >= 0.5
    seconds: float


def train_localiser(train: DetectionScenes, test: DetectionScenes, epochs: int = 5,
                    batch_size: int = 64, seed: int = 0,
                    verbose: int | None = None) -> LocalisationResult:
    """Train the two-headed network and measure class accuracy and box IoU on ``test``.

    Adam (1e-3), sparse cross-entropy for the class and a Huber loss (weight 10) for the
    box.

    Args:
        train: single-object training scenes, images (N, H, W, 1).
        test: single-object test scenes.
        epochs: training epochs.
        batch_size: images per step.
        seed: passed to ``keras.utils.set_random_seed``.
        verbose: Keras' ``fit`` verbosity (None: one line per epoch in full mode, silent in
            fast mode).

    Returns:
        :class:`LocalisationResult`: the model, test ``accuracy``, ``mean_iou``,
        ``hit_rate`` (correct class and IoU >= 0.5) and training ``seconds``.

    Raises:
        ValueError: a scene does not hold exactly one object.
    """
    keras.utils.set_random_seed(seed)
    model = build_localisation_net(train.images.shape[1:])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={"class": "sparse_categorical_crossentropy", "box": keras.losses.Huber(0.05)},
        loss_weights={"class": 1.0, "box": 10.0},
        metrics={"class": "accuracy"},
    )
    start = time.perf_counter()
    model.fit(train.images, localisation_targets(train), epochs=epochs, batch_size=batch_size,
              verbose=fit_verbose() if verbose is None else verbose)
    seconds = time.perf_counter() - start
    pred = model.predict(test.images, verbose=0)
    truth = localisation_targets(test)
    side = test.images.shape[1]
    ious = iou(np.sort(pred["box"].reshape(-1, 2, 2), axis=1).reshape(-1, 4) * side,
               truth["box"] * side)
    correct = pred["class"].argmax(1) == truth["class"]
    return LocalisationResult(model, float(correct.mean()), float(ious.mean()),
                              float(np.mean(correct & (ious >= 0.5))), seconds)


@dataclass
class PretrainResult:
    """A backbone pre-trained as a classifier (the course's stand-in for ImageNet)."""

    model: keras.Model
    accuracy: float
    seconds: float


def pretrain_backbone(n_train: int, epochs: int = 2, canvas: int = 40, n_test: int = 2000,
                      seed: int = 0, verbose: int | None = None) -> PretrainResult:
    """Train :func:`build_backbone` + global max pooling + softmax on one-item canvases.

    Small canvases (default 40 x 40, items 28-40 px) make an image cost about a tenth
    of a 128 x 128 scene, so many items are seen cheaply; the fully convolutional
    backbone then initialises the detectors on full scenes
    (:meth:`TwoStageDetector.init_backbone_from`).

    Args:
        n_train: training canvases (from FashionMNIST's training split).
        epochs: training epochs.
        canvas: side of the canvases in pixels (a multiple of 8); items are 28 to ``canvas`` px.
        n_test: test canvases.
        seed: random seed of the weights and the training canvases (test: ``seed + 1``).
        verbose: Keras' ``fit`` verbosity (None: one line per epoch in full mode, silent in
            fast mode).

    Returns:
        :class:`PretrainResult` with the model, the test accuracy on ``n_test`` canvases
        from FashionMNIST's test split, and the training seconds.
    """
    from helpers.detection.detector_models import build_backbone
    from helpers.detection.scenes import single_object_scenes

    keras.utils.set_random_seed(seed)
    size = (28, canvas)
    train = single_object_scenes(n_train, "train", seed=seed, canvas=canvas, item_size=size)
    test = single_object_scenes(n_test, "test", seed=seed + 1, canvas=canvas, item_size=size)
    backbone = build_backbone((canvas, canvas, 1))
    x = keras.layers.GlobalMaxPooling2D(name="pretrain_gmp")(backbone.output)
    out = keras.layers.Dense(10, activation="softmax", name="pretrain_class")(x)
    model = keras.Model(backbone.input, out, name="pretrained_classifier")
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(train.images, np.concatenate(train.labels), epochs=epochs, batch_size=64,
              verbose=fit_verbose() if verbose is None else verbose)
    seconds = time.perf_counter() - start
    _, acc = model.evaluate(test.images, np.concatenate(test.labels), verbose=0)
    return PretrainResult(model, float(acc), seconds)
