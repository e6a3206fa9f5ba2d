"""Report A sgd: SGD, learning rate 0.01, momentum 0.9, constant.

One change from configs/baseline.py; everything else is the baseline's."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("baseline.py"))
    config.optimizer = "sgd"
    config.learning_rate = 0.01
    config.momentum = 0.9
    config.reference.variant = "sgd"
    config.reference.train_accuracy = 0.9027
    config.reference.val_accuracy = 0.9067
    config.reference.num_params = 225_034
    return config
