"""Flax modules for every seed report, registered by name (see registry.py)."""

from fmnist_jax.models import report_a  # noqa: F401  (registers its models)
from fmnist_jax.models.registry import build_model, model_names, register

__all__ = ["build_model", "model_names", "register"]
