"""The convolutions' kernel gradients: their share of a train step, and XLA:CPU's GEMM on their shape.

  python -m benchmarks.kernel_gradient [--config=e_cnn5] [--num_examples=3840] [--rounds=8] [--repeats=7]
      [--out=DIR]

An im2col convolution is three GEMMs per train step: the forward one, patches (M, K) @ kernel (K, N);
the input gradient, dy (M, N) @ kernel^T; and the kernel gradient, patches^T @ dy, whose (K, N) output
is small and whose contraction runs over all M = batch x height x width pixels. Two measurements:

1. In situ: the config's real train epoch compiled twice in one process, as it is and with
   `stop_gradient` on every conv kernel (XLA then drops their kernel-gradient GEMMs; the forward and
   input-gradient work stays), timed in alternating epochs, `rounds` each: the median step of each, and
   the kernel gradients' share of the step per round (two epochs back to back), its median and range.
   That is what the kernel gradients cost inside the step, which the profiler does not show: XLA:CPU
   hands these dots to Eigen, and their traced events hold a few percent of their time.
2. The minimal reproduction: for each im2col convolution of the config at its batch size, the
   kernel-gradient GEMM alone (`dot_general` contracting dim 0 of both operands, as autodiff emits it)
   against the forward GEMM of the same FLOPs, and the kernel gradient split over 2 chunks of pixels
   (one batched dot, then a sum). Each runs 10 times in one jitted `lax.scan`, each pass on a rescaled
   operand so that XLA cannot hoist it out of the loop; best of `repeats` calls; GFLOP/s beside the
   machine's 2048 x 2048 matmul rate.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags
from flax import linen as nn
from jax import lax

from benchmarks import common, model_layers
from fmnist_jax import data, train
from fmnist_jax.models import build_model
from fmnist_jax.run import timed_compile

_CONFIG = flags.DEFINE_string("config", "e_cnn5", "Config name in configs/.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 3840, "Training images per timed epoch (in situ).")
_ROUNDS = flags.DEFINE_integer("rounds", 8, "Timed epochs of each program, alternating (their median).")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed calls per GEMM (the best counts).")
_OUT = flags.DEFINE_string("out", "", "Folder for kernel_gradient.json and kernel_gradient.csv.")

PASSES = 10  # GEMMs per timed call, in one scan


def in_situ(config_name: str, num_examples: int, rounds: int) -> dict[str, Any]:
    """The real epoch with and without the conv kernel gradients, alternating in one process."""
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[:num_examples])
    labels = jax.device_put(fmnist.train_labels[:num_examples])
    config = common.load_config(config_name)
    steps = num_examples // config.batch_size
    programs = {}
    for variant in ("full", "no_conv_kernel_gradients"):
        _, state, options = common.training_setup(config, steps)
        without = nn.intercept_methods(model_layers.conv_without_kernel_gradient)
        with without if variant != "full" else nullcontext():
            epoch, _ = timed_compile(train.make_train_epoch(options), state, images, labels, donate=True)
        state, _ = epoch(state, images, labels)  # the first call (allocation, first touch) is not timed
        programs[variant] = [epoch, jax.block_until_ready(state)]
    seconds: dict[str, list[float]] = {variant: [] for variant in programs}
    for round_index in range(rounds):
        order = list(programs) if round_index % 2 == 0 else list(reversed(programs))
        for variant in order:
            epoch, state = programs[variant]
            start = time.perf_counter()
            state, metrics = epoch(state, images, labels)
            jax.block_until_ready((state, metrics))
            seconds[variant].append(time.perf_counter() - start)
            programs[variant][1] = state
    full_ms, without_ms = (1e3 * statistics.median(seconds[v]) / steps for v in programs)
    # Each round's pair of epochs ran back to back: their share is safe from this VM's drift over minutes.
    shares = [1 - without / full for full, without in zip(*seconds.values(), strict=True)]
    return {
        "config": config_name,
        "batch_size": config.batch_size,
        "step_ms": full_ms,
        "step_ms_without_conv_kernel_gradients": without_ms,
        "conv_kernel_gradients_ms": full_ms - without_ms,
        "conv_kernel_gradients_share": statistics.median(shares),
        "conv_kernel_gradients_share_min": min(shares),
        "conv_kernel_gradients_share_max": max(shares),
    }


def gemm_forms() -> dict[str, Callable[[jax.Array, jax.Array, jax.Array], jax.Array]]:
    """name -> f(patches (M, K), dy (M, N), kernel (K, N)): the same FLOPs, 2 M K N, in each form."""

    def kernel_gradient(patches: jax.Array, dy: jax.Array, kernel: jax.Array) -> jax.Array:
        return lax.dot_general(patches, dy, (((0,), (0,)), ((), ())))

    def kernel_gradient_split_2(patches: jax.Array, dy: jax.Array, kernel: jax.Array) -> jax.Array:
        (m, k), n = patches.shape, dy.shape[1]  # m is even: batch x pixels, every batch size here is
        chunks = lax.dot_general(patches.reshape(2, m // 2, k), dy.reshape(2, m // 2, n), (((1,), (1,)), ((0,), (0,))))
        return chunks.sum(axis=0)

    def forward(patches: jax.Array, dy: jax.Array, kernel: jax.Array) -> jax.Array:
        return patches @ kernel

    return {"forward": forward, "kernel_gradient": kernel_gradient, "kernel_gradient_split_2": kernel_gradient_split_2}


def gemm_flops_per_s(form: Callable[..., jax.Array], m: int, k: int, n: int, repeats: int) -> float:
    """FLOP/s of PASSES calls of form in one jitted scan, each on dy and kernel scaled by the pass's
    number (a fresh operand per pass: XLA cannot hoist the GEMM out of the loop); best of repeats."""
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    patches = jax.random.normal(keys[0], (m, k), jnp.float32)
    dy = jax.random.normal(keys[1], (m, n), jnp.float32)
    kernel = jax.random.normal(keys[2], (k, n), jnp.float32)

    def run(patches: jax.Array, dy: jax.Array, kernel: jax.Array) -> jax.Array:
        def one_pass(total: jax.Array, scale: jax.Array) -> tuple[jax.Array, None]:
            return total + jnp.sum(form(patches, dy * scale, kernel * scale)), None

        return lax.scan(one_pass, jnp.zeros(()), jnp.arange(1.0, PASSES + 1.0))[0]

    compiled = jax.jit(run).lower(patches, dy, kernel).compile()
    seconds = common.call_seconds(lambda: jax.block_until_ready(compiled(patches, dy, kernel)), repeats)
    return 2 * m * k * n * PASSES / min(seconds)


def check_forms_agree(m: int, k: int, n: int) -> None:
    """Both kernel-gradient forms compute patches^T @ dy (to float reassociation) on this shape: a
    benchmark of a form that computes something else would be meaningless."""
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    patches, dy = jax.random.normal(keys[0], (m, k)), jax.random.normal(keys[1], (m, n))
    expected = np.asarray(patches, np.float64).T @ np.asarray(dy, np.float64)
    for name, form in gemm_forms().items():
        if name.startswith("kernel_gradient"):
            got = np.asarray(jax.jit(form)(patches, dy, jnp.zeros((k, n))), np.float64)
            error = np.max(np.abs(got - expected)) / np.max(np.abs(expected))
            if not error < 1e-4:
                raise RuntimeError(f"{name} on {m} x {k} x {n} differs from patches^T @ dy by {error:.1e} (relative)")


def gemm_rows(config_name: str, repeats: int) -> list[dict[str, Any]]:
    config = common.load_config(config_name)
    rows = []
    for call in model_layers.layer_calls(build_model(config), config.batch_size):
        shape = model_layers.im2col_gemm_shapes(call)
        if shape is None:
            continue
        m, k, n = shape
        check_forms_agree(m, k, n)
        row: dict[str, Any] = {"config": config_name, "layer": call.path, "describe": call.describe()}
        row["gemm"] = f"{m} x {k} x {n}"
        for name, form in gemm_forms().items():
            row[f"{name}_gflop_per_s"] = gemm_flops_per_s(form, m, k, n, repeats) / 1e9
        rows.append(row)
    return rows


def main(argv: list[str]) -> None:
    del argv
    peak = common.matmul_flops_per_s()  # first, on the otherwise idle machine
    header = common.machine_header(f"conv kernel gradients; fp32 matmul 2048^2 at {peak / 1e9:,.0f} GFLOP/s")
    situ = in_situ(_CONFIG.value, _NUM_EXAMPLES.value, _ROUNDS.value)
    rows = gemm_rows(_CONFIG.value, _REPEATS.value)
    common.write_outputs(_OUT.value, "kernel_gradient", header, [situ, *rows])
    print(header + "\n")
    print(
        f"{situ['config']} (batch {situ['batch_size']}), the real epoch on {_NUM_EXAMPLES.value} images, "
        f"median of {_ROUNDS.value} alternating epochs: {situ['step_ms']:.1f} ms/step, "
        f"{situ['step_ms_without_conv_kernel_gradients']:.1f} without the conv kernel gradients: they take "
        f"{situ['conv_kernel_gradients_ms']:.1f} ms of the step; per round, {situ['conv_kernel_gradients_share']:.1%} "
        f"(median; {situ['conv_kernel_gradients_share_min']:.1%}-{situ['conv_kernel_gradients_share_max']:.1%})\n"
    )
    print(
        common.markdown_table(
            rows,
            [
                ("layer", "layer", ""),
                ("describe", "conv", ""),
                ("gemm", "M x K x N", ""),
                ("forward_gflop_per_s", "forward GEMM GFLOP/s", ".0f"),
                ("kernel_gradient_gflop_per_s", "kernel gradient GFLOP/s", ".0f"),
                ("kernel_gradient_split_2_gflop_per_s", "kernel gradient, 2 chunks, GFLOP/s", ".0f"),
            ],
        )
    )


if __name__ == "__main__":
    app.run(main)
