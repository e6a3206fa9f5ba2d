"""JAX (this engine) against PyTorch eager on the same models, data, batch size and optimizer.

  python -m benchmarks.compare [--models=lenet5,cnn_a] [--batch_sizes=32,128] [--epochs=1]
      [--train_limit=0] [--out=DIR]

Both train on the first `train_limit` (0: all 60,000) training images for `epochs` epochs with
the config's Adam learning rate, back to back in this process, then evaluate on the 10,000 test
images. Throughput excludes JAX's compile time (reported apart) and PyTorch's first epoch is not
excluded (eager has nothing to compile). The test accuracies show that the speed is not bought
with different math. Needs the optional `bench` extra (PyTorch).
"""

from __future__ import annotations

import time
from typing import Any

import jax
import numpy as np
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, train

_MODELS = flags.DEFINE_list("models", ["lenet5", "cnn_a"], "Architectures with a PyTorch twin.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes.")
_EPOCHS = flags.DEFINE_integer("epochs", 1, "Epochs each framework trains.")
_TRAIN_LIMIT = flags.DEFINE_integer("train_limit", 0, "First N training images (0: all).")
_OUT = flags.DEFINE_string("out", "", "Folder for compare.json and compare.csv.")


def run_jax(name: str, batch_size: int, epochs: int, fmnist: data.FashionMNIST, limit: int) -> dict[str, Any]:
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    images, labels = jax.device_put(fmnist.train_images[:limit]), jax.device_put(fmnist.train_labels[:limit])
    steps = limit // batch_size
    config.batch_size = batch_size
    model, state, options = common.training_setup(config, steps)
    start = time.perf_counter()
    epoch = jax.jit(train.make_train_epoch(options)).lower(state, images, labels).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(epochs):
        state, metrics = epoch(state, images, labels)
    jax.block_until_ready(metrics)
    train_s = time.perf_counter() - start
    evaluate = train.make_evaluate(model.apply, 1000)
    test_images, test_labels = jax.device_put(fmnist.test_images), jax.device_put(fmnist.test_labels)
    test = evaluate(train.model_variables(state), test_images, test_labels)
    return {
        "images_per_s": epochs * steps * batch_size / train_s,
        "compile_s": compile_s,
        "test_accuracy": float(test["accuracy"]),
    }


def run_torch(name: str, batch_size: int, epochs: int, fmnist: data.FashionMNIST, limit: int) -> dict[str, Any]:
    import torch

    from benchmarks import torch_models

    torch.manual_seed(0)
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    model = torch_models.ARCHITECTURES[name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.from_numpy(fmnist.train_images[:limit].astype(np.float32) / 255.0).unsqueeze(1)
    labels = torch.from_numpy(fmnist.train_labels[:limit].astype(np.int64))
    steps = limit // batch_size
    model.train()
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(limit)
        for step in range(steps):
            idx = order[step * batch_size : (step + 1) * batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(images[idx]), labels[idx]).backward()
            optimizer.step()
    train_s = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        test_images = torch.from_numpy(fmnist.test_images.astype(np.float32) / 255.0).unsqueeze(1)
        predictions = model(test_images).argmax(dim=1).numpy()
    return {
        "images_per_s": epochs * steps * batch_size / train_s,
        "test_accuracy": float((predictions == fmnist.test_labels).mean()),
    }


def main(argv: list[str]) -> None:
    del argv
    try:
        import torch
    except ImportError as e:
        raise SystemExit(f"error: benchmarks.compare needs PyTorch ({e}): pip install torch==2.13.0") from None
    fmnist = data.load_fashion_mnist()
    limit = _TRAIN_LIMIT.value or len(fmnist.train_labels)
    rows = []
    for name in _MODELS.value:
        for batch_size in map(int, _BATCH_SIZES.value):
            ours = run_jax(name, batch_size, _EPOCHS.value, fmnist, limit)
            theirs = run_torch(name, batch_size, _EPOCHS.value, fmnist, limit)
            rows.append(
                {
                    "model": name,
                    "batch_size": batch_size,
                    "epochs": _EPOCHS.value,
                    "jax_images_per_s": ours["images_per_s"],
                    "torch_images_per_s": theirs["images_per_s"],
                    "jax_over_torch": ours["images_per_s"] / theirs["images_per_s"],
                    "jax_compile_s": ours["compile_s"],
                    "jax_test_accuracy": ours["test_accuracy"],
                    "torch_test_accuracy": theirs["test_accuracy"],
                }
            )
            print(f"{name} batch {batch_size}: jax/torch {rows[-1]['jax_over_torch']:.2f}", flush=True)
    header = common.machine_header(f"jax vs PyTorch {torch.__version__} eager ({torch.get_num_threads()} threads)")
    common.write_outputs(_OUT.value, "compare", header, rows)
    print(header + f", {limit} training images, {_EPOCHS.value} epoch(s)\n")
    print(
        common.markdown_table(
            rows,
            [
                ("model", "model", ""),
                ("batch_size", "batch", "d"),
                ("epochs", "epochs", "d"),
                ("jax_images_per_s", "jax images/s", ",.0f"),
                ("torch_images_per_s", "torch images/s", ",.0f"),
                ("jax_over_torch", "jax / torch", ".2f"),
                ("jax_compile_s", "jax compile s", ".1f"),
                ("jax_test_accuracy", "jax test acc.", ".4f"),
                ("torch_test_accuracy", "torch test acc.", ".4f"),
            ],
        )
    )


if __name__ == "__main__":
    app.run(main)
