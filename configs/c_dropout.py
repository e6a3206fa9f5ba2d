"""Report C dropout: drop(.2) after each pool and drop(.1) before the output layer."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_lenet5.py"))
    config.model_options.pool_dropout = 0.2
    config.model_options.output_dropout = 0.1
    config.reference.variant = "dropout"
    config.reference.train_accuracy = 0.8365
    config.reference.val_accuracy = 0.8543
    config.reference.train_loss = 0.4493
    config.reference.val_loss = 0.4025
    return config
