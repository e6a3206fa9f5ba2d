"""A lowering tried and not adopted: Winograd F(2x2, 3x3) for the 3x3 convolutions, against im2col.

  python -m benchmarks.winograd [--batch_sizes=32,128] [--passes=10] [--repeats=7] [--layers=0,1]
      [--out=results/benchmarks/cpu]

Why it was tried: past the first layer every CNN's 3x3 convolutions are where JAX loses to PyTorch's
oneDNN on CPU (BENCHMARKS.md, "Layer by layer"). Winograd's F(2x2, 3x3) computes each 2x2 block of
outputs from a 4x4 block of inputs with 16 products instead of 36: the convolution becomes 16 matmuls
of (tiles, cin) x (cin, cout), 2.25x fewer multiplications than im2col's one (pixels, 9 cin) x
(9 cin, cout) matmul, and the transformed input is 4x the input where im2col's patches are 9x.

What it measures: for each 3x3 layer shape of the CNNs here (`SHAPES`), forward and backward (input
and kernel gradients, as the train step runs them), `passes` of them in one jitted `lax.scan`, best
and median of `repeats` calls, for im2col (`fmnist_jax.layers.conv_im2col`, today's CPU lowering of
these layers) and for `benchmarks.winograd_lowering.conv_winograd`, which it also checks against XLA's
convolution (values and gradients).

Why that lowering is not in fmnist_jax/layers.py: on XLA:CPU its matmuls are cheaper than im2col's,
but the tile transforms (strided reads, the stacks of 16 slices and their transposes in the backward
pass) cost more than the arithmetic saved; BENCHMARKS.md has the numbers.
"""

from __future__ import annotations

import statistics
from typing import Any

import jax
from absl import app, flags

from benchmarks import common
from benchmarks.winograd_lowering import SHAPES, conv_winograd, max_relative_errors
from fmnist_jax.layers import conv_im2col

_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes to time.")
_PASSES = flags.DEFINE_integer("passes", 10, "Forward-backward passes in one jitted scan (one call).")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed calls after a first one.")
_LAYERS = flags.DEFINE_list("layers", [], "Indices into winograd_lowering.SHAPES to time (default: all).")
_OUT = flags.DEFINE_string("out", "", "Folder for winograd.json / .csv ('': print only).")


def time_forward_backward(lower: Any, x: jax.Array, kernel: jax.Array, padding: str) -> tuple[float, float]:
    """(best, median) ms of one forward-backward pass of `lower`, timed as `passes` in one jitted scan."""
    pass_ms = common.conv_pass_ms(lower, x, kernel, padding, _PASSES.value, _REPEATS.value)
    return min(pass_ms), statistics.median(pass_ms)


def main(argv: list[str]) -> None:
    del argv
    header = common.machine_header("Winograd F(2x2, 3x3) against im2col, forward and backward")
    print(header + "\n")
    rows = []
    for batch in map(int, _BATCH_SIZES.value):
        for model, side, cin, cout, padding in [SHAPES[int(i)] for i in _LAYERS.value] or SHAPES:
            x = jax.random.normal(jax.random.key(0), (batch, side, side, cin))
            kernel = 0.1 * jax.random.normal(jax.random.key(1), (3, 3, cin, cout))
            errors = max_relative_errors(x, kernel, padding)
            im2col_ms, im2col_median_ms = time_forward_backward(conv_im2col, x, kernel, padding)
            winograd_ms, winograd_median_ms = time_forward_backward(conv_winograd, x, kernel, padding)
            rows.append(
                {
                    "model": model,
                    "layer": f"3x3 {cin}->{cout} at {side}x{side} {padding.lower()}",
                    "batch": batch,
                    "im2col_ms": im2col_ms,
                    "im2col_median_ms": im2col_median_ms,
                    "winograd_ms": winograd_ms,
                    "winograd_median_ms": winograd_median_ms,
                    "im2col_over_winograd": im2col_ms / winograd_ms,
                    "max_relative_error": max(errors.values()),
                }
            )
            print(f"{rows[-1]}", flush=True)
            common.write_outputs(_OUT.value, "winograd", header, rows)
    columns = [
        ("model", "model", ""),
        ("layer", "layer", ""),
        ("batch", "batch", "d"),
        ("im2col_ms", "im2col ms (best)", ".2f"),
        ("winograd_ms", "winograd ms (best)", ".2f"),
        ("im2col_over_winograd", "im2col / winograd", ".2f"),
        ("max_relative_error", "max rel. error vs XLA conv", ".1e"),
    ]
    print("\n" + common.markdown_table(rows, columns))


if __name__ == "__main__":
    app.run(main)
