"""Reading an XLA profile: which HLO op came from which flax module, forward or backward.

Pure functions over the compiled module's HLO text and a Perfetto trace, kept apart from
benchmarks.profile_epoch (which defines absl flags) so that they can be imported and tested alone.
"""

from __future__ import annotations

import collections
import gzip
import json
import pathlib
import re

# `%fusion.3 = f32[128,10]{1,0} fusion(...), ..., metadata={op_name="jit(f)/Conv_0/dot_general" ...}`
_HLO_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*?[\]\)}] ([a-z][\w\-]*)\(")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
# A flax module in an op_name path: Conv_0, Dense_2, BatchNorm_1, or a named submodule like block_0.
_MODULE = re.compile(r"^(?:[A-Z]\w*_\d+|[a-z]\w*_\d+)$")


def hlo_op_sources(hlo_text: str) -> dict[str, tuple[str, str]]:
    """HLO instruction name -> (opcode, JAX op_name) from a compiled module's text."""
    sources = {}
    for line in hlo_text.splitlines():
        instruction = _HLO_INSTRUCTION.match(line)
        if not instruction:
            continue
        op_name = _OP_NAME.search(line)
        sources[instruction.group(1)] = (instruction.group(2), op_name.group(1) if op_name else "")
    return sources


def module_of(op_name: str) -> str:
    """The flax module an op_name comes from: 'LeNet5/Conv_0', 'LeNet5' for the model's own ops
    (activations, reshapes), or '(outside the model)' for the loss, optimizer and data handling."""
    parts = []
    for part in op_name.split("/"):
        while (unwrapped := re.sub(r"^\w+\((.*)\)$", r"\1", part)) != part:  # jvp(...), transpose(...)
            part = unwrapped
        parts.append(part)
    roots = [i for i, part in enumerate(parts) if part[:1].isupper()]
    if not roots:
        return "(outside the model)"
    modules = [part for part in parts[roots[0] + 1 :] if _MODULE.match(part)]
    return "/".join([parts[roots[0]], *modules])


def is_backward(op_name: str) -> bool:
    """Ops of the gradient computation carry transpose(...) of the forward pass in their op_name."""
    return "transpose(" in op_name


def op_durations_us(trace_dir: pathlib.Path) -> dict[str, float]:
    """Total duration (microseconds) per event name in the Perfetto trace written under trace_dir."""
    traces = sorted(trace_dir.rglob("*.trace.json.gz")) or sorted(trace_dir.rglob("perfetto_trace.json.gz"))
    if not traces:
        raise SystemExit(f"profile_epoch: no trace file under {trace_dir}; this jax may not write Perfetto traces")
    with gzip.open(traces[-1], "rt") as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    totals: dict[str, float] = collections.defaultdict(float)
    for event in events:
        if event.get("ph") == "X" and "dur" in event:
            totals[event["name"]] += float(event["dur"])
    return totals
