"""Print a config's model as a Keras user knows it: layer, output shape, params, then the totals.

python -m fmnist_jax.describe --config=configs/baseline.py
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from absl import app
from flax import linen as nn
from ml_collections import config_flags

from fmnist_jax import cli, config_check
from fmnist_jax.models import build_model

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file in configs/.", lock_config=True)


def _leaf_count(tree: Any) -> int:
    return sum(math.prod(x.shape) for x in jax.tree_util.tree_leaves(tree))


def _subtree(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return {}
        tree = tree[key]
    return tree


def layer_table(model: nn.Module) -> tuple[list[tuple[str, str, int, int]], int, int]:
    """Rows (layer name (type), output shape, trainable params, non-trainable params) in call order,
    for every leaf submodule called, with the totals of trainable and non-trainable params."""
    calls: list[tuple[tuple[str, ...], str, tuple[int, ...]]] = []

    def record(next_fun: Any, args: Any, kwargs: Any, context: Any) -> Any:
        out = next_fun(*args, **kwargs)
        module = context.module
        is_leaf = not any(isinstance(v, nn.Module) for v in vars(module).values()) and context.method_name == "__call__"
        if module.scope.path and is_leaf and hasattr(out, "shape"):
            calls.append((module.scope.path, type(module).__name__, tuple(out.shape)))
        return out

    sample = jnp.zeros((1, 28, 28, 1), jnp.float32)
    with nn.intercept_methods(record):
        variables = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), sample, train=False))
    rows, seen = [], set()
    for path, kind, shape in calls:
        if path in seen:
            continue
        seen.add(path)
        trainable = _leaf_count(_subtree(variables.get("params", {}), path))
        fixed = _leaf_count(_subtree(variables.get("batch_stats", {}), path))
        rows.append((f"{'/'.join(path)} ({kind})", str((None, *shape[1:])), trainable, fixed))
    return rows, _leaf_count(variables.get("params", {})), _leaf_count(variables.get("batch_stats", {}))


def summary(config: Any) -> str:
    """The Keras-style summary of config's model as text; its last line is `Total params: N`."""
    config_check.validate(config)
    rows, trainable, fixed = layer_table(build_model(config))
    header = ("Layer (type)", "Output Shape", "Param #")
    width = [max(len(header[0]), *(len(r[0]) for r in rows)) + 2, max(len(header[1]), *(len(r[1]) for r in rows)) + 2]
    rule = "=" * (width[0] + width[1] + 12)
    lines = [f'Model: "{config.model}"', rule, f"{header[0]:<{width[0]}}{header[1]:<{width[1]}}{header[2]:>10}", rule]
    lines += [f"{name:<{width[0]}}{shape:<{width[1]}}{p + f:>10,}" for name, shape, p, f in rows]
    lines += [
        rule,
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {fixed:,}",
        f"Total params: {trainable + fixed:,}",
    ]
    return "\n".join(lines)


@cli.exit_on_user_error
def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    print(summary(_CONFIG.value))


if __name__ == "__main__":
    app.run(main, flags_parser=cli.parse_flags)
