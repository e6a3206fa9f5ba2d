"""Where the time of one train step goes: a profile of the real one-program epoch, op by op.

  python -m benchmarks.profile_epoch [--config=b_lenet5] [--batch_size=128] [--steps=50] [--top=15]
      [--trace_dir=DIR]

With --trace_dir the jax profiler trace is kept there (open it in TensorBoard's profile plugin, or
the .json.gz in Perfetto); without it, it goes to a temporary folder.

It compiles the config's train epoch (lax.scan over `steps` batches of the training set),
runs it once to warm up, then `repeats` times under `jax.profiler.trace`, and sums the duration
of every XLA op in the trace. Each op is matched to the JAX operation it came from through the
compiled HLO's metadata (`op_name`, which carries the flax module path, e.g.
`.../Conv_0/...`; `transpose(jvp(...))` marks the backward pass). Printed: the top ops by time
per step, then the time per flax module, forward and backward apart.

On CPU the op events exist only with XLA_FLAGS=--xla_cpu_enable_xprof_traceme=true, which this
script adds before the backend starts. The trace itself costs a little time, so read shares,
not absolute milliseconds (benchmarks.throughput gives those). The dots XLA:CPU leaves to Eigen (the
convolutions' kernel gradients) appear with a few percent of their time (Eigen runs their work outside
the traced event): benchmarks.kernel_gradient measures them in the real step.
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import tempfile
import time

from absl import app, flags

from benchmarks.hlo_profile import hlo_op_sources, is_backward, module_of, op_durations_us
from fmnist_jax.run import timed_compile

_CONFIG = flags.DEFINE_string("config", "b_lenet5", "Config name in configs/.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 0, "Batch size (0: the config's).")
_STEPS = flags.DEFINE_integer("steps", 50, "Steps per profiled epoch.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Profiled epochs.")
_TOP = flags.DEFINE_integer("top", 15, "Ops listed.")
_TRACE_DIR = flags.DEFINE_string("trace_dir", "", "Keep the profiler trace in this folder ('': a temporary one).")
_CONV_IMPL = flags.DEFINE_string("conv_impl", "", "Override the config's conv lowering (auto|toeplitz|im2col|xla).")


def main(argv: list[str]) -> None:
    del argv
    # Before the first jax call creates the CPU backend, which reads XLA_FLAGS once.
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true").strip()
    import jax  # noqa: PLC0415 (after XLA_FLAGS is set, on purpose)

    from benchmarks import common  # noqa: PLC0415
    from fmnist_jax import data, train  # noqa: PLC0415

    config = common.load_config(_CONFIG.value)
    if _BATCH_SIZE.value:
        config.batch_size = _BATCH_SIZE.value
    if _CONV_IMPL.value:
        config.conv_impl = _CONV_IMPL.value
    steps, batch = _STEPS.value, config.batch_size
    fmnist = data.load_fashion_mnist()
    images = jax.device_put(fmnist.train_images[: steps * batch])
    labels = jax.device_put(fmnist.train_labels[: steps * batch])
    _, state, options = common.training_setup(config, steps)
    epoch, _ = timed_compile(train.make_train_epoch(options), state, images, labels)
    sources = hlo_op_sources(epoch.as_text())
    jax.block_until_ready(epoch(state, images, labels))  # warm-up, outside the trace

    with contextlib.ExitStack() as stack:
        trace_dir = _TRACE_DIR.value or stack.enter_context(tempfile.TemporaryDirectory())
        start = time.perf_counter()
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            for _ in range(_REPEATS.value):
                jax.block_until_ready(epoch(state, images, labels))
        wall_ms_per_step = 1e3 * (time.perf_counter() - start) / (_REPEATS.value * steps)
        durations = op_durations_us(pathlib.Path(trace_dir))

    step_count = _REPEATS.value * steps
    ops = {name: us / 1e3 / step_count for name, us in durations.items() if name in sources}
    if not ops:
        raise SystemExit("profile_epoch: the trace holds no XLA op events (is this backend's op tracing on?)")
    total_ms = sum(ops.values())
    print(common.machine_header(f"profile of {_CONFIG.value}'s train epoch"))
    print(
        f"\nbatch {batch}, conv_impl {config.conv_impl}, {steps} steps x {_REPEATS.value} epochs: "
        f"{wall_ms_per_step:.2f} ms/step wall under the profiler, {total_ms:.2f} ms/step in traced ops\n"
    )
    print("| op | opcode | ms/step | share | from (JAX op_name) |\n|---|---|---:|---:|---|")
    for name, ms in sorted(ops.items(), key=lambda item: -item[1])[: _TOP.value]:
        opcode, op_name = sources[name]
        print(f"| {name} | {opcode} | {ms:.3f} | {ms / total_ms:.1%} | {op_name[-90:]} |")

    forward: dict[str, float] = collections.defaultdict(float)
    backward: dict[str, float] = collections.defaultdict(float)
    for name, ms in ops.items():
        op_name = sources[name][1]
        (backward if is_backward(op_name) else forward)[module_of(op_name)] += ms
    print("\n| flax module | forward ms/step | backward ms/step | share |\n|---|---:|---:|---:|")
    for module in sorted(forward.keys() | backward.keys(), key=lambda m: -(forward[m] + backward[m])):
        share = (forward[module] + backward[module]) / total_ms
        print(f"| {module} | {forward[module]:.3f} | {backward[module]:.3f} | {share:.1%} |")


if __name__ == "__main__":
    app.run(main)
