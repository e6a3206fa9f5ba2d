"""What drawing the dropout masks costs: JAX's own draw (as flax's Dropout) against fmnist_jax.dropout's.

  python -m benchmarks.dropout_draw [--configs=baseline,e_cnn5,d_cnn] [--num_examples=5120] [--repeats=3]
      [--rounds=3] [--out=results/benchmarks/cpu]

For each config it compiles the real train epoch twice, once with every mask drawn by
`jax.random.bernoulli` (`dropout.jax_draw_only`: what flax's Dropout runs, a rolled threefry loop on
CPU) and once with fmnist_jax.dropout's unrolled draw, checks that both end the epoch with the very
same parameters (the masks are the same bits), then times them in alternating rounds: each round
runs each program once and `repeats` epochs more on the first `num_examples` training images and
keeps their median; the table gives the median over rounds with the range.
"""

from __future__ import annotations

import contextlib
import statistics
from typing import Any

import jax
import numpy as np
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, dropout

_CONFIGS = flags.DEFINE_list("configs", ["baseline", "e_cnn5", "d_cnn"], "Config names in configs/.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 5120, "Training examples per timed epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs after the first, per round (their median is kept).")
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Alternating rounds of the two draws.")
_OUT = flags.DEFINE_string("out", "", "Folder for dropout_draw.json / .csv ('': print only).")

DRAWS = ("jax", "unrolled")


def _draw_context(draw: str) -> Any:
    return dropout.jax_draw_only() if draw == "jax" else contextlib.nullcontext()


def same_epoch(name: str, images: jax.Array, labels: jax.Array) -> bool:
    """Whether one epoch with either draw ends with bit-identical parameters."""
    params = []
    for draw in DRAWS:
        with _draw_context(draw):
            params.append(common.one_epoch_parameters(name, images, labels))
    return all(np.array_equal(a, b) for a, b in zip(*params, strict=True))


def time_draw(name: str, draw: str, images: jax.Array, labels: jax.Array) -> dict[str, float]:
    config = common.load_config(name)
    with _draw_context(draw):  # the masks are chosen when the epoch is traced, inside time_config_epoch
        return common.time_config_epoch(config, images, labels, _REPEATS.value)


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    rows = []
    for name in _CONFIGS.value:
        identical = same_epoch(name, images[:1280], labels[:1280])
        step_ms: dict[str, list[float]] = {draw: [] for draw in DRAWS}
        for _ in range(_ROUNDS.value):
            for draw in DRAWS:
                step_ms[draw].append(time_draw(name, draw, images, labels)["step_ms"])
        median = {draw: statistics.median(step_ms[draw]) for draw in DRAWS}
        rows.append(
            {
                "config": name,
                "batch_size": common.load_config(name).batch_size,
                "jax_step_ms": median["jax"],
                "jax_step_ms_range": f"{min(step_ms['jax']):.2f}-{max(step_ms['jax']):.2f}",
                "unrolled_step_ms": median["unrolled"],
                "unrolled_step_ms_range": f"{min(step_ms['unrolled']):.2f}-{max(step_ms['unrolled']):.2f}",
                "speedup": median["jax"] / median["unrolled"],
                "same_parameters": identical,
            }
        )
        print(rows[-1], flush=True)
    columns = [
        ("config", "config", ""),
        ("batch_size", "batch", "d"),
        ("jax_step_ms", "jax draw ms/step", ".2f"),
        ("jax_step_ms_range", "range", ""),
        ("unrolled_step_ms", "unrolled ms/step", ".2f"),
        ("unrolled_step_ms_range", "range", ""),
        ("speedup", "jax / unrolled", ".2f"),
        ("same_parameters", "same parameters after an epoch", ""),
    ]
    header = common.machine_header(
        f"dropout draw, {_NUM_EXAMPLES.value} examples per epoch, {_ROUNDS.value} rounds of 1 + {_REPEATS.value} epochs"
    )
    print(header + "\n\n" + common.markdown_table(rows, columns))
    common.write_outputs(_OUT.value, "dropout_draw", header, rows)


if __name__ == "__main__":
    app.run(main)
