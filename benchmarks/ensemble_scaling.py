"""What N seeds in one program cost against N separate single runs, per model and members program.

  python -m benchmarks.ensemble_scaling [--configs=b_lenet5,e_cnn5] [--members=1,4,8,16]
      [--programs=vmap,map,interleave] [--interleaved_members=4] [--conv_impls=auto] [--num_examples=5120]
      [--repeats=3] [--out=DIR]

For each config and convolution lowering it compiles the real train epoch (as a run builds it:
`ensemble.train_epoch_over_members`, every member training) of one member and of N members under each
members program (`vmap`: the members batched into every op; `map`: one after another inside the
program; `interleave`: groups of `--interleaved_members` stepped side by side in one scan; see
fmnist_jax/ensemble.py), on the first `num_examples` training images. Each is called once, then all of
them in turns for `repeats` rounds (`common.time_epochs_in_turns`), so a slow moment of a shared
machine falls on every program of the round. "program / separate" is, per round, the N members'
epoch over N x the one member's epoch of the same round: its median and min-max over the rounds;
below 1 is what training the members in one program saves. `--conv_impls` times each config with each
lowering (config.conv_impl: auto, xla, im2col, toeplitz): a vmapped XLA convolution becomes a grouped
one, while the matmul lowerings become batched matmuls.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import jax
from absl import app, flags

from benchmarks import common
from fmnist_jax import data
from fmnist_jax.config_base import CONFIG_DIR, config_from_file

_CONFIGS = flags.DEFINE_list("configs", ["b_lenet5", "e_cnn5"], "Config names in configs/.")
_MEMBERS = flags.DEFINE_list("members", ["1", "4", "8", "16"], "Ensemble sizes to time.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 5120, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Rounds of timed epochs after the first call (median and min-max).")
_PROGRAMS = flags.DEFINE_list(
    "programs", ["vmap", "map", "interleave"], "Members programs to time (see fmnist_jax/ensemble.py)."
)
_INTERLEAVED_MEMBERS = flags.DEFINE_integer(
    "interleaved_members", None, "Members per group under `interleave` (default: the config's)."
)
_CONV_IMPLS = flags.DEFINE_list("conv_impls", ["auto"], "Convolution lowerings to time (config.conv_impl).")
_OUT = flags.DEFINE_string("out", None, "Folder for ensemble_scaling.json and .csv (with how they were made).")


def members_epoch(config: Any, num_members: int, program: str, steps: int) -> tuple[Any, Any]:
    """The train epoch of num_members members of config under program, as a run compiles it."""
    _, state, options = common.training_setup(config, steps, num_members)
    return common.members_epoch_program(options, num_members, program, config.interleaved_members, state)


def time_config(
    config: Any, members_list: list[int], programs: list[str], images: jax.Array, labels: jax.Array, rounds: int
) -> list[dict[str, Any]]:
    """One row per (N, program), every program of the config timed in turns with one member's epoch."""
    steps = images.shape[0] // config.batch_size
    cases = [(n, program) for n in members_list for program in (programs if n > 1 else ["single"])]
    epochs = [members_epoch(config, 1, "map", steps)] + [members_epoch(config, n, p, steps) for n, p in cases]
    (single, *timings), _ = common.time_epochs_in_turns(epochs, images, labels, rounds)
    rows = []
    for (num_members, program), timing in zip(cases, timings, strict=True):
        ratios = [all_s / (num_members * one_s) for one_s, all_s in zip(single.epoch_s, timing.epoch_s, strict=True)]
        rows.append(
            {
                "members": num_members,
                "program": program,
                "epoch_s": timing.median_s,
                "separate_s": num_members * single.median_s,
                "ratio": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
                "images_per_s": num_members * steps * config.batch_size / timing.median_s,
                "compile_s": timing.compile_s,
            }
        )
    return rows


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    header = common.machine_header(f"ensemble scaling, {_NUM_EXAMPLES.value} examples per epoch")
    print(header + "\n")
    print(
        "| config | batch | conv | members N | program | epoch s | N separate s | program / separate (min-max) "
        "| images/s (all members) | compile s |"
    )
    print("|---|---:|---|---:|---|---:|---:|---:|---:|---:|")
    all_rows = []
    for name, conv_impl in itertools.product(_CONFIGS.value, _CONV_IMPLS.value):
        config = config_from_file(CONFIG_DIR / f"{name}.py")
        config.conv_impl = conv_impl
        if _INTERLEAVED_MEMBERS.value:
            config.interleaved_members = _INTERLEAVED_MEMBERS.value
        names = {"single": "single", "interleave": f"interleave {config.interleaved_members}"}
        members_list = [int(n) for n in _MEMBERS.value]
        for r in time_config(config, members_list, _PROGRAMS.value, images, labels, _REPEATS.value):
            program = names.get(r["program"], r["program"])
            print(
                f"| {name} | {config.batch_size} | {conv_impl} | {r['members']} | {program} "
                f"| {r['epoch_s']:.2f} | {r['separate_s']:.2f} "
                f"| {r['ratio']:.2f} ({r['ratio_min']:.2f}-{r['ratio_max']:.2f}) "
                f"| {r['images_per_s']:.0f} | {r['compile_s']:.1f} |",
                flush=True,
            )
            setting = {"config": name, "batch_size": config.batch_size, "conv_impl": conv_impl}
            all_rows.append({**setting, **r, "interleaved_members": config.interleaved_members})
        # After each config, so that a run cut short keeps the rows it measured.
        common.write_outputs(_OUT.value, "ensemble_scaling", header, all_rows)


if __name__ == "__main__":
    app.run(main)
