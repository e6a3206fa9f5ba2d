"""The oneDNN lowering kept for its benchmark (benchmarks/onednn_lowering.py): right values and gradients,
deterministic, in the compiled train step when asked for; a clear error when it cannot be built. CI installs
g++ and libdnnl-dev so that these run; elsewhere they skip with the reason."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import onednn_lowering
from conftest import run_cli
from fmnist_jax import layers, train
from fmnist_jax.errors import UserError

needs_onednn = pytest.mark.skipif(
    onednn_lowering.unavailable_reason() is not None, reason=str(onednn_lowering.unavailable_reason())
)


def _real_images(fmnist, count: int, channels: int) -> jax.Array:
    """count x 28 x 28 x channels: real images, a different one in each channel."""
    images = fmnist.train_images[: count * channels].astype(np.float32) / 255.0
    return jnp.asarray(images.reshape(count, channels, 28, 28).transpose(0, 2, 3, 1))


@needs_onednn
@pytest.mark.parametrize(
    "kernel_size, padding, channels",
    [(3, "SAME", 3), (3, "VALID", 3), (5, "SAME", 1), (4, "SAME", 2)],  # 4: the extra pixel of 'same' goes after
)
def test_onednn_convolution_and_both_gradients_match_xla_s(fashion_mnist, kernel_size, padding, channels):
    x = _real_images(fashion_mnist, 8, channels)
    kernel = 0.3 * jax.random.normal(jax.random.key(1), (kernel_size, kernel_size, channels, 8))
    ours, ours_vjp = jax.vjp(lambda x, k: onednn_lowering.conv_padded(x, k, padding), x, kernel)
    xla, xla_vjp = jax.vjp(lambda x, k: layers.conv_xla(x, k, padding), x, kernel)
    assert ours.shape == xla.shape
    output_grad = jnp.cos(xla)
    for got, want in zip((ours, *ours_vjp(output_grad)), (xla, *xla_vjp(output_grad)), strict=True):
        assert float(jnp.max(jnp.abs(got - want)) / jnp.max(jnp.abs(want))) < 1e-4
    # vmap (ensemble members on a leading axis) calls the handler once per member.
    kernels = jnp.stack([kernel, 2 * kernel])
    members = jax.vmap(lambda k: onednn_lowering.conv_padded(x, k, padding))(kernels)
    np.testing.assert_array_equal(members[0], ours)


@needs_onednn
def test_wide_layers_on_onednn_put_its_calls_in_the_train_step_which_is_deterministic(fashion_mnist):
    from benchmarks import common

    config = common.load_config("e_cnn4")
    config.batch_size = 32
    images, labels = jnp.asarray(fashion_mnist.train_images[:64]), jnp.asarray(fashion_mnist.train_labels[:64])
    _, state, options = common.training_setup(config, 2)
    epoch = train.make_train_epoch(options)

    def on_onednn(*args):
        with onednn_lowering.wide_layers_on_onednn():
            return epoch(*args)

    compiled = jax.jit(on_onednn).lower(state, images, labels).compile()
    hlo = compiled.as_text()
    # The wide 3x3 layers (32->64, 64->128) on oneDNN, three calls each; the 1-channel first layer not.
    assert hlo.count('custom_call_target="FmnistOnednnConvForward"') == 2
    assert hlo.count('custom_call_target="FmnistOnednnConvBackwardWeights"') == 2
    assert layers.conv_toeplitz is onednn_lowering._MATMUL_LOWERING  # restored after tracing
    first, metrics = compiled(state, images, labels)
    again, _ = compiled(state, images, labels)
    assert np.isfinite(float(metrics["train_loss"]))
    for a, b in zip(jax.tree_util.tree_leaves(first.params), jax.tree_util.tree_leaves(again.params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_without_a_compiler_it_says_what_to_install(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler-here")
    reason = onednn_lowering.unavailable_reason()
    assert "no-such-compiler-here" in reason and "apt-get install g++ libdnnl-dev" in reason
    with pytest.raises(UserError, match="libdnnl-dev"):
        onednn_lowering.build()


@needs_onednn
@pytest.mark.extended  # 15 CPU-s: a study kept for its record
def test_onednn_conv_cli_times_a_layer_and_a_train_epoch_both_ways(tmp_path):
    args = ["--batch_sizes=2", "--passes=1", "--repeats=1", "--layers=0", "--configs=e_cnn4:32"]
    result = run_cli("benchmarks.onednn_conv", *args, "--num_examples=128", "--rounds=1", f"--out={tmp_path}")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads((tmp_path / "onednn_conv.json").read_text())["rows"]
    assert [(row["what"], row["batch"]) for row in rows] == [("layer alone", 2), ("train epoch", 32)]
    assert rows[0]["max_relative_error"] < 1e-4 and all(row["today_ms"] > 0 and row["onednn_ms"] > 0 for row in rows)
