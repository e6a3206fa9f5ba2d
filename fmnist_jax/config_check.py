"""Checks a config before any work starts: one ConfigError naming the field and the fix."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from fmnist_jax import augment, data, ensemble, layers, optim, parallel, train
from fmnist_jax.config_base import EARLY_STOPPING_MONITORS
from fmnist_jax.errors import ConfigError
from fmnist_jax.models import build_model

# The legal values live beside the code that dispatches on them; this module only checks.


def _choice(config: Any, field: str, choices: tuple[str, ...]) -> None:
    if config[field] not in choices:
        raise ConfigError(f"config field {field}={config[field]!r} is unknown: use one of {', '.join(choices)}.")


def _positive(config: Any, field: str) -> None:
    if not config[field] > 0:
        raise ConfigError(
            f"config field {field}={config[field]!r} must be > 0: set --config.{field} to a positive value."
        )


def _non_negative(config: Any, field: str) -> None:
    if not config[field] >= 0:
        raise ConfigError(f"config field {field}={config[field]!r} must be >= 0: set --config.{field} to 0 or more.")


def _check_sweep(config: Any) -> None:
    for field, lowest in (("learning_rate", "> 0"), ("weight_decay", ">= 0")):
        values = config.sweep[field]
        bad = [v for v in values if not (v > 0 if lowest == "> 0" else v >= 0)]
        if bad:
            raise ConfigError(
                f"config field sweep.{field} holds {bad[0]!r}: every value must be {lowest}, "
                f"e.g. --config.sweep.{field}=1e-4,3e-4,1e-3."
            )
        if len(set(values)) != len(values):
            raise ConfigError(f"config field sweep.{field}={tuple(values)} repeats a value: list each once.")


def validate(config: Any) -> None:
    """Raises ConfigError for the first field whose value the engine cannot use."""
    _choice(config, "optimizer", optim.OPTIMIZERS)
    _choice(config, "schedule", optim.SCHEDULES)
    _choice(config, "weight_decay_mode", optim.WEIGHT_DECAY_MODES)
    _choice(config, "data_source", data.DATA_SOURCES)
    _choice(config, "nan_policy", optim.NAN_POLICIES)
    _choice(config, "optimizer_defaults", optim.OPTIMIZER_DEFAULTS)
    _choice(config, "val_split", data.VAL_SPLITS)
    _choice(config, "activation", tuple(layers.ACTIVATIONS))
    _choice(config, "kernel_init", tuple(layers.INITIALIZERS))
    _choice(config, "conv_impl", layers.CONV_IMPLS)
    _choice(config, "parallel", parallel.MODES)
    _choice(config, "members_program", ensemble.MEMBERS_PROGRAMS)
    _choice(config, "early_stopping_monitor", EARLY_STOPPING_MONITORS)
    if config.members_program in ensemble.PER_MEMBER_PROGRAMS and config.parallel == "members":
        raise ConfigError(
            f"config field members_program={config.members_program!r} cannot split the members over devices "
            "(parallel='members'): use --config.members_program=vmap or auto."
        )
    for field in (
        "learning_rate",
        "num_epochs",
        "batch_size",
        "eval_batch_size",
        "checkpoint_keep",
        "num_seeds",
        "max_consecutive_nonfinite_steps",
        "interleaved_members",
    ):
        _positive(config, field)
    for field in (
        "momentum",
        "weight_decay",
        "train_limit",
        "early_stopping_patience",
        "warmup_epochs",
        "final_lr_fraction",
    ):
        _non_negative(config, field)
    if not 0.0 <= config.label_smoothing < 1.0:
        raise ConfigError(f"config field label_smoothing={config.label_smoothing!r} must be in [0, 1).")
    _check_sweep(config)
    if config.schedule == "piecewise_constant":
        _positive(config, "decay_every_epochs")
        _positive(config, "decay_factor")
    if not 0.0 < config.val_fraction < 1.0:
        raise ConfigError(
            f"config field val_fraction={config.val_fraction!r} must be in (0, 1): e.g. --config.val_fraction=0.1."
        )
    for name, value in config.model_options.items():
        if "dropout" in name and not 0.0 <= value < 1.0:
            raise ConfigError(f"config field model_options.{name}={value!r} must be in [0, 1).")
    if config.kfold == 1 or config.kfold < 0:
        raise ConfigError(f"config field kfold={config.kfold!r} must be 0 (off) or at least 2.")
    if config.kfold and config.kfold_index >= config.kfold:
        raise ConfigError(f"config field kfold_index={config.kfold_index} must be below kfold={config.kfold}.")
    if config.val_split == "test" and (config.kfold or config.fold_val_into_train):
        field = "kfold" if config.kfold else "fold_val_into_train"
        raise ConfigError(
            f"config field val_split='test' validates on the test set and trains on every training image, "
            f"so {field} has nothing to split: drop --config.{field} or use val_split=stratified."
        )
    if config.kfold_continue and not config.kfold:
        raise ConfigError("config field kfold_continue=True needs k-fold: set --config.kfold (e.g. 5) or drop it.")
    for index in config.feature_map_images:
        if not 0 <= index < 10_000:
            raise ConfigError(f"config field feature_map_images holds {index}: test-set indices are 0..9999.")
    augment.spec_from_config(config.augment)
    model = build_model(config)  # Unknown model or model option.
    if config.conv_kernel_l2_layers:
        _check_l2_layers(config, model)


def _check_l2_layers(config: Any, model: Any) -> None:
    """Every name in conv_kernel_l2_layers is a conv of this model (shapes only: nothing is computed)."""
    variables = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), np.zeros((1, 28, 28, 1)), train=False))
    convs = train.conv_kernel_paths(variables["params"])
    unknown = [name for name in config.conv_kernel_l2_layers if name not in convs]
    if unknown:
        raise ConfigError(
            f"config field conv_kernel_l2_layers names {unknown[0]!r}, not a conv of model {config.model!r}: "
            f"use some of {', '.join(convs)}."
        )
