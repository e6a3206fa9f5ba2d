"""One training run of a model in each framework, timed the same way: what benchmarks.compare and
benchmarks.layer_compare share. JAX runs this engine's epoch program; PyTorch runs eager or
`torch.compile`d on the device JAX runs on (see benchmarks.compare for how each is timed)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from absl import logging

from benchmarks import common
from fmnist_jax import data, train


def torch_description(script: str) -> str:
    """'PyTorch <version> on <device> (<threads or GPU>)'; exits with the install line if PyTorch is missing."""
    try:
        import torch
    except ImportError as e:
        raise SystemExit(f"error: benchmarks.{script} needs PyTorch ({e}): pip install torch==2.13.0") from None
    device = torch_device()
    threads = f"{torch.get_num_threads()} threads" if device == "cpu" else torch.cuda.get_device_name()
    return f"PyTorch {torch.__version__} on {device} ({threads})"


def run_jax(
    name: str, batch_size: int, epochs: int, fmnist: data.FashionMNIST, limit: int, min_timed_s: float = 0.0
) -> dict[str, Any]:
    """This engine's run: a first epoch, then `epochs` timed ones (more while they add up to less than
    `min_timed_s`), then the test accuracy; see `speeds` for what is returned."""
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    images, labels = jax.device_put(fmnist.train_images[:limit]), jax.device_put(fmnist.train_labels[:limit])
    steps = limit // batch_size
    config.batch_size = batch_size
    model, state, options = common.training_setup(config, steps)
    epoch_fn = train.make_train_epoch(options)
    timing, state = common.time_epochs(epoch_fn, state, images, labels, repeats=epochs, min_total_s=min_timed_s)
    evaluate = train.make_evaluate(model.apply, 1000)
    test_images, test_labels = jax.device_put(fmnist.test_images), jax.device_put(fmnist.test_labels)
    test = evaluate(train.model_variables(state), test_images, test_labels)
    return {
        **speeds(steps * batch_size, timing.compile_s, timing.first_epoch_s, timing.epoch_s, epochs),
        "compile_s": timing.compile_s,
        "test_accuracy": float(test["accuracy"]),
    }


def speeds(
    images_per_epoch: int, compile_s: float, first_epoch_s: float, steady_epoch_s: Sequence[float], epochs: int
) -> dict:
    """images/s of the median steady epoch (of `steady_epochs` timed; benchmarks.throughput's rule too), of
    the first epoch alone, and with the compile (or PyTorch's warm-up step) charged: what a run of
    1 + `epochs` epochs pays in all (the first `epochs` steady epochs, however many more were timed)."""
    return {
        "images_per_s": images_per_epoch / statistics.median(steady_epoch_s),
        "steady_epochs": len(steady_epoch_s),
        "first_epoch_images_per_s": images_per_epoch / first_epoch_s,
        "images_per_s_with_compile": (1 + epochs)
        * images_per_epoch
        / (compile_s + first_epoch_s + sum(steady_epoch_s[:epochs])),
    }


def torch_device() -> str:
    """Where PyTorch runs: where JAX runs (cuda on a GPU), so the two are never on different devices."""
    import torch

    if jax.default_backend() == "gpu":
        if not torch.cuda.is_available():
            raise SystemExit("error: JAX runs on a GPU but this PyTorch has no CUDA: install a CUDA build of torch.")
        return "cuda"
    return "cpu"


def run_torch(
    name: str,
    batch_size: int,
    epochs: int,
    fmnist: data.FashionMNIST,
    limit: int,
    compiled: bool,
    min_timed_s: float = 0.0,
) -> dict[str, Any]:
    """PyTorch's run of the same model, eager or `torch.compile`d, timed as run_jax times its own."""
    import copy

    import torch

    from benchmarks import torch_models

    if compiled:
        # A fresh compiler cache per (model, batch size): otherwise each model reuses graphs made
        # dynamic by the earlier ones and, past dynamo's recompile limit (8), silently runs eager.
        torch._dynamo.reset()
        # And a cold compile every repeat, as JAX's (benchmarks.compare turns JAX's persistent cache off):
        # with inductor's on-disk graph and kernel caches only the first repeat of a shape compiled (7-18 s
        # on a 2-core CPU), the next two loaded it in 0.1-0.4 s, and the median reported the load.
        compiler_config = getattr(torch.compiler, "config", None) or torch._inductor.config  # torch < 2.6: inductor's
        compiler_config.force_disable_caches = True
    torch.manual_seed(0)
    device = torch_device()
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    model = torch_models.ARCHITECTURES[name]().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    forward = torch.compile(model) if compiled else model
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.from_numpy(fmnist.train_images[:limit].astype(np.float32) / 255.0).unsqueeze(1).to(device)
    labels = torch.from_numpy(fmnist.train_labels[:limit].astype(np.int64)).to(device)
    steps = limit // batch_size

    def synchronize() -> None:  # the clock is read only once the device is done
        if device == "cuda":
            torch.cuda.synchronize()

    def step(idx: torch.Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(forward(images[idx]), labels[idx]).backward()
        optimizer.step()

    model.train()
    before = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    start = time.perf_counter()
    step(torch.arange(batch_size, device=device))  # warm-up: torch.compile compiles here
    synchronize()
    warmup_s = time.perf_counter() - start
    model.load_state_dict(before[0])
    optimizer.load_state_dict(before[1])
    epoch_s: list[float] = []  # the first epoch is reported apart, as JAX's
    while len(epoch_s) < 1 + epochs or sum(epoch_s[1:]) < min_timed_s:
        start = time.perf_counter()
        order = torch.randperm(limit, device=device)
        for index in range(steps):
            step(order[index * batch_size : (index + 1) * batch_size])
        synchronize()
        epoch_s.append(time.perf_counter() - start)
    model.eval()
    with torch.no_grad():
        test_images = torch.from_numpy(fmnist.test_images.astype(np.float32) / 255.0).unsqueeze(1).to(device)
        logits = torch.cat([forward(chunk) for chunk in test_images.split(1000)])
        predictions = logits.argmax(dim=1).cpu().numpy()
    return {
        **speeds(steps * batch_size, warmup_s, epoch_s[0], epoch_s[1:], epochs),
        "warmup_s": warmup_s,
        "test_accuracy": float((predictions == fmnist.test_labels).mean()),
    }


def run_torch_compiled(*args: Any, min_timed_s: float = 0.0) -> dict[str, Any]:
    """run_torch with torch.compile; where it cannot compile, the reason instead of numbers."""
    try:
        return run_torch(*args, compiled=True, min_timed_s=min_timed_s)
    except Exception as e:  # noqa: BLE001 - inductor raises many types; the table says which
        reason = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:200]
        logging.warning("torch.compile failed: %s", reason)
        return {
            "images_per_s": None,
            "steady_epochs": None,
            "first_epoch_images_per_s": None,
            "images_per_s_with_compile": None,
            "warmup_s": None,
            "test_accuracy": None,
            "error": reason,
        }


def median_of(measurements: list[dict[str, Any]]) -> dict[str, Any]:
    """Per field the median over repeats (None if any repeat failed), plus images_per_s' (min, max)."""
    merged: dict[str, Any] = {}
    for field in measurements[0]:
        values = [m[field] for m in measurements]
        if field == "error" or any(v is None or isinstance(v, str) for v in values):
            merged[field] = next((v for v in values if v is not None), None) if field == "error" else None
            continue
        merged[field] = float(np.median(values))
    speeds = [m["images_per_s"] for m in measurements if m.get("images_per_s") is not None]
    merged["images_per_s_range"] = (min(speeds), max(speeds)) if speeds else None
    return merged
