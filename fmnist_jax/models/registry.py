"""Models by name: a config says `model = "cnn_a"` and `model_options` set the module's fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from flax import linen as nn

from fmnist_jax.errors import ConfigError

ModuleT = TypeVar("ModuleT", bound=type[nn.Module])
_MODELS: dict[str, type[nn.Module]] = {}
# Config fields that every model accepts when it has a field of that name.
SHARED_FIELDS = ("activation", "kernel_init", "conv_impl")
_FLAX_INTERNAL_FIELDS = {"parent", "name"}


def register(name: str) -> Callable[[ModuleT], ModuleT]:
    """Class decorator: makes a flax module buildable as `config.model = name`."""

    def add(cls: ModuleT) -> ModuleT:
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = cls
        return cls

    return add


def model_names() -> list[str]:
    return sorted(_MODELS)


def model_fields(cls: type[nn.Module]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} - _FLAX_INTERNAL_FIELDS


def build_model(config: Any) -> nn.Module:
    """The module named by config.model, with config.model_options and the shared fields applied."""
    if config.model not in _MODELS:
        raise ConfigError(f"config field model={config.model!r} is unknown: choose one of {', '.join(model_names())}.")
    cls = _MODELS[config.model]
    fields = model_fields(cls)
    options = dict(config.model_options)
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(
            f"config field model_options.{unknown[0]} does not exist for model {config.model!r}: "
            f"use one of {', '.join(sorted(fields - set(SHARED_FIELDS)))}."
        )
    for shared in SHARED_FIELDS:
        if shared in fields and shared in config:
            options[shared] = config[shared]
    return cls(**options)
