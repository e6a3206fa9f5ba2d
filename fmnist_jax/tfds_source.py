"""data_source='tfds': tensorflow-datasets' own `fashion_mnist` builder, prepared offline from local files.

tfds' builder would download the four files and check them against its registered checksums; the
Debian files hold the same content but were recompressed, so those checksums fail, and there is no
network anyway. Here a subclass of tfds' FashionMNIST builder (same features, version and example
generator) is fed the verified local files instead of downloading, prepared once into the tfds data
dir (`$TFDS_DATA_DIR`, default ~/tensorflow_datasets) and loaded from there. It needs the `tfds`
extra (tensorflow-datasets and TensorFlow); the default 'idx' source does not.

The prepared dataset holds the same 70,000 examples, in tfds' own deterministic order (tfds orders
records by a hash of their key), not the IDX files' order; `train_limit` takes the first N of that order.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import numpy as np

from fmnist_jax import data
from fmnist_jax.errors import DataError

try:
    import tensorflow_datasets as tfds
    from tensorflow_datasets.image_classification import mnist as tfds_mnist
except ImportError as e:  # pragma: no cover - depends on the optional extra.
    raise DataError(
        f"config field data_source='tfds' needs the tfds extra ({e}): `pip install -e '.[tfds]'`, "
        "or use --config.data_source=idx."
    ) from None

BUILDER_NAME = "fashion_mnist_local"


class FashionMnistLocal(tfds_mnist.FashionMNIST, skip_registration=True):
    """tfds' fashion_mnist builder whose files come from a local folder instead of the network."""

    name = BUILDER_NAME
    local_idx_dir: str = data.DEFAULT_DATA_DIR

    def _split_generators(self, dl_manager):  # noqa: ARG002 - nothing is downloaded.
        # tfds' generator reads uncompressed IDX files: write the verified bytes to a scratch folder.
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="fmnist_tfds_"))
        arrays = {stem: data.read_verified_idx(self.local_idx_dir, stem) for stem in data.FILE_SHA256}
        for stem, array in arrays.items():
            magic = data.IDX_MAGIC_IMAGES if "images" in stem else data.IDX_MAGIC_LABELS
            header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
            (scratch / stem).write_bytes(header + array.tobytes())
        return [
            tfds.core.SplitGenerator(
                name=split,
                gen_kwargs=dict(
                    num_examples=count,
                    data_path=str(scratch / f"{prefix}-images-idx3-ubyte"),
                    label_path=str(scratch / f"{prefix}-labels-idx1-ubyte"),
                ),
            )
            for split, prefix, count in ((tfds.Split.TRAIN, "train", 60_000), (tfds.Split.TEST, "t10k", 10_000))
        ]


def tfds_data_dir() -> str:
    return os.environ.get("TFDS_DATA_DIR") or str(pathlib.Path.home() / "tensorflow_datasets")


def load_via_tfds(local_idx_dir: str) -> data.FashionMNIST:
    """Prepares (once) and loads the tfds dataset; returns the same uint8 layout as the idx source."""
    builder = FashionMnistLocal(data_dir=tfds_data_dir())
    builder.local_idx_dir = local_idx_dir
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    splits = {}
    for split in ("train", "test"):
        arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, shuffle_files=False))
        splits[split] = (arrays["image"][..., 0].astype(np.uint8), arrays["label"].astype(np.uint8))
    return data.FashionMNIST(
        train_images=splits["train"][0],
        train_labels=splits["train"][1],
        test_images=splits["test"][0],
        test_labels=splits["test"][1],
    )
