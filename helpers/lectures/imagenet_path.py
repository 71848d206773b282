"""Lecture 09's ImageNet path: Keras' MobileNetV2 with ImageNet weights, when they are here.

Offline machines (the course's CI, a laptop on a train) have no weights: :func:`try_mobilenet_v2`
then prints one line saying how to get them and returns None.  With the weights in Keras' cache
(``~/.keras/models/``, downloaded once by ``keras.applications``) or at a path given,
:func:`imagenet_probe` puts a linear probe on the network's 1,280 pooled features of the
target images (grey 28x28 images resized to the network's input and repeated on three
channels), next to the lecture's own pretrained network.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.lectures.transfer_sweep import logistic_regression
from helpers.lectures.transfer_targets import TargetPool

MOBILENET_V2_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
PROBE_METHOD = "ImageNet MobileNetV2 + linear probe"


def weights_file(alpha: float = 1.0, size: int = 224) -> str:
    """The file name ``keras.applications.MobileNetV2`` caches its ImageNet weights under.

    Args:
        alpha: the width multiplier (0.35, 0.5, 0.75, 1.0, 1.3 or 1.4).
        size: the input side (96, 128, 160, 192 or 224).

    Returns:
        For example ``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5``.
    """
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{size}.h5"


def cached_weights(alpha: float = 1.0, size: int = 224) -> str | None:
    """Path of the ImageNet weights in Keras' cache, or None.

    Args:
        alpha: the width multiplier of the weights.
        size: the input side of the weights.

    Returns:
        The path of :func:`weights_file` under ``$KERAS_HOME/models`` (default
        ``~/.keras/models``) or ``/tmp/.keras/models`` when it exists, else None.
    """
    home = os.path.expanduser(os.environ.get("KERAS_HOME", "~/.keras"))
    for folder in (home, "/tmp/.keras"):  # get_file falls back to /tmp when home is read-only
        path = os.path.join(folder, "models", weights_file(alpha, size))
        if os.path.exists(path):
            return path
    return None


def download_weights(timeout: float, alpha: float = 1.0, size: int = 224) -> str:
    """Download the weights into Keras' cache.

    A connection probe in a daemon thread bounds the wait, DNS look-up included, by
    ``timeout`` s.

    Args:
        timeout: seconds to wait for the server (probe and download).
        alpha: the width multiplier of the weights.
        size: the input side of the weights.

    Returns:
        The path of the downloaded file.

    Raises:
        OSError: when the server is not reachable within ``timeout``.
    """
    ok: list[bool] = []

    def probe() -> None:
        with contextlib.suppress(OSError), socket.create_connection(("storage.googleapis.com",
                                                                     443), timeout):
            ok.append(True)

    (thread := threading.Thread(target=probe, daemon=True)).start()
    thread.join(timeout)
    if not ok:
        raise OSError(f"storage.googleapis.com is not reachable within {timeout:g} s")
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        name = weights_file(alpha, size)
        return keras.utils.get_file(name, MOBILENET_V2_URL + name, cache_subdir="models")
    finally:
        socket.setdefaulttimeout(old)


def try_mobilenet_v2(timeout: float = 5.0, weights_path: str | None = None,
                     alpha: float = 1.0, size: int = 224) -> keras.Model | None:
    """``keras.applications.MobileNetV2`` with ImageNet weights, when they can be had.

    The model maps ``(N, size, size, 3) -> (N, 1000)``.  Never raises and never writes to
    stderr; when it returns None it prints one line saying why and how to get the weights.

    Args:
        timeout: seconds to wait for the download server (connection probe and download).
        weights_path: a weights file to load instead of Keras' cache (no download then).
        alpha: the width multiplier of the weights.
        size: the input side of the weights.

    Returns:
        The model, or None when no weights are cached, given or downloadable.
    """
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            if weights_path is None:
                if cached_weights(alpha, size) is None:
                    download_weights(timeout, alpha, size)
                weights_path = "imagenet"
            elif not os.path.exists(weights_path):
                raise FileNotFoundError(f"no weights file at {weights_path}")
            return keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha,
                                                  weights=weights_path)
    except Exception as exc:  # noqa: BLE001 - any failure means "no ImageNet model here"
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        name = weights_file(alpha, size)
        print(f"MobileNetV2 ImageNet weights unavailable ({reason}); to use them, go online "
              f"once or copy {name} (from {MOBILENET_V2_URL}) into ~/.keras/models/.")
        return None


def imagenet_features(model: keras.Model, x: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """MobileNetV2's pooled features (the layer before its classifier) of grey images.

    Args:
        model: a ``keras.applications.MobileNetV2`` with its top (``(N, S, S, 3)`` in).
        x: float32 ``(N, 28, 28, 1)`` in ``[0, 1]``.
        batch_size: images resized and passed at a time (memory: ``S*S*3*4`` bytes each).

    Returns:
        float32 ``(N, F)`` (``F = 1280`` for ``alpha <= 1``).
    """
    size = model.input_shape[1]
    pooled = keras.Model(model.input, model.layers[-2].output)
    out = []
    for start in range(0, len(x), batch_size):
        chunk = tf.image.resize(tf.convert_to_tensor(x[start:start + batch_size]), (size, size))
        chunk = keras.applications.mobilenet_v2.preprocess_input(
            tf.repeat(chunk, 3, axis=-1) * 255.0)
        out.append(np.asarray(pooled(chunk, training=False)))
    return np.concatenate(out).astype("float32")


def imagenet_probe(model: keras.Model, pool: TargetPool, labels_per_class: tuple[int, ...],
                   seeds: tuple[int, ...]) -> pd.DataFrame:
    """A logistic regression on :func:`imagenet_features`, for every label count and seed.

    Args:
        model: the ImageNet MobileNetV2 (from :func:`try_mobilenet_v2`).
        pool: the target.
        labels_per_class: label counts to try.
        seeds: seeds of the draws (the same as the sweep's, so the images match).

    Returns:
        Rows in the format of :func:`helpers.lectures.transfer_sweep.label_sweep`, method
        :data:`PROBE_METHOD`.
    """
    f_test = imagenet_features(model, pool.x_test)
    rows = []
    for n in labels_per_class:
        for seed in seeds:
            splits = pool.draw(n, seed)
            clf = logistic_regression(imagenet_features(model, splits.x_train), splits.y_train,
                                      seed)
            rows.append({"target": pool.name, "labels_per_class": n, "seed": seed,
                         "method": PROBE_METHOD, "accuracy": float(clf.score(f_test,
                                                                             splits.y_test)),
                         "seconds": float("nan")})
    return pd.DataFrame(rows)
