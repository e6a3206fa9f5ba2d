"""Where the train step's time goes in JAX and in PyTorch: the weighted layers alone, and the rest.

  python -m benchmarks.layer_compare [--models=cnn_d,block_cnn] [--batch_sizes=32,128] [--repeats=7]
      [--inner_steps=10] [--step_images=3200] [--out=DIR]

A train step is its weighted layers (every convolution and dense layer: the matmuls, forward and
backward) plus everything between them (activations, pooling, batch norm, dropout, the loss and the
optimizer). This benchmark times the first part alone, layer by layer, in both frameworks:

- JAX: every `layers.Conv` and `layers.Dense` of the model, found by intercepting their calls while
  the model is initialised at the batch size (so each comes with the input shape it sees in training),
  run alone with the lowering the train step uses (conv_impl), forward and backward as the train step
  computes them: the gradients of the kernel and bias, and of the input except for the first layer
  (whose input is the images). `inner_steps` forward-backward passes run in one jitted `lax.scan`, as
  in the one-program epoch, so per-call dispatch does not count;
- PyTorch: `nn.Conv2d` / `nn.Linear` of the same shapes (NCHW, PyTorch's default), forward and
  `backward()` of the same cotangent, `inner_steps` times from Python, as eager training runs them.

Then both frameworks' whole train steps on `step_images` training images (benchmarks.compare's
run_jax and run_torch: their steady-state epoch), so "rest" = step - layers says what each framework
spends outside its matmul layers. Each time is the median of `repeats`, the frameworks taking turns.
What it is for: a JAX / PyTorch ratio can only exceed the layers' own ratio by winning on the rest,
so where both run their layers at the machine's matmul rate, the table shows the ceiling of the ratio.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from absl import app, flags
from jax import lax

from benchmarks import common, frameworks
from benchmarks.model_layers import LayerCall, layer_calls
from fmnist_jax import data
from fmnist_jax.models import build_model

_MODELS = flags.DEFINE_list("models", ["cnn_d", "block_cnn"], "Architectures with a PyTorch twin.")
_BATCH_SIZES = flags.DEFINE_list("batch_sizes", ["32", "128"], "Batch sizes.")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed calls per layer and framework (their median).")
_INNER_STEPS = flags.DEFINE_integer("inner_steps", 10, "Forward-backward passes per timed call.")
_STEP_IMAGES = flags.DEFINE_integer("step_images", 3200, "Training images of the whole-step timing (0: skip it).")
_CONV_IMPL = flags.DEFINE_string("conv_impl", "", "Override the configs' conv lowering (auto|toeplitz|im2col|xla).")
_OUT = flags.DEFINE_string("out", "", "Folder for layer_compare.json and layer_compare.csv.")


def jax_layer_runner(layer: LayerCall, inner_steps: int) -> Callable[[], Any]:
    """`inner_steps` forward-backward passes of the layer in one jitted scan; the parameters take a
    tiny step on their gradient each pass, so no pass can be hoisted out of the loop."""
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    inputs = jax.random.normal(keys[0], layer.input_shape, jnp.float32)
    params = layer.module.init(keys[1], inputs)
    cotangent = jax.random.normal(keys[2], jax.eval_shape(layer.module.apply, params, inputs).shape, jnp.float32)

    def one_pass(carry: tuple[Any, jax.Array], _: None) -> tuple[tuple[Any, jax.Array], None]:
        params, inputs = carry
        if layer.first:
            outputs, pullback = jax.vjp(lambda p: layer.module.apply(p, inputs), params)
            (param_grads,) = pullback(cotangent)
            input_grads = jnp.zeros(())
        else:
            outputs, pullback = jax.vjp(layer.module.apply, params, inputs)
            param_grads, input_grads = pullback(cotangent)
        params = jax.tree_util.tree_map(lambda p, g: p - 1e-9 * g, params, param_grads)
        # The output and the input gradient feed the next pass, so neither is dead code.
        return (params, inputs + 1e-9 * (jnp.mean(outputs) + jnp.mean(input_grads))), None

    run = jax.jit(lambda carry: lax.scan(one_pass, carry, None, length=inner_steps)[0], donate_argnums=0)
    state = {"carry": (params, inputs)}

    def call() -> None:
        state["carry"] = jax.block_until_ready(run(state["carry"]))

    return call


def torch_layer_runner(layer: LayerCall, inner_steps: int) -> Callable[[], Any]:
    """The same layer as nn.Conv2d / nn.Linear (NCHW), forward and backward() `inner_steps` times."""
    import torch

    device = frameworks.torch_device()
    if layer.kind == "conv":
        batch, height, width, channels = layer.input_shape
        k = layer.module.kernel_size
        padding = k // 2 if layer.module.padding == "SAME" else 0
        module = torch.nn.Conv2d(channels, layer.module.features, k, padding=padding).to(device)
        inputs = torch.randn(batch, channels, height, width, device=device)
    else:
        module = torch.nn.Linear(layer.input_shape[-1], layer.module.features).to(device)
        inputs = torch.randn(*layer.input_shape, device=device)
    inputs.requires_grad_(not layer.first)
    cotangent = torch.randn_like(module(inputs))

    def call() -> None:
        for _ in range(inner_steps):
            for param in module.parameters():
                param.grad = None  # as optimizer.zero_grad(set_to_none=True) before each step
            inputs.grad = None
            module(inputs).backward(cotangent)
        if device == "cuda":
            torch.cuda.synchronize()

    return call


def measure_layers(
    name: str, batch_size: int, repeats: int, inner_steps: int, conv_impl: str = ""
) -> list[dict[str, Any]]:
    """One row per weighted layer: its shapes, matmul FLOPs and ms per forward-backward in each framework."""
    config = common.load_config(common.ARCHITECTURE_CONFIGS[name])
    if conv_impl:
        config.conv_impl = conv_impl
    rows = []
    for layer in layer_calls(build_model(config), batch_size):
        runners = {"jax": jax_layer_runner(layer, inner_steps), "torch": torch_layer_runner(layer, inner_steps)}
        for runner in runners.values():
            runner()  # compile and warm up both before the turns
        seconds: dict[str, list[float]] = {"jax": [], "torch": []}
        for _ in range(repeats):  # in turns, so a slow moment of the machine hits both
            for framework, runner in runners.items():
                seconds[framework].append(common.call_seconds(runner, 1)[0])  # one call after a warm-up
        jax_ms, torch_ms = (1e3 * statistics.median(seconds[f]) / inner_steps for f in ("jax", "torch"))
        flops = layer.matmul_flops()
        rows.append(
            {
                "model": name,
                "batch_size": batch_size,
                "layer": layer.path,
                "shape": layer.describe(),
                "input_gradient": not layer.first,
                "mflop": flops / 1e6,
                "jax_ms": jax_ms,
                "torch_ms": torch_ms,
                "jax_gflop_per_s": flops / jax_ms / 1e6,
                "torch_gflop_per_s": flops / torch_ms / 1e6,
                "torch_over_jax_ms": torch_ms / jax_ms,
            }
        )
    return rows


def whole_steps(name: str, batch_size: int, fmnist: data.FashionMNIST, images: int) -> dict[str, float]:
    """ms per train step of each framework's steady-state epoch on the first `images` training images."""
    args = (name, batch_size, 1, fmnist, images)
    ours, theirs = frameworks.run_jax(*args), frameworks.run_torch(*args, compiled=False)
    return {f"{k}_step_ms": 1e3 * batch_size / r["images_per_s"] for k, r in (("jax", ours), ("torch", theirs))}


