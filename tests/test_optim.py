"""Schedules count in epochs in the config and in steps inside; weight decay modes do what they say."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax

from conftest import small_config
from fmnist_jax import optim


def _schedule(config, steps_per_epoch):
    """The learning rate at each step: the peak times the schedule the optimizer is built with."""
    _, relative = optim.build(config, steps_per_epoch)
    return lambda step: config.learning_rate * relative(step)


def test_step_decay_halves_every_five_epochs():
    config = small_config("variant_step_decay", num_epochs=15)
    schedule = _schedule(config, steps_per_epoch=100)
    np.testing.assert_allclose(float(schedule(0)), 1e-3)
    np.testing.assert_allclose(float(schedule(499)), 1e-3)
    np.testing.assert_allclose(float(schedule(500)), 5e-4)
    np.testing.assert_allclose(float(schedule(1000)), 2.5e-4)
    np.testing.assert_allclose(float(schedule(1499)), 2.5e-4)


def test_cosine_with_warmup():
    config = small_config("baseline", schedule="cosine", num_epochs=10, warmup_epochs=2, final_lr_fraction=0.1)
    schedule = _schedule(config, steps_per_epoch=10)
    assert float(schedule(0)) == 0.0
    np.testing.assert_allclose(float(schedule(20)), 1e-3, rtol=1e-6)
    np.testing.assert_allclose(float(schedule(100)), 1e-4, rtol=1e-5)


def _one_update(config, params, grads):
    tx = optim.make_optimizer(config, steps_per_epoch=10)
    updates, _ = tx.update(grads, tx.init(params), params)
    return updates


def test_coupled_weight_decay_is_l2_added_to_the_gradient():
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    grads = {"w": jnp.array([0.1, 0.2, -0.3])}
    config = small_config("baseline", weight_decay=0.1, weight_decay_mode="coupled", optimizer_defaults="pytorch")
    expected, _ = optax.adam(1e-3).update({"w": grads["w"] + 0.1 * params["w"]}, optax.adam(1e-3).init(params))
    np.testing.assert_allclose(_one_update(config, params, grads)["w"], expected["w"], rtol=1e-6)


def test_decoupled_weight_decay_is_adamw():
    params = {"w": jnp.array([1.0, -2.0, 3.0])}
    grads = {"w": jnp.array([0.1, 0.2, -0.3])}
    config = small_config("baseline", weight_decay=0.1, weight_decay_mode="decoupled", optimizer_defaults="pytorch")
    adamw = optax.adamw(1e-3, weight_decay=0.1)
    expected, _ = adamw.update(grads, adamw.init(params), params)
    np.testing.assert_allclose(_one_update(config, params, grads)["w"], expected["w"], rtol=1e-6)


def test_sgd_with_momentum_matches_optax_sgd():
    params = {"w": jnp.array([1.0, -2.0])}
    grads = {"w": jnp.array([0.5, 0.25])}
    config = small_config("variant_sgd")
    reference = optax.sgd(0.01, momentum=0.9)
    expected, _ = reference.update(grads, reference.init(params), params)
    np.testing.assert_allclose(_one_update(config, params, grads)["w"], expected["w"], rtol=1e-6)
