"""Members: N models trained by one program, over seeds and over hyperparameter values.

A run's members are every sweep point (a combination of the `config.sweep` values; one point when
there is no sweep) times `config.num_seeds` seeds, point-major: member m is seed
`config.seed + m % num_seeds` of point `m // num_seeds`. Each member has its own init, dropout,
augmentation and shuffling keys (all from its seed) and its own learning rate and weight decay
(held in its optimizer state), so member m follows exactly the trajectory of a single run with its
seed and hyperparameters. With one member the state has no members axis at all.

How the one program runs its members (`config.members_program`): `vmap` batches them into every
operation (what fills a GPU or TPU); `map` runs them one after another inside the program
(`lax.map`), each with the single run's own operations; `interleave` trains groups of
`config.interleaved_members` members side by side in one scan (each step of its body steps every
member of the group with the single run's own operations; `train.make_interleaved_train_epoch`): one
member's small operations leave a core idle that another member's fill, and XLA:CPU runs independent
operations at once. Its other functions (evaluation) run the members as `map` does. On a 2-core CPU
the batched matmuls of `vmap` cost 1.03-1.33x N separate runs, `map` 0.91-1.15x (BENCHMARKS.md,
"Ensembles", 2026-11-29), `interleave` 0.78-0.95x `map` for the small models and the same as `map`
for the big CNNs (BENCHMARKS.md, "Interleaved members"), so `auto` is `interleave` on CPU and `vmap`
elsewhere. `map` and `interleave` compute each member exactly as its single run does. Under `map` a
member stopped by its early stopping is skipped (`over_training_members`), so an ensemble whose members
stop at different epochs pays only for the epochs each member trains; under `interleave` a group whose
members have all stopped is skipped (a stopped member beside one that trains is computed and dropped).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn
from jax import lax

from fmnist_jax import metrics, optim, train


@dataclasses.dataclass(frozen=True)
class MemberLayout:
    """Who the members are: per member its seed and hyperparameters; per point its values."""

    seeds: tuple[int, ...]
    learning_rates: tuple[float, ...]
    weight_decays: tuple[float, ...]
    num_seeds: int

    @property
    def num_members(self) -> int:
        return len(self.seeds)

    @property
    def num_points(self) -> int:
        return self.num_members // self.num_seeds

    @property
    def is_sweep(self) -> bool:
        return self.num_points > 1

    def point_members(self, point: int) -> slice:
        """The members of one sweep point (its seeds)."""
        return slice(point * self.num_seeds, (point + 1) * self.num_seeds)

    def point_hyperparams(self, point: int) -> dict[str, float]:
        first = point * self.num_seeds
        return {"learning_rate": self.learning_rates[first], "weight_decay": self.weight_decays[first]}


def layout_from_config(config: Any) -> MemberLayout:
    learning_rates = tuple(config.sweep.learning_rate) or (config.learning_rate,)
    weight_decays = tuple(config.sweep.weight_decay) or (config.weight_decay,)
    points = list(itertools.product(learning_rates, weight_decays))
    members = [(point, seed) for point in points for seed in range(config.num_seeds)]
    return MemberLayout(
        seeds=tuple(config.seed + seed for _, seed in members),
        learning_rates=tuple(float(lr) for (lr, _), _ in members),
        weight_decays=tuple(float(wd) for (_, wd), _ in members),
        num_seeds=config.num_seeds,
    )


def create_states(model: nn.Module, tx: optax.GradientTransformation, layout: MemberLayout) -> train.TrainState:
    """The members' initial states, stacked on a leading members axis (none for a single member).

    Member m is exactly the state a single run with seed `layout.seeds[m]` and its hyperparameters
    starts from, so a vmapped member and that single run follow the same trajectory.
    """
    program, args = init_program(model, tx, layout)
    return program.lower(*args).compile(compiler_options=init_compiler_options())(*args)


def init_program(model: nn.Module, tx: optax.GradientTransformation, layout: MemberLayout) -> tuple[Any, tuple]:
    """(the jitted initialisation of the members' states, its arguments): what `create_states` compiles."""

    def create(seed: jax.Array, learning_rate: jax.Array, weight_decay: jax.Array) -> train.TrainState:
        state = train.create_train_state(model, tx, seed)
        opt_state = optim.set_hyperparams(state.opt_state, learning_rate=learning_rate, weight_decay=weight_decay)
        return state.replace(opt_state=opt_state)

    per_member = (jnp.asarray(layout.seeds), jnp.asarray(layout.learning_rates), jnp.asarray(layout.weight_decays))
    # One jitted program: run op by op, an initialisation compiles each of its ~100 small ops on its own
    # (about 90 ms each on XLA:CPU). Measured 2026-12-06, a fresh process each, 2-core Xeon: e_cnn5 8.3 s op by
    # op against 3.5 s jitted (3 members: 12.2 against 4.6), b_lenet5 6.4 against 3.1 (10.5 against 5.4). Same
    # values bit for bit for every config, 1 and 3 members (the step counter becomes an int32 array, not 0).
    if layout.num_members == 1:
        return jax.jit(create), tuple(values[0] for values in per_member)
    return jax.jit(jax.vmap(create)), per_member


def init_compiler_options() -> dict[str, Any]:
    """XLA options for the one-off initialisation program: LLVM at optimisation level 1 on CPU.

    The program runs once per run, so its compile is all it costs: at the default level (3) XLA:CPU's
    LLVM spends 1.6-7.6 s on it (the threefry draws of every parameter), at level 1 0.6-1.8 s, and the
    initial states are the same bit for bit for every config in configs/ at 1 and 3 members
    (`python -m benchmarks.init_compile`, BENCHMARKS.md "Initialisation compile"; tests/test_ensemble.py
    checks it on every initialiser kind). Only the initialisation: at level 1 the train epoch of a
    batch-norm config computes other bits (variant_bn, one epoch on 600 images: test loss 2.0934 against
    2.0972), so the train and evaluation programs keep the default. Other backends compile as they did.
    """
    return {"xla_backend_optimization_level": 1} if jax.default_backend() == "cpu" else {}


MEMBERS_PROGRAMS = ("auto", "vmap", "map", "interleave")
# The programs that run each member with its single run's own operations (nothing batched over members):
# they can leave out a stopped member, and have no members axis in their operations to shard over devices.
PER_MEMBER_PROGRAMS = ("map", "interleave")


def resolve_members_program(members_program: str, parallel_mode: str = "none") -> str:
    """'auto': `interleave` on CPU (see the module's docstring), `vmap` elsewhere and whenever the
    members axis is split over devices (parallel=members shards the vmapped axis)."""
    if members_program != "auto":
        return members_program
    return "interleave" if jax.default_backend() == "cpu" and parallel_mode != "members" else "vmap"


def over_members(fn: Any, num_members: int, members_program: str = "vmap") -> Any:
    """fn(state_or_variables, images, labels) for one member; over the members axis (the leading
    axis of the first argument) with several, batched (`vmap`) or one after another (`map`, and
    `interleave`, which interleaves the train epoch only: `train_epoch_over_members`)."""
    if num_members == 1:
        return fn
    if members_program in PER_MEMBER_PROGRAMS:
        return lambda member_states, images, labels: lax.map(lambda one: fn(one, images, labels), member_states)
    return jax.vmap(fn, in_axes=(0, None, None))


def skips_stopped_members(num_members: int, members_program: str) -> bool:
    """Whether the train epoch and the validation skip the members whose early stopping has stopped them
    (`map`; `interleave` skips a group whose members have all stopped, and keeps a stopped member of a
    group that trains as it was)."""
    return num_members > 1 and members_program in PER_MEMBER_PROGRAMS


def over_training_members(fn: Any, num_members: int, members_program: str) -> Any:
    """The train epoch over the members, as over_members, with a fourth argument `training` (bool per
    member): with `map`, a member whose early stopping has stopped it is skipped (`lax.cond` runs one
    branch only): its state comes back as it went in, with zero metrics. `vmap` computes every member
    in each batched op, so there a stopped member trains on in lockstep (nothing it learns is kept)."""
    if not skips_stopped_members(num_members, members_program):
        over = over_members(fn, num_members, members_program)
        return lambda member_states, images, labels, training: over(member_states, images, labels)
    return _map_selected(fn, lambda state, zero_metrics: (state, zero_metrics[1]))


def train_epoch_over_members(
    options: train.TrainOptions, num_members: int, members_program: str, interleaved_members: int
) -> Any:
    """The train epoch over the members: fn(member_states, images, labels, training) -> (states, metrics),
    `training` a bool per member, as `over_training_members` (one member: no members axis)."""
    if members_program == "interleave" and num_members > 1:
        return _interleaved_groups(train.make_interleaved_train_epoch(options), num_members, interleaved_members)
    return over_training_members(train.make_train_epoch(options), num_members, members_program)


def _interleaved_groups(interleaved_epoch: Any, num_members: int, group_size: int) -> Any:
    """The interleaved epoch over groups of `group_size` members, one group after another (`lax.map`), and
    the last `num_members % group_size` members as a smaller group: two group shapes compile at most,
    and no member is computed twice or padded in."""
    group_size = min(group_size, num_members)
    num_full_groups = num_members // group_size
    in_full_groups = num_full_groups * group_size

    def group_epoch(group: Any, images: jax.Array, labels: jax.Array, training: jax.Array) -> tuple[Any, Any]:
        members = [jax.tree_util.tree_map(lambda leaf, m=m: leaf[m], group) for m in range(training.shape[0])]
        output_shape = jax.eval_shape(interleaved_epoch, members, images, labels)

        def train_group(members: list[Any]) -> tuple[Any, Any]:
            states, metrics = interleaved_epoch(members, images, labels)
            return _stacked(states), _stacked(metrics)

        def skip_group(members: list[Any]) -> tuple[Any, Any]:
            zeros = jax.tree_util.tree_map(lambda s: jnp.zeros((len(members), *s.shape), s.dtype), output_shape[1][0])
            return group, zeros

        # Every member stopped: the group's epoch is not computed (`lax.cond` runs one branch).
        trained, metrics = lax.cond(training.any(), train_group, skip_group, members)
        # A stopped member of a group that trains was computed beside the others: its state stays as it
        # went in and its metrics are zero, as under `map`.
        kept = jax.tree_util.tree_map(lambda new, old: jnp.where(_per_member(training, new), new, old), trained, group)
        return kept, jax.tree_util.tree_map(lambda value: jnp.where(_per_member(training, value), value, 0), metrics)

    def over(member_states: Any, images: jax.Array, labels: jax.Array, training: jax.Array) -> tuple[Any, Any]:
        training = jnp.asarray(training)

        def grouped(leaf: jax.Array) -> jax.Array:
            return leaf[:in_full_groups].reshape(num_full_groups, group_size, *leaf.shape[1:])

        def one_group(group_and_training: tuple[Any, jax.Array]) -> tuple[Any, Any]:
            group, group_training = group_and_training
            return group_epoch(group, images, labels, group_training)

        full = lax.map(one_group, (jax.tree_util.tree_map(grouped, member_states), grouped(training)))
        parts = [jax.tree_util.tree_map(lambda leaf: leaf.reshape(in_full_groups, *leaf.shape[2:]), full)]
        if in_full_groups < num_members:
            rest = jax.tree_util.tree_map(lambda leaf: leaf[in_full_groups:], member_states)
            parts.append(group_epoch(rest, images, labels, training[in_full_groups:]))
        return jax.tree_util.tree_map(lambda *leaves: jnp.concatenate(leaves), *parts)

    return over


def _stacked(trees: list[Any]) -> Any:
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def _per_member(mask: jax.Array, like: jax.Array) -> jax.Array:
    """A bool per member (leading axis), broadcastable against an array with that leading axis."""
    return mask.reshape(mask.shape + (1,) * (like.ndim - 1))


def over_evaluated_members(fn: Any, num_members: int, members_program: str) -> Any:
    """The evaluation over the members, as over_members, with a fourth argument `evaluated` (bool per
    member): with `map`, a member left out is not computed and gets zero metrics. The epoch loop leaves
    out the members it did not train (stopped early): their state, and so their metrics, are unchanged
    since the epoch they last trained. `vmap` evaluates every member."""
    if not skips_stopped_members(num_members, members_program):
        over = over_members(fn, num_members, members_program)
        return lambda member_variables, images, labels, evaluated: over(member_variables, images, labels)
    return _map_selected(fn, lambda variables, zero_metrics: zero_metrics)


def _map_selected(fn: Any, skipped: Any) -> Any:
    """fn(member, images, labels) over the members one after another (`lax.map`), computed only where
    `selected` is true (`lax.cond` runs one branch); elsewhere skipped(member, zeros shaped as fn's
    outputs) stands in for it."""

    def over(members: Any, images: jax.Array, labels: jax.Array, selected: jax.Array) -> Any:
        one_member = jax.tree_util.tree_map(lambda leaf: leaf[0], members)
        output_shape = jax.eval_shape(fn, one_member, images, labels)
        zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), output_shape)

        def one(member_and_selected: tuple[Any, jax.Array]) -> Any:
            member, chosen = member_and_selected
            return lax.cond(chosen, lambda kept: fn(kept, images, labels), lambda kept: skipped(kept, zeros), member)

        return lax.map(one, (members, selected))

    return over


