"""A lowering tried and not adopted: oneDNN's direct convolutions inside the jitted epoch, through XLA's FFI.

Why it was tried: on CPU the wide 3x3 layers are where JAX loses to PyTorch, whose oneDNN convolutions need
no materialised patches, and XLA:CPU in jaxlib 0.10.2 cannot call oneDNN's convolutions itself
(BENCHMARKS.md, "The goals still missed"). `onednn_conv.cc` wraps oneDNN's forward, input-gradient and
kernel-gradient primitives as three XLA FFI handlers; `conv` ties them together with a custom VJP, and
`wide_layers_on_onednn` gives the engine's wide layers to it for a benchmark (`benchmarks.onednn_conv`).

Why it is not in fmnist_jax/layers.py: alone a wide layer runs 1.4-1.7x faster forward and backward, but
inside the train step oneDNN's OpenMP threads and XLA's own share the two cores, and the step gains 3-14 %
at batch 128 and loses 0-15 % at batch 32 (BENCHMARKS.md, "oneDNN's convolutions through XLA's FFI"), for
other float sums and a C++ build. It needs a C++ compiler and oneDNN 2.x (Debian 12: apt-get install g++
libdnnl-dev); the handlers are compiled once into ~/.cache/fmnist_jax/onednn (or $FMNIST_JAX_CACHE/onednn).
oneDNN's threads wait passively between calls (OMP_WAIT_POLICY=passive unless set).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import pathlib
import shutil
import subprocess
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np

from fmnist_jax import layers
from fmnist_jax.errors import UserError

SOURCE = pathlib.Path(__file__).with_name("onednn_conv.cc")
INSTALL_HINT = "install a C++ compiler and oneDNN 2.x (Debian 12: apt-get install g++ libdnnl-dev)"
_TARGETS = {
    "forward": "FmnistOnednnConvForward",
    "backward_data": "FmnistOnednnConvBackwardData",
    "backward_weights": "FmnistOnednnConvBackwardWeights",
}
_HEADER = pathlib.Path("/usr/include/dnnl.hpp")


def unavailable_reason() -> str | None:
    """Why the oneDNN lowering cannot run here, or None when it can (CPU backend, compiler, oneDNN headers)."""
    if jax.default_backend() != "cpu":
        return f"the oneDNN lowering runs on CPU only, and the backend is {jax.default_backend()}"
    if shutil.which(_compiler()) is None:
        return f"the oneDNN lowering needs the C++ compiler {_compiler()!r}: {INSTALL_HINT}"
    if not _HEADER.exists():
        return f"the oneDNN lowering needs oneDNN's headers ({_HEADER} is missing): {INSTALL_HINT}"
    return None


def _compiler() -> str:
    return os.environ.get("CXX", "g++")


def _cache_dir() -> pathlib.Path:
    root = os.environ.get("FMNIST_JAX_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "fmnist_jax"
    )
    return pathlib.Path(root) / "onednn"


def build() -> pathlib.Path:
    """The compiled handlers' shared library, built on first use (its name hashes what it was built from)."""
    reason = unavailable_reason()
    if reason is not None:
        raise UserError(reason)
    include = jax.ffi.include_dir()
    command = [_compiler(), "-O2", "-std=c++17", "-shared", "-fPIC", "-w", f"-I{include}", str(SOURCE)]
    identity = hashlib.sha256(SOURCE.read_bytes() + " ".join(command[:-1]).encode() + jax.__version__.encode())
    library = _cache_dir() / f"libfmnist_onednn_{identity.hexdigest()[:16]}.so"
    if library.exists():
        return library
    library.parent.mkdir(parents=True, exist_ok=True)
    partial = library.with_suffix(f".{os.getpid()}.tmp")  # rename: another process never loads half a file
    result = subprocess.run([*command, "-o", str(partial), "-ldnnl"], capture_output=True, text=True)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(f"compiling {SOURCE.name} failed ({last_line}): {INSTALL_HINT}")
    partial.replace(library)
    return library


