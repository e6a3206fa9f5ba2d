"""Report B V2 = V1 + drop(.3) after dense(120) and after dense(84); best epoch 13."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("b_v1_wide.py"))
    config.model_options.dense_dropout = 0.3
    config.reference.variant = "V2 +dropout"
    config.reference.train_accuracy = 0.948
    config.reference.val_accuracy = 0.915
    return config
