"""Config -> optax: a learning-rate schedule (in epochs in the config, in steps here) and the chain.

The peak learning rate and the weight decay are hyperparameters held in the optimizer state
(`optax.inject_hyperparams`), not constants baked into the program: a leading members axis of the
state can then give every member its own value, and a learning-rate sweep trains as one
program (see ensemble.py). A single run goes through the very same code with one value.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

# The hyperparameters every optimizer state holds, by their config field names.
HYPERPARAMETERS = ("learning_rate", "weight_decay")
# Whose defaults (epsilon, its placement, RMSprop's decay) the optimizers reproduce: config.optimizer_defaults.
OPTIMIZER_DEFAULTS = ("keras", "pytorch")
# The values of the config fields this module dispatches on (config_check checks them).
OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "piecewise_constant", "cosine", "one_cycle")
WEIGHT_DECAY_MODES = ("coupled", "decoupled")
NAN_POLICIES = ("stop", "skip_step")  # skip_step: optax.apply_if_finite in the chain; stop: the loop stops


def relative_schedule(config: Any, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate at each optimizer step as a fraction of the peak (config.learning_rate)."""
    total_steps = config.num_epochs * steps_per_epoch
    if config.schedule == "constant":
        return optax.constant_schedule(1.0)
    if config.schedule == "piecewise_constant":
        # "Multiply by decay_factor every decay_every_epochs epochs" (Report A: halve every 5).
        boundaries = range(config.decay_every_epochs, config.num_epochs, config.decay_every_epochs)
        return optax.piecewise_constant_schedule(
            1.0, {epoch * steps_per_epoch: config.decay_factor for epoch in boundaries}
        )
    warmup_steps = round(config.warmup_epochs * steps_per_epoch)
    if config.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0 if warmup_steps else 1.0,
            peak_value=1.0,
            warmup_steps=warmup_steps,
            decay_steps=max(total_steps, warmup_steps + 1),
            end_value=config.final_lr_fraction,
        )
    if config.schedule == "one_cycle":
        # Linear warm-up from 0 to the peak, then linear decay to final_lr_fraction at the last step
        # (the triangular schedule of the CIFAR-10 speedruns).
        warmup_steps = max(1, warmup_steps)
        return optax.join_schedules(
            [
                optax.linear_schedule(0.0, 1.0, warmup_steps),
                optax.linear_schedule(1.0, config.final_lr_fraction, max(1, total_steps - warmup_steps)),
            ],
            [warmup_steps],
        )
    raise ValueError(f"unknown schedule {config.schedule!r}")  # config_check rejects it first.


class KerasAdamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any


def scale_by_keras_adam(b1: float = 0.9, b2: float = 0.999, epsilon: float = 1e-7) -> optax.GradientTransformation:
    """Adam as Keras applies it: epsilon is "epsilon hat", added to sqrt(v) before the bias correction.

    keras/src/optimizers/adam.py (update_step): `alpha = lr * sqrt(1 - beta_2_power) / (1 - beta_1_power)`,
    `variable -= m * alpha / (sqrt(v) + epsilon)`. That equals optax's scale_by_adam with an epsilon of
    epsilon / sqrt(1 - b2**t), which changes with the step t (31.6x larger at t = 1, about 1x after a
    few thousand steps); optax has no such option, hence this transformation. The output is the
    direction before the learning rate (the chain's scale_by_learning_rate applies -lr).
    """

    def init(params: Any) -> KerasAdamState:
        # Two separate trees: the train state is donated, and one buffer cannot be donated twice.
        mu = jax.tree_util.tree_map(jnp.zeros_like, params)
        nu = jax.tree_util.tree_map(jnp.zeros_like, params)
        return KerasAdamState(count=jnp.zeros([], jnp.int32), mu=mu, nu=nu)

    def update(updates: Any, state: KerasAdamState, params: Any = None) -> tuple[Any, KerasAdamState]:
        del params
        mu = jax.tree_util.tree_map(lambda m, g: m + (g - m) * (1 - b1), state.mu, updates)
        nu = jax.tree_util.tree_map(lambda v, g: v + (g * g - v) * (1 - b2), state.nu, updates)
        count = state.count + 1
        step = count.astype(jnp.float32)
        correction = jnp.sqrt(1 - b2**step) / (1 - b1**step)
        direction = jax.tree_util.tree_map(lambda m, v: m * correction / (jnp.sqrt(v) + epsilon), mu, nu)
        return direction, KerasAdamState(count=count, mu=mu, nu=nu)

    return optax.GradientTransformation(init, update)


