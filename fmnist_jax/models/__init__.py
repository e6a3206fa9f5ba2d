"""Flax modules for every seed report, registered by name (see registry.py)."""

from fmnist_jax.models import report_a, report_b, report_c, report_d, report_e  # noqa: F401  (registers models)
from fmnist_jax.models.registry import build_model, model_names, register

__all__ = ["build_model", "model_names", "register"]
