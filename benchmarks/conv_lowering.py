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
from fmnist_jax import data
from fmnist_jax.config_base import CONFIG_DIR, config_from_file

_CONFIGS = flags.DEFINE_list("configs", ["baseline", "variant_bn"], "Config names in configs/.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 6400, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs after the first (their median is reported).")


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
            r = common.time_config_epoch(config, images, labels, _REPEATS.value)
            print(
                f"| {name} | {config.batch_size} | {impl} | {r['step_ms']:.2f} | {r['images_per_s']:.0f} "
                f"| {r['compile_s']:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    app.run(main)