def member_test_results(
    member_loss: np.ndarray, member_accuracy: np.ndarray, member_logits: np.ndarray, labels: np.ndarray
) -> tuple[dict[str, Any], np.ndarray]:
    """Per-member test numbers, their mean / std / 95 % CI, and the ensemble's own accuracy and loss;
    with the ensemble's mean probabilities (examples x classes)."""
    accuracy = metrics.mean_std_ci95(member_accuracy)
    mean_probability, vote = metrics.ensemble_predictions(member_logits)
    true_class_probability = mean_probability[np.arange(len(labels)), labels]
    results = {
        "test_loss": float(member_loss.mean()),
        "test_accuracy": accuracy["mean"],
        "test_loss_per_seed": member_loss.tolist(),
        "test_accuracy_per_seed": member_accuracy.tolist(),
        "test_accuracy_mean": accuracy["mean"],
        "test_accuracy_std": accuracy["std"],
        "test_accuracy_ci95": accuracy["ci95"],
        "ensemble_test_accuracy_mean_prob": float((mean_probability.argmax(axis=-1) == labels).mean()),
        "ensemble_test_loss_mean_prob": float(-np.log(np.maximum(true_class_probability, 1e-12)).mean()),
        "ensemble_test_accuracy_vote": float((vote == labels).mean()),
    }
    return results, mean_probability


def best_point(layout: MemberLayout, best_val_accuracy: list[float]) -> int:
    """The sweep point whose members' mean best validation accuracy is highest (test never decides)."""
    means = [np.mean(best_val_accuracy[layout.point_members(p)]) for p in range(layout.num_points)]
    return int(np.argmax(means))
