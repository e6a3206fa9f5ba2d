"""Fashion-MNIST from the four original IDX files, verified by checksum, and its splits.

The default source is the Debian package `dataset-fashion-mnist`; `data_dir` may point at any
folder holding the four files, gzipped or not. Nothing is fetched from the network.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import pathlib

import numpy as np

from fmnist_jax.errors import DataError

DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIDE_PX = 28
# config.val_split. "test" validates on the test set and trains on every training image: Report E's own
# protocol (its validation data came from the test set), for an ablation that measures what that choice
# is worth; its test accuracy is then chosen on itself, so never a config's headline number.
VAL_SPLITS = ("stratified", "random", "test")
DATA_SOURCES = ("idx", "tfds")  # config.data_source: these IDX files, or through tensorflow-datasets

# SHA-256 of the decompressed bytes: Debian recompressed the .gz files, so their own hashes differ
# from upstream's while the content is identical.
FILE_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
# IDX magic: two zero bytes, the element type (0x08 = uint8) and the number of dimensions.
IDX_MAGIC_IMAGES = 0x00000803
IDX_MAGIC_LABELS = 0x00000801
EXPECTED_COUNT = {"train": 60_000, "t10k": 10_000}

FIX_HINT = (
    "install it with `apt-get install dataset-fashion-mnist` or point --config.data_dir at a folder "
    "holding the four Fashion-MNIST IDX files"
)


@dataclasses.dataclass(frozen=True)
class FashionMNIST:
    """The dataset as uint8 arrays on the host: images (N, 28, 28), labels (N,)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _cache_path() -> pathlib.Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(root) / "fmnist_jax" / "verified_files.json"


def _file_fingerprint(path: pathlib.Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _load_verified_cache() -> dict[str, str]:
    try:
        return json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _remember_verified(fingerprint: str, sha256: str) -> None:
    cache = _load_verified_cache()
    cache[fingerprint] = sha256
    path = _cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(path)
    except OSError:
        pass  # A read-only home only costs a re-check next time.


def find_idx_file(data_dir: str, stem: str) -> pathlib.Path:
    """Returns the path of `stem` or `stem.gz` in data_dir, or raises DataError naming the file."""
    folder = pathlib.Path(data_dir)
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"Fashion-MNIST file {stem}(.gz) not found in {folder}: {FIX_HINT}.")


def _read_bytes(path: pathlib.Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"Fashion-MNIST file {path} cannot be read ({e}): {FIX_HINT}.") from None


def parse_idx(raw: bytes, *, name: str, expected_magic: int) -> np.ndarray:
    """Parses IDX bytes into a uint8 array, checking the magic number and the declared size."""
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != expected_magic:
        found = raw[:4].hex() if len(raw) >= 4 else "nothing"
        raise DataError(
            f"Fashion-MNIST file {name} has IDX magic {found}, expected {expected_magic:08x}: "
            f"the file is corrupted; {FIX_HINT}."
        )
    ndim = raw[3]
    header_bytes = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_bytes = header_bytes + int(np.prod(shape))
    if len(raw) != expected_bytes:
        raise DataError(
            f"Fashion-MNIST file {name} holds {len(raw)} bytes, its header declares {expected_bytes}: "
            f"the file is truncated or corrupted; {FIX_HINT}."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_bytes).reshape(shape)


# stem -> (fingerprint, array) of the file this process read and verified last: a suite, a search or the
# tests run many configs in one process, and each would otherwise decompress the 26 MB of training images
# again (0.3 s a run here). The arrays are read-only (np.frombuffer over bytes), so sharing them is safe.
_VERIFIED_ARRAYS: dict[str, tuple[str, np.ndarray]] = {}


def read_verified_idx(data_dir: str, stem: str) -> np.ndarray:
    """Reads one IDX file and checks its content hash (cached per file size and mtime)."""
    path = find_idx_file(data_dir, stem)
    fingerprint = _file_fingerprint(path)
    kept = _VERIFIED_ARRAYS.get(stem)
    if kept is not None and kept[0] == fingerprint:
        return kept[1]
    raw = _read_bytes(path)
    magic = IDX_MAGIC_IMAGES if "images" in stem else IDX_MAGIC_LABELS
    array = parse_idx(raw, name=str(path), expected_magic=magic)
    if _load_verified_cache().get(fingerprint) != FILE_SHA256[stem]:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != FILE_SHA256[stem]:
            raise DataError(
                f"Fashion-MNIST file {path} fails its SHA-256 check (got {digest[:12]}..., "
                f"expected {FILE_SHA256[stem][:12]}...): the file is corrupted; {FIX_HINT}."
            )
        _remember_verified(fingerprint, digest)
    _VERIFIED_ARRAYS[stem] = (fingerprint, array)
    return array


