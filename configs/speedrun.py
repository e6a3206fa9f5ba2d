"""speedrun: the fastest recipe we found to 93 % Fashion-MNIST test accuracy on a 2-core CPU, in the spirit
of the CIFAR-10 speedruns (not one of the five reports). The whole dataset on the device, one program per
epoch, a narrow block CNN (conv 24/48/96 -> bn -> relu -> pool, no dropout in the blocks, dense 128),
batch 256, Adam with a one-cycle learning rate (linear warm-up to 4e-3 over the first epoch, linear
decay to 0 at the end), label smoothing 0.1, random horizontal flips, and at evaluation the mean of the
logits of each image and its mirror image.

Chosen on the validation split only (`python -m benchmarks.time_to_accuracy --split=val`), 2026-11-25,
on a 2-core VM of the CI size, three candidates (val accuracy at the end; seconds to 93 % val):
filters 32/64/128 for 10 epochs: 92.97 % (never 93 %); 32/64/128, 15 epochs: 93.55 %, 329 s;
24/48/96, 15 epochs: 93.28 %, 250 s; 24/48/96, 20 epochs: 93.70 %, 258 s (93.5 % at 333 s). The last
is this config: the margin over 93 % on validation is for the gap between validation and test. The
test set measured the result once; BENCHMARKS.md gives its times.
"""

from fmnist_jax.config_base import base_config


def get_config():
    config = base_config()
    config.model = "block_cnn"
    config.model_options.filters = (24, 48, 96)
    config.model_options.pooled_blocks = 3
    config.model_options.dense_width = 128
    config.model_options.conv_dropout = 0.0
    config.model_options.dense_dropout = 0.25
    config.num_epochs = 20
    config.batch_size = 256
    config.optimizer = "adam"
    config.optimizer_defaults = "pytorch"  # optax's own Adam (eps 1e-8), the one it was tuned with
    config.learning_rate = 4e-3
    config.schedule = "one_cycle"
    config.warmup_epochs = 1.0
    config.final_lr_fraction = 0.0
    config.label_smoothing = 0.1
    config.augment.flip_horizontal = True
    config.test_time_flip = True
    config.reference.report = "fmnist_jax"
    config.reference.variant = "speedrun"
    config.reference.source = "fmnist_jax (not a seed report): fastest recipe to 93 % test accuracy"
    return config
