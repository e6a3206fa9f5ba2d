"""What N seeds in one program cost against N separate single runs, per model and members program.

  python -m benchmarks.ensemble_scaling [--configs=b_lenet5,e_cnn5] [--members=1,4,8,16]
      [--programs=vmap,map] [--conv_impls=auto] [--num_examples=5120] [--repeats=2]

For each config, members program (`vmap`: the members batched into every op; `map`: one after
another inside the program, see fmnist_jax/ensemble.py) and N it compiles the real train epoch of
N members on the first `num_examples` training images, runs it once, then `repeats` epochs more (each
on the state the previous one returned) and reports their median. "N separate" is N times the
measured single-member epoch: what N runs would cost. A ratio program / separate below 1 is what
training the members in one program saves. `--conv_impls` times each config with each convolution
lowering (config.conv_impl: auto, xla, im2col, toeplitz): a vmapped XLA convolution becomes a grouped
one, while the matmul lowerings become batched matmuls.
"""

from __future__ import annotations

import itertools

import jax
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, ensemble, train
from fmnist_jax.config_base import CONFIG_DIR, config_from_file

_CONFIGS = flags.DEFINE_list("configs", ["b_lenet5", "e_cnn5"], "Config names in configs/.")
_MEMBERS = flags.DEFINE_list("members", ["1", "4", "8", "16"], "Ensemble sizes to time.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 5120, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 2, "Timed epochs after the first (their median is reported).")
_PROGRAMS = flags.DEFINE_list("programs", ["vmap", "map"], "Members programs to time (see fmnist_jax/ensemble.py).")
_CONV_IMPLS = flags.DEFINE_list("conv_impls", ["auto"], "Convolution lowerings to time (config.conv_impl).")


def time_members(
    config, num_members: int, program: str, images: jax.Array, labels: jax.Array, repeats: int
) -> dict[str, float]:
    steps = images.shape[0] // config.batch_size
    _, state, options = common.training_setup(config, steps, num_members)
    epoch_fn = ensemble.over_members(train.make_train_epoch(options), num_members, program)
    timing, _ = common.time_epochs(epoch_fn, state, images, labels, repeats)
    epoch_s = timing.median_s
    return {
        "epoch_s": epoch_s,
        "compile_s": timing.compile_s,
        "images_per_s": num_members * steps * config.batch_size / epoch_s,
    }


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    print(common.machine_header(f"ensemble scaling, {_NUM_EXAMPLES.value} examples per epoch") + "\n")
    print(
        "| config | batch | conv | members N | program | epoch s | N separate s | program / separate "
        "| images/s (all members) | compile s |"
    )
    print("|---|---:|---|---:|---|---:|---:|---:|---:|---:|")
    for name, conv_impl in itertools.product(_CONFIGS.value, _CONV_IMPLS.value):
        config = config_from_file(CONFIG_DIR / f"{name}.py")
        config.conv_impl = conv_impl
        single_s = time_members(config, 1, "vmap", images, labels, _REPEATS.value)["epoch_s"]  # one run's cost
        for num_members in map(int, _MEMBERS.value):
            for program in _PROGRAMS.value if num_members > 1 else ["single"]:
                r = time_members(config, num_members, program, images, labels, _REPEATS.value)
                separate_s = num_members * single_s
                print(
                    f"| {name} | {config.batch_size} | {conv_impl} | {num_members} | {program} "
                    f"| {r['epoch_s']:.2f} | {separate_s:.2f} | {r['epoch_s'] / separate_s:.2f} "
                    f"| {r['images_per_s']:.0f} | {r['compile_s']:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    app.run(main)
