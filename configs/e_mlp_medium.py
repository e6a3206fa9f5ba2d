"""Report E MLP medium: 784 -> 512 -> 256 -> 128 -> 64 -> 10, drop(.2) after each hidden layer. Test 88.56 %."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("e_mlp_small.py"))
    config.model_options.widths = (512, 256, 128, 64)
    config.reference.variant = "MLP medium"
    config.reference.test_accuracy = 0.8856
    return config
