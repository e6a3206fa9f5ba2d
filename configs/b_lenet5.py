"""Report B base LeNet-5 (PyTorch), 61,706 params: conv(6,5,same) -> avgpool -> conv(16,5,valid) -> avgpool
-> flatten(400) -> dense(120) -> dense(84) -> dense(10), ReLU. Adam 1e-3, 15 epochs, batch 64 *(chosen)*,
10 % stratified validation split *(chosen)*.

PyTorch's defaults, as the report trained with them: nn.Conv2d / nn.Linear draw weights by
kaiming_uniform(a=sqrt(5)) and biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kernel_init
torch_default: both); torch.optim.Adam's eps 1e-8 added to sqrt(v_hat) (optimizer_defaults pytorch);
its weight_decay (V3, V4) is coupled, added to the gradient.
Reported accuracies are those of the best epoch (14).
"""

from fmnist_jax.config_base import base_config


def get_config():
    config = base_config()
    config.model = "lenet5"
    config.model_options.filters = (6, 16)
    config.model_options.dense_dropout = 0.0
    config.kernel_init = "torch_default"
    config.num_epochs = 15
    config.batch_size = 64
    config.optimizer = "adam"
    config.optimizer_defaults = "pytorch"
    config.learning_rate = 1e-3
    config.reference.report = "B"
    config.reference.variant = "base"
    config.reference.source = "Report B (PyTorch LeNet-5 family)"
    config.reference.train_accuracy = 0.955
    config.reference.val_accuracy = 0.907
    config.reference.num_params = 61706
    return config
