"""The pure engine: train state, one train step, one whole epoch as a single program, evaluation.

Everything here is a pure function of arrays, so `jax.vmap` over a leading axis of the state
(seeds, hyperparameters) trains many models in one program without changes here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import linen as nn
from flax.training import train_state
from jax import lax

from fmnist_jax.augment import AugmentSpec, augment_batch, spec_from_config

Metrics = dict[str, jax.Array]


class TrainState(train_state.TrainState):
    """Params, optimizer state and step (from flax), plus batch-norm statistics and the run's key.

    `rng` is advanced once per epoch; everything random in the future of a run (shuffling,
    dropout) derives from it, so a restored state continues exactly as an uninterrupted run.
    """

    batch_stats: Any
    rng: jax.Array


@dataclasses.dataclass(frozen=True)
class TrainOptions:
    """What the train step does besides forward/backward; static, so jit compiles once per setting."""

    batch_size: int
    augment: AugmentSpec = AugmentSpec()
    conv_kernel_l2: float = 0.0  # Keras kernel_regularizer=l2(f): f * sum(w**2) of the conv kernels, in the loss
    conv_kernel_l2_layers: tuple[str, ...] = ()  # the conv modules regularised ("Conv_0", ...); () = every conv
    label_smoothing: float = 0.0  # targets (1 - s) * one_hot + s / num_classes
    # Where each batch lives on a mesh (data parallelism: split over devices); None = one device.
    batch_sharding: jax.sharding.Sharding | None = None


def options_from_config(config: Any, batch_sharding: jax.sharding.Sharding | None = None) -> TrainOptions:
    return TrainOptions(
        batch_size=config.batch_size,
        augment=spec_from_config(config.augment),
        conv_kernel_l2=config.conv_kernel_l2,
        conv_kernel_l2_layers=tuple(config.conv_kernel_l2_layers),
        label_smoothing=config.label_smoothing,
        batch_sharding=batch_sharding,
    )


def constrain(x: jax.Array, sharding: jax.sharding.Sharding | None) -> jax.Array:
    """x laid out as `sharding` says inside a jitted program (unchanged without one)."""
    return x if sharding is None else lax.with_sharding_constraint(x, sharding)


def to_model_input(images_u8: jax.Array) -> jax.Array:
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1]: normalised on the device, per batch."""
    return (images_u8.astype(jnp.float32) / 255.0)[..., None]


def create_train_state(model: nn.Module, tx: optax.GradientTransformation, seed: int | jax.Array) -> TrainState:
    """Initialises params and batch stats from `seed`; the rest of the seed's key drives the run."""
    init_key, run_key = jax.random.split(jax.random.PRNGKey(seed))
    variables = model.init({"params": init_key}, jnp.zeros((1, 28, 28, 1), jnp.float32), train=False)
    return TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        batch_stats=variables.get("batch_stats", {}),
        tx=tx,
        rng=run_key,
    )


def _loss_and_correct(
    logits: jax.Array, labels: jax.Array, label_smoothing: float = 0.0
) -> tuple[jax.Array, jax.Array]:
    """Per-example softmax cross-entropy (against smoothed targets if asked) and 0/1 correctness."""
    if label_smoothing:
        targets = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), label_smoothing)
        loss = optax.softmax_cross_entropy(logits, targets)
    else:
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
    return loss, correct


def conv_kernels(params: Any) -> dict[str, jax.Array]:
    """Every conv kernel (a 4-D HWIO leaf named 'kernel') by its module path ("Conv_0",
    "ResidualBlock_0/Conv_1", ...), in the order the model creates them."""
    kernels = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(params):
        names = [str(getattr(entry, "key", entry)) for entry in path]
        if names[-1] == "kernel" and leaf.ndim == 4:
            kernels["/".join(names[:-1])] = leaf
    return kernels


def conv_kernel_paths(params: Any) -> list[str]:
    """The module path of every conv kernel (see conv_kernels)."""
    return list(conv_kernels(params))


def conv_kernel_sum_of_squares(params: Any, layer_names: tuple[str, ...] = ()) -> jax.Array:
    """sum(w**2) over the conv kernels of the named modules (see conv_kernels); () = every conv."""
    squares = [jnp.sum(k**2) for name, k in conv_kernels(params).items() if not layer_names or name in layer_names]
    return sum(squares, jnp.zeros((), jnp.float32))


def l2_penalty(params: Any, options: TrainOptions) -> jax.Array:
    """What Keras adds to the loss for kernel_regularizer=l2(f) on those convs: f * sum(w**2)."""
    return options.conv_kernel_l2 * conv_kernel_sum_of_squares(params, options.conv_kernel_l2_layers)


