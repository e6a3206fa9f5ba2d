"""The IDX reader, the checksum check and its errors, and the stratified split, on the real files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from fmnist_jax import data
from fmnist_jax.errors import DataError


def test_loads_the_real_dataset(fashion_mnist):
    assert fashion_mnist.train_images.shape == (60_000, 28, 28)
    assert fashion_mnist.test_images.shape == (10_000, 28, 28)
    assert fashion_mnist.train_images.dtype == np.uint8
    assert sorted(np.unique(fashion_mnist.train_labels)) == list(range(10))
    assert np.bincount(fashion_mnist.test_labels).tolist() == [1000] * 10


def _copy_dataset(tmp_path, *, decompress: bool = False):
    folder = tmp_path / "fmnist"
    folder.mkdir()
    for stem in data.FILE_SHA256:
        source = f"{data.DEFAULT_DATA_DIR}/{stem}.gz"
        if decompress:
            with gzip.open(source) as f:
                (folder / stem).write_bytes(f.read())
        else:
            shutil.copy(source, folder / f"{stem}.gz")
    return folder


def test_uncompressed_files_in_data_dir_load(tmp_path, isolated_cache, fashion_mnist):
    folder = _copy_dataset(tmp_path, decompress=True)
    loaded = data.load_fashion_mnist(str(folder))
    np.testing.assert_array_equal(loaded.test_labels, fashion_mnist.test_labels)
    assert (isolated_cache / "fmnist_jax" / "verified_files.json").exists()


def test_checksum_mismatch_names_the_file(tmp_path, isolated_cache):
    folder = _copy_dataset(tmp_path, decompress=True)
    labels = bytearray((folder / "t10k-labels-idx1-ubyte").read_bytes())
    labels[100] = (labels[100] + 1) % 10  # A plausible label, a wrong file.
    (folder / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(
        DataError, match="t10k-labels-idx1-ubyte fails its SHA-256 check.*apt-get install dataset-fashion-mnist"
    ):
        data.load_fashion_mnist(str(folder))


def test_a_cached_verification_is_redone_when_the_file_changes(tmp_path, isolated_cache):
    folder = _copy_dataset(tmp_path, decompress=True)
    data.load_fashion_mnist(str(folder))  # Verified and cached.
    path = folder / "train-labels-idx1-ubyte"
    labels = bytearray(path.read_bytes())
    labels[-1] = (labels[-1] + 1) % 10
    path.write_bytes(bytes(labels))
    with pytest.raises(DataError, match="fails its SHA-256 check"):
        data.load_fashion_mnist(str(folder))


def test_missing_file_names_the_file_and_the_fix(tmp_path):
    folder = _copy_dataset(tmp_path)
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\(\.gz\) not found.*--config.data_dir"):
        data.load_fashion_mnist(str(folder))


def test_wrong_magic_and_truncation_are_reported(tmp_path):
    folder = _copy_dataset(tmp_path, decompress=True)
    path = folder / "t10k-images-idx3-ubyte"
    raw = path.read_bytes()
    path.write_bytes(b"\x00\x00\x08\x01" + raw[4:])
    with pytest.raises(DataError, match="IDX magic 00000801, expected 00000803"):
        data.load_fashion_mnist(str(folder))
    path.write_bytes(raw[:-784])
    with pytest.raises(DataError, match="truncated or corrupted"):
        data.load_fashion_mnist(str(folder))


def test_stratified_split_keeps_class_balance(fashion_mnist):
    labels = fashion_mnist.train_labels
    train_idx, val_idx = data.stratified_split(labels, val_fraction=0.1, seed=0)
    assert len(np.intersect1d(train_idx, val_idx)) == 0
    assert len(train_idx) + len(val_idx) == len(labels)
    # Fashion-MNIST's train set has 6,000 per class: exactly 600 per class go to validation.
    assert np.bincount(labels[val_idx], minlength=10).tolist() == [600] * 10
    again, _ = data.stratified_split(labels, val_fraction=0.1, seed=0)
    np.testing.assert_array_equal(train_idx, again)
    other_seed, _ = data.stratified_split(labels, val_fraction=0.1, seed=1)
    assert not np.array_equal(train_idx, other_seed)


def test_make_splits_limits_training_data_and_keeps_test_whole(fashion_mnist):
    splits = data.make_splits(fashion_mnist, val_fraction=0.2, split_seed=0, train_limit=1000)
    assert len(splits.train_labels) + len(splits.val_labels) == 1000
    assert len(splits.test_labels) == 10_000
    val_share = np.bincount(splits.val_labels, minlength=10) / np.bincount(
        fashion_mnist.train_labels[:1000], minlength=10
    )
    assert np.all(np.abs(val_share - 0.2) < 0.06)


def test_kfold_folds_are_disjoint_cover_the_set_and_keep_class_balance(fashion_mnist):
    labels = fashion_mnist.train_labels[:10_000]
    folds = data.stratified_kfold(labels, num_folds=5, seed=0)
    assert len(folds) == 5
    everything = np.concatenate(folds)
    assert len(everything) == len(labels) and len(np.unique(everything)) == len(labels)
    overall = np.bincount(labels, minlength=10) / len(labels)
    for fold in folds:
        assert abs(len(fold) - len(labels) / 5) <= 10
        np.testing.assert_allclose(np.bincount(labels[fold], minlength=10) / len(fold), overall, atol=0.002)


def test_make_splits_for_a_fold_and_with_val_folded_into_train(fashion_mnist):
    fold = data.make_splits(fashion_mnist, val_fraction=0.1, split_seed=0, train_limit=5000, num_folds=5, fold_index=2)
    assert len(fold.val_labels) == 1000 and len(fold.train_labels) == 4000
    folded = data.make_splits(fashion_mnist, val_fraction=0.1, split_seed=0, train_limit=5000, fold_val_into_train=True)
    assert len(folded.train_labels) == 5000 and len(folded.val_labels) == 500


def test_validating_on_the_test_set_trains_on_every_training_image(fashion_mnist):
    # Report E's protocol (val_split="test"), for its ablation: no split of the training images.
    splits = data.make_splits(fashion_mnist, val_fraction=0.1, split_seed=0, train_limit=5000, val_split="test")
    np.testing.assert_array_equal(splits.train_labels, fashion_mnist.train_labels[:5000])
    np.testing.assert_array_equal(splits.train_images, fashion_mnist.train_images[:5000])
    np.testing.assert_array_equal(splits.val_images, fashion_mnist.test_images)
    np.testing.assert_array_equal(splits.val_labels, fashion_mnist.test_labels)
    np.testing.assert_array_equal(splits.test_labels, fashion_mnist.test_labels)