@functools.cache
def register() -> None:
    """Builds and loads the handlers and registers them with XLA, once per process."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # read when libgomp loads, just below
    handlers = ctypes.cdll.LoadLibrary(str(build()))
    for target in _TARGETS.values():
        jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(handlers, target)), platform="cpu")


def _call(which: str, result: jax.ShapeDtypeStruct, first: jax.Array, second: jax.Array, pads: tuple[int, ...]):
    top, bottom, left, right = (np.int64(pad) for pad in pads)
    # vmap (members on a leading axis) calls the handler once per member.
    call = jax.ffi.ffi_call(_TARGETS[which], result, vmap_method="sequential")
    return call(first, second, pad_top=top, pad_bottom=bottom, pad_left=left, pad_right=right)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def conv(x: jax.Array, kernel: jax.Array, pads: tuple[int, int, int, int]) -> jax.Array:
    """NHWC x HWIO -> NHWC, stride 1, zero padding (top, bottom, left, right), by oneDNN; float32 only."""
    if x.dtype != jnp.float32 or kernel.dtype != jnp.float32 or x.ndim != 4:
        raise UserError(
            f"the oneDNN lowering convolves 4-D float32 arrays, got {x.dtype} {x.shape} and {kernel.dtype}."
        )
    register()
    height = x.shape[1] + pads[0] + pads[1] - kernel.shape[0] + 1
    width = x.shape[2] + pads[2] + pads[3] - kernel.shape[1] + 1
    result = jax.ShapeDtypeStruct((x.shape[0], height, width, kernel.shape[3]), jnp.float32)
    return _call("forward", result, x, kernel, pads)


def _conv_forward(x: jax.Array, kernel: jax.Array, pads: tuple[int, int, int, int]):
    return conv(x, kernel, pads), (x, kernel)


def _conv_backward(pads: tuple[int, int, int, int], residuals: tuple[jax.Array, jax.Array], output_grad: jax.Array):
    x, kernel = residuals
    input_grad = _call("backward_data", jax.ShapeDtypeStruct(x.shape, x.dtype), output_grad, kernel, pads)
    kernel_grad = _call("backward_weights", jax.ShapeDtypeStruct(kernel.shape, kernel.dtype), x, output_grad, pads)
    return input_grad, kernel_grad


conv.defvjp(_conv_forward, _conv_backward)


def _pads(kernel: jax.Array, padding: str) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding of 'SAME' (the engine's rule, layers._same_padding) or 'VALID'."""
    kh, kw = kernel.shape[:2]
    return (*layers._same_padding(kh), *layers._same_padding(kw)) if padding == "SAME" else (0, 0, 0, 0)


def conv_padded(x: jax.Array, kernel: jax.Array, padding: str) -> jax.Array:
    """`conv` with the engine's lowerings' signature: padding 'SAME' or 'VALID'."""
    return conv(x, kernel, _pads(kernel, padding))


def conv_wide(x: jax.Array, kernel: jax.Array, padding: str, tile: int = 0) -> jax.Array:
    """`layers.conv_toeplitz` with the layers it would give to im2col (wide and deep, kernel above 1x1) given
    to oneDNN instead; narrow or shallow layers and 1x1 kernels keep the matmul lowerings, which beat
    oneDNN's per-call cost there."""
    kh, kw, cin, cout = kernel.shape
    pads = _pads(kernel, padding)
    out_width = x.shape[2] + pads[2] + pads[3] - kw + 1
    if tile or kw == 1 or layers.toeplitz_tile(out_width, kw, cout, kh * kw * cin) != 1:
        return _MATMUL_LOWERING(x, kernel, padding, tile)
    return conv(x, kernel, pads)


_MATMUL_LOWERING = layers.conv_toeplitz


@contextlib.contextmanager
def wide_layers_on_onednn() -> Iterator[None]:
    """Within it, models traced with conv_impl auto (or toeplitz) on CPU run their wide layers on oneDNN:
    `layers.conv_lowering` looks the lowering up by name when a model is traced."""
    layers.conv_toeplitz = conv_wide
    try:
        yield
    finally:
        layers.conv_toeplitz = _MATMUL_LOWERING
