"""FashionMNIST, loaded for real and verified.

Where the four original files are looked for, in order:

1. the ``directory`` argument of :func:`load_fashion_mnist`;
2. the directory in the environment variable ``FASHION_MNIST_DIR``;
3. Keras' cache, ``~/.keras/datasets/fashion-mnist/``;
4. Debian's package ``dataset-fashion-mnist``, ``/usr/share/datasets/fashion-mnist/``;
5. only then Keras' own download (needs the network).

Every file's sha256 is checked.  A missing, truncated or corrupt file raises
:class:`FashionMNISTError` naming the file and the fix; other data is never
substituted.

Run ``python -m helpers.data`` to check the data (exit status 0 when found).

:func:`as_images` is the one step from pixels to model inputs, and :class:`Splits` /
:func:`fashion_mnist_splits` the one train / validation / test container the lectures share.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from helpers.mode import RunMode, run_mode

ENV_VAR = "FASHION_MNIST_DIR"
CACHE_ENV_VAR = "CNN_COURSE_CACHE"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist")

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: file name -> (sha256, number of items, idx magic number)
FILES: dict[str, tuple[str, int, int]] = {
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", 60000, 2051),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", 60000, 2049),
    "t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", 10000, 2051),
    "t10k-labels-idx1-ubyte.gz": (
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", 10000, 2049),
}

FIX_HINT = (
    "How to fix: install Debian's copy with `sudo apt-get install dataset-fashion-mnist` "
    f"(files land in {DEBIAN_DIR}), or put the four original files in a directory and "
    f"set {ENV_VAR}=/that/directory, or go online once so Keras can download them into "
    f"{KERAS_CACHE_DIR}."
)


class FashionMNISTError(RuntimeError):
    """The FashionMNIST files are missing, truncated or corrupt."""


@dataclass(frozen=True)
class FashionMNIST:
    """The dataset as numpy arrays.

    Attributes:
        x_train: (60000, 28, 28) uint8, pixel values 0..255.
        y_train: (60000,) uint8, class indices 0..9.
        x_test: (10000, 28, 28) uint8.
        y_test: (10000,) uint8.
        class_names: the ten class names, index = label.
        source: the directory the files were read from.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: Path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_directory(directory: Path) -> list[str]:
    """Problems with the four FashionMNIST files in ``directory``: missing, empty, bad sha256.

    Args:
        directory: the directory to check.

    Returns:
        A list of messages, one per problem; an empty list means all good.
    """
    problems = []
    for name, (sha, _, _) in FILES.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif path.stat().st_size == 0:
            problems.append(f"{path}: empty (0 bytes)")
        elif _sha256(path) != sha:
            problems.append(
                f"{path}: sha256 mismatch (truncated or corrupt, {path.stat().st_size} bytes); "
                "delete it and get a fresh copy"
            )
    return problems


