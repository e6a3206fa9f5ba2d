"""Report B V1: LeNet-5 with conv filters 16 and 26 (instead of 6 and 16); best epoch 10."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("b_lenet5.py"))
    config.model_options.filters = (16, 26)
    config.reference.variant = "V1 wide"
    config.reference.train_accuracy = 0.959
    config.reference.val_accuracy = 0.917
    config.reference.num_params = -1
    return config
