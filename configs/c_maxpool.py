"""Report C maxpool: max instead of average pooling. Test .8951 (loss .3209)."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("c_lenet5.py"))
    config.model_options.pool = "max"
    config.reference.variant = "maxpool"
    config.reference.train_accuracy = 0.9108
    config.reference.val_accuracy = 0.8987
    config.reference.train_loss = 0.2787
    config.reference.val_loss = 0.3103
    config.reference.test_accuracy = 0.8951
    config.reference.test_loss = 0.3209
    return config