def candidate_directories(directory: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The (origin, directory) pairs searched, in lookup order.

    The directory argument, ``$FASHION_MNIST_DIR`` (when set), Keras' cache, then the
    Debian package's directory.

    Args:
        directory: an explicitly given directory (None: none).

    Returns:
        A list of ``(origin, Path)`` pairs; ``origin`` names where the directory came from.
    """
    out = []
    if directory is not None:
        out.append(("directory argument", Path(directory).expanduser()))
    if os.environ.get(ENV_VAR):
        out.append((f"${ENV_VAR}", Path(os.environ[ENV_VAR]).expanduser()))
    out.append(("Keras cache", KERAS_CACHE_DIR.expanduser()))
    out.append(("Debian package dataset-fashion-mnist", DEBIAN_DIR))
    return out


def _download_with_keras() -> Path:
    """Let Keras download the files into its cache; return that directory."""
    import keras  # helpers/__init__.py has already quietened TensorFlow

    keras.datasets.fashion_mnist.load_data()
    return KERAS_CACHE_DIR.expanduser()


def find_fashion_mnist(directory: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Return the directory holding four verified FashionMNIST files.

    An explicitly given directory (argument or ``FASHION_MNIST_DIR``) must be
    complete and valid: it is never skipped.  The automatic locations are tried
    in order; the download is the last resort.

    Args:
        directory: a directory holding the four ``*-ubyte.gz`` files; optional.
        download: allow Keras' download as the last resort.

    Returns:
        The directory, a ``Path``.

    Raises:
        FashionMNISTError: nothing valid found, or an explicitly given directory is not
            usable; the message lists each file's problem.
    """
    report = []
    for origin, path in candidate_directories(directory):
        problems = check_directory(path)
        if not problems:
            return path
        explicit = origin in ("directory argument", f"${ENV_VAR}")
        if explicit:
            raise FashionMNISTError(
                f"FashionMNIST files given by the {origin} ({path}) are not usable:\n  - "
                + "\n  - ".join(problems) + "\n" + FIX_HINT
            )
        if any(p.endswith("missing") for p in problems) and len(problems) == len(FILES):
            report.append(f"{origin}: no files in {path}")
        else:
            report.append(f"{origin}:\n    - " + "\n    - ".join(problems))
    if download:
        try:
            path = _download_with_keras()
        except Exception as exc:  # no network, proxy, ...
            report.append(f"Keras download: failed ({exc.__class__.__name__}: {exc})")
        else:
            problems = check_directory(path)
            if not problems:
                return path
            report.append("Keras download:\n    - " + "\n    - ".join(problems))
    else:
        report.append("Keras download: not tried (download=False)")
    raise FashionMNISTError(
        "FashionMNIST was not found. Looked in:\n  " + "\n  ".join(report) + "\n" + FIX_HINT
    )


def read_idx(path: Path, expected_magic: int, expected_items: int) -> np.ndarray:
    """Parse one gzip'd IDX file into a uint8 array.

    Args:
        path: the ``*-ubyte.gz`` file.
        expected_magic: the IDX magic number the header must have (2049 labels, 2051
            images).
        expected_items: the number of items (N) the header must announce.

    Returns:
        A uint8 array, ``(N,)`` for labels or ``(N, 28, 28)`` for images.

    Raises:
        FashionMNISTError: if the header is unexpected, the data is truncated, or the file
            cannot be decompressed.
    """
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise FashionMNISTError(f"{path}: cannot be decompressed ({exc}). {FIX_HINT}") from exc
    magic = int.from_bytes(raw[0:4], "big")
    n_dims = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims)]
    header = 4 + 4 * n_dims
    if magic != expected_magic or dims[0] != expected_items:
        raise FashionMNISTError(
            f"{path}: unexpected IDX header (magic {magic}, dims {dims}); "
            f"expected magic {expected_magic} with {expected_items} items. {FIX_HINT}"
        )
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if data.size != int(np.prod(dims)):
        raise FashionMNISTError(f"{path}: truncated ({data.size} of {np.prod(dims)} values)")
    return data.reshape(dims)


def load_fashion_mnist(
    directory: str | os.PathLike | None = None, download: bool = True
) -> FashionMNIST:
    """Load the real FashionMNIST (60,000 train / 10,000 test, 28x28 uint8).

    Args:
        directory: a directory holding the four ``*-ubyte.gz`` files; optional.
        download: allow Keras' download as the last resort.

    Returns:
        :class:`FashionMNIST` with uint8 arrays and the class names.

    Raises:
        FashionMNISTError: if no valid copy of the files is found (see
            :func:`find_fashion_mnist`) or a file cannot be read.
    """
    src = find_fashion_mnist(directory, download=download)
    arrays = {name: read_idx(src / name, magic, n) for name, (_, n, magic) in FILES.items()}
    return FashionMNIST(
        x_train=arrays["train-images-idx3-ubyte.gz"],
        y_train=arrays["train-labels-idx1-ubyte.gz"],
        x_test=arrays["t10k-images-idx3-ubyte.gz"],
        y_test=arrays["t10k-labels-idx1-ubyte.gz"],
        class_names=CLASS_NAMES,
        source=src,
    )


def cache_dir() -> Path:
    """Where derived files (the CSV form) are written: ``$CNN_COURSE_CACHE`` or
    ``~/.cache/cnn-course``."""
    return Path(os.environ.get(CACHE_ENV_VAR, "~/.cache/cnn-course")).expanduser()


def to_kaggle_frame(images: np.ndarray, labels: np.ndarray):
    """The Kaggle CSV layout as a DataFrame: ``label, pixel1..pixel784`` (uint8).

    Args:
        images: uint8 images ``(N, 28, 28)``.
        labels: class indices ``(N,)``.

    Returns:
        A DataFrame of ``N`` rows and 785 columns.

    Raises:
        ValueError: if the shapes are not ``(N, 28, 28)`` and ``(N,)``.
    """
    import pandas as pd

    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise ValueError(
            f"expected images (N, 28, 28) and labels (N,), got {images.shape} and "
            f"{np.shape(labels)}"
        )
    columns = ["label"] + [f"pixel{i}" for i in range(1, 785)]
    table = np.column_stack([np.asarray(labels, dtype=np.uint8), images.reshape(len(images), -1)])
    return pd.DataFrame(table, columns=columns)


