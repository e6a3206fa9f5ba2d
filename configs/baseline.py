"""Report A baseline (Keras CNN-A), 225,034 params.

conv(32,3,valid) -> maxpool -> drop(.25) -> conv(64,3,valid) -> maxpool -> drop(.25) -> flatten(1600)
-> dense(128) -> drop(.5, chosen) -> dense(10). Adam 1e-3, 15 epochs (chosen), batch 32 (chosen:
Keras default), Glorot-uniform init (Keras default), 10 % stratified validation split (chosen).
"""

from fmnist_jax.config_base import base_config


def get_config():
    config = base_config()
    config.model = "cnn_a"
    config.model_options.first_kernel_size = 3
    config.model_options.batch_norm = False
    config.model_options.conv_dropout = 0.25
    config.model_options.dense_dropout = 0.5
    config.num_epochs = 15
    config.batch_size = 32
    config.optimizer = "adam"
    config.learning_rate = 1e-3
    config.reference.report = "A"
    config.reference.variant = "baseline"
    config.reference.source = "Report A (Keras CNN-A family)"
    config.reference.train_accuracy = 0.9188
    config.reference.val_accuracy = 0.9173
    config.reference.test_accuracy = 0.9156
    config.reference.num_params = 225_034
    return config
