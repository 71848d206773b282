"""One epoch of lecture 01's ``cnn1`` (seed recipe) and of the fast recipe, as the notebooks run
them: ``import helpers`` first, TensorFlow's thread pools left at their defaults.

Run it with and without ``TF_ENABLE_ONEDNN_OPTS=0`` (the course's setting before
``helpers/_quiet_import.py``; today TensorFlow's default, oneDNN on, is kept) side by side:

    .venv/bin/python benchmarks/onednn_epoch.py [--train 12000]
    TF_ENABLE_ONEDNN_OPTS=0 .venv/bin/python benchmarks/onednn_epoch.py

Each recipe trains 2 epochs on the first ``--train`` training images; the figure is the second
epoch's seconds (the first includes tracing). It prints one line per recipe and whether
TensorFlow said oneDNN was on.
"""

from __future__ import annotations

import argparse
import os
import time

import helpers  # noqa: F401  (first: TensorFlow's environment and its quiet import)

# isort: split
import keras

from helpers import _quiet_import
from helpers.architectures.small import build_cnn1
from helpers.data import as_images, load_fashion_mnist
from helpers.training import fast as ft


class _EpochSeconds(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=12_000, help="training images")
    args = parser.parse_args()
    data = load_fashion_mnist()
    x, y = as_images(data.x_train[: args.train]), data.y_train[: args.train]
    timer = _EpochSeconds()
    seed = build_cnn1()
    seed.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    seed.fit(x, y, batch_size=256, epochs=2, verbose=0, callbacks=[timer])
    seed_seconds = timer.seconds
    fast = ft.build_fast_cnn(ft.FAST)
    fast.compile(optimizer=keras.optimizers.Adam(1e-3),
                 loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                 steps_per_execution=ft.FAST.steps_per_execution)
    data_set = ft.fast_dataset(x, ft.one_hot(y), ft.FAST.batch_size, training=True)
    fast.fit(data_set, epochs=2, verbose=0, callbacks=[timer])
    onednn = any("oneDNN custom operations are on" in line for line in _quiet_import.dropped)
    print(f"TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')} "
          f"oneDNN on: {onednn}")
    print(f"cnn1, seed recipe (batch 256): {seed_seconds:.2f} s per epoch of {args.train:,}")
    print(f"fast recipe (batch {ft.FAST.batch_size}): {timer.seconds:.2f} s per epoch")


if __name__ == "__main__":
    main()