def load_fashion_mnist(data_dir: str = "") -> FashionMNIST:
    """Loads the four verified IDX files from data_dir (default: the Debian package's folder)."""
    data_dir = data_dir or DEFAULT_DATA_DIR
    if not pathlib.Path(data_dir).is_dir():
        raise DataError(f"Fashion-MNIST folder {data_dir} does not exist: {FIX_HINT}.")
    arrays = {stem: read_verified_idx(data_dir, stem) for stem in FILE_SHA256}
    return FashionMNIST(
        train_images=arrays["train-images-idx3-ubyte"],
        train_labels=arrays["train-labels-idx1-ubyte"],
        test_images=arrays["t10k-images-idx3-ubyte"],
        test_labels=arrays["t10k-labels-idx1-ubyte"],
    )


def stratified_kfold(labels: np.ndarray, num_folds: int, seed: int) -> list[np.ndarray]:
    """Splits indices into num_folds disjoint folds covering all, each with every class's share."""
    rng = np.random.default_rng(seed)
    folds: list[list[np.ndarray]] = [[] for _ in range(num_folds)]
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        # Rotate which fold gets a class's remainder so fold sizes stay within one example.
        for fold, part in enumerate(np.array_split(members, num_folds)):
            folds[(fold + int(cls)) % num_folds].append(part)
    return [np.sort(np.concatenate(parts)) for parts in folds]


def random_split(num_examples: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits indices into (train, val) with classes ignored, as sklearn's
    `train_test_split(test_size=val_fraction, random_state=seed)` does without `stratify`: the first
    ceil(val_fraction * n) of numpy's legacy RandomState(seed).permutation(n) are validation (the same
    indices as sklearn's; a test checks it). Both returned sorted ascending."""
    num_val = int(np.ceil(val_fraction * num_examples))
    val_idx = np.sort(np.random.RandomState(seed).permutation(num_examples)[:num_val])
    train_mask = np.ones(num_examples, dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


def stratified_split(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Splits indices into (train, val) keeping each class's share; both sorted ascending.

    Each class gives round(val_fraction * its count) examples to validation, chosen by a
    permutation seeded with `seed`, so the split is reproducible and independent of the model seed.
    """
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        num_val = int(round(val_fraction * len(members)))
        val_parts.append(rng.permutation(members)[:num_val])
    val_idx = np.sort(np.concatenate(val_parts))
    train_mask = np.ones(len(labels), dtype=bool)
    train_mask[val_idx] = False
    return np.flatnonzero(train_mask), val_idx


@dataclasses.dataclass(frozen=True)
class Splits:
    """The three splits used by a run, as uint8 host arrays."""

    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def make_splits(
    data: FashionMNIST,
    *,
    val_fraction: float,
    split_seed: int,
    train_limit: int = 0,
    num_folds: int = 0,
    fold_index: int = -1,
    fold_val_into_train: bool = False,
    val_split: str = "stratified",
) -> Splits:
    """Takes the first `train_limit` training examples (0 = all), then a validation split: val_fraction
    of each class (stratified) or of the whole set (random), or with num_folds > 1 the fold_index-th of
    num_folds stratified folds; or with val_split "test" every training example trains and the test set
    is the validation set too.
    fold_val_into_train trains on the validation examples too.

    The test set is returned untouched: it is used only for the final evaluation (but for val_split "test").
    """
    images, labels = data.train_images, data.train_labels
    if train_limit:
        images, labels = images[:train_limit], labels[:train_limit]
    if val_split == "test":
        return Splits(
            train_images=images,
            train_labels=labels,
            val_images=data.test_images,
            val_labels=data.test_labels,
            test_images=data.test_images,
            test_labels=data.test_labels,
        )
    if num_folds > 1:
        val_idx = stratified_kfold(labels, num_folds, split_seed)[fold_index]
        train_idx = np.setdiff1d(np.arange(len(labels)), val_idx)
    elif val_split == "random":
        train_idx, val_idx = random_split(len(labels), val_fraction, split_seed)
    else:
        train_idx, val_idx = stratified_split(labels, val_fraction, split_seed)
    if fold_val_into_train:
        train_idx = np.arange(len(labels))
    return Splits(
        train_images=images[train_idx],
        train_labels=labels[train_idx],
        val_images=images[val_idx],
        val_labels=labels[val_idx],
        test_images=data.test_images,
        test_labels=data.test_labels,
    )
