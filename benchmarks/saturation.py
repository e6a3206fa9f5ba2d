"""How many of a model's units saturate in its first steps: why a sigmoid net can sit at chance.

  python -m benchmarks.saturation --config=d_sigmoid --learning_rates=1e-3,1e-4 [--epochs=2]
      [--num_examples=8192] [--probe_examples=512] [--threshold=4.6]

For each learning rate it builds the config's model and optimizer as a run does, trains `epochs`
epochs of the real train program on the first `num_examples` training images, and before training
and after each epoch prints, per Conv and Dense layer (the logits aside), the fraction of its outputs
(pre-activations) on `probe_examples` held-out training images (the last ones) whose magnitude
exceeds `threshold`: 4.6 puts sigmoid(z) below 0.01 or above 0.99, where its gradient is under 1 % of
its largest. A layer whose units are nearly all saturated passes almost no gradient back, so the net
below it stops learning. Not a timing: the clock is not read.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks import common
from fmnist_jax import data, train

_CONFIG = flags.DEFINE_string("config", "d_sigmoid", "Config name in configs/.")
_LEARNING_RATES = flags.DEFINE_list("learning_rates", ["1e-3", "1e-4"], "Learning rates to compare.")
_EPOCHS = flags.DEFINE_integer("epochs", 2, "Epochs of num_examples images to train.")
_NUM_EXAMPLES = flags.DEFINE_integer("num_examples", 8192, "Training images per epoch (the first ones).")
_PROBE_EXAMPLES = flags.DEFINE_integer("probe_examples", 512, "Held-out training images (the last ones) probed.")
_THRESHOLD = flags.DEFINE_float("threshold", 4.6, "|pre-activation| above this counts as saturated.")


def saturated_fractions(model: Any, state: train.TrainState, probe: jax.Array, threshold: float) -> dict[str, float]:
    """Per Conv / Dense layer but the last: the fraction of its outputs on `probe` with |z| > threshold."""
    variables = {"params": state.params}
    if state.batch_stats:
        variables["batch_stats"] = state.batch_stats
    _, captured = model.apply(
        variables, train.to_model_input(probe), train=False, capture_intermediates=True, mutable=["intermediates"]
    )
    layers = {}
    for path, value in jax.tree_util.tree_flatten_with_path(captured["intermediates"])[0]:
        name = "/".join(str(getattr(key, "key", key)) for key in path[:-1]).removesuffix("/__call__")
        if "Conv" in name or "Dense" in name:
            layers[name] = float(np.mean(np.abs(np.asarray(value)) > threshold))
    return dict(list(layers.items())[:-1])  # the last Dense gives the logits, which have no activation


def main(argv: list[str]) -> None:
    del argv
    fmnist = data.load_fashion_mnist()
    n = _NUM_EXAMPLES.value
    images, labels = jax.device_put(fmnist.train_images[:n]), jax.device_put(fmnist.train_labels[:n])
    probe = jnp.asarray(fmnist.train_images[-_PROBE_EXAMPLES.value :])
    print(common.machine_header(f"saturated units of {_CONFIG.value} (|z| > {_THRESHOLD.value})") + "\n")
    rows = []
    for learning_rate in map(float, _LEARNING_RATES.value):
        config = common.load_config(_CONFIG.value)
        config.learning_rate = learning_rate
        steps = n // config.batch_size
        model, state, options = common.training_setup(config, steps)
        epoch = jax.jit(train.make_train_epoch(options))
        for trained in range(_EPOCHS.value + 1):
            if trained:
                state, metrics = epoch(state, images, labels)
            row = {"learning_rate": learning_rate, "steps": trained * steps}
            row["train_loss"] = float(metrics["train_loss"]) if trained else None
            row.update(saturated_fractions(model, state, probe, _THRESHOLD.value))
            rows.append(row)
            print(row, flush=True)
    layer_names = [key for key in rows[0] if key not in ("learning_rate", "steps", "train_loss")]
    columns = [("learning_rate", "lr", "g"), ("steps", "steps", "d"), ("train_loss", "train loss", ".4f")]
    columns += [(name, f"{name} saturated", ".3f") for name in layer_names]
    print("\n" + common.markdown_table(rows, columns))


if __name__ == "__main__":
    app.run(main)