def summary_row(layer_rows: list[dict[str, Any]], steps: dict[str, float]) -> dict[str, Any]:
    """The model's layers summed, against its whole step: what each framework spends outside them."""
    first = layer_rows[0]
    row: dict[str, Any] = {"model": first["model"], "batch_size": first["batch_size"], "layer": "(all weighted layers)"}
    for framework in ("jax", "torch"):
        row[f"{framework}_ms"] = sum(r[f"{framework}_ms"] for r in layer_rows)
    row["mflop"] = sum(r["mflop"] for r in layer_rows)
    row["torch_over_jax_ms"] = row["torch_ms"] / row["jax_ms"]
    if steps:
        row.update(steps)
        for framework in ("jax", "torch"):
            row[f"{framework}_rest_ms"] = steps[f"{framework}_step_ms"] - row[f"{framework}_ms"]
        row["torch_over_jax_step"] = steps["torch_step_ms"] / steps["jax_step_ms"]
    return row


def main(argv: list[str]) -> None:
    del argv
    torch_description = frameworks.torch_description("layer_compare")
    header = common.machine_header(
        f"layer by layer, jax vs {torch_description} eager, "
        f"median of {_REPEATS.value}, {_INNER_STEPS.value} passes per call"
    )
    fmnist = data.load_fashion_mnist() if _STEP_IMAGES.value else None
    rows, summaries = [], []
    for name in _MODELS.value:
        for batch_size in map(int, _BATCH_SIZES.value):
            layer_rows = measure_layers(name, batch_size, _REPEATS.value, _INNER_STEPS.value, _CONV_IMPL.value)
            steps = whole_steps(name, batch_size, fmnist, _STEP_IMAGES.value) if fmnist is not None else {}
            summaries.append(summary_row(layer_rows, steps))
            rows += [*layer_rows, summaries[-1]]
            common.write_outputs(_OUT.value, "layer_compare", header, rows)  # a run cut short keeps its rows
            print(
                f"{name} batch {batch_size}: layers jax {summaries[-1]['jax_ms']:.2f} ms, "
                f"torch {summaries[-1]['torch_ms']:.2f} ms",
                flush=True,
            )
    print(header + "\n")
    print(
        common.markdown_table(
            [r for r in rows if "shape" in r],
            [
                ("model", "model", ""),
                ("batch_size", "batch", "d"),
                ("layer", "layer", ""),
                ("shape", "shape", ""),
                ("mflop", "MFLOP fwd+bwd", ",.0f"),
                ("jax_ms", "jax ms", ".2f"),
                ("torch_ms", "torch ms", ".2f"),
                ("jax_gflop_per_s", "jax GFLOP/s", ".0f"),
                ("torch_gflop_per_s", "torch GFLOP/s", ".0f"),
                ("torch_over_jax_ms", "torch / jax", ".2f"),
            ],
        )
    )
    print()
    print(
        common.markdown_table(
            summaries,
            [
                ("model", "model", ""),
                ("batch_size", "batch", "d"),
                ("jax_ms", "jax layers ms", ".1f"),
                ("torch_ms", "torch layers ms", ".1f"),
                ("torch_over_jax_ms", "layers torch / jax", ".2f"),
                ("jax_step_ms", "jax step ms", ".1f"),
                ("torch_step_ms", "torch step ms", ".1f"),
                ("jax_rest_ms", "jax rest ms", ".1f"),
                ("torch_rest_ms", "torch rest ms", ".1f"),
                ("torch_over_jax_step", "step torch / jax", ".2f"),
            ],
        )
    )


if __name__ == "__main__":
    app.run(main)
