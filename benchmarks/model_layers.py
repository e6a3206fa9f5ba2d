"""The weighted layers of a model as its train step calls them, found by intercepting flax calls.

`benchmarks.layer_compare` times them against PyTorch; `benchmarks.kernel_gradient` times their GEMMs
(the shapes of im2col convolutions) and the train step without the conv kernel gradients (an interceptor).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from fmnist_jax import layers


@dataclasses.dataclass(frozen=True)
class LayerCall:
    """One weighted layer of a model as the train step calls it."""

    path: str  # the flax module path, e.g. "CNND/Conv_1"
    module: nn.Module  # an unbound copy, to run alone
    input_shape: tuple[int, ...]
    first: bool  # its input is the images: no input gradient in training

    @property
    def kind(self) -> str:
        return "conv" if isinstance(self.module, layers.Conv) else "dense"

    def describe(self) -> str:
        if self.kind == "conv":
            _, height, width, channels = self.input_shape
            k = self.module.kernel_size
            return f"conv {k}x{k} {channels}->{self.module.features} at {height}x{width} {self.module.padding.lower()}"
        return f"dense {self.input_shape[-1]}->{self.module.features}"

    def conv_output_size(self) -> tuple[int, int]:
        """(height, width) of a conv's output: stride 1, 'SAME' keeps the input's, 'VALID' loses k - 1."""
        _, height, width, _ = self.input_shape
        k = self.module.kernel_size
        return (height, width) if self.module.padding == "SAME" else (height - k + 1, width - k + 1)

    def matmul_flops(self) -> float:
        """Multiply-adds x 2 of forward and backward: 3 matmuls, 2 for the first layer (no input gradient)."""
        batch = self.input_shape[0]
        if self.kind == "conv":
            channels, k = self.input_shape[-1], self.module.kernel_size
            out_h, out_w = self.conv_output_size()
            forward = 2 * batch * out_h * out_w * k * k * channels * self.module.features
        else:
            forward = 2 * batch * self.input_shape[-1] * self.module.features
        return forward * (2 if self.first else 3)


def layer_calls(model: nn.Module, batch_size: int) -> list[LayerCall]:
    """Every Conv and Dense call of model.init on a batch of batch_size images, in call order."""
    calls: list[LayerCall] = []

    def record(next_fun: Callable[..., Any], args: tuple, kwargs: dict, context: Any) -> Any:
        module = context.module
        if context.method_name == "__call__" and isinstance(module, (layers.Conv, layers.Dense)):
            path = "/".join((type(model).__name__, *module.path))
            unbound = module.clone(parent=None, name=None)
            calls.append(LayerCall(path, unbound, tuple(args[0].shape), first=not calls))
        return next_fun(*args, **kwargs)

    images = jnp.zeros((batch_size, 28, 28, 1), jnp.float32)
    with nn.intercept_methods(record):
        jax.eval_shape(lambda: model.init({"params": jax.random.PRNGKey(0)}, images, train=False))
    return calls


def im2col_gemm_shapes(call: LayerCall) -> tuple[int, int, int] | None:
    """(M pixels, K = k*k*cin, N = cout) of a conv the train step lowers to one im2col GEMM, else None."""
    impl = layers.resolve_conv_impl(call.module.conv_impl) if call.kind == "conv" else None
    if impl not in ("im2col", "toeplitz"):
        return None
    batch, channels = call.input_shape[0], call.input_shape[-1]
    k, features = call.module.kernel_size, call.module.features
    out_h, out_w = call.conv_output_size()
    if impl == "toeplitz" and layers.toeplitz_tile(out_w, k, features, k * k * channels) != 1:
        return None  # a layer in Toeplitz tiles: another GEMM shape
    return batch * out_h * out_w, k * k * channels, features


def conv_without_kernel_gradient(next_fun: Callable[..., Any], args: tuple, kwargs: dict, context: Any) -> Any:
    """A flax method interceptor: every layers.Conv runs its own lowering on stop_gradient(kernel).

    It repeats Conv.__call__ (parameters, lowering, bias) with the one change; a test checks that the
    outputs stay those of the model itself."""
    module = context.module
    if context.method_name != "__call__" or not isinstance(module, layers.Conv):
        return next_fun(*args, **kwargs)
    x = args[0]
    shape = (module.kernel_size, module.kernel_size, x.shape[-1], module.features)
    kernel = lax.stop_gradient(module.param("kernel", module.kernel_init, shape))
    y = layers.conv_lowering(module.conv_impl)(x, kernel, module.padding)
    if module.use_bias:
        y = y + module.param("bias", module.bias_init(shape[0] * shape[1] * shape[2]), (module.features,))
    return y
