"""Param counts of the reports, and the conv/pool lowerings against XLA's own ops."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn

from conftest import small_config
from fmnist_jax import describe, layers, train
from fmnist_jax.models import build_model

# Report A gives 225,034 for its baseline; the others are pinned from our layouts (see configs/).
TRAINABLE_PARAMS = {"baseline": 225_034, "variant_kernel7": 152_586, "variant_bn": 225_482}


@pytest.mark.parametrize("name,expected", sorted(TRAINABLE_PARAMS.items()))
def test_param_counts(name, expected):
    model = build_model(small_config(name))
    variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)), train=False)
    assert train.count_params(variables["params"]) == expected


def test_describe_prints_keras_style_summary():
    text = describe.summary(small_config("variant_bn"))
    lines = text.splitlines()
    assert lines[-1] == "Total params: 225,930"
    assert "Trainable params: 225,482" in lines and "Non-trainable params: 448" in lines
    assert any(
        line.startswith("Conv_0 (Conv)") and "(None, 26, 26, 32)" in line and line.endswith("320") for line in lines
    )
    assert any("Flatten_0 (Flatten)" in line and "(None, 1600)" in line for line in lines)


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize("kernel_size,cin,cout", [(3, 1, 8), (5, 6, 16), (4, 3, 5), (1, 4, 2)])
def test_im2col_conv_matches_xla_conv(padding, kernel_size, cin, cout):
    key_x, key_k = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(key_x, (2, 11, 9, cin))
    kernel = jax.random.normal(key_k, (kernel_size, kernel_size, cin, cout))
    np.testing.assert_allclose(
        layers.conv_im2col(x, kernel, padding), layers.conv_xla(x, kernel, padding), rtol=1e-4, atol=1e-4
    )
    # 'SAME' follows Keras/TensorFlow: the output keeps the input's size.
    if padding == "SAME":
        assert layers.conv_im2col(x, kernel, padding).shape == (2, 11, 9, cout)


def test_conv_gradients_match_between_lowerings():
    x = jax.random.normal(jax.random.PRNGKey(1), (3, 10, 10, 4))
    kernel = jax.random.normal(jax.random.PRNGKey(2), (3, 3, 4, 6))

    def loss(lower, k):
        return jnp.sum(jnp.tanh(lower(x, k, "SAME")))

    np.testing.assert_allclose(
        jax.grad(lambda k: loss(layers.conv_im2col, k))(kernel),
        jax.grad(lambda k: loss(layers.conv_xla, k))(kernel),
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("side", [26, 13, 11])
def test_pooling_matches_flax_valid_pooling(side):
    x = jax.random.normal(jax.random.PRNGKey(0), (2, side, side, 3))
    np.testing.assert_allclose(layers.MaxPool().apply({}, x), nn.max_pool(x, (2, 2), (2, 2)), rtol=1e-6)
    np.testing.assert_allclose(layers.AvgPool().apply({}, x), nn.avg_pool(x, (2, 2), (2, 2)), rtol=1e-6)


def test_model_output_is_the_same_for_both_conv_lowerings():
    config = small_config("variant_bn")
    x = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1))
    config.conv_impl = "im2col"
    variables = build_model(config).init(jax.random.PRNGKey(0), x, train=False)
    out_im2col = build_model(config).apply(variables, x, train=False)
    config.conv_impl = "xla"
    out_xla = build_model(config).apply(variables, x, train=False)
    np.testing.assert_allclose(out_im2col, out_xla, rtol=1e-4, atol=1e-5)