def _scale_by_optimizer(config: Any) -> optax.GradientTransformation:
    keras = config.optimizer_defaults == "keras"
    if config.optimizer == "adam":
        # Keras: Adam(epsilon=1e-7) as epsilon hat; PyTorch: Adam(eps=1e-8) added to sqrt(v_hat), as optax does.
        return scale_by_keras_adam(epsilon=1e-7) if keras else optax.scale_by_adam(eps=1e-8)
    if config.optimizer == "sgd":
        return optax.trace(decay=config.momentum, nesterov=config.nesterov) if config.momentum else optax.identity()
    if config.optimizer == "rmsprop":
        # Keras (keras/src/optimizers/rmsprop.py): rho 0.9, epsilon 1e-7 inside the root,
        # `lr * g / sqrt(velocity + epsilon)`. PyTorch: alpha 0.99, eps 1e-8 outside, `g / (sqrt(v) + eps)`.
        rms = (
            optax.scale_by_rms(decay=0.9, eps=1e-7, eps_in_sqrt=True)
            if keras
            else optax.scale_by_rms(decay=0.99, eps=1e-8, eps_in_sqrt=False)
        )
        return rms if not config.momentum else optax.chain(rms, optax.trace(decay=config.momentum))
    raise ValueError(f"unknown optimizer {config.optimizer!r}")  # config_check rejects it first.


def uses_weight_decay(config: Any) -> bool:
    """Whether the chain has a weight-decay step (static: it decides the program's structure)."""
    return bool(config.weight_decay) or any(config.sweep.weight_decay)


def make_optimizer(config: Any, steps_per_epoch: int) -> optax.GradientTransformation:
    """The optax chain alone (see build)."""
    return build(config, steps_per_epoch)[0]


def build(config: Any, steps_per_epoch: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """The optax chain and the relative schedule it follows, built once (as big_vision's optax.make
    returns the transformation with its schedule functions): the learning rate at step t is the
    state's peak (`opt_state.hyperparams["learning_rate"]`, per member) times schedule(t), and the
    epoch loop logs it from this same function.

    The chain: [coupled L2] -> optimizer scaling -> [decoupled decay] -> -lr(step).

    coupled: weight_decay * param is added to the gradient before Adam's moments (PyTorch
    `Adam(weight_decay=...)`, Keras L2 on every weight). decoupled: added after the moments and
    scaled by the learning rate (AdamW, `optax.adamw`). learning_rate and weight_decay live in
    the optimizer state (`opt_state.hyperparams`); `set_hyperparams` changes them per member.
    """
    relative = relative_schedule(config, steps_per_epoch)
    decay = uses_weight_decay(config)

    def chain(learning_rate: jax.Array, weight_decay: jax.Array) -> optax.GradientTransformation:
        parts = []
        if decay and config.weight_decay_mode == "coupled":
            parts.append(optax.add_decayed_weights(weight_decay))
        parts.append(_scale_by_optimizer(config))
        if decay and config.weight_decay_mode == "decoupled":
            parts.append(optax.add_decayed_weights(weight_decay))
        parts.append(optax.scale_by_learning_rate(lambda step: learning_rate * relative(step)))
        transform = optax.chain(*parts)
        if config.nan_policy == "skip_step":
            # A step whose gradient holds NaN or Inf leaves params and optimizer state unchanged.
            return optax.apply_if_finite(transform, max_consecutive_errors=config.max_consecutive_nonfinite_steps)
        return transform

    tx = optax.inject_hyperparams(chain)(learning_rate=config.learning_rate, weight_decay=config.weight_decay)
    return tx, relative


def set_hyperparams(opt_state: Any, **values: float | jax.Array) -> Any:
    """The optimizer state with some of its HYPERPARAMETERS replaced (traceable, so vmappable)."""
    unknown = set(values) - set(HYPERPARAMETERS)
    if unknown:
        raise ValueError(f"not optimizer hyperparameters: {sorted(unknown)}")
    hyperparams = dict(opt_state.hyperparams)
    for name, value in values.items():
        hyperparams[name] = jax.numpy.asarray(value, hyperparams[name].dtype)
    return opt_state._replace(hyperparams=hyperparams)
