"""Checks of what students pass to the helpers, with messages that name the fix.

Mistakes that reach Keras or TensorFlow come back as messages about tensors ("Arguments
`target` and `output` must have the same rank") or not at all (images in 0-255 evaluate
to a loss of about 47 and chance accuracy without a word).  The helpers that students
call check their inputs here first and raise ``ValueError`` saying what is wrong and how
to fix it.  NumPy only: importing this module does not import TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PIXELS = 28 * 28  # values per FashionMNIST image


def check_images(x: object, name: str = "x") -> np.ndarray:
    """``x`` as a float array of images ``(N, H, W, C)`` with values in [0, 1].

    Args:
        x: the images a model is to read.
        name: what the messages call them.

    Returns:
        ``x`` as a NumPy array (not copied when it already is one).

    Raises:
        ValueError: ``x`` is not 4-D, holds uint8 pixels or values above 1 (not scaled),
            or holds NaN.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        raise ValueError(f"{name} has shape {x.shape}, images without a channel axis; the "
                         f"models read (N, H, W, 1): add it with {name}[..., None]")
    if x.ndim == 2 and x.shape[1] == PIXELS:
        raise ValueError(f"{name} has shape {x.shape}, one row of 784 pixels per image; "
                         "reshape it with helpers.data.as_images (-> (N, 28, 28, 1) in [0, 1])")
    if x.ndim != 4:
        raise ValueError(f"{name} should be images (N, H, W, C), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} should hold numbers, got dtype {x.dtype}")
    if x.size and np.issubdtype(x.dtype, np.floating) and np.isnan(x).any():
        raise ValueError(f"{name} holds NaN values; find where they came from before "
                         "training or evaluating")
    top = float(x.max()) if x.size else 0.0
    if x.dtype == np.uint8 or top > 1.0:
        raise ValueError(f"{name} holds pixel values up to {top:g} ({x.dtype}), but the "
                         "course's models read values in [0, 1]: scale with "
                         f"{name}.astype('float32') / 255 (helpers.data.as_images does both "
                         "steps); an unscaled test set gives chance accuracy without an error")
    return x


def check_one_hot(y: object, num_classes: int, name: str = "y") -> np.ndarray:
    """``y`` as one-hot targets ``(N, num_classes)``, as categorical cross-entropy needs.

    Args:
        y: the targets.
        num_classes: the model's number of outputs.
        name: what the messages call them.

    Returns:
        ``y`` as a NumPy array.

    Raises:
        ValueError: ``y`` holds class indices ``(N,)`` (with the two fixes), has the wrong
            number of columns, or rows that are not one-hot.
    """
    y = np.asarray(y)
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        raise ValueError(
            f"{name} holds class indices, shape {y.shape}, but this model is trained with "
            f"categorical cross-entropy, which needs one-hot rows (N, {num_classes}): convert "
            f"with keras.utils.to_categorical({name}, {num_classes}), or compile with "
            "loss='sparse_categorical_crossentropy', which takes the indices as they are")
    if y.ndim != 2 or y.shape[1] != num_classes:
        raise ValueError(f"{name} should be one-hot targets (N, {num_classes}) for a model with "
                         f"{num_classes} outputs, got shape {y.shape}")
    if y.size and not (np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1)):
        raise ValueError(f"{name} should be one-hot: each row one 1 and the rest 0s; build it "
                         "with keras.utils.to_categorical from the class indices")
    return y


def check_class_indices(labels: object, num_classes: int, name: str = "labels") -> np.ndarray:
    """``labels`` as integer class indices ``(N,)`` in ``0 .. num_classes - 1``.

    Args:
        labels: class indices (ints, or floats with integral values).
        num_classes: how many classes there are.
        name: what the messages call them.

    Returns:
        ``labels`` as an ``int64`` array ``(N,)``.

    Raises:
        ValueError: ``labels`` is not 1-D, not whole numbers, or outside the classes.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{name} should be class indices (N,), got shape {labels.shape}; "
                         f"from one-hot rows or probabilities take {name}.argmax(axis=1)")
    if not (np.issubdtype(labels.dtype, np.integer) or (
            np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0))):
        raise ValueError(f"{name} should be whole class indices, got dtype {labels.dtype}")
    labels = labels.astype(np.int64)
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.size:
        raise ValueError(f"{name} holds {bad.size} value(s) outside the {num_classes} classes "
                         f"0..{num_classes - 1} (first: {int(bad[0])}); a class index counts "
                         "from 0")
    return labels


def check_same_length(**arrays: Sequence | np.ndarray) -> int:
    """The common length of the named arrays.

    Args:
        **arrays: name -> array-like.

    Returns:
        Their common length.

    Raises:
        ValueError: the lengths differ (each is named).
    """
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} {n}" for name, n in lengths.items())
        raise ValueError(f"need one entry per image: {listed}")
    return next(iter(lengths.values()))


def check_csv_columns(columns: Sequence[str], path: object) -> None:
    """Fail unless a Kaggle FashionMNIST CSV has the columns ``label, pixel1..pixel784``.

    Args:
        columns: the header pandas read.
        path: the file, for the message.

    Raises:
        ValueError: the header is not ``label`` followed by 784 pixel columns.
    """
    columns = [str(c) for c in columns]
    expected = ["label"] + [f"pixel{i}" for i in range(1, PIXELS + 1)]
    if columns == expected:
        return
    shown = ", ".join(columns[:3]) + (", ..." if len(columns) > 3 else "")
    raise ValueError(f"{path} has {len(columns)} columns ({shown}), but a FashionMNIST CSV has "
                     "785: label, pixel1, ..., pixel784 with a header row; write one with "
                     "helpers.data.fashion_mnist_csv() or check the file's first line")
