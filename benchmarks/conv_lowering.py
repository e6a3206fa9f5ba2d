"""Which convolution lowering is fastest inside the one-program epoch, per model, on this backend.

  python -m benchmarks.conv_lowering [--configs=baseline,variant_bn] [--num_examples=6400] [--repeats=3]

For each config and lowering (toeplitz, im2col, xla) it compiles the real train epoch (lax.scan over the
batches of the config's batch size) on the first `num_examples` training images, runs it once,
then `repeats` times more, and prints the median of those epochs' step time and images/s. Compile
time is reported separately. Re-run it on a new jax release or backend before changing `conv_impl='auto'`.
"""

from __future__ import annotations

import jax
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, train
from fmnist_jax.config_base import CONFIG_DIR, config_from_file

_CONFIGS = flags.DEFINE_list("configs", ["baseline", "variant_bn"], "Config names in configs/.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 6400, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs after the first (their median is reported).")


def time_epoch(config, images, labels, repeats: int) -> dict[str, float]:
    """Compiles and times the real train epoch; returns compile_s, step_ms and images_per_s (of the
    median steady-state epoch)."""
    steps = images.shape[0] // config.batch_size
    _, state, options = common.training_setup(config, steps)
    epoch_fn = train.make_train_epoch(options)
    timing, _ = common.time_epochs(epoch_fn, state, images, labels, repeats)
    epoch_s = timing.median_s
    return {
        "compile_s": timing.compile_s,
        "step_ms": 1e3 * epoch_s / steps,
        "images_per_s": steps * config.batch_size / epoch_s,
    }


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    print(common.machine_header("conv lowering") + "\n")
    print("| config | batch | lowering | step ms | images/s | compile s |")
    print("|---|---|---|---|---|---|")
    for name in _CONFIGS.value:
        config = config_from_file(CONFIG_DIR / f"{name}.py")
        for impl in ("toeplitz", "im2col", "xla"):
            config.conv_impl = impl
            r = time_epoch(config, images, labels, _REPEATS.value)
            print(
                f"| {name} | {config.batch_size} | {impl} | {r['step_ms']:.2f} | {r['images_per_s']:.0f} "
                f"| {r['compile_s']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    app.run(main)
