"""Report B V3 = V2 + L2 weight decay 1e-4 added to the gradient (PyTorch Adam weight_decay: coupled, on
every parameter); best epoch 14.
"""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("b_v2_dropout.py"))
    config.weight_decay = 1e-4
    config.weight_decay_mode = "coupled"
    config.reference.variant = "V3 +L2"
    config.reference.train_accuracy = 0.948
    config.reference.val_accuracy = 0.916
    return config