def fashion_mnist_csv(
    directory: str | os.PathLike | None = None, out_dir: str | os.PathLike | None = None
) -> tuple[Path, Path]:
    """Write (once) and return the Kaggle CSV files made from the verified arrays.

    The files are ``fashion-mnist_train.csv`` and ``fashion-mnist_test.csv``.  A CSV that
    exists but has the wrong number of rows (an interrupted write) is rewritten.

    Args:
        directory: where to look for the FashionMNIST files (see
            :func:`load_fashion_mnist`).
        out_dir: where to write the CSVs (default: ``cache_dir() / "fashion-mnist-csv"``).

    Returns:
        The two paths ``(train_csv, test_csv)``.

    Raises:
        FashionMNISTError: if the CSVs must be written and FashionMNIST cannot be loaded.
    """
    out = Path(out_dir).expanduser() if out_dir is not None else cache_dir() / "fashion-mnist-csv"
    paths = (out / "fashion-mnist_train.csv", out / "fashion-mnist_test.csv")
    expected = (60000, 10000)
    if all(_csv_rows(p) == n for p, n in zip(paths, expected, strict=True)):
        return paths
    data = load_fashion_mnist(directory)
    out.mkdir(parents=True, exist_ok=True)
    splits = ((paths[0], data.x_train, data.y_train), (paths[1], data.x_test, data.y_test))
    for path, x, y in splits:
        tmp = path.with_suffix(".csv.part")
        to_kaggle_frame(x, y).to_csv(tmp, index=False)
        tmp.replace(path)  # atomic: a killed write never leaves a half CSV behind
    return paths


def _csv_rows(path: Path) -> int:
    if not path.is_file():
        return -1
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data [--csv] [--no-download]``: find, verify, report.

    Args:
        argv: the command-line arguments (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 when the files were found and verified, 1 otherwise.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        src = find_fashion_mnist(download="--no-download" not in argv)
        print(f"FashionMNIST OK: {src} (4 files, sha256 verified)")
        if "--csv" in argv:
            train, test = fashion_mnist_csv()
            print(f"Kaggle CSV form: {train} and {test}")
    except FashionMNISTError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0



def as_images(pixels: np.ndarray) -> np.ndarray:
    """The one arrays step: uint8 pixels to the float32 images every model of the course reads.

    Args:
        pixels: uint8 ``(N, 28, 28)`` images, or ``(N, 784)`` rows (the CSV's layout), in
            ``[0, 255]``.

    Returns:
        float32 ``(N, 28, 28, 1)`` images (channels last) in ``[0, 1]``.
    """
    pixels = np.asarray(pixels)
    per_row = int(np.prod(pixels.shape[1:])) if pixels.ndim else pixels.size
    if pixels.ndim == 0 or per_row != 28 * 28:
        raise ValueError(f"as_images needs 784 pixel values per image (28 x 28), got "
                         f"{per_row} (array of shape {pixels.shape}); pass the pixel columns "
                         "only (data.iloc[:, 1:], without the label column) or images "
                         "(N, 28, 28)")
    if np.issubdtype(pixels.dtype, np.floating) and pixels.size and 0 < pixels.max() <= 1.0:
        raise ValueError("as_images scales 0-255 pixels to [0, 1], and these are already in "
                         "[0, 1]: scaling again would leave every image almost black; use them "
                         "as they are (reshape with .reshape(-1, 28, 28, 1))")
    return (pixels.reshape(len(pixels), 28, 28, 1).astype("float32") / 255.0)


@dataclass(frozen=True)
class Splits:
    """Train / validation / test arrays: images float32 ``(N, 28, 28, 1)`` in ``[0, 1]``;
    labels int ``(N,)``, or one-hot float ``(N, 10)`` where a lecture says so (lecture 01's
    :func:`helpers.lectures.recap.prepare_csv_data`)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Number of images per split.

        Returns:
            A dict ``{"train": int, "val": int, "test": int}``.
        """
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def fashion_mnist_splits(
    val_size: int = 5000, seed: int = 13, mode: RunMode | None = None
) -> Splits:
    """FashionMNIST split into train / validation (stratified, seeded) / the official test.

    In fast mode the splits are seeded subsets (see :meth:`RunMode.subset`).

    Args:
        val_size: images held out of the 60,000 training images for validation.
        seed: seed of the split and of the fast-mode subsets.
        mode: the :class:`RunMode` (default: :func:`run_mode`).

    Returns:
        :class:`Splits` with float32 images ``(N, 28, 28, 1)`` in ``[0, 1]`` and int32
        labels ``(N,)``.

    Raises:
        FashionMNISTError: if FashionMNIST cannot be loaded.
    """
    mode = mode or run_mode()
    data = load_fashion_mnist()
    x, x_test = as_images(data.x_train), as_images(data.x_test)
    x_train, x_val, y_train, y_val = train_test_split(
        x, data.y_train.astype("int32"), test_size=val_size, random_state=seed,
        stratify=data.y_train,
    )
    x_train, y_train = mode.subset(x_train, y_train, kind="train", seed=seed)
    x_val, y_val = mode.subset(x_val, y_val, kind="eval", seed=seed)
    x_test, y_test = mode.subset(x_test, data.y_test.astype("int32"), kind="eval", seed=seed)
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test)

if __name__ == "__main__":
    raise SystemExit(main())
