"""Report C baseline LeNet-5 (Keras), 61,706 params: input zero-padded to 32x32 -> conv(6,5,valid) -> avgpool
-> conv(16,5,valid) -> avgpool -> conv(120,5,valid) -> dense(84) -> dense(10), ReLU, Glorot-uniform.
L2 kernel regulariser on the convs, factor 0.01 (chosen: Keras l2() default) added to the loss.
Adam 1e-3, 15 epochs, batch 32 (chosen), 10 % stratified validation split (chosen).
Feature maps of test image 0 are saved, as the report shows them.
Reported: train loss .3039, val loss .3212, train acc .8974, val acc .8936.
"""

from fmnist_jax.config_base import base_config


def get_config():
    config = base_config()
    config.model = "lenet5_padded"
    config.model_options.filters = (6, 16)
    config.model_options.pool = "avg"
    config.model_options.extra_conv = False
    config.model_options.pool_dropout = 0.0
    config.model_options.output_dropout = 0.0
    config.conv_kernel_l2 = 0.01
    config.num_epochs = 15
    config.batch_size = 32
    config.optimizer = "adam"
    config.learning_rate = 1e-3
    config.feature_map_images = (0,)
    config.reference.report = "C"
    config.reference.variant = "baseline"
    config.reference.source = "Report C (Keras LeNet-5 with L2)"
    config.reference.train_accuracy = 0.8974
    config.reference.val_accuracy = 0.8936
    config.reference.train_loss = 0.3039
    config.reference.val_loss = 0.3212
    config.reference.num_params = 61706
    return config