def train_step(
    state: TrainState, images_u8: jax.Array, labels: jax.Array, step_key: jax.Array, options: TrainOptions
) -> tuple[TrainState, Metrics]:
    """One optimizer step on one batch; batch-norm runs in train mode and updates its statistics.

    The reported loss is the data loss; a conv-kernel L2 penalty, if any, is in the gradient and also
    reported apart as loss_with_penalty (what Keras reports as the loss).
    """
    augment_key, dropout_key = jax.random.split(step_key)
    inputs = augment_batch(to_model_input(images_u8), augment_key, options.augment)

    def loss_fn(params: Any) -> tuple[jax.Array, tuple[jax.Array, jax.Array, Any]]:
        logits, updates = state.apply_fn(
            {"params": params, "batch_stats": state.batch_stats},
            inputs,
            train=True,
            rngs={"dropout": dropout_key},
            mutable=["batch_stats"],
        )
        loss, correct = _loss_and_correct(logits, labels, options.label_smoothing)
        data_loss = loss.mean()
        penalty = l2_penalty(params, options) if options.conv_kernel_l2 else 0.0
        return data_loss + penalty, (data_loss, correct.mean(), updates)

    (loss_with_penalty, (loss, accuracy, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads, batch_stats=updates.get("batch_stats", state.batch_stats))
    metrics = {"loss": loss, "accuracy": accuracy}
    if options.conv_kernel_l2:
        metrics["loss_with_penalty"] = loss_with_penalty
    return state, metrics


def _epoch_batches(state: TrainState, num_examples: int, batch_size: int) -> tuple[TrainState, jax.Array, jax.Array]:
    """An epoch's order: (the state with the next epoch's key, this epoch's key for its steps, the
    shuffled example indices of each step, (steps, batch_size)). The last partial batch is dropped so
    every step has the same shape (one compilation)."""
    num_steps = num_examples // batch_size
    next_rng, shuffle_key, epoch_key = jax.random.split(state.rng, 3)
    order = jax.random.permutation(shuffle_key, num_examples)
    return state.replace(rng=next_rng), epoch_key, order[: num_steps * batch_size].reshape(num_steps, batch_size)


def _batch_step(
    state: TrainState,
    images_u8: jax.Array,
    labels: jax.Array,
    epoch_key: jax.Array,
    step_in_epoch: jax.Array,
    indices: jax.Array,
    options: TrainOptions,
) -> tuple[TrainState, Metrics]:
    """Step `step_in_epoch` of an epoch: its batch gathered from the device-resident arrays, its own key."""
    step_key = jax.random.fold_in(epoch_key, step_in_epoch)
    batch_images = constrain(images_u8[indices], options.batch_sharding)
    batch_labels = constrain(labels[indices], options.batch_sharding)
    return train_step(state, batch_images, batch_labels, step_key, options)


def _epoch_metrics(per_step: Metrics) -> Metrics:
    """The epoch's train metrics from its steps' (each of shape (steps,))."""
    num_steps = per_step["loss"].shape[0]
    nonfinite = ~jnp.isfinite(per_step["loss"])
    num_finite = jnp.maximum(1, num_steps - nonfinite.sum())
    # Means over the steps whose loss was finite (with nan_policy=skip_step the others were skipped).
    means = {f"train_{name}": jnp.where(nonfinite, 0.0, values).sum() / num_finite for name, values in per_step.items()}
    return {
        **means,  # train_loss, train_accuracy[, train_loss_with_penalty]
        "num_nonfinite_steps": nonfinite.sum(),
        # The first step (within the epoch) whose loss was NaN or Inf; -1 if none was.
        "first_nonfinite_step": jnp.where(nonfinite.any(), jnp.argmax(nonfinite), -1),
    }


def make_train_epoch(options: TrainOptions) -> Callable[[TrainState, jax.Array, jax.Array], tuple[TrainState, Metrics]]:
    """Returns train_epoch(state, images_u8, labels) -> (state, {train_loss, train_accuracy, ...}).

    One epoch is one program: shuffle with the epoch's key, then `lax.scan` over the batches,
    gathering each batch from the device-resident arrays.
    """

    def train_epoch(state: TrainState, images_u8: jax.Array, labels: jax.Array) -> tuple[TrainState, Metrics]:
        state, epoch_key, batch_indices = _epoch_batches(state, images_u8.shape[0], options.batch_size)

        def body(state: TrainState, step_and_indices: tuple[jax.Array, jax.Array]) -> tuple[TrainState, Metrics]:
            return _batch_step(state, images_u8, labels, epoch_key, *step_and_indices, options)

        steps = jnp.arange(batch_indices.shape[0])
        state, per_step = lax.scan(body, state, (steps, batch_indices))
        return state, _epoch_metrics(per_step)

    return train_epoch


def make_interleaved_train_epoch(
    options: TrainOptions,
) -> Callable[[list[TrainState], jax.Array, jax.Array], tuple[list[TrainState], list[Metrics]]]:
    """Returns train_epoch(states, images_u8, labels) -> (states, metrics), over a list of members.

    The members' epochs in one `lax.scan`: each step of its body steps every member on that member's
    own batch. Their operations are independent of one another, so XLA:CPU's executor runs them side by
    side on the cores, where one member's small operations leave cores idle (BENCHMARKS.md,
    "Interleaved members"). Each member does exactly what `make_train_epoch` does for it (same keys,
    same batches, same operations), so it ends where its single run ends, bit for bit.
    """
    single_epoch = make_train_epoch(options)

    def train_epoch(
        states: list[TrainState], images_u8: jax.Array, labels: jax.Array
    ) -> tuple[list[TrainState], list[Metrics]]:
        if len(states) == 1:
            state, metrics = single_epoch(states[0], images_u8, labels)
            return [state], [metrics]
        orders = [_epoch_batches(state, images_u8.shape[0], options.batch_size) for state in states]
        epoch_keys = [epoch_key for _, epoch_key, _ in orders]

        def body(states: list[TrainState], step_and_indices: tuple[jax.Array, list[jax.Array]]) -> tuple[Any, Any]:
            step_in_epoch, member_indices = step_and_indices
            stepped = [
                _batch_step(state, images_u8, labels, epoch_key, step_in_epoch, indices, options)
                for state, epoch_key, indices in zip(states, epoch_keys, member_indices, strict=True)
            ]
            return [state for state, _ in stepped], [metrics for _, metrics in stepped]

        steps = jnp.arange(orders[0][2].shape[0])
        states, per_step = lax.scan(body, [state for state, _, _ in orders], (steps, [order for *_, order in orders]))
        return states, [_epoch_metrics(member_steps) for member_steps in per_step]

    return train_epoch


def model_variables(state: TrainState) -> dict[str, Any]:
    """What evaluation needs of a state: {"params", "batch_stats"} (the flax variables)."""
    return {"params": state.params, "batch_stats": state.batch_stats}


def make_evaluate(
    apply_fn: Callable[..., jax.Array],
    eval_batch_size: int,
    *,
    test_time_flip: bool = False,
    batch_sharding: jax.sharding.Sharding | None = None,
    penalty: Callable[[Any], jax.Array] | None = None,
) -> Callable[[dict[str, Any], jax.Array, jax.Array], Metrics]:
    """Returns evaluate(variables, images_u8, labels) -> {loss, accuracy, logits}, over every example.

    With a penalty (params -> the regulariser's term, e.g. l2_penalty) the metrics also hold
    loss_with_penalty: the loss as Keras reports it for a model with regularisers, on any split.

    Batch-norm uses its running averages and dropout is off. The set is zero-padded to whole
    batches and the padding masked out, so the numbers are exact means over all examples. With
    test_time_flip the logits are the mean of those of each image and its mirror image.
    """

    def evaluate(variables: dict[str, Any], images_u8: jax.Array, labels: jax.Array) -> Metrics:
        num_examples = images_u8.shape[0]
        batch = min(eval_batch_size, num_examples)
        num_batches = -(-num_examples // batch)
        pad = num_batches * batch - num_examples
        images = jnp.pad(images_u8, ((0, pad), (0, 0), (0, 0))).reshape(num_batches, batch, *images_u8.shape[1:])

        def logits_of(_: None, batch_images: jax.Array) -> tuple[None, jax.Array]:
            inputs = to_model_input(constrain(batch_images, batch_sharding))
            logits = apply_fn(variables, inputs, train=False)
            if test_time_flip:
                logits = (logits + apply_fn(variables, inputs[:, :, ::-1], train=False)) / 2
            return None, logits

        _, logits = lax.scan(logits_of, None, images)
        logits = logits.reshape(num_batches * batch, -1)[:num_examples]
        if batch_sharding is not None:  # every process reads the metrics: gather the logits of all devices
            logits = constrain(logits, jax.sharding.NamedSharding(batch_sharding.mesh, jax.sharding.PartitionSpec()))
        loss, correct = _loss_and_correct(logits, labels)
        metrics = {"loss": loss.mean(), "accuracy": correct.mean(), "logits": logits}
        if penalty is not None:
            metrics["loss_with_penalty"] = loss.mean() + penalty(variables["params"])
        return metrics

    return evaluate


def count_params(tree: Any) -> int:
    return int(sum(x.size for x in jax.tree_util.tree_leaves(tree)))


@jax.jit
def keep_improved(improved: jax.Array, new: Any, best: Any) -> Any:
    """Per member: the new variables where `improved`, else the best ones so far (a fresh copy either way)."""

    def pick(new_leaf: jax.Array, best_leaf: jax.Array) -> jax.Array:
        condition = improved.reshape(improved.shape + (1,) * (new_leaf.ndim - improved.ndim))
        return jnp.where(condition, new_leaf, best_leaf)

    return jax.tree_util.tree_map(pick, new, best)
