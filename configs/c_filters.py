"""Report C filters: conv filters 32 and 64 (instead of 6 and 16). Test .8830 (loss .3433)."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_lenet5.py"))
    config.model_options.filters = (32, 64)
    config.reference.variant = "filters 32/64"
    config.reference.train_accuracy = 0.9028
    config.reference.val_accuracy = 0.8953
    config.reference.train_loss = 0.2936
    config.reference.val_loss = 0.325
    config.reference.test_accuracy = 0.883
    config.reference.test_loss = 0.3433
    config.reference.num_params = -1
    return config
