"""Report C baseline LeNet-5 (Keras), 61,706 params: input zero-padded to 32x32 -> conv(6,5,valid) -> avgpool
-> conv(16,5,valid) -> avgpool -> conv(120,5,valid) -> dense(84) -> dense(10), ReLU, Glorot-uniform
(Keras' default, biases zero).

- L2 kernel regulariser on the two 5x5 convs the report lists with "L2 Regularizer added" (its layer
  items 2 and 4: conv(6) and conv(16), flax's Conv_0 and Conv_1), not on conv(120); factor 0.01
  *(chosen: Keras l2()'s default, the report gives none)*, added to the loss.
- Keras reports the loss with the regularisers' term: results hold train/val/test_loss_with_penalty
  beside the data loss; the report's losses compare with the former.
- Adam 1e-3 with Keras' defaults (epsilon 1e-7), 15 epochs, batch 32 *(chosen: Keras' default)*,
  10 % stratified validation split *(chosen)*.
- Feature maps of test image 0 are saved, as the report shows them.

Reported: train loss .3039, val loss .3212, train acc .8974, val acc .8936.
Measured before the L2 fix (c_lenet5, one seed, 15 epochs): L2 on all three convs 85.85 % test, on the
two 5x5 convs 89.12 % (val 88.80 %).
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
    config.conv_kernel_l2_layers = ("Conv_0", "Conv_1")
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
