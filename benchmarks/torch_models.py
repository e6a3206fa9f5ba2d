"""The PyTorch twins of our architectures (same layers, same param counts), for the side-by-side benchmarks."""

from __future__ import annotations

from torch import nn


def lenet5() -> nn.Module:
    """Report B's LeNet-5, 61,706 params."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def cnn_a() -> nn.Module:
    """Report A's baseline CNN-A, 225,034 params."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(1600, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def cnn_d() -> nn.Module:
    """Report D's Kaggle CNN, 6,484,330 params."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 1),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Flatten(),
        nn.Linear(6272, 1024),
        nn.ReLU(),
        nn.Dropout(0.25),
        nn.Linear(1024, 32),
        nn.ReLU(),
        nn.Linear(32, 10),
    )


def block_cnn(
    filters: tuple[int, ...] = (32, 64, 128, 256), pooled_blocks: int = 3, dense_width: int = 208
) -> nn.Module:
    """Report E's cnn5 (our chosen layout), 870,746 params: conv -> bn -> relu -> [maxpool] -> drop(.25)
    blocks, then dense -> bn -> relu -> drop(.5) -> dense(10). Keras' batch-norm settings (momentum
    0.99 is PyTorch's 0.01, epsilon 1e-3)."""
    layers: list[nn.Module] = []
    channels, side = 1, 28
    for index, features in enumerate(filters):
        layers += [nn.Conv2d(channels, features, 3, padding=1), nn.BatchNorm2d(features, eps=1e-3, momentum=0.01)]
        layers.append(nn.ReLU())
        if index < pooled_blocks:
            layers.append(nn.MaxPool2d(2))
            side //= 2
        layers.append(nn.Dropout(0.25))
        channels = features
    layers += [
        nn.Flatten(),
        nn.Linear(channels * side * side, dense_width),
        nn.BatchNorm1d(dense_width, eps=1e-3, momentum=0.01),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(dense_width, 10),
    ]
    return nn.Sequential(*layers)


ARCHITECTURES = {"lenet5": lenet5, "cnn_a": cnn_a, "cnn_d": cnn_d, "block_cnn": block_cnn}
