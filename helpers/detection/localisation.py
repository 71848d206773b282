"""Classification + localisation: one object per image, a class head and a box head.

The box head regresses the corners divided by the image side (so targets lie in
[0, 1]) with a smooth L1 loss; the class head is a softmax.  The two losses are
added (the multi-task loss in its simplest form).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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


class ItemRoIPool(keras.layers.Layer):
    """RoI pooling of one box per image, as the detectors' head pools (7 x 7, bilinear).

    Call on ``[feature map (B, h, w, C), boxes (B, 4)]`` with the boxes in image pixels;
    returns ``(B, size, size, C)``.
    """

    def __init__(self, size: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, inputs):
        import tensorflow as tf

        from helpers.detection.detector_models import BACKBONE_STRIDE
        from helpers.detection.roi_pooling import crop_and_resize_tf

        fmap, boxes = inputs
        index = tf.range(tf.shape(boxes)[0])
        return crop_and_resize_tf(fmap, boxes, index, self.size, 1.0 / BACKBONE_STRIDE)

    def compute_output_shape(self, input_shapes):
        fmap_shape = input_shapes[0]
        return (fmap_shape[0], self.size, self.size, fmap_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def build_pretraining_classifier(canvas: int = 40, pool_size: int = 7) -> keras.Model:
    """The detectors' backbone and RoI head as a classifier of one item per canvas.

    The item's box is RoI-pooled from the backbone's feature map and classified by the
    Fast R-CNN head (:func:`~helpers.detection.detector_models.build_roi_head`, background
    at index 0 and FashionMNIST class ``c`` at ``c + 1``), so pre-training trains the
    fully connected layers too, as ImageNet pre-training trains VGG16's fc6 and fc7.

    Args:
        canvas: side of the square canvases in pixels (a multiple of 8).
        pool_size: side of the pooled RoI features (cells).

    Returns:
        keras.Model mapping ``[image (B, canvas, canvas, 1), box (B, 4) in pixels]`` to
        class logits ``(B, 11)``; its sub-models ``backbone`` and ``roi_head`` are the ones
        :meth:`TwoStageDetector.init_backbone_from` copies.
    """
    from helpers.detection.detector_models import build_backbone, build_roi_head

    backbone = build_backbone((canvas, canvas, 1))
    box = keras.Input((4,), name="box")
    pooled = ItemRoIPool(pool_size, name="item_roi_pool")([backbone.output, box])
    head = build_roi_head(pool_size)
    head.get_layer("bbox_deltas").trainable = False  # no boxes to regress in pre-training
    logits, _ = head(pooled)
    return keras.Model([backbone.input, box], logits, name="pretrained_classifier")


def _item_inputs(scenes: DetectionScenes) -> tuple[list[np.ndarray], np.ndarray]:
    """``([images, boxes], labels + 1)`` of one-item scenes for the pre-training classifier."""
    return ([scenes.images, np.concatenate(scenes.boxes).astype(np.float32)],
            np.concatenate(scenes.labels) + 1)


@dataclass
class PretrainResult:
    """A backbone pre-trained as a classifier (the course's stand-in for ImageNet)."""

    model: keras.Model
    accuracy: float  # on the test canvases after the last epoch
    seconds: float  # training, canvas generation included
    test_accuracy: list[float] = field(default_factory=list)  # after every epoch


def pretrain_backbone(n_train: int, epochs: int = 2, canvas: int = 40, n_test: int = 2000,
                      seed: int = 0, learning_rate: float = 1e-3,
                      verbose: int | None = None) -> PretrainResult:
    """Pre-train the detectors' backbone and RoI head as a classifier on one-item canvases.

    Small canvases (default 40 x 40, items 28-40 px) make an image cost about a tenth
    of a 128 x 128 scene, so many items are seen cheaply; the fully convolutional
    backbone then initialises the detectors on full scenes
    (:meth:`TwoStageDetector.init_backbone_from`), with the RoI head that classifies the
    item's box (:func:`build_pretraining_classifier`).  Every epoch draws **fresh canvases**
    (new items, sizes, positions, clutter and noise): with one fixed set of 40,000 the
    network memorises it (training accuracy 0.93 against 0.83 on test canvases after
    6 epochs), with fresh ones training and test accuracy stay together.  Adam with a
    cosine decay of the learning rate to 5 % over all steps.

    Args:
        n_train: training canvases per epoch (from FashionMNIST's training split).
        epochs: training epochs, each on new canvases.
        canvas: side of the canvases in pixels (a multiple of 8); items are 28 to ``canvas`` px.
        n_test: test canvases (FashionMNIST's test split), evaluated after every epoch.
        seed: random seed of the weights; epoch ``e`` draws its canvases with seed
            ``seed + 100 + e``, the test canvases with ``seed + 1``.
        learning_rate: Adam's initial learning rate.
        verbose: Keras' ``fit`` verbosity (None: one line per epoch in full mode, silent in
            fast mode).

    Returns:
        :class:`PretrainResult` with the model, the final test accuracy and the one after
        every epoch, and the training seconds (canvas generation included).

    Raises:
        ValueError: ``n_train``, ``epochs`` or ``n_test`` is below 1.
    """
    from helpers.detection.scenes import single_object_scenes

    if min(n_train, epochs, n_test) < 1:
        raise ValueError(f"need n_train, epochs and n_test >= 1, got {n_train}, {epochs}, "
                         f"{n_test}")
    keras.utils.set_random_seed(seed)
    size, batch = (28, canvas), 64
    test = single_object_scenes(n_test, "test", seed=seed + 1, canvas=canvas, item_size=size)
    model = build_pretraining_classifier(canvas)
    steps = epochs * int(np.ceil(n_train / batch))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    verbose = fit_verbose() if verbose is None else verbose
    history: list[float] = []
    start = time.perf_counter()
    for epoch in range(epochs):
        train = single_object_scenes(n_train, "train", seed=seed + 100 + epoch, canvas=canvas,
                                     item_size=size)
        model.fit(*_item_inputs(train), epochs=1, batch_size=batch, verbose=verbose)
        _, acc = model.evaluate(*_item_inputs(test), verbose=0)
        history.append(float(acc))
        if verbose:
            print(f"pre-training epoch {epoch + 1}/{epochs}: test accuracy {acc:.3f}")
    seconds = time.perf_counter() - start
    return PretrainResult(model, history[-1], seconds, history)
