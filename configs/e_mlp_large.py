"""Report E MLP large: 784 -> 1024 -> 512 -> 256 -> 128 -> 64 -> 32 -> 10, drop(.2) after each. Test 87.10 %."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("e_mlp_small.py"))
    config.model_options.widths = (1024, 512, 256, 128, 64, 32)
    config.reference.variant = "MLP large"
    config.reference.test_accuracy = 0.871
    return config
