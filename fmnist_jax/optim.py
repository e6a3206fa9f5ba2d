"""Config -> optax: a learning-rate schedule (in epochs in the config, in steps here) and the chain."""

from __future__ import annotations

from typing import Any

import optax


def make_schedule(config: Any, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate at each optimizer step."""
    peak_lr = config.learning_rate
    total_steps = config.num_epochs * steps_per_epoch
    if config.schedule == "constant":
        return optax.constant_schedule(peak_lr)
    if config.schedule == "piecewise_constant":
        # "Multiply by decay_factor every decay_every_epochs epochs" (Report A: halve every 5).
        boundaries = range(config.decay_every_epochs, config.num_epochs, config.decay_every_epochs)
        return optax.piecewise_constant_schedule(
            peak_lr, {epoch * steps_per_epoch: config.decay_factor for epoch in boundaries}
        )
    if config.schedule == "cosine":
        warmup_steps = config.warmup_epochs * steps_per_epoch
        return optax.warmup_cosine_decay_schedule(
            init_value=0.0 if warmup_steps else peak_lr,
            peak_value=peak_lr,
            warmup_steps=warmup_steps,
            decay_steps=max(total_steps, warmup_steps + 1),
            end_value=peak_lr * config.cosine_final_fraction,
        )
    raise ValueError(f"unknown schedule {config.schedule!r}")  # config_check rejects it first.


def _scale_by_optimizer(config: Any) -> optax.GradientTransformation:
    if config.optimizer == "adam":
        return optax.scale_by_adam()
    if config.optimizer == "sgd":
        return optax.trace(decay=config.momentum) if config.momentum else optax.identity()
    if config.optimizer == "rmsprop":
        # Keras' RMSprop defaults: rho 0.9, epsilon 1e-7.
        return (
            optax.scale_by_rms(decay=0.9, eps=1e-7)
            if not config.momentum
            else optax.chain(optax.scale_by_rms(decay=0.9, eps=1e-7), optax.trace(decay=config.momentum))
        )
    raise ValueError(f"unknown optimizer {config.optimizer!r}")  # config_check rejects it first.


def make_optimizer(config: Any, steps_per_epoch: int) -> optax.GradientTransformation:
    """The optax chain: [coupled L2] -> optimizer scaling -> [decoupled decay] -> -lr(step).

    coupled: weight_decay * param is added to the gradient before Adam's moments (PyTorch
    `Adam(weight_decay=...)`, Keras L2 on every weight). decoupled: added after the moments and
    scaled by the learning rate (AdamW, `optax.adamw`).
    """
    parts = []
    if config.weight_decay and config.weight_decay_mode == "coupled":
        parts.append(optax.add_decayed_weights(config.weight_decay))
    parts.append(_scale_by_optimizer(config))
    if config.weight_decay and config.weight_decay_mode == "decoupled":
        parts.append(optax.add_decayed_weights(config.weight_decay))
    parts.append(optax.scale_by_learning_rate(make_schedule(config, steps_per_epoch)))
    chain = optax.chain(*parts)
    if config.nan_policy == "skip_step":
        # A step whose gradient holds NaN or Inf leaves params and optimizer state unchanged.
        return optax.apply_if_finite(chain, max_consecutive_errors=config.max_consecutive_nonfinite_steps)
    return chain
