"""Report B V4 = V3 with learning rate 5e-4; best epoch 14. Test 91.6 % (trained on train only)."""

import pathlib

from fmnist_jax.config_base import derive


def get_config():
    config = derive(pathlib.Path(__file__).with_name("b_v3_l2.py"))
    config.learning_rate = 5e-4
    config.reference.variant = "V4 lr 5e-4"
    config.reference.train_accuracy = 0.945
    config.reference.val_accuracy = 0.92
    config.reference.test_accuracy = 0.916
    return config
