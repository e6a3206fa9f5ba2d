"""A lowering tried and not adopted: oneDNN's direct convolutions for the wide layers, against today's.

  python -m benchmarks.onednn_conv [--batch_sizes=32,128] [--layers=0,1] [--configs=e_cnn5:128,baseline:32]
      [--rounds=6] [--num_examples=3840] [--out=results/benchmarks/cpu]

Needs a C++ compiler and oneDNN 2.x (Debian 12: `apt-get install g++ libdnnl-dev`); see
`benchmarks/onednn_lowering.py` for why it was tried and why it stays out of fmnist_jax/layers.py.

Two measurements:
- each wide 3x3 layer shape of the CNNs here (`winograd_lowering.SHAPES`), forward and backward (input and
  kernel gradients), `passes` of them in one jitted `lax.scan`, best of `repeats` calls, with im2col (what
  `conv_impl=auto` runs there on CPU) and with oneDNN, which it also checks against XLA's convolution;
- the real train epoch of each config at the batch size given (config:batch), on the first `num_examples`
  training images, compiled as it is and with its wide layers on oneDNN, both in this process, epochs in
  turns for `rounds` rounds; "today / onednn" is the per-round ratio of epoch times (above 1: oneDNN faster).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import jax
from absl import app, flags

from benchmarks import common
from benchmarks.onednn_lowering import conv_padded, wide_layers_on_onednn
from benchmarks.winograd_lowering import SHAPES
from fmnist_jax import data, layers, train

_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes of the layers timed alone.")
_LAYERS = flags.DEFINE_list("layers", [], "Indices into winograd_lowering.SHAPES to time alone (default: all).")
_PASSES = flags.DEFINE_integer("passes", 10, "Forward-backward passes in one jitted scan (one call).")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed calls of each layer after a first one (best reported).")
_CONFIGS = flags.DEFINE_list(
    "configs", ["e_cnn5:128", "d_cnn:128", "e_cnn4:128", "baseline:32", "d_cnn:32", "e_cnn5:32"], "config:batch."
)
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 3840, "Training images per timed epoch.")
_ROUNDS = flags.DEFINE_integer("rounds", 6, "Epochs of each program, in turns.")
_OUT = flags.DEFINE_string("out", "", "Folder for onednn_conv.json / .csv ('': print only).")


def layer_ms(lower: Callable[..., jax.Array], x: jax.Array, kernel: jax.Array, padding: str) -> float:
    """Best ms of one forward-backward pass of lower(x, kernel, padding), timed as `passes` in one jitted scan."""
    return min(common.conv_pass_ms(lower, x, kernel, padding, _PASSES.value, _REPEATS.value))


def layer_rows() -> list[dict[str, Any]]:
    rows = []
    for batch in map(int, _BATCH_SIZES.value):
        for model, side, cin, cout, padding in [SHAPES[int(i)] for i in _LAYERS.value] or SHAPES:
            x = jax.random.normal(jax.random.key(0), (batch, side, side, cin))
            kernel = 0.1 * jax.random.normal(jax.random.key(1), (3, 3, cin, cout))
            im2col_ms = layer_ms(layers.conv_im2col, x, kernel, padding)
            onednn_ms = layer_ms(conv_padded, x, kernel, padding)
            rows.append(
                {
                    "what": "layer alone",
                    "model": model,
                    "layer": f"3x3 {cin}->{cout} at {side}x{side} {padding.lower()}",
                    "batch": batch,
                    "today_ms": im2col_ms,
                    "onednn_ms": onednn_ms,
                    "today_over_onednn": im2col_ms / onednn_ms,
                    "max_relative_error": max(common.conv_relative_errors(conv_padded, x, kernel, padding).values()),
                }
            )
            print(rows[-1], flush=True)
    return rows


def _traced_on_onednn(epoch_fn: Callable[..., Any]) -> Callable[..., Any]:
    def traced(*args: Any) -> Any:
        with wide_layers_on_onednn():  # active while jit traces the epoch: the program keeps the FFI calls
            return epoch_fn(*args)

    return traced


def epoch_rows(fmnist: data.FashionMNIST) -> list[dict[str, Any]]:
    images = jax.device_put(fmnist.train_images[: _NUM_EXAMPLES.value])
    labels = jax.device_put(fmnist.train_labels[: _NUM_EXAMPLES.value])
    rows = []
    for spec in _CONFIGS.value:
        name, batch = spec.split(":")
        config = common.load_config(name)
        config.batch_size = int(batch)
        steps = _NUM_EXAMPLES.value // config.batch_size
        programs = []
        for wrap in (lambda fn: fn, _traced_on_onednn):
            _, state, options = common.training_setup(config, steps)
            programs.append((wrap(train.make_train_epoch(options)), state))
        (today, onednn), _ = common.time_epochs_in_turns(programs, images, labels, _ROUNDS.value)
        ratios = [a / b for a, b in zip(today.epoch_s, onednn.epoch_s, strict=True)]
        rows.append(
            {
                "what": "train epoch",
                "model": name,
                "layer": "wide layers",
                "batch": config.batch_size,
                "today_ms": 1e3 * today.median_s / steps,
                "onednn_ms": 1e3 * onednn.median_s / steps,
                "today_over_onednn": statistics.median(ratios),
                "ratio_min": min(ratios),
                "ratio_max": max(ratios),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str]) -> None:
    del argv
    header = common.machine_header("oneDNN's convolutions through XLA's FFI against today's lowering")
    print(header + "\n")
    rows = layer_rows()
    common.write_outputs(_OUT.value, "onednn_conv", header, rows)
    rows += epoch_rows(data.load_fashion_mnist())
    common.write_outputs(_OUT.value, "onednn_conv", header, rows)
    columns = [
        ("what", "what", ""),
        ("model", "model", ""),
        ("layer", "layer", ""),
        ("batch", "batch", "d"),
        ("today_ms", "today ms", ".2f"),
        ("onednn_ms", "onednn ms", ".2f"),
        ("today_over_onednn", "today / onednn", ".2f"),
        ("ratio_min", "min", ".2f"),
        ("ratio_max", "max", ".2f"),
        ("max_relative_error", "max rel. error vs XLA conv", ".1e"),
    ]
    print("\n" + common.markdown_table(rows, columns))


if __name__ == "__main__":
    app.run(main)
