"""The same architectures in plain PyTorch (eager), timed the way PyTorch users train.

  python -m benchmarks.torch_reference [--models=lenet5,cnn_a] [--batch_size=128] [--num_steps=200]

The whole training set sits in memory as one float tensor; each step indexes a shuffled batch
(no DataLoader workers: on 2 cores they only add overhead), then forward, backward and Adam.
Step time is the median over `num_steps` steps after 20 warm-up steps. Needs the optional `bench`
extra (`pip install torch==2.13.0`).
"""

from __future__ import annotations

import statistics
import time

from absl import app, flags

from fmnist_jax import data

try:
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover - optional extra
    raise SystemExit(f"error: benchmarks.torch_reference needs PyTorch ({e}): pip install torch==2.13.0") from None

from benchmarks.torch_models import ARCHITECTURES  # noqa: E402

_MODELS = flags.DEFINE_list("models", ["lenet5", "cnn_a"], "Architectures to time.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 128, "Examples per step.")
_NUM_STEPS = flags.DEFINE_integer("num_steps", 200, "Timed steps.")
WARMUP_STEPS = 20


def time_training(name: str, images: torch.Tensor, labels: torch.Tensor, batch_size: int, num_steps: int) -> dict:
    torch.manual_seed(0)
    model = ARCHITECTURES[name]()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(images.shape[0])
    step_s = []
    for step in range(WARMUP_STEPS + num_steps):
        start_index = (step * batch_size) % (images.shape[0] - batch_size)
        idx = order[start_index : start_index + batch_size]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images[idx]), labels[idx])
        loss.backward()
        optimizer.step()
        step_s.append(time.perf_counter() - start)
    median_s = statistics.median(step_s[WARMUP_STEPS:])
    return {
        "model": name,
        "params": sum(p.numel() for p in model.parameters()),
        "step_ms": 1e3 * median_s,
        "images_per_s": batch_size / median_s,
    }


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    images = torch.from_numpy(fmnist.train_images.astype("float32") / 255.0).unsqueeze(1)
    labels = torch.from_numpy(fmnist.train_labels.astype("int64"))
    print(f"# PyTorch {torch.__version__} eager, {torch.get_num_threads()} threads, batch {_BATCH_SIZE.value}\n")
    print("| model | params | step ms | images/s |")
    print("|---|---|---|---|")
    for name in _MODELS.value:
        r = time_training(name, images, labels, _BATCH_SIZE.value, _NUM_STEPS.value)
        print(f"| {name} | {r['params']:,} | {r['step_ms']:.2f} | {r['images_per_s']:.0f} |", flush=True)


if __name__ == "__main__":
    app.run(main)
