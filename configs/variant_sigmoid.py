"""Report A sigmoid: sigmoid instead of ReLU in every hidden layer.

One change from configs/baseline.py; everything else is the baseline's."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("baseline.py"))
    config.activation = "sigmoid"
    config.reference.variant = "sigmoid"
    config.reference.train_accuracy = 0.8673
    config.reference.val_accuracy = 0.8765
    config.reference.num_params = 225_034
    return config
