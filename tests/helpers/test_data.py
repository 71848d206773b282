"""The FashionMNIST loader: real data, verified files, clear errors, no substitution."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from helpers import data


@pytest.fixture(scope="module")
def fmnist():
    return data.load_fashion_mnist(download=False)


@pytest.fixture
def copy_of_files(tmp_path):
    src = data.find_fashion_mnist(download=False)
    for name in data.FILES:
        shutil.copy(src / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def no_default_locations(tmp_path, monkeypatch):
    """Point the Keras cache and the Debian path at empty folders."""
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", tmp_path / "keras-cache")
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    return tmp_path


def test_loads_the_real_dataset_with_its_documented_shapes(fmnist):
    assert fmnist.x_train.shape == (60000, 28, 28) and fmnist.x_train.dtype == np.uint8
    assert fmnist.x_test.shape == (10000, 28, 28) and fmnist.x_test.dtype == np.uint8
    assert fmnist.y_train.shape == (60000,) and fmnist.y_test.shape == (10000,)
    assert np.bincount(fmnist.y_train).tolist() == [6000] * 10
    assert np.bincount(fmnist.y_test).tolist() == [1000] * 10
    assert fmnist.class_names[0] == "T-shirt/top" and fmnist.class_names[9] == "Ankle boot"
    assert fmnist.x_train.max() == 255 and fmnist.x_train.min() == 0


def test_first_training_label_is_the_published_one(fmnist):
    # The first item of the original train file is an ankle boot (label 9).
    assert fmnist.y_train[0] == 9 and fmnist.y_test[0] == 9


def test_truncated_file_in_explicit_directory_is_named_with_a_fix(copy_of_files):
    target = copy_of_files / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:1000])
    with pytest.raises(data.FashionMNISTError) as err:
        data.load_fashion_mnist(copy_of_files)
    message = str(err.value)
    assert "train-labels-idx1-ubyte.gz" in message and "sha256 mismatch" in message
    assert "apt-get install dataset-fashion-mnist" in message and data.ENV_VAR in message


def test_corrupt_file_of_the_right_size_is_rejected(copy_of_files):
    target = copy_of_files / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[5000] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.FashionMNISTError, match="t10k-images-idx3-ubyte.gz"):
        data.load_fashion_mnist(copy_of_files)


def test_missing_file_in_env_directory_is_an_error_not_a_fallback(copy_of_files, monkeypatch):
    (copy_of_files / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv(data.ENV_VAR, str(copy_of_files))
    # a valid copy exists elsewhere, but the user asked for this directory
    with pytest.raises(data.FashionMNISTError, match=r"t10k-labels-idx1-ubyte.gz: missing"):
        data.load_fashion_mnist()


def test_env_directory_with_valid_files_is_used(copy_of_files, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(copy_of_files))
    assert data.find_fashion_mnist(download=False) == copy_of_files


def test_keras_cache_comes_before_the_debian_package(copy_of_files, no_default_locations,
                                                     monkeypatch):
    monkeypatch.setattr(data, "KERAS_CACHE_DIR", copy_of_files)
    monkeypatch.setattr(data, "DEBIAN_DIR", copy_of_files.parent / "elsewhere")
    assert data.find_fashion_mnist(download=False) == copy_of_files


def test_nothing_found_lists_every_location_and_the_fix(no_default_locations):
    with pytest.raises(data.FashionMNISTError) as err:
        data.find_fashion_mnist(download=False)
    message = str(err.value)
    assert "Keras cache" in message and "Debian package" in message
    assert "download" in message and "apt-get install dataset-fashion-mnist" in message


def test_failed_download_is_reported_not_hidden(no_default_locations, monkeypatch):
    def offline():
        raise OSError("network is unreachable")

    monkeypatch.setattr(data, "_download_with_keras", offline)
    with pytest.raises(data.FashionMNISTError, match="network is unreachable"):
        data.find_fashion_mnist(download=True)


def test_kaggle_frame_has_label_then_784_pixel_columns(fmnist):
    frame = data.to_kaggle_frame(fmnist.x_test[:5], fmnist.y_test[:5])
    assert list(frame.columns[:2]) == ["label", "pixel1"] and frame.columns[-1] == "pixel784"
    assert frame.shape == (5, 785)
    assert np.array_equal(frame.iloc[:, 1:].to_numpy().reshape(5, 28, 28), fmnist.x_test[:5])


def test_kaggle_frame_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="expected images"):
        data.to_kaggle_frame(np.zeros((3, 784), np.uint8), np.zeros(3))


def test_csv_files_hold_the_same_arrays(fmnist):
    train_csv, test_csv = data.fashion_mnist_csv()
    test = pd.read_csv(test_csv)
    assert test.shape == (10000, 785)
    assert np.array_equal(test["label"].to_numpy(), fmnist.y_test)
    assert np.array_equal(test.iloc[:, 1:].to_numpy().reshape(-1, 28, 28), fmnist.x_test)
    assert sum(1 for _ in open(train_csv)) == 60001


def test_interrupted_csv_is_rewritten(tmp_path):
    # Start from copies of the cached CSVs (written once by the test above or by `make`),
    # so that only the rewrite under test converts 70,000 images to text.
    cached = data.fashion_mnist_csv()
    train_csv, test_csv = (tmp_path / p.name for p in cached)
    for src, dst in zip(cached, (train_csv, test_csv), strict=True):
        shutil.copyfile(src, dst)
    test_csv.write_text(test_csv.read_text()[:10000])  # a write cut short
    assert data.fashion_mnist_csv(out_dir=tmp_path) == (train_csv, test_csv)
    assert sum(1 for _ in open(test_csv)) == 10001
    assert test_csv.read_bytes() == cached[1].read_bytes()


def test_command_line_check_reports_success_and_failure(no_default_locations, capsys):
    assert data.main(["--no-download"]) == 1
    assert "FashionMNIST was not found" in capsys.readouterr().err
