"""data_source='tfds': same examples as the IDX files. Runs only where the `tfds` extra is installed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow_datasets", reason="the tfds extra is not installed (pip install -e '.[tfds]')")
pytest.importorskip("tensorflow", reason="the tfds extra is not installed (pip install -e '.[tfds]')")

from fmnist_jax import run  # noqa: E402


def _as_sorted_records(images: np.ndarray, labels: np.ndarray) -> list[tuple[int, bytes]]:
    return sorted(zip(labels.tolist(), (image.tobytes() for image in images), strict=True))


def test_tfds_source_holds_the_same_examples_as_the_idx_files(tmp_path, monkeypatch, fashion_mnist):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    loaded = run.load_dataset("tfds", "")
    assert loaded.train_images.shape == (60_000, 28, 28) and loaded.train_images.dtype == np.uint8
    assert loaded.test_images.shape == (10_000, 28, 28) and loaded.test_labels.dtype == np.uint8
    # tfds orders records by a hash of their key, so compare the examples as multisets.
    assert _as_sorted_records(loaded.test_images, loaded.test_labels) == _as_sorted_records(
        fashion_mnist.test_images, fashion_mnist.test_labels
    )
    assert _as_sorted_records(loaded.train_images, loaded.train_labels) == _as_sorted_records(
        fashion_mnist.train_images, fashion_mnist.train_labels
    )
